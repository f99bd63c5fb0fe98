"""Where a media file's bytes go, by stream, read from packet sizes (no decoding)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from ..errors import InputError


@dataclass(frozen=True)
class StreamBytes:
    """A media file's size split by stream kind.

    Attributes
    ----------
    file_bytes
        Size of the file on disk.
    video_bytes
        Payload bytes of the first video stream's packets.
    audio_bytes
        Payload bytes of every audio stream's packets.
    video_duration_s
        Span of the first video stream's packets, first pts to the end of the last packet, in
        seconds; 0.0 when the packets carry no timing.
    container_duration_s
        Duration the container declares, seconds, or None when it does not say.
    """

    file_bytes: int
    video_bytes: int
    audio_bytes: int
    video_duration_s: float
    container_duration_s: float | None

    @property
    def other_bytes(self) -> int:
        """Container overhead, subtitles, data streams: the file less video and audio."""
        return self.file_bytes - self.video_bytes - self.audio_bytes


def probe_stream_bytes(path: str | Path) -> StreamBytes:
    """Demux ``path`` (without decoding) and add up packet sizes per stream kind.

    Raises
    ------
    InputError
        The file is missing, cannot be opened, or has no video stream.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot open {path} as a video: {exc}") from exc
    with container:
        video = next((s for s in container.streams if s.type == "video"), None)
        if video is None:
            raise InputError(f"{path} has no video stream")
        video_bytes = audio_bytes = 0
        first: int | None = None
        end: int | None = None
        try:
            for packet in container.demux():
                if packet.size == 0:  # the demuxer's flush packets
                    continue
                if packet.stream.index == video.index:
                    video_bytes += packet.size
                    if packet.pts is not None:
                        first = packet.pts if first is None else min(first, packet.pts)
                        stop = packet.pts + (packet.duration or 0)
                        end = stop if end is None else max(end, stop)
                elif packet.stream.type == "audio":
                    audio_bytes += packet.size
        except av.error.FFmpegError as exc:
            raise InputError(f"{path}: cannot demux: {exc}") from exc
        span = 0.0
        if first is not None and end is not None and video.time_base:
            span = float((end - first) * video.time_base)
        declared = None if container.duration is None else container.duration / av.time_base
        return StreamBytes(
            file_bytes=path.stat().st_size,
            video_bytes=video_bytes,
            audio_bytes=audio_bytes,
            video_duration_s=span,
            container_duration_s=declared,
        )
