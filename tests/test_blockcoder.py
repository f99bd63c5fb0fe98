"""Label coders 3 and 2 (format 3.0 and 2.0): lossless round trips, each block tool, bad
payloads. These tests pin the kernels and their wrappers (codec/rangecoder.py, blockcoder.py,
blocksearch.py, blockencoder.py, blocklabels.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from vidquant.codec import format as fmt
from vidquant.codec import rangecoder as rc
from vidquant.codec.blocklabels import BlockLabelDecoder, BlockLabelEncoder, label_decoder
from vidquant.codec.labels import LabelDecoder, LabelEncoder
from vidquant.errors import FormatError


def round_trip(
    maps: list[np.ndarray | None], k: int, coder: int = fmt.LABEL_CODER_MC
) -> list[tuple[int, int]]:
    """Code ``maps`` (None: a keyframe follows) and decode them; (mode, bytes) per frame."""
    height, width = next(m for m in maps if m is not None).shape
    enc = BlockLabelEncoder(width, height, k, coder)
    dec = BlockLabelDecoder(width, height, k, coder)
    previous = None
    sizes = []
    for i, labels in enumerate(maps):
        if labels is None:
            previous = None
            continue
        coded = enc.encode(labels, previous)
        got = dec.decode(coded.mode, coded.payload, previous, offset=100)
        assert np.array_equal(got, labels), f"frame {i} does not decode to its labels"
        sizes.append((coded.mode, len(coded.payload)))
        previous = got
    return sizes


@pytest.mark.parametrize(
    ("width", "height", "k"),
    [(1, 1, 2), (7, 9, 3), (37, 53, 16), (64, 64, 256), (130, 17, 255), (8, 8, 2)],
)
def test_random_maps_round_trip(width, height, k):
    rng = np.random.default_rng(width * 1000 + height + k)
    base = rng.integers(0, k, (height, width), dtype=np.uint8)
    maps = [((base.astype(int) + i) % k).astype(np.uint8) for i in range(3)]  # each one differs
    maps.append(maps[-1].copy())  # unchanged: REPEAT
    changed = maps[-1].copy()
    changed[height // 2, width // 2] = (int(changed[height // 2, width // 2]) + 1) % k
    maps += [changed, None, maps[0]]  # a new keyframe restarts the contexts
    modes = [mode for mode, _ in round_trip(maps, k)]
    intra, repeat, blocks = fmt.LABELS_INTRA, fmt.LABELS_REPEAT, fmt.LABELS_BLOCKS
    assert modes == [intra, blocks, blocks, repeat, blocks, intra]


def test_noise_costs_little_more_than_its_entropy():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 32, (90, 160), dtype=np.uint8)
    ((_, size),) = round_trip([labels], 32)
    assert size * 8 / labels.size < 5.5  # 5 bits of entropy per pixel


def _screen(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Flat panels with text-like 1-pixel strokes: what a screen recording's labels look like."""
    labels = np.zeros((height, width), np.uint8)
    labels[:, : width // 4] = 1  # a sidebar
    strokes = rng.random((height, width)) < 0.08
    labels[strokes] = rng.integers(2, 6, strokes.sum())
    return labels


def test_scrolled_content_is_coded_as_motion():
    rng = np.random.default_rng(2)
    page = _screen(rng, 400, 160)
    frames = [page[y : y + 120].copy() for y in (0, 13, 26, 39)]
    for f in frames:  # the sidebar does not scroll
        f[:, :40] = page[:120, :40]
    sizes = [size for _, size in round_trip(frames, 8)]
    # what a frame still pays for is mostly the 13 new rows at the bottom (1/9 of the frame)
    assert all(s * 5 < sizes[0] for s in sizes[1:]), sizes


def test_repeated_tiles_are_coded_as_intra_copies():
    rng = np.random.default_rng(3)
    tile = rng.integers(0, 16, (8, 8), dtype=np.uint8)
    tiled = np.tile(tile, (12, 20))
    noise = rng.integers(0, 16, tiled.shape, dtype=np.uint8)
    ((_, tiled_size),) = round_trip([tiled], 16)
    ((_, noise_size),) = round_trip([noise], 16)
    assert tiled_size * 20 < noise_size, (tiled_size, noise_size)


def test_a_still_area_costs_almost_nothing():
    rng = np.random.default_rng(4)
    first = _screen(rng, 360, 640)
    second = first.copy()
    second[100:110, 200:206] = 7  # a caret
    (_, key), (_, small) = round_trip([first, second], 8)
    assert small < 64 and small * 200 < key, (key, small)


def _coded(k: int = 8) -> tuple[np.ndarray, bytes, bytes]:
    rng = np.random.default_rng(5)
    first = _screen(rng, 40, 48)
    second = np.roll(first, 3, axis=0)
    second[5:9, 10:20] = 7
    enc = BlockLabelEncoder(48, 40, k)
    return first, enc.encode(first, None).payload, enc.encode(second, first).payload


def test_truncated_and_padded_payloads_are_format_errors():
    _, key, _ = _coded()
    for cut in (0, 1, 4, 5, len(key) // 2, len(key) - 1):
        with pytest.raises(FormatError) as info:
            BlockLabelDecoder(48, 40, 8).decode(fmt.LABELS_INTRA, key[:cut], None, offset=77)
        assert info.value.offset == 77
    with pytest.raises(FormatError, match="length"):
        BlockLabelDecoder(48, 40, 8).decode(fmt.LABELS_INTRA, key + b"\0", None)


def test_flipped_bits_never_escape_as_another_error():
    first, key, inter = _coded(k=5)
    rng = np.random.default_rng(6)
    errors = 0
    for _ in range(300):
        which = rng.integers(2)
        data = bytearray(key if which == 0 else inter)
        data[rng.integers(len(data))] ^= 1 << rng.integers(8)
        dec = BlockLabelDecoder(48, 40, 5)
        try:
            if which == 0:
                got = dec.decode(fmt.LABELS_INTRA, bytes(data), None)
            else:
                dec.decode(fmt.LABELS_INTRA, key, None)
                got = dec.decode(fmt.LABELS_BLOCKS, bytes(data), first)
        except FormatError:
            errors += 1
            continue
        assert got.shape == (40, 48) and int(got.max()) < 5
    assert errors > 100  # most flips are caught (length, literals, intra copies)


def test_predicted_labels_need_the_previous_frame():
    first, key, inter = _coded()
    dec = BlockLabelDecoder(48, 40, 8)
    with pytest.raises(FormatError, match="previous"):
        dec.decode(fmt.LABELS_BLOCKS, inter, None)
    with pytest.raises(FormatError, match="previous"):
        dec.decode(fmt.LABELS_BLOCKS, inter, first)  # no keyframe decoded: no contexts
    with pytest.raises(FormatError, match="mode"):
        dec.decode(fmt.LABELS_COPY, inter, first)
    dec.decode(fmt.LABELS_INTRA, key, None)
    with pytest.raises(FormatError):
        dec.decode(fmt.LABELS_INTRA, key[:-1], None)
    with pytest.raises(FormatError, match="previous"):  # a failed map leaves no state
        dec.decode(fmt.LABELS_BLOCKS, inter, first)


def _textured_pan(steps: int) -> list[np.ndarray]:
    """A noisy texture that pans by 3 pixels right and 1 down each frame, with a few labels
    changed each time: no block copies exactly, but each block matches the previous frame well
    at one vector, which CODED blocks of label coder 3 can use."""
    rng = np.random.default_rng(5)
    world = rng.integers(0, 6, (80, 120), dtype=np.uint8)
    world = np.repeat(np.repeat(world, 2, axis=0), 2, axis=1)  # 2x2 cells: some structure
    maps = []
    for i in range(steps):
        m = world[40 - i : 40 - i + 48, 60 - 3 * i : 60 - 3 * i + 64].copy()
        edits = rng.random(m.shape) < 0.04
        m[edits] = rng.integers(0, 6, int(edits.sum()), dtype=np.uint8)
        maps.append(m)
    return maps


def test_label_coder_3_codes_moved_texture_with_vectors_smaller_than_coder_2():
    maps = _textured_pan(5)
    mc = round_trip(maps, 6, fmt.LABEL_CODER_MC)  # both exact (checked in round_trip)
    co_located = round_trip(maps, 6, fmt.LABEL_CODER_BLOCKS)
    assert mc[0] == co_located[0]  # keyframes are coded the same way by both
    mc_bytes = sum(n for _, n in mc[1:])
    co_bytes = sum(n for _, n in co_located[1:])
    assert mc_bytes < 0.7 * co_bytes, (mc_bytes, co_bytes)


def test_a_coder_3_stream_is_not_a_coder_2_stream():
    maps = _textured_pan(2)
    enc = BlockLabelEncoder(64, 48, 6)
    key, moved = enc.encode(maps[0], None), enc.encode(maps[1], maps[0])
    wrong = BlockLabelDecoder(64, 48, 6, fmt.LABEL_CODER_BLOCKS)
    first = wrong.decode(key.mode, key.payload, None)
    assert np.array_equal(first, maps[0])  # INTRA maps are the same in both
    try:
        got = wrong.decode(moved.mode, moved.payload, first)
    except FormatError:
        return
    assert not np.array_equal(got, maps[1])


def test_block_coders_refuse_other_coder_ids():
    for cls in (BlockLabelEncoder, BlockLabelDecoder):
        with pytest.raises(ValueError, match="not a block coder"):
            cls(4, 4, 4, fmt.LABEL_CODER_ZSTD)


def test_the_decoder_follows_the_stream_label_coder():
    assert isinstance(label_decoder(4, 4, 4, fmt.LABEL_CODER_ZSTD), LabelDecoder)
    assert isinstance(label_decoder(4, 4, 4, fmt.LABEL_CODER_BLOCKS), BlockLabelDecoder)
    assert isinstance(label_decoder(4, 4, 4, fmt.LABEL_CODER_MC), BlockLabelDecoder)
    coded = LabelEncoder().encode(np.ones((4, 4), np.uint8), None)
    got = label_decoder(4, 4, 4, fmt.LABEL_CODER_ZSTD).decode(coded.mode, coded.payload, None)
    assert got.tolist() == [[1] * 4] * 4


def test_range_coder_round_trips_biased_bits_near_their_entropy():
    from vidquant.codec.rangecoder import decode_bit, decode_init, encode_bit, encode_flush

    rng = np.random.default_rng(7)
    bits = (rng.random(20_000) < 0.05).astype(np.int64)
    probs, st = rc.new_contexts(1), rc.new_encoder_state()
    out = np.empty(10_000, np.uint8)
    for b in bits:
        encode_bit(st, out, probs, 0, int(b))
    n = encode_flush(st, out)
    entropy = -(0.05 * np.log2(0.05) + 0.95 * np.log2(0.95)) * bits.size / 8
    assert n < entropy * 1.1 + 8, (n, entropy)
    probs, dst = rc.new_contexts(1), np.zeros(rc.DEC_SIZE, np.int64)
    data = out[:n].copy()
    decode_init(dst, data)
    got = [decode_bit(dst, data, probs, 0) for _ in range(bits.size)]
    assert got == bits.tolist()
    assert dst[rc.DEC_POS] == n  # the decoder reads exactly what the encoder wrote


@pytest.mark.parametrize("encoder", [True, False])
def test_compile_kernels_is_a_job_of_its_own(encoder: bool) -> None:
    from vidquant.codec.blocklabels import compile_kernels

    calls: list[str] = []

    class Record:
        def start(self, description: str, total: int | None) -> None:
            calls.append(f"start {description}")

        def advance(self, frames: int = 1) -> None:
            calls.append("advance")

        def finish(self) -> None:
            calls.append("finish")

    compile_kernels(encoder=encoder, progress=Record())
    assert len(calls) == 2 and calls[0].startswith("start preparing") and calls[1] == "finish"
