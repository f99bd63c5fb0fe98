"""Records in, frames out: the client side. Imports numpy and the entropy coder only.

The decoder replays palette deltas and label residuals in order; seeking starts from the nearest
keyframe at or before the target (found through the index) and decodes forward, so a seek yields
exactly the frames a sequential decode yields from that point.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .codec.container import (
    AudioHeader,
    AudioPacket,
    ContainerReader,
    FrameRecord,
    Header,
    IndexEntry,
    Trailer,
)
from .codec.labels import LabelDecoder
from .errors import FormatError, InputError
from .frames import Frame, PaletteFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SalvageReport:
    """What a salvaging decode skipped: the error that stopped it and where, or None."""

    error: FormatError | None = None


class VqDecoder:
    """Decode a ``.vq`` file.

    Use :func:`open_vq` to make one. Iterate :meth:`iter_frames` for palette frames (labels and
    palette) or :meth:`iter_rgb` for RGB frames.

    Attributes
    ----------
    header
        The file's header (size, frame rate, time base, k, metadata).
    audio
        The audio stream's parameters, or None when the file carries no audio.
    """

    def __init__(
        self, fileobj: BinaryIO, *, path: Path | None = None, owns_file: bool = False
    ) -> None:
        self._f = fileobj
        self.path = path
        self._owns = owns_file
        self._reader = ContainerReader(fileobj)
        self.header: Header = self._reader.header
        self.audio: AudioHeader | None = self._reader.audio
        self.file_size = self._reader.file_size
        self.version = self._reader.version
        self.salvage = SalvageReport()

    def __enter__(self) -> VqDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file if this decoder opened it."""
        if self._owns:
            self._f.close()

    def read_index(self) -> tuple[Trailer, list[IndexEntry]]:
        """The trailer and keyframe index (raises FormatError if damaged or missing)."""
        return self._reader.read_index()

    def iter_records(self, *, audio: bool = False) -> Iterator[FrameRecord | AudioPacket]:
        """Raw frame records (and with ``audio`` the audio packets) in file order, for tools."""
        return self._reader.iter_records(audio=audio)

    def iter_frames(
        self, *, start_s: float | None = None, salvage: bool = False
    ) -> Iterator[PaletteFrame]:
        """Yield decoded palette frames in presentation order.

        Parameters
        ----------
        start_s
            First yield the frame shown at this time (seconds), decoding from the keyframe
            before it; None starts at the first frame.
        salvage
            On a damaged or cut-short file, stop quietly after the last good frame and record
            the error in :attr:`salvage` instead of raising.

        Raises
        ------
        FormatError
            The file is damaged (unless ``salvage``); every good frame before the damage has
            been yielded first.
        """
        for item in self.iter_media(start_s=start_s, salvage=salvage, audio=False):
            assert isinstance(item, PaletteFrame)  # audio=False yields frames only
            yield item

    def iter_media(
        self, *, start_s: float | None = None, salvage: bool = False, audio: bool = True
    ) -> Iterator[PaletteFrame | AudioPacket]:
        """Like :meth:`iter_frames`, with the audio packets (compressed, as stored) in between,
        in file order: each packet after the frame it starts during."""
        start_offset, first_index = None, 0
        if start_s is not None:
            start_offset, first_index = self._keyframe_before(start_s)
        target = None if start_s is None else start_s / self.header.time_base
        h = self.header
        labels_dec = LabelDecoder(h.width, h.height, h.k)
        palette = np.zeros((h.k, 3), np.uint8)
        labels: np.ndarray | None = None
        index = first_index
        try:
            for rec in self._reader.iter_records(start_offset, audio=audio):
                if isinstance(rec, AudioPacket):
                    audio_tb = self.audio.time_base if self.audio else Fraction(0)
                    if start_s is None or (rec.pts + rec.duration) * audio_tb >= start_s:
                        yield rec
                    continue
                if rec.keyframe:
                    palette = rec.palette_rgb.copy()
                else:
                    if len(rec.palette_index):
                        palette = palette.copy()
                        palette[rec.palette_index] = rec.palette_rgb
                labels = labels_dec.decode(
                    rec.label_mode, rec.labels, None if rec.keyframe else labels, offset=rec.offset
                )
                frame = PaletteFrame(
                    index, rec.pts, rec.duration, h.time_base, labels, palette, rec.keyframe
                )
                index += 1
                if target is not None and rec.pts + rec.duration <= target:
                    continue
                yield frame
        except FormatError as exc:
            if not salvage:
                raise
            self.salvage = SalvageReport(exc)
            log.warning("stopped at damaged data after %d frames: %s", index, exc)

    def iter_rgb(self, *, start_s: float | None = None, salvage: bool = False) -> Iterator[Frame]:
        """Like :meth:`iter_frames`, yielding RGB :class:`Frame` values."""
        for frame in self.iter_frames(start_s=start_s, salvage=salvage):
            yield frame.to_frame()

    def _keyframe_before(self, start_s: float) -> tuple[int | None, int]:
        """(record offset, frame number) of the last keyframe at or before ``start_s``."""
        try:
            _, entries = self._reader.read_index()
        except FormatError as exc:
            # No usable index (a cut-short file): decode from the start and skip forward.
            log.info("no usable index (%s); seeking by decoding from the start", exc)
            return None, 0
        if not entries:
            return None, 0
        target = start_s / self.header.time_base
        best = entries[0]
        for entry in entries:
            if entry.pts > target:
                break
            best = entry
        return best.offset, best.frame


def open_vq(path: str | Path) -> VqDecoder:
    """Open a ``.vq`` file for decoding.

    Raises
    ------
    InputError
        The file is missing or unreadable.
    FormatError
        It is not a valid ``.vq`` file (wrong magic, unsupported version, bad header).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a .vq file")
    try:
        f = open(path, "rb")  # noqa: SIM115 - owned by the decoder, closed by its close()
    except FileNotFoundError as exc:
        raise InputError(f"file not found: {path}") from exc
    except OSError as exc:
        raise InputError(f"cannot open {path}: {exc.strerror}") from exc
    try:
        return VqDecoder(f, path=path, owns_file=True)
    except BaseException:
        f.close()
        raise


__all__ = ["SalvageReport", "VqDecoder", "open_vq"]
