"""Fuzzing the ``.vq`` reader and the label decoder: Hypothesis here, atheris in a subprocess.

The properties live in ``tests/fuzz/targets.py`` and are shared with the atheris harnesses:

* container: for any bytes, opening a VqDecoder, iterating ``iter_media()``, ``read_index()``,
  seeking with ``iter_frames(start_s=...)`` and ``iter_media(salvage=True)`` raise FormatError
  or nothing (salvage: nothing), every frame is a (height, width) uint8 map with labels < k and
  a (k, 3) palette; the traced peak allocation stays under ``container_memory_bound``, no label
  map outlives its iteration, and no phase reads more than ``READ_FACTOR`` times the file;
* labels: ``LabelDecoder(w, h, k).decode(mode, payload, previous)`` raises FormatError or
  returns such a map, within ``labels_memory_bound``.

Inputs: mutations of valid files the library writes (byte edits, record edits, CRCs and trailer
optionally mended so the mutation reaches the parser behind them), files assembled record by
record with correct CRCs but hostile fields, random bytes, and label payloads from hostile
Zstandard frames.

Budgets: ``VIDQUANT_FUZZ`` unset = the CI profile ``fuzz-ci`` (derandomized, fixed example
counts, about a minute for the whole file with the atheris runs); ``VIDQUANT_FUZZ=long`` = the
``fuzz-long`` profile (random, many more examples, failures saved to the Hypothesis database).
``VIDQUANT_FUZZ_SECONDS`` sets each atheris run's length (CI default 20 s, both harnesses in
parallel); ``VIDQUANT_FUZZ_SCALE`` multiplies the Hypothesis example counts (default 1, long
100). The profiles are applied per test, never loaded globally, so other test files keep theirs.
See tests/fuzz/README.md.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import re
import struct
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis import target as hypothesis_target

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from fuzz import targets  # noqa: E402
from vidquant.codec import format as fmt  # noqa: E402
from vidquant.codec.container import Header, pack_header, pack_record  # noqa: E402
from vidquant.decoder import VqDecoder  # noqa: E402
from vidquant.errors import FormatError  # noqa: E402

FUZZ_DIR = TESTS / "fuzz"
LONG = os.environ.get("VIDQUANT_FUZZ", "").lower() == "long"
ATHERIS_SECONDS = int(os.environ.get("VIDQUANT_FUZZ_SECONDS", "600" if LONG else "20"))

# CI: derandomize=True makes every run try the same examples, so a red CI is reproducible and
# caused by a code change, never by luck; database=None keeps CI from replaying (or writing)
# local failures. Finding new inputs is the long profile's job: random, with the example
# database on so a failure it finds is replayed first next time.
settings.register_profile(
    "fuzz-ci", deadline=None, derandomize=True, database=None, print_blob=True
)
settings.register_profile("fuzz-long", deadline=None, derandomize=False, print_blob=True)
PROFILE = settings.get_profile("fuzz-long" if LONG else "fuzz-ci")

# Examples per test in CI (about 30 s for all of them together when nothing fails); the long
# profile multiplies them by 100 (VIDQUANT_FUZZ_SCALE).
CI_EXAMPLES = {
    "mutated": 2500,
    "crafted": 1200,
    "random": 500,
    "labels": 2000,
    "repeated": 12,
}


SCALE = float(os.environ.get("VIDQUANT_FUZZ_SCALE", "100" if LONG else "1"))


def fuzz_settings(name: str, **kw) -> settings:
    return settings(PROFILE, max_examples=max(1, round(CI_EXAMPLES[name] * SCALE)), **kw)


# pytest-timeout (300 s per test in pyproject.toml) must not cut a long run short
long_timeout = pytest.mark.timeout(0) if LONG else pytest.mark.timeout(300)


def report(capsys, text: str) -> None:
    """Show ``text`` in the pytest output even without ``-s`` (the CI log keeps the counts)."""
    with capsys.disabled():
        print(f"\n[fuzz] {text}", end="")


class Tally:
    """Examples run and how deep they got, for the report line."""

    def __init__(self) -> None:
        self.count = 0
        self.stages: dict[str, int] = {}
        self.start = time.perf_counter()

    def add(self, stage: str) -> None:
        self.count += 1
        self.stages[stage] = self.stages.get(stage, 0) + 1

    def line(self, name: str) -> str:
        seconds = time.perf_counter() - self.start
        stages = ", ".join(f"{k}: {v}" for k, v in sorted(self.stages.items()))
        return f"{name}: {self.count} examples in {seconds:.1f} s ({stages})"


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    return targets.seed_files()


# --------------------------------------------------------------------------------------------
# the seeds are valid: mutation starts from files that decode to the end


def test_seeds_are_valid_and_cover_the_format(seeds):
    modes = set()
    tags = set()
    for name, data in seeds.items():
        out = targets.check_container(data)
        assert out.error is None and out.index_ok, f"seed {name}: {out.error!r}"
        with VqDecoder(io.BytesIO(data)) as dec:
            modes |= {r.label_mode for r in dec.iter_records()}
        tags |= {r.tag for r in targets.walk(data)}
        assert targets.rebuild_end(data) == data, f"seed {name}: rebuild_end is not neutral"
        assert targets.fix_crcs(data) == data
    assert modes == set(fmt.LABEL_MODES)
    assert {b"HEAD", b"KFRM", b"PFRM", b"INDX", b"TAIL", b"ahdr", b"apkt"} <= tags
    assert "golden" in seeds, "tests/golden/tiny.vq (the real encoder's output) is missing"
    for data in targets.label_seed_inputs():
        targets.check_label_input(data)


# --------------------------------------------------------------------------------------------
# mutations of valid files

positions = st.integers(-(1 << 16), 1 << 16)  # taken modulo the length: < 0 counts from the end
small_bytes = st.binary(min_size=1, max_size=16)
interesting_ints = st.sampled_from(targets.INTERESTING)

mutation_ops = st.one_of(
    st.tuples(st.just("truncate"), positions),
    st.tuples(st.just("flip"), positions, st.integers(0, 7)),
    st.tuples(st.just("overwrite"), positions, small_bytes),
    st.tuples(st.just("insert"), positions, st.binary(min_size=1, max_size=32)),
    st.tuples(st.just("delete"), positions, st.integers(1, 64)),
    st.tuples(
        st.just("set_length"),
        st.integers(0, 15),
        st.one_of(interesting_ints, st.integers(0, 2**32 - 1)),
    ),
    st.tuples(st.just("splice"), st.integers(0, 7), st.integers(0, 15), st.integers(0, 15)),
    st.tuples(st.just("duplicate"), st.integers(0, 15), st.integers(0, 15)),
    st.tuples(st.just("swap"), st.integers(0, 15), st.integers(0, 15)),
    st.tuples(st.just("drop"), st.integers(0, 15)),
    st.tuples(
        st.just("frame_field"),
        st.integers(0, 7),
        st.integers(0, 3),
        st.one_of(interesting_ints, st.integers(-4, 300)),
    ),
    st.tuples(
        st.just("labels"),
        st.integers(0, 7),
        st.lists(
            st.tuples(
                positions,
                st.one_of(st.sampled_from([0, 1, 2, 3, 4, 254, 255]), st.integers(0, 255)),
            ),  # fmt: skip
            max_size=4,
        ),
        st.sampled_from([0, 0, 0, 1, -1, 7]),
        st.booleans(),
    ),
)


@st.composite
def mutated_files(draw, seeds: list[bytes]) -> bytes:
    data = draw(st.sampled_from(seeds))
    for op in draw(st.lists(mutation_ops, min_size=1, max_size=4)):
        data = targets.apply_op(data, op, seeds)
    return targets.mend(data, draw(st.sampled_from(targets.FIXES)))


@long_timeout
def test_container_mutated_seeds(seeds, capsys):
    tally = Tally()
    pool = list(seeds.values())

    @fuzz_settings("mutated")
    @given(mutated_files(pool))
    def run(data):
        out = targets.check_container(data)
        tally.add(out.stage)
        hypothesis_target(float(out.frames), label="frames decoded")

    run()
    report(capsys, tally.line("container, mutated seeds"))


# --------------------------------------------------------------------------------------------
# random bytes, alone and behind a valid preamble and HEAD


def _prefix(data: bytes) -> bytes:
    """Preamble, HEAD and ahdr of a valid file: where the frame section starts."""
    with VqDecoder(io.BytesIO(data)) as dec:
        return data[: dec._reader.first_frame_offset]


@st.composite
def random_files(draw, seeds: list[bytes]) -> bytes:
    how = draw(st.sampled_from(["bytes", "magic", "head", "records"]))
    tail = draw(st.binary(max_size=512))
    if how == "bytes":
        return tail
    if how == "magic":
        return fmt.MAGIC + tail
    head = _prefix(draw(st.sampled_from(seeds)))
    if how == "head":
        return head + tail
    # records with random tags and payloads and correct CRCs after a valid HEAD
    tag = st.one_of(
        st.sampled_from([b"KFRM", b"PFRM", b"INDX", b"TAIL", b"HEAD", b"apkt", b"ahdr", b"note"]),
        st.binary(min_size=4, max_size=4),
    )
    records = draw(st.lists(st.tuples(tag, st.binary(max_size=64)), max_size=6))
    return head + b"".join(pack_record(t, p) for t, p in records) + tail[:8]


@long_timeout
def test_container_random_bytes(seeds, capsys):
    tally = Tally()
    pool = list(seeds.values())

    @fuzz_settings("random")
    @given(random_files(pool))
    def run(data):
        tally.add(targets.check_container(data).stage)

    run()
    report(capsys, tally.line("container, random bytes"))


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


def _json(obj) -> bytes:
    return json.dumps(obj).encode()


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
    """(HEAD payload, width, height, k), sometimes with a field out of range."""
    w, h = draw(SIZES)
    k = draw(st.one_of(st.integers(2, 256), st.sampled_from([2, 3, 4, 255, 256])))
    fields = [w, h, 25, 1, 1, 1000, k, fmt.LABEL_CODER_ZSTD, fmt.PALETTE_CODER_RAW]
    if hostile(draw, 16):
        i = draw(st.integers(0, 8))
        limit = (2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1, 65535, 255, 255)
        fields[i] = draw(U32_HOSTILE) % (limit[i] + 1)
    return fmt.HEADER.pack(*fields) + draw(metas()), w, h, k


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
    RLE) four times in five, else any of ``targets.PAYLOAD_KINDS``."""
    kind = draw(st.sampled_from(["exact", "exact", "rle"]))
    if hostile(draw, 5):
        kind = draw(st.sampled_from(targets.PAYLOAD_KINDS))
    if size > BIG and kind not in ("rle", "raw", "empty", "skippable-only"):
        kind = "rle"  # never materialise a map of millions of pixels in the strategy
    content = draw(label_contents(k, mode))
    return targets.label_payload(kind, size, content, draw(st.integers(0, 2**16)))


@st.composite
def frame_payloads(draw, keyframe: bool, w: int, h: int, k: int) -> tuple[bytes, int, int]:
    """(payload after pts/duration is set by the caller as a FRAME prefix, mode, n)."""
    if keyframe:
        mode = draw(st.integers(0, 255)) if hostile(draw, 20) else fmt.LABELS_INTRA
        n = draw(st.sampled_from([0, k - 1, k + 1, 65535])) if hostile(draw, 20) else k
        palette = bytes(3 * min(n, k + 1))
    else:
        mode = draw(st.integers(0, 255) if hostile(draw, 20) else st.sampled_from(fmt.LABEL_MODES))
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
    out = bytearray(fmt.PREAMBLE.pack(fmt.MAGIC, fmt.VERSION_MAJOR, minor))
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
            out += pack_record(tag, fmt.FRAME.pack(pts, duration, mode, n) + body)
            if keyframe:
                keyframes.append((frames, pts, offsets[-1]))
            frames += 1
            end_pts = targets._i64(pts + duration)
            pts = targets._i64(pts + max(duration, 1))
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
# many copies of a small unit: is the work linear in the file?


@dataclass(frozen=True)
class RepeatedUnits:
    """HEAD, then one small unit of records repeated ``count`` times (tens to hundreds of KB):
    intact frames and audio, damaged records, false tags claiming long lengths, garbage.
    Damage whose cost grows with the rest of the file shows up here as a read-budget or memory
    violation, where small inputs cannot show it. A description, so that a failing example
    prints in a line, not as megabytes of bytes."""

    w: int
    h: int
    k: int
    unit: tuple[str, ...]
    claim: int
    false_tag: bytes
    count: int
    mend_end: bool

    def build(self) -> bytes:
        w, h, k = self.w, self.h, self.k
        limit = fmt.max_payload(w, h, k)
        bad = k if k < 256 else 0
        out = bytearray(_stream(w, h, k, []))
        pts = 0
        for _ in range(self.count):
            for name in self.unit:
                if name == "false tag":
                    out += self.false_tag + struct.pack("<I", min(self.claim, limit)) + bytes(4)
                elif name == "key":
                    out += _rle_keyframe(pts, w, h, k, 0)
                elif name == "bad labels":
                    out += _rle_keyframe(pts, w, h, k, bad)
                elif name == "bad crc":
                    out += _rle_keyframe(pts, w, h, k, 0)[:-1] + b"\x00"
                elif name == "repeat":
                    payload = fmt.FRAME.pack(pts, 1, fmt.LABELS_REPEAT, 0)
                    out += pack_record(fmt.TAG_INTERFRAME, payload)
                elif name == "apkt":
                    out += pack_record(fmt.TAG_AUDIO_PACKET, fmt.AUDIO_PACKET.pack(0, 0))
                elif name == "note":
                    out += pack_record(b"note", b"n")
                else:  # garbage
                    out += b"\xff" * 8
                pts += 1
        return targets.rebuild_end(bytes(out)) if self.mend_end else bytes(out)


UNIT_PIECES = ("key", "bad labels", "bad crc", "repeat", "apkt", "note", "garbage", "false tag")


@st.composite
def repeated_units(draw) -> RepeatedUnits:
    w, h = draw(st.sampled_from([(1024, 1024), (256, 256), (24, 16)]))
    return RepeatedUnits(
        w,
        h,
        k=draw(st.sampled_from([4, 255, 256])),
        unit=tuple(draw(st.lists(st.sampled_from(UNIT_PIECES), min_size=1, max_size=4))),
        claim=draw(st.sampled_from([1 << 10, 1 << 16, 1 << 30])),
        false_tag=draw(st.sampled_from([b"KFRM", b"PFRM", b"apkt", b"INDX"])),
        count=draw(st.integers(200, 2000)),
        mend_end=draw(st.booleans()),
    )


@long_timeout
def test_container_repeated_units(capsys):
    tally = Tally()

    # CI does not shrink here: each example is a large file, and the description is short
    phases = None if LONG else [Phase.explicit, Phase.reuse, Phase.generate]
    extra = {} if phases is None else {"phases": phases}

    @fuzz_settings("repeated", suppress_health_check=[HealthCheck.too_slow], **extra)
    @given(repeated_units())
    def run(spec):
        data = spec.build()
        out = targets.check_container(data, memory=False)
        tally.add(out.stage)
        worst[0] = max(worst[0], out.max_read[0] / len(data))

    worst = [0.0]
    run()
    report(capsys, tally.line("container, repeated units") + f", most read {worst[0]:.1f}x a file")


# --------------------------------------------------------------------------------------------
# the label decoder

OUT_OF_RANGE_MODES = st.sampled_from([4, 5, 127, 128, 255, 256, -1, 2**31, 2**63])


@st.composite
def label_cases(draw) -> targets.LabelCase:
    w, h = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    k = draw(st.one_of(st.integers(2, 256), st.sampled_from([2, 255, 256])))
    mode = draw(OUT_OF_RANGE_MODES if hostile(draw, 5) else st.sampled_from(fmt.LABEL_MODES))
    payload = draw(label_payloads(w * h, k, mode))
    previous = None
    if draw(st.integers(0, 3)):
        seed = draw(st.integers(0, 2**32 - 1))
        previous = np.random.default_rng(seed).integers(0, k, (h, w), dtype=np.uint8)
    return targets.LabelCase(w, h, k, mode, payload, previous)


@long_timeout
def test_label_decoder(capsys):
    tally = Tally()

    @fuzz_settings("labels")
    @given(st.one_of(label_cases(), st.binary(max_size=200).map(targets.decode_label_input)))
    def run(case):
        out = targets.check_labels(
            case.width, case.height, case.k, case.mode, case.payload, case.previous
        )
        stage = "map" if out.error is None else "FormatError"
        if case.mode not in fmt.LABEL_MODES:
            stage = f"mode out of range, {stage}"  # a map: the decoder took it for INTRA
        tally.add(stage)

    run()
    report(capsys, tally.line("label decoder"))


# --------------------------------------------------------------------------------------------
# the memory bound itself


def _big_file(mode: int) -> bytes:
    """A 7680x4320 stream of two frames whose label payloads are ~1 KB RLE frames."""
    w, h, k = fmt.MAX_WIDTH, fmt.MAX_HEIGHT, 4
    out = fmt.PREAMBLE.pack(fmt.MAGIC, fmt.VERSION_MAJOR, fmt.VERSION_MINOR)
    out += pack_record(fmt.TAG_HEADER, pack_header(Header(w, h, Fraction(1), Fraction(1), k)))
    zeros = targets.zstd_raw_frame(w * h, b"\x00", rle_count=w * h)
    out += pack_record(fmt.TAG_KEYFRAME, fmt.FRAME.pack(0, 1, 0, k) + bytes(3 * k) + zeros)
    second = targets.zstd_raw_frame(w * h, b"\x02", rle_count=w * h)
    out += pack_record(fmt.TAG_INTERFRAME, fmt.FRAME.pack(1, 1, mode, 0) + second)
    return targets.rebuild_end(out)


@pytest.mark.parametrize("mode", [fmt.LABELS_INTRA, fmt.LABELS_DELTA, fmt.LABELS_COPY])
def test_memory_bound_is_honest_for_a_huge_map(mode, capsys):
    """A ~2 KB file may make the reader build 33 MB maps (FORMAT.md allows 7680x4320), and
    the bound allows it only because the file declares such a map; the same file with that
    zstd header gone must cost no more than its own size allows."""
    data = _big_file(mode)
    out = targets.check_container(data)
    assert out.frames == 2 and out.error is None
    maps = out.peak / (fmt.MAX_WIDTH * fmt.MAX_HEIGHT)
    report(capsys, f"{len(data)}-byte file, mode {mode}: peak {out.peak} bytes = {maps:.2f} maps")
    assert maps <= targets.LABEL_MAPS
    # no zstd frame declares W*H: no label map may be built, the small bound applies
    broken = data.replace(targets.ZSTD_MAGIC, b"\x28\xb5\x2f\xfe")
    assert targets.container_memory_bound(broken, out.header) < 8 << 20
    targets.check_container(broken)


# --------------------------------------------------------------------------------------------
# regressions found by the fuzzers (minimal reproducers)


def test_regression_head_meta_integer_with_too_many_digits():
    """HEAD metadata holding an integer of more than 4300 digits (a valid JSON object of 4.3 KB,
    well under MAX_META) makes ``json.loads`` raise a plain ValueError ("Exceeds the limit (4300
    digits) for integer string conversion", Python >= 3.11 / 3.10.7), which
    ``container.unpack_header`` does not catch: it escapes ``VqDecoder()``/``open_vq`` instead of
    a FormatError."""
    fixed = fmt.HEADER.pack(2, 2, 1, 1, 1, 1, 2, fmt.LABEL_CODER_ZSTD, fmt.PALETTE_CODER_RAW)
    data = fmt.PREAMBLE.pack(fmt.MAGIC, fmt.VERSION_MAJOR, fmt.VERSION_MINOR) + pack_record(
        fmt.TAG_HEADER, fixed + b'{"n":' + b"1" * 4301 + b"}"
    )
    # a fix may refuse the file (FormatError) or accept the number; nothing else may escape
    with contextlib.suppress(FormatError):
        VqDecoder(io.BytesIO(data))


def _stream(w: int, h: int, k: int, records: list[bytes]) -> bytes:
    out = fmt.PREAMBLE.pack(fmt.MAGIC, fmt.VERSION_MAJOR, fmt.VERSION_MINOR)
    out += pack_record(fmt.TAG_HEADER, pack_header(Header(w, h, Fraction(1), Fraction(1), k)))
    return out + b"".join(records)


def _rle_keyframe(pts: int, w: int, h: int, k: int, value: int) -> bytes:
    labels = targets.zstd_raw_frame(w * h, bytes([value]), rle_count=w * h)
    return pack_record(fmt.TAG_KEYFRAME, fmt.FRAME.pack(pts, 1, 0, k) + bytes(3 * k) + labels)


def test_regression_salvage_report_keeps_label_maps_alive():
    """A salvage decode keeps, for every damaged span, the FormatError *with its traceback* in
    ``VqDecoder.salvage.spans[i].error``; the traceback pins the frames of the failed
    ``LabelDecoder.decode`` call and so its decompressed label map (and with DELTA/COPY the
    result map). Memory then grows by one or two W*H maps per damaged span and stays until the
    decoder is dropped: this 1 KB file (256x256, 6 good keyframes each followed by one whose
    labels are >= k) keeps 6 maps alive; at 7680x4320 every ~100 bytes of file pin 33 MB.
    Found by the retention check of targets.check_container."""
    w, h, k = 256, 256, 4
    records = []
    for i in range(6):
        records += [_rle_keyframe(2 * i, w, h, k, 0), _rle_keyframe(2 * i + 1, w, h, k, 7)]
    data = targets.rebuild_end(_stream(w, h, k, records))
    dec = VqDecoder(io.BytesIO(data))
    tracemalloc.start()
    try:
        frames = sum(1 for _ in dec.iter_media(salvage=True))
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert frames == 6 and len(dec.salvage.spans) == 6
    assert retained < w * h, f"{retained} bytes = {retained / (w * h):.1f} label maps retained"


class _BudgetFile(io.BytesIO):
    """Counts bytes read; raises (so the test stops at once) past ``budget``."""

    def __init__(self, data: bytes, budget: int) -> None:
        super().__init__(data)
        self.budget, self.count = budget, 0

    def read(self, size: int | None = -1) -> bytes:
        out = super().read(size)
        self.count += len(out)
        if self.count > self.budget:
            raise AssertionError(f"read {self.count} bytes, budget {self.budget}")
        return out


@pytest.mark.parametrize("claim_kind", ["rest of the file", "over the limit"])
def test_regression_salvage_reads_quadratic_in_file_size(claim_kind):
    """Salvage resynchronisation work grows with the square of the file size.

    The file (1024x1024 HEAD, so a frame record may declare up to ~1.07 MB) is 8000 units of
    ``KFRM`` + a length reaching to about the end of the file (CRC wrong), then an intact
    28-byte apkt. Each false KFRM is read whole and CRC-checked by ``iter_records`` (not
    budgeted), fails, and ``resync()`` starts a fresh budget and reads a 1 MiB chunk (here: the
    rest of the file) to find the apkt right after it. Every unit costs about the rest of the
    file: 288 KB take 2.3 GB of reads (8000x), 1.15 MB take 37 GB (32000x, 3.7 s in memory,
    much longer from disk); a 33 MB file at 7680x4320 would take hours. With a length over the
    record limit ("over the limit") the false record is refused cheaply, and the cost is
    resync's 1 MiB chunk alone: a file of n damaged spots reads min(1 MiB, rest) n times.
    Strict decoding stops at the first false KFRM. The bound asserted is this suite's
    READ_FACTOR * size + READ_BASE for the whole iteration."""
    w = h = 1024
    valid = pack_record(fmt.TAG_AUDIO_PACKET, fmt.AUDIO_PACKET.pack(0, 0))
    units = 8000
    head = _stream(w, h, 4, [])
    total = len(head) + units * (8 + len(valid))
    out = bytearray(head)
    for _ in range(units):
        claim = min(total - len(out) - 12, fmt.max_payload(w, h, 4))
        if claim_kind == "over the limit":
            claim = fmt.max_payload(w, h, 4) + 1
        out += b"KFRM" + struct.pack("<I", claim) + valid
    data = bytes(out)
    f = _BudgetFile(data, targets.READ_BASE + targets.READ_FACTOR * len(data))
    dec = VqDecoder(f)
    f.count = 0  # the iteration's reads
    list(dec.iter_media(salvage=True))
    assert f.count <= f.budget


# --------------------------------------------------------------------------------------------
# atheris, in subprocesses

HARNESSES = ("fuzz_container.py", "fuzz_labels.py")


@pytest.fixture(scope="module")
def atheris_runs(tmp_path_factory):
    """Start both harnesses at once (one per core); each test waits for its own."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    runs = {}
    for name in HARNESSES:
        work = tmp_path_factory.mktemp(name.removesuffix(".py"))
        log = open(work / "fuzz.log", "w")  # noqa: SIM115 - closed below
        cmd = [
            sys.executable,
            str(FUZZ_DIR / name),
            f"-max_total_time={ATHERIS_SECONDS}",
            "-rss_limit_mb=2048",
            "-timeout=10",
            "-print_final_stats=1",
            f"-artifact_prefix={work}/",
            str(work / "corpus"),
        ]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work)
        runs[name] = (proc, work, log)
    yield runs
    for proc, _, log in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.timeout(ATHERIS_SECONDS * 2 + 120)
@pytest.mark.parametrize("harness", HARNESSES)
def test_atheris_harness(atheris_runs, harness, capsys):
    proc, work, log = atheris_runs[harness]
    try:
        proc.wait(timeout=ATHERIS_SECONDS * 2 + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.flush()
    text = (work / "fuzz.log").read_text(errors="replace")
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", text) or re.search(
        r"Done (\d+) runs", text
    )
    rate = re.search(r"stat::average_exec_per_sec:\s*(\d+)", text)
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", text)
    report(
        capsys,
        f"atheris {harness}: {runs.group(1) if runs else '?'} inputs in {ATHERIS_SECONDS} s "
        f"({rate.group(1) if rate else '?'}/s), final cov/ft/corpus "
        f"{'/'.join(cov[-1]) if cov else '?'}",
    )
    artifacts = [p.name for p in work.iterdir() if p.name.split("-")[0] in
                 ("crash", "timeout", "oom", "leak", "slow")]  # fmt: skip
    tail = "\n".join(text.splitlines()[-60:])
    assert proc.returncode == 0 and not artifacts, (
        f"{harness} exited with {proc.returncode}, artifacts {artifacts} in {work}; "
        f"reproduce with: python {FUZZ_DIR / harness} <artifact>\n{tail}"
    )
    assert runs and int(runs.group(1)) > 0, tail


def test_harness_plain_python_modes(tmp_path):
    """The harnesses' --write-seeds and --replay modes (they need no atheris): the seeds are
    written and every seed passes its check when replayed."""
    for harness, kind in (("fuzz_container.py", "container"), ("fuzz_labels.py", "labels")):
        script = str(FUZZ_DIR / harness)
        seeds = tmp_path / kind
        subprocess.run([sys.executable, script, "--write-seeds", str(seeds)], check=True)
        files = sorted(str(p) for p in seeds.iterdir())
        assert files
        replay = subprocess.run(
            [sys.executable, script, "--replay", *files], capture_output=True, text=True
        )
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert replay.stdout.count(": ok (") == len(files)


def test_payload_kinds_are_all_reachable():
    """Every payload kind builds for tiny and awkward sizes (the strategies rely on it)."""
    for kind in targets.PAYLOAD_KINDS:
        for size in (1, 2, 7, 300):
            for number in (0, 1, 255, 65535):
                payload = targets.label_payload(kind, size, b"\x00\x05", number)
                assert isinstance(payload, bytes)
    frame = targets.label_payload("exact", 300, b"\x01", 0)
    assert targets.declares_map(frame, 300) and not targets.declares_map(frame, 299)
    assert struct.unpack_from("<I", frame)[0] == 0xFD2FB528
