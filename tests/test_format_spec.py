"""FORMAT.md §6-7 is enough to decode label coder 2: tests/specdecoder.py, written from the spec
alone in plain Python, decodes what the encoder writes exactly as the compiled decoder does,
and refuses the same damaged payloads."""

from __future__ import annotations

import numpy as np
import pytest
import specdecoder as spec

from fuzz.inputs import synthetic_map
from vidquant.codec import format as fmt
from vidquant.codec.blocklabels import BlockLabelDecoder, BlockLabelEncoder
from vidquant.errors import FormatError


def _maps(w: int, h: int, k: int, seed: int) -> list[np.ndarray]:
    """A keyframe with flat areas, repeated tiles and noise, then moved, edited, repeated maps."""
    rng = np.random.default_rng(seed)
    first = synthetic_map(seed, w, h, k)
    maps = [first]
    for step in range(4):
        m = np.roll(maps[-1], (step % 2, 3), axis=(0, 1)).copy()
        edits = rng.random((h, w)) < 0.05
        m[edits] = rng.integers(0, k, int(edits.sum()), dtype=np.uint8)
        maps.append(m)
    maps.append(maps[-1].copy())  # REPEAT
    return maps


CASES = [(1, 1, 2), (8, 8, 2), (13, 9, 5), (37, 21, 16), (24, 40, 256), (40, 17, 255)]


@pytest.mark.parametrize(("w", "h", "k"), CASES)
def test_spec_decoder_matches_the_compiled_one(w, h, k):
    maps = _maps(w, h, k, seed=w * h + k)
    encoder = BlockLabelEncoder(w, h, k)
    decoder = BlockLabelDecoder(w, h, k)
    state = spec.State()
    previous = spec_prev = None
    block_maps = 0
    for labels in maps:
        coded = encoder.encode(labels, previous)
        compiled = decoder.decode(coded.mode, coded.payload, previous)
        assert np.array_equal(compiled, labels)
        if coded.mode == fmt.LABELS_REPEAT:
            assert coded.payload == b""
        else:
            spec_prev = spec.decode_map(coded.payload, w, h, k, coded.mode, spec_prev, state)
            assert np.array_equal(np.array(spec_prev, np.uint8).reshape(h, w), labels)
            block_maps += coded.mode == fmt.LABELS_BLOCKS
        previous = labels
    assert block_maps >= 1 or w * h == 1


@pytest.mark.parametrize(("w", "h", "k"), CASES[1:4])
def test_spec_decoder_refuses_what_the_compiled_one_refuses(w, h, k):
    rng = np.random.default_rng(k)
    labels = _maps(w, h, k, seed=k)[0]
    payload = BlockLabelEncoder(w, h, k).encode(labels, None).payload
    agreed = 0
    for trial in range(60):
        data = bytearray(payload)
        if trial % 3 == 0:
            data = data[: rng.integers(0, len(data))]
        elif trial % 3 == 1:
            data += bytes(rng.integers(0, 256, 1 + trial % 4, dtype=np.uint8))
        else:
            data[rng.integers(0, len(data))] ^= int(rng.integers(1, 256))
        try:
            compiled = BlockLabelDecoder(w, h, k).decode(fmt.LABELS_INTRA, bytes(data), None)
        except FormatError:
            compiled = None
        try:
            mine = spec.decode_map(bytes(data), w, h, k, 0, None, spec.State())
        except spec.SpecError:
            mine = None
        if compiled is None:
            assert mine is None, f"trial {trial}: the spec decoder accepted what was refused"
        else:
            assert mine is not None and np.array_equal(np.array(mine, np.uint8), compiled)
        agreed += compiled is None
    assert agreed >= 20  # cut and lengthened payloads are always refused


def test_worked_example_trace():
    """The decisions of FORMAT.md §10's keyframe: the first ones as the spec lists them."""
    labels = np.array([[0, 1, 2, 3], [3, 2, 1, 0]], np.uint8)
    payload = BlockLabelEncoder(4, 2, 4).encode(labels, None).payload
    assert payload.hex(" ") == "00 7a 66 1c 70 a0 c9 86"
    trace: list = []
    out = spec.decode_map(payload, 4, 2, 4, 0, None, spec.State(), trace)
    assert out == labels.tolist()
    # the block mode (CODED, context 75 + 5*4 + 4), then pixel (0, 0): no candidates, a literal
    # 0 as the bit tree's nodes 1 and 2; then pixel (1, 0): candidate W = 0 refused, literal 1
    assert trace[:6] == [(99, 2048, 1), (3763, 2048, 0), (3764, 2048, 0),
                         (1202, 2048, 0), (3763, 1976, 0), (3764, 1976, 1)]  # fmt: skip
