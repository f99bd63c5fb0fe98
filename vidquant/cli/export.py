"""``vidquant export``: registers the command on the CLI's Typer app when imported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidquant.cli.common import Debug, Force, app, out_console, run


@app.command()
def export(
    src: Annotated[Path, typer.Argument(help="A .vq file.")],
    html: Annotated[
        Path,
        typer.Option(
            "--html",
            metavar="DIR",
            help="Write DIR/index.html, the player (vq-player.js and its decoder) and the .vq: "
            "a folder any static web server serves.",
        ),
    ],
    force: Force = False,
    debug: Debug = False,
) -> None:
    """Export a .vq file as a web page that plays it in any browser."""
    from vidquant.apps.web import export_html

    def job() -> None:
        folder = export_html(src, html, force=force)
        out_console.print(
            f"wrote {folder}/index.html; serve it, e.g. python -m http.server -d {folder}",
            markup=False,
        )

    run(job, debug=debug)
