"""Fuzzing the ``.vq`` reader and the label decoder with crafted inputs: files assembled record
by record with correct CRCs but hostile fields, and direct label-decoder calls with hostile
Zstandard payloads. The properties are ``fuzz.targets.check_container`` and
``check_labels``; see tests/fuzz/README.md."""

from __future__ import annotations

import json
import re
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from hypothesis import target as hypothesis_target

from fuzz import inputs, payloads, records, targets
from fuzz.profiles import Tally, fuzz_settings, long_timeout, report
from vidquant.codec import format as fmt
from vidquant.codec.blocklabels import BlockLabelEncoder
from vidquant.codec.records import pack_record

pytestmark = pytest.mark.fuzz


# --------------------------------------------------------------------------------------------
# files assembled record by record: CRCs correct, fields hostile

I64 = st.one_of(
    st.integers(-5, 100),
    st.sampled_from([-(2**63), -1, 2**31, 2**32, 2**62, 2**63 - 2, 2**63 - 1]),
    st.integers(-(2**63), 2**63 - 1),
)
U32_HOSTILE = st.sampled_from([0, 1, 2, 255, 256, 257, 4320, 4321, 7680, 7681, 65535, 2**32 - 1])
# (width, height) pairs, mostly small; a few at the limits so one tiny frame can declare a map
# of tens of megabytes (the memory bound is about exactly that)
SIZES = st.one_of(
    st.tuples(st.integers(1, 24), st.integers(1, 16)),
    st.sampled_from([(1, 1), (fmt.MAX_WIDTH, 1), (1, fmt.MAX_HEIGHT), (2048, 2048)]),
)
BIG = 1 << 20  # above this many pixels, label payloads are made without materialising the map


def hostile(draw, odds: int = 10) -> bool:
    """True one time in ``odds``: most fields stay valid so the rest of the file gets read.
    (The last value, not 0: Hypothesis favours and shrinks towards 0, so a failure shrinks
    towards valid fields.)"""
    return draw(st.integers(0, odds - 1)) == odds - 1


@st.composite
def metas(draw) -> bytes:
    """HEAD metadata: one time in five hostile (not an object, not JSON, huge numbers, deep
    nesting, at and over MAX_META)."""
    kind = draw(st.sampled_from(["empty", "object"]))
    if hostile(draw, 8):
        kind = draw(st.sampled_from(["fixed", "digits", "nested", "long", "binary"]))
    if kind == "empty":
        return b""
    if kind == "object":
        values = st.one_of(
            st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)
        )
        meta = draw(st.dictionaries(st.text(max_size=6), values, max_size=4))
        return json.dumps(meta).encode()  # floats: NaN and Infinity are JSON to Python
    if kind == "fixed":
        return draw(
            st.sampled_from(
                [
                    b"[1]",
                    b"null",
                    b'"text"',
                    b"{",
                    b"{not json",
                    b'{"a":1e999}',
                    b'{"a":-Infinity}',
                    b"\xff\xfe",
                    b'{"a":"\\ud800"}',
                    b"{}" * 2,
                    b"\xef\xbb\xbf{}",
                    b'{"a":1}\x00',
                ]  # fmt: skip
            )
        )
    if kind == "digits":  # numbers with many digits (int() has a 4300-digit limit)
        digits = draw(st.sampled_from([20, 4300, 4301, 5000, 60_000]))
        body = draw(st.sampled_from([b"9" * digits, b"-" + b"1" * digits, b"0." + b"1" * digits]))
        return b'{"n":' + body + b"}"
    if kind == "nested":
        depth = draw(st.sampled_from([10, 1000, 10_000, 60_000]))
        return draw(st.sampled_from([b"[" * depth, b'{"a":' * depth]))
    if kind == "long":
        n = draw(st.sampled_from([1000, fmt.MAX_META - 8, fmt.MAX_META - 7, fmt.MAX_META]))
        return b'{"a":"' + b"x" * n + b'"}'
    return draw(st.binary(max_size=64))


@st.composite
def head_payloads(draw) -> tuple[bytes, int, int, int]:
    """(1.x HEAD payload, width, height, k), sometimes with a field out of range. The crafted
    files are 1.x: their label payloads are Zstandard frames built to probe label coder 1; label
    coder 2's payloads are probed by test_block_decoder and the mutated 2.0 seeds."""
    w, h = draw(SIZES)
    k = draw(st.one_of(st.integers(2, 256), st.sampled_from([2, 3, 4, 255, 256])))
    fields = [w, h, 25, 1, 1, 1000, k, fmt.LABEL_CODER_ZSTD, fmt.PALETTE_CODER_RAW]
    if hostile(draw, 16):
        i = draw(st.integers(0, 8))
        limit = (2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1, 65535, 255, 255)
        fields[i] = draw(U32_HOSTILE) % (limit[i] + 1)
    return fmt.HEADER_V1.pack(*fields) + draw(metas()), w, h, k


@st.composite
def label_contents(draw, k: int, mode: int = fmt.LABELS_INTRA) -> bytes:
    """Label values to tile into a map: valid for ``mode`` three times in four (labels < k;
    COPY symbols <= k; DELTA residuals 0), else any mix with the boundaries k - 1, k, k + 1."""
    if hostile(draw, 4):
        value = st.one_of(
            st.integers(0, k - 1),
            st.sampled_from(sorted({0, k - 1, min(k, 255), min(k + 1, 255), 255})),
            st.integers(0, 255),
        )
    elif mode == fmt.LABELS_COPY:
        value = st.integers(0, min(k, 255))
    elif mode == fmt.LABELS_DELTA:
        value = st.just(0)
    else:
        value = st.integers(0, k - 1)
    return bytes(draw(st.lists(value, min_size=1, max_size=32)))


@st.composite
def label_payloads(draw, size: int, k: int, mode: int = fmt.LABELS_INTRA) -> bytes:
    """A label payload for a ``size``-pixel map: a well-formed Zstandard frame (exact size, or
    RLE) four times in five, else any of ``payloads.PAYLOAD_KINDS``."""
    kind = draw(st.sampled_from(["exact", "exact", "rle"]))
    if hostile(draw, 5):
        kind = draw(st.sampled_from(payloads.PAYLOAD_KINDS))
    if size > BIG and kind not in ("rle", "raw", "empty", "skippable-only"):
        kind = "rle"  # never materialise a map of millions of pixels in the strategy
    content = draw(label_contents(k, mode))
    return payloads.label_payload(kind, size, content, draw(st.integers(0, 2**16)))


@st.composite
def frame_payloads(draw, keyframe: bool, w: int, h: int, k: int) -> tuple[bytes, int, int]:
    """(payload after pts/duration is set by the caller as a FRAME prefix, mode, n)."""
    if keyframe:
        mode = draw(st.integers(0, 255)) if hostile(draw, 20) else fmt.LABELS_INTRA
        n = draw(st.sampled_from([0, k - 1, k + 1, 65535])) if hostile(draw, 20) else k
        palette = bytes(3 * min(n, k + 1))
    else:
        mode = draw(st.integers(0, 255) if hostile(draw, 20) else st.sampled_from(ZSTD_MODES))
        if hostile(draw, 10):  # unsorted, repeated, >= k
            index = draw(st.lists(st.integers(0, 255), max_size=6))
        else:
            index = sorted(draw(st.sets(st.integers(0, k - 1), max_size=min(k, 6))))
        n = len(index)
        if hostile(draw, 20):
            n = draw(st.sampled_from([len(index) + 1, k, k + 1]))
        palette = b"".join(bytes([i, 10, 20, 30]) for i in index)
    if mode == fmt.LABELS_REPEAT and draw(st.integers(0, 3)):
        labels = b""
    else:
        labels = draw(label_payloads(w * h, k, mode))
    return palette + labels, mode, n


@st.composite
def ahdr_payloads(draw) -> bytes:
    codec = draw(st.sampled_from([b"opus", b"aac", b"a_b"]))
    layout = draw(st.sampled_from([b"stereo", b"", b"5.1(side)"]))
    if hostile(draw, 8):
        codec = draw(st.sampled_from([b"", b"x y", "é".encode(), b"a" * 33]))
    if hostile(draw):
        layout = draw(st.sampled_from([b"\xff", b"\x00" * 65]))
    fields = [48000, 1, 48000, 2, len(codec), len(layout)]
    if hostile(draw, 8):
        i = draw(st.integers(0, 5))
        fields[i] = draw(U32_HOSTILE) % (2**32 if i < 3 else 2**16)
    return fmt.AUDIO_HEADER.pack(*fields) + codec + layout + draw(st.binary(max_size=16))


@st.composite
def crafted_files(draw) -> bytes:
    head, w, h, k = draw(head_payloads())
    minor = draw(st.sampled_from([0, 1, 1, 2]))
    out = bytearray(fmt.PREAMBLE.pack(fmt.MAGIC, 1, minor))
    out += pack_record(fmt.TAG_HEADER, head)
    if hostile(draw, 4):
        out += pack_record(fmt.TAG_AUDIO_HEADER, draw(ahdr_payloads()))
    offsets: list[int] = []
    keyframes: list[tuple[int, int, int]] = []
    frames = 0
    pts = end_pts = 0
    for _ in range(0 if hostile(draw, 20) else draw(st.integers(1, 6))):
        kind = "frame"
        if hostile(draw, 6):
            kind = draw(st.sampled_from(["apkt", "apkt", "ancillary", "critical"]))
        offsets.append(len(out))
        if kind == "frame":
            keyframe = frames == 0 or hostile(draw, 4)  # a keyframe now and then
            if frames == 0 and hostile(draw, 20):
                keyframe = False
            if hostile(draw, 5):
                pts = draw(I64)
            duration = draw(I64) if hostile(draw, 20) else draw(st.integers(1, 100))
            body, mode, n = draw(frame_payloads(keyframe, w, h, k))
            tag = fmt.TAG_KEYFRAME if keyframe else fmt.TAG_INTERFRAME
            out += pack_record(tag, fmt.FRAME_FIXED.pack(pts, duration, mode, n) + body)
            if keyframe:
                keyframes.append((frames, pts, offsets[-1]))
            frames += 1
            end_pts = records.to_i64(pts + duration)
            pts = records.to_i64(pts + max(duration, 1))
        elif kind == "apkt":
            header = fmt.AUDIO_PACKET.pack(draw(I64), draw(I64))
            out += pack_record(fmt.TAG_AUDIO_PACKET, header[: draw(st.sampled_from([16, 16, 8]))]
                               + draw(st.binary(max_size=32)))  # fmt: skip
        elif kind == "ancillary":
            out += pack_record(draw(st.sampled_from([b"note", b"ahdr", b"x yz"])), b"\x00" * 5)
        else:
            out += pack_record(draw(st.sampled_from([b"HEAD", b"TAIL", b"XTRA", b"    "])), b"")
    end = draw(st.sampled_from(["index", "index", "random index", "random tail", "none"]))
    if end == "none":
        return bytes(out)
    index_offset = len(out)
    entries = keyframes
    if end == "random index":
        offset = st.one_of(st.sampled_from(offsets or [0]), st.integers(0, 2**64 - 1))
        entries = draw(
            st.lists(st.tuples(st.integers(0, 2**32 - 1), I64, offset), max_size=4)
        )  # fmt: skip
    count = len(entries)
    payload = fmt.INDEX_COUNT.pack(count) + b"".join(fmt.INDEX_ENTRY.pack(*e) for e in entries)
    out += pack_record(fmt.TAG_INDEX, payload)
    trailer = [frames, count, index_offset, end_pts]
    if end in ("random index", "random tail") and draw(st.booleans()):
        i = draw(st.integers(0, 3))
        bad_value = st.one_of(
            st.integers(0, 2**32 - 1),
            st.sampled_from([0, 1, index_offset - 1, index_offset + 1, len(out), 2**63 - 1]),
        )
        trailer[i] = draw(bad_value) % (2**32 if i < 2 else 2**63)
    out += pack_record(fmt.TAG_TRAILER, fmt.TRAILER.pack(*trailer))
    return bytes(out)


@long_timeout
def test_container_crafted_records(capsys):
    tally = Tally()

    @fuzz_settings(
        "crafted", suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
    )
    @given(crafted_files())
    def run(data):
        out = targets.check_container(data)
        tally.add(out.stage)
        hypothesis_target(float(out.frames), label="frames decoded")

    run()
    report(capsys, tally.line("container, crafted records"))


# --------------------------------------------------------------------------------------------
# the label decoder (label coder 1)

ZSTD_MODES = fmt.LABEL_MODES[fmt.LABEL_CODER_ZSTD]

OUT_OF_RANGE_MODES = st.sampled_from([4, 5, 127, 128, 255, 256, -1, 2**31, 2**63])


@st.composite
def label_cases(draw) -> inputs.LabelCase:
    w, h = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    k = draw(st.one_of(st.integers(2, 256), st.sampled_from([2, 255, 256])))
    mode = draw(OUT_OF_RANGE_MODES if hostile(draw, 5) else st.sampled_from(ZSTD_MODES))
    payload = draw(label_payloads(w * h, k, mode))
    previous = None
    if draw(st.integers(0, 3)):
        seed = draw(st.integers(0, 2**32 - 1))
        previous = np.random.default_rng(seed).integers(0, k, (h, w), dtype=np.uint8)
    return inputs.LabelCase(w, h, k, mode, payload, previous)


@long_timeout
def test_label_decoder(capsys):
    tally = Tally()

    @fuzz_settings("labels")
    @given(st.one_of(label_cases(), st.binary(max_size=200).map(inputs.decode_label_input)))
    def run(case):
        out = targets.check_labels(
            case.width, case.height, case.k, case.mode, case.payload, case.previous
        )
        stage = "map" if out.error is None else "FormatError"
        if case.mode not in ZSTD_MODES:
            stage = f"mode out of range, {stage}"  # a map: the decoder took it for INTRA
        tally.add(stage)

    run()
    report(capsys, tally.line("label decoder"))


def test_payload_kinds_are_all_reachable():
    """Every payload kind builds for tiny and awkward sizes (the strategies rely on it)."""
    for kind in payloads.PAYLOAD_KINDS:
        for size in (1, 2, 7, 300):
            for number in (0, 1, 255, 65535):
                payload = payloads.label_payload(kind, size, b"\x00\x05", number)
                assert isinstance(payload, bytes)
    frame = payloads.label_payload("exact", 300, b"\x01", 0)
    assert payloads.declares_map(frame, 300) and not payloads.declares_map(frame, 299)
    assert struct.unpack_from("<I", frame)[0] == 0xFD2FB528


# --------------------------------------------------------------------------------------------
# label coder 3's and 2's decoder


@st.composite
def block_cases(draw) -> tuple[inputs.LabelCase, int]:
    """A valid code of label coder 3 or 2 (INTRA, or BLOCKS after a valid INTRA map), then
    damaged three times in four: bytes flipped, cut, extended, or replaced by random bytes; and
    the coder."""
    coder = draw(st.sampled_from((fmt.LABEL_CODER_MC, fmt.LABEL_CODER_BLOCKS)))
    w, h = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    k = draw(st.one_of(st.integers(2, 256), st.sampled_from([2, 3, 255, 256])))
    seed = draw(st.integers(1, 255))
    previous = inputs.synthetic_map(seed, w, h, k) if draw(st.booleans()) else None
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if previous is None:
        labels = inputs.synthetic_map(seed ^ 0x55, w, h, k)
        payload = BlockLabelEncoder(w, h, k, coder).encode(labels, None).payload
        mode = fmt.LABELS_INTRA
    else:
        labels = np.roll(previous, (draw(st.integers(-3, 3)), draw(st.integers(-3, 3))), (0, 1))
        labels[rng.random((h, w)) < 0.1] = rng.integers(0, k, dtype=np.uint8)
        encoder = BlockLabelEncoder(w, h, k, coder)
        encoder.encode(previous, None)
        coded = encoder.encode(labels, previous)
        payload, mode = coded.payload, coded.mode
    damage = draw(st.sampled_from(["none", "flip", "cut", "extend", "random"]))
    data = bytearray(payload)
    if damage == "flip" and data:
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    elif damage == "cut":
        data = data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    elif damage == "extend":
        data += draw(st.binary(min_size=1, max_size=8))
    elif damage == "random":
        data = bytearray(draw(st.binary(max_size=64)))
    if hostile(draw, 8):
        mode = draw(st.sampled_from([1, 3, 5, 255, -1, fmt.LABELS_REPEAT]))
    return inputs.LabelCase(w, h, k, mode, bytes(data), previous), coder


@long_timeout
def test_block_decoder(capsys):
    tally = Tally()
    from_bytes = st.binary(max_size=200).map(inputs.decode_block_input)

    @fuzz_settings("blocks")
    @given(st.one_of(block_cases(), st.tuples(from_bytes, st.just(fmt.LABEL_CODER_MC))))
    def run(case_coder):
        case, coder = case_coder
        out = targets.check_labels(
            case.width, case.height, case.k, case.mode, case.payload, case.previous,
            coder=coder,
        )  # fmt: skip
        what = re.sub(r"-?\d+", "N", str(out.error).split(" (at byte")[0])
        tally.add("map" if out.error is None else f"FormatError: {what}")

    run()
    report(capsys, tally.line("label coders 3 and 2's decoder"))
