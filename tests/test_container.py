"""The ``.vq`` container against a committed golden file, damaged copies of it and crafted records.

The golden file ``tests/golden/tiny.vq`` (and the frames it must decode to) is written by
``tests/make_golden.py``; see that script for what the clip holds and when to regenerate it.
Crafted files are assembled here from records made with ``container.pack_record`` /
``container.pack_frame``, so their CRCs are valid and the reader's *other* checks are exercised.
"""

from __future__ import annotations

import logging
import struct
import sys
import tracemalloc
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import make_golden  # noqa: E402
from vidquant.codec import format as fmt  # noqa: E402
from vidquant.codec.container import (  # noqa: E402
    FrameRecord,
    Header,
    pack_frame,
    pack_header,
    pack_record,
    unpack_frame,
    unpack_header,
)
from vidquant.codec.labels import LabelDecoder, LabelEncoder  # noqa: E402
from vidquant.decoder import open_vq  # noqa: E402
from vidquant.errors import FormatError, TruncatedError, VersionError  # noqa: E402

GOLDEN_VQ = TESTS / "golden" / "tiny.vq"
GOLDEN_FRAMES = TESTS / "golden" / "tiny_frames.npz"

# Bytes of the preamble that no check covers on purpose: the minor version (a newer minor version
# is read after a warning). Every other byte of the file is under a CRC or the magic/major check.
MINOR_VERSION_BYTES = {10, 11}


# --------------------------------------------------------------------------------------------
# helpers


@pytest.fixture(scope="module")
def golden() -> bytes:
    return GOLDEN_VQ.read_bytes()


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    with np.load(GOLDEN_FRAMES) as z:
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
    minor: int = fmt.VERSION_MINOR,
    index: list[tuple[int, int, int]] | None = None,
) -> bytes:
    """A whole file: preamble, ``head`` (a HEAD record), ``records`` as given, INDX and TAIL.

    The index lists every KFRM among ``records`` unless ``index`` is given.
    """
    out = bytearray(fmt.PREAMBLE.pack(fmt.MAGIC, fmt.VERSION_MAJOR, minor))
    out += head
    entries = []
    frames = end_pts = 0
    for rec in records:
        tag, _ = fmt.RECORD_HEAD.unpack_from(rec)
        if tag in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME):
            pts, duration, _, _ = fmt.FRAME.unpack_from(rec, fmt.RECORD_HEAD.size)
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
) -> bytes:
    """A KFRM/PFRM record with a valid CRC, made with pack_frame and pack_record."""
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
    return pack_record(tag, pack_frame(record))


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


# --------------------------------------------------------------------------------------------
# golden file


def test_golden_decodes_to_stored_frames(expected):
    with open_vq(GOLDEN_VQ) as dec:
        assert dec.version == (fmt.VERSION_MAJOR, fmt.VERSION_MINOR)
        h = dec.header
        assert (h.width, h.height, h.k) == (make_golden.WIDTH, make_golden.HEIGHT, 4)
        assert h.fps == Fraction(12) and h.time_base == Fraction(1, 12)
        assert h.meta == make_golden.make_header().meta
        frames = list(dec.iter_frames())
        modes = [rec.label_mode for rec in dec.iter_records()]
    assert len(frames) == len(expected["pts"]) == 6
    assert_prefix(frames, expected, what="golden")
    assert modes == expected["label_mode"].tolist()
    for frame in frames:
        assert frame.labels.shape == (16, 24) and frame.labels.dtype == np.uint8
        assert int(frame.labels.max()) < 4


def test_golden_index_and_trailer(golden):
    keyframe_offsets = [off for off, tag, _, _ in walk(golden) if tag == fmt.TAG_KEYFRAME]
    (index_offset,) = [off for off, tag, _, _ in walk(golden) if tag == fmt.TAG_INDEX]
    with open_vq(GOLDEN_VQ) as dec:
        trailer, entries = dec.read_index()
    assert (trailer.frames, trailer.keyframes, trailer.index_offset, trailer.end_pts) == (
        6,
        2,
        index_offset,
        7,
    )
    assert [(e.frame, e.pts, e.offset) for e in entries] == [
        (0, 0, keyframe_offsets[0]),
        (3, 3, keyframe_offsets[1]),
    ]


def test_golden_layout(golden):
    magic, major, minor = fmt.PREAMBLE.unpack_from(golden)
    assert (magic, major, minor) == (fmt.MAGIC, fmt.VERSION_MAJOR, fmt.VERSION_MINOR)
    tags = [tag for _, tag, _, _ in walk(golden)]
    assert tags == [b"HEAD", b"KFRM", b"PFRM", b"PFRM", b"KFRM", b"PFRM", b"PFRM", b"INDX", b"TAIL"]
    for off, _, length, end in walk(golden):
        body = golden[off : off + fmt.RECORD_HEAD.size + length]
        (crc,) = fmt.RECORD_CRC.unpack_from(golden, end - fmt.RECORD_CRC.size)
        assert crc == zlib.crc32(body[fmt.RECORD_HEAD.size :], zlib.crc32(body[:4]))
    # the test's assembler reproduces the file from its records (it is trusted below)
    assert assemble(golden_head(golden), frame_records(golden)) == golden


def test_encoding_is_deterministic(tmp_path):
    first, second = tmp_path / "a.vq", tmp_path / "b.vq"
    for path in (first, second):
        with open(path, "wb") as f:
            make_golden.encode_clip(f)
    assert first.read_bytes() == second.read_bytes()


def test_reencode_is_byte_identical(golden, expected, tmp_path):
    path = tmp_path / "again.vq"
    with open(path, "wb") as f:
        results = make_golden.encode_clip(f)
    assert path.read_bytes() == golden, (
        "encoding the golden clip no longer gives the committed bytes: a format change needs a "
        "version bump and `python tests/make_golden.py`; an intended change of the encoder's "
        "choices (palette model, quantiser, label coder) also needs a regenerated golden file; "
        "otherwise this is a regression"
    )
    recon = np.stack([r.reconstruction.to_rgb() for r in results])
    assert np.array_equal(recon, expected["rgb"])


# --------------------------------------------------------------------------------------------
# truncation


def _cut_points(data: bytes) -> list[tuple[int, str]]:
    cuts = [
        (0, "empty file"),
        (1, "inside preamble"),
        (8, "after magic"),
        (11, "inside minor version"),
    ]
    cuts.append((fmt.PREAMBLE.size, "boundary after preamble"))
    for off, tag, length, end in walk(data):
        name = tag.decode()
        payload_end = off + fmt.RECORD_HEAD.size + length
        cuts += [
            (off + 2, f"{name}: inside tag"),
            (off + 6, f"{name}: inside length"),
            (off + fmt.RECORD_HEAD.size, f"{name}: after record head"),
            (off + fmt.RECORD_HEAD.size + length // 2, f"{name}: middle of payload"),
            (payload_end, f"{name}: before CRC"),
            (end - 1, f"{name}: inside CRC"),
        ]
        if end < len(data):
            cuts.append((end, f"boundary after {name}"))
    return cuts


def test_truncation_everywhere(golden, expected, tmp_path):
    records = walk(golden)
    cuts = _cut_points(golden)
    assert sum("boundary" in what for _, what in cuts) == len(records)  # every record boundary
    for cut, what in cuts:
        label = f"cut at {cut} ({what})"
        out = decode_bytes(golden[:cut], tmp_path)
        assert out.escaped is None, f"{label}: {out.escaped!r} escaped"
        exc = assert_format_error(out.error, label)
        assert isinstance(exc, TruncatedError), f"{label}: expected TruncatedError, got {exc!r}"
        assert 0 <= exc.offset <= cut, f"{label}: error offset {exc.offset} beyond the cut"
        whole = sum(
            1
            for _, tag, _, end in records
            if tag in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME) and end <= cut
        )
        assert len(out.frames) == whole, f"{label}: {len(out.frames)} frames, expected {whole}"
        assert_prefix(out.frames, expected, what=label)


def test_truncated_file_still_seeks_by_decoding(golden, expected, tmp_path):
    # cut inside the last frame: no index, so seeking decodes from the start and skips forward
    off, _, _, _ = [r for r in walk(golden) if r[1] == fmt.TAG_INTERFRAME][-1]
    out = decode_bytes(golden[: off + 5], tmp_path, index=False, start_s=0.3)
    assert isinstance(out.error, TruncatedError)
    assert_prefix(out.frames, expected, start=3, what="seek in a cut file")
    assert len(out.frames) == 2


# --------------------------------------------------------------------------------------------
# single-byte corruption


@pytest.mark.parametrize("mask", [0xFF, 0x01])
def test_every_byte_flip_is_detected(golden, expected, tmp_path, mask):
    escaped, bad_errors, silent_changes, undetected = [], [], [], []
    path = tmp_path / "flip.vq"
    for i in range(len(golden)):
        damaged = bytearray(golden)
        damaged[i] ^= mask
        path.write_bytes(damaged)
        out = decode_path(path)
        if out.escaped is not None:
            escaped.append((i, repr(out.escaped)))
            continue
        frames_ok = len(out.frames) <= 6 and all(
            np.array_equal(f.to_rgb(), expected["rgb"][f.index])
            and f.pts == expected["pts"][f.index]
            and f.index == j
            for j, f in enumerate(out.frames)
        )
        if out.error is not None:
            try:
                assert_format_error(out.error, f"flip at {i}")
            except AssertionError as why:
                bad_errors.append((i, str(why)))
            if not frames_ok:
                silent_changes.append((i, "frames before the error differ"))
            continue
        if not frames_ok or len(out.frames) != 6:
            silent_changes.append((i, "decoded without error to different frames"))
        elif i not in MINOR_VERSION_BYTES:
            undetected.append(i)
    assert not escaped, f"non-FormatError exceptions escaped: {escaped[:10]}"
    assert not bad_errors, f"FormatErrors without an int offset: {bad_errors[:10]}"
    assert not silent_changes, f"undetected damage changed the output: {silent_changes[:10]}"
    assert not undetected, f"flips no check noticed (outside the minor version): {undetected}"


# --------------------------------------------------------------------------------------------
# preamble and version policy


@pytest.mark.parametrize(
    "magic",
    [b"\x89VQUANT\r", b"\x09VQUANT\n", b"VQUANT\n\x00", b"\x89PNG\r\n\x1a\n", b"\x00" * 8],
)
def test_wrong_magic(golden, tmp_path, magic):
    out = decode_bytes(magic + golden[8:], tmp_path)
    exc = assert_format_error(out.error, "magic")
    assert not isinstance(exc, VersionError | TruncatedError)
    assert exc.offset == 0
    assert out.frames == []


@pytest.mark.parametrize("major", [fmt.VERSION_MAJOR + 1, 0, 0xFFFF])
def test_other_major_version_is_refused(golden, tmp_path, major):
    data = golden[:8] + struct.pack("<H", major) + golden[10:]
    path = tmp_path / "v.vq"
    path.write_bytes(data)
    with pytest.raises(VersionError) as info:
        open_vq(path)
    assert_format_error(info.value, "major version")
    assert info.value.offset == 8
    assert f"{major}." in str(info.value)


def test_newer_minor_version_warns_and_decodes(golden, expected, tmp_path, caplog):
    data = golden[:10] + struct.pack("<H", fmt.VERSION_MINOR + 1) + golden[12:]
    path = tmp_path / "minor.vq"
    path.write_bytes(data)
    with caplog.at_level(logging.WARNING, logger="vidquant"), open_vq(path) as dec:
        assert dec.version == (fmt.VERSION_MAJOR, fmt.VERSION_MINOR + 1)
        frames = list(dec.iter_frames())
        dec.read_index()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("newer" in r.getMessage() for r in warnings), caplog.text
    assert len(frames) == 6
    assert_prefix(frames, expected, what="newer minor")


def test_current_minor_version_does_not_warn(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="vidquant"), open_vq(GOLDEN_VQ) as dec:
        list(dec.iter_frames())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --------------------------------------------------------------------------------------------
# lengths


@pytest.mark.parametrize("tag", [b"HEAD", b"KFRM", b"PFRM", b"INDX"])
def test_length_pointing_past_the_end(golden, expected, tmp_path, tag):
    off, _, length, _ = [r for r in walk(golden) if r[1] == tag][0]
    remaining = len(golden) - off - fmt.RECORD_HEAD.size
    data = set_length(golden, off, remaining - fmt.RECORD_CRC.size + 1)  # one byte too long
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, f"{tag} length past the end")
    assert isinstance(exc, TruncatedError)
    assert exc.offset == off
    frames_before = sum(1 for o, t, _, _ in walk(golden) if o < off and t in (b"KFRM", b"PFRM"))
    assert len(out.frames) == frames_before
    assert_prefix(out.frames, expected)


@pytest.mark.parametrize("tag", [b"HEAD", b"KFRM", b"PFRM", b"INDX", b"TAIL"])
@pytest.mark.parametrize("length", [0xFFFFFFFF, 0x7FFFFFFF, 150_000_000])
def test_huge_declared_length_fails_fast(golden, tmp_path, tag, length):
    off = [r for r in walk(golden) if r[1] == tag][0][0]
    data = set_length(golden, off, length)
    tracemalloc.start()
    try:
        out = decode_bytes(data, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    exc = assert_format_error(out.error, f"{tag} declares {length}")
    assert peak < 4_000_000, f"{tag} declaring {length} bytes made the reader allocate {peak} bytes"
    if tag == b"TAIL":
        # the reader finds the trailer from the file's end: a wrong TAIL length is corruption
        assert exc.offset == len(golden) - fmt.TRAILER_RECORD_SIZE
    else:
        assert exc.offset == off


def test_payload_over_max_is_refused_before_reading(golden, expected, tmp_path):
    # a PFRM of max_payload + 1 bytes with a valid CRC, and the bytes really there: only the
    # max-payload check can refuse it
    limit = fmt.max_payload(24, 16, 4)
    big = crafted_frame(keyframe=False, pts=1, labels=b"\x00" * (limit + 1 - fmt.FRAME.size))
    assert fmt.RECORD_HEAD.unpack_from(big)[1] == limit + 1
    keys = frame_records(golden)
    data = assemble(golden_head(golden), [keys[0], big])
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, "over max payload")
    assert not isinstance(exc, TruncatedError)
    assert "allowed" in str(exc) and str(limit) in str(exc)
    assert exc.offset == walk(data)[2][0]
    assert len(out.frames) == 1
    assert_prefix(out.frames, expected)
    # one byte less is accepted by the framing (and then refused by the label coder, not by size)
    ok = crafted_frame(keyframe=False, pts=1, labels=b"\x00" * (limit - fmt.FRAME.size))
    out = decode_bytes(assemble(golden_head(golden), [keys[0], ok]), tmp_path)
    assert "allowed" not in str(assert_format_error(out.error, "at max payload"))


# --------------------------------------------------------------------------------------------
# record tags


def test_ancillary_record_is_skipped(golden, expected, tmp_path):
    note = pack_record(b"note", b'{"comment": "ancillary records may be skipped"}')
    data, inserted_at = insert_before_index(golden, note)
    out = decode_bytes(data, tmp_path)
    assert out.error is None and out.escaped is None, out.error or out.escaped
    assert len(out.frames) == 6
    assert_prefix(out.frames, expected, what="with ancillary record")
    trailer, entries = out.index
    assert trailer.index_offset == inserted_at + len(note)
    with open_vq(GOLDEN_VQ) as dec:
        assert entries == dec.read_index()[1]


def test_ancillary_records_between_frames_are_skipped(golden, expected, tmp_path):
    recs = frame_records(golden)
    extra = [pack_record(b"abcd", b""), pack_record(b"x yz", b"\x00" * 100)]
    data = assemble(golden_head(golden), [extra[0], *recs[:3], extra[1], *recs[3:], extra[0]])
    out = decode_bytes(data, tmp_path)
    assert out.error is None and out.escaped is None, out.error or out.escaped
    assert_prefix(out.frames, expected)
    assert len(out.frames) == 6
    seek = decode_bytes(data, tmp_path, start_s=0.45)
    assert seek.error is None
    assert_prefix(seek.frames, expected, start=4)


@pytest.mark.parametrize("tag", [b"XTRA", b"NOTE", b"Note", b"ZZZZ", b"    "])
def test_unknown_critical_record_is_refused(golden, expected, tmp_path, tag):
    data, inserted_at = insert_before_index(golden, pack_record(tag, b"payload"))
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, f"unknown critical {tag}")
    assert exc.offset == inserted_at
    assert "critical" in str(exc)
    assert len(out.frames) == 6  # every frame before the unknown record was yielded
    assert_prefix(out.frames, expected)


@pytest.mark.parametrize("tag", [b"kfr\x00", b"\x00\x00\x00\x00", b"KFR1", b"\xffabc"])
def test_malformed_tag_is_refused(golden, tmp_path, tag):
    data, inserted_at = insert_before_index(golden, pack_record(tag, b""))
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, f"bad tag {tag!r}")
    assert exc.offset == inserted_at
    assert len(out.frames) == 6


# --------------------------------------------------------------------------------------------
# frame records with a valid CRC that break a rule


def _labels(value: int = 0) -> np.ndarray:
    labels = np.zeros((16, 24), np.uint8)
    labels[5, 7] = value
    return labels


def test_label_not_below_k_in_keyframe(golden, expected, tmp_path):
    keys = frame_records(golden)
    bad = crafted_frame(keyframe=True, pts=10, labels=zlabels(_labels(4)))
    data = assemble(golden_head(golden), [*keys[:3], bad])
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, "label >= k")
    assert exc.offset == walk(data)[4][0]
    assert "k=4" in str(exc)
    assert len(out.frames) == 3
    assert_prefix(out.frames, expected)


def test_label_not_below_k_after_residual(golden, tmp_path):
    first = crafted_frame(keyframe=True, pts=0, labels=zlabels(_labels(3)))
    # residual +2 at a pixel holding 3: 5 >= k; the record itself is well-formed
    residual = np.zeros((16, 24), np.uint8)
    residual[5, 7] = 2
    second = crafted_frame(keyframe=False, pts=1, labels=zlabels(residual), mode=fmt.LABELS_DELTA)
    data = assemble(golden_head(golden), [first, second])
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, "residual label >= k")
    assert exc.offset == walk(data)[2][0]
    assert len(out.frames) == 1


def test_crafted_valid_records_decode(golden, tmp_path):
    # the crafting helpers make files the reader accepts, so the failures above are the rule
    first = crafted_frame(keyframe=True, pts=0, labels=zlabels(_labels(3)))
    residual = np.zeros((16, 24), np.uint8)
    residual[5, 7] = 255  # 3 + 255 = 2 mod 256
    second = crafted_frame(keyframe=False, pts=2, labels=zlabels(residual), index=[0, 3])
    third = crafted_frame(keyframe=False, pts=3, labels=b"", mode=fmt.LABELS_REPEAT)
    out = decode_bytes(assemble(golden_head(golden), [first, second, third]), tmp_path)
    assert out.error is None and out.escaped is None, out.error or out.escaped
    assert [int(f.labels[5, 7]) for f in out.frames] == [3, 2, 2]
    assert out.frames[1].palette[[0, 3]].tolist() == [[77, 77, 77]] * 2


@pytest.mark.parametrize(
    "index, message",
    [
        ([2, 1], "increasing"),
        ([1, 1], "increasing"),
        ([0, 3, 2], "increasing"),
        ([1, 4], "below k"),
    ],
)
def test_bad_palette_delta_indices(golden, expected, tmp_path, index, message):
    recs = frame_records(golden)
    bad = crafted_frame(keyframe=False, pts=1, labels=b"", mode=fmt.LABELS_REPEAT, index=index)
    data = assemble(golden_head(golden), [recs[0], bad])
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, f"palette delta {index}")
    assert message in str(exc)
    assert exc.offset == walk(data)[2][0]
    assert len(out.frames) == 1
    assert_prefix(out.frames, expected)


@pytest.mark.parametrize(
    "case",
    [
        "first is PFRM",
        "pts repeats",
        "pts goes back",
        "zero duration",
        "KFRM in DELTA mode",
        "KFRM short palette",
        "unknown label mode",
        "REPEAT with bytes",
        "too many deltas",
        "short payload",
    ],
)
def test_other_frame_rules(golden, tmp_path, case):
    recs = frame_records(golden)
    key = recs[0]
    lab = zlabels(_labels(1))
    if case == "first is PFRM":
        records = [crafted_frame(keyframe=False, pts=0, labels=lab, mode=fmt.LABELS_INTRA)]
    elif case == "pts repeats":
        records = [key, crafted_frame(keyframe=True, pts=0, labels=lab)]
    elif case == "pts goes back":
        records = [
            crafted_frame(keyframe=True, pts=5, labels=lab),
            crafted_frame(keyframe=True, pts=4, labels=lab),
        ]
    elif case == "zero duration":
        records = [key, crafted_frame(keyframe=True, pts=9, labels=lab, duration=0)]
    elif case == "KFRM in DELTA mode":
        records = [key, crafted_frame(keyframe=True, pts=9, labels=lab, mode=fmt.LABELS_DELTA)]
    elif case == "KFRM short palette":
        payload = fmt.FRAME.pack(9, 1, fmt.LABELS_INTRA, 3) + bytes(9) + lab
        records = [key, pack_record(fmt.TAG_KEYFRAME, payload)]
    elif case == "unknown label mode":
        records = [
            key,
            crafted_frame(keyframe=False, pts=9, labels=lab, mode=max(fmt.LABEL_MODES) + 1),
        ]
    elif case == "REPEAT with bytes":
        records = [
            key,
            crafted_frame(keyframe=False, pts=9, labels=b"\x00", mode=fmt.LABELS_REPEAT),
        ]
    elif case == "too many deltas":
        payload = fmt.FRAME.pack(9, 1, fmt.LABELS_REPEAT, 5) + bytes(range(5)) * 4
        records = [key, pack_record(fmt.TAG_INTERFRAME, payload)]
    else:  # palette table runs past the payload
        payload = fmt.FRAME.pack(9, 1, fmt.LABELS_REPEAT, 3) + bytes(5)
        records = [key, pack_record(fmt.TAG_INTERFRAME, payload)]
    data = assemble(golden_head(golden), records)
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, case)
    assert exc.offset == walk(data)[len(records)][0]  # the last record is the bad one
    assert len(out.frames) == len(records) - 1


def test_label_payload_declaring_a_huge_size(golden, tmp_path):
    """A zstd frame whose header declares a huge content size must not be trusted.

    LabelDecoder promises "never allocating more than one map's bytes", but zstandard's one-shot
    ``decompress`` allocates the size the frame header declares (``max_output_size`` only applies
    to frames without a declared size).
    """

    def fake_frame(content_size: int) -> bytes:
        body = bytes(16 * 24)  # one raw block with a whole (all-zero) label map
        return (
            b"\x28\xb5\x2f\xfd"  # zstd magic
            + bytes([0xC0, 0x00])  # descriptor: 8-byte content size, window descriptor 1 KiB
            + struct.pack("<Q", content_size)
            + struct.pack("<I", (len(body) << 3) | 1)[:3]  # last block, raw, len(body) bytes
            + body
        )

    head = golden_head(golden)
    honest = assemble(head, [crafted_frame(keyframe=True, pts=0, labels=fake_frame(16 * 24))])
    out = decode_bytes(honest, tmp_path)
    assert out.error is None and len(out.frames) == 1  # the hand-made frame is valid zstd

    moderate = assemble(head, [crafted_frame(keyframe=True, pts=0, labels=fake_frame(64_000_000))])
    tracemalloc.start()
    try:
        out = decode_bytes(moderate, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.escaped is None, repr(out.escaped)
    assert_format_error(out.error, "declared 64 MB label map")
    assert peak < 4_000_000, f"a 384-pixel label map made the decoder allocate {peak} bytes"

    huge = assemble(head, [crafted_frame(keyframe=True, pts=0, labels=fake_frame(2**62))])
    out = decode_bytes(huge, tmp_path)
    assert out.escaped is None, f"{out.escaped!r} escaped instead of FormatError"
    assert_format_error(out.error, "declared 2**62 byte label map")


def test_header_metadata_nested_too_deep(golden, tmp_path):
    """Metadata that is valid-size but absurdly nested JSON is a FormatError, not RecursionError."""
    fixed = record_bytes(golden, fmt.TAG_HEADER)[0][
        fmt.RECORD_HEAD.size : fmt.RECORD_HEAD.size + fmt.HEADER.size
    ]
    head = pack_record(fmt.TAG_HEADER, fixed + b"[" * 50_000)
    out = decode_bytes(assemble(head, frame_records(golden)), tmp_path)
    assert out.escaped is None, f"{out.escaped!r} escaped instead of FormatError"
    assert_format_error(out.error, "deeply nested metadata")


@pytest.mark.parametrize(
    "meta, message",
    [(b"\xff\xfe", "UTF-8 JSON"), (b"{not json", "UTF-8 JSON"), (b"[1, 2]", "JSON object")],
)
def test_header_metadata_errors(golden, tmp_path, meta, message):
    fixed = record_bytes(golden, fmt.TAG_HEADER)[0][
        fmt.RECORD_HEAD.size : fmt.RECORD_HEAD.size + fmt.HEADER.size
    ]
    out = decode_bytes(
        assemble(pack_record(fmt.TAG_HEADER, fixed + meta), frame_records(golden)), tmp_path
    )
    exc = assert_format_error(out.error, "metadata")
    assert message in str(exc)
    assert exc.offset == fmt.PREAMBLE.size + fmt.RECORD_HEAD.size


@pytest.mark.parametrize(
    "field, value",
    [
        (0, 0),
        (0, fmt.MAX_WIDTH + 1),
        (1, 0),
        (1, fmt.MAX_HEIGHT + 1),
        (3, 0),
        (5, 0),
        (6, 1),
        (6, 257),
        (7, 0),
        (8, 1),
    ],
)
def test_header_field_out_of_range(golden, tmp_path, field, value):
    fixed = list(fmt.HEADER.unpack_from(golden, fmt.PREAMBLE.size + fmt.RECORD_HEAD.size))
    fixed[field] = value
    head = pack_record(fmt.TAG_HEADER, fmt.HEADER.pack(*fixed))
    out = decode_bytes(assemble(head, []), tmp_path)
    exc = assert_format_error(out.error, f"header field {field}={value}")
    assert exc.offset == fmt.PREAMBLE.size + fmt.RECORD_HEAD.size


def test_first_record_not_head(golden, tmp_path):
    recs = frame_records(golden)
    out = decode_bytes(assemble(recs[0], recs[1:]), tmp_path)
    exc = assert_format_error(out.error, "no HEAD")
    assert exc.offset == fmt.PREAMBLE.size


# --------------------------------------------------------------------------------------------
# index and trailer


def _offsets(data: bytes, tag: bytes) -> list[int]:
    return [off for off, t, _, _ in walk(data) if t == tag]


@pytest.mark.parametrize("target", ["KFRM", "PFRM", "HEAD-payload"])
def test_index_offset_pointing_at_a_frame(golden, expected, tmp_path, target):
    if target == "HEAD-payload":
        bad_offset = _offsets(golden, fmt.TAG_KEYFRAME)[0] + 3  # inside a record, in range
    else:
        bad_offset = _offsets(golden, target.encode())[0]
    data = rewrite_tail(golden, index_offset=bad_offset)
    # sequential decoding yields every frame (it may then refuse the TAIL that does not point
    # back at the INDX it found, but only after the last frame)
    out = decode_bytes(data, tmp_path, index=False)
    assert out.escaped is None, repr(out.escaped)
    if out.error is not None:
        assert_format_error(out.error, f"sequential decode, index offset -> {target}")
    assert_prefix(out.frames, expected)
    assert len(out.frames) == 6
    # reading the index fails
    with open_vq(tmp_path / "case.vq") as dec, pytest.raises(FormatError) as info:
        dec.read_index()
    exc = assert_format_error(info.value, f"index offset -> {target}")
    if target != "HEAD-payload":
        assert exc.offset == bad_offset and "INDX" in str(exc)
    # seeking falls back to decoding from the start
    seek = decode_bytes(data, tmp_path, index=False, start_s=0.45)
    assert seek.escaped is None, repr(seek.escaped)
    if seek.error is not None:
        assert_format_error(seek.error, f"seek, index offset -> {target}")
    assert_prefix(seek.frames, expected, start=4)
    assert len(seek.frames) == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"index_offset": 0},
        {"index_offset": 2**40},
        {"keyframes": 3},  # INDX holds 2 entries
        {"keyframes": 7, "frames": 6},  # more keyframes than frames
    ],
)
def test_inconsistent_trailer(golden, tmp_path, fields):
    out = decode_bytes(rewrite_tail(golden, **fields), tmp_path)
    assert out.escaped is None, repr(out.escaped)
    assert_format_error(out.error, f"trailer {fields}")


@pytest.mark.parametrize(
    "entries",
    [
        [(0, 0, 99), (3, 3, 99)],  # offsets not increasing
        [(0, 0, 5), (3, 3, 273)],  # before the first frame
        [(0, 0, 99), (6, 3, 273)],  # frame number past the end
        [(3, 3, 99), (0, 0, 273)],  # frames going back
        [(0, 3, 99), (3, 3, 273)],  # pts not increasing
        [(0, 0, 99), (3, 3, 445)],  # at the INDX itself
    ],
)
def test_inconsistent_index_entries(golden, expected, tmp_path, entries):
    keys = _offsets(golden, fmt.TAG_KEYFRAME)
    assert keys == [99, 273] and _offsets(golden, fmt.TAG_INDEX) == [445]  # literals above
    data = assemble(golden_head(golden), frame_records(golden), index=entries)
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, f"index {entries}")
    assert exc.offset == 445 and "INDX" in str(exc)
    assert len(out.frames) == 6
    seek = decode_bytes(data, tmp_path, index=False, start_s=0.3)
    assert seek.error is None
    assert_prefix(seek.frames, expected, start=3)


def test_empty_index_with_frames_seeks_without_crashing(golden, expected, tmp_path):
    """An INDX with no entries (TAIL agrees: 0 keyframes) is CRC-valid; seeking must not crash.

    ``VqDecoder._keyframe_before`` takes ``entries[0]`` of the index without checking that it has
    one, so an IndexError escapes instead of a FormatError or a fallback to decoding from the start.
    """
    data = assemble(golden_head(golden), frame_records(golden), index=[])
    out = decode_bytes(data, tmp_path, index=False, start_s=0.3)
    assert out.escaped is None, f"{out.escaped!r} escaped"
    if out.error is None:
        assert_prefix(out.frames, expected, start=3)
        assert len(out.frames) == 3
    else:
        assert_format_error(out.error, "empty index")


def test_empty_stream_seek(tmp_path):
    """A stream with no frame at all (what ContainerWriter writes when closed at once)."""
    from vidquant.codec.container import ContainerWriter

    path = tmp_path / "empty.vq"
    with open(path, "wb") as f:
        ContainerWriter(f, make_golden.make_header()).close()
    out = decode_path(path)
    assert out.error is None and out.frames == []
    trailer, entries = out.index
    assert (trailer.frames, trailer.keyframes, entries) == (0, 0, [])
    out = decode_path(path, start_s=0.5)
    assert out.escaped is None, f"{out.escaped!r} escaped seeking in an empty stream"
    assert out.frames == []


# --------------------------------------------------------------------------------------------
# seeking


def _shown_at(expected, t: float) -> int:
    """Number of the frame shown at ``t`` seconds (len when past the end)."""
    for i, (pts, dur) in enumerate(zip(expected["pts"], expected["duration"], strict=True)):
        if Fraction(t) < Fraction(int(pts + dur), 12):
            return i
    return len(expected["pts"])


@pytest.mark.parametrize(
    "t", [0.0, 0.04, 0.1, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 1.0, 100.0, -1.0]
)
def test_seek_equals_sequential(expected, t):
    start = _shown_at(expected, t)
    with open_vq(GOLDEN_VQ) as dec:
        frames = list(dec.iter_frames(start_s=t))
    assert len(frames) == 6 - start
    assert_prefix(frames, expected, start=start, what=f"seek to {t}")


def test_seek_starts_at_the_indexed_keyframe(golden, expected, tmp_path):
    # damage frame 1's payload: a seek past the second keyframe never reads it
    off, _, length, _ = [r for r in walk(golden) if r[1] == fmt.TAG_INTERFRAME][0]
    data = bytearray(golden)
    data[off + fmt.RECORD_HEAD.size + length // 2] ^= 0x55
    out = decode_bytes(bytes(data), tmp_path, index=False, start_s=0.3)
    assert out.error is None and out.escaped is None, out.error or out.escaped
    assert_prefix(out.frames, expected, start=3)
    out = decode_bytes(bytes(data), tmp_path, index=False, start_s=0.1)
    assert_format_error(out.error, "seek through damage")
    assert out.frames == []


# --------------------------------------------------------------------------------------------
# property tests

_u32 = st.integers(1, 2**32 - 1)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def headers(draw) -> Header:
    return Header(
        width=draw(st.integers(1, fmt.MAX_WIDTH)),
        height=draw(st.integers(1, fmt.MAX_HEIGHT)),
        fps=Fraction(draw(_u32), draw(_u32)),
        time_base=Fraction(draw(_u32), draw(_u32)),
        k=draw(st.integers(2, 256)),
        meta=draw(st.dictionaries(st.text(max_size=10), _json, max_size=4)),
    )


@settings(max_examples=100, deadline=None)
@given(headers(), st.integers(0, 2**40))
def test_header_round_trip(header, offset):
    payload = pack_header(header)
    assert len(payload) >= fmt.HEADER.size
    assert unpack_header(memoryview(payload), offset) == header


@st.composite
def frame_cases(draw) -> tuple[FrameRecord, int]:
    k = draw(st.integers(2, 256))
    keyframe = draw(st.booleans())
    if keyframe:
        mode = fmt.LABELS_INTRA
        index = np.arange(k, dtype=np.uint8)
    else:
        mode = draw(st.sampled_from(fmt.LABEL_MODES))
        mask = draw(st.lists(st.booleans(), min_size=k, max_size=k))
        index = np.flatnonzero(mask).astype(np.uint8)
    rgb = np.frombuffer(draw(st.binary(min_size=3 * len(index), max_size=3 * len(index))), np.uint8)
    record = FrameRecord(
        keyframe=keyframe,
        pts=draw(st.integers(-(2**63), 2**63 - 1)),
        duration=draw(st.integers(1, 2**63 - 1)),
        label_mode=mode,
        palette_index=index,
        palette_rgb=rgb.reshape(len(index), 3),
        labels=draw(st.binary(max_size=64)),
    )
    return record, k


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame_cases(), st.integers(0, 2**40))
def test_frame_round_trip(case, offset):
    record, k = case
    header = Header(8, 8, Fraction(1), Fraction(1), k)
    tag = fmt.TAG_KEYFRAME if record.keyframe else fmt.TAG_INTERFRAME
    back = unpack_frame(tag, memoryview(pack_frame(record)), offset, header)
    assert back.keyframe == record.keyframe
    assert (back.pts, back.duration, back.label_mode) == (
        record.pts,
        record.duration,
        record.label_mode,
    )
    assert back.palette_index.dtype == np.uint8 and back.palette_rgb.dtype == np.uint8
    assert np.array_equal(back.palette_index, record.palette_index)
    assert np.array_equal(back.palette_rgb, record.palette_rgb)
    assert back.labels == record.labels
    assert back.offset == offset


@st.composite
def label_cases(draw):
    k = draw(st.integers(2, 256))
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    labels = rng.integers(0, k, size=(h, w), dtype=np.uint8)
    kind = draw(st.sampled_from(["keyframe", "identical", "few changes", "unrelated", "flat"]))
    if kind == "keyframe":
        previous = None
    elif kind == "identical":
        previous = labels.copy()
    elif kind == "few changes":
        previous = labels.copy()
        n = draw(st.integers(1, h * w))
        where = rng.choice(h * w, size=n, replace=False)
        previous.reshape(-1)[where] = rng.integers(0, k, size=n, dtype=np.uint8)
    elif kind == "unrelated":
        previous = rng.integers(0, k, size=(h, w), dtype=np.uint8)
    else:
        labels[:] = draw(st.integers(0, k - 1))
        previous = np.full((h, w), draw(st.integers(0, k - 1)), np.uint8)
    return labels, previous, k, draw(st.integers(1, 22))


@settings(max_examples=100, deadline=None)
@given(label_cases())
def test_label_coder_round_trip(case):
    labels, previous, k, level = case
    coded = LabelEncoder(level=level).encode(labels, previous)
    mode, payload = coded.mode, coded.payload
    if previous is None:
        assert mode == fmt.LABELS_INTRA
    elif np.array_equal(labels, previous):
        assert mode == fmt.LABELS_REPEAT and payload == b""
    else:
        assert mode in (fmt.LABELS_DELTA, fmt.LABELS_COPY, fmt.LABELS_INTRA) and payload
        if mode == fmt.LABELS_DELTA:
            assert labels.max() == 255  # COPY is used whenever a spare symbol exists
    h, w = labels.shape
    decoded = LabelDecoder(w, h, k).decode(mode, payload, previous, offset=123)
    assert decoded.dtype == np.uint8 and decoded.shape == (h, w)
    assert np.array_equal(decoded, labels)


def test_copy_symbol_above_k_is_a_format_error():
    previous = np.zeros((4, 6), np.uint8)
    symbols = np.zeros((4, 6), np.uint8)
    symbols[2, 3] = 5  # label 4 with k=4
    with pytest.raises(FormatError, match="COPY symbol 5 is above k=4") as info:
        LabelDecoder(6, 4, 4).decode(fmt.LABELS_COPY, zlabels(symbols), previous, offset=77)
    assert info.value.offset == 77


def test_copy_without_previous_is_a_format_error():
    with pytest.raises(FormatError, match="without a previous frame"):
        LabelDecoder(6, 4, 4).decode(fmt.LABELS_COPY, zlabels(np.zeros((4, 6), np.uint8)), None)


@pytest.mark.parametrize("mode", [4, 255, -1])
def test_unknown_label_mode_is_a_format_error(mode):
    with pytest.raises(FormatError, match="unknown label mode"):
        LabelDecoder(4, 2, 4).decode(mode, b"", np.zeros((2, 4), np.uint8), offset=7)
