"""Records and label maps to bytes and back: property tests (Hypothesis) of every pack/unpack
pair and of the label coder, and the label coder's errors on payloads no writer makes."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidquant.codec import format as fmt
from vidquant.codec.labels import LabelDecoder, LabelEncoder
from vidquant.codec.records import (
    FrameRecord,
    Header,
    IndexEntry,
    Trailer,
    pack_frame,
    pack_frame_head,
    pack_header,
    pack_index,
    pack_trailer,
    pack_varint,
    unpack_frame,
    unpack_frame_head,
    unpack_header,
    unpack_index,
    unpack_trailer,
    unpack_varint,
)
from vidquant.errors import FormatError
from vqfiles import zlabels

_u32 = st.integers(1, 2**32 - 1)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def headers(draw) -> tuple[Header, int]:
    """A header and the major version of the files it belongs to."""
    major = draw(st.sampled_from(fmt.READ_MAJORS))
    k = draw(st.integers(2, 256))
    alpha = draw(st.one_of(st.none(), st.integers(0, k - 1))) if major == 2 else None
    header = Header(
        width=draw(st.integers(1, fmt.MAX_WIDTH)),
        height=draw(st.integers(1, fmt.MAX_HEIGHT)),
        fps=Fraction(draw(_u32), draw(_u32)),
        time_base=Fraction(draw(_u32), draw(_u32)),
        k=k,
        label_coder=fmt.LABEL_CODER_OF_MAJOR[major],
        meta=draw(st.dictionaries(st.text(max_size=10), _json, max_size=4)),
        alpha_index=alpha,
    )
    return header, major


@settings(max_examples=100, deadline=None)
@given(headers(), st.integers(0, 2**40))
def test_header_round_trip(case, offset):
    header, major = case
    payload = pack_header(header)
    assert len(payload) >= (fmt.HEADER_V1 if major == 1 else fmt.HEADER).size
    assert unpack_header(memoryview(payload), offset, major) == header


def test_header_alpha_index_must_be_below_k():
    payload = bytearray(pack_header(Header(4, 4, Fraction(1), Fraction(1), 8, alpha_index=7)))
    assert unpack_header(memoryview(bytes(payload)), 12).alpha_index == 7
    payload[28:30] = (8).to_bytes(2, "little")  # the alpha index field, after the 1.x fields
    with pytest.raises(FormatError, match="alpha index must be below k=8") as info:
        unpack_header(memoryview(bytes(payload)), 12)
    assert info.value.offset == 12


def test_header_label_coder_belongs_to_its_major():
    v1 = pack_header(Header(4, 4, Fraction(1), Fraction(1), 8, label_coder=fmt.LABEL_CODER_ZSTD))
    with pytest.raises(FormatError, match="label coder must be 2..2, got 1"):
        unpack_header(memoryview(v1 + bytes(2)), 12, 2)
    v2 = pack_header(Header(4, 4, Fraction(1), Fraction(1), 8, label_coder=fmt.LABEL_CODER_BLOCKS))
    with pytest.raises(FormatError, match="label coder must be 1..1, got 2"):
        unpack_header(memoryview(v2), 12, 1)
    with pytest.raises(FormatError, match="label coder must be 3..3, got 2"):
        unpack_header(memoryview(v2), 12, 3)
    v3 = pack_header(Header(4, 4, Fraction(1), Fraction(1), 8))
    assert unpack_header(memoryview(v3), 12).label_coder == fmt.LABEL_CODER_MC
    with pytest.raises(FormatError, match="label coder must be 2..2, got 3"):
        unpack_header(memoryview(v3), 12, 2)


@st.composite
def frame_cases(draw) -> tuple[FrameRecord, int, int]:
    k = draw(st.integers(2, 256))
    major = draw(st.sampled_from(fmt.READ_MAJORS))
    coder = fmt.LABEL_CODER_OF_MAJOR[major]
    lowest_pts = -(2**63) if major in fmt.FIXED_FRAME_MAJORS else 0  # 4.x: unsigned varints
    keyframe = draw(st.booleans())
    if keyframe:
        mode = fmt.LABELS_INTRA
        index = np.arange(k, dtype=np.uint8)
    else:
        mode = draw(st.sampled_from(fmt.LABEL_MODES[coder]))
        mask = draw(st.lists(st.booleans(), min_size=k, max_size=k))
        index = np.flatnonzero(mask).astype(np.uint8)
    rgb = np.frombuffer(draw(st.binary(min_size=3 * len(index), max_size=3 * len(index))), np.uint8)
    record = FrameRecord(
        keyframe=keyframe,
        pts=draw(st.integers(lowest_pts, 2**63 - 1)),
        duration=draw(st.integers(1, 2**63 - 1)),
        label_mode=mode,
        palette_index=index,
        palette_rgb=rgb.reshape(len(index), 3),
        labels=draw(st.binary(max_size=64)),
    )
    return record, k, major


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame_cases(), st.integers(0, 2**40))
def test_frame_round_trip(case, offset):
    record, k, major = case
    header = Header(8, 8, Fraction(1), Fraction(1), k, label_coder=fmt.LABEL_CODER_OF_MAJOR[major])
    tag = fmt.TAG_KEYFRAME if record.keyframe else fmt.TAG_INTERFRAME
    back = unpack_frame(tag, memoryview(pack_frame(record, major)), offset, header, major)
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


@given(st.integers(0, 2**63 - 1))
def test_varint_round_trip(value):
    data = pack_varint(value)
    assert len(data) == max(1, -(-value.bit_length() // 7))  # the shortest form
    assert unpack_varint(memoryview(data + b"\xff"), 0, "v", 0) == (value, len(data))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "runs past"),
        (b"\x80", "runs past"),
        (b"\x81\x00", "needless zero"),
        (b"\x80\x80\x00", "needless zero"),
        (b"\xff" * 9 + b"\x01", "longer than 9"),
        (b"\x80" * 9, "longer than 9"),
    ],
)
def test_varint_checks(data, message):
    with pytest.raises(FormatError, match=message) as info:
        unpack_varint(memoryview(data), 0, "PFRM pts", 77)
    assert info.value.offset == 77 and "PFRM pts" in str(info.value)


def test_varint_refuses_values_of_64_bits():
    with pytest.raises(ValueError):
        pack_varint(2**63)
    with pytest.raises(ValueError):
        pack_varint(-1)


def test_compact_frame_head_layout():
    # FORMAT.md 4.3: mode, then pts, duration and n as varints
    head = pack_frame_head(300, 512, fmt.LABELS_BLOCKS, 1, major=4)
    assert head == bytes([4, 0xAC, 0x02, 0x80, 0x04, 0x01])
    assert unpack_frame_head(memoryview(head), 4, "PFRM", 0) == (300, 512, 4, 1, 6)
    assert len(pack_frame_head(300, 512, 4, 1, major=3)) == fmt.FRAME_FIXED.size == 19
    assert len(pack_frame_head(2**63 - 1, 2**63 - 1, 0, 256, major=4)) == fmt.MAX_FRAME_HEAD


@st.composite
def index_cases(draw) -> tuple[Trailer, list[IndexEntry], int]:
    """A trailer, the index entries it agrees with, and the first frame's offset."""
    n = draw(st.integers(0, 20))
    first_frame_offset = draw(st.integers(fmt.PREAMBLE.size, 2**20))
    frames = sorted(draw(st.sets(st.integers(0, 10_000), min_size=n, max_size=n)))
    pts = sorted(draw(st.sets(st.integers(-(2**62), 2**62), min_size=n, max_size=n)))
    offsets = draw(st.sets(st.integers(first_frame_offset, 2**40), min_size=n, max_size=n))
    offsets = sorted(offsets)
    index_offset = draw(st.integers(offsets[-1] + 1 if n else first_frame_offset, 2**41))
    trailer = Trailer(
        frames=draw(st.integers(frames[-1] + 1 if n else 0, 2**32 - 1)),
        keyframes=n,
        index_offset=index_offset,
        end_pts=draw(st.integers(-(2**63), 2**63 - 1)),
    )
    entries = [IndexEntry(*e) for e in zip(frames, pts, offsets, strict=True)]
    return trailer, entries, first_frame_offset


@settings(max_examples=100, deadline=None)
@given(index_cases(), st.integers(1, 2**20))
def test_index_and_trailer_round_trip(case, gap):
    trailer, entries, first = case
    payload = pack_index(entries)
    assert len(payload) == fmt.INDEX_COUNT.size + len(entries) * fmt.INDEX_ENTRY.size
    assert unpack_index(memoryview(payload), 7, trailer, first_frame_offset=first) == entries
    tail = pack_trailer(trailer)
    assert len(tail) == fmt.TRAILER.size
    tail_offset = trailer.index_offset + gap  # the trailer comes after the index
    assert unpack_trailer(memoryview(tail), tail_offset, first_frame_offset=first) == trailer


@pytest.mark.parametrize(
    ("trailer", "message"),
    [
        (Trailer(6, 2, 99, 7), "outside the file"),  # the index before the first frame
        (Trailer(6, 2, 500, 7), "outside the file"),  # the index at the trailer itself
        (Trailer(6, 7, 445, 7), "7 keyframes but 6 frames"),
    ],
)
def test_trailer_checks(trailer, message):
    with pytest.raises(FormatError, match=message) as info:
        unpack_trailer(memoryview(pack_trailer(trailer)), 500, first_frame_offset=100)
    assert info.value.offset == 500


@pytest.mark.parametrize(
    ("entries", "keyframes", "message"),
    [
        ([IndexEntry(0, 0, 100)], 2, "INDX holds 24 bytes for 1 entries"),
        ([IndexEntry(0, 0, 100), IndexEntry(3, 3, 100)], 2, "INDX entry 1 is inconsistent"),
        ([IndexEntry(0, 0, 100), IndexEntry(3, 0, 200)], 2, "INDX entry 1 is inconsistent"),
        ([IndexEntry(0, 0, 100), IndexEntry(6, 3, 200)], 2, "INDX entry 1 is inconsistent"),
        ([IndexEntry(0, 0, 90)], 1, "INDX entry 0 is inconsistent"),  # before the first frame
        ([IndexEntry(0, 0, 400)], 1, "INDX entry 0 is inconsistent"),  # at the index
    ],
)
def test_index_checks(entries, keyframes, message):
    trailer = Trailer(frames=6, keyframes=keyframes, index_offset=400, end_pts=7)
    payload = memoryview(pack_index(entries))
    with pytest.raises(FormatError, match=message) as info:
        unpack_index(payload, 400, trailer, first_frame_offset=100)
    assert info.value.offset == 400


def test_payload_limits_are_the_specs():
    # FORMAT.md section 9 lists these numbers
    v1_limit = fmt.max_payload(24, 16, 4, fmt.LABEL_CODER_ZSTD)
    assert v1_limit == 21 + 4 * 4 + 24 * 16 + 24 * 16 // 64 + 4096
    frame_limit = fmt.max_payload(24, 16, 4)
    assert fmt.payload_limit(fmt.TAG_INDEX, frame_limit) == 200_000_004
    assert fmt.payload_limit(fmt.TAG_TRAILER, frame_limit) == 24
    assert fmt.payload_limit(fmt.TAG_AUDIO_PACKET, frame_limit) == 16 + (1 << 20)
    assert fmt.payload_limit(fmt.TAG_AUDIO_HEADER, frame_limit) == 18 + 96 + 65536
    for tag in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME, b"note"):
        assert fmt.payload_limit(tag, frame_limit) == frame_limit
    assert frame_limit == 21 + 4 * 4 + 2 * 24 * 16 + 4096


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
