"""The reader's frame timing without FFmpeg: timestamps repaired, the start found, the output
clock rebased with each frame lasting until the next one starts."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction

import pytest

from vidquant.io.timing import (
    OutputClock,
    Stamped,
    describe_times,
    iter_from_start,
    iter_stamped,
    nominal_duration,
    start_pts,
)


@dataclass
class Decoded:
    """A stand-in for PyAV's VideoFrame: what iter_stamped reads of it."""

    pts: int | None
    duration: int | None = None


def stamps(*pairs: tuple[int, int]) -> list[Stamped[str]]:
    return [Stamped(pts, duration, f"f{pts}") for pts, duration in pairs]


def run_clock(
    items: list[Stamped[str]], tb: Fraction, duration_s: float | None = None
) -> list[tuple[int, int, int, str]]:
    """What the reader does with a clock: (index, pts, duration, frame) of each output frame."""
    clock: OutputClock[str] = OutputClock(tb, duration_s=duration_s)
    out = []
    for item in items:
        if clock.first_pts is None:
            clock.start(item.pts)
        if clock.past_end(item.pts):
            break
        done = clock.push(item.pts, item.duration, item.frame)
        if done is not None:
            out.append(done)
    last = clock.finish()
    if last is not None:
        out.append(last)
    return [(f.index, f.pts, f.duration, f.frame) for f in out]


@pytest.mark.parametrize(
    ("fps", "tb", "expected"),
    [
        (Fraction(25), Fraction(1, 12800), 512),
        (Fraction(30000, 1001), Fraction(1, 90000), 3003),
        (Fraction(12), Fraction(1, 12), 1),
        (Fraction(100), Fraction(1, 25), 1),  # a frame shorter than one unit is still 1
    ],
)
def test_nominal_duration(fps: Fraction, tb: Fraction, expected: int) -> None:
    assert nominal_duration(fps, tb) == expected


def test_start_pts() -> None:
    assert start_pts(0.0, Fraction(1, 1000), 500) is None
    assert start_pts(-1.0, Fraction(1, 1000), 500) is None
    assert start_pts(1.5, Fraction(1, 1000), 500) == 2000  # from the stream's own start
    assert start_pts(0.0015, Fraction(1, 1000), 0) == 1  # truncated, never rounded up
    assert start_pts(0.5, Fraction(1, 12), 0) == 6


def test_iter_stamped_repairs_timestamps() -> None:
    frames = [
        Decoded(None),  # no pts at all: 0
        Decoded(None, 2),  # previous + nominal
        Decoded(4, 0),  # a zero duration becomes nominal
        Decoded(4, 3),  # repeats: previous + 1
        Decoded(2, -1),  # goes back: previous + 1, a negative duration becomes nominal
        Decoded(20, 7),
    ]
    got = list(iter_stamped(frames, nominal=3))
    assert [(s.pts, s.duration) for s in got] == [(0, 3), (3, 2), (4, 3), (5, 3), (6, 3), (20, 7)]
    assert all(s.frame is f for s, f in zip(got, frames, strict=True))


def test_iter_stamped_keeps_good_timestamps() -> None:
    frames = [Decoded(1000, 40), Decoded(1040, 40), Decoded(1100, 10)]
    got = [(s.pts, s.duration) for s in iter_stamped(frames, nominal=40)]
    assert got == [(1000, 40), (1040, 40), (1100, 10)]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (None, [0, 10, 20, 30]),
        (-5, [0, 10, 20, 30]),  # before the first frame: everything
        (0, [0, 10, 20, 30]),
        (15, [10, 20, 30]),  # the frame on screen at 15 started at 10
        (20, [20, 30]),  # a frame starting exactly at start: the one before is left out
        (35, [30]),  # inside the last frame (30 + 10)
        (40, []),  # after the last frame's end
        (100, []),
    ],
)
def test_iter_from_start(start: int | None, expected: list[int]) -> None:
    items = stamps((0, 10), (10, 10), (20, 10), (30, 10))
    assert [s.pts for s in iter_from_start(iter(items), start)] == expected


def test_iter_from_start_does_not_read_ahead() -> None:
    read = []

    def source():
        for item in stamps((0, 10), (10, 10), (20, 10), (30, 10)):
            read.append(item.pts)
            yield item

    frames = iter_from_start(source(), 15)
    assert next(frames).pts == 10
    assert read == [0, 10, 20]  # the frame after the start told where the start is
    assert next(frames).pts == 20
    assert read == [0, 10, 20]


def test_output_clock_rebases_and_keeps_variable_durations() -> None:
    # a variable frame rate: each frame lasts until the next starts, the last keeps its own
    items = stamps((100, 3), (103, 3), (110, 2), (111, 5))
    assert run_clock(items, Fraction(1, 12)) == [
        (0, 0, 3, "f100"),
        (1, 3, 7, "f103"),  # its own duration (3) gives way to the gap to the next frame
        (2, 10, 1, "f110"),
        (3, 11, 5, "f111"),
    ]


def test_output_clock_push_returns_the_previous_frame() -> None:
    clock: OutputClock[str] = OutputClock(Fraction(1, 1000))
    assert clock.first_pts is None and clock.end_pts is None
    assert clock.push(500, 40, "a") is None  # its end is not known yet
    assert clock.first_pts == 500
    first = clock.push(540, 40, "b")
    assert (first.index, first.pts, first.duration, first.frame) == (0, 0, 40, "a")
    last = clock.finish()
    assert (last.index, last.pts, last.duration, last.frame) == (1, 40, 40, "b")
    assert clock.finish() is None  # nothing is left


def test_output_clock_without_frames() -> None:
    assert OutputClock(Fraction(1, 25)).finish() is None


def test_output_clock_span() -> None:
    tb = Fraction(1, 12)
    clock: OutputClock[str] = OutputClock(tb, duration_s=0.5)
    clock.start(24)
    assert clock.end_pts == pytest.approx(30.0)
    assert not clock.past_end(29)
    assert clock.past_end(30)  # a frame starting where the span ends is outside it
    items = stamps(*((24 + i, 1) for i in range(12)))
    got = run_clock(items, tb, duration_s=0.5)
    assert [(i, pts, d) for i, pts, d, _ in got] == [(i, i, 1) for i in range(6)]


def test_output_clock_span_keeps_the_last_frames_own_duration() -> None:
    # the frame after the span is not shown, so the last one kept keeps its own duration
    items = stamps((0, 2), (4, 2), (12, 2))
    assert run_clock(items, Fraction(1, 10), duration_s=1.0) == [
        (0, 0, 4, "f0"),
        (1, 4, 2, "f4"),
    ]


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], ""),
        ([0.25], "0.25 s"),
        ([0.25, 1.5], "0.25 s and 1.50 s"),
        ([0.25, 0.583, 1.5], "0.25 s, 0.58 s and 1.50 s"),
        ([float(i) for i in range(12)], ", ".join(f"{i}.00 s" for i in range(10)) + " and 2 more"),
    ],
)
def test_describe_times(times: list[float], expected: str) -> None:
    assert describe_times(times) == expected


def test_describe_times_limit() -> None:
    assert describe_times([1.0, 2.0, 3.0], limit=1) == "1.00 s and 2 more"


def test_importing_the_timing_and_damage_modules_loads_no_pyav() -> None:
    code = "import sys\nimport vidquant.io.damage, vidquant.io.timing\nprint('av' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
