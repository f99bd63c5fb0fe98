"""The PNG pictures: each is a real PNG that shows its data, and a failed write leaves nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from vidquant.apps import pictures
from vidquant.errors import OutputError

# Saturated colours that neither the background, the 3-D panes nor the text use.
RED, GREEN, BLUE, YELLOW = (230, 20, 20), (20, 200, 40), (30, 40, 220), (240, 220, 10)


def _png(path: Path) -> np.ndarray:
    """The picture's pixels, (h, w, 3) uint8, after checking it is a non-empty PNG."""
    assert path.stat().st_size > 0
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def _count(img: np.ndarray, colour: tuple[int, int, int], *, tol: int = 2) -> int:
    """Pixels within ``tol`` levels of ``colour`` in every channel."""
    return int((np.abs(img.astype(int) - colour) <= tol).all(axis=-1).sum())


def _packed(rgb: np.ndarray) -> np.ndarray:
    """Colours as 24-bit integers, one per pixel."""
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]


def _quadrants(h: int = 60, w: int = 80) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 2] = RED
    img[: h // 2, w // 2 :] = GREEN
    img[h // 2 :, : w // 2] = BLUE
    img[h // 2 :, w // 2 :] = YELLOW
    return img


def test_palette_strip_shows_every_entry(tmp_path: Path) -> None:
    palette = np.array([RED, GREEN, BLUE, YELLOW], np.uint8)
    dst = tmp_path / "strip.png"
    pictures.save_palette_strip(palette, dst, title="four colours")
    img = _png(dst)
    for colour in palette:
        assert _count(img, tuple(colour), tol=0) > 500, f"swatch {colour} missing"


def test_a_256_colour_strip_wraps_into_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    palette = rng.choice(256**3, 256, replace=False)
    palette = np.stack([palette >> 16, (palette >> 8) & 255, palette & 255], 1).astype(np.uint8)
    dst = tmp_path / "strip.png"
    pictures.save_palette_strip(palette, dst, title="k=256")
    img = _png(dst)
    assert img.shape[0] > img.shape[1] * 0.8, "16 rows of 16: about square, not a long strip"
    shown, counts = np.unique(_packed(img), return_counts=True)
    count = dict(zip(shown.tolist(), counts.tolist(), strict=True))
    missing = [i for i, c in enumerate(_packed(palette).tolist()) if count.get(c, 0) < 100]
    assert not missing, f"swatches missing: {missing}"


def test_scatter_draws_each_colour_in_both_panels(tmp_path: Path) -> None:
    original = _quadrants()
    rng = np.random.default_rng(0)
    noisy = np.clip(original + rng.integers(-3, 4, original.shape), 0, 255).astype(np.uint8)
    two, one = tmp_path / "two.png", tmp_path / "one.png"
    pictures.save_colour_scatter(noisy, original, two, title="two panels", max_points=500)
    pictures.save_colour_scatter(noisy, None, one, title="one panel", max_points=500)
    img2, img1 = _png(two), _png(one)
    for colour in (RED, GREEN, BLUE, YELLOW):
        assert _count(img2, colour, tol=4) > 20, f"no point of colour {colour}"
        assert _count(img1, colour, tol=4) > 5, f"no point of colour {colour} (one panel)"
    assert img1.shape[1] < img2.shape[1] * 0.7, "one panel is about half as wide as two"


def test_scatter_sample_is_repeatable(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    pictures.save_colour_scatter(img, None, a, title="t", max_points=300, seed=7)
    pictures.save_colour_scatter(img, None, b, title="t", max_points=300, seed=7)
    assert np.array_equal(_png(a), _png(b))


def test_side_by_side_keeps_the_aspect_and_shows_both(tmp_path: Path) -> None:
    original = np.full((80, 320, 3), RED, np.uint8)
    quantised = np.full((80, 320, 3), BLUE, np.uint8)
    both, alone = tmp_path / "both.png", tmp_path / "alone.png"
    pictures.save_side_by_side(original, quantised, both, title="a | b, k=2")
    pictures.save_side_by_side(None, quantised, alone, title="b alone")
    img = _png(both)
    assert _count(img, RED) > 10_000 and _count(img, BLUE) > 10_000
    img = _png(alone)
    assert _count(img, RED) == 0 and _count(img, BLUE) > 10_000
    # 4:1 images: the shown blue area keeps that aspect (within the display's rounding)
    rows, cols = np.nonzero((np.abs(img.astype(int) - BLUE) <= 2).all(axis=-1))
    shown = (cols.max() - cols.min() + 1) / (rows.max() - rows.min() + 1)
    assert shown == pytest.approx(4.0, rel=0.03)


def test_method_grid_shows_the_original_and_every_panel(tmp_path: Path) -> None:
    original = np.full((40, 60, 3), RED, np.uint8)
    panels = [(f"m{i}", np.full((40, 60, 3), c, np.uint8)) for i, c in enumerate([GREEN, BLUE])]
    panels.append(("m2: 27.9 dB, 183 ms", np.full((40, 60, 3), YELLOW, np.uint8)))
    dst = tmp_path / "grid.png"
    pictures.save_method_grid(original, panels, dst, title="methods")
    img = _png(dst)
    for colour in (RED, GREEN, BLUE, YELLOW):
        assert _count(img, colour) > 10_000, f"panel of colour {colour} missing"


def test_timeline_shows_each_palette_and_the_mark(tmp_path: Path) -> None:
    times = np.arange(20) / 10.0
    palettes = np.empty((20, 2, 3), np.uint8)
    palettes[:10] = [RED, GREEN]
    palettes[10:] = [BLUE, YELLOW]
    marked, plain = tmp_path / "marked.png", tmp_path / "plain.png"
    pictures.save_palette_timeline(times, palettes, [0.0, 1.0], marked, title="t", mark_s=0.55)
    pictures.save_palette_timeline(times, palettes, [0.0, 1.0], plain, title="t")
    img = _png(marked)
    for colour in (RED, GREEN, BLUE, YELLOW):
        assert _count(img, colour) > 10_000, f"palette colour {colour} missing"
    mark = (224, 0, 0)
    assert _count(img, mark, tol=8) > 100 and _count(_png(plain), mark, tol=8) == 0


def test_bad_input_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="palette must be"):
        pictures.save_palette_strip(np.zeros((4, 4), np.uint8), tmp_path / "x.png", title="t")
    with pytest.raises(ValueError, match="original must be"):
        pictures.save_colour_scatter(
            np.zeros((4, 4), np.float32), None, tmp_path / "x.png", title="t"
        )
    with pytest.raises(ValueError, match="increase"):
        pictures.save_palette_timeline(
            np.zeros(2), np.zeros((2, 3, 3), np.uint8), [], tmp_path / "x.png", title="t"
        )
    assert not list(tmp_path.iterdir())


_IMG = _quadrants(20, 30)
WRITERS: dict[str, Callable[[Path], None]] = {
    "strip": lambda d: pictures.save_palette_strip(_IMG[0], d, title="t"),
    "scatter": lambda d: pictures.save_colour_scatter(_IMG, _IMG, d, title="t", max_points=50),
    "side_by_side": lambda d: pictures.save_side_by_side(_IMG, _IMG, d, title="t"),
    "grid": lambda d: pictures.save_method_grid(_IMG, [("a", _IMG)], d, title="t"),
    "timeline": lambda d: pictures.save_palette_timeline(
        np.arange(3.0), np.stack([_IMG[0]] * 3), [0.0], d, title="t"
    ),
}


@pytest.mark.parametrize("name", WRITERS)
def test_an_unwritable_folder_is_an_output_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputError, match="cannot write in the output folder"):
        WRITERS[name](tmp_path / "missing" / "x.png")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", WRITERS)
def test_a_failed_write_leaves_nothing(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Figure, fname: Path, **kwargs: object) -> None:
        Path(fname).write_bytes(b"\x89PNG half")  # a partial file under the temporary name
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError, match="No space left"):
        WRITERS[name](tmp_path / "x.png")
    assert not list(tmp_path.iterdir()), "a failed write left a file behind"
