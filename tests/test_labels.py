"""The label transforms (COPY, DELTA) and the label coder that writes and reads them.

Hand-made maps pin the exact symbols the format defines (FORMAT.md, ``format.LABELS_*``):
COPY is 0 where a label is unchanged and the label + 1 where it changed; DELTA is
``(labels - previous) mod 256``. The coder's payloads are checked after decompression, so the
tests do not depend on the bytes a Zstandard version writes.
"""

from __future__ import annotations

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from vidquant.codec import format as fmt
from vidquant.codec.labels import (
    LabelDecoder,
    LabelEncoder,
    copy_map,
    delta_map,
    uncopy_map,
    undelta_map,
)
from vidquant.errors import FormatError

# Two rows of three pixels: (0, 1) changed 2 -> 1, (1, 0) changed 1 -> 3, the rest kept.
PREVIOUS = np.array([[0, 2, 2], [1, 3, 0]], np.uint8)
LABELS = np.array([[0, 1, 2], [3, 3, 0]], np.uint8)
COPY_SYMBOLS = np.array([[0, 2, 0], [4, 0, 0]], np.uint8)
DELTA_RESIDUAL = np.array([[0, 255, 0], [2, 0, 0]], np.uint8)  # 1 - 2 wraps to 255


def zstd(array: np.ndarray) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=True).compress(
        np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    )


def unzstd(payload: bytes) -> np.ndarray:
    return np.frombuffer(zstandard.ZstdDecompressor().decompress(payload), np.uint8)


def read_only(array: np.ndarray) -> np.ndarray:
    array = array.copy()
    array.flags.writeable = False  # the inverse transforms must not write into previous
    return array


# --- the transforms on a hand-made example ----------------------------------------------------


def test_copy_map_of_the_hand_made_example():
    symbols = copy_map(LABELS, PREVIOUS)
    assert symbols.dtype == np.uint8
    np.testing.assert_array_equal(symbols, COPY_SYMBOLS)


def test_copy_map_with_the_callers_mask_is_the_same():
    np.testing.assert_array_equal(copy_map(LABELS, PREVIOUS, same=LABELS == PREVIOUS), COPY_SYMBOLS)


def test_uncopy_map_of_the_hand_made_example():
    labels = uncopy_map(COPY_SYMBOLS, read_only(PREVIOUS), k=4)
    assert labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, LABELS)


def test_delta_map_of_the_hand_made_example():
    residual = delta_map(LABELS, PREVIOUS)
    assert residual.dtype == np.uint8
    np.testing.assert_array_equal(residual, DELTA_RESIDUAL)


def test_undelta_map_of_the_hand_made_example():
    np.testing.assert_array_equal(undelta_map(DELTA_RESIDUAL, read_only(PREVIOUS)), LABELS)


def test_delta_wraps_both_ways_at_256():
    previous = np.array([[255, 0, 7]], np.uint8)
    labels = np.array([[0, 255, 7]], np.uint8)
    residual = delta_map(labels, previous)
    np.testing.assert_array_equal(residual, [[1, 255, 0]])
    np.testing.assert_array_equal(undelta_map(residual, previous), labels)


def test_the_inputs_are_not_changed():
    labels, previous = LABELS.copy(), PREVIOUS.copy()
    copy_map(labels, previous)
    delta_map(labels, previous)
    np.testing.assert_array_equal(labels, LABELS)
    np.testing.assert_array_equal(previous, PREVIOUS)


# --- what the transforms refuse ---------------------------------------------------------------


def test_copy_map_refuses_label_255():
    labels = np.array([[0, 255]], np.uint8)
    with pytest.raises(ValueError, match="need labels below 255, got 255"):
        copy_map(labels, np.zeros_like(labels))


def test_uncopy_map_refuses_a_symbol_above_k():
    symbols = COPY_SYMBOLS.copy()
    symbols[1, 2] = 5  # label 4, with k = 4
    with pytest.raises(FormatError, match="COPY symbol 5 is above k=4") as info:
        uncopy_map(symbols, PREVIOUS, k=4, offset=91)
    assert info.value.offset == 91


def test_uncopy_map_takes_symbol_k_as_label_k_minus_1():
    symbols = np.array([[4, 0]], np.uint8)
    np.testing.assert_array_equal(uncopy_map(symbols, np.zeros_like(symbols), k=4), [[3, 0]])


@pytest.mark.parametrize("bad", [5, 200, 255])
def test_decoder_refuses_a_copy_symbol_above_k(bad):
    symbols = COPY_SYMBOLS.copy()
    symbols[0, 0] = bad
    decoder = LabelDecoder(3, 2, 4)
    with pytest.raises(FormatError, match=f"COPY symbol {bad} is above k=4") as info:
        decoder.decode(fmt.LABELS_COPY, zstd(symbols), read_only(PREVIOUS), offset=40)
    assert info.value.offset == 40


@pytest.mark.parametrize("mode", [fmt.LABELS_INTRA, fmt.LABELS_DELTA])
def test_decoder_refuses_a_label_not_below_k(mode):
    # Label 4 with k = 4: INTRA sends it as is, DELTA as 4 - previous (mod 256).
    labels = LABELS.copy()
    labels[1, 1] = 4
    payload = labels if mode == fmt.LABELS_INTRA else delta_map(labels, PREVIOUS)
    with pytest.raises(FormatError, match="label 4 is not below k=4") as info:
        LabelDecoder(3, 2, 4).decode(mode, zstd(payload), read_only(PREVIOUS), offset=12)
    assert info.value.offset == 12


def test_decoder_refuses_a_residual_that_wraps_to_a_label_above_k():
    residual = DELTA_RESIDUAL.copy()
    residual[0, 0] = 250  # 0 + 250: label 250, k = 4
    with pytest.raises(FormatError, match="label 250 is not below k=4"):
        LabelDecoder(3, 2, 4).decode(fmt.LABELS_DELTA, zstd(residual), PREVIOUS)


@pytest.mark.parametrize("mode", [fmt.LABELS_COPY, fmt.LABELS_DELTA])
def test_decoder_refuses_a_temporal_map_without_a_previous_frame(mode):
    with pytest.raises(FormatError, match="temporal labels without a previous frame"):
        LabelDecoder(3, 2, 4).decode(mode, zstd(COPY_SYMBOLS), None)


# --- the coder writes exactly these symbols ---------------------------------------------------


def test_encoder_writes_the_copy_symbols():
    previous = np.zeros((64, 64), np.uint8)
    labels = previous.copy()
    labels[10:14, 20:24] = 3  # 16 of 4096 pixels changed: far below the intra threshold
    labels[40, 0] = 7
    expected = np.zeros((64, 64), np.uint8)
    expected[10:14, 20:24] = 4
    expected[40, 0] = 8
    coded = LabelEncoder().encode(labels, previous)
    assert coded.mode == fmt.LABELS_COPY
    np.testing.assert_array_equal(unzstd(coded.payload).reshape(64, 64), expected)
    np.testing.assert_array_equal(
        LabelDecoder(64, 64, 8).decode(coded.mode, coded.payload, read_only(previous)), labels
    )


def test_encoder_writes_the_delta_residual_when_label_255_is_used():
    previous = np.zeros((64, 64), np.uint8)
    previous[5, 5] = 5
    labels = previous.copy()
    labels[10:14, 20:24] = 255  # no spare COPY symbol: DELTA
    labels[5, 5] = 2
    expected = np.zeros((64, 64), np.uint8)
    expected[10:14, 20:24] = 255
    expected[5, 5] = 253  # 2 - 5 mod 256
    coded = LabelEncoder().encode(labels, previous)
    assert coded.mode == fmt.LABELS_DELTA
    np.testing.assert_array_equal(unzstd(coded.payload).reshape(64, 64), expected)
    np.testing.assert_array_equal(
        LabelDecoder(64, 64, 256).decode(coded.mode, coded.payload, read_only(previous)), labels
    )


# --- round trips ------------------------------------------------------------------------------


@st.composite
def map_pairs(draw, *, top: int):
    """(labels, previous, k): uint8 maps with labels below k <= ``top`` + 1, some unchanged."""
    k = draw(st.integers(2, top + 1))
    h, w = draw(st.integers(1, 16)), draw(st.integers(1, 16))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    previous = rng.integers(0, k, size=(h, w), dtype=np.uint8)
    labels = previous.copy()
    changed = rng.random((h, w)) < draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    labels[changed] = rng.integers(0, k, size=int(changed.sum()), dtype=np.uint8)
    return labels, previous, k


@settings(max_examples=200, deadline=None)
@given(map_pairs(top=254))
def test_copy_round_trip(case):
    labels, previous, k = case
    symbols = copy_map(labels, previous)
    assert int(symbols.max()) <= k
    assert np.array_equal(symbols == 0, labels == previous)
    assert np.array_equal(uncopy_map(symbols, read_only(previous), k=k), labels)


@settings(max_examples=200, deadline=None)
@given(map_pairs(top=255))
def test_delta_round_trip(case):
    labels, previous, k = case
    residual = delta_map(labels, previous)
    assert np.array_equal(residual == 0, labels == previous)
    assert np.array_equal(undelta_map(residual, read_only(previous)), labels)
