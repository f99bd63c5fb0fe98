"""A pipeline stage on its own thread: iterate a source a few items ahead of its consumer."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def iter_ahead(source: Iterable[T], *, name: str, depth: int = 4) -> Iterator[T]:
    """Iterate ``source`` in a background thread, ``depth`` items ahead.

    Decoding (FFmpeg) and the numeric stages release the GIL, so the stages overlap. Closing
    the returned generator (or leaving it by an exception) stops the thread and waits for it,
    and the thread closes ``source``'s iterator itself: nothing touches the source after this
    generator is closed, so the caller may close the file behind it safely.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()
    failure: list[BaseException] = []

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        it = iter(source)
        try:
            for item in it:
                if not put(item):
                    return
        except BaseException as exc:  # re-raised in the consumer thread
            failure.append(exc)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
            put(done)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                break
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)
