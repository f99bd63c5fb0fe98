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
    from vidquant.apps.info import describe

    def job() -> None:
        vq = describe(src)
        h = vq.header
        # The metadata is descriptive and may come from another writer: trust no type in it.
        source = h.meta.get("source") if isinstance(h.meta.get("source"), dict) else {}
        rows = [
            ("file", str(src)),
            ("format version", f"{vq.version[0]}.{vq.version[1]}"),
            ("encoder", str(h.meta.get("encoder", "?"))[:80]),
            ("size", f"{h.width}x{h.height}"),
            ("frame rate", f"{float(h.fps):.3f} fps ({h.fps.numerator}/{h.fps.denominator})"),
            ("time base", f"{h.time_base.numerator}/{h.time_base.denominator} s"),
            ("duration", f"{vq.duration_s:.3f} s"),
            ("frames", str(vq.frames)),
            ("keyframes", str(vq.keyframes)),
            ("k", str(h.k)),
            (
                "source",
                f"{source.get('name')} ({source.get('codec')}, {source.get('pix_fmt')}, "
                f"{source.get('width')}x{source.get('height')})",
            ),
        ]
        a = vq.audio
        rows.append(
            (
                "audio",
                "none"
                if a is None
                else f"{a.codec}, {a.sample_rate} Hz, {a.channels} ch ({a.layout or '?'})",
            )
        )
        for name, nbytes in (
            ("total", vq.file_bytes),
            ("labels", vq.label_bytes),
            ("palettes", vq.palette_bytes),
            ("audio", vq.audio_bytes),
            ("overhead", vq.overhead_bytes),
        ):
            share = 100 * nbytes / vq.file_bytes if vq.file_bytes else 0.0
            rows.append(
                (f"{name}", f"{nbytes:>12,d} B  {vq.kbps(nbytes):10.1f} kbps  {share:5.1f} %")
            )
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            out_console.print(f"{name:<{width}}  {value}", markup=False)

    run(job, debug=debug)
