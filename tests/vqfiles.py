"""The golden ``.vq`` file, crafted records and decode outcomes, shared by the container tests.

The golden file ``tests/golden/tiny.vq`` (and the frames it must decode to) is written by
``tests/make_golden.py``; see that script for what the clip holds and when to regenerate it.
Crafted files are assembled here from records made with ``records.pack_record`` /
``records.pack_frame``, so their CRCs are valid and the reader's *other* checks are exercised.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import zstandard

from vidquant.codec import format as fmt
from vidquant.codec.records import FrameRecord, pack_frame, pack_record, unpack_frame_head
from vidquant.decoder import open_vq
from vidquant.errors import FormatError

TESTS = Path(__file__).resolve().parent
GOLDEN_VQ = TESTS / "golden" / "tiny.vq"
GOLDEN_FRAMES = TESTS / "golden" / "tiny_frames.npz"
GOLDEN_V3_VQ = TESTS / "golden" / "tiny_v3.vq"  # the same clip as the 3.0 encoder wrote it
GOLDEN_V2_VQ = TESTS / "golden" / "tiny_v2.vq"  # the same clip as the 2.0 encoder wrote it
GOLDEN_V1_VQ = TESTS / "golden" / "tiny_v1.vq"  # the same clip as the 1.1 encoder wrote it
GOLDEN_V1_FRAMES = TESTS / "golden" / "tiny_v1_frames.npz"


def read_expected(frames: Path = GOLDEN_FRAMES) -> dict[str, np.ndarray]:
    """The frames the golden file must decode to: ``pts``, ``duration``, ``keyframe``,
    ``label_mode`` and ``rgb``, one row per frame."""
    with np.load(frames) as z:
        return {name: z[name] for name in z.files}


def walk(data: bytes) -> list[tuple[int, bytes, int, int]]:
    """(offset, tag, payload length, end) of every record, found with the format's structs."""
    out = []
    offset = fmt.PREAMBLE.size
    while offset < len(data):
        tag, length = fmt.RECORD_HEAD.unpack_from(data, offset)
        end = offset + fmt.RECORD_HEAD.size + length + fmt.RECORD_CRC.size
        out.append((offset, tag, length, end))
        offset = end
    assert offset == len(data), "records do not tile the file"
    return out


def record_bytes(data: bytes, tag: bytes) -> list[bytes]:
    return [data[off:end] for off, t, _, end in walk(data) if t == tag]


def frame_records(data: bytes) -> list[bytes]:
    return [
        data[off:end]
        for off, t, _, end in walk(data)
        if t in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME)
    ]


def assemble(
    head: bytes,
    records: list[bytes],
    *,
    major: int = fmt.VERSION_MAJOR,
    minor: int | None = None,
    index: list[tuple[int, int, int]] | None = None,
) -> bytes:
    """A whole file: preamble, ``head`` (a HEAD record), ``records`` as given, INDX and TAIL.

    The index lists every KFRM among ``records`` unless ``index`` is given. ``major`` 1 makes a
    1.x file (``head`` then has to be a 1.x HEAD, e.g. :data:`V1_HEAD`, and the label payloads
    Zstandard's, e.g. :func:`zlabels`); ``minor`` defaults to the newest of that major.
    """
    if minor is None:
        minor = fmt.NEWEST_MINOR[major]
    out = bytearray(fmt.PREAMBLE.pack(fmt.MAGIC, major, minor))
    out += head
    entries = []
    frames = end_pts = 0
    for rec in records:
        tag, _ = fmt.RECORD_HEAD.unpack_from(rec)
        if tag in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME):
            payload = memoryview(rec)[fmt.RECORD_HEAD.size : -fmt.RECORD_CRC.size]
            pts, duration, *_ = unpack_frame_head(payload, major, "frame", len(out))
            if tag == fmt.TAG_KEYFRAME:
                entries.append((frames, pts, len(out)))
            frames += 1
            end_pts = pts + duration
        out += rec
    if index is not None:
        entries = index
    index_offset = len(out)
    payload = fmt.INDEX_COUNT.pack(len(entries)) + b"".join(
        fmt.INDEX_ENTRY.pack(*e) for e in entries
    )
    out += pack_record(fmt.TAG_INDEX, payload)
    out += pack_record(
        fmt.TAG_TRAILER, fmt.TRAILER.pack(frames, len(entries), index_offset, end_pts)
    )
    return bytes(out)


def golden_head(data: bytes) -> bytes:
    return record_bytes(data, fmt.TAG_HEADER)[0]


def v1_head() -> bytes:
    """The HEAD record of the 1.1 golden file (label coder 1: Zstandard payloads)."""
    return golden_head(GOLDEN_V1_VQ.read_bytes())


def crafted_frame(
    *,
    keyframe: bool,
    pts: int,
    labels: bytes,
    mode: int | None = None,
    duration: int = 1,
    index=(),
    rgb=None,
    k: int = 4,
    major: int = fmt.VERSION_MAJOR,
) -> bytes:
    """A KFRM/PFRM record with a valid CRC, made with pack_frame and pack_record, laid out for
    a file of version ``major``.x."""
    if keyframe:
        index = np.arange(k, dtype=np.uint8)
        rgb = np.arange(3 * k, dtype=np.uint8).reshape(k, 3) * 20 if rgb is None else rgb
    else:
        index = np.asarray(index, dtype=np.uint8)
        rgb = np.full((len(index), 3), 77, np.uint8) if rgb is None else rgb
    if mode is None:
        mode = fmt.LABELS_INTRA if keyframe else fmt.LABELS_DELTA
    record = FrameRecord(keyframe, pts, duration, mode, index, np.asarray(rgb, np.uint8), labels)
    tag = fmt.TAG_KEYFRAME if keyframe else fmt.TAG_INTERFRAME
    return pack_record(tag, pack_frame(record, major))


def zlabels(array: np.ndarray) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=True).compress(
        np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    )


def rewrite_tail(data: bytes, **fields: int) -> bytes:
    """``data`` with TAIL fields replaced (frames, keyframes, index_offset, end_pts), CRC fixed."""
    off = len(data) - fmt.TRAILER_RECORD_SIZE
    names = ("frames", "keyframes", "index_offset", "end_pts")
    values = dict(
        zip(names, fmt.TRAILER.unpack_from(data, off + fmt.RECORD_HEAD.size), strict=True)
    )
    values.update(fields)
    return data[:off] + pack_record(fmt.TAG_TRAILER, fmt.TRAILER.pack(*(values[n] for n in names)))


def insert_before_index(data: bytes, record: bytes) -> tuple[bytes, int]:
    """Insert ``record`` right before the INDX record, fixing the TAIL's index offset."""
    (index_offset,) = [off for off, tag, _, _ in walk(data) if tag == fmt.TAG_INDEX]
    patched = data[:index_offset] + record + data[index_offset:]
    return rewrite_tail(patched, index_offset=index_offset + len(record)), index_offset


def set_length(data: bytes, offset: int, length: int) -> bytes:
    """``data`` with the payload length of the record at ``offset`` replaced (CRC untouched)."""
    return data[: offset + 4] + struct.pack("<I", length) + data[offset + 8 :]


class Outcome:
    """What a full decode (all frames, then the index) did."""

    def __init__(self, frames, error, escaped=None, index=None):
        self.frames, self.error, self.escaped, self.index = frames, error, escaped, index


def decode_path(path: Path, *, index: bool = True, start_s: float | None = None) -> Outcome:
    frames = []
    dec = None
    try:
        dec = open_vq(path)
        for frame in dec.iter_frames(start_s=start_s):
            frames.append(frame)
        idx = dec.read_index() if index else None
    except FormatError as exc:
        return Outcome(frames, exc)
    except Exception as exc:  # noqa: BLE001 - the tests assert that none escapes
        return Outcome(frames, None, escaped=exc)
    finally:
        if dec is not None:
            dec.close()
    return Outcome(frames, None, index=idx)


def decode_bytes(data: bytes, tmp_path: Path, **kw) -> Outcome:
    path = tmp_path / "case.vq"
    path.write_bytes(data)
    return decode_path(path, **kw)


def assert_format_error(exc: BaseException | None, what: str = "") -> FormatError:
    assert isinstance(exc, FormatError), f"{what}: expected FormatError, got {exc!r}"
    assert isinstance(exc.offset, int) and not isinstance(exc.offset, bool), (
        f"{what}: FormatError.offset is {exc.offset!r}, not an int"
    )
    assert "offset" in str(exc), f"{what}: message has no offset: {exc}"
    return exc


def assert_prefix(frames, expected, start: int = 0, what: str = "") -> None:
    """``frames`` equal the expected frames ``start``, ``start + 1``, ... (pixels and timing)."""
    assert start + len(frames) <= len(expected["pts"]), f"{what}: too many frames"
    for j, frame in enumerate(frames):
        i = start + j
        assert frame.index == i, f"{what}: frame {j} has index {frame.index}, expected {i}"
        assert frame.pts == expected["pts"][i], f"{what}: frame {i} pts"
        assert frame.duration == expected["duration"][i], f"{what}: frame {i} duration"
        assert frame.keyframe == bool(expected["keyframe"][i]), f"{what}: frame {i} keyframe flag"
        assert np.array_equal(frame.to_rgb(), expected["rgb"][i]), f"{what}: frame {i} pixels"
