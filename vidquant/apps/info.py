"""Facts about a ``.vq`` file without decoding its pixels (``vidquant info``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vidquant.codec.meta import encoder_name, source_facts
from vidquant.codec.records import AudioHeader, AudioPacket, Header
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


def info_lines(vq: VqInfo, path: str | Path) -> list[str]:
    """What ``vidquant info`` prints for ``vq`` (read from ``path``): one aligned line a fact."""
    h = vq.header
    # The metadata is descriptive and may come from another writer: trust no type in it.
    source = source_facts(h.meta)
    rows = [
        ("file", str(path)),
        ("format version", f"{vq.version[0]}.{vq.version[1]}"),
        ("encoder", encoder_name(h.meta)),
        ("size", f"{h.width}x{h.height}"),
        ("frame rate", f"{float(h.fps):.3f} fps ({h.fps.numerator}/{h.fps.denominator})"),
        ("time base", f"{h.time_base.numerator}/{h.time_base.denominator} s"),
        ("duration", f"{vq.duration_s:.3f} s"),
        ("frames", str(vq.frames)),
        ("keyframes", str(vq.keyframes)),
        ("k", str(h.k)),
        (
            "source",
            f"{source.get('name')} ({source.get('codec')}, {source.get('pix_fmt')}, "
            f"{source.get('width')}x{source.get('height')})",
        ),
    ]
    a = vq.audio
    rows.append(
        (
            "audio",
            "none"
            if a is None
            else f"{a.codec}, {a.sample_rate} Hz, {a.channels} ch ({a.layout or '?'})",
        )
    )
    for name, nbytes in (
        ("total", vq.file_bytes),
        ("labels", vq.label_bytes),
        ("palettes", vq.palette_bytes),
        ("audio", vq.audio_bytes),
        ("overhead", vq.overhead_bytes),
    ):
        share = 100 * nbytes / vq.file_bytes if vq.file_bytes else 0.0
        rows.append((f"{name}", f"{nbytes:>12,d} B  {vq.kbps(nbytes):10.1f} kbps  {share:5.1f} %"))
    width = max(len(name) for name, _ in rows)
    return [f"{name:<{width}}  {value}" for name, value in rows]
