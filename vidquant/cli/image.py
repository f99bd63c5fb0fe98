"""``vidquant image``: registers the command on the CLI's Typer app when imported."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vidquant.cli.common import Debug, Force, app, out_console, run
from vidquant.errors import OutputError, SettingsError
from vidquant.fileutil import check_output

if TYPE_CHECKING:
    from vidquant.apps.still import ImageReport


def _kb(nbytes: int) -> str:
    return f"{nbytes / 1000:,.1f} kB"


@app.command()
def image(
    src: Annotated[
        Path,
        typer.Argument(help="A photo (JPEG, PNG, WebP, ...), or a video (its frame at --time)."),
    ],
    k: Annotated[int, typer.Option("-k", "--colors", help="Palette size, 2..256.")] = 16,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Indexed PNG to write (default: SRC's name + .k16.png)."
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="Palette method: minibatch (the video path's fit), kmeans, random, "
            "mediancut or agglomerative.",
        ),
    ] = "minibatch",
    vq: Annotated[
        Path | None, typer.Option("--vq", metavar="OUT.vq", help="Also write a one-frame .vq.")
    ] = None,
    pictures: Annotated[
        Path | None,
        typer.Option(
            "--pictures",
            metavar="FOLDER",
            help="Also draw the palette strip, the 3-D colour scatter and original | quantised.",
        ),
    ] = None,
    compare_methods: Annotated[
        bool,
        typer.Option(
            "--compare-methods",
            help="Run every method: print a table (PSNR, time, colours, PNG size) and draw a "
            "grid of the results (--grid) instead of writing one PNG.",
        ),
    ] = False,
    grid: Annotated[
        Path | None,
        typer.Option(
            "--grid",
            help="The --compare-methods grid picture (default: SRC's name + .methods-k16.png).",
        ),
    ] = None,
    time_s: Annotated[
        float, typer.Option("--time", help="For a video source: the frame at this time, seconds.")
    ] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sampling and clustering.")] = 0,
    force: Force = False,
    debug: Debug = False,
) -> None:
    """Quantise a photo to an indexed PNG of at most k colours, with the video path's palette
    manager and quantiser module, and report colours, sizes and PSNR."""
    from vidquant.apps.still import check_method
    from vidquant.settings import check_k

    def job() -> None:
        check_k(k)
        check_method(method)
        if not (math.isfinite(time_s) and time_s >= 0):
            raise SettingsError(f"--time must be >= 0, got {time_s:g}", setting="time")
        if compare_methods:
            if output is not None or vq is not None or method != "minibatch":
                raise SettingsError(
                    "--compare-methods runs every method and writes a grid (--grid); "
                    "it takes no -o, --vq or --method"
                )
            _compare(src, k, grid, seed=seed, time_s=time_s, force=force)
        else:
            if grid is not None:
                raise SettingsError("--grid goes with --compare-methods")
            _one(src, k, output, method, vq, pictures, seed=seed, time_s=time_s, force=force)

    run(job, debug=debug)


def _describe_source(src: Path, picture_time: float | None, rgb_shape: tuple, colours: int) -> str:
    h, w, _ = rgb_shape
    at = f" (frame at {picture_time:.3f} s)" if picture_time is not None else ""
    return f"{src.name}{at}: {w}x{h}, {colours:,} colours, {_kb(src.stat().st_size)}"


def _one(
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
) -> None:
    from vidquant.apps.still import quantize_file

    dst = output if output is not None else src.with_name(f"{src.stem}.k{k}.png")
    drawn = _picture_paths(src, k, pictures, force=force) if pictures is not None else None
    report = quantize_file(src, dst, k, method=method, seed=seed, vq=vq, time_s=time_s, force=force)
    r = report.result
    say = out_console.print
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


def _compare(
    src: Path, k: int, grid: Path | None, *, seed: int, time_s: float, force: bool
) -> None:
    from rich.table import Table

    from vidquant.apps.pictures import save_method_grid
    from vidquant.apps.still import METHODS, compare_methods
    from vidquant.io.image import read_picture

    dst = grid if grid is not None else src.with_name(f"{src.stem}.methods-k{k}.png")
    if dst.suffix.lower() != ".png":
        raise SettingsError(f"--grid must name a .png file, got {dst}", setting="grid")
    check_output(dst, force=force, inputs=(src,))
    picture = read_picture(src, time_s=time_s)
    results = compare_methods(picture.rgb, k, seed=seed)
    colours = results[0].colours_before
    out_console.print(_describe_source(src, picture.time_s, picture.rgb.shape, colours))
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
    out_console.print(table)
    h, w, _ = picture.rgb.shape
    save_method_grid(
        picture.rgb,
        panels,
        dst,
        title=f"{src.name}, {w}x{h}, {colours:,} colours: k={k} by each palette method",
    )
    out_console.print(f"wrote {dst}")
