"""Palette manager and quantiser: stable slots, few colours, determinism, exactness."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from media import synthetic_frame
from vidquant.palette import PaletteManager
from vidquant.quantize import Quantizer


def test_few_colours_no_crash_no_warning() -> None:
    black = np.zeros((40, 60, 3), np.uint8)
    two = black.copy()
    two[:, 30:] = (200, 10, 10)
    pm = PaletteManager(16, sample_pixels=2048)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        palette = pm.keyframe(black)
        assert palette.shape == (16, 3) and not palette.any()
        delta = pm.update(two)
        pm.update(black)
        pm.keyframe(two)
    assert (200, 10, 10) in {tuple(c) for c in pm.palette}
    assert len(delta.index) >= 1


def test_slots_are_stable_under_partial_fit() -> None:
    pm = PaletteManager(32, seed=3, sample_pixels=4096)
    first = pm.keyframe(synthetic_frame(0, 96, 64))
    palette = first.copy()
    for i in range(1, 6):
        delta = pm.update(synthetic_frame(i, 96, 64))
        palette[delta.index] = delta.rgb
        assert np.array_equal(palette, pm.palette), "deltas do not replay to the palette"
    # slow motion: most entries keep their colour within a few levels
    drift = np.abs(pm.palette.astype(int) - first.astype(int)).max(axis=1)
    assert np.median(drift) < 20


def test_deterministic_for_a_seed() -> None:
    frames = [synthetic_frame(i, 64, 48) for i in range(4)]

    def run(seed: int) -> list[np.ndarray]:
        pm = PaletteManager(8, seed=seed, sample_pixels=2048)
        out = [pm.keyframe(frames[0])]
        out += [pm.update(f).rgb for f in frames[1:]]
        return out

    a, b = run(1), run(1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("k", [2, 7, 32, 256])
def test_quantizer_near_exact(k: int) -> None:
    rng = np.random.default_rng(k)
    palette = rng.integers(0, 256, (k, 3), dtype=np.uint8)
    image = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    q = Quantizer()
    q.set_palette(palette)
    labels = q.assign(image)
    assert labels.dtype == np.uint8 and int(labels.max()) < k
    d = ((image.reshape(-1, 1, 3).astype(int) - palette[None].astype(int)) ** 2).sum(-1)
    best = d.min(axis=1)
    got = d[np.arange(len(d)), labels.ravel()]
    # The table decides per 4x4x4 cell: a pixel may get an entry at most one cell diagonal
    # (about 7 levels) farther than its nearest entry, and the mean error barely moves.
    assert np.all(np.sqrt(got) - np.sqrt(best) <= 7.0)
    assert got.mean() <= best.mean() * 1.02 + 1


def test_incremental_table_equals_rebuild() -> None:
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, (32, 3), dtype=np.uint8)
    q = Quantizer()
    q.set_palette(palette)
    palette[[3, 9]] = [[10, 20, 30], [250, 100, 0]]
    q.set_palette(palette)
    fresh = Quantizer()
    fresh.set_palette(palette)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(q.assign(image), fresh.assign(image))


def test_stickiness_keeps_labels_within_bound() -> None:
    rng = np.random.default_rng(1)
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    q = Quantizer()
    q.set_palette(palette)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    previous = rng.integers(0, 16, (32, 32), dtype=np.uint8)
    free = q.assign(image)
    sticky = q.assign(image, previous, stickiness=10.0)
    kept = sticky != free
    assert np.all(sticky[kept] == previous[kept])
    pal = palette.astype(float)
    d_sticky = np.sqrt(((image - pal[sticky]) ** 2).sum(-1))
    d_free = np.sqrt(((image - pal[free]) ** 2).sum(-1))
    # the decision is taken at the centre of the pixel's 4x4x4 table cell: allow one cell
    # diagonal (about 7 levels) on top of the stickiness
    assert np.all(d_sticky - d_free <= 10.0 + 7.0)
    assert kept.any()


def test_fade_to_black_ends_exactly_black() -> None:
    """Small palette moves are still sent where they pay: a fade must reach exact black."""
    rng = np.random.default_rng(5)
    dim = rng.integers(0, 200, (48, 64, 3), dtype=np.uint8)
    dim[:, :32] = 3  # nearly black: its entry is within delta_min of black
    pm = PaletteManager(16, seed=0, sample_pixels=4096, delta_min=4)
    pm.keyframe(dim)
    assert (3, 3, 3) in {tuple(c) for c in pm.palette}
    black = np.zeros((48, 64, 3), np.uint8)
    for _ in range(10):
        pm.update(black)
    q = Quantizer()
    q.set_palette(pm.palette)
    assert not pm.palette[q.assign(black)].any(), "black frames decode as not quite black"


def test_palette_colours_map_to_themselves_even_when_close() -> None:
    """Two entries in one table cell: a pixel equal to either must get that entry exactly."""
    palette = np.array([[0, 0, 0], [2, 2, 2], [200, 200, 200], [202, 201, 200]], np.uint8)
    q = Quantizer()
    q.set_palette(palette)
    image = np.repeat(palette[None, :, :], 5, axis=0)  # every palette colour, 5 times
    labels = q.assign(image)
    assert np.array_equal(palette[labels], image)
    previous = np.zeros_like(labels)
    sticky = q.assign(image, previous, stickiness=6.0)
    assert np.array_equal(palette[sticky], image), "stickiness must not undo an exact colour"
    # a palette change that separates the entries clears the exact search
    q.set_palette(np.array([[0, 0, 0], [90, 90, 90], [200, 200, 200], [250, 0, 0]], np.uint8))
    assert not q._any_refine


def test_scikit_learn_still_has_the_counts_we_cap() -> None:
    """PaletteManager caps MiniBatchKMeans' private per-centre counts so that partial_fit keeps
    following the video; if scikit-learn renames them, this must fail loudly, not degrade."""
    pm = PaletteManager(8, sample_pixels=2048)
    pm.keyframe(synthetic_frame(0, 64, 48))
    pm.update(synthetic_frame(1, 64, 48))
    counts = getattr(pm._model, "_counts", None)
    assert counts is not None and counts.shape == (8,)
    assert counts.max() <= 2 * 2048 / 8 + 1e-6


def test_crowded_cells_are_exact_for_every_colour_in_them() -> None:
    rng = np.random.default_rng(3)
    base = rng.integers(8, 248, (40, 3))
    palette = np.concatenate([base, base + rng.integers(-2, 3, (40, 3))]).astype(np.uint8)
    q = Quantizer()
    q.set_palette(palette)
    assert q._any_refine
    # every colour of every crowded cell, as an image
    cells = np.flatnonzero(q._refine_slot >= 0)
    r, g, b = cells >> 12, (cells >> 6) & 63, cells & 63
    offs = np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3)
    corner = np.stack([r, g, b], axis=1) * 4
    image = (corner[:, None, :] + offs[None]).reshape(1, -1, 3).astype(np.uint8)
    labels = q.assign(image).ravel()
    d = ((image.reshape(-1, 1, 3).astype(int) - palette[None].astype(int)) ** 2).sum(-1)
    assert np.array_equal(d[np.arange(len(d)), labels], d.min(axis=1))


def _noisy(rng: np.random.Generator, h: int, w: int, centre: tuple[int, int, int]) -> np.ndarray:
    """Many colours around ``centre`` (more than k, so k-means runs)."""
    base = np.array(centre, np.int16)
    return np.clip(base + rng.integers(-12, 13, size=(h, w, 3)), 0, 255).astype(np.uint8)


def test_refit_and_periodic_keyframe_leave_still_entries_alone() -> None:
    """The left half stands still while the right half changes colour, which forces a refit:
    the entries serving the still half keep their colours (no flicker there), on the refit and
    on a periodic keyframe inside the scene, while the right half is refitted. (The new colour
    is nearest to the right half's old one: an entry that also serves new pixels is not still
    and may move.)"""
    rng = np.random.default_rng(3)
    h, w = 64, 128
    left = np.concatenate([_noisy(rng, h // 2, w // 2, (40, 40, 200)),
                           _noisy(rng, h // 2, w // 2, (200, 200, 40))])  # fmt: skip
    frame = np.concatenate([left, _noisy(rng, h, w // 2, (200, 40, 40))], axis=1)
    pm = PaletteManager(8, seed=0, sample_pixels=4096)
    pm.keyframe(frame)
    pm.update(frame)
    q = Quantizer()
    q.set_palette(pm.palette)
    still_entries = np.unique(q.assign(left, None))
    kept = pm.palette[still_entries].copy()
    moved = frame.copy()
    moved[:, w // 2 :] = _noisy(rng, h, w // 2, (230, 60, 150))  # a new colour on the right
    refits = pm.refits
    pm.update(moved)
    assert pm.refits == refits + 1
    np.testing.assert_array_equal(pm.palette[still_entries], kept)
    q.set_palette(pm.palette)
    right = pm.palette[q.assign(moved[:, w // 2 :], None)].astype(int)
    assert np.abs(right - (230, 60, 150)).max(axis=-1).mean() < 20  # the new colour is served
    pm.keyframe(moved, reuse=True)
    np.testing.assert_array_equal(pm.palette[still_entries], kept)
