"""What ``vidquant compare`` reports: frozen values, with their units in the field names.

:func:`vidquant.apps.compare.compare_files` returns a :class:`Comparison` holding the others;
:func:`vidquant.apps.compare.stills_at` returns :class:`Still` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidquant import metrics
from vidquant.apps.info import VqInfo

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
        PSNR in dB, at most :data:`~vidquant.apps.compare.quality.PSNR_CAP_DB`.
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
