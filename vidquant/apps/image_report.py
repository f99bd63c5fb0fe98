"""What ``vidquant image`` does and says: one picture quantised and reported, or every palette
method compared, with the pictures drawn on request. The command line only parses and calls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vidquant.apps.still import METHODS, ImageReport, compare_methods, quantize_file
from vidquant.errors import OutputError, SettingsError
from vidquant.fileutil import check_output
from vidquant.io.image import read_picture

Say = Callable[[object], None]  # prints one line (or a rich renderable)


def _kb(nbytes: int) -> str:
    return f"{nbytes / 1000:,.1f} kB"


def _describe_source(src: Path, picture_time: float | None, rgb_shape: tuple, colours: int) -> str:
    h, w, _ = rgb_shape
    at = f" (frame at {picture_time:.3f} s)" if picture_time is not None else ""
    return f"{src.name}{at}: {w}x{h}, {colours:,} colours, {_kb(src.stat().st_size)}"


def quantize_and_report(
    src: Path,
    k: int,
    output: Path | None,
    method: str,
    vq: Path | None,
    pictures: Path | None,
    *,
    seed: int,
    time_s: float,
    force: bool,
    say: Say,
) -> None:
    """``vidquant image SRC``: quantise one picture, write its PNG (and ``.vq`` and pictures
    when asked), and ``say`` what was done, a line at a time."""

    dst = output if output is not None else src.with_name(f"{src.stem}.k{k}.png")
    drawn = _picture_paths(src, k, pictures, force=force) if pictures is not None else None
    report = quantize_file(src, dst, k, method=method, seed=seed, vq=vq, time_s=time_s, force=force)
    r = report.result
    say(_describe_source(src, report.source.time_s, report.source.rgb.shape, r.colours_before))
    say(
        f"k={k} {method}: {r.colours_after} colours, PSNR {r.psnr_db:.2f} dB "
        f"(palette {r.fit_s * 1000:.0f} ms, labels {r.assign_s * 1000:.0f} ms)"
    )
    raw_ratio = report.raw_bytes / report.png_bytes
    if raw_ratio >= 1:
        raw = f"{raw_ratio:.1f}x smaller than raw RGB ({_kb(report.raw_bytes)})"
    else:  # a tiny picture: the PNG's fixed headers outweigh its pixels
        raw = f"{1 / raw_ratio:.1f}x LARGER than raw RGB ({_kb(report.raw_bytes)})"
    if report.ratio is None:
        versus = raw  # the source file is a whole video
    elif report.ratio >= 1:
        versus = f"{report.ratio:.2f}x smaller than the source file; {raw}"
    else:
        versus = f"{1 / report.ratio:.2f}x LARGER than the source file; {raw}"
    say(f"wrote {dst}: {_kb(report.png_bytes)} indexed PNG, {versus}")
    if report.vq_path is not None:
        say(f"wrote {report.vq_path}: {_kb(report.vq_bytes)} one-frame .vq")
    if drawn is not None:
        _draw(report, drawn)
        for path in drawn.values():
            say(f"wrote {path}")


def _picture_paths(src: Path, k: int, folder: Path, *, force: bool) -> dict[str, Path]:
    """The --pictures files, checked before any work; the folder is made if missing."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--pictures {folder} exists and is not a folder")
    parent = folder.parent if str(folder.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"output folder does not exist: {parent}")
    stem = f"{src.stem}.k{k}"
    paths = {
        "strip": folder / f"{stem}.palette.png",
        "scatter": folder / f"{stem}.scatter.png",
        "side": folder / f"{stem}.side_by_side.png",
    }
    if folder.is_dir():
        for path in paths.values():
            check_output(path, force=force)
    return paths


def _draw(report: ImageReport, paths: dict[str, Path]) -> None:
    # matplotlib only when a picture is asked for (it costs 0.4 s to import)
    from vidquant.apps.pictures import save_colour_scatter, save_palette_strip, save_side_by_side

    r = report.result
    src = report.source.path
    next(iter(paths.values())).parent.mkdir(exist_ok=True)
    original = report.source.rgb
    h, w, _ = original.shape
    # a video's file holds the whole clip: its size says nothing about one frame
    source_size = "" if report.ratio is None else f"{_kb(report.source_bytes)} "
    save_palette_strip(
        r.palette,
        paths["strip"],
        title=f"{src.name}: k={r.k} {r.method} palette, {len(r.palette)} colours",
    )
    save_colour_scatter(
        original,
        r.rgb,
        paths["scatter"],
        title=f"{src.name}: pixel colours in RGB, original ({r.colours_before:,}) "
        f"vs k={r.k} ({r.colours_after})",
    )
    save_side_by_side(
        original,
        r.rgb,
        paths["side"],
        title=f"{src.name}, {w}x{h}: original {source_size}| "
        f"k={r.k} indexed PNG {_kb(report.png_bytes)}, {r.psnr_db:.1f} dB",
        right_label=f"k={r.k} ({r.method})",
    )


def compare_and_report(
    src: Path, k: int, grid: Path | None, *, seed: int, time_s: float, force: bool, say: Say
) -> None:
    """``vidquant image SRC --compare-methods``: every palette method on one picture, as a
    table ``say`` prints and a grid picture."""
    from rich.table import Table

    from vidquant.apps.pictures import save_method_grid

    dst = grid if grid is not None else src.with_name(f"{src.stem}.methods-k{k}.png")
    if dst.suffix.lower() != ".png":
        raise SettingsError(f"--grid must name a .png file, got {dst}", setting="grid")
    check_output(dst, force=force, inputs=(src,))
    picture = read_picture(src, time_s=time_s)
    results = compare_methods(picture.rgb, k, seed=seed)
    colours = results[0].colours_before
    say(_describe_source(src, picture.time_s, picture.rgb.shape, colours))
    table = Table(title=f"k={k}: palette methods, exact nearest-colour labels")
    table.add_column("method", no_wrap=True, min_width=max(len(m) for m in METHODS))
    for name in ("PSNR dB", "colours", "fit ms", "label ms", "total ms", "PNG"):
        table.add_column(name, justify="right")
    panels = []
    for r in results:
        size = len(r.png())
        table.add_row(
            r.method,
            f"{r.psnr_db:.2f}",
            str(r.colours_after),
            f"{r.fit_s * 1000:.0f}",
            f"{r.assign_s * 1000:.0f}",
            f"{r.seconds * 1000:.0f}",
            _kb(size),
        )
        panels.append(
            (f"{r.method}: {r.psnr_db:.2f} dB, {r.seconds * 1000:.0f} ms, {_kb(size)}", r.rgb)
        )
    say(table)
    h, w, _ = picture.rgb.shape
    save_method_grid(
        picture.rgb,
        panels,
        dst,
        title=f"{src.name}, {w}x{h}, {colours:,} colours: k={k} by each palette method",
    )
    say(f"wrote {dst}")
