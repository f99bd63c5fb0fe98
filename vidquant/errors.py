"""The error hierarchy: a bad file is not a bad call.

Every error vidquant raises on purpose derives from :class:`VidquantError`, so a caller (and the
CLI) can catch one type. The subclasses say whose fault it is:

- :class:`FormatError`: the bytes of a ``.vq`` file are wrong (truncated, corrupted, wrong
  version). It carries the byte offset where reading failed.
- :class:`InputError`: a source cannot be read as video (missing, not a video, no video stream).
- :class:`SettingsError`: the call itself is wrong (k out of range, unknown config key, ...).
- :class:`OutputError`: the output cannot be written (exists without ``force``, folder missing).
"""

from __future__ import annotations

from typing import TypeVar


class VidquantError(Exception):
    """Base class of every error vidquant raises on purpose."""


class FormatError(VidquantError, ValueError):
    """A ``.vq`` file is malformed.

    Parameters
    ----------
    message
        What is wrong, with expected and found values.
    offset
        Byte offset in the file where the problem was found, or None when unknown.
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        self.offset = offset
        self.reason = message
        text = message if offset is None else f"{message} (at byte offset {offset})"
        super().__init__(text)


class VersionError(FormatError):
    """A ``.vq`` file has a major version this reader does not implement."""


class TruncatedError(FormatError):
    """A ``.vq`` file ends in the middle of a record."""


class InputError(VidquantError):
    """A source video cannot be opened or decoded."""


class SettingsError(VidquantError, ValueError):
    """A setting or argument is invalid (a bad call, not a bad file).

    Parameters
    ----------
    message
        What is wrong, with the allowed and the given values.
    setting
        The name of the setting at fault (an :class:`~vidquant.settings.EncodeSettings`
        field), when there is one.
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class OutputError(VidquantError):
    """An output file or folder cannot be written."""


E = TypeVar("E", bound=BaseException)


def detached(exc: E) -> E:
    """``exc`` without its traceback and chained exceptions, to be kept in a report: a
    traceback keeps every frame's locals (whole label maps, say) alive as long as the error."""
    exc.__traceback__ = None
    exc.__cause__ = exc.__context__ = None
    exc.__suppress_context__ = True
    return exc
