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

from vidquant.codec.blocklabels import label_decoder
from vidquant.codec.container import ContainerReader
from vidquant.codec.records import (
    AudioHeader,
    AudioPacket,
    FrameRecord,
    Header,
    IndexEntry,
    Trailer,
)
from vidquant.codec.salvage import Damage
from vidquant.errors import FormatError, InputError, detached
from vidquant.frames import Frame, PaletteFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DamagedSpan:
    """One damaged stretch of a file that a salvaging decode skipped.

    Attributes
    ----------
    offset
        Byte offset where reading failed.
    error
        What was wrong there.
    first_frame
        Number of the first frame that could not be shown (frames are numbered from 0).
    frames_lost
        Frames skipped: the damaged ones and those that depend on them, up to the next intact
        keyframe. None when unknown (the file is cut short and its trailer is gone).
    start_s
        Presentation time where the gap starts, seconds.
    end_s
        Where decoding resumed, seconds; None when nothing after the damage could be decoded.
    """

    offset: int
    error: FormatError
    first_frame: int
    frames_lost: int | None
    start_s: float
    end_s: float | None

    def describe(self) -> str:
        """One line: where, how many frames, why."""
        lost = "an unknown number of" if self.frames_lost is None else str(self.frames_lost)
        until = "the end" if self.end_s is None else f"{self.end_s:.2f} s"
        return (
            f"byte {self.offset}: {lost} frames lost from frame {self.first_frame} "
            f"({self.start_s:.2f} s to {until}): {self.error.reason}"
        )


@dataclass(frozen=True)
class SalvageReport:
    """What a salvaging decode skipped: one :class:`DamagedSpan` per damaged stretch."""

    spans: tuple[DamagedSpan, ...] = ()

    @property
    def error(self) -> FormatError | None:
        """The first damage met, or None for an intact file."""
        return self.spans[0].error if self.spans else None

    @property
    def frames_lost(self) -> int | None:
        """Frames lost in all, None when a span's count is unknown."""
        counts = [span.frames_lost for span in self.spans]
        return None if None in counts else sum(c for c in counts if c is not None)


class _Gap:
    """A damaged stretch being measured: opened at the damage, closed where decoding resumes.

    ``start_pts`` is where the last decoded frame ended and ``frame_pts`` its duration (None
    before the first frame), from which the frames hidden in an unreadable stretch are
    estimated when the index cannot say.
    """

    def __init__(
        self,
        offset: int,
        error: FormatError,
        first_frame: int,
        start_s: float,
        *,
        seen: bool,
        start_pts: int | None,
        frame_pts: int | None,
    ) -> None:
        self.offset, self.error = offset, error
        self.first_frame, self.start_s = first_frame, start_s
        self.start_pts, self.frame_pts = start_pts, frame_pts
        # Frame records lost and seen (a frame that failed to decode, frames that depend on a
        # lost one). A gap opened at an unreadable record (``seen`` False) may hide more.
        self.records = 1 if seen else 0
        self.unseen = not seen

    def resume_frame(self, pts: int) -> int:
        """The number of the frame at ``pts`` that resumes decoding, when the index does not
        say: from the time gap at the frame rate of the last decoded frame, and never fewer
        than the frames seen lost."""
        lost = self.records
        if self.start_pts is not None and self.frame_pts:
            lost = max(lost, round((pts - self.start_pts) / self.frame_pts))
        elif self.unseen:
            lost += 1
        return self.first_frame + lost

    def close(self, resume_frame: int | None, end_s: float | None) -> DamagedSpan:
        lost = None if resume_frame is None else max(0, resume_frame - self.first_frame)
        return DamagedSpan(self.offset, self.error, self.first_frame, lost, self.start_s, end_s)


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
            On a damaged or cut-short file, skip the damage instead of raising: decoding goes
            on at the next intact keyframe, and :attr:`salvage` lists every damaged stretch
            (where, how many frames, why) once the iteration ends.

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
        tb = h.time_base
        labels_dec = label_decoder(h.width, h.height, h.k, h.label_coder)
        palette = np.zeros((h.k, 3), np.uint8)
        labels: np.ndarray | None = None
        index = first_index
        end_pts: int | None = None  # where the last decoded frame ends, time-base units
        frame_pts: int | None = None  # the last decoded frame's duration
        keyframe_numbers, total = self._frame_numbers() if salvage else ({}, None)
        gap: _Gap | None = None
        spans: list[DamagedSpan] = []

        def open_gap(offset: int, error: FormatError, *, seen: bool) -> _Gap:
            start_s = self._seconds(end_pts)
            return _Gap(
                offset, error, index, start_s, seen=seen, start_pts=end_pts, frame_pts=frame_pts
            )

        try:
            for rec in self._reader.iter_records(start_offset, audio=audio, salvage=salvage):
                if isinstance(rec, Damage):
                    if gap is None:
                        gap = open_gap(rec.offset, rec.error, seen=False)
                    log.info("damaged data at byte %d: %s", rec.offset, rec.error.reason)
                    continue
                if isinstance(rec, AudioPacket):
                    audio_tb = self.audio.time_base if self.audio else Fraction(0)
                    if start_s is None or (rec.pts + rec.duration) * audio_tb >= start_s:
                        yield rec
                    continue
                contiguous = end_pts is not None and rec.pts == end_pts
                if salvage and gap is None and not rec.keyframe and not contiguous:
                    # vidquant writes frames back to back: a predicted frame that does not
                    # start where the last one ended follows records that are missing whole
                    missing = FormatError(
                        f"frame at pts {rec.pts} does not start where the last decoded frame "
                        f"ended (pts {end_pts}): frame records are missing",
                        offset=rec.offset,
                    )
                    gap = open_gap(rec.offset, missing, seen=False)
                if gap is not None:
                    # A predicted frame can follow the last decoded one only if nothing was
                    # lost between them (the damage hit audio or an ancillary record).
                    if not rec.keyframe and not (contiguous and gap.records == 0):
                        gap.records += 1  # it depends on a lost frame
                        continue
                    known = keyframe_numbers.get(rec.pts) if rec.keyframe else None
                    resume = max(index, known if known is not None else gap.resume_frame(rec.pts))
                    spans.append(gap.close(resume, float(rec.pts * tb)))
                    gap, index = None, resume
                try:
                    new_palette = rec.palette_after(palette)
                    labels = labels_dec.decode(
                        rec.label_mode,
                        rec.labels,
                        None if rec.keyframe else labels,
                        offset=rec.offset,
                    )
                except FormatError as exc:
                    if not salvage:
                        raise
                    gap = open_gap(rec.offset, detached(exc), seen=True)
                    log.info("damaged frame at byte %d: %s", rec.offset, exc.reason)
                    continue
                palette = new_palette
                frame = PaletteFrame(
                    index, rec.pts, rec.duration, tb, labels, palette, rec.keyframe
                )
                index += 1
                end_pts, frame_pts = rec.pts + rec.duration, rec.duration
                if target is not None and end_pts <= target:
                    continue
                yield frame
            if gap is not None:
                spans.append(gap.close(total, None))
        finally:
            self.salvage = SalvageReport(tuple(spans))

    def _seconds(self, pts: int | None) -> float:
        return 0.0 if pts is None else float(pts * self.header.time_base)

    def _frame_numbers(self) -> tuple[dict[int, int], int | None]:
        """Salvage's map from keyframe pts to frame numbers, and the file's frame count,
        from the index; empty and None when the index is damaged too."""
        try:
            trailer = self._reader.read_trailer()
        except FormatError:
            return {}, None
        try:
            _, entries = self._reader.read_index()
        except FormatError:
            return {}, trailer.frames
        # keyed by pts, not offset: inserted or deleted bytes move the offsets, not the times
        return {e.pts: e.frame for e in entries}, trailer.frames

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


__all__ = ["DamagedSpan", "SalvageReport", "VqDecoder", "open_vq"]
