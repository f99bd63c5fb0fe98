"""``vidquant image``: registers the command on the CLI's Typer app when imported."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from vidquant.cli.common import Debug, Force, app, out_console, run
from vidquant.errors import SettingsError


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
    manager, and report colours, sizes and PSNR."""
    from vidquant.apps.image_report import compare_and_report, quantize_and_report
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
            compare_and_report(
                src, k, grid, seed=seed, time_s=time_s, force=force, say=out_console.print
            )
        else:
            if grid is not None:
                raise SettingsError("--grid goes with --compare-methods")
            quantize_and_report(
                src,
                k,
                output,
                method,
                vq,
                pictures,
                seed=seed,
                time_s=time_s,
                force=force,
                say=out_console.print,
            )

    run(job, debug=debug)
