"""Facts about a ``.vq`` file without decoding its pixels (``vidquant info``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vidquant.codec.container import AudioHeader, AudioPacket, Header
from vidquant.decoder import open_vq
from vidquant.metrics import bitrate_kbps


@dataclass(frozen=True)
class VqInfo:
    """What ``vidquant info`` reports.

    Attributes
    ----------
    header
        The file header.
    version
        Format version (major, minor).
    frames, keyframes
        Counts of frame records and keyframes.
    duration_s
        Presentation time covered (end of the last frame), seconds.
    file_bytes
        File size.
    label_bytes, palette_bytes
        Bytes of coded labels and of palette entries.
    audio_bytes
        Bytes of audio packet payloads (0 without audio).
    audio
        The audio stream's parameters, or None.
    overhead_bytes
        Everything else: preamble, header, record framing, frame headers, index, trailer.
    """

    header: Header
    version: tuple[int, int]
    frames: int
    keyframes: int
    duration_s: float
    file_bytes: int
    label_bytes: int
    palette_bytes: int
    overhead_bytes: int
    audio_bytes: int = 0
    audio: AudioHeader | None = None

    def kbps(self, nbytes: int) -> float:
        """``nbytes`` spread over the duration, in kilobits per second."""
        return bitrate_kbps(nbytes, self.duration_s) if self.duration_s > 0 else 0.0


def describe(path: str | Path) -> VqInfo:
    """Read every record of ``path`` (checking CRCs) and tally sizes; labels are not decoded.

    Raises
    ------
    FormatError
        The file is damaged.
    """
    with open_vq(path) as decoder:
        frames = keyframes = label_bytes = palette_bytes = audio_bytes = 0
        end_pts = 0
        for rec in decoder.iter_records(audio=True):
            if isinstance(rec, AudioPacket):
                audio_bytes += len(rec.data)
                continue
            frames += 1
            keyframes += rec.keyframe
            label_bytes += len(rec.labels)
            palette_bytes += rec.palette_bytes
            end_pts = rec.pts + rec.duration
        decoder.read_index()  # the index must be sound too
        h = decoder.header
        return VqInfo(
            header=h,
            version=decoder.version,
            frames=frames,
            keyframes=keyframes,
            duration_s=float(end_pts * h.time_base),
            file_bytes=decoder.file_size,
            label_bytes=label_bytes,
            palette_bytes=palette_bytes,
            audio_bytes=audio_bytes,
            overhead_bytes=decoder.file_size - label_bytes - palette_bytes - audio_bytes,
            audio=decoder.audio,
        )
