"""The source side: the part of the original a ``.vq`` was encoded from, read as it was.

The settings stored in the ``.vq`` header (``start_s``, ``duration_s``, ``width``) choose the
part and the size, so that a clip encoded from 5 s and resized is compared with that part of
the original at that size.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vidquant.apps.info import VqInfo
from vidquant.codec.meta import encode_duration_s, encode_start_s
from vidquant.errors import SettingsError
from vidquant.frames import Frame
from vidquant.io.reader import VideoReader


@dataclass(frozen=True)
class SourceWindow:
    """The part of the original the ``.vq`` was encoded from, read at the ``.vq``'s size.

    Attributes
    ----------
    path
        The original.
    start_s, duration_s
        The part, seconds; duration None: to the end.
    width
        Frames are read resized to this width, pixels.
    """

    path: Path
    start_s: float
    duration_s: float | None
    width: int

    @classmethod
    def from_vq(cls, original: Path, info: VqInfo) -> SourceWindow:
        """The window of ``original`` that the ``.vq`` described by ``info`` was encoded from."""
        meta = info.header.meta
        return cls(
            path=original,
            start_s=encode_start_s(meta),
            duration_s=encode_duration_s(meta),
            width=info.header.width,
        )

    def notes(self) -> list[str]:
        """A warning that only a part is compared, or none for the whole original."""
        if self.start_s <= 0 and self.duration_s is None:
            return []
        part = f"from {self.start_s:.3f} s"
        if self.duration_s is not None:
            part += f" for {self.duration_s:.3f} s"
        return [f"the .vq was encoded {part} of the original; that part is compared"]

    def open(self) -> VideoReader:
        """A reader of the window's frames (a context manager)."""
        return VideoReader(
            self.path, start_s=self.start_s, duration_s=self.duration_s, width=self.width
        )

    def iter_frames(self, max_frames: int) -> Iterator[Frame]:
        """The window's first ``max_frames`` frames."""
        with self.open() as reader:
            yield from itertools.islice(reader, max_frames)

    @staticmethod
    def check_size(reader: VideoReader, info: VqInfo) -> None:
        """Raise :class:`SettingsError` when the frames read differ in size from the ``.vq``'s."""
        src, h = reader.info, info.header
        if (src.width, src.height) != (h.width, h.height):
            raise SettingsError(
                f"frame sizes differ: original {src.source_width}x{src.source_height} "
                f"(read as {src.width}x{src.height}), .vq {h.width}x{h.height}: "
                "is this the .vq's original?"
            )
