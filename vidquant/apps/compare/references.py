"""Other codecs' encodings of the same frames, for scale: H.264 at the ``.vq``'s PSNR, GIF at its k.

References encode at most the first :data:`REFERENCE_MAX_FRAMES` source frames; the H.264 CRF
search costs at most :data:`CRF_MAX_TRIALS` encodes of that window.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vidquant import metrics
from vidquant.apps.compare.pairing import TimePairing
from vidquant.apps.compare.quality import capped_psnr
from vidquant.apps.compare.results import FrameBits, Quality, Reference
from vidquant.apps.compare.source import SourceWindow
from vidquant.apps.info import VqInfo
from vidquant.errors import SettingsError
from vidquant.frames import VideoInfo
from vidquant.io.reader import VideoReader
from vidquant.io.reference import EncodedReference, write_gif, write_h264
from vidquant.progress import Progress

REFERENCES = ("h264", "gif")
REFERENCE_MAX_FRAMES = 300  # references encode at most this many frames from the start
CRF_MAX_TRIALS = 7  # bisection over CRF 0..51 needs 6, plus one check
H264_PRESET = "medium"  # x264's default: the setting a user would get


def measure_reference(
    name: str,
    window: SourceWindow,
    src: VideoInfo,
    info: VqInfo,
    frame_bits: tuple[FrameBits, ...],
    quality: Quality,
    *,
    end_s: float,
    progress: Progress,
) -> Reference:
    """Encode the first :data:`REFERENCE_MAX_FRAMES` source frames with ``name`` and measure."""
    n = REFERENCE_MAX_FRAMES
    scores = [s for s in quality.per_frame if s.source_index < n]
    if not scores:
        raise SettingsError("no paired frames: nothing to compare references with")
    frames = scores[-1].source_index + 1
    vq_psnr = float(np.mean([s.psnr_db for s in scores]))
    vq_kbps = _vq_window_kbps(info, frame_bits, end_s)
    with tempfile.TemporaryDirectory(prefix="vidquant-ref-") as tmp:
        if name == "h264":
            crf, encoded, psnr, note = _search_crf(
                window, src, Path(tmp), vq_psnr, frames=frames, progress=progress
            )
            setting = f"crf {crf}, preset {H264_PRESET}"
        else:
            k = info.header.k
            progress.start(f"gif k={k}", 3 * frames)
            try:
                encoded = write_gif(
                    lambda: window.iter_frames(frames),
                    Path(tmp) / "ref.gif",
                    width=src.width,
                    height=src.height,
                    k=k,
                    on_frame=progress.advance,
                )
                psnr = _psnr_of(window, encoded, frames, on_frame=progress.advance)
            finally:
                progress.finish()
            setting, note = f"k {k}, one palette for the clip, no dither", ""
    return Reference(
        name=name,
        setting=setting,
        frames=frames,
        duration_s=end_s,
        video_bytes=encoded.video_bytes,
        bitrate_kbps=metrics.bitrate_kbps(encoded.video_bytes, end_s) if end_s > 0 else 0.0,
        psnr_mean_db=psnr,
        vq_bitrate_kbps=vq_kbps,
        vq_psnr_mean_db=vq_psnr,
        note=note,
    )


def _vq_window_kbps(info: VqInfo, frame_bits: tuple[FrameBits, ...], end_s: float) -> float:
    """The ``.vq``'s video bitrate over [0, end_s): payload plus its share of the overhead."""
    if end_s <= 0 or not frame_bits:
        return 0.0
    inside = [f for f in frame_bits if f.time_s < end_s - 1e-9]
    nbytes = sum(f.bits for f in inside) / 8
    nbytes += info.overhead_bytes * len(inside) / len(frame_bits)
    return nbytes * 8 / 1000 / end_s


def _search_crf(
    window: SourceWindow,
    src: VideoInfo,
    folder: Path,
    target_db: float,
    *,
    frames: int,
    progress: Progress,
) -> tuple[int, EncodedReference, float, str]:
    """The largest CRF whose PSNR reaches ``target_db``, by bisection over 0..51."""
    tried: dict[int, tuple[EncodedReference, float]] = {}

    def trial(crf: int) -> float:
        if crf not in tried:
            progress.start(f"h264 crf {crf}", 2 * frames)
            try:
                encoded = write_h264(
                    window.iter_frames(frames),
                    folder / f"crf{crf}.mp4",
                    width=src.width,
                    height=src.height,
                    fps=src.fps,
                    time_base=src.time_base,
                    crf=crf,
                    preset=H264_PRESET,
                    on_frame=progress.advance,
                )
                tried[crf] = (encoded, _psnr_of(window, encoded, frames, on_frame=progress.advance))
            finally:
                progress.finish()
        return tried[crf][1]

    lo, hi = 0, 51
    while lo < hi and len(tried) < CRF_MAX_TRIALS - 1:
        mid = (lo + hi + 1) // 2
        if trial(mid) >= target_db:
            lo = mid
        else:
            hi = mid - 1
    note = ""
    if trial(lo) < target_db:
        note = f"no CRF reached the vidquant PSNR ({target_db:.2f} dB); the best tried is shown"
        lo = max(tried, key=lambda c: tried[c][1])
    encoded, psnr = tried[lo]
    return lo, encoded, psnr, note


def _psnr_of(
    window: SourceWindow,
    encoded: EncodedReference,
    n: int,
    *,
    on_frame: Callable[[], None],
) -> float:
    """Mean PSNR of a reference file against the source's first ``n`` frames, paired by time."""
    scores = []
    with VideoReader(encoded.path) as decoded:
        for pair in TimePairing().iter_pairs(window.iter_frames(n), decoded):
            h, w = pair.source.rgb.shape[:2]
            shown = pair.shown.rgb[:h, :w]  # drop yuv420p padding
            scores.append(capped_psnr(pair.source.rgb, shown))
            on_frame()
    return float(np.mean(scores)) if scores else 0.0
