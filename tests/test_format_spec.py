"""FORMAT.md §6-7 is enough to decode label coders 3 and 2: tests/specdecoder.py, written from
the spec alone in plain Python, decodes what the encoder writes exactly as the compiled decoder
does, and refuses the same damaged payloads."""

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


@pytest.mark.parametrize("coder", [fmt.LABEL_CODER_MC, fmt.LABEL_CODER_BLOCKS])
@pytest.mark.parametrize(("w", "h", "k"), CASES)
def test_spec_decoder_matches_the_compiled_one(w, h, k, coder):
    maps = _maps(w, h, k, seed=w * h + k)
    encoder = BlockLabelEncoder(w, h, k, coder)
    decoder = BlockLabelDecoder(w, h, k, coder)
    state = spec.State()
    previous = spec_prev = None
    block_maps = 0
    trace: list = []
    for labels in maps:
        coded = encoder.encode(labels, previous)
        compiled = decoder.decode(coded.mode, coded.payload, previous)
        assert np.array_equal(compiled, labels)
        if coded.mode == fmt.LABELS_REPEAT:
            assert coded.payload == b""
        else:
            spec_prev = spec.decode_map(
                coded.payload, w, h, k, coded.mode, spec_prev, state, trace, coder
            )
            assert np.array_equal(np.array(spec_prev, np.uint8).reshape(h, w), labels)
            block_maps += coded.mode == fmt.LABELS_BLOCKS
        previous = labels
    assert block_maps >= 1 or w * h == 1
    # label coder 3's CODED blocks code a vector; on these moved maps some differ from the
    # predicted one (a 0 decision in CTX_CODED_PRED); label coder 2 never codes one
    vectors = [bit for ctx, _, bit in trace if spec.CTX_CODED_PRED <= ctx < spec.CONTEXTS]
    if coder == fmt.LABEL_CODER_BLOCKS:
        assert vectors == []
    elif w * h >= 37 * 21:
        assert 0 in vectors


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


def worked_example() -> tuple[bytes, list[bytes]]:
    """The file of FORMAT.md §10.1, as ContainerWriter and BlockLabelEncoder write it, and its
    two label codes."""
    import io
    from fractions import Fraction

    from vidquant.codec.container import ContainerWriter
    from vidquant.codec.records import FrameRecord, Header

    header = Header(4, 2, Fraction(25), Fraction(1, 1000), 4, meta={"encoder": "example"})
    first = np.array([[0, 1, 2, 3], [3, 2, 1, 0]], np.uint8)
    second = first.copy()
    second[0, 0] = 2
    encoder = BlockLabelEncoder(4, 2, 4)
    key, blocks = encoder.encode(first, None), encoder.encode(second, first)
    palette = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]], np.uint8)
    out = io.BytesIO()
    writer = ContainerWriter(out, header)
    frames = [
        (True, key.mode, np.arange(4, dtype=np.uint8), palette, key.payload),
        (False, blocks.mode, np.array([2], np.uint8), np.array([[0, 255, 0]], np.uint8),
         blocks.payload),
        (False, fmt.LABELS_REPEAT, np.zeros(0, np.uint8), np.zeros((0, 3), np.uint8), b""),
    ]  # fmt: skip
    for i, (keyframe, mode, index, rgb, labels) in enumerate(frames):
        writer.write_frame(FrameRecord(keyframe, 40 * i, 40, mode, index, rgb, labels))
    writer.close()
    return out.getvalue(), [key.payload, blocks.payload]


def test_worked_example_file_is_what_format_md_shows():
    """FORMAT.md §10.1's hexdump is exactly the file the writer makes, and its PFRM's first
    decisions are as the text lists them (label coder 3's CODED block vector included)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "FORMAT.md").read_text(encoding="utf-8")
    section = text.split("### 10.1", 1)[1].split("```", 2)[1]
    shown = bytes.fromhex("".join(line[6:53] for line in section.splitlines() if line[:4].strip()))
    data, (key, blocks) = worked_example()
    assert data == shown
    state, trace = spec.State(), []
    first = spec.decode_map(key, 4, 2, 4, 0, None, state)
    second = spec.decode_map(blocks, 4, 2, 4, 4, first, state, trace)
    assert second == [[2, 1, 2, 3], [3, 2, 1, 0]]
    # not SKIP, CODED (mode context 24), the vector is the predicted one (context 4018 + 0)
    assert [c for c, _, _ in trace[:3]] == [24, 49, spec.CTX_CODED_PRED]
    assert [b for _, _, b in trace[:3]] == [0, 1, 1]
