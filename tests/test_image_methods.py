"""Still-image palettes: the video path's fit and the classic baselines (issue 6, part 2)."""

from __future__ import annotations

import numpy as np
import pytest

from media import synthetic_frame
from vidquant.metrics import psnr
from vidquant.palette import METHODS, fit_palette
from vidquant.quantize import Quantizer


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return synthetic_frame(3, 160, 96)


def quantised(rgb: np.ndarray, palette: np.ndarray) -> np.ndarray:
    q = Quantizer()
    q.set_palette(palette)
    return palette[q.assign(rgb)]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_at_most_k_colours(photo, method):
    palette = fit_palette(photo, 16, method, seed=1)
    assert palette.dtype == np.uint8 and palette.ndim == 2 and palette.shape[1] == 3
    assert 2 <= len(palette) <= 16
    assert len(np.unique(palette, axis=0)) == len(palette)
    out = quantised(photo, palette)
    assert len(np.unique(out.reshape(-1, 3), axis=0)) <= 16
    assert psnr(photo, out) > 15.0, method  # a sanity floor; the ranking is tested below
    assert np.array_equal(palette, fit_palette(photo, 16, method, seed=1)), "not repeatable"


def test_clustering_beats_a_random_codebook(photo):
    scores = {m: psnr(photo, quantised(photo, fit_palette(photo, 16, m))) for m in METHODS}
    for method in ("minibatch", "kmeans", "agglomerative", "mediancut"):
        assert scores[method] > scores["random"] + 1.0, scores
    assert scores["kmeans"] >= scores["mediancut"], scores


@pytest.mark.parametrize("method", METHODS)
def test_fewer_colours_than_k_are_kept_exactly(method):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:4] = (200, 10, 10)
    rgb[:, :2] = (1, 2, 3)
    palette = fit_palette(rgb, 8, method)
    assert sorted(map(tuple, palette.tolist())) == [(0, 0, 0), (1, 2, 3), (200, 10, 10)]
    assert np.array_equal(quantised(rgb, palette), rgb)


@pytest.mark.parametrize(("method", "k"), [("median", 8), ("kmeans", 1), ("random", 257)])
def test_bad_calls(photo, method, k):
    with pytest.raises(ValueError, match="must be"):
        fit_palette(photo, k, method)
