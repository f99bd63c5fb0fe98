"""The ``.vq`` container's structure against a committed golden file and crafted records: the
golden file's layout and frames, which record tags are skipped and which refused, the index and
the trailer, and seeking. (Damaged and rule-breaking files: test_container_checks.py; the
records' pack/unpack: test_records.py; the helpers: vqfiles.py.)
"""

from __future__ import annotations

import zlib
from fractions import Fraction

import numpy as np
import pytest

import make_golden
from vidquant.codec import format as fmt
from vidquant.codec.records import pack_record
from vidquant.decoder import open_vq
from vidquant.errors import FormatError
from vqfiles import (
    GOLDEN_V1_FRAMES,
    GOLDEN_V1_VQ,
    GOLDEN_V2_VQ,
    GOLDEN_V3_VQ,
    GOLDEN_VQ,
    assemble,
    assert_format_error,
    assert_prefix,
    decode_bytes,
    decode_path,
    frame_records,
    golden_head,
    insert_before_index,
    read_expected,
    rewrite_tail,
    walk,
)

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


def test_v1_golden_still_decodes():
    """A 1.1 file (label coder 1, Zstandard) decodes to what the 1.1 encoder reconstructed."""
    expected = read_expected(GOLDEN_V1_FRAMES)
    with open_vq(GOLDEN_V1_VQ) as dec:
        assert dec.version == (1, 1)
        assert dec.header.label_coder == fmt.LABEL_CODER_ZSTD
        assert dec.header.alpha_index is None
        frames = list(dec.iter_frames())
        modes = [rec.label_mode for rec in dec.iter_records()]
    assert_prefix(frames, expected, what="1.1 golden")
    assert modes == [0, 3, 2, 0, 3, 2]  # INTRA, COPY, REPEAT: the 1.x modes
    # the same pictures as the 3.0 golden: the label coder is lossless either way
    assert np.array_equal(expected["rgb"], read_expected()["rgb"])


def test_v3_golden_still_decodes(expected):
    """A 3.0 file (label coder 3 with the fixed 19-byte frame header) decodes to the same
    frames, and only its frame headers differ from the 4.0 golden's."""
    with open_vq(GOLDEN_V3_VQ) as dec:
        assert dec.version == (3, 0)
        assert dec.header.label_coder == fmt.LABEL_CODER_MC
        frames = list(dec.iter_frames())
        records = list(dec.iter_records())
    assert_prefix(frames, expected, what="3.0 golden")
    assert [r.label_mode for r in records] == expected["label_mode"].tolist()
    with open_vq(GOLDEN_VQ) as dec:
        new = list(dec.iter_records())
    assert [r.labels for r in records] == [r.labels for r in new]
    saved = GOLDEN_V3_VQ.stat().st_size - GOLDEN_VQ.stat().st_size
    assert saved == 6 * (fmt.FRAME_FIXED.size - 4)  # every frame header here is 4 bytes in 4.0


def test_v2_golden_still_decodes(expected):
    """A 2.0 file (label coder 2: CODED blocks without vectors) decodes to the same frames."""
    with open_vq(GOLDEN_V2_VQ) as dec:
        assert dec.version == (2, 0)
        assert dec.header.label_coder == fmt.LABEL_CODER_BLOCKS
        frames = list(dec.iter_frames())
        modes = [rec.label_mode for rec in dec.iter_records()]
    assert_prefix(frames, expected, what="2.0 golden")
    assert modes == expected["label_mode"].tolist()


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
        [(0, 0, 101), (3, 3, 101)],  # offsets not increasing
        [(0, 0, 5), (3, 3, 204)],  # before the first frame
        [(0, 0, 101), (6, 3, 204)],  # frame number past the end
        [(3, 3, 101), (0, 0, 204)],  # frames going back
        [(0, 3, 101), (3, 3, 204)],  # pts not increasing
        [(0, 0, 101), (3, 3, 305)],  # at the INDX itself
    ],
)
def test_inconsistent_index_entries(golden, expected, tmp_path, entries):
    keys = _offsets(golden, fmt.TAG_KEYFRAME)
    assert keys == [101, 204] and _offsets(golden, fmt.TAG_INDEX) == [305]  # literals above
    data = assemble(golden_head(golden), frame_records(golden), index=entries)
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, f"index {entries}")
    assert exc.offset == 305 and "INDX" in str(exc)
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
