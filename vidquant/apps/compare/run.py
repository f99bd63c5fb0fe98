"""Measure a ``.vq`` against its original: :func:`compare_files` and :func:`stills_at`.

The two read the source through a :class:`~vidquant.apps.compare.source.SourceWindow` and pair
frames with a :class:`~vidquant.apps.compare.pairing.TimePairing`; the figures are the frozen
values of :mod:`vidquant.apps.compare.results`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from vidquant import metrics
from vidquant.apps.compare.pairing import TimePairing, pairing_warnings
from vidquant.apps.compare.quality import QualityAccumulator, capped_psnr, sample_stride
from vidquant.apps.compare.references import REFERENCE_MAX_FRAMES, REFERENCES, measure_reference
from vidquant.apps.compare.results import (
    Comparison,
    FrameBits,
    OriginalFacts,
    Ratios,
    Reference,
    Still,
)
from vidquant.apps.compare.source import SourceWindow
from vidquant.apps.info import describe
from vidquant.decoder import open_vq
from vidquant.errors import SettingsError
from vidquant.io.probe import probe_stream_bytes
from vidquant.progress import NullProgress, Progress


def compare_files(
    original: str | Path,
    vq: str | Path,
    *,
    references: Sequence[str] = (),
    progress: Progress | None = None,
    worst: int = 5,
) -> Comparison:
    """Compare a ``.vq`` file with the video it was encoded from.

    Parameters
    ----------
    original
        The source video.
    vq
        The ``.vq`` file.
    references
        Any of ``"h264"`` (libx264 at the CRF whose PSNR first reaches the ``.vq``'s) and
        ``"gif"`` (FFmpeg's palettegen + paletteuse at the same k); see
        :mod:`vidquant.apps.compare.references` for their cost bounds.
    progress
        Receives progress of each pass.
    worst
        How many lowest-PSNR frames to list.

    Returns
    -------
    Comparison

    Raises
    ------
    SettingsError
        An unknown reference, a negative ``worst``, or frames of different sizes.
    InputError
        The original cannot be read as video, or the ``.vq`` cannot be opened.
    FormatError
        The ``.vq`` file is damaged.
    """
    unknown = [name for name in references if name not in REFERENCES]
    if unknown:
        raise SettingsError(
            f"reference must be one of {', '.join(REFERENCES)}, got {', '.join(unknown)}"
        )
    if worst < 0:
        raise SettingsError(f"worst must be >= 0, got {worst}")
    progress = progress or NullProgress()
    original, vq = Path(original), Path(vq)
    info = describe(vq)
    stream_bytes = probe_stream_bytes(original)
    frame_bits = _frame_bits(vq)
    window = SourceWindow.from_vq(original, info)
    warnings: list[str] = window.notes()

    acc = QualityAccumulator(
        stride=sample_stride(info.frames), worst=worst, reference_frames=REFERENCE_MAX_FRAMES
    )
    pairing = TimePairing()
    with window.open() as reader, open_vq(vq) as decoder:
        src_info = reader.info
        window.check_size(reader, info)
        if (src_info.width, src_info.height) != (src_info.source_width, src_info.source_height):
            warnings.append(
                f"the .vq was resized: the original ({src_info.source_width}x"
                f"{src_info.source_height}) is compared resized to {src_info.width}x"
                f"{src_info.height}, as the encoder read it"
            )
        progress.start("compare", info.frames or None)
        try:
            for pair in pairing.iter_pairs(reader, decoder.iter_rgb()):
                acc.add(pair)
                progress.advance()
        finally:
            progress.finish()
    pairs = pairing.result()
    quality = acc.result()
    if acc.ssim_too_small:
        warnings.append(f"frames smaller than {metrics.SSIM_WINDOW}x{metrics.SSIM_WINDOW}: no SSIM")
    warnings += pairing_warnings(pairs)

    facts = OriginalFacts(
        path=original,
        file_bytes=stream_bytes.file_bytes,
        video_bytes=stream_bytes.video_bytes,
        audio_bytes=stream_bytes.audio_bytes,
        duration_s=stream_bytes.video_duration_s or (stream_bytes.container_duration_s or 0.0),
        width=src_info.source_width,
        height=src_info.source_height,
        fps=float(src_info.fps),
        codec=src_info.codec,
    )
    h = info.header
    raw = h.width * h.height * 3 * info.frames
    ratios = Ratios(
        original_to_vq=facts.kbps(facts.file_bytes) / info.kbps(info.file_bytes)
        if info.duration_s > 0 and facts.duration_s > 0
        else facts.file_bytes / info.file_bytes,
        raw_rgb_bytes=raw,
        raw_rgb_to_vq=raw / info.file_bytes,
    )
    refs: list[Reference] = []
    for name in dict.fromkeys(references):  # each once, in the order asked
        refs.append(
            measure_reference(
                name,
                window,
                src_info,
                info,
                frame_bits,
                quality,
                end_s=acc.reference_end_s,
                progress=progress,
            )
        )
    if refs and pairs.source_frames > REFERENCE_MAX_FRAMES:
        warnings.append(
            f"references cover the first {REFERENCE_MAX_FRAMES} frames only "
            f"({refs[0].duration_s:.2f} s); their vidquant figures are over the same frames"
        )
    return Comparison(
        original=facts,
        vq_path=vq,
        vq=info,
        compared_start_s=window.start_s,
        compared_duration_s=window.duration_s,
        ratios=ratios,
        pairing=pairs,
        quality=quality,
        frame_bits=frame_bits,
        references=tuple(refs),
        warnings=tuple(warnings),
    )


def stills_at(original: str | Path, vq: str | Path, times_s: Sequence[float]) -> tuple[Still, ...]:
    """The original's and the ``.vq``'s frames on screen at each of ``times_s``.

    Times are seconds from the start of the compared part (see :class:`Comparison`), paired
    as :func:`compare_files` pairs them.

    Raises
    ------
    SettingsError
        A time is negative or past the end of the paired frames.
    """
    for t in times_s:
        if not math.isfinite(t) or t < 0:
            raise SettingsError(f"times must be >= 0 seconds, got {t}")
    original, vq = Path(original), Path(vq)
    info = describe(vq)
    window = SourceWindow.from_vq(original, info)
    wanted = sorted(set(times_s))
    found: dict[float, Still] = {}
    last_end = 0.0
    with window.open() as reader, open_vq(vq) as decoder:
        window.check_size(reader, info)
        for pair in TimePairing().iter_pairs(reader, decoder.iter_rgb()):
            src = pair.source
            last_end = src.time_s + src.duration_s
            while wanted and wanted[0] < last_end:
                t = wanted.pop(0)
                found[t] = Still(
                    time_s=t,
                    source_time_s=src.time_s,
                    vq_time_s=pair.shown.time_s,
                    source_rgb=src.rgb,
                    vq_rgb=pair.shown.rgb,
                    psnr_db=capped_psnr(src.rgb, pair.shown.rgb),
                )
            if not wanted:
                break
    if wanted:
        raise SettingsError(
            f"time {wanted[0]:g} s is past the end of the compared frames ({last_end:.3f} s)"
        )
    return tuple(found[t] for t in times_s)


def _frame_bits(vq: Path) -> tuple[FrameBits, ...]:
    out: list[FrameBits] = []
    with open_vq(vq) as decoder:
        tb = decoder.header.time_base
        for i, rec in enumerate(decoder.iter_records()):
            nbytes = rec.coded_bytes
            out.append(FrameBits(i, float(rec.pts * tb), nbytes * 8, rec.keyframe))
    return tuple(out)
