"""Record framing, CRC checks, version policy and the keyframe index of ``.vq`` files.

:class:`ContainerWriter` turns typed records into bytes; :class:`ContainerReader` turns bytes back
and trusts nothing: every length, count and index is checked before it is used, and every
problem raises :class:`~vidquant.errors.FormatError` with the byte offset.
"""

from __future__ import annotations

import json
import logging
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import BinaryIO

import numpy as np

from vidquant.codec import format as fmt
from vidquant.errors import FormatError, TruncatedError, VersionError, detached

log = logging.getLogger(__name__)

# Salvage scans for these tags to find the next intact record after damage.
_RESYNC_TAGS = re.compile(
    b"|".join(
        re.escape(t)
        for t in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME, fmt.TAG_AUDIO_PACKET, fmt.TAG_INDEX)
    )
)
# A salvaging iteration reads at most this many times the file's size (plus a floor) in all,
# so that a file built to be full of false record tags makes it give up, not take hours.
_SALVAGE_READ_FACTOR = 16
_SALVAGE_READ_MIN = 64 << 20


@dataclass(frozen=True)
class Header:
    """The HEAD record: what a decoder needs before the first frame.

    Attributes
    ----------
    width, height
        Frame size in pixels.
    fps
        Nominal frame rate, frames per second (timestamps are authoritative).
    time_base
        Seconds per timestamp unit.
    k
        Palette size; every label is < k.
    meta
        Descriptive facts (source, settings); not needed to decode.
    """

    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    k: int
    label_coder: int = fmt.LABEL_CODER_ZSTD
    palette_coder: int = fmt.PALETTE_CODER_RAW
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class FrameRecord:
    """One KFRM or PFRM record.

    Attributes
    ----------
    keyframe
        True for KFRM (full palette, intra labels).
    pts, duration
        Timing in time-base units.
    label_mode
        One of ``format.LABELS_*``.
    palette_index
        Indices of the palette entries this record sets, shape (n,), uint8, strictly increasing
        (a keyframe sets all k).
    palette_rgb
        Their colours, shape (n, 3), uint8.
    labels
        The coded label payload.
    offset
        Byte offset of the record's tag in the file (None while writing).
    """

    keyframe: bool
    pts: int
    duration: int
    label_mode: int
    palette_index: np.ndarray
    palette_rgb: np.ndarray
    labels: bytes
    offset: int | None = None

    @property
    def palette_bytes(self) -> int:
        """Bytes of palette entries the record holds (a keyframe's RGB, a delta's index+RGB)."""
        entry = fmt.PALETTE_ENTRY.size if self.keyframe else fmt.PALETTE_DELTA.size
        return len(self.palette_index) * entry

    def palette_after(self, previous: np.ndarray | None) -> np.ndarray:
        """The palette in force from this frame on, given the one before it ((k, 3) uint8).

        A keyframe sets every entry; a predicted frame changes the entries it names. The
        result is a new array when anything changed, else ``previous`` itself, so a caller
        that keeps palettes never sees one change under it.
        """
        if self.keyframe:
            return self.palette_rgb.copy()
        if previous is None:
            raise ValueError("a predicted frame's palette needs the palette before it")
        if not len(self.palette_index):
            return previous
        palette = previous.copy()
        palette[self.palette_index] = self.palette_rgb
        return palette


@dataclass(frozen=True)
class IndexEntry:
    """A keyframe's position: frame number (0-based), pts, and byte offset of its record."""

    frame: int
    pts: int
    offset: int


@dataclass(frozen=True)
class Trailer:
    """The TAIL record: frame and keyframe counts, index offset, end time (time-base units)."""

    frames: int
    keyframes: int
    index_offset: int
    end_pts: int


@dataclass(frozen=True)
class AudioHeader:
    """The ahdr record: what a muxer needs to carry the audio packets.

    Attributes
    ----------
    codec
        FFmpeg's codec name (``"aac"``, ``"opus"``, ``"mp3"``, ...).
    sample_rate
        Samples per second.
    channels
        Channel count.
    layout
        FFmpeg's channel layout name (``"stereo"``), or empty when unknown.
    time_base
        Seconds per unit of the packets' timestamps.
    extradata
        The codec's out-of-band setup bytes (AudioSpecificConfig, OpusHead, ...), maybe empty.
    """

    codec: str
    sample_rate: int
    channels: int
    layout: str
    time_base: Fraction
    extradata: bytes = b""


@dataclass(frozen=True, eq=False)
class AudioPacket:
    """One compressed audio packet (an apkt record).

    Attributes
    ----------
    pts, duration
        Timing in the audio time base, on the video's clock (0 = the first frame's start).
    data
        The packet's bytes, as the codec made them.
    offset
        Byte offset of the record in the file (None while writing).
    """

    pts: int
    duration: int
    data: bytes
    offset: int | None = None

    def time_s(self, time_base: Fraction) -> float:
        """Start time in seconds."""
        return float(self.pts * time_base)


@dataclass(frozen=True)
class Damage:
    """A damaged stretch met while salvaging (see :meth:`ContainerReader.iter_records`).

    Attributes
    ----------
    offset
        Where reading failed: the start of the record that could not be read or used.
    error
        Why.
    resume_offset
        The next intact record, where reading went on; None when nothing intact follows.
    """

    offset: int
    error: FormatError
    resume_offset: int | None


@dataclass(frozen=True)
class RecordSizes:
    """Bytes written so far, split by what they carry."""

    labels: int = 0
    palettes: int = 0
    audio: int = 0
    overhead: int = 0

    @property
    def total(self) -> int:
        return self.labels + self.palettes + self.audio + self.overhead


def pack_audio_header(audio: AudioHeader) -> bytes:
    """ahdr payload for ``audio``."""
    codec = audio.codec.encode("ascii")
    layout = audio.layout.encode("ascii")
    tb = audio.time_base
    fixed = fmt.AUDIO_HEADER.pack(
        audio.sample_rate, tb.numerator, tb.denominator, audio.channels, len(codec), len(layout)
    )
    return fixed + codec + layout + audio.extradata


def unpack_audio_header(payload: memoryview, offset: int) -> AudioHeader:
    """Parse and check an ahdr payload; ``offset`` is the record's offset in the file."""
    if len(payload) < fmt.AUDIO_HEADER.size:
        raise FormatError(f"ahdr record is {len(payload)} bytes, too short", offset=offset)
    rate, tb_n, tb_d, channels, n_codec, n_layout = fmt.AUDIO_HEADER.unpack_from(payload)
    checks = (
        ("sample rate", rate, 1, 384_000),
        ("time base numerator", tb_n, 1, 2**32 - 1),
        ("time base denominator", tb_d, 1, 2**32 - 1),
        ("channels", channels, 1, 64),
        ("codec name length", n_codec, 1, 32),
        ("layout name length", n_layout, 0, 64),
    )
    for name, value, lo, hi in checks:
        if not lo <= value <= hi:
            raise FormatError(f"ahdr {name} must be {lo}..{hi}, got {value}", offset=offset)
    start = fmt.AUDIO_HEADER.size
    if start + n_codec + n_layout > len(payload):
        raise FormatError("ahdr names run past the record", offset=offset)
    try:
        codec = bytes(payload[start : start + n_codec]).decode("ascii")
        layout = bytes(payload[start + n_codec : start + n_codec + n_layout]).decode("ascii")
    except UnicodeDecodeError as exc:
        raise FormatError(f"ahdr names are not ASCII: {exc}", offset=offset) from exc
    if not codec.replace("_", "").isalnum():
        raise FormatError(f"ahdr codec name {codec!r} is not a codec name", offset=offset)
    return AudioHeader(
        codec=codec,
        sample_rate=rate,
        channels=channels,
        layout=layout,
        time_base=Fraction(tb_n, tb_d),
        extradata=bytes(payload[start + n_codec + n_layout :]),
    )


def pack_audio_packet(packet: AudioPacket) -> bytes:
    """apkt payload for ``packet``."""
    return fmt.AUDIO_PACKET.pack(packet.pts, packet.duration) + packet.data


def unpack_audio_packet(payload: memoryview, offset: int) -> AudioPacket:
    """Parse and check an apkt payload; ``offset`` is the record's offset in the file."""
    if len(payload) < fmt.AUDIO_PACKET.size:
        raise FormatError(f"apkt record is {len(payload)} bytes, too short", offset=offset)
    pts, duration = fmt.AUDIO_PACKET.unpack_from(payload)
    if duration < 0:
        raise FormatError(f"apkt duration must be >= 0, got {duration}", offset=offset)
    return AudioPacket(pts, duration, bytes(payload[fmt.AUDIO_PACKET.size :]), offset)


def pack_record(tag: bytes, payload: bytes) -> bytes:
    """Frame ``payload`` as a record: tag, length, payload, CRC-32 of tag and payload."""
    crc = zlib.crc32(payload, zlib.crc32(tag))
    return fmt.RECORD_HEAD.pack(tag, len(payload)) + payload + fmt.RECORD_CRC.pack(crc)


def pack_header(header: Header) -> bytes:
    """HEAD payload for ``header``."""
    meta = json.dumps(header.meta, sort_keys=True, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )
    if len(meta) > fmt.MAX_META:
        raise ValueError(f"header metadata is {len(meta)} bytes, limit {fmt.MAX_META}")
    fixed = fmt.HEADER.pack(
        header.width,
        header.height,
        header.fps.numerator,
        header.fps.denominator,
        header.time_base.numerator,
        header.time_base.denominator,
        header.k,
        header.label_coder,
        header.palette_coder,
    )
    return fixed + meta


def unpack_header(payload: bytes, offset: int) -> Header:
    """Parse and check a HEAD payload; ``offset`` is where the payload starts in the file."""
    if len(payload) < fmt.HEADER.size:
        raise FormatError(
            f"HEAD record is {len(payload)} bytes, expected at least {fmt.HEADER.size}",
            offset=offset,
        )
    w, h, fps_n, fps_d, tb_n, tb_d, k, label_coder, palette_coder = fmt.HEADER.unpack_from(payload)
    checks = (
        ("width", w, 1, fmt.MAX_WIDTH),
        ("height", h, 1, fmt.MAX_HEIGHT),
        ("frame rate numerator", fps_n, 1, 2**32 - 1),
        ("frame rate denominator", fps_d, 1, 2**32 - 1),
        ("time base numerator", tb_n, 1, 2**32 - 1),
        ("time base denominator", tb_d, 1, 2**32 - 1),
        ("k", k, fmt.K_MIN, fmt.K_MAX),
        ("label coder", label_coder, fmt.LABEL_CODER_ZSTD, fmt.LABEL_CODER_ZSTD),
        ("palette coder", palette_coder, fmt.PALETTE_CODER_RAW, fmt.PALETTE_CODER_RAW),
    )
    for name, value, lo, hi in checks:
        if not lo <= value <= hi:
            raise FormatError(f"HEAD {name} must be {lo}..{hi}, got {value}", offset=offset)
    meta_bytes = payload[fmt.HEADER.size :]
    meta: dict = {}
    if meta_bytes:
        try:
            meta = json.loads(bytes(meta_bytes).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            # ValueError: bad JSON, and also an integer of more than 4300 digits
            raise FormatError(f"HEAD metadata is not UTF-8 JSON: {exc}", offset=offset) from exc
        if not isinstance(meta, dict):
            raise FormatError("HEAD metadata is not a JSON object", offset=offset)
    return Header(
        width=w,
        height=h,
        fps=Fraction(fps_n, fps_d),
        time_base=Fraction(tb_n, tb_d),
        k=k,
        label_coder=label_coder,
        palette_coder=palette_coder,
        meta=meta,
    )


def pack_frame(record: FrameRecord) -> bytes:
    """KFRM or PFRM payload for ``record``."""
    n = len(record.palette_index)
    head = fmt.FRAME.pack(record.pts, record.duration, record.label_mode, n)
    if record.keyframe:
        entries = np.ascontiguousarray(record.palette_rgb, dtype=np.uint8).tobytes()
    else:
        table = np.empty((n, 4), dtype=np.uint8)
        table[:, 0] = record.palette_index
        table[:, 1:] = record.palette_rgb
        entries = table.tobytes()
    return head + entries + record.labels


def unpack_frame(tag: bytes, payload: memoryview, offset: int, header: Header) -> FrameRecord:
    """Parse and check a KFRM/PFRM payload; ``offset`` is the record's offset in the file."""
    keyframe = tag == fmt.TAG_KEYFRAME
    name = tag.decode("ascii")
    if len(payload) < fmt.FRAME.size:
        raise FormatError(
            f"{name} record is {len(payload)} bytes, expected at least {fmt.FRAME.size}",
            offset=offset,
        )
    pts, duration, mode, n = fmt.FRAME.unpack_from(payload)
    if duration <= 0:
        raise FormatError(f"{name} duration must be > 0, got {duration}", offset=offset)
    if mode not in fmt.LABEL_MODES:
        raise FormatError(f"{name} label mode {mode} is unknown", offset=offset)
    if keyframe and mode != fmt.LABELS_INTRA:
        raise FormatError(f"KFRM label mode must be {fmt.LABELS_INTRA}, got {mode}", offset=offset)
    if keyframe and n != header.k:
        raise FormatError(f"KFRM palette has {n} entries, expected k={header.k}", offset=offset)
    if n > header.k:
        raise FormatError(f"{name} has {n} palette deltas, more than k={header.k}", offset=offset)
    entry = fmt.PALETTE_ENTRY if keyframe else fmt.PALETTE_DELTA
    end = fmt.FRAME.size + n * entry.size
    if end > len(payload):
        raise FormatError(
            f"{name} palette needs {end} bytes, record has {len(payload)}", offset=offset
        )
    table = np.frombuffer(payload[fmt.FRAME.size : end], dtype=np.uint8).reshape(n, entry.size)
    if keyframe:
        index = np.arange(n, dtype=np.uint8) if n else np.empty(0, np.uint8)
        rgb = table.copy()
    else:
        index = table[:, 0].copy()
        rgb = table[:, 1:].copy()
        if n and int(index.max()) >= header.k:
            raise FormatError(
                f"PFRM palette delta index {int(index.max())} is not below k={header.k}",
                offset=offset,
            )
        if n > 1 and not np.all(index[1:] > index[:-1]):
            raise FormatError("PFRM palette delta indices are not increasing", offset=offset)
    return FrameRecord(
        keyframe=keyframe,
        pts=pts,
        duration=duration,
        label_mode=mode,
        palette_index=index,
        palette_rgb=rgb,
        labels=bytes(payload[end:]),
        offset=offset,
    )


class ContainerWriter:
    """Write a ``.vq`` stream to a binary file object.

    Call :meth:`write_frame` once per frame in presentation order, then :meth:`close`, which
    writes the keyframe index and the trailer (the explicit end of the stream).
    """

    def __init__(
        self, fileobj: BinaryIO, header: Header, *, audio: AudioHeader | None = None
    ) -> None:
        self._f = fileobj
        self.header = header
        self.audio = audio
        self._offset = 0
        self._index: list[IndexEntry] = []
        self._frames = 0
        self._end_pts = 0
        self._last_pts: int | None = None
        self.sizes = RecordSizes()
        self._write(fmt.PREAMBLE.pack(fmt.MAGIC, fmt.VERSION_MAJOR, fmt.VERSION_MINOR))
        self._write(pack_record(fmt.TAG_HEADER, pack_header(header)))
        if audio is not None:
            self._write(pack_record(fmt.TAG_AUDIO_HEADER, pack_audio_header(audio)))
        self.sizes = RecordSizes(overhead=self._offset)

    def _write(self, data: bytes) -> None:
        self._f.write(data)
        self._offset += len(data)

    def write_frame(self, record: FrameRecord) -> int:
        """Append one frame record; return its size in bytes."""
        if self._last_pts is not None and record.pts <= self._last_pts:
            raise ValueError(f"pts must increase: {record.pts} after {self._last_pts}")
        if not self._index and not record.keyframe:
            raise ValueError("the first frame must be a keyframe")
        if record.keyframe:
            self._index.append(IndexEntry(self._frames, record.pts, self._offset))
        tag = fmt.TAG_KEYFRAME if record.keyframe else fmt.TAG_INTERFRAME
        data = pack_record(tag, pack_frame(record))
        self._write(data)
        self._frames += 1
        self._last_pts = record.pts
        self._end_pts = record.pts + record.duration
        self._count(labels=len(record.labels), palettes=record.palette_bytes, total=len(data))
        return len(data)

    def write_audio(self, packet: AudioPacket) -> int:
        """Append one audio packet (after the frame it plays with); return the record size."""
        if self.audio is None:
            raise ValueError("this stream was opened without audio")
        if not self._index:
            raise ValueError("audio packets follow the first frame")
        if len(packet.data) > fmt.MAX_AUDIO_PACKET:
            raise ValueError(f"audio packet of {len(packet.data)} bytes is over the limit")
        data = pack_record(fmt.TAG_AUDIO_PACKET, pack_audio_packet(packet))
        self._write(data)
        self._count(audio=len(packet.data), total=len(data))
        return len(data)

    def _count(self, *, total: int, labels: int = 0, palettes: int = 0, audio: int = 0) -> None:
        s = self.sizes
        self.sizes = RecordSizes(
            labels=s.labels + labels,
            palettes=s.palettes + palettes,
            audio=s.audio + audio,
            overhead=s.overhead + total - labels - palettes - audio,
        )

    def close(self) -> None:
        """Write the index and the trailer. The file object stays open (the caller owns it)."""
        index_offset = self._offset
        payload = fmt.INDEX_COUNT.pack(len(self._index)) + b"".join(
            fmt.INDEX_ENTRY.pack(e.frame, e.pts, e.offset) for e in self._index
        )
        index = pack_record(fmt.TAG_INDEX, payload)
        self._write(index)
        trailer = fmt.TRAILER.pack(self._frames, len(self._index), index_offset, self._end_pts)
        tail = pack_record(fmt.TAG_TRAILER, trailer)
        self._write(tail)
        self._count(total=len(index) + len(tail))
        self._f.flush()


class _BudgetSpent(FormatError):
    """A salvaging iteration has read as much as it may."""


class ContainerReader:
    """Read a ``.vq`` file record by record.

    Parameters
    ----------
    fileobj
        A seekable binary file object positioned anywhere; the reader seeks itself.

    Raises
    ------
    FormatError
        Wrong magic, bad header, or (later, while iterating) any damaged record.
    VersionError
        The file's major version differs from this reader's.
    """

    def __init__(self, fileobj: BinaryIO) -> None:
        self._f = fileobj
        self._budget: int | None = None  # bytes a salvaging iteration may still read
        self._f.seek(0, os.SEEK_END)
        self.file_size = self._f.tell()
        self._f.seek(0)
        pre = self._read_exact(fmt.PREAMBLE.size, 0, "preamble")
        magic, major, minor = fmt.PREAMBLE.unpack(pre)
        if magic != fmt.MAGIC:
            raise FormatError(
                f"not a vidquant file: magic is {magic!r}, expected {fmt.MAGIC!r}", offset=0
            )
        if major != fmt.VERSION_MAJOR:
            raise VersionError(
                f"file format version {major}.{minor} is not supported by this reader "
                f"(reads {fmt.VERSION_MAJOR}.x)",
                offset=8,
            )
        if minor > fmt.VERSION_MINOR:
            log.warning(
                "file format version %d.%d is newer than this reader's %d.%d; "
                "reading the records it knows",
                major,
                minor,
                fmt.VERSION_MAJOR,
                fmt.VERSION_MINOR,
            )
        self.version = (major, minor)
        tag, payload, offset = self._read_record(fmt.PREAMBLE.size, fmt.MAX_META + fmt.HEADER.size)
        if tag != fmt.TAG_HEADER:
            raise FormatError(
                f"first record is {tag!r}, expected {fmt.TAG_HEADER!r}", offset=offset
            )
        self.header = unpack_header(payload, offset + fmt.RECORD_HEAD.size)
        h = self.header
        self._max_payload = fmt.max_payload(h.width, h.height, h.k)
        self.first_frame_offset = self._f.tell()
        self.audio: AudioHeader | None = None
        if self.first_frame_offset + fmt.RECORD_HEAD.size <= self.file_size:
            self._f.seek(self.first_frame_offset)
            (tag, _) = fmt.RECORD_HEAD.unpack(self._f.read(fmt.RECORD_HEAD.size))
            if tag == fmt.TAG_AUDIO_HEADER:
                _, payload, offset = self._read_record(self.first_frame_offset)
                self.audio = unpack_audio_header(payload, offset)
                self.first_frame_offset = self._f.tell()

    def _read_exact(self, n: int, offset: int, what: str) -> bytes:
        data = self._f.read(n)
        if len(data) != n:
            raise TruncatedError(
                f"file ends inside the {what}: needed {n} bytes, found {len(data)}", offset=offset
            )
        return data

    def _limit(self, tag: bytes) -> int:
        """Largest payload a record with ``tag`` may declare in this file."""
        if tag == fmt.TAG_INDEX:
            return fmt.INDEX_COUNT.size + fmt.MAX_INDEX_ENTRIES * fmt.INDEX_ENTRY.size
        if tag == fmt.TAG_TRAILER:
            return fmt.TRAILER.size
        if tag == fmt.TAG_AUDIO_PACKET:
            return fmt.AUDIO_PACKET.size + fmt.MAX_AUDIO_PACKET
        if tag == fmt.TAG_AUDIO_HEADER:
            return fmt.AUDIO_HEADER.size + 96 + fmt.MAX_META
        return self._max_payload

    def _read_record(
        self, offset: int, max_payload: int | None = None
    ) -> tuple[bytes, memoryview, int]:
        """Read the record at ``offset``; return (tag, payload, offset) after checking the CRC.

        ``max_payload`` defaults to the limit for the record's tag; the length is also checked
        against the bytes left in the file before anything is allocated.
        """
        self._f.seek(offset)
        head = self._f.read(fmt.RECORD_HEAD.size)
        if len(head) == 0:
            raise TruncatedError(
                "file ends before the trailer (TAIL record missing)", offset=offset
            )
        if len(head) < fmt.RECORD_HEAD.size:
            raise TruncatedError(
                f"file ends inside a record header: {len(head)} of {fmt.RECORD_HEAD.size} bytes",
                offset=offset,
            )
        tag, length = fmt.RECORD_HEAD.unpack(head)
        if not all(0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A or c == 0x20 for c in tag):
            raise FormatError(f"bad record tag {tag!r}", offset=offset)
        if max_payload is None:
            max_payload = self._limit(tag)
        if length > max_payload:
            raise FormatError(
                f"record {tag!r} declares {length} bytes, more than the {max_payload} allowed",
                offset=offset,
            )
        remaining = self.file_size - offset - fmt.RECORD_HEAD.size
        if length + fmt.RECORD_CRC.size > remaining:
            raise TruncatedError(
                f"record {tag!r} declares {length} bytes but the file ends {remaining} bytes later",
                offset=offset,
            )
        self._spend(length + fmt.RECORD_CRC.size)
        payload = self._f.read(length)
        (crc,) = fmt.RECORD_CRC.unpack(self._f.read(fmt.RECORD_CRC.size))
        actual = zlib.crc32(payload, zlib.crc32(tag))
        if crc != actual:
            raise FormatError(
                f"CRC mismatch in record {tag!r}: stored {crc:08x}, computed {actual:08x}",
                offset=offset,
            )
        return tag, memoryview(payload), offset

    def iter_frames(self, start_offset: int | None = None) -> Iterator[FrameRecord]:
        """Yield frame records from ``start_offset`` (default: the first) up to the index.

        Audio and other ancillary records are skipped (see :meth:`iter_records`).
        """
        for record in self.iter_records(start_offset):
            if isinstance(record, FrameRecord):
                yield record

    def iter_records(
        self, start_offset: int | None = None, *, audio: bool = False, salvage: bool = False
    ) -> Iterator[FrameRecord | AudioPacket | Damage]:
        """Yield frame records, and with ``audio`` the audio packets, in file order.

        With ``salvage``, a damaged record does not end the iteration: a :class:`Damage` item
        reports it, and reading resumes at the next intact record (found by scanning for a
        record tag whose CRC checks out). Frame records after a damage may depend on frames
        that were lost; the caller decides what to do with them (the decoder waits for the next
        keyframe). In salvage mode the first frame record need not be a keyframe.

        Raises
        ------
        TruncatedError
            The file ends before the trailer; every whole record before that was yielded.
        FormatError
            A record is damaged or breaks a rule of the format (never with ``salvage``).
        """
        offset = self.first_frame_offset if start_offset is None else start_offset
        if salvage:
            self._budget = _SALVAGE_READ_FACTOR * self.file_size + _SALVAGE_READ_MIN
        try:
            yield from self._walk(offset, audio=audio, salvage=salvage, whole=start_offset is None)
        finally:
            self._budget = None

    def _walk(
        self, offset: int, *, audio: bool, salvage: bool, whole: bool
    ) -> Iterator[FrameRecord | AudioPacket | Damage]:
        """:meth:`iter_records` from ``offset``; ``whole``: from the first frame (so the
        trailer's frame count can be checked)."""
        last_pts: int | None = None
        first = not salvage
        frames = 0
        while True:
            try:
                tag, payload, rec_offset = self._read_record(offset)
                end = rec_offset + fmt.RECORD_HEAD.size + len(payload) + fmt.RECORD_CRC.size
                if tag == fmt.TAG_INDEX:
                    self._check_end(rec_offset, end, frames if whole and not salvage else None)
                    return
                item = self._interpret(tag, payload, rec_offset, audio)
                if isinstance(item, FrameRecord):
                    if first and not item.keyframe:
                        raise FormatError(
                            "stream does not start with a keyframe", offset=rec_offset
                        )
                    if last_pts is not None and item.pts <= last_pts:
                        raise FormatError(
                            f"pts {item.pts} does not increase (previous {last_pts})",
                            offset=rec_offset,
                        )
            except FormatError as exc:
                if not salvage:
                    raise
                exc = detached(exc)
                try:
                    resume = None if isinstance(exc, _BudgetSpent) else self.resync(offset + 1)
                except _BudgetSpent as spent:
                    yield Damage(offset, exc, None)
                    yield Damage(offset + 1, detached(spent), None)
                    return
                yield Damage(offset, exc, resume)
                if resume is None:
                    return
                offset = resume
                continue
            offset = end
            if isinstance(item, FrameRecord):
                first = False
                last_pts = item.pts
                frames += 1
            if item is not None:
                yield item

    def _interpret(
        self, tag: bytes, payload: memoryview, offset: int, audio: bool
    ) -> FrameRecord | AudioPacket | None:
        """The typed record for ``tag`` (None: a record to skip)."""
        if tag in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME):
            return unpack_frame(tag, payload, offset, self.header)
        if tag == fmt.TAG_AUDIO_PACKET:
            if audio and self.audio is not None:
                return unpack_audio_packet(payload, offset)
            return None
        if fmt.tag_is_critical(tag):
            raise FormatError(f"unknown critical record {tag!r}", offset=offset)
        log.debug("skipping ancillary record %r at %d", tag, offset)
        return None

    def resync(self, offset: int) -> int | None:
        """Offset of the first intact frame, audio or index record at or after ``offset``.

        Scans for the record tags and keeps the first candidate whose whole record (length
        limits, CRC) checks out; None when no intact record follows.

        Raises
        ------
        FormatError
            During a salvaging iteration, when its read budget is spent.
        """
        chunk = 64 << 10  # grows to 1 MiB: damage is usually followed closely by a record
        pos = offset
        while pos + fmt.RECORD_HEAD.size + fmt.RECORD_CRC.size <= self.file_size:
            self._f.seek(pos)
            self._spend(chunk)
            buf = self._f.read(chunk + 3)  # + 3: a tag across the chunk's end is still found
            for match in _RESYNC_TAGS.finditer(buf):
                candidate = pos + match.start()
                try:
                    self._read_record(candidate)
                except _BudgetSpent:
                    raise
                except FormatError:
                    continue
                return candidate
            pos += chunk
            chunk = min(2 * chunk, 1 << 20)
        return None

    def _spend(self, nbytes: int) -> None:
        """Charge a salvaging iteration's read budget (no-op otherwise)."""
        if self._budget is None:
            return
        self._budget -= nbytes
        if self._budget < 0:
            self._budget = None  # the error below ends the iteration
            raise _BudgetSpent(
                "gave up: the rest of the file is damaged throughout (salvage read "
                f"{_SALVAGE_READ_FACTOR} times the file's size looking for intact records)",
                offset=self._f.tell(),
            )

    def _check_end(self, index_offset: int, offset: int, frames: int | None) -> None:
        """After the index at ``index_offset``: the trailer must follow at ``offset``, end the
        file, point back at this index and (when known) count ``frames`` frames."""
        if offset + fmt.TRAILER_RECORD_SIZE > self.file_size:
            raise TruncatedError("file ends before the trailer (TAIL record)", offset=offset)
        if offset + fmt.TRAILER_RECORD_SIZE != self.file_size:
            raise FormatError(
                f"{self.file_size - offset - fmt.TRAILER_RECORD_SIZE} unexpected bytes between "
                "the index and the trailer",
                offset=offset,
            )
        trailer = self.read_trailer()
        if trailer.index_offset != index_offset:
            raise FormatError(
                f"TAIL points at an index at {trailer.index_offset}, found it at {index_offset}",
                offset=offset,
            )
        if frames is not None and trailer.frames != frames:
            raise FormatError(
                f"TAIL counts {trailer.frames} frames, the file holds {frames}", offset=offset
            )

    def read_trailer(self) -> Trailer:
        """Read and check the TAIL record at the end of the file."""
        offset = self.file_size - fmt.TRAILER_RECORD_SIZE
        if offset < self.first_frame_offset:
            raise TruncatedError("file too short to hold a trailer", offset=max(offset, 0))
        tag, payload, _ = self._read_record(offset, fmt.TRAILER.size)
        if tag != fmt.TAG_TRAILER or len(payload) != fmt.TRAILER.size:
            raise FormatError(
                f"last record is {tag!r}, expected {fmt.TAG_TRAILER!r}", offset=offset
            )
        frames, keyframes, index_offset, end_pts = fmt.TRAILER.unpack(payload)
        if not self.first_frame_offset <= index_offset < offset:
            raise FormatError(
                f"TAIL index offset {index_offset} is outside the file", offset=offset
            )
        if keyframes > frames:
            raise FormatError(f"TAIL says {keyframes} keyframes but {frames} frames", offset=offset)
        return Trailer(frames, keyframes, index_offset, end_pts)

    def read_index(self) -> tuple[Trailer, list[IndexEntry]]:
        """Read the trailer and the keyframe index (for seeking), checking every entry."""
        trailer = self.read_trailer()
        tag, payload, offset = self._read_record(trailer.index_offset)
        if tag != fmt.TAG_INDEX:
            raise FormatError(f"index offset points at {tag!r}, not INDX", offset=offset)
        if len(payload) < fmt.INDEX_COUNT.size:
            raise FormatError("INDX record too short", offset=offset)
        (count,) = fmt.INDEX_COUNT.unpack_from(payload)
        expected = fmt.INDEX_COUNT.size + count * fmt.INDEX_ENTRY.size
        if count != trailer.keyframes or len(payload) != expected:
            raise FormatError(
                f"INDX holds {len(payload)} bytes for {count} entries (TAIL says "
                f"{trailer.keyframes} keyframes); expected {expected} bytes",
                offset=offset,
            )
        entries = []
        previous: IndexEntry | None = None
        for i in range(count):
            entry = IndexEntry(
                *fmt.INDEX_ENTRY.unpack_from(
                    payload, fmt.INDEX_COUNT.size + i * fmt.INDEX_ENTRY.size
                )
            )
            ok = (
                self.first_frame_offset <= entry.offset < trailer.index_offset
                and entry.frame < trailer.frames
            )
            if previous is not None:
                ok = (
                    ok
                    and entry.offset > previous.offset
                    and entry.pts > previous.pts
                    and entry.frame > previous.frame
                )
            if not ok:
                raise FormatError(f"INDX entry {i} is inconsistent: {entry}", offset=offset)
            entries.append(entry)
            previous = entry
        return trailer, entries
