"""The ``vidquant`` program: the Typer app with every command registered, and its entry point.

Each command lives in its own module and imports what it needs only when it runs, so
``vidquant --help``, ``--version`` and ``info`` start without PyAV, OpenCV or scikit-learn.
"""

from __future__ import annotations

from typing import Annotated

import typer

from vidquant import __version__

# Typer lists the commands in the order they register: the everyday ones first.
# isort: off
from vidquant.cli import encode, decode, info  # noqa: F401
from vidquant.cli import compare, explore, export, image, inspect, play  # noqa: F401

# isort: on
from vidquant.cli.common import app, out_console

__all__ = ["app", "main"]


def _version(value: bool) -> None:
    if value:
        out_console.print(f"vidquant {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """vidquant: palette video with k-means colour quantisation."""


def main() -> None:
    """Console-script entry point."""
    app()
