"""Rate-distortion decisions in label coder 2's encoder (``quality`` < 100).

The decoder is the same, so what matters is that the encoder's reconstruction (``last``) is
exactly what both decoders (the compiled one and tests/specdecoder.py, written from FORMAT.md)
show, that lambda trades size for colour error in the direction it says, and that lambda 0 is
still lossless.
"""

from __future__ import annotations

import numpy as np
import pytest
import specdecoder as spec

from vidquant.codec import format as fmt
from vidquant.codec.blocklabels import BlockLabelDecoder, BlockLabelEncoder
from vidquant.quantize import nearest_labels
from vidquant.settings import EncodeSettings, rd_lambda


def _noisy_clip(w: int, h: int, frames: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Flat shapes on a gradient that move a little, under sensor noise, and a palette."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    clip = []
    for t in range(frames):
        img = np.zeros((h, w, 3), np.float64)
        img[..., 0] = 40 + 150 * xx / w
        img[..., 1] = 60 + 120 * yy / h
        img[..., 2] = 120
        cx, cy = w // 3 + 2 * t, h // 2
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < (h // 4) ** 2
        img[disc] = (230, 200, 30)
        img[h // 8 : h // 4, w // 2 : w - 4] = (20, 20, 20)  # a still bar
        img += rng.normal(0, 4, img.shape)
        clip.append(np.clip(img, 0, 255).astype(np.uint8))
    palette = np.unique(
        (clip[0].reshape(-1, 3)[rng.integers(0, w * h, 16)] // 8 * 8).astype(np.uint8), axis=0
    )
    return clip, palette


def _code(clip, palette, lam: int, stickiness: float = 0.0):
    """Code ``clip`` with lambda; return (payload bytes, squared error, shown maps)."""
    h, w, _ = clip[0].shape
    k = len(palette)
    enc, dec = BlockLabelEncoder(w, h, k), BlockLabelDecoder(w, h, k)
    state = spec.State()
    shown = spec_prev = None
    total = error = 0
    maps = []
    for i, rgb in enumerate(clip):
        labels = nearest_labels(rgb, palette)
        coded = enc.encode(labels, shown, rgb=rgb, palette=palette, lam=lam, stickiness=stickiness)
        got = dec.decode(coded.mode, coded.payload, shown)
        assert np.array_equal(got, enc.last), f"frame {i}: the decoder shows another map"
        if coded.mode != fmt.LABELS_REPEAT:
            spec_prev = spec.decode_map(coded.payload, w, h, k, coded.mode, spec_prev, state)
            spec_map = np.array(spec_prev, np.uint8).reshape(h, w)
            assert np.array_equal(spec_map, got), f"frame {i}: the spec decoder disagrees"
        shown = got
        total += len(coded.payload)
        error += int(((palette[got].astype(np.int64) - rgb) ** 2).sum())
        maps.append(got)
    return total, error, maps


@pytest.mark.parametrize(("w", "h"), [(40, 24), (37, 21), (8, 8)])
def test_lossy_maps_decode_bit_exactly(w, h):
    clip, palette = _noisy_clip(w, h, 5, seed=w + h)
    for lam in (1, 7, 63):
        _code(clip, palette, lam, stickiness=6.0)


def test_lambda_zero_is_lossless():
    clip, palette = _noisy_clip(40, 24, 3, seed=2)
    enc = BlockLabelEncoder(40, 24, len(palette))
    shown = None
    for rgb in clip:
        labels = nearest_labels(rgb, palette)
        enc.encode(labels, shown, rgb=rgb, palette=palette, lam=0)
        assert np.array_equal(enc.last, labels)
        shown = enc.last


def test_a_larger_lambda_trades_error_for_size():
    clip, palette = _noisy_clip(96, 64, 6, seed=3)
    sizes, errors = zip(*[_code(clip, palette, lam)[:2] for lam in (0, 7, 63)], strict=True)
    assert sizes[0] > sizes[1] > sizes[2], sizes
    assert errors[2] > errors[0], errors
    # the quantiser's nearest labels have the least error a palette map can have, so a lossy
    # map is never better, and at lambda 7 it gives away little of it
    assert errors[0] <= errors[1] < errors[0] * 1.15, errors


def test_noise_over_a_still_picture_is_skipped():
    rng = np.random.default_rng(4)
    base = np.zeros((32, 48, 3), np.uint8)
    base[:, :24] = (200, 50, 50)
    base[:, 24:] = (50, 50, 200)
    # two near reds: the nearest of them flips with the noise from frame to frame
    palette = np.array([[200, 50, 50], [192, 56, 50], [50, 50, 200]], np.uint8)
    clip = [
        np.clip(base.astype(int) + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
        for _ in range(4)
    ]
    size_lossless, _, exact = _code(clip, palette, 0)
    assert not np.array_equal(exact[1], exact[0])
    size_rd, _, maps = _code(clip, palette, 31)
    assert size_rd < size_lossless / 2
    changed = [int((m != maps[0]).sum()) for m in maps[1:]]
    assert max(changed) <= 0.01 * maps[0].size, f"still noise changed labels: {changed}"


def test_an_unchanged_shown_map_is_a_repeat():
    clip, palette = _noisy_clip(40, 24, 1, seed=5)
    enc = BlockLabelEncoder(40, 24, len(palette))
    labels = nearest_labels(clip[0], palette)
    enc.encode(labels, None, rgb=clip[0], palette=palette, lam=7)
    coded = enc.encode(labels, enc.last, rgb=clip[0], palette=palette, lam=7)
    assert coded.mode == fmt.LABELS_REPEAT and coded.payload == b""


def test_rd_needs_the_frame():
    enc = BlockLabelEncoder(8, 8, 4)
    with pytest.raises(ValueError, match="frame"):
        enc.encode(np.zeros((8, 8), np.uint8), None, lam=3)


def test_quality_maps_to_lambda():
    assert rd_lambda(100) == 0
    assert [rd_lambda(q) for q in (90, 80, 70, 50, 0)] == [1, 3, 7, 31, 1023]
    assert EncodeSettings(quality=100).rd_lambda == 0
