"""``vidquant compare ORIGINAL SRC.vq``: the table, ``--json``, ``--plot`` and ``--frames``.

Importing this module registers the command on the CLI's app. What it prints and draws, and the
JSON schema, are :mod:`vidquant.apps.compare.report`'s; this module only parses the options.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from vidquant.cli.common import Debug, Quiet, RichProgress, app, out_console, run
from vidquant.errors import SettingsError


@app.command()
def compare(
    original: Annotated[Path, typer.Argument(help="The source video the .vq was encoded from.")],
    src: Annotated[Path, typer.Argument(help="A .vq file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures as JSON (units in key names).")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write per-frame bits and PSNR over time to this PNG."),
    ] = None,
    frames: Annotated[
        Path | None,
        typer.Option("--frames", help="Write side-by-side stills (original | vidquant) PNG."),
    ] = None,
    times: Annotated[
        str | None,
        typer.Option(
            "--times", help="Still times for --frames, seconds, e.g. 1.0,2.5 (default: 3 spread)."
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="Also encode with h264 (same PSNR) and/or gif (same k), e.g. h264,gif. Slow.",
        ),
    ] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Compare a .vq with its original: sizes, bitrates, PSNR, SSIM, flicker, colours."""
    # numpy, PyAV, OpenCV and matplotlib load with the command, not with the CLI's --help.
    from vidquant.apps.compare.report import report_comparison

    def job() -> None:
        refs = _split(reference) if reference else ()
        still_times = [_seconds(t) for t in _split(times)] if times else None
        text = report_comparison(
            original,
            src,
            references=refs,
            as_json=as_json,
            plot=plot,
            frames=frames,
            times_s=still_times,
            progress=RichProgress(enabled=not quiet),
        )
        out_console.print(text, markup=False)

    run(job, debug=debug)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"times must be seconds like 1.0,2.5, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise SettingsError(f"times must be >= 0 seconds, got {text}")
    return value
