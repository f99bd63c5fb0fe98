"""``vidquant info``: registers the command on the CLI's Typer app when imported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidquant.cli.common import Debug, app, out_console, run


@app.command()
def info(
    src: Annotated[Path, typer.Argument(help="A .vq file.")],
    debug: Debug = False,
) -> None:
    """Show a .vq file's header, duration, frames, and where its bytes go."""
    from vidquant.apps.info import describe, info_lines

    def job() -> None:
        for line in info_lines(describe(src), src):
            out_console.print(line, markup=False)

    run(job, debug=debug)
