"""Ctrl-C and kill: stop cleanly, at a point where the output can be finished or removed.

A terminating signal (SIGTERM, what ``kill`` sends) is turned into :class:`Terminated`, a
:class:`KeyboardInterrupt`, so the same cleanup runs as for Ctrl-C: temporary outputs are
removed and nothing half-written is left under a final name. :class:`DeferredSignals` holds
both back while an encoder writes a record, so that an encode asked to keep its partial output
stops between frames, where the file can be closed validly.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType


class Terminated(KeyboardInterrupt):
    """The process was asked to terminate (SIGTERM)."""

    signum = signal.SIGTERM


class Interrupted(KeyboardInterrupt):
    """A job stopped on Ctrl-C or a kill after keeping a valid partial output.

    Attributes
    ----------
    kept
        The output file that holds what was done.
    signum
        The signal that stopped the job.
    """

    def __init__(self, message: str, *, kept: Path, signum: int) -> None:
        super().__init__(message)
        self.kept = kept
        self.signum = signum


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise _exception_for(signum)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While active (main thread only), SIGTERM raises :class:`Terminated`."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class DeferredSignals:
    """Hold SIGINT and SIGTERM back until :meth:`check` (main thread only; elsewhere no-op).

    The first signal is noted and raised by the next :meth:`check` as KeyboardInterrupt or
    :class:`Terminated`. A second signal before that raises at once (a user pressing Ctrl-C
    twice means it), with :attr:`forced` set: the job was stopped at an arbitrary point.
    """

    def __init__(self) -> None:
        self.pending: int | None = None
        self.forced = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> DeferredSignals:
        if _in_main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            # None: a handler installed outside Python; the default is the closest we can do
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.pending is None:
            self.pending = signum
            return
        self.forced = True
        raise _exception_for(signum)

    def check(self) -> None:
        """Raise the noted signal's exception, if one arrived."""
        error = self.exception()
        if error is not None:
            raise error

    def exception(self) -> KeyboardInterrupt | None:
        """The noted signal's exception (KeyboardInterrupt or Terminated), or None."""
        return None if self.pending is None else _exception_for(self.pending)


def _exception_for(signum: int) -> KeyboardInterrupt:
    return Terminated("terminated") if signum == signal.SIGTERM else KeyboardInterrupt()


def signal_of(exc: KeyboardInterrupt) -> int:
    """The signal behind an interruption: SIGTERM for a kill, SIGINT for Ctrl-C."""
    return int(getattr(exc, "signum", signal.SIGINT))


__all__ = [
    "DeferredSignals",
    "Interrupted",
    "Terminated",
    "signal_of",
    "terminate_as_interrupt",
]
