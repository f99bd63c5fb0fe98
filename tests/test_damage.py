"""A source's losses without FFmpeg: damaged packets placed on the output clock, and the
judgement of an early end (``vidquant.io.damage``; the files themselves are in
test_faults_input)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vidquant.io.damage import DamageLog, duration_tag_s, early_end

TB = Fraction(1, 100)


def test_a_packet_met_again_counts_once() -> None:
    log = DamageLog()
    for pts in (300, 500, 300, 500, 700):  # a second decoding pass meets the first two again
        log.record(pts)
    assert len(log) == 3
    assert log.times_s(TB, origin_s=0.0) == [3.0, 5.0, 7.0]


def test_a_packet_without_pts_is_placed_at_the_fallback_each_time() -> None:
    log = DamageLog()
    log.record(None, 250)
    log.record(None, 250)  # cannot be recognised again: counted twice
    log.record(None)  # no fallback either: at 0
    assert len(log) == 3
    assert log.times_s(TB, origin_s=1.0) == [1.5, 1.5, 0.0]


def test_times_are_on_the_output_clock_and_never_negative() -> None:
    log = DamageLog()
    for pts in (100, 150, 400):
        log.record(pts)
    assert log.times_s(TB, origin_s=1.25) == [0.0, 0.25, 2.75]
    assert log.times_s(Fraction(1, 50), origin_s=0.0) == [2.0, 3.0, 8.0]


def test_times_leave_out_the_part_not_read() -> None:
    log = DamageLog()
    for pts in (100, 200, 300, 400):
        log.record(pts)
    log.record(None, 50)  # placed at the last good frame's pts, and judged by it
    window = log.times_s(TB, origin_s=2.0, start_pts=200, end_pts=400.0)
    assert window == [0.0, 1.0]  # 200 kept (the start is in), 400 left out (the end is not)
    assert log.times_s(TB, origin_s=0.0, start_pts=300) == [3.0, 4.0]
    assert log.times_s(TB, origin_s=0.0, end_pts=250.0) == [1.0, 2.0, 0.5]


def test_no_damage() -> None:
    log = DamageLog()
    assert len(log) == 0 and not log
    assert log.times_s(TB, origin_s=0.0) == []


# early end: 25 fps, so the tolerance without a cut is max(0.5 s, 3 frames) = 0.5 s


def test_an_end_where_the_container_says_is_not_early() -> None:
    assert early_end(10.0, 10.0, frame_s=0.04, cut=None) is None
    assert early_end(9.5, 10.0, frame_s=0.04, cut=None) is None  # within rounding
    assert early_end(10.2, 10.0, frame_s=0.04, cut=None) is None  # later is not early


def test_an_end_well_before_the_declared_length_is_early() -> None:
    message = early_end(9.0, 10.0, frame_s=0.04, cut=None)
    assert message == (
        "the source ended early: its frames stop at 9.00 s of the 10.00 s its container "
        "declares (is the file cut short?)"
    )


def test_slow_frame_rates_allow_three_frames() -> None:
    # 2 fps: three frames are 1.5 s, more than the 0.5 s floor
    assert early_end(8.6, 10.0, frame_s=0.5, cut=None) is None
    assert early_end(8.4, 10.0, frame_s=0.5, cut=None) is not None


def test_a_file_cut_short_counts_half_a_frame() -> None:
    why = "its moov box runs past the end of the file"
    assert early_end(9.99, 10.0, frame_s=0.04, cut=why) is None
    assert early_end(9.97, 10.0, frame_s=0.04, cut=why) is not None  # 0.03 s: over half a frame
    message = early_end(9.9, 10.0, frame_s=0.04, cut=why)
    assert message == (
        "the source ended early: its frames stop at 9.90 s of the 10.00 s its container "
        f"declares ({why})"
    )


def test_without_a_declared_length_only_a_cut_speaks() -> None:
    assert early_end(3.0, None, frame_s=0.04, cut=None) is None
    assert early_end(3.0, None, frame_s=0.04, cut="a Matroska segment runs past the end") == (
        "the source ended early at 3.00 s: a Matroska segment runs past the end"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:00:04.000000000", 4.0),
        ("01:02:03.5", 3723.5),
        (" 00:01:00 ", 60.0),
        ("0:00:00.040000000", 0.04),
        (None, None),
        ("", None),
        ("4.0", None),
        ("00:00:xx", None),
    ],
)
def test_duration_tag(text: str | None, expected: float | None) -> None:
    assert duration_tag_s(text) == (None if expected is None else pytest.approx(expected))
