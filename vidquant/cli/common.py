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

from vidquant.errors import FormatError, InputError, OutputError, SettingsError, VidquantError
from vidquant.interrupts import signal_of, terminate_as_interrupt

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
        # Off when stderr is no terminal: rich draws nothing live there, and a stopped bar would
        # leave a blank line in a log, before an error line too.
        self._enabled = enabled and err_console.is_terminal
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


def with_flag_names(load: Callable[..., T], *args: object, **kwargs: object) -> T:
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


def mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:.2f} MB"


def warning(message: str) -> None:
    err_console.print(
        f"vidquant: warning: {message}", highlight=False, markup=False, soft_wrap=True
    )
