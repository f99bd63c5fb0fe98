"""``vidquant encode``: registers the command on the CLI's Typer app when imported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidquant.cli.common import (
    Debug,
    Force,
    Quiet,
    RichProgress,
    app,
    mb,
    out_console,
    parse_size,
    run,
    warning,
    with_flag_names,
)


@app.command()
def encode(
    src: Annotated[Path, typer.Argument(help="Source video (mp4, mkv, webm, avi, mov, ...).")],
    k: Annotated[int | None, typer.Option("-k", "--colors", help="Palette size, 2..256.")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output .vq (default: beside SRC).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML preset (see configs/).")
    ] = None,
    keyint: Annotated[
        float | None, typer.Option("--keyint", help="Longest keyframe interval, seconds.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (same seed, same file).")
    ] = None,
    start: Annotated[float | None, typer.Option("--start", help="Start time, seconds.")] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Seconds to encode.")] = None,
    width: Annotated[int | None, typer.Option("--width", help="Resize to this width.")] = None,
    quality: Annotated[
        int | None,
        typer.Option(
            "--quality",
            help="0..100: lower trades colour error for size (rate-distortion); 100 codes the "
            "quantiser's labels losslessly.",
        ),
    ] = None,
    audio: Annotated[
        str | None,
        typer.Option(
            "--audio",
            help="copy (keep the packets where mp4/mkv hold them, else Opus), opus, or none.",
        ),
    ] = None,
    audio_stream: Annotated[
        int | None,
        typer.Option("--audio-stream", help="Which audio stream, 0-based (default: the first)."),
    ] = None,
    target_kbps: Annotated[
        float | None,
        typer.Option(
            "--target-kbps",
            help="Stay under this bitrate (audio included): lowers k, then the width.",
        ),
    ] = None,
    max_size: Annotated[
        str | None,
        typer.Option("--max-size", help="Stay under this file size: bytes, or 500k, 2M, 1.5G."),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="On Ctrl-C, a kill or a source that fails part-way, keep the frames encoded "
            "so far as a valid, shorter .vq.",
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Worker processes encoding segments of the clip at once (default: one per "
            "usable core from 1280x720 up, else 1: in this process). Clips under 4 s use one.",
        ),
    ] = None,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Encode a video into a palette video (.vq)."""
    from vidquant.encode import encode_file
    from vidquant.io.timing import describe_times
    from vidquant.settings import load_settings

    def job() -> None:
        settings = with_flag_names(
            load_settings,
            config,
            k=k,
            keyint_s=keyint,
            seed=seed,
            start_s=start,
            duration_s=duration,
            width=width,
            quality=quality,
            audio=audio,
            audio_stream=audio_stream,
            target_kbps=target_kbps,
            max_size=parse_size(max_size) if max_size is not None else None,
        )
        report = encode_file(
            src,
            output,
            settings,
            force=force,
            partial=partial,
            progress=RichProgress(enabled=not quiet),
            jobs=jobs,
        )
        s = report.sizes
        used = report.settings
        out_console.print(
            f"wrote {report.path}: {report.frames} frames ({report.keyframes} keyframes), "
            f"{report.duration_s:.2f} s, {report.source.width}x{report.source.height}, "
            f"k={used.k}, "
            f"{mb(s.total)}, {report.kbps:.0f} kbps"
        )
        if report.rate is not None:
            r = report.rate
            verdict = "met" if report.kbps <= r.target_kbps else "NOT met"
            out_console.print(
                f"rate control: target {r.target_kbps:.0f} kbps {verdict} "
                f"({report.kbps:.0f} kbps); chose k={used.k}, width {report.source.width} "
                f"after {r.probes} trial encodes (estimate {r.estimate_kbps:.0f} kbps)"
            )
            if not r.fits:
                warning(
                    "even the smallest setting tried is estimated over the target; "
                    "try a smaller --width or a lower frame rate"
                )
        if report.frames_lost:
            warning(
                f"{report.frames_lost} damaged source packets were skipped; frames lost at "
                f"{describe_times(list(report.damage))}"
            )
        if report.ended_early is not None:
            warning(report.ended_early)

    run(job, debug=debug)
