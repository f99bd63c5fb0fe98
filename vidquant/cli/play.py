"""``vidquant play``: registers the command on the CLI's Typer app when imported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidquant.cli.common import Debug, app, out_console, run


@app.command()
def play(
    src: Annotated[
        Path, typer.Argument(help="A .vq file, or any video to preview a setting on the fly.")
    ],
    side_by_side: Annotated[
        Path | None,
        typer.Option(
            "--side-by-side",
            metavar="ORIGINAL",
            help="Show this original beside it, in sync, with each frame's PSNR.",
        ),
    ] = None,
    k: Annotated[
        int | None,
        typer.Option("-k", "--colors", help="Palette size of a preview (SRC not a .vq), 2..256."),
    ] = None,
    browser: Annotated[
        bool,
        typer.Option(
            "--browser",
            help="Play a .vq in the web browser instead: serve it on 127.0.0.1 with the "
            "JavaScript player and open it (Ctrl-C stops the server).",
        ),
    ] = False,
    port: Annotated[
        int, typer.Option("--port", help="With --browser: the port (default: a free one).")
    ] = 0,
    no_open: Annotated[
        bool,
        typer.Option("--no-open", help="With --browser: print the address, open no browser."),
    ] = False,
    pause_at: Annotated[
        int | None,
        typer.Option("--pause-at", hidden=True, help="Pause on this frame (0-based); for tests."),
    ] = None,
    debug: Debug = False,
) -> None:
    """Play a .vq file in a window, or preview any video quantised on the fly.

    Sound is not played: the window shows the pictures only (decode to mp4 to hear the audio).

    Keys: space pauses, left/right arrows jump to the previous/next keyframe, q or Esc quits.

    Needs a display; without one, write a video with `vidquant decode`. With --browser the
    page's player plays it (pictures only for now).
    """
    if browser:
        extra = side_by_side is not None or k is not None
        run(lambda: _play_in_browser(src, port, open_page=not no_open, extra=extra), debug=debug)
        return
    # OpenCV before anything that loads PyAV: PyAV's wheels bundle their own libxcb, and a Qt
    # highgui window opened after it has loaded freezes for good (PyAV-Org/PyAV#978,
    # opencv/opencv#29195). vidquant.apps.play imports cv2 first, and vidquant.io does too.
    from vidquant.apps.play import play_file
    from vidquant.settings import load_settings

    def job() -> None:
        settings = load_settings(k=k) if k is not None else None
        report = play_file(src, original=side_by_side, settings=settings, pause_at=pause_at)
        dropped = f", {report.dropped} dropped (late)" if report.dropped else ""
        out_console.print(f"played {report.shown} frames{dropped}", markup=False)

    run(job, debug=debug)


def _play_in_browser(src: Path, port: int, *, open_page: bool, extra: bool) -> None:
    import contextlib
    import threading
    import webbrowser

    from vidquant.apps.web import serving
    from vidquant.errors import SettingsError

    if extra:
        raise SettingsError("--browser plays a .vq file as it is: no --side-by-side, no -k")
    if not 0 <= port <= 65535:
        raise SettingsError(f"--port must be 0..65535 (0: any free port), got {port}")
    with serving(src, port=port) as server:
        out_console.print(f"serving {server.url} (Ctrl-C to stop)", markup=False)
        out_console.file.flush()  # a script reading the address waits for this line
        if open_page:
            webbrowser.open(server.url)
        # Ctrl-C, or a kill (cli.run turns it into one): the way to stop, not a failure
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    out_console.print("stopped")
