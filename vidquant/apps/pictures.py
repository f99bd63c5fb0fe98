"""Pictures of a palette and what it does to an image, written as PNG files.

Pure functions of numpy arrays and strings: a palette swatch strip, the pixels' colours as a 3-D
scatter in RGB space, an original beside its quantised version, a grid of methods, and a
palette's entries over time. Each writes one PNG atomically (nothing under the final name until
it is complete); the caller decides whether an existing file may be replaced
(:func:`vidquant.fileutil.check_output`).

Figures are plain :class:`matplotlib.figure.Figure` objects drawn by the Agg canvas: no pyplot,
so no GUI backend is loaded, no global figure registry keeps them alive, and a program that uses
pyplot for itself is not disturbed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from mpl_toolkits.mplot3d import Axes3D

from vidquant.colours import colour_histogram, count_colours
from vidquant.fileutil import atomic_path

DPI = 110
# A light neutral grey: white and black swatches both stand out, and no hue is suggested.
BACKGROUND = "#e8e8e8"
# The 3-D panes are darker, so that pale points (sky, paper) remain visible against them.
PANE = "#a6a6a6"
TEXT = "#202020"

_STRIP_COLUMNS = 16  # swatches per row of a palette strip: 256 entries make a 16x16 block
_MAX_WIDTH_IN = 13.0  # the widest figure, inches (about 1430 px at DPI)
# A scatter sample with at most this many colours is drawn one point per colour.
_AGGREGATE_COLOURS = 256


def save_palette_strip(palette: np.ndarray, dst: Path, *, title: str) -> None:
    """Write a palette as a strip of swatches, each with its index and hex code.

    Up to 16 swatches make one row; larger palettes wrap into rows (256 entries: 16 rows).

    Parameters
    ----------
    palette
        Colours, shape (n, 3), uint8, n >= 1.
    dst
        The PNG to write (replaced if it exists).
    title
        The picture's title.

    Raises
    ------
    OutputError
        The folder of ``dst`` cannot be written.
    ValueError
        ``palette`` is not (n, 3) uint8.
    """
    palette = _check_palette(palette)
    n = len(palette)
    columns = min(n, _STRIP_COLUMNS)
    rows = math.ceil(n / columns)
    cell_in = 0.8
    margin_in, title_in = 0.25, 0.75
    width_in = max(columns * cell_in + 2 * margin_in, 5.0)
    height_in = rows * cell_in + title_in + margin_in
    fig = _figure(width_in, height_in)
    grid_w = columns * cell_in
    ax = fig.add_axes(
        (
            (width_in - grid_w) / 2 / width_in,
            margin_in / height_in,
            grid_w / width_in,
            rows * cell_in / height_in,
        )
    )
    ax.set_xlim(0, columns)
    ax.set_ylim(rows, 0)
    ax.set_axis_off()
    swatch_h = 0.62  # of a cell: the rest holds the hex code
    for i, rgb in enumerate(palette):
        row, col = divmod(i, columns)
        x, y = col + 0.06, row + 0.04
        colour = tuple(rgb / 255.0)
        ax.add_patch(
            Rectangle((x, y), 0.88, swatch_h, facecolor=colour, edgecolor="#606060", lw=0.6)
        )
        ax.text(
            x + 0.44,
            y + swatch_h / 2,
            str(i),
            ha="center",
            va="center",
            fontsize=9,
            fontweight="bold",
            color=_ink_on(rgb),
        )
        ax.text(
            x + 0.44,
            y + swatch_h + 0.15,
            "#{:02x}{:02x}{:02x}".format(*rgb),
            ha="center",
            va="center",
            fontsize=7.5,
            family="monospace",
            color=TEXT,
        )
    _title(fig, title, top_in=0.2, height_in=height_in)
    _write(fig, dst)


def save_colour_scatter(
    original: np.ndarray,
    quantised: np.ndarray | None,
    dst: Path,
    *,
    title: str,
    max_points: int = 4000,
    seed: int = 0,
    left_label: str = "original",
    right_label: str = "quantised",
) -> None:
    """Write the pixels' colours as points in RGB space, original beside quantised.

    Both panels show the same random sample of pixel positions, each point drawn in its own
    colour, on axes R, G, B from 0 to 255. Where the sample holds few distinct colours (at
    most 256, as a quantised image does), each colour is drawn once, its area growing with
    the share of the sample it holds; otherwise every sampled pixel is a small point.

    Parameters
    ----------
    original
        Pixels, shape (h, w, 3), uint8.
    quantised
        The quantised image, the same shape; None draws the original's panel only.
    dst
        The PNG to write (replaced if it exists).
    title
        The picture's title.
    max_points
        Pixels sampled (all of them when the image has fewer).
    seed
        Seed of the sample: the same seed draws the same pixels.
    left_label, right_label
        Names of the two images in the panels' captions.

    Raises
    ------
    OutputError
        The folder of ``dst`` cannot be written.
    ValueError
        An image is not (h, w, 3) uint8, or the two differ in size.
    """
    original = _check_image("original", original)
    images = [(left_label, original)]
    if quantised is not None:
        quantised = _check_image("quantised", quantised)
        if quantised.shape != original.shape:
            raise ValueError(f"quantised image is {quantised.shape}, the original {original.shape}")
        images.append((right_label, quantised))
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    pixels = original.shape[0] * original.shape[1]
    # One sample for both panels, so a point on the left and its palette colour on the right
    # come from the same pixel.
    picks = np.random.default_rng(seed).choice(pixels, size=min(max_points, pixels), replace=False)
    panel_in = 5.6
    width_in, height_in = panel_in * len(images) + 0.4, panel_in + 0.5
    fig = _figure(width_in, height_in)
    for i, (name, image) in enumerate(images, start=1):
        ax = fig.add_subplot(1, len(images), i, projection="3d")
        _scatter_panel(ax, image.reshape(-1, 3)[picks], name, distinct=count_colours(image))
    fig.subplots_adjust(left=0.0, right=0.96, bottom=0.02, top=0.86, wspace=0.08)
    _title(fig, title, top_in=0.15, height_in=height_in)
    _write(fig, dst)


def _scatter_panel(ax: Axes3D, sample: np.ndarray, name: str, *, distinct: int) -> None:
    """One 3-D panel: ``sample`` (n, 3) uint8 as points in their own colours."""
    ax.set_facecolor(BACKGROUND)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_pane_color(PANE)
    colours, counts, _ = colour_histogram(sample)
    if len(colours) <= _AGGREGATE_COLOURS:
        # A few colours hold thousands of pixels each: drawn once, sized by their share
        # (stacked points would all look alike)
        points, sizes = colours, 12.0 + 500.0 * counts / counts.max()
        how = "area: share of the sample"
    else:
        points, sizes = sample, 5.0
        how = f"{len(sample):,} pixels sampled"
    # depthshade off: a point's colour is the pixel's colour, not dimmed by its depth
    ax.scatter(
        points[:, 0],
        points[:, 1],
        points[:, 2],
        c=points / 255.0,
        s=sizes,
        depthshade=False,
        edgecolors="none",
        alpha=1.0,
    )
    ticks = [0, 64, 128, 192, 255]
    for axis, label, colour in (
        (ax.xaxis, "R", "#b00000"),
        (ax.yaxis, "G", "#007000"),
        (ax.zaxis, "B", "#0000b0"),
    ):
        axis.set_ticks(ticks)
        axis.set_label_text(label, fontsize=11, color=colour)
        axis.labelpad = 4
    ax.set_xlim(0, 255)
    ax.set_ylim(0, 255)
    ax.set_zlim(0, 255)
    ax.tick_params(labelsize=8, colors=TEXT)
    ax.set_title(f"{name}: {distinct:,} colours ({how})", fontsize=10, color=TEXT)


def save_side_by_side(
    original: np.ndarray | None,
    quantised: np.ndarray,
    dst: Path,
    *,
    title: str,
    left_label: str = "original",
    right_label: str = "quantised",
) -> None:
    """Write an original and its quantised version side by side, at their true aspect.

    Parameters
    ----------
    original
        Pixels, shape (h, w, 3), uint8; None shows the quantised image alone.
    quantised
        The quantised image, shape (h, w, 3), uint8.
    dst
        The PNG to write (replaced if it exists).
    title
        The picture's title; the caller puts sizes and k in it (e.g. ``"photo.jpg, 640x360:
        original 84.2 kB | k=16 indexed PNG 21.0 kB (4.0x), 27.7 dB"``).
    left_label, right_label
        Captions over the two images.

    Raises
    ------
    OutputError
        The folder of ``dst`` cannot be written.
    ValueError
        An image is not (h, w, 3) uint8.
    """
    panels = [(right_label, _check_image("quantised", quantised))]
    if original is not None:
        panels.insert(0, (left_label, _check_image("original", original)))
    _write(_image_grid(panels, title=title, columns=len(panels)), dst)


def save_method_grid(
    original: np.ndarray,
    panels: Sequence[tuple[str, np.ndarray]],
    dst: Path,
    *,
    title: str,
) -> None:
    """Write a grid of images: the original first, then one panel per method.

    Parameters
    ----------
    original
        Pixels, shape (h, w, 3), uint8.
    panels
        (caption, image) pairs, e.g. ``("kmeans: 27.9 dB, 183 ms", rgb)``; images (h, w, 3)
        uint8, in the order to show.
    dst
        The PNG to write (replaced if it exists).
    title
        The picture's title.

    Raises
    ------
    OutputError
        The folder of ``dst`` cannot be written.
    ValueError
        An image is not (h, w, 3) uint8.
    """
    images = [("original", _check_image("original", original))]
    images += [(caption, _check_image(caption, rgb)) for caption, rgb in panels]
    columns = min(len(images), 2 if len(images) == 4 else 3)
    _write(_image_grid(images, title=title, columns=columns), dst)


def save_palette_timeline(
    times_s: np.ndarray,
    palettes: np.ndarray,
    keyframe_times_s: Sequence[float],
    dst: Path,
    *,
    title: str,
    mark_s: float | None = None,
) -> None:
    """Write a palette's entries over time: time on x, entry index on y, each cell its colour.

    A column lasts until the next one starts (the last as long as the median spacing).
    Keyframes are marked by thin lines with a tick above the plot; ``mark_s`` by a red line.

    Parameters
    ----------
    times_s
        Start time of each column, seconds, shape (n,), increasing.
    palettes
        The palette at each of those times, shape (n, k, 3), uint8.
    keyframe_times_s
        Times of the keyframes to mark, seconds.
    dst
        The PNG to write (replaced if it exists).
    title
        The picture's title.
    mark_s
        A time to mark (the frame being inspected), seconds; None marks none.

    Raises
    ------
    OutputError
        The folder of ``dst`` cannot be written.
    ValueError
        The shapes do not match, or the times do not increase.
    """
    times = np.asarray(times_s, dtype=np.float64)
    palettes = np.asarray(palettes)
    if palettes.ndim != 3 or palettes.shape[2] != 3 or palettes.dtype != np.uint8:
        raise ValueError(f"palettes must be (n, k, 3) uint8, got {palettes.shape} {palettes.dtype}")
    if times.shape != (len(palettes),) or len(times) == 0:
        raise ValueError(f"times_s must be ({len(palettes)},) and not empty, got {times.shape}")
    steps = np.diff(times)
    if np.any(steps <= 0):
        raise ValueError("times_s must increase")
    last = float(np.median(steps)) if len(steps) else 1.0
    x_edges = np.append(times, times[-1] + last)
    k = palettes.shape[1]
    y_edges = np.arange(k + 1) - 0.5
    width_in, height_in = 12.0, 5.4
    fig = _figure(width_in, height_in)
    ax = fig.add_axes((0.07, 0.2, 0.9, 0.62))
    ax.pcolormesh(x_edges, y_edges, palettes.transpose(1, 0, 2), shading="flat")
    ax.set_xlim(x_edges[0], x_edges[-1])
    ax.set_ylim(k - 0.5, -0.5)  # entry 0 at the top, as a palette is read
    ax.set_xlabel("time (s)", fontsize=11, color=TEXT)
    ax.set_ylabel("palette entry", fontsize=11, color=TEXT)
    ax.tick_params(labelsize=9, colors=TEXT)
    if k <= 16:
        ax.set_yticks(range(k))
    handles = []
    if len(keyframe_times_s):
        keyframes = np.asarray(keyframe_times_s, dtype=np.float64)
        ax.vlines(keyframes, -0.5, k - 0.5, colors="black", lw=0.8, alpha=0.7)
        # and a tick above the plot: a line alone is lost where it meets dark colours
        (ticks,) = ax.plot(
            keyframes,
            np.ones_like(keyframes),
            "v",
            ms=7,
            color="black",
            transform=ax.get_xaxis_transform(),  # x in seconds, y in axes fractions
            clip_on=False,
            label="keyframe",
        )
        handles.append(ticks)
    if mark_s is not None:
        handles.append(
            ax.axvline(mark_s, color="#e00000", lw=2.0, label=f"frame at {mark_s:.3f} s")
        )
    if handles:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14),
            ncols=len(handles),
            fontsize=9,
            frameon=False,
        )
    _title(fig, title, top_in=0.15, height_in=height_in)
    _write(fig, dst)


# --- helpers ---------------------------------------------------------------------------------


def _figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(fig)  # attaches itself: the figure draws with Agg whatever pyplot uses
    return fig


def _write(fig: Figure, dst: Path) -> None:
    with atomic_path(Path(dst), suffix=".png") as tmp:
        # format given: the temporary's name is not what decides it
        fig.savefig(tmp, format="png", dpi=DPI, facecolor=fig.get_facecolor())


def _title(fig: Figure, title: str, *, top_in: float, height_in: float) -> None:
    fig.suptitle(title, y=1 - top_in / height_in, va="top", fontsize=12, color=TEXT, wrap=True)


def _ink_on(rgb: np.ndarray) -> str:
    """Black or white, whichever reads better on ``rgb`` (by Rec. 709 luma)."""
    luma = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return "black" if luma > 128 else "white"


def _image_grid(images: Sequence[tuple[str, np.ndarray]], *, title: str, columns: int) -> Figure:
    """A figure of captioned images, ``columns`` per row, each at its true aspect."""
    rows = math.ceil(len(images) / columns)
    h, w = images[0][1].shape[:2]
    aspect = min(max(h / w, 0.2), 3.0)  # height per width; extreme shapes are letterboxed
    cell_w = min(6.4, (_MAX_WIDTH_IN - 0.4) / columns)
    cell_h = cell_w * aspect
    if rows * cell_h > 9.0:  # tall images: shrink so the page stays on a screen
        cell_h = 9.0 / rows
        cell_w = cell_h / aspect
    caption_in, title_in, pad_in = 0.4, 0.6, 0.2
    width_in = columns * cell_w + (columns + 1) * pad_in
    height_in = title_in + rows * (cell_h + caption_in) + pad_in
    fig = _figure(width_in, height_in)
    for i, (caption, rgb) in enumerate(images):
        row, col = divmod(i, columns)
        left = pad_in + col * (cell_w + pad_in)
        bottom = height_in - title_in - (row + 1) * (cell_h + caption_in) + 0.05
        ax = fig.add_axes(
            (left / width_in, bottom / height_in, cell_w / width_in, cell_h / height_in)
        )
        ax.imshow(_for_display(rgb, cell_w * DPI), interpolation="antialiased")
        ax.set_axis_off()
        ax.set_title(caption, fontsize=10, color=TEXT, pad=4)
    _title(fig, title, top_in=0.15, height_in=height_in)
    return fig


def _for_display(rgb: np.ndarray, width_px: float) -> np.ndarray:
    """``rgb`` thinned to at most about twice the shown width: Agg's smoothing then has
    enough pixels, and a 4K frame does not cost seconds to draw."""
    step = int(rgb.shape[1] // (2 * width_px))
    return rgb[::step, ::step] if step > 1 else rgb


def _check_image(name: str, rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.size == 0:
        raise ValueError(f"{name} must be an (h, w, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    return rgb


def _check_palette(palette: np.ndarray) -> np.ndarray:
    palette = np.asarray(palette)
    if palette.ndim != 2 or palette.shape[1] != 3 or palette.dtype != np.uint8 or not len(palette):
        raise ValueError(f"palette must be (n, 3) uint8, got {palette.shape} {palette.dtype}")
    return palette


__all__ = [
    "save_colour_scatter",
    "save_method_grid",
    "save_palette_strip",
    "save_palette_timeline",
    "save_side_by_side",
]
