"""Segments of a parallel encode: where the clip is cut, the palette steps handed to each, and
one segment encoded on its own.

A clip is cut in time into segments (:func:`plan_segments`) that worker processes encode at
once (:mod:`vidquant.parallel`), each reading the source from its own seek point into a
segment file of its own; the segments are then stitched into one ``.vq`` file.

The palette is not cut. One palette stage (:class:`~vidquant.encoder.PaletteStage`: scene
cuts, keyframes, the palette manager) runs over the whole clip in the main process, as in a
single-process encode, and writes each frame's step (keyframe or not, and the palette) to its
segment's step file (:class:`StepWriter`); the segment's worker reads them
(:class:`StepReader`) as they come and does the rest: labels and label coding. So the palette
of every frame is the single-process encode's, with no jump at a segment's start; what
differs is that each segment starts with a keyframe (an intra-coded label map and the whole
palette). When the clip is longer than ``jobs`` keyframe intervals, segments are one interval
long and start where the single-process encode makes periodic keyframes (when no scene cut
moves them), so no keyframe is added there.

Timestamps stay those of the single-process encode: output time 0 is the whole clip's first
frame, and each worker shifts its own frames onto that clock.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vidquant.codec.container import ContainerWriter
from vidquant.codec.records import Header
from vidquant.encoder import PaletteStep
from vidquant.frames import Frame
from vidquant.settings import EncodeSettings

MIN_SEGMENT_S = 2.0  # no segment shorter (each adds a keyframe)


@dataclass(frozen=True)
class Segment:
    """One segment of a clip, on the output clock (time 0: the clip's first frame).

    Attributes
    ----------
    index
        0 for the first.
    start
        Output pts of its first frame: frames at or after it (and before ``end``) are its.
    end
        Output pts where the next segment starts; None for the last, which ends with the clip.
    read_s
        Where its worker starts reading, seconds after the clip's start (a little before
        ``start``, so that the frame on screen there is read; 0 for the first segment).
    """

    index: int
    start: int
    end: int | None
    read_s: float

    def holds(self, pts: int) -> bool:
        """Whether the frame at ``pts`` (output clock) is this segment's."""
        return pts >= self.start and (self.end is None or pts < self.end)


def plan_segments(
    span_s: float | None, fps: Fraction, time_base: Fraction, jobs: int, keyint_s: float
) -> list[Segment]:
    """Cut a clip of ``span_s`` seconds into segments for ``jobs`` workers.

    One segment (no cut) when ``jobs`` is 1, or the length is unknown or too short for two
    segments of ``MIN_SEGMENT_S``. A clip up to ``jobs`` keyframe intervals long is cut into
    equal parts, one per job; a longer one at every keyframe interval (the workers then take
    the segments in turn)."""
    if jobs <= 1 or span_s is None or not math.isfinite(span_s):
        return [Segment(0, 0, None, 0.0)]
    parts = min(jobs, int(span_s // MIN_SEGMENT_S))
    if parts <= 1:
        return [Segment(0, 0, None, 0.0)]
    if span_s <= jobs * keyint_s:
        length = span_s / parts
    else:
        length = keyint_s
        parts = math.ceil(span_s / length - 1e-9)
        if span_s - (parts - 1) * length < 0.5 * MIN_SEGMENT_S:
            parts -= 1  # a sliver at the end joins the segment before
    early = 2 / float(fps) if fps > 0 else 0.1
    starts = [round(i * length / time_base) for i in range(parts)]
    return [
        Segment(
            i,
            start,
            starts[i + 1] if i + 1 < parts else None,
            0.0 if i == 0 else max(0.0, i * length - early),
        )
        for i, start in enumerate(starts)
    ]


# --- palette steps: main process -> worker ---------------------------------------------------

_STEP_HEAD = struct.Struct("<qB")  # pts (-1: no more steps), flags
_KEYFRAME, _SCENE_CUT = 1, 2


class StepWriter:
    """Append palette steps to a segment's step file; :meth:`close` marks its end."""

    def __init__(self, path: Path) -> None:
        self._f: BinaryIO = open(path, "wb")  # noqa: SIM115 (closed by close)

    def write(self, step: PaletteStep) -> None:
        flags = (_KEYFRAME if step.keyframe else 0) | (_SCENE_CUT if step.scene_cut else 0)
        self._f.write(_STEP_HEAD.pack(step.pts, flags) + step.palette.tobytes())
        self._f.flush()

    def close(self) -> None:
        """No more steps: the segment's worker ends after the last one."""
        if not self._f.closed:
            self._f.write(_STEP_HEAD.pack(-1, 0))
            self._f.close()


def end_steps(path: Path) -> None:
    """Mark the step file ``path`` (made if missing) as ending where it stands."""
    with open(path, "ab") as f:
        f.write(_STEP_HEAD.pack(-1, 0))


class StepReader:
    """The palette steps of a segment, read as the main process writes them.

    Waits (polling) for the file and for each step until ``stopped()`` says to give up; the
    steps end at the end mark."""

    def __init__(self, path: Path, k: int, stopped: Callable[[], bool]) -> None:
        self._path, self._k, self._stopped = path, k, stopped

    def __iter__(self) -> Iterator[PaletteStep]:
        size = _STEP_HEAD.size + 3 * self._k
        while not self._path.exists():
            if self._stopped():
                return
            time.sleep(0.005)
        with open(self._path, "rb") as f:
            while True:
                data = self._read(f, _STEP_HEAD.size)
                if data is None:
                    return
                pts, flags = _STEP_HEAD.unpack(data)
                if pts < 0:
                    return
                body = self._read(f, size - _STEP_HEAD.size)
                if body is None:
                    return
                palette = np.frombuffer(body, np.uint8).reshape(self._k, 3).copy()
                yield PaletteStep(pts, bool(flags & _KEYFRAME), bool(flags & _SCENE_CUT), palette)

    def _read(self, f: BinaryIO, n: int) -> bytes | None:
        """``n`` bytes, waiting for them while they are being written; None when stopped."""
        data = b""
        while len(data) < n:
            more = f.read(n - len(data))
            if more:
                data += more
                continue
            if self._stopped():
                return None
            time.sleep(0.002)
        return data


# --- one segment, in a worker ----------------------------------------------------------------


@dataclass(frozen=True)
class SegmentTask:
    """What a worker needs to encode one segment into ``path``.

    ``origin_pts`` is the whole clip's first frame on the file's clock (output time 0) and
    ``end_pts`` where the clip's span ends there (None: at the end of the stream), both as the
    single-process reader finds them; ``steps`` the segment's step file."""

    src: Path
    path: Path
    steps: Path
    header: Header
    settings: EncodeSettings
    segment: Segment
    origin_pts: int
    end_pts: float | None


@dataclass
class SegmentResult:
    """What one worker made: its frames are in the task's ``path``.

    ``complete``: the segment was coded to its end (its steps' end mark), not stopped;
    ``error``: why its reader failed part-way (its frames before are kept)."""

    index: int
    complete: bool = False
    frames: int = 0
    error: str | None = None


def encode_segment(
    task: SegmentTask, advance: Callable[[], None], stopped: Callable[[], bool]
) -> SegmentResult:
    """Encode one segment into ``task.path`` (a complete ``.vq`` file of its frames, no audio).

    ``advance`` is called after each coded frame, ``stopped`` before the next: when it says
    True the segment ends there (its file is still complete). A source that fails part-way
    ends the segment where the palette steps end (the main process reads the same source and
    reports the failure).
    """
    from vidquant.codec.blocklabels import compile_kernels
    from vidquant.encoder import Encoder
    from vidquant.errors import InputError
    from vidquant.io.reader import VideoReader

    seg, settings = task.segment, task.settings
    result = SegmentResult(seg.index)
    first, last = seg.index == 0, seg.end is None
    with (
        VideoReader(
            task.src,
            start_s=settings.start_s + seg.read_s,
            duration_s=settings.duration_s if first else None,
            width=settings.width,
            end_pts=task.end_pts if last and not first else None,
        ) as reader,
        open(task.path, "wb") as f,
    ):
        compile_kernels(encoder=True)
        writer = ContainerWriter(f, task.header)
        encoder = Encoder(writer, settings, stage=False)
        steps = iter(StepReader(task.steps, task.header.k, stopped))
        encoded = encoder.iter_encode(_on_clip_clock(reader, task), steps=steps)
        result.complete = True
        try:
            for _ in encoded:
                result.frames += 1
                advance()
                if stopped():
                    result.complete = False
                    break
        except InputError as exc:  # the main process's reader should meet it too
            result.complete = False
            result.error = str(exc)
        finally:
            encoded.close()
        if result.complete and stopped():
            result.complete = False
        encoder.flush()
    return result


def _on_clip_clock(reader: object, task: SegmentTask) -> Iterator[Frame]:
    """The reader's frames on the whole clip's output clock that are the segment's."""
    segment = task.segment
    offset: int | None = None
    for f in reader:  # type: ignore[attr-defined]
        if offset is None:
            offset = reader.origin_pts - task.origin_pts  # type: ignore[attr-defined]
        pts = f.pts + offset
        if segment.end is not None and pts >= segment.end:
            return
        if pts >= segment.start:
            yield Frame(f.index, pts, f.duration, f.time_base, f.rgb)
