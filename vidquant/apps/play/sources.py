"""What the player plays: frames of a ``.vq`` file, or of any video quantised on the fly."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from vidquant.codec.format import MAGIC
from vidquant.codec.meta import encode_start_s
from vidquant.decoder import open_vq
from vidquant.errors import FormatError
from vidquant.settings import EncodeSettings

log = logging.getLogger(__name__)

EPS_S = 1e-4  # timestamps closer than this are the same instant (well under any frame period)


@dataclass(frozen=True, eq=False)
class ViewFrame:
    """One frame as the player shows it.

    Attributes
    ----------
    index
        Position in the stream, 0-based (after a seek in a preview: estimated from the time).
    time_s
        Presentation time, seconds from the start of the stream.
    duration_s
        How long the frame is shown, seconds.
    rgb
        Pixels, shape (height, width, 3), uint8.
    keyframe
        True when the frame is a keyframe (a seek target).
    """

    index: int
    time_s: float
    duration_s: float
    rgb: np.ndarray
    keyframe: bool


class FrameSource(Protocol):
    """Frames to play, from any time on, and the keyframes a seek can land on."""

    name: str
    offset_s: float  # where the source's time 0 lies in the original video, seconds

    def iter_frames(self, start_s: float) -> Iterator[ViewFrame]:
        """Frames from the one shown at ``start_s`` (seconds) on; closing the iterator ends it."""
        ...

    def keyframe_times_s(self) -> Sequence[float]:
        """Times of the keyframes known so far, seconds, ascending."""
        ...

    def close(self) -> None:
        """Release files and decoders."""
        ...


class VqSource:
    """Frames of a ``.vq`` file; seeks use its keyframe index.

    Raises
    ------
    InputError, FormatError
        As :func:`vidquant.open_vq`.
    """

    def __init__(self, path: str | Path) -> None:
        self._decoder = open_vq(path)
        self.name = Path(path).name
        h = self._decoder.header
        self.width, self.height = h.width, h.height
        self.offset_s = encode_start_s(h.meta)
        try:
            _, entries = self._decoder.read_index()
            self._keyframes = sorted(float(e.pts * h.time_base) for e in entries)
        except FormatError as exc:
            # A cut-short file still plays; it just cannot seek.
            log.warning("%s: no usable keyframe index (%s); seeking is off", self.name, exc)
            self._keyframes = []

    def iter_frames(self, start_s: float) -> Iterator[ViewFrame]:
        """Decoded frames from ``start_s`` on (decoding starts at the keyframe before it)."""
        tb = self._decoder.header.time_base
        for f in self._decoder.iter_frames(start_s=start_s if start_s > 0 else None):
            yield ViewFrame(f.index, f.time_s, float(f.duration * tb), f.to_rgb(), f.keyframe)

    def keyframe_times_s(self) -> Sequence[float]:
        """Keyframe times from the file's index, seconds."""
        return self._keyframes

    def close(self) -> None:
        """Close the file."""
        self._decoder.close()


class PreviewSource:
    """Any video, quantised on the fly by the encoder's palette and quantiser stages.

    What is shown is exactly what ``vidquant encode`` with the same settings would store, except
    after a seek: the preview restarts there with a keyframe, as ``encode --start`` would. The
    keyframes known are those met so far plus the next periodic one (``keyint_s`` after the last).

    Raises
    ------
    InputError
        The video cannot be opened.
    """

    def __init__(self, path: str | Path, settings: EncodeSettings) -> None:
        from vidquant.encoder import make_header  # sklearn and PyAV: only when previewing
        from vidquant.io.reader import VideoReader

        self._path = Path(path)
        self._settings = settings
        self.name = self._path.name
        self.offset_s = settings.start_s
        with VideoReader(self._path, width=settings.width) as reader:
            self._info = reader.info
        self.width, self.height = self._info.width, self._info.height
        self._header = make_header(self._info, settings)
        self._seen: set[float] = set()

    def iter_frames(self, start_s: float) -> Iterator[ViewFrame]:
        """Source frames from ``start_s`` on, each replaced by its palette reconstruction: what
        the encoder would store, label coding included (its records are thrown away)."""
        from vidquant.codec.container import ContainerWriter
        from vidquant.encoder import Encoder
        from vidquant.io.reader import VideoReader

        fps = float(self._info.fps)
        first_index = round(start_s * fps)
        encoder = Encoder(ContainerWriter(_Discard(), self._header), self._settings)
        with VideoReader(
            self._path, start_s=self.offset_s + start_s, width=self._settings.width
        ) as reader:
            for frame in reader:
                rec = encoder.encode(frame).reconstruction
                t = start_s + frame.time_s  # the reader rebases the first frame to 0
                if rec.keyframe:
                    self._seen.add(round(t, 6))
                yield ViewFrame(
                    first_index + frame.index, t, frame.duration_s, rec.to_rgb(), rec.keyframe
                )

    def keyframe_times_s(self) -> Sequence[float]:
        """Keyframes met so far, and the next periodic one after the last of them."""
        times = sorted(self._seen)
        if times:
            after = times[-1] + self._settings.keyint_s
            duration = self._info.duration_s
            if duration is None or after < duration:
                times.append(after)
        return times

    def close(self) -> None:
        """Nothing to release between iterations."""


def is_vq_file(path: str | Path) -> bool:
    """True when ``path`` is a file that starts with the ``.vq`` magic."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


class _Discard(io.RawIOBase):
    """A file that forgets what is written to it (the preview's records)."""

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return len(data)
