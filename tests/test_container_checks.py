"""Damaged and rule-breaking ``.vq`` files: truncation at every record boundary, every single-byte
flip, the version policy, declared lengths, and frame and header records with a valid CRC that
break a rule. Each asserts the error type, its offset and that every frame before it was
yielded. (The helpers, and how crafted files are made: vqfiles.py.)
"""

from __future__ import annotations

import logging
import struct
import tracemalloc

import numpy as np
import pytest

from vidquant.codec import format as fmt
from vidquant.codec.records import pack_frame_head, pack_record
from vidquant.decoder import open_vq
from vidquant.errors import TruncatedError, VersionError
from vqfiles import (
    GOLDEN_V1_VQ,
    GOLDEN_VQ,
    assemble,
    assert_format_error,
    assert_prefix,
    crafted_frame,
    decode_bytes,
    decode_path,
    frame_records,
    golden_head,
    record_bytes,
    set_length,
    v1_head,
    walk,
    zlabels,
)

# Bytes of the preamble that no check covers on purpose: the minor version (a newer minor version
# is read after a warning). Every other byte of the file is under a CRC or the magic/major check.
MINOR_VERSION_BYTES = {10, 11}


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
    head_size = len(pack_frame_head(1, 1, fmt.LABELS_DELTA, 0))  # crafted_frame's header
    big = crafted_frame(keyframe=False, pts=1, labels=b"\x00" * (limit + 1 - head_size))
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
    ok = crafted_frame(keyframe=False, pts=1, labels=b"\x00" * (limit - head_size))
    out = decode_bytes(assemble(golden_head(golden), [keys[0], ok]), tmp_path)
    assert "allowed" not in str(assert_format_error(out.error, "at max payload"))


# --------------------------------------------------------------------------------------------
# frame records with a valid CRC that break a rule


def _labels(value: int = 0) -> np.ndarray:
    labels = np.zeros((16, 24), np.uint8)
    labels[5, 7] = value
    return labels


def test_label_not_below_k_in_keyframe(golden, expected, tmp_path):
    keys = frame_records(GOLDEN_V1_VQ.read_bytes())
    bad = crafted_frame(major=1, keyframe=True, pts=10, labels=zlabels(_labels(4)))
    data = assemble(v1_head(), [*keys[:3], bad], major=1)
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, "label >= k")
    assert exc.offset == walk(data)[4][0]
    assert "k=4" in str(exc)
    assert len(out.frames) == 3
    assert_prefix(out.frames, expected)


def test_label_not_below_k_after_residual(golden, tmp_path):
    first = crafted_frame(major=1, keyframe=True, pts=0, labels=zlabels(_labels(3)))
    # residual +2 at a pixel holding 3: 5 >= k; the record itself is well-formed
    residual = np.zeros((16, 24), np.uint8)
    residual[5, 7] = 2
    second = crafted_frame(
        major=1, keyframe=False, pts=1, labels=zlabels(residual), mode=fmt.LABELS_DELTA
    )
    data = assemble(v1_head(), [first, second], major=1)
    out = decode_bytes(data, tmp_path)
    exc = assert_format_error(out.error, "residual label >= k")
    assert exc.offset == walk(data)[2][0]
    assert len(out.frames) == 1


def test_crafted_valid_records_decode(golden, tmp_path):
    # the crafting helpers make files the reader accepts, so the failures above are the rule
    first = crafted_frame(major=1, keyframe=True, pts=0, labels=zlabels(_labels(3)))
    residual = np.zeros((16, 24), np.uint8)
    residual[5, 7] = 255  # 3 + 255 = 2 mod 256
    second = crafted_frame(major=1, keyframe=False, pts=2, labels=zlabels(residual), index=[0, 3])
    third = crafted_frame(major=1, keyframe=False, pts=3, labels=b"", mode=fmt.LABELS_REPEAT)
    out = decode_bytes(assemble(v1_head(), [first, second, third], major=1), tmp_path)
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
    recs = frame_records(GOLDEN_V1_VQ.read_bytes())
    key = recs[0]
    lab = zlabels(_labels(1))
    if case == "first is PFRM":
        records = [crafted_frame(major=1, keyframe=False, pts=0, labels=lab, mode=fmt.LABELS_INTRA)]
    elif case == "pts repeats":
        records = [key, crafted_frame(major=1, keyframe=True, pts=0, labels=lab)]
    elif case == "pts goes back":
        records = [
            crafted_frame(major=1, keyframe=True, pts=5, labels=lab),
            crafted_frame(major=1, keyframe=True, pts=4, labels=lab),
        ]
    elif case == "zero duration":
        records = [key, crafted_frame(major=1, keyframe=True, pts=9, labels=lab, duration=0)]
    elif case == "KFRM in DELTA mode":
        records = [
            key,
            crafted_frame(major=1, keyframe=True, pts=9, labels=lab, mode=fmt.LABELS_DELTA),
        ]
    elif case == "KFRM short palette":
        payload = pack_frame_head(9, 1, fmt.LABELS_INTRA, 3, major=1) + bytes(9) + lab
        records = [key, pack_record(fmt.TAG_KEYFRAME, payload)]
    elif case == "unknown label mode":
        records = [
            key,
            crafted_frame(
                major=1,
                keyframe=False,
                pts=9,
                labels=lab,
                mode=max(fmt.LABEL_MODES[fmt.LABEL_CODER_ZSTD]) + 1,
            ),
        ]
    elif case == "REPEAT with bytes":
        records = [
            key,
            crafted_frame(major=1, keyframe=False, pts=9, labels=b"\x00", mode=fmt.LABELS_REPEAT),
        ]
    elif case == "too many deltas":
        payload = pack_frame_head(9, 1, fmt.LABELS_REPEAT, 5, major=1) + bytes(range(5)) * 4
        records = [key, pack_record(fmt.TAG_INTERFRAME, payload)]
    else:  # palette table runs past the payload
        payload = pack_frame_head(9, 1, fmt.LABELS_REPEAT, 3, major=1) + bytes(5)
        records = [key, pack_record(fmt.TAG_INTERFRAME, payload)]
    data = assemble(v1_head(), records, major=1)
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

    head = v1_head()
    honest = assemble(
        head, [crafted_frame(major=1, keyframe=True, pts=0, labels=fake_frame(16 * 24))], major=1
    )
    out = decode_bytes(honest, tmp_path)
    assert out.error is None and len(out.frames) == 1  # the hand-made frame is valid zstd

    moderate = assemble(
        head, [crafted_frame(major=1, keyframe=True, pts=0, labels=fake_frame(64_000_000))], major=1
    )
    tracemalloc.start()
    try:
        out = decode_bytes(moderate, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.escaped is None, repr(out.escaped)
    assert_format_error(out.error, "declared 64 MB label map")
    assert peak < 4_000_000, f"a 384-pixel label map made the decoder allocate {peak} bytes"

    huge = assemble(
        head, [crafted_frame(major=1, keyframe=True, pts=0, labels=fake_frame(2**62))], major=1
    )
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
