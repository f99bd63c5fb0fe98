"""Measure a ``.vq`` against its original: sizes, bitrates, quality (``vidquant compare``).

Frames are paired by time, not by position: each source frame is compared with the ``.vq`` frame
on screen at the source frame's timestamp, with half a source frame of slack for rounded
timestamps. Source frames with no ``.vq`` frame on screen, ``.vq`` frames held over several
source frames and ``.vq`` frames never on screen are counted and reported in
:attr:`Comparison.warnings`, never silently skipped.

The source is read the way the encoder read it, from the settings stored in the ``.vq`` header
(``start_s``, ``duration_s``, ``width``), so that a clip encoded from 5 s and resized is compared
with that part of the original at that size.

Cost bounds: PSNR and flicker are measured on every paired frame. SSIM and unique colours are
measured on every frame up to :data:`SSIM_MAX_FRAMES` frames, and on every n-th frame beyond
(``ssim_stride``). References encode at most the first :data:`REFERENCE_MAX_FRAMES` source frames;
the H.264 CRF search costs at most :data:`CRF_MAX_TRIALS` encodes of that window.
"""

from __future__ import annotations

import heapq
import itertools
import math
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidquant import metrics
from vidquant.apps.info import VqInfo, describe
from vidquant.codec import format as fmt
from vidquant.colours import count_colours
from vidquant.decoder import open_vq
from vidquant.errors import SettingsError
from vidquant.frames import Frame, VideoInfo
from vidquant.io.probe import probe_stream_bytes
from vidquant.io.reader import VideoReader
from vidquant.io.reference import EncodedReference, write_gif, write_h264
from vidquant.progress import NullProgress, Progress

PSNR_CAP_DB = 100.0  # identical frames score this instead of infinity (JSON has no inf)
SSIM_MAX_FRAMES = 300  # SSIM and unique colours on every frame up to this many, then a stride
REFERENCE_MAX_FRAMES = 300  # references encode at most this many frames from the start
CRF_MAX_TRIALS = 7  # bisection over CRF 0..51 needs 6, plus one check
REFERENCES = ("h264", "gif")
H264_PRESET = "medium"  # x264's default: the setting a user would get
# A reference whose PSNR is this close below the vq's still counts as "the same quality".
SAME_PSNR_DB = 0.1


@dataclass(frozen=True)
class OriginalFacts:
    """The original file.

    Attributes
    ----------
    path
        The file.
    file_bytes, video_bytes, audio_bytes
        Its size, and the payload bytes of its first video stream and of its audio streams.
    duration_s
        Span of its video stream's packets, seconds (the whole file, whatever part was
        compared).
    width, height
        Frame size of the source stream, pixels.
    fps
        Nominal frame rate, frames per second.
    codec
        Video codec name.
    """

    path: Path
    file_bytes: int
    video_bytes: int
    audio_bytes: int
    duration_s: float
    width: int
    height: int
    fps: float
    codec: str

    def kbps(self, nbytes: int) -> float:
        """``nbytes`` over the duration, kilobits per second (0.0 without a duration)."""
        return metrics.bitrate_kbps(nbytes, self.duration_s) if self.duration_s > 0 else 0.0


@dataclass(frozen=True)
class Ratios:
    """How many times smaller the ``.vq`` is (values above 1: the ``.vq`` is smaller).

    Attributes
    ----------
    original_to_vq
        Original bitrate / ``.vq`` bitrate, whole files: the size ratio when both cover the
        same time, and still meaningful when the ``.vq`` was encoded from a part.
    raw_rgb_bytes
        Uncompressed 8-bit RGB of the ``.vq``'s frames: width x height x 3 x frames.
    raw_rgb_to_vq
        ``raw_rgb_bytes`` / ``.vq`` file bytes.
    """

    original_to_vq: float
    raw_rgb_bytes: int
    raw_rgb_to_vq: float


@dataclass(frozen=True)
class FrameScore:
    """PSNR of one source frame against the ``.vq`` frame on screen at its time.

    Attributes
    ----------
    source_index
        The source frame's position in the compared part, 0-based.
    vq_index
        The ``.vq`` frame's position, 0-based.
    time_s
        The source frame's time, seconds from the start of the compared part.
    psnr_db
        PSNR in dB, at most :data:`PSNR_CAP_DB`.
    """

    source_index: int
    vq_index: int
    time_s: float
    psnr_db: float


@dataclass(frozen=True)
class FrameBits:
    """Coded size of one ``.vq`` frame.

    Attributes
    ----------
    index
        Frame position, 0-based.
    time_s
        Presentation time, seconds.
    bits
        Label and palette payload bits (record framing and frame headers excluded).
    keyframe
        True for a keyframe.
    """

    index: int
    time_s: float
    bits: int
    keyframe: bool


@dataclass(frozen=True)
class Pairing:
    """How source frames met ``.vq`` frames.

    Attributes
    ----------
    source_frames, vq_frames
        Frames read from each side.
    paired
        Source frames compared with a ``.vq`` frame.
    source_before_vq, source_after_vq
        Source frames with no ``.vq`` frame on screen: before the first, after the last.
    vq_held
        Extra pairings of a ``.vq`` frame already compared (a frame the ``.vq`` lacks).
    vq_unshown
        ``.vq`` frames on screen at no source frame's time (a frame the source lacks).
    source_end_s, vq_end_s
        End of the last frame read from each side (its time plus its duration), seconds.
    """

    source_frames: int
    vq_frames: int
    paired: int
    source_before_vq: int
    source_after_vq: int
    vq_held: int
    vq_unshown: int
    source_end_s: float = 0.0
    vq_end_s: float = 0.0


@dataclass(frozen=True)
class Quality:
    """How close the ``.vq`` looks to the source. None where nothing could be measured.

    Attributes
    ----------
    psnr_mean_db, psnr_min_db
        Mean and minimum of the per-frame PSNR (RGB, peak 255), dB.
    worst
        The lowest-PSNR frames, worst first.
    ssim_mean
        Mean of the per-frame SSIM (luma, Wang et al.) over the measured frames.
    sampled_frames, sample_stride
        SSIM and unique colours were measured on ``sampled_frames`` frames, every
        ``sample_stride``-th source frame.
    flicker_source, flicker_vq
        Mean absolute change between consecutive frames over the pixels where the source is
        still (see :func:`vidquant.metrics.flicker`), in 8-bit levels per channel.
    still_pct
        Share of pixels, over all consecutive pairs, that were still in the source, percent.
    colours_source_mean, colours_vq_mean
        Mean number of distinct RGB colours per measured frame.
    per_frame
        Every paired frame's score, in source order.
    """

    psnr_mean_db: float | None
    psnr_min_db: float | None
    worst: tuple[FrameScore, ...]
    ssim_mean: float | None
    sampled_frames: int
    sample_stride: int
    flicker_source: float | None
    flicker_vq: float | None
    still_pct: float | None
    colours_source_mean: float | None
    colours_vq_mean: float | None
    per_frame: tuple[FrameScore, ...]


@dataclass(frozen=True)
class Reference:
    """Another codec's encoding of the same frames, for scale.

    Attributes
    ----------
    name
        ``"h264"`` or ``"gif"``.
    setting
        The setting used, e.g. ``"crf 28, preset medium"``.
    frames
        Frames encoded (the first of the compared part).
    duration_s
        Time those frames cover, seconds.
    video_bytes
        Payload bytes of the reference's video packets.
    bitrate_kbps, psnr_mean_db
        Its bitrate and mean PSNR against the source.
    vq_bitrate_kbps, vq_psnr_mean_db
        The ``.vq``'s over the same frames (its video bytes: labels, palettes, and its overhead
        in proportion; no audio).
    note
        Anything the figures need said (e.g. no CRF reached the ``.vq``'s PSNR), or "".
    """

    name: str
    setting: str
    frames: int
    duration_s: float
    video_bytes: int
    bitrate_kbps: float
    psnr_mean_db: float
    vq_bitrate_kbps: float
    vq_psnr_mean_db: float
    note: str = ""

    @property
    def verdict(self) -> str:
        """One honest sentence: which is smaller, at what quality."""
        label = {"h264": "H.264", "gif": "GIF"}.get(self.name, self.name)
        ref_q, vq_q = self.psnr_mean_db, self.vq_psnr_mean_db
        ref_r, vq_r = self.bitrate_kbps, self.vq_bitrate_kbps
        if ref_r <= 0 or vq_r <= 0:
            return f"{label}: no bitrate to compare"
        if ref_r <= vq_r and ref_q >= vq_q - SAME_PSNR_DB:
            return (
                f"{label} wins: {vq_r / ref_r:.1f}x smaller than vidquant at equal or better PSNR"
            )
        if vq_r <= ref_r and vq_q >= ref_q - SAME_PSNR_DB:
            return (
                f"vidquant wins: {ref_r / vq_r:.1f}x smaller than {label} at equal or better PSNR"
            )
        smaller, ratio = (label, vq_r / ref_r) if ref_r < vq_r else ("vidquant", ref_r / vq_r)
        better = label if ref_q > vq_q else "vidquant"
        return (
            f"trade-off: {smaller} is {ratio:.1f}x smaller, "
            f"{better} is {abs(ref_q - vq_q):.1f} dB better"
        )


@dataclass(frozen=True)
class Comparison:
    """Everything ``vidquant compare`` reports.

    Attributes
    ----------
    original
        The original file's facts.
    vq_path
        The ``.vq`` file.
    vq
        The ``.vq`` file's facts (sizes split by labels, palettes, audio, overhead).
    compared_start_s, compared_duration_s
        The part of the original that was compared (the part the ``.vq`` was encoded from);
        duration None means to the end.
    ratios
        Size ratios.
    pairing
        How frames were paired.
    quality
        Quality measures.
    frame_bits
        Coded size of every ``.vq`` frame.
    references
        Reference encodings asked for, in the order asked.
    warnings
        Mismatches and caveats, one sentence each.
    """

    original: OriginalFacts
    vq_path: Path
    vq: VqInfo
    compared_start_s: float
    compared_duration_s: float | None
    ratios: Ratios
    pairing: Pairing
    quality: Quality
    frame_bits: tuple[FrameBits, ...]
    references: tuple[Reference, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class FramePair:
    """A source frame and the other video's frame on screen at its time."""

    source: Frame
    shown: Frame
    held: bool  # ``shown`` was already paired with an earlier source frame


@dataclass(frozen=True, eq=False)
class Still:
    """The original and the ``.vq`` at one requested time.

    Attributes
    ----------
    time_s
        The requested time, seconds from the start of the compared part.
    source_time_s, vq_time_s
        Times of the two frames on screen then.
    source_rgb, vq_rgb
        Their pixels, (h, w, 3) uint8.
    psnr_db
        PSNR of the ``.vq`` frame against the source frame.
    """

    time_s: float
    source_time_s: float
    vq_time_s: float
    source_rgb: np.ndarray
    vq_rgb: np.ndarray
    psnr_db: float


class TimePairing:
    """Pair each source frame with the other video's frame on screen at the same time.

    The frame on screen at time ``t`` is the last one starting at or before ``t`` plus half the
    source frame's duration (slack for timestamps rounded to another time base). Counts of
    what could not be paired accumulate in :meth:`result`.
    """

    def __init__(self) -> None:
        self._source = self._other = self._paired = 0
        self._before = self._after = self._held = self._unshown = 0
        self._source_end = self._other_end = 0.0

    def iter_pairs(self, source: Iterable[Frame], other: Iterable[Frame]) -> Iterator[FramePair]:
        """Yield pairs in source order; both inputs are consumed lazily."""
        others = iter(other)
        cur: Frame | None = None
        cur_used = False
        nxt = self._next(others)
        for frame in source:
            self._source += 1
            self._source_end = frame.time_s + frame.duration_s
            t, slack = frame.time_s, frame.duration_s / 2
            while nxt is not None and nxt.time_s <= t + slack:
                if cur is not None and not cur_used:
                    self._unshown += 1
                cur, cur_used = nxt, False
                nxt = self._next(others)
            if cur is None:
                self._before += 1
                continue
            if nxt is None and t >= cur.time_s + cur.duration_s:
                self._after += 1
                continue
            if cur_used:
                self._held += 1
            self._paired += 1
            yield FramePair(frame, cur, cur_used)
            cur_used = True
        if cur is not None and not cur_used:
            self._unshown += 1
        while self._next(others) is not None:
            self._unshown += 1

    def _next(self, others: Iterator[Frame]) -> Frame | None:
        frame = next(others, None)
        if frame is not None:
            self._other += 1
            self._other_end = frame.time_s + frame.duration_s
        return frame

    def result(self) -> Pairing:
        """The counts so far."""
        return Pairing(
            source_frames=self._source,
            vq_frames=self._other,
            paired=self._paired,
            source_before_vq=self._before,
            source_after_vq=self._after,
            vq_held=self._held,
            vq_unshown=self._unshown,
            source_end_s=self._source_end,
            vq_end_s=self._other_end,
        )


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
        ``"gif"`` (FFmpeg's palettegen + paletteuse at the same k); see the module docstring
        for their cost bounds.
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
    window = _SourceWindow.from_vq(original, info)
    warnings: list[str] = window.notes()

    stride = max(1, math.ceil(info.frames / SSIM_MAX_FRAMES))
    acc = _QualityAccumulator(stride=stride, worst=worst)
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
    warnings += _pairing_warnings(pairs)

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
            _reference(
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
    window = _SourceWindow.from_vq(original, info)
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
                    psnr_db=min(PSNR_CAP_DB, metrics.psnr(src.rgb, pair.shown.rgb)),
                )
            if not wanted:
                break
    if wanted:
        raise SettingsError(
            f"time {wanted[0]:g} s is past the end of the compared frames ({last_end:.3f} s)"
        )
    return tuple(found[t] for t in times_s)


# --- the source side -------------------------------------------------------------------------


@dataclass(frozen=True)
class _SourceWindow:
    """The part of the original the ``.vq`` was encoded from, read at the ``.vq``'s size."""

    path: Path
    start_s: float
    duration_s: float | None
    width: int

    @classmethod
    def from_vq(cls, original: Path, info: VqInfo) -> _SourceWindow:
        meta = info.header.meta if isinstance(info.header.meta, dict) else {}
        settings = meta.get("settings") if isinstance(meta.get("settings"), dict) else {}
        start = settings.get("start_s") or 0.0
        duration = settings.get("duration_s")
        ok_start = isinstance(start, int | float) and math.isfinite(start) and start >= 0
        ok_duration = duration is None or (isinstance(duration, int | float) and duration > 0)
        return cls(
            path=original,
            start_s=float(start) if ok_start else 0.0,
            duration_s=float(duration) if ok_duration and duration is not None else None,
            width=info.header.width,
        )

    def notes(self) -> list[str]:
        if self.start_s <= 0 and self.duration_s is None:
            return []
        part = f"from {self.start_s:.3f} s"
        if self.duration_s is not None:
            part += f" for {self.duration_s:.3f} s"
        return [f"the .vq was encoded {part} of the original; that part is compared"]

    def open(self) -> VideoReader:
        return VideoReader(
            self.path, start_s=self.start_s, duration_s=self.duration_s, width=self.width
        )

    def iter_frames(self, max_frames: int) -> Iterator[Frame]:
        with self.open() as reader:
            yield from itertools.islice(reader, max_frames)

    @staticmethod
    def check_size(reader: VideoReader, info: VqInfo) -> None:
        src, h = reader.info, info.header
        if (src.width, src.height) != (h.width, h.height):
            raise SettingsError(
                f"frame sizes differ: original {src.source_width}x{src.source_height} "
                f"(read as {src.width}x{src.height}), .vq {h.width}x{h.height}: "
                "is this the .vq's original?"
            )


def _frame_bits(vq: Path) -> tuple[FrameBits, ...]:
    out: list[FrameBits] = []
    with open_vq(vq) as decoder:
        tb = decoder.header.time_base
        for i, rec in enumerate(decoder.iter_records()):
            entry = fmt.PALETTE_ENTRY.size if rec.keyframe else fmt.PALETTE_DELTA.size
            nbytes = len(rec.labels) + len(rec.palette_index) * entry
            out.append(FrameBits(i, float(rec.pts * tb), nbytes * 8, rec.keyframe))
    return tuple(out)


# --- quality ---------------------------------------------------------------------------------


class _QualityAccumulator:
    """Running sums over the paired frames; holds only the previous pair's pixels."""

    def __init__(self, *, stride: int, worst: int) -> None:
        self._stride = stride
        self._worst_n = worst
        self._scores: list[FrameScore] = []
        self._ssim: list[float] = []
        self._colours_src: list[int] = []
        self._colours_vq: list[int] = []
        self._still = self._pixels = 0
        self._change_src = self._change_vq = 0.0
        self._prev: FramePair | None = None
        self.ssim_too_small = False
        self.reference_end_s = 0.0  # end of the last paired frame of the reference window

    def add(self, pair: FramePair) -> None:
        src, out = pair.source.rgb, pair.shown.rgb
        if pair.source.index < REFERENCE_MAX_FRAMES:
            self.reference_end_s = pair.source.time_s + pair.source.duration_s
        score = min(PSNR_CAP_DB, metrics.psnr(src, out))
        self._scores.append(
            FrameScore(pair.source.index, pair.shown.index, pair.source.time_s, score)
        )
        if pair.source.index % self._stride == 0:
            if min(src.shape[:2]) >= metrics.SSIM_WINDOW:
                self._ssim.append(metrics.ssim(src, out))
            else:
                self.ssim_too_small = True
            self._colours_src.append(count_colours(src))
            self._colours_vq.append(count_colours(out))
        prev = self._prev
        if prev is not None and prev.source.index == pair.source.index - 1:
            mask = metrics.still_mask(prev.source.rgb, src)
            still = int(np.count_nonzero(mask))
            self._pixels += mask.size
            if still:
                self._still += still
                self._change_src += still * metrics.mean_abs_change(prev.source.rgb, src, mask)
                self._change_vq += still * metrics.mean_abs_change(prev.shown.rgb, out, mask)
        self._prev = pair

    def result(self) -> Quality:
        scores = self._scores
        psnrs = [s.psnr_db for s in scores]
        worst = heapq.nsmallest(self._worst_n, scores, key=lambda s: (s.psnr_db, s.time_s))
        return Quality(
            psnr_mean_db=_mean(psnrs),
            psnr_min_db=min(psnrs) if psnrs else None,
            worst=tuple(worst),
            ssim_mean=_mean(self._ssim),
            sampled_frames=len(self._colours_src),
            sample_stride=self._stride,
            flicker_source=self._change_src / self._still if self._still else None,
            flicker_vq=self._change_vq / self._still if self._still else None,
            still_pct=100 * self._still / self._pixels if self._pixels else None,
            colours_source_mean=_mean(self._colours_src),
            colours_vq_mean=_mean(self._colours_vq),
            per_frame=tuple(scores),
        )


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _pairing_warnings(p: Pairing) -> list[str]:
    out = []
    if p.source_frames != p.vq_frames:
        out.append(f"frame counts differ: original {p.source_frames}, .vq {p.vq_frames}")
    if p.source_before_vq:
        out.append(f"{p.source_before_vq} original frames come before the .vq's first frame")
    if p.source_after_vq:
        out.append(f"{p.source_after_vq} original frames come after the .vq's last frame")
    if p.vq_held:
        out.append(
            f"{p.vq_held} original frames were compared with a .vq frame held from before "
            "(frames missing from the .vq)"
        )
    if p.vq_unshown:
        out.append(f"{p.vq_unshown} .vq frames match no original frame time (not compared)")
    if p.paired == 0:
        out.append("no frame could be paired: no quality figures")
    if p.source_frames:
        frame_s = p.source_end_s / p.source_frames
        if abs(p.source_end_s - p.vq_end_s) > frame_s / 2:
            out.append(f"durations differ: original {p.source_end_s:.3f} s, .vq {p.vq_end_s:.3f} s")
    return out


# --- references ------------------------------------------------------------------------------


def _reference(
    name: str,
    window: _SourceWindow,
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
    window: _SourceWindow,
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
    window: _SourceWindow,
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
            scores.append(min(PSNR_CAP_DB, metrics.psnr(pair.source.rgb, shown)))
            on_frame()
    return float(np.mean(scores)) if scores else 0.0
