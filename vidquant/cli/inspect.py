"""``vidquant inspect``: registers the command on the CLI's Typer app when imported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidquant.cli.common import Debug, Force, app, out_console, run
from vidquant.errors import SettingsError


@app.command()
def inspect(
    src: Annotated[Path, typer.Argument(help="A .vq file.")],
    frame: Annotated[
        float,
        typer.Option("--frame", "-t", metavar="T", help="Show the frame on screen at T seconds."),
    ] = 0.0,
    original: Annotated[
        Path | None,
        typer.Option(
            "--original",
            help="The source video, to compare with (default: the source named in SRC, "
            "if it is beside SRC).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("-o", "--out", help="Folder for the pictures (default: SRC.inspect/)."),
    ] = None,
    force: Force = False,
    debug: Debug = False,
) -> None:
    """Draw one frame of a .vq file and its palette over time, as PNG pictures.

    Pictures: the frame beside the original, its pixels' colours in RGB space, its palette.

    And the palette over time: every entry's colour at every frame, keyframes marked.
    """
    from vidquant.apps.inspect import inspect_file

    def job() -> None:
        try:
            report = inspect_file(src, frame, original=original, out=out, force=force)
        except SettingsError as exc:
            if exc.setting == "time_s":  # the library names its argument; the user typed --frame
                raise SettingsError(
                    "--frame" + str(exc).removeprefix("time_s"), setting="time_s"
                ) from None
            raise
        kind = ", keyframe" if report.keyframe else ""
        quality = ""
        if report.psnr_db is not None:
            quality = f", PSNR {report.psnr_db:.2f} dB against {report.original}"
        out_console.print(
            f"frame {report.frame} at {report.time_s:.3f} s{kind}: k={report.k}, "
            f"{report.colours} colours used{quality}",
            markup=False,
        )
        if report.note is not None:
            out_console.print(f"no original: {report.note}", markup=False)
        for path in report.pictures:
            out_console.print(f"wrote {path}", markup=False)

    run(job, debug=debug)
