"""``vidquant explore``: registers the command on the CLI's Typer app when imported."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from vidquant.cli.common import Debug, app, out_console, run, with_flag_names


@app.command()
def explore(
    src: Annotated[
        list[Path],
        typer.Argument(
            help="Pictures (JPEG, PNG, ...), videos, or folders of them (their pictures and "
            "videos, by name, not sub-folders); the page has a picker when there are several.",
            show_default=False,
        ),
    ],
    port: Annotated[
        int, typer.Option("--port", help="Port on 127.0.0.1; 0 (the default) picks a free one.")
    ] = 0,
    k: Annotated[int, typer.Option("-k", "--colors", help="Palette size to start with.")] = 16,
    method: Annotated[
        str, typer.Option("--method", help="Palette method to start with (the page lists all).")
    ] = "minibatch",
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in the web browser.")
    ] = False,
    debug: Debug = False,
) -> None:
    """Try k on pictures and video frames in a local web page: original and quantised side
    by side, with size, colours and PSNR, as a slider moves.

    Several sources (files, folders) are listed in a picker on the page, and each is read when
    first chosen: a file that turns out unreadable shows its error there. A named file that is
    missing, or a selection with no picture or video at all, stops the command (exit 3).

    The page is served on 127.0.0.1 only (this computer), and its address printed. Ctrl-C (or
    a kill) stops the server: that is how it is meant to end, so it prints `stopped` and exits
    0, not 130 or 143 as an interrupted job does.
    """
    from vidquant.apps.explore import Explorer

    def job() -> None:
        explorer = with_flag_names(Explorer, src, port=port, k=k, method=method)
        with explorer:
            out_console.print(f"serving {explorer.url} (Ctrl-C to stop)", markup=False)
            out_console.file.flush()  # a script reading the address waits for this line
            if open_browser:
                import webbrowser

                webbrowser.open(explorer.url)
            # Ctrl-C, or a kill (cli.run turns it into one): the way to stop, not a failure
            with contextlib.suppress(KeyboardInterrupt):
                explorer.wait()
        out_console.print("stopped")

    run(job, debug=debug)
