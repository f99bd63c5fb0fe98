"""A progress protocol: the library reports, the CLI draws. The library never prints."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress of one long job (encode, decode)."""

    def start(self, description: str, total: int | None) -> None:
        """A job begins; ``total`` is the expected number of frames, None when unknown."""

    def advance(self, frames: int = 1) -> None:
        """``frames`` more frames are done."""

    def finish(self) -> None:
        """The job ended (successfully or not)."""


class NullProgress:
    """A :class:`Progress` that ignores everything."""

    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, frames: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass
