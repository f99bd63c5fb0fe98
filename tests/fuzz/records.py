"""Records of a ``.vq`` file: walking them, mending CRCs and the trailer, and mutating them.

:func:`apply_op` is the mutation both fuzz drivers apply to valid files (Hypothesis draws the
operation, the atheris custom mutator picks one with :func:`random_op`); :func:`mend` with
:func:`fix_crcs` and :func:`rebuild_end` lets a mutation get past the CRC and trailer checks.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass

import zstandard

from fuzz.payloads import zstd_compress
from vidquant.codec import format as fmt
from vidquant.codec.records import pack_frame_head, pack_record, unpack_frame_head
from vidquant.errors import FormatError


@dataclass(frozen=True)
class Rec:
    """A record's place in a file: offset of its tag, tag, payload length, end offset."""

    offset: int
    tag: bytes
    length: int
    end: int

    @property
    def payload_offset(self) -> int:
        return self.offset + fmt.RECORD_HEAD.size


def walk(data: bytes, start: int = fmt.PREAMBLE.size) -> list[Rec]:
    """Records from ``start`` as far as the framing holds (CRCs are not checked)."""
    recs = []
    offset = start
    while offset + fmt.RECORD_HEAD.size <= len(data):
        tag, length = fmt.RECORD_HEAD.unpack_from(data, offset)
        end = offset + fmt.RECORD_HEAD.size + length + fmt.RECORD_CRC.size
        if end > len(data):
            break
        recs.append(Rec(offset, tag, length, end))
        offset = end
    return recs


def major_of(data: bytes) -> int:
    """The major version the preamble of ``data`` names (the current one if it is cut short)."""
    if len(data) < fmt.PREAMBLE.size:
        return fmt.VERSION_MAJOR
    return fmt.PREAMBLE.unpack_from(data)[1]


def frame_head(data: bytes, r: Rec) -> tuple[int, int, int, int, int] | None:
    """(pts, duration, mode, n, header size) of frame record ``r``, read the way its file's
    major lays it out; None when the header does not parse."""
    payload = memoryview(data)[r.payload_offset : r.end - fmt.RECORD_CRC.size]
    try:
        return unpack_frame_head(payload, major_of(data), "frame", r.offset)
    except FormatError:
        return None


def fix_crcs(data: bytes) -> bytes:
    """``data`` with the CRC of every record whose framing holds recomputed."""
    out = bytearray(data)
    for r in walk(data):
        payload = out[r.payload_offset : r.end - fmt.RECORD_CRC.size]
        fmt.RECORD_CRC.pack_into(
            out, r.end - fmt.RECORD_CRC.size, zlib.crc32(payload, zlib.crc32(r.tag))
        )
    return bytes(out)


def to_i64(value: int) -> int:
    """``value`` wrapped into a signed 64-bit integer (as a file's pts field holds it)."""
    return (value + 2**63) % 2**64 - 2**63


def rebuild_end(data: bytes) -> bytes:
    """``data`` cut before its first INDX or TAIL (or where the framing fails) and ended with an
    INDX and a TAIL that agree with the frame records before it (CRCs of those two correct)."""
    recs = walk(data)
    out = bytearray(data[: fmt.PREAMBLE.size])
    entries = []
    frames = end_pts = 0
    for r in recs:
        if r.tag in (fmt.TAG_INDEX, fmt.TAG_TRAILER):
            break
        head = frame_head(data, r) if r.tag in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME) else None
        if head is not None:
            pts, duration = head[:2]
            if r.tag == fmt.TAG_KEYFRAME:
                entries.append((frames % 2**32, pts, len(out)))
            frames += 1
            end_pts = to_i64(pts + duration)
        out += data[r.offset : r.end]
    index_offset = len(out)
    payload = fmt.INDEX_COUNT.pack(len(entries)) + b"".join(
        fmt.INDEX_ENTRY.pack(*e) for e in entries
    )
    out += pack_record(fmt.TAG_INDEX, payload)
    trailer = fmt.TRAILER.pack(frames % 2**32, len(entries), index_offset, end_pts)
    out += pack_record(fmt.TAG_TRAILER, trailer)
    return bytes(out)


def _record_bytes(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    """(bytes before the first record, the records, bytes after the last whole record)."""
    recs = walk(data)
    end = recs[-1].end if recs else min(len(data), fmt.PREAMBLE.size)
    return data[: fmt.PREAMBLE.size], [data[r.offset : r.end] for r in recs], data[end:]


def _frame_recs(data: bytes) -> list[Rec]:
    return [
        r
        for r in walk(data)
        if r.tag in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME) and frame_head(data, r) is not None
    ]


FRAME_FIELDS = ("pts", "duration", "mode", "n")
_FIELD_RANGE = {"pts": (-(2**63), 2**63 - 1), "duration": (-(2**63), 2**63 - 1),
                "mode": (0, 255), "n": (0, 65535)}  # fmt: skip


def set_frame_field(data: bytes, which: int, name: str, value: int) -> bytes:
    """The ``which``-th frame record (mod their count) with one header field replaced, its
    length and CRC made right for the new header. Values are wrapped into the field's range
    (4.x varints: pts and duration 0..2**63-1)."""
    recs = _frame_recs(data)
    if not recs:
        return data
    r = recs[which % len(recs)]
    *values, size = frame_head(data, r)
    fields = dict(zip(FRAME_FIELDS, values, strict=True))
    major = major_of(data)
    lo, hi = _FIELD_RANGE[name]
    if major not in fmt.FIXED_FRAME_MAJORS and name in ("pts", "duration"):
        lo = 0
    fields[name] = lo + (value - lo) % (hi - lo + 1)
    head = pack_frame_head(*(fields[f] for f in FRAME_FIELDS), major=major)
    rest = data[r.payload_offset + size : r.end - fmt.RECORD_CRC.size]
    return data[: r.offset] + pack_record(r.tag, head + rest) + data[r.end :]


def _label_split(data: bytes, r: Rec) -> int | None:
    """Offset (in the file) where the label payload of frame record ``r`` starts, or None."""
    head = frame_head(data, r)
    if head is None:
        return None
    n, size = head[3:]
    entry = fmt.PALETTE_ENTRY.size if r.tag == fmt.TAG_KEYFRAME else fmt.PALETTE_DELTA.size
    start = r.payload_offset + size + n * entry
    return start if start <= r.end - fmt.RECORD_CRC.size else None


def _decompressed(payload: bytes, limit: int = 1 << 22) -> bytes | None:
    try:
        size = zstandard.frame_content_size(payload)
        if not 0 <= size <= limit:
            return None
        return zstandard.ZstdDecompressor().decompress(payload)
    except zstandard.ZstdError:
        return None


def edit_labels(
    data: bytes,
    which: int,
    pokes: list[tuple[int, int]],
    *,
    resize: int = 0,
    content_size: bool = True,
    mutate=None,
) -> bytes:
    """The ``which``-th frame record with its label map decompressed, edited (``pokes``:
    (position mod size, value); ``resize``: bytes added or cut at the end; ``mutate``: a
    function bytes -> bytes) and compressed again; the record's length and CRC are fixed (the
    offsets after it move, see :func:`rebuild_end`)."""
    recs = _frame_recs(data)
    if not recs:
        return data
    r = recs[which % len(recs)]
    start = _label_split(data, r)
    if start is None:
        return data
    payload_end = r.end - fmt.RECORD_CRC.size
    raw = _decompressed(data[start:payload_end])
    if raw is None:
        return data
    labels = bytearray(raw)
    if labels:
        for pos, value in pokes:
            labels[pos % len(labels)] = value & 255
    if resize > 0:
        labels += bytes(labels[-1:] or b"\x00") * resize
    elif resize < 0:
        del labels[resize:]
    new = bytes(labels) if mutate is None else bytes(mutate(bytes(labels)))
    coded = zstd_compress(new, content_size=content_size)
    payload = data[r.payload_offset : start] + coded
    return data[: r.offset] + pack_record(r.tag, payload) + data[r.end :]


OPS = (
    "truncate",
    "flip",
    "overwrite",
    "insert",
    "delete",
    "set_length",
    "splice",
    "duplicate",
    "swap",
    "drop",
    "frame_field",
    "labels",
)


def apply_op(data: bytes, op: tuple, seeds: list[bytes]) -> bytes:
    """Apply one mutation ``op`` = (name, *params) to ``data``. Positions and indices are taken
    modulo what ``data`` holds, so any parameters are valid (Hypothesis draws them freely).
    Record index 0 is the record after HEAD (HEAD is the last one): drivers favour small
    indices, and a file whose HEAD is gone is refused before anything interesting."""
    name, *p = op

    def pick(i: int, count: int) -> int:
        return (i + 1) % count

    n = len(data)
    if name == "truncate":
        return data[: p[0] % (n + 1)]
    if name == "flip":
        if not n:
            return data
        out = bytearray(data)
        out[p[0] % n] ^= 1 << (p[1] % 8)
        return bytes(out)
    if name == "overwrite":
        pos = p[0] % (n + 1)
        return data[:pos] + p[1] + data[pos + len(p[1]) :]
    if name == "insert":
        pos = p[0] % (n + 1)
        return data[:pos] + p[1] + data[pos:]
    if name == "delete":
        pos = p[0] % (n + 1)
        return data[:pos] + data[pos + p[1] :]
    recs = walk(data)
    if name == "set_length":
        if not recs:
            return data
        r = recs[pick(p[0], len(recs))]
        return data[: r.offset + 4] + struct.pack("<I", p[1] % 2**32) + data[r.offset + 8 :]
    pre, records, rest = _record_bytes(data)
    if name == "splice":
        other = seeds[p[0] % len(seeds)]
        _, theirs, _ = _record_bytes(other)
        if not theirs:
            return data
        records.insert(pick(p[2], len(records) + 1), theirs[pick(p[1], len(theirs))])
    elif name == "duplicate" and records:
        records.insert(pick(p[1], len(records) + 1), records[pick(p[0], len(records))])
    elif name == "swap" and records:
        i, j = pick(p[0], len(records)), pick(p[1], len(records))
        records[i], records[j] = records[j], records[i]
    elif name == "drop" and records:
        del records[pick(p[0], len(records))]
    elif name == "frame_field":
        return set_frame_field(data, p[0], FRAME_FIELDS[p[1] % 4], p[2])
    elif name == "labels":
        return edit_labels(data, p[0], p[1], resize=p[2], content_size=p[3])
    return pre + b"".join(records) + rest


FIXES = ("none", "crc", "crc+end")


def mend(data: bytes, fix: str) -> bytes:
    """After a mutation: ``"crc"`` recomputes the CRCs, ``"crc+end"`` also rebuilds INDX/TAIL."""
    if fix == "crc":
        return fix_crcs(data)
    if fix == "crc+end":
        return rebuild_end(fix_crcs(data))
    return data


INTERESTING = (0, 1, 2, 3, 4, 18, 19, 24, 27, 28, 255, 256, 257, 65535, 65536,
               2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, -1, -(2**63))  # fmt: skip


def random_op(rng: random.Random, data: bytes, seeds: list[bytes]) -> tuple:
    """A random mutation for :func:`apply_op` (the atheris custom mutator's record-level moves)."""
    name = rng.choice(OPS)
    pos = rng.randrange(len(data) + 1)
    if name in ("truncate",):
        return (name, pos)
    if name == "flip":
        return (name, pos, rng.randrange(8))
    if name in ("overwrite", "insert"):
        return (name, pos, rng.randbytes(rng.randint(1, 16)))
    if name == "delete":
        return (name, pos, rng.randint(1, 64))
    if name == "set_length":
        recs = walk(data)
        length = recs[rng.randrange(len(recs))].length if recs else 0
        value = rng.choice((rng.choice(INTERESTING), length + rng.randint(-8, 8)))
        return (name, rng.randrange(64), value)
    if name == "splice":
        return (name, rng.randrange(64), rng.randrange(64), rng.randrange(64))
    if name in ("duplicate", "swap"):
        return (name, rng.randrange(64), rng.randrange(64))
    if name == "drop":
        return (name, rng.randrange(64))
    if name == "frame_field":
        value = rng.choice((rng.choice(INTERESTING), rng.randint(-4, 300)))
        return (name, rng.randrange(64), rng.randrange(4), value)
    pokes = [(rng.randrange(1 << 20), rng.choice((0, 1, 254, 255, rng.randrange(256))))
             for _ in range(rng.randint(0, 4))]  # fmt: skip
    return (name, rng.randrange(64), pokes, rng.choice((0, 0, 0, 1, -1)), rng.random() < 0.9)
