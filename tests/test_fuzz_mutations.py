"""Fuzzing the ``.vq`` reader from valid files: the seeds themselves, mutations of them (byte
and record edits, CRCs and trailer optionally mended so the mutation reaches the parser behind
them), and random bytes alone and behind a valid preamble and HEAD. The property is
``fuzz.targets.check_container``; see tests/fuzz/README.md."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis import target as hypothesis_target

from fuzz import inputs, records, targets
from fuzz.profiles import Tally, fuzz_settings, long_timeout, report
from vidquant.codec import format as fmt
from vidquant.codec.records import pack_record
from vidquant.decoder import VqDecoder

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    return inputs.seed_files()


# --------------------------------------------------------------------------------------------
# the seeds are valid: mutation starts from files that decode to the end


def test_seeds_are_valid_and_cover_the_format(seeds):
    modes = set()  # (label coder, mode)
    tags = set()
    for name, data in seeds.items():
        out = targets.check_container(data)
        assert out.error is None and out.index_ok, f"seed {name}: {out.error!r}"
        with VqDecoder(io.BytesIO(data)) as dec:
            coder = dec.header.label_coder
            modes |= {(coder, r.label_mode) for r in dec.iter_records()}
        tags |= {r.tag for r in records.walk(data)}
        assert records.rebuild_end(data) == data, f"seed {name}: rebuild_end is not neutral"
        assert records.fix_crcs(data) == data
    assert modes == {(c, m) for c, ms in fmt.LABEL_MODES.items() for m in ms}
    assert {b"HEAD", b"KFRM", b"PFRM", b"INDX", b"TAIL", b"ahdr", b"apkt"} <= tags
    assert "golden" in seeds, "tests/golden/tiny.vq (the real encoder's output) is missing"
    for data in inputs.label_seed_inputs():
        targets.check_label_input(data)


# --------------------------------------------------------------------------------------------
# mutations of valid files

positions = st.integers(-(1 << 16), 1 << 16)  # taken modulo the length: < 0 counts from the end
small_bytes = st.binary(min_size=1, max_size=16)
interesting_ints = st.sampled_from(records.INTERESTING)

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
        data = records.apply_op(data, op, seeds)
    return records.mend(data, draw(st.sampled_from(records.FIXES)))


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
