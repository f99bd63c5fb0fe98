"""The typed records of a ``.vq`` file and their payloads as bytes.

Each record (HEAD, KFRM/PFRM, INDX, TAIL, ahdr, apkt) is a frozen dataclass with a symmetric
``pack_*``/``unpack_*`` pair over :mod:`vidquant.codec.format`'s structs. ``unpack_*`` trusts
nothing: every count, range and index is checked before it is used, and a problem raises
:class:`~vidquant.errors.FormatError` with the record's offset. Framing a payload as a record
(tag, length, CRC) is :func:`pack_record`; reading records back from a file is
:class:`~vidquant.codec.container.ContainerReader`'s job.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from vidquant.codec import format as fmt
from vidquant.errors import FormatError


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
    label_coder
        ``format.LABEL_CODER_*``: 1 in 1.x files, 2 in 2.x files, 3 in 3.x and 4.x files (a
        writer gives the file the newest major of its label coder).
    meta
        Descriptive facts (source, settings); not needed to decode.
    alpha_index
        The palette index whose pixels are transparent, or None (2.x and later; 1.x has none).
    """

    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    k: int
    label_coder: int = fmt.LABEL_CODER_MC
    palette_coder: int = fmt.PALETTE_CODER_RAW
    meta: dict = field(default_factory=dict)
    alpha_index: int | None = None  # the palette index shown transparent (2.x on; none in 1.x)


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

    @property
    def coded_bytes(self) -> int:
        """Bytes of the frame's content: its coded labels and palette entries (no framing)."""
        return len(self.labels) + self.palette_bytes

    def palette_after(self, previous: np.ndarray | None) -> np.ndarray:
        """The palette in force from this frame on, given the one before it ((k, 3) uint8).

        A keyframe sets every entry; a predicted frame changes the entries it names. The
        result is a new array when anything changed, else ``previous`` itself, so a caller
        that keeps palettes never sees one change under it.

        Raises
        ------
        ValueError
            ``previous`` is None for a predicted frame (a bad call: the caller skipped the
            frames before it).
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
class RecordSizes:
    """Bytes written so far, split by what they carry."""

    labels: int = 0
    palettes: int = 0
    audio: int = 0
    overhead: int = 0

    @property
    def total(self) -> int:
        return self.labels + self.palettes + self.audio + self.overhead


def pack_record(tag: bytes, payload: bytes) -> bytes:
    """Frame ``payload`` as a record: tag, length, payload, CRC-32 of tag and payload."""
    crc = zlib.crc32(payload, zlib.crc32(tag))
    return fmt.RECORD_HEAD.pack(tag, len(payload)) + payload + fmt.RECORD_CRC.pack(crc)


def pack_header(header: Header) -> bytes:
    """HEAD payload for ``header``.

    Raises
    ------
    ValueError
        The metadata is over ``format.MAX_META`` bytes as JSON, or holds NaN or infinity (a
        bad call: the writer's caller chose the metadata). A value JSON cannot hold raises
        ``TypeError``, as :func:`json.dumps` does.
    """
    meta = json.dumps(header.meta, sort_keys=True, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )
    if len(meta) > fmt.MAX_META:
        raise ValueError(f"header metadata is {len(meta)} bytes, limit {fmt.MAX_META}")
    fields = (
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
    if header.label_coder == fmt.LABEL_CODER_ZSTD:  # a 1.x header (tests make such files)
        return fmt.HEADER_V1.pack(*fields) + meta
    alpha = fmt.NO_ALPHA if header.alpha_index is None else header.alpha_index
    return fmt.HEADER.pack(*fields, alpha) + meta


def unpack_header(payload: bytes, offset: int, major: int = fmt.VERSION_MAJOR) -> Header:
    """Parse and check a HEAD payload of a file of version ``major``.x; ``offset`` is where the
    payload starts in the file."""
    layout = fmt.HEADER_V1 if major == 1 else fmt.HEADER
    if len(payload) < layout.size:
        raise FormatError(
            f"HEAD record is {len(payload)} bytes, expected at least {layout.size}",
            offset=offset,
        )
    fields = layout.unpack_from(payload)
    w, h, fps_n, fps_d, tb_n, tb_d, k, label_coder, palette_coder = fields[:9]
    alpha = fields[9] if major != 1 else fmt.NO_ALPHA
    coder = fmt.LABEL_CODER_OF_MAJOR[major]
    checks = (
        ("width", w, 1, fmt.MAX_WIDTH),
        ("height", h, 1, fmt.MAX_HEIGHT),
        ("frame rate numerator", fps_n, 1, 2**32 - 1),
        ("frame rate denominator", fps_d, 1, 2**32 - 1),
        ("time base numerator", tb_n, 1, 2**32 - 1),
        ("time base denominator", tb_d, 1, 2**32 - 1),
        ("k", k, fmt.K_MIN, fmt.K_MAX),
        ("label coder", label_coder, coder, coder),
        ("palette coder", palette_coder, fmt.PALETTE_CODER_RAW, fmt.PALETTE_CODER_RAW),
    )
    for name, value, lo, hi in checks:
        if not lo <= value <= hi:
            raise FormatError(f"HEAD {name} must be {lo}..{hi}, got {value}", offset=offset)
    if alpha != fmt.NO_ALPHA and alpha >= k:
        raise FormatError(
            f"HEAD alpha index must be below k={k} or {fmt.NO_ALPHA}, got {alpha}", offset=offset
        )
    meta_bytes = payload[layout.size :]
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
        alpha_index=None if alpha == fmt.NO_ALPHA else alpha,
    )


def pack_varint(value: int) -> bytes:
    """``value`` (0 <= value < 2**63) as an unsigned LEB128 varint (FORMAT.md §4.3)."""
    if not 0 <= value < fmt.VARINT_LIMIT:
        raise ValueError(f"varint value {value} is outside 0..2**63-1")
    out = bytearray()
    while value >= 0x80:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def unpack_varint(data: memoryview, pos: int, what: str, offset: int) -> tuple[int, int]:
    """The varint at ``data[pos:]`` and the position after it; a varint that runs past the data,
    is longer than ``format.VARINT_MAX_BYTES`` or ends in a needless zero byte is a
    :class:`FormatError` naming ``what``."""
    value = 0
    for i in range(fmt.VARINT_MAX_BYTES):
        if pos + i >= len(data):
            raise FormatError(f"{what} runs past the end of the record", offset=offset)
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise FormatError(f"{what} ends in a needless zero byte", offset=offset)
            return value, pos + i + 1
    raise FormatError(f"{what} is longer than {fmt.VARINT_MAX_BYTES} bytes", offset=offset)


def pack_frame_head(
    pts: int, duration: int, mode: int, n: int, major: int = fmt.VERSION_MAJOR
) -> bytes:
    """The frame header of a KFRM/PFRM payload in a file of version ``major``.x: fixed-size up to
    3.x, varints from 4.0 on."""
    if major in fmt.FIXED_FRAME_MAJORS:
        return fmt.FRAME_FIXED.pack(pts, duration, mode, n)
    return bytes((mode,)) + pack_varint(pts) + pack_varint(duration) + pack_varint(n)


def unpack_frame_head(
    payload: memoryview, major: int, name: str, offset: int
) -> tuple[int, int, int, int, int]:
    """(pts, duration, mode, n, size in bytes) of the frame header at the start of ``payload``
    (only its own syntax is checked here)."""
    if major in fmt.FIXED_FRAME_MAJORS:
        if len(payload) < fmt.FRAME_FIXED.size:
            raise FormatError(
                f"{name} record is {len(payload)} bytes, expected at least {fmt.FRAME_FIXED.size}",
                offset=offset,
            )
        return (*fmt.FRAME_FIXED.unpack_from(payload), fmt.FRAME_FIXED.size)
    if len(payload) < 1:
        raise FormatError(f"{name} record is empty, expected a frame header", offset=offset)
    mode = payload[0]
    pts, pos = unpack_varint(payload, 1, f"{name} pts", offset)
    duration, pos = unpack_varint(payload, pos, f"{name} duration", offset)
    n, pos = unpack_varint(payload, pos, f"{name} palette entry count", offset)
    return pts, duration, mode, n, pos


def pack_frame(record: FrameRecord, major: int = fmt.VERSION_MAJOR) -> bytes:
    """KFRM or PFRM payload for ``record`` in a file of version ``major``.x."""
    n = len(record.palette_index)
    head = pack_frame_head(record.pts, record.duration, record.label_mode, n, major)
    if record.keyframe:
        entries = np.ascontiguousarray(record.palette_rgb, dtype=np.uint8).tobytes()
    else:
        table = np.empty((n, 4), dtype=np.uint8)
        table[:, 0] = record.palette_index
        table[:, 1:] = record.palette_rgb
        entries = table.tobytes()
    return head + entries + record.labels


def unpack_frame(
    tag: bytes, payload: memoryview, offset: int, header: Header, major: int = fmt.VERSION_MAJOR
) -> FrameRecord:
    """Parse and check a KFRM/PFRM payload of a file of version ``major``.x; ``offset`` is the
    record's offset in the file."""
    keyframe = tag == fmt.TAG_KEYFRAME
    name = tag.decode("ascii")
    pts, duration, mode, n, head = unpack_frame_head(payload, major, name, offset)
    if duration <= 0:
        raise FormatError(f"{name} duration must be > 0, got {duration}", offset=offset)
    if mode not in fmt.LABEL_MODES[header.label_coder]:
        raise FormatError(f"{name} label mode {mode} is unknown", offset=offset)
    if keyframe and mode != fmt.LABELS_INTRA:
        raise FormatError(f"KFRM label mode must be {fmt.LABELS_INTRA}, got {mode}", offset=offset)
    if keyframe and n != header.k:
        raise FormatError(f"KFRM palette has {n} entries, expected k={header.k}", offset=offset)
    if n > header.k:
        raise FormatError(f"{name} has {n} palette deltas, more than k={header.k}", offset=offset)
    entry = fmt.PALETTE_ENTRY if keyframe else fmt.PALETTE_DELTA
    end = head + n * entry.size
    if end > len(payload):
        raise FormatError(
            f"{name} palette needs {end} bytes, record has {len(payload)}", offset=offset
        )
    table = np.frombuffer(payload[head:end], dtype=np.uint8).reshape(n, entry.size)
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
        ("codec name length", n_codec, 1, fmt.MAX_AUDIO_CODEC_NAME),
        ("layout name length", n_layout, 0, fmt.MAX_AUDIO_LAYOUT_NAME),
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


def pack_index(entries: list[IndexEntry]) -> bytes:
    """INDX payload listing ``entries`` (every keyframe, in file order)."""
    return fmt.INDEX_COUNT.pack(len(entries)) + b"".join(
        fmt.INDEX_ENTRY.pack(e.frame, e.pts, e.offset) for e in entries
    )


def unpack_index(
    payload: memoryview, offset: int, trailer: Trailer, *, first_frame_offset: int
) -> list[IndexEntry]:
    """Parse and check an INDX payload against ``trailer``; ``offset`` is the record's offset."""
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
    entries: list[IndexEntry] = []
    for i in range(count):
        entry = IndexEntry(
            *fmt.INDEX_ENTRY.unpack_from(payload, fmt.INDEX_COUNT.size + i * fmt.INDEX_ENTRY.size)
        )
        ok = first_frame_offset <= entry.offset < trailer.index_offset
        ok = ok and entry.frame < trailer.frames
        if entries:
            last = entries[-1]
            ok = ok and entry.offset > last.offset and entry.pts > last.pts
            ok = ok and entry.frame > last.frame
        if not ok:
            raise FormatError(f"INDX entry {i} is inconsistent: {entry}", offset=offset)
        entries.append(entry)
    return entries


def pack_trailer(trailer: Trailer) -> bytes:
    """TAIL payload for ``trailer``."""
    t = trailer
    return fmt.TRAILER.pack(t.frames, t.keyframes, t.index_offset, t.end_pts)


def unpack_trailer(payload: memoryview, offset: int, *, first_frame_offset: int) -> Trailer:
    """Parse and check a TAIL payload of ``format.TRAILER.size`` bytes; ``offset`` is the
    record's offset (the index must lie between the first frame and it)."""
    frames, keyframes, index_offset, end_pts = fmt.TRAILER.unpack(payload)
    if not first_frame_offset <= index_offset < offset:
        raise FormatError(f"TAIL index offset {index_offset} is outside the file", offset=offset)
    if keyframes > frames:
        raise FormatError(f"TAIL says {keyframes} keyframes but {frames} frames", offset=offset)
    return Trailer(frames, keyframes, index_offset, end_pts)
