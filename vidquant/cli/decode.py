"""``vidquant decode``: registers the command on the CLI's Typer app when imported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidquant.cli.common import Debug, Force, Quiet, RichProgress, app, out_console, run, warning
from vidquant.errors import FormatError


@app.command()
def decode(
    src: Annotated[Path, typer.Argument(help="A .vq file.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="OUT.mp4 (H.264), OUT.mkv (lossless) or a folder (PNG frames); "
            "default: SRC.decoded.mp4 beside SRC.",
        ),
    ] = None,
    salvage: Annotated[
        bool,
        typer.Option(
            "--salvage", help="Decode every intact frame of a damaged file; report the damage."
        ),
    ] = False,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Decode a .vq file into a video any player opens, or PNG frames."""
    from vidquant.export import decode_file

    def job() -> None:
        dst = output if output is not None else src.with_suffix(".decoded.mp4")
        try:
            report = decode_file(
                src, dst, force=force, salvage=salvage, progress=RichProgress(enabled=not quiet)
            )
        except FormatError as exc:
            if getattr(exc, "salvageable", False):
                raise FormatError(
                    f"{exc.reason}; --salvage decodes every intact frame", offset=exc.offset
                ) from exc
            raise
        out_console.print(f"wrote {report.path}: {report.frames} frames, {report.duration_s:.2f} s")
        _warn_damage(report.damage)

    run(job, debug=debug)


_DAMAGE_LINES = 10


def _warn_damage(spans: tuple) -> None:
    """One warning line per damaged stretch a salvaging decode skipped (at most 10)."""
    if not spans:
        return
    counts = [s.frames_lost for s in spans]
    lost = "an unknown number of" if None in counts else str(sum(counts))
    stretches = "1 damaged stretch" if len(spans) == 1 else f"{len(spans)} damaged stretches"
    warning(f"{lost} frames lost in {stretches}; every intact frame was decoded")
    for span in spans[:_DAMAGE_LINES]:
        warning(f"  {span.describe()}")
    if len(spans) > _DAMAGE_LINES:
        warning(f"  ... and {len(spans) - _DAMAGE_LINES} more")
