"""What a media file holds before decoding: where its bytes go by stream (packet sizes), and
why a file that FFmpeg will not open is unreadable (empty, an MP4 cut short)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from vidquant.errors import InputError


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


# Top-level box types of ISO base media files (MP4, MOV, M4A, 3GP): the first box of such a
# file is one of these.
_ISO_BOXES = frozenset(
    {b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"moof"}
)


def check_input_file(path: Path) -> None:
    """Raise InputError, with a plain reason, for a path that cannot hold a video at all:
    missing, a directory, or an empty file."""
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if path.is_dir():
        raise InputError(f"input is a directory, not a video file: {path}")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"input file is empty (0 bytes): {path}")


def mp4_damage(path: Path) -> str | None:
    """Why an MP4/MOV file (ISO base media) cannot be read, judged from its top-level boxes:
    cut short, or never finished (no index, the ``moov`` box). None when the file is not an
    ISO media file or its boxes look whole.

    MP4 writers put the index (``moov``) after the media data unless told to move it to the
    front (``-movflags +faststart``), so a copy cut short usually has no index: FFmpeg then
    cannot find a single frame, although the media data is there.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            pos = 0
            seen: set[bytes] = set()
            while pos + 8 <= size:
                f.seek(pos)
                head = f.read(16)
                length, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if pos == 0 and kind not in _ISO_BOXES:
                    return None
                if not all(32 <= c < 127 for c in kind):
                    return None  # not a box (trailing bytes of some other kind): no verdict
                if length == 1 and len(head) >= 16:
                    length = int.from_bytes(head[8:16], "big")
                elif length == 0:
                    length = size - pos  # "to the end of the file"
                if length < 8:
                    return None  # not a box structure after all
                seen.add(kind)
                if pos + length > size:
                    name = kind.decode("latin-1")
                    if kind == b"moov":
                        return (
                            f"the file is cut short: it ends inside its index (moov box), "
                            f"at byte {size} of {pos + length}"
                        )
                    where = f"it ends inside its {name} box at byte {size} of {pos + length}"
                    if b"moov" not in seen and b"moof" not in seen:
                        return (
                            f"the file is cut short: {where}, before its index (moov box), "
                            "which MP4 writers put last, so no frame can be found"
                        )
                    return f"the file is cut short: {where}"
                pos += length
            if pos == 0:
                return None
            if pos < size:
                return f"the file is cut short: it ends inside a box header at byte {size}"
            if b"moov" not in seen and b"moof" not in seen:
                return "the file has no index (moov box): its writer never finished it"
    except OSError:
        return None
    return None


_EBML_ID = b"\x1a\x45\xdf\xa3"
_SEGMENT_ID = b"\x18\x53\x80\x67"


def _ebml_size(data: bytes, at: int) -> tuple[int | None, int]:
    """An EBML variable-size integer at ``data[at:]``: (value or None when "unknown", the
    offset after it). Raises IndexError or ValueError on bytes that are not one."""
    first = data[at]
    if first == 0:
        raise ValueError("not an EBML size")
    length = 9 - first.bit_length()
    value = first & (0xFF >> length)
    for byte in data[at + 1 : at + length]:
        value = value << 8 | byte
    if len(data) < at + length:
        raise IndexError("EBML size cut off")
    unknown = value == (1 << (7 * length)) - 1
    return (None if unknown else value), at + length


def matroska_damage(path: Path) -> str | None:
    """For a Matroska/WebM file whose segment (declared size) runs past the end of the file:
    a description. None when the file is not Matroska, the writer did not record the size (a
    live stream), or the segment is whole."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(4096)
        if not head.startswith(_EBML_ID):
            return None
        header_size, at = _ebml_size(head, 4)
        if header_size is None or head[at + header_size : at + header_size + 4] != _SEGMENT_ID:
            return None
        segment_size, start = _ebml_size(head, at + header_size + 4)
    except (OSError, IndexError, ValueError):
        return None
    if segment_size is None or start + segment_size <= size:
        return None
    return (
        f"the file is cut short: it ends at byte {size} of the {start + segment_size} its "
        "Matroska segment declares"
    )


def cut_short(path: Path) -> str | None:
    """Why a file that opened looks cut short, from its structure (an MP4 box or a Matroska
    segment that runs past the end of the file), or None."""
    return mp4_damage(path) or matroska_damage(path)


def unreadable_reason(path: Path, exc: BaseException) -> str:
    """One line saying why FFmpeg could not open ``path``: the file's own damage where it
    can be told (an MP4 cut short), else FFmpeg's reason."""
    damage = mp4_damage(path)
    if damage is not None:
        return damage
    if isinstance(exc, av.error.EOFError):
        # e.g. a Matroska/WebM file whose writer stopped after the headers
        return "the file ends before its first frame (headers only, or cut short)"
    return ffmpeg_reason(exc)


def ffmpeg_reason(exc: BaseException) -> str:
    """A short, single-line reason for an FFmpeg or OS error (no errno, no file name)."""
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())


def describe_streams(container: av.container.InputContainer) -> str:
    """What a file holds instead of video, e.g. ``"1 audio stream"``, or ``"no streams"``."""
    counts: dict[str, int] = {}
    for stream in container.streams:
        counts[stream.type] = counts.get(stream.type, 0) + 1
    if not counts:
        return "no streams"
    return ", ".join(f"{n} {kind} stream{'s' if n > 1 else ''}" for kind, n in counts.items())


def no_video_message(path: Path, container: av.container.InputContainer) -> str:
    """The error for a file that opened but has no video stream."""
    damage = mp4_damage(path)
    if damage is not None:
        return f"{path} has no video stream: {damage}"
    if not container.streams:
        return f"{path} has no video stream: it holds no stream at all (no frame was written?)"
    return f"{path} has no video stream (it holds {describe_streams(container)})"


def probe_stream_bytes(path: str | Path) -> StreamBytes:
    """Demux ``path`` (without decoding) and add up packet sizes per stream kind.

    Raises
    ------
    InputError
        The file is missing, cannot be opened, or has no video stream.
    """
    path = Path(path)
    check_input_file(path)
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot open {path} as a video: {unreadable_reason(path, exc)}") from exc
    with container:
        video = next((s for s in container.streams if s.type == "video"), None)
        if video is None:
            raise InputError(no_video_message(path, container))
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
            raise InputError(f"{path}: cannot demux: {ffmpeg_reason(exc)}") from exc
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
