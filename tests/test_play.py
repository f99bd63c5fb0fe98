"""`vidquant play`: composition, timing, keys and errors without a screen, then a real window.

The unit tests drive :class:`Player` with a fake clock and a fake display that scripts key codes.
The real command in a real window is tested in test_play_window.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import vidquant.cli.play  # noqa: F401 - registers `play` on the app
from media import decoded_frames
from vidquant.apps.play import (
    KEY_ACTIONS,
    Action,
    DisplayError,
    OriginalTrack,
    Player,
    PreviewSource,
    ViewFrame,
    VqSource,
    action_for_key,
    check_display,
    compose_view,
    format_psnr,
    is_vq_file,
)
from vidquant.cli.common import EXIT_OK, EXIT_USAGE
from vidquant.cli.main import app
from vidquant.errors import InputError
from vidquant.io.reader import VideoReader
from vidquant.metrics import psnr
from vidquant.settings import EncodeSettings

ROOT = Path(__file__).resolve().parent.parent
LEFT, RIGHT, SPACE, ESC, Q = 65361, 65363, 32, 27, ord("q")


# ---------------------------------------------------------------- fakes


class FakeClock:
    """Seconds that pass only when the fakes say so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class FakeDisplay:
    """Records what is shown and when; delivers scripted key codes at scripted times."""

    def __init__(self, clock: FakeClock, keys: list[tuple[float, int]] | None = None) -> None:
        self.clock = clock
        self.keys = sorted(keys or [])
        self.shown: list[tuple[float, int, str]] = []  # (time, frame index, title)
        self.closed = False
        self.closed_at: float | None = None

    def show(self, rgb: np.ndarray, title: str) -> None:
        self.shown.append((self.clock.t, int(rgb[0, 0, 0]), title))

    def wait_key(self, timeout_s: float) -> int | None:
        assert timeout_s >= 0
        if self.keys and self.keys[0][0] <= self.clock.t + timeout_s:
            at, code = self.keys.pop(0)
            self.clock.t = max(self.clock.t, at)
            return code
        self.clock.t += timeout_s
        if self.closed_at is not None and self.clock.t >= self.closed_at:
            self.closed = True
        return None

    def close(self) -> None:
        pass

    def times(self) -> dict[int, float]:
        return {index: t for t, index, _ in self.shown}

    def indices(self) -> list[int]:
        return [index for _, index, _ in self.shown]


class FakeSource:
    """``n`` frames at ``fps``, frame i filled with the value i; a keyframe every ``gop``.

    ``cost`` maps a frame index to decoding seconds charged to the clock.
    """

    name = "fake.vq"
    offset_s = 0.0

    def __init__(
        self, clock: FakeClock, n: int = 20, fps: float = 10.0, gop: int = 5, cost=None
    ) -> None:
        self.clock, self.n, self.fps, self.gop = clock, n, fps, gop
        self.cost = cost or {}
        self.starts: list[float] = []

    def iter_frames(self, start_s: float) -> Iterator[ViewFrame]:
        self.starts.append(start_s)
        first = int(math.floor(start_s * self.fps + 1e-6))
        for i in range(first, self.n):
            self.clock.t += self.cost.get(i, 0.0)
            rgb = np.full((4, 6, 3), i, np.uint8)
            yield ViewFrame(i, i / self.fps, 1 / self.fps, rgb, i % self.gop == 0)

    def keyframe_times_s(self) -> list[float]:
        return [i / self.fps for i in range(0, self.n, self.gop)]

    def close(self) -> None:
        pass


def run_player(keys=None, *, cost=None, n=20, pause_at=None):
    clock = FakeClock()
    display = FakeDisplay(clock, keys)
    source = FakeSource(clock, n=n, cost=cost)
    report = Player(source, display, clock=clock, pause_at=pause_at).play()
    return report, display, source, clock


# ---------------------------------------------------------------- keys and composition


def test_key_codes() -> None:
    assert action_for_key(SPACE) is Action.TOGGLE_PAUSE
    for code in (Q, ESC):
        assert action_for_key(code) is Action.QUIT
    for code in (65361, 2424832, 63234, 81):  # X11 (GTK, Qt), Win32, Cocoa, low byte
        assert action_for_key(code) is Action.PREVIOUS_KEYFRAME
    for code in (65363, 2555904, 63235, 83):
        assert action_for_key(code) is Action.NEXT_KEYFRAME
    assert action_for_key(-1) is None and action_for_key(None) is None
    assert action_for_key(ord("x")) is None
    assert set(KEY_ACTIONS.values()) == set(Action)


def test_compose_alone_shows_the_frame_untouched() -> None:
    picture = np.random.default_rng(0).integers(0, 256, (36, 48, 3), np.uint8)
    assert compose_view(picture) is picture


def test_compose_side_by_side() -> None:
    rng = np.random.default_rng(1)
    picture = rng.integers(0, 256, (120, 200, 3), np.uint8)
    original = rng.integers(0, 256, (120, 200, 3), np.uint8)
    view = compose_view(original=original, picture=picture, labels=("a", "PSNR 30.00 dB"))
    strip = view.shape[0] - 120
    assert view.shape == (120 + strip, 2 * 200 + 4, 3) and strip > 0
    assert np.array_equal(view[:120, :200], original), "the original is left, untouched"
    assert np.array_equal(view[:120, 204:], picture), "the palette frame is right, untouched"
    below = view[120:]
    assert below.max() > 200 and below.min() < 50, "labels are drawn in the strip"


def test_compose_resizes_an_original_of_another_size() -> None:
    picture = np.zeros((60, 80, 3), np.uint8)
    original = np.full((120, 160, 3), 200, np.uint8)
    view = compose_view(picture, original)
    assert view.shape[1] == 2 * 80 + 4
    assert np.all(view[:60, :80] == 200)


def test_format_psnr() -> None:
    assert format_psnr(31.254) == "31.25 dB"
    assert format_psnr(math.inf) == "identical"


# ---------------------------------------------------------------- timing


def test_frames_are_shown_at_their_timestamps() -> None:
    report, display, _, clock = run_player()
    assert display.indices() == list(range(20))
    for t, index, _ in display.shown:
        assert t == pytest.approx(index / 10), f"frame {index} shown at {t:.4f} s"
    assert report.shown == 20 and report.dropped == 0 and not report.quit
    assert clock.t == pytest.approx(2.0), "the last frame stays for its duration"


def test_late_frames_are_dropped_without_drift() -> None:
    # Frame 3 takes 0.35 s to decode (until 0.55 s): frames 3 and 4 have missed their slots,
    # 5 is shown at once, inside its slot, and 6 is on time again.
    report, display, _, _ = run_player(cost={3: 0.35})
    times = display.times()
    assert 3 not in times and 4 not in times
    assert times[5] == pytest.approx(0.55)
    assert report.dropped == 2 and report.shown == 18
    for index in (6, 7, 19):
        assert times[index] == pytest.approx(index / 10), f"frame {index} drifted"


def test_a_late_frame_within_its_slot_is_shown_at_once() -> None:
    # Frame 3 is decoded right after frame 2 is shown (0.2 s) and ready at 0.35 s: late, but
    # inside its slot (0.3 to 0.4 s).
    _, display, _, _ = run_player(cost={3: 0.15})
    times = display.times()
    assert times[3] == pytest.approx(0.35) and times[4] == pytest.approx(0.4)


def test_slow_decoding_shows_every_frame_inside_its_slot() -> None:
    report, display, _, _ = run_player(cost={i: 0.25 for i in range(1, 20)})
    assert report.dropped > 0 and report.shown + report.dropped == 20
    for t, index, _ in display.shown:
        assert index / 10 <= t + 1e-9 < (index + 1) / 10 + 0.25, f"frame {index} at {t}"


# ---------------------------------------------------------------- keys


def test_pause_and_resume() -> None:
    report, display, _, _ = run_player([(0.25, SPACE), (1.25, SPACE)])
    times = display.times()
    assert times[2] == pytest.approx(0.2)
    assert not any(0.25 < t < 1.25 for t in times.values()), "nothing is shown while paused"
    # The next frame comes one frame interval after the resume, and the rest keeps its pace.
    assert times[3] == pytest.approx(1.35) and times[10] == pytest.approx(2.05)
    assert report.shown == 20 and report.dropped == 0


def test_seek_to_next_keyframe() -> None:
    report, display, source, _ = run_player([(0.12, RIGHT)])
    assert display.indices()[:3] == [0, 1, 5], "frames 2-4 skipped"
    times = display.times()
    assert times[5] == pytest.approx(0.12) and times[6] == pytest.approx(0.22)
    assert source.starts == [0.0, 0.5], "decoding restarts at the keyframe"
    assert report.seeks == 1


def test_seek_to_previous_keyframe() -> None:
    # At frame 7 left goes to the keyframe 5; pressed again on 5, it goes to 0.
    _, display, source, _ = run_player([(0.73, LEFT), (0.75, LEFT)])
    assert display.indices()[:10] == [0, 1, 2, 3, 4, 5, 6, 7, 5, 0]
    assert source.starts == [0.0, 0.5, 0.0]
    assert display.times()[1] == pytest.approx(0.85), "then it plays on in time"


def test_seek_while_paused_shows_the_keyframe_and_stays_paused() -> None:
    _, display, _, _ = run_player([(0.15, SPACE), (0.5, RIGHT), (2.0, SPACE)])
    seen = display.shown
    assert [i for _, i, _ in seen][:3] == [0, 1, 5]
    assert seen[2][0] == pytest.approx(0.5), "the landing frame is shown at the key press"
    assert seen[3][1] == 6 and seen[3][0] == pytest.approx(2.1), "paused until the resume"


def test_no_next_keyframe_at_the_end_is_ignored() -> None:
    report, display, _, _ = run_player([(1.62, RIGHT)])
    assert display.indices() == list(range(20)) and report.seeks == 0


def test_quit_keys() -> None:
    for code in (Q, ESC):
        report, display, _, clock = run_player([(0.31, code)])
        assert report.quit and report.last_index == 3 and clock.t == pytest.approx(0.31)


def test_closing_the_window_quits() -> None:
    clock = FakeClock()
    display = FakeDisplay(clock)
    display.closed_at = 0.5
    report = Player(FakeSource(clock), display, clock=clock).play()
    assert report.quit and report.last_index == 4


def test_pause_at_a_frame_then_quit() -> None:
    report, display, _, _ = run_player([(3.0, Q)], pause_at=4, cost={4: 1.0})
    assert display.indices() == [0, 1, 2, 3, 4], "the pause frame is shown even when late"
    assert report.quit and report.dropped == 0


# ---------------------------------------------------------------- real sources


def test_vq_source_seeks_by_index(vq_clip: tuple[Path, Path]) -> None:
    _, vq = vq_clip
    frames = decoded_frames(vq)
    source = VqSource(vq)
    try:
        assert source.keyframe_times_s() == pytest.approx([0.0, 0.5, 1.0, 1.5])
        got = list(source.iter_frames(1.0))
        assert [f.index for f in got] == list(range(12, 24)) and got[0].keyframe
        assert all(np.array_equal(f.rgb, frames[f.index]) for f in got)
    finally:
        source.close()
    assert is_vq_file(vq) and not is_vq_file(vq_clip[0]) and not is_vq_file(vq.parent / "x")


def test_preview_shows_what_encode_would_store(vq_clip: tuple[Path, Path]) -> None:
    clip, vq = vq_clip
    frames = decoded_frames(vq)
    source = PreviewSource(clip, EncodeSettings(k=16, keyint_s=0.5))
    got = list(source.iter_frames(0.0))
    assert len(got) == len(frames)
    for f in got:
        assert np.array_equal(f.rgb, frames[f.index]), f"preview frame {f.index} differs"
    assert source.keyframe_times_s() == pytest.approx([0.0, 0.5, 1.0, 1.5])
    after_seek = next(iter(source.iter_frames(1.0)))
    assert after_seek.index == 12 and after_seek.keyframe and after_seek.time_s == 1.0


def test_original_track_pairs_by_timestamp(vq_clip: tuple[Path, Path]) -> None:
    clip, _ = vq_clip
    with VideoReader(clip) as reader:
        originals = [f.rgb for f in reader]
    track = OriginalTrack(clip, width=320, reopen_after_s=0.5)
    try:
        # Forward in small steps, back (a reopen), a long jump forward (a reopen): player
        # times are frame times of the .vq, and so of the original it was made from.
        steps = ((0.0, 0), (0.05, 0), (1 / 12, 1), (0.5, 6), (2 / 12, 2), (0.25, 3), (1.5, 18))
        for t, index in steps:
            assert np.array_equal(track.frame_at(t), originals[index]), f"t={t}"
        assert np.array_equal(track.frame_at(1.99), originals[-1]), "at the end: the last stays"
        assert np.array_equal(track.frame_at(99.0), originals[-1])
    finally:
        track.close()
    track = OriginalTrack(clip, width=320)
    try:
        assert np.array_equal(track.frame_at(0.0), originals[0])
        assert track.frame_at(99.0) is None, "a jump past the end finds nothing"
    finally:
        track.close()


def test_side_by_side_titles_carry_each_frames_psnr(vq_clip: tuple[Path, Path]) -> None:
    clip, vq = vq_clip
    frames = decoded_frames(vq)
    with VideoReader(clip) as reader:
        originals = [f.rgb for f in reader]
    clock = FakeClock()
    display = FakeDisplay(clock)
    track = OriginalTrack(clip, width=320)
    Player(VqSource(vq), display, original=track, clock=clock).play()
    track.close()
    assert len(display.shown) == 24
    for i, (_, _, title) in enumerate(display.shown):
        assert f"PSNR {format_psnr(psnr(originals[i], frames[i]))}" in title, title


# ---------------------------------------------------------------- no display, CLI errors


def test_check_display() -> None:
    with pytest.raises(DisplayError, match="DISPLAY"):
        check_display({}, "linux")
    with pytest.raises(DisplayError, match="cannot connect"):
        check_display({"DISPLAY": ":987"}, "linux")
    check_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    check_display({}, "win32")
    check_display({}, "darwin")


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {result.stderr!r}"
    assert lines[0].startswith("vidquant: error: ") and "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("which", ["vq", "video"])
def test_without_a_display_one_line_suggests_decode(
    vq_clip: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    clip, vq = vq_clip
    src = vq if which == "vq" else clip
    result = CliRunner().invoke(app, ["play", str(src)])
    assert result.exit_code not in (EXIT_OK, EXIT_USAGE)
    line = one_error_line(result)
    assert "no display" in line and "vidquant decode" in line and "clip.decoded.mp4" in line


def test_k_applies_to_previews_only(vq_clip: tuple[Path, Path]) -> None:
    _, vq = vq_clip
    result = CliRunner().invoke(app, ["play", str(vq), "-k", "8"])
    assert result.exit_code == EXIT_USAGE
    assert "preview" in one_error_line(result)


def test_missing_source_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        PreviewSource(tmp_path / "nope.mp4", EncodeSettings())


def test_help_says_sound_is_not_played() -> None:
    result = CliRunner().invoke(app, ["play", "--help"])
    assert result.exit_code == 0 and "Sound is not played" in result.stdout
