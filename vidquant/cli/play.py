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
    pause_at: Annotated[
        int | None,
        typer.Option("--pause-at", hidden=True, help="Pause on this frame (0-based); for tests."),
    ] = None,
    debug: Debug = False,
) -> None:
    """Play a .vq file in a window, or preview any video quantised on the fly.

    Sound is not played: the window shows the pictures only (decode to mp4 to hear the audio).

    Keys: space pauses, left/right arrows jump to the previous/next keyframe, q or Esc quits.

    Needs a display; without one, write a video with `vidquant decode`.
    """
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
