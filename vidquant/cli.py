"""The ``vidquant`` command line: parse -> settings -> one library call -> exit code.

No algorithm lives here. :func:`run` is the one place that maps errors to exit codes and a
one-line message; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import logging
import math
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import typer.core
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

try:  # recent Typer vendors Click; older ones use the click package
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - depends on the installed Typer
    from click import exceptions as click_exceptions

from . import __version__
from .errors import FormatError, InputError, OutputError, SettingsError, VidquantError
from .interrupts import signal_of, terminate_as_interrupt

# Exit codes (documented in the README).
EXIT_OK = 0
EXIT_ERROR = 1  # any other vidquant error
EXIT_USAGE = 2  # a bad call: option values, settings, config files
EXIT_INPUT = 3  # the source cannot be read as video
EXIT_FORMAT = 4  # a .vq file is damaged or of an unsupported version
EXIT_OUTPUT = 5  # the output cannot be written (exists, folder missing, ...)
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT)
EXIT_TERMINATED = 143  # killed (SIGTERM)


# Click >= 8.2 raises this for a bare `vidquant`; older Click prints the help itself.
_NO_ARGS_IS_HELP = getattr(click_exceptions, "NoArgsIsHelpError", ())


class _OneLineErrors(typer.core.TyperGroup):
    """Typer's own usage errors (``-k many``, a missing argument) as one line, exit code 2.

    Typer draws them as a multi-line panel; vidquant's promise is one line for every error.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # noqa: ANN001, ANN201
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:
            exc.show()  # the help text, as for a bare `vidquant`
            rv = exc.exit_code
        except click_exceptions.ClickException as exc:
            where = f"{exc.ctx.command_path}: " if getattr(exc, "ctx", None) else ""
            _error_line(f"{where}{exc.format_message()} (see --help)")
            rv = exc.exit_code
        except typer.Abort:
            _error_line("aborted")
            rv = EXIT_ERROR
        code = rv if isinstance(rv, int) else EXIT_OK
        if not standalone_mode:
            return code
        sys.exit(code)


app = typer.Typer(
    cls=_OneLineErrors,
    add_completion=False,
    no_args_is_help=True,
    help="vidquant: palette video with k-means colour quantisation.",
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)
out_console = Console(highlight=False, soft_wrap=True)

T = TypeVar("T")


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an error that reached the command line."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_TERMINATED if signal_of(exc) == signal.SIGTERM else EXIT_INTERRUPTED
    if isinstance(exc, SettingsError):
        return EXIT_USAGE
    if isinstance(exc, FormatError):
        return EXIT_FORMAT
    if isinstance(exc, InputError):
        return EXIT_INPUT
    if isinstance(exc, OutputError):
        return EXIT_OUTPUT
    return EXIT_ERROR


def run(job: Callable[[], T], *, debug: bool) -> T:
    """Run ``job``; turn a vidquant error, Ctrl-C or a kill (SIGTERM) into one line on stderr
    and an exit code. Both signals unwind the job, so temporary outputs are removed."""
    logging.addLevelName(logging.WARNING, "warning")  # as the CLI's own warning lines
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="vidquant: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        with terminate_as_interrupt():
            return job()
    except (VidquantError, KeyboardInterrupt) as exc:
        if debug:
            raise
        _error_line(str(exc) or "interrupted")
        raise typer.Exit(exit_code_for(exc)) from None
    except OSError as exc:  # disk full, permission denied, ... while reading or writing
        if debug:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        _error_line(f"{exc.strerror or exc}{where}")
        raise typer.Exit(EXIT_ERROR) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if debug:
            raise
        _error_line(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        raise typer.Exit(EXIT_ERROR) from None


def _error_line(message: str) -> None:
    text = " ".join(message.split())  # one line, whatever the message holds
    err_console.print(f"vidquant: error: {text}", highlight=False, markup=False, soft_wrap=True)


class _FpsColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:6.1f} fps")


class RichProgress:
    """Draws the library's progress reports as a rich progress bar on stderr."""

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled
        self._bar: Progress | None = None
        self._task = None

    def start(self, description: str, total: int | None) -> None:
        if not self._enabled:
            return
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _FpsColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,  # the summary line replaces the bar; a failure leaves one line
        )
        self._bar.start()
        self._task = self._bar.add_task(description, total=total)

    def advance(self, frames: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, frames)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")]
Force = Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing outputs.")]


_SIZE_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3}


def parse_size(text: str) -> int:
    """``"1500000"``, ``"500k"``, ``"2M"`` or ``"1.5G"`` (decimal units) -> bytes."""
    t = text.strip().lower().removesuffix("b")
    unit = t[-1:] if t[-1:] in ("k", "m", "g") else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        raise SettingsError(
            f"max size must be bytes or a number with k, M or G, got {text!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"max size must be positive, got {text!r}")
    return int(value * _SIZE_UNITS[unit])


# Settings whose command-line option is named differently from the setting.
_FLAGS = {
    "k": "-k",
    "keyint_s": "--keyint",
    "start_s": "--start",
    "duration_s": "--duration",
    "audio_stream": "--audio-stream",
    "target_kbps": "--target-kbps",
    "max_size": "--max-size",
}


def _with_flag_names(load: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Call ``load``; a bad option value is named by its option (``--keyint``), not by the
    setting behind it (``keyint_s``), unless it came from a config file."""
    try:
        return load(*args, **kwargs)
    except SettingsError as exc:
        name = exc.setting
        message = str(exc)
        if name in _FLAGS and message.startswith(f"{name} "):
            raise SettingsError(_FLAGS[name] + message[len(name) :], setting=name) from None
        raise


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:.2f} MB"


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
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Encode a video into a palette video (.vq)."""
    from .encoder import encode_file
    from .io.reader import describe_times
    from .settings import load_settings

    def job() -> None:
        settings = _with_flag_names(
            load_settings,
            config,
            k=k,
            keyint_s=keyint,
            seed=seed,
            start_s=start,
            duration_s=duration,
            width=width,
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
        )
        s = report.sizes
        used = report.settings
        out_console.print(
            f"wrote {report.path}: {report.frames} frames ({report.keyframes} keyframes), "
            f"{report.duration_s:.2f} s, {report.source.width}x{report.source.height}, "
            f"k={used.k}, "
            f"{_mb(s.total)}, {report.kbps:.0f} kbps"
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
                _warning(
                    "even the smallest setting tried is estimated over the target; "
                    "try a smaller --width or a lower frame rate"
                )
        if report.frames_lost:
            _warning(
                f"{report.frames_lost} damaged source packets were skipped; frames lost at "
                f"{describe_times(list(report.damage))}"
            )
        if report.ended_early is not None:
            _warning(report.ended_early)

    run(job, debug=debug)


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
    from .export import decode_file

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
    _warning(f"{lost} frames lost in {stretches}; every intact frame was decoded")
    for span in spans[:_DAMAGE_LINES]:
        _warning(f"  {span.describe()}")
    if len(spans) > _DAMAGE_LINES:
        _warning(f"  ... and {len(spans) - _DAMAGE_LINES} more")


def _warning(message: str) -> None:
    err_console.print(
        f"vidquant: warning: {message}", highlight=False, markup=False, soft_wrap=True
    )


@app.command()
def info(
    src: Annotated[Path, typer.Argument(help="A .vq file.")],
    debug: Debug = False,
) -> None:
    """Show a .vq file's header, duration, frames, and where its bytes go."""
    from .info import describe

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


# Commands defined in their own modules register themselves on `app` when imported.
from . import cli_compare, cli_explore, cli_image, cli_inspect, cli_play  # noqa: E402,F401
