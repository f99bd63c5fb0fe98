"""Segment-parallel encoding on local cores: worker processes encode segments, this process
stitches them.

:func:`vidquant.encode.encode_file` takes this route for ``jobs`` > 1 (see
:mod:`vidquant.segments` for how a clip is cut and why the palette does not jump). The
workers are plain Python processes (``python -m vidquant.worker``), started at once, so their
imports overlap this process's; each takes the next segment, writes a segment file into a
hidden folder beside the output and says so on its standard output. This process copies the
segments' frame records in order into the output, with the audio packets between them, the
keyframe index and the trailer, as a single-process encode writes them; a segment is
stitched (and its file deleted) as soon as those before it are, so disk and memory stay
bounded by the segments in flight, not the clip.

The workers run in a session of their own: Ctrl-C and SIGTERM reach this process alone, which
decides. Without ``partial`` it kills them and removes everything; with ``partial`` it asks
them (a stop file) to end their segments at the next frame and keeps every frame up to the
first segment that did not reach its end. A worker whose parent is gone stops by itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vidquant.codec.container import ContainerReader, ContainerWriter
from vidquant.segments import SegmentResult, SegmentTask

_TICK = 4  # frames between progress messages from a worker
_LENGTH = struct.Struct("<I")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def send(f: BinaryIO, message: object) -> None:
    """Write one message (pickled, length first) and flush."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(_LENGTH.pack(len(data)) + data)
    f.flush()


def receive(f: BinaryIO) -> object | None:
    """Read one message; None at the end of the stream."""
    head = f.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    data = f.read(_LENGTH.unpack(head)[0])
    return pickle.loads(data)


def worker_main(stop_file: Path) -> None:
    """A worker process: encode the segments its standard input hands out, report on its
    standard output. Nothing else may write there, so ``print`` goes to standard error."""
    from vidquant.segments import encode_segment

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    commands, replies = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the messages
    parent = os.getppid()

    def stopped() -> bool:  # asked to, or orphaned
        return stop_file.exists() or os.getppid() != parent

    while (task := receive(commands)) is not None:
        index = task.segment.index  # type: ignore[attr-defined]
        if stopped():
            send(replies, ("done", index, SegmentResult(index)))
            continue
        counted = [0]

        def advance(index: int = index, counted: list[int] = counted) -> None:
            counted[0] += 1
            if counted[0] % _TICK == 0:
                send(replies, ("frames", index, _TICK))

        result = encode_segment(task, advance, stopped)  # type: ignore[arg-type]
        send(replies, ("frames", index, counted[0] % _TICK))
        send(replies, ("done", index, result))


def _worker_env() -> dict[str, str]:
    """This process's environment, with the folder holding its ``vidquant`` package first on
    the workers' path, so that they run the same code."""
    root = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root if not path else root + os.pathsep + path}


class _Worker:
    """One worker process, its standard streams and the thread that reads its replies."""

    def __init__(self, number: int, folder: Path, replies: queue.Queue) -> None:
        self.number = number
        self.log = open(folder / f"worker{number}.log", "w+b")  # noqa: SIM115 (closed by close)
        self.proc = subprocess.Popen(
            # -P: not the working folder first on the path (a checkout there would be
            # imported instead); the package this process runs comes first
            [sys.executable, "-P", "-m", "vidquant.worker", str(folder / "stop")],
            env=_worker_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            start_new_session=True,  # signals from the terminal reach the main process only
        )
        self.busy = False
        self._thread = threading.Thread(
            target=self._read, args=(replies,), name=f"vidquant-worker-{number}", daemon=True
        )
        self._thread.start()

    def _read(self, replies: queue.Queue) -> None:
        while True:
            try:
                message = receive(self.proc.stdout)  # type: ignore[arg-type]
            except (OSError, EOFError, pickle.UnpicklingError):
                message = None
            if message is None:
                replies.put(("gone", None, None, self.number))
                return
            replies.put((*message, self.number))  # type: ignore[misc]

    def give(self, task: SegmentTask) -> None:
        send(self.proc.stdin, task)  # type: ignore[arg-type]
        self.busy = True

    def why_gone(self) -> str:
        """The exit code and the last lines the worker wrote on standard error."""
        code = self.proc.wait()
        self.log.seek(0)
        lines = self.log.read().decode("utf-8", "replace").strip().splitlines()[-12:]
        tail = ("\n" + "\n".join(lines)) if lines else ""
        return f"exit code {code}{tail}"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # type: ignore[union-attr]
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._thread.join(1.0)
        self.log.close()


class SegmentPool:
    """Worker processes encoding the segments of one clip.

    They start at once (their imports overlap the caller's work); :meth:`submit` queues the
    segments, :meth:`results` hands on the finished ones in order and :meth:`close` reaps
    the workers.
    """

    def __init__(self, workers: int, folder: Path) -> None:
        self._folder = folder
        self._replies: queue.Queue = queue.Queue()
        self._workers: list[_Worker] = []
        self._queue: list[SegmentTask] = []  # submitted, not yet handed out
        self._count = 0
        self._following = 0  # the next segment to hand on
        self._done: dict[int, SegmentResult] = {}
        self.coded = 0  # frames the workers have coded
        for number in range(workers):
            self._workers.append(_Worker(number, folder, self._replies))

    def submit(self, tasks: list[SegmentTask]) -> None:
        """Queue the clip's segments, in order (once)."""
        self._queue = list(tasks)
        self._count = len(tasks)
        for worker in self._workers:
            self._hand_out(worker)

    def _hand_out(self, worker: _Worker) -> None:
        if self._queue:
            worker.give(self._queue.pop(0))
        else:
            worker.busy = False
            with contextlib.suppress(OSError):
                worker.proc.stdin.close()  # type: ignore[union-attr]

    def results(
        self, on_frames: Callable[[int], None], *, wait: float
    ) -> Iterator[tuple[int, SegmentResult]]:
        """Segments finished since the last call, in order (each once). Waits up to ``wait``
        seconds for a message; ``on_frames(n)`` hears of frames coded."""
        deadline = time.monotonic() + wait
        while self._following < self._count:
            try:
                msg = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            kind, index, payload, number = msg  # what a worker sent, and which worker
            worker = self._workers[number]
            if kind == "frames":
                if payload:
                    self.coded += payload
                    on_frames(payload)
            elif kind == "done":
                self._done[index] = payload
                self._hand_out(worker)
                while self._following in self._done:
                    yield self._following, self._done.pop(self._following)
                    self._following += 1
            elif worker.busy or self._queue:  # gone while it had work
                raise RuntimeError(
                    f"a segment worker died before segment {self._following} was done "
                    f"({worker.why_gone()})"
                )

    @property
    def finished(self) -> bool:
        """Every segment submitted has been handed on."""
        return self._following >= self._count

    def stop(self) -> None:
        """Ask the workers to end their segments after the frame they are coding."""
        (self._folder / "stop").touch()

    def close(self) -> None:
        """Kill the workers that are still running, and reap them all."""
        for worker in self._workers:
            worker.close()


@dataclass
class Stitched:
    """What the stitcher wrote so far."""

    frames: int = 0
    keyframes: int = 0
    end_pts: int = 0


def stitch(
    path: Path, writer: ContainerWriter, on_frame: Callable[[int], None], done: Stitched
) -> None:
    """Copy the frame records of segment file ``path`` into ``writer``, calling
    ``on_frame(end_pts)`` after each (the audio goes there)."""
    with open(path, "rb") as f:
        reader = ContainerReader(f)
        for record in reader.iter_frames():
            writer.write_frame(record)
            done.frames += 1
            done.keyframes += record.keyframe
            done.end_pts = record.pts + record.duration
            on_frame(done.end_pts)


@contextlib.contextmanager
def segment_folder(dst: Path) -> Iterator[Path]:
    """A hidden folder beside ``dst`` for the segment files, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".segments", dir=dst.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["SegmentPool", "Stitched", "segment_folder", "stitch", "usable_cores"]
