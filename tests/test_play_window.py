"""`vidquant play` in a real window: the command runs in an OpenCV window on a virtual X server
(Xvfb); screenshots are compared with the decoded frames, and the frames' timing is checked from
the player's debug log (a frame dropped as late under load is allowed, out of order is not)."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from media import decoded_frames
from vidquant.io.reader import VideoReader

if TYPE_CHECKING:
    from xvfb import Keyboard

ROOT = Path(__file__).resolve().parent.parent


def test_opencv_loads_before_pyav() -> None:
    # PyAV's wheels bundle a libxcb; once it is loaded, a Qt highgui window freezes the process
    # for good (PyAV-Org/PyAV#978, opencv/opencv#29195). The command line must load OpenCV
    # first, whatever its other commands import. sys.modules keeps the import order.
    code = "import sys, vidquant.cli.main, vidquant.apps.play; m = list(sys.modules); "
    code += "print(m.index('cv2') < m.index('av') if 'av' in m else True)"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "True", (
        "vidquant play loads PyAV before OpenCV, so `vidquant play` windows would freeze: "
        "import cv2 first (e.g. `import cv2` at the top of vidquant/io/__init__.py)" + out.stderr
    )


class PlayProcess:
    """``vidquant play`` in a subprocess on ``display``, its stderr lines collected."""

    def __init__(self, display: str, *args: str) -> None:
        env = dict(os.environ, DISPLAY=display, PYTHONPATH=str(ROOT))
        env.pop("WAYLAND_DISPLAY", None)
        code = "from vidquant.cli.main import main; main()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "play", *args, "--debug"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self._out: list[str] = []
        # Both pipes are drained by threads, so that every stderr line reaches the log.
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=lambda: self._out.extend(self.proc.stdout), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, needle: str, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.log.append(line)
            if needle in line:
                return line
        said = "".join(self.log) or "nothing (a frozen window? see test_opencv_loads_before_pyav)"
        raise AssertionError(f"no {needle!r} from the player within {timeout_s} s; it said: {said}")

    def focus(self, keyboard: Keyboard, x: int, y: int, timeout_s: float = 15.0) -> None:
        """Point at the window and wait until it takes keys.

        Without a window manager the focus follows the pointer, but Qt takes the focus a
        moment after the pointer arrives and drops the keys typed before, so a key pressed
        at once can be lost. A key without an action is typed until the player logs it.
        """
        keyboard.point_at(x, y)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            keyboard.press("x")
            try:
                self.wait_for(f"key {ord('x')}: no action", timeout_s=0.5)
                return
            except AssertionError:
                continue
        raise AssertionError(f"the window took no key within {timeout_s} s: {''.join(self.log)}")

    def finish(self, timeout_s: float = 30.0) -> str:
        """Wait for the command to end; its stdout. Then :attr:`log` holds all of stderr."""
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        for reader in self._readers:
            reader.join(timeout=5.0)
        while not self.lines.empty():
            self.log.append(self.lines.get())
        return "".join(self._out)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


FRAME_S = 1 / 12  # the clip's frame duration
# How late a shown frame may come: a loaded machine can poll the window late, but a player that
# drifted from the stream's clock or stalled would go past this.
LATE_TOLERANCE_S = 0.5
SHOWING = re.compile(r"showing frame (\d+) \([\d.]+ s\), (-?[\d.]+) s after its time")
DROPPED = re.compile(r"dropped late frame (\d+) ")
PLAYED = re.compile(r"played (\d+) frames(?:, (\d+) dropped \(late\))?")


def check_playback(player: PlayProcess, out: str, runs: list[range], *, paused_at: int) -> None:
    """Every frame of ``runs`` (playback from a start or a seek on) met once and in order: shown
    at or after its time, within the tolerance, or dropped as late; the summary line agrees.

    Under load a frame may be dropped, so counts are checked as shown + dropped. A run's first
    frame (decoded after the clock restarted) and the ``--pause-at`` frame (never dropped) may
    come late; they are only checked to be shown.
    """
    met = []  # (index, seconds after its time; None: dropped)
    for line in player.log:
        if m := SHOWING.search(line):
            met.append((int(m[1]), float(m[2])))
        elif m := DROPPED.search(line):
            met.append((int(m[1]), None))
    expected = [i for run in runs for i in run]
    assert [i for i, _ in met] == expected, f"frames met {met}, expected {expected}"
    first = {sum(len(r) for r in runs[:n]) for n in range(len(runs))}
    for at, (index, late_s) in enumerate(met):
        if at in first or index == paused_at:
            assert late_s is not None, f"frame {index} must be shown, it was dropped"
        elif late_s is not None:
            assert 0 <= late_s < FRAME_S + LATE_TOLERANCE_S, f"frame {index} {late_s:.3f} s late"
    played = PLAYED.search(out)
    assert played, out
    shown, dropped = int(played[1]), int(played[2] or 0)
    assert shown == sum(late is not None for _, late in met), (out, met)
    assert shown + dropped == len(expected), (out, met)


def require_x_tools() -> None:
    """The X tests fail (never skip) when their tools are missing, naming the packages."""
    from xvfb import missing_tools

    if problem := missing_tools():
        pytest.fail(problem)


def test_real_window_shows_the_decoded_frames(vq_clip: tuple[Path, Path]) -> None:
    require_x_tools()
    from xvfb import Keyboard, screen_report, wait_for_image, xvfb

    _, vq = vq_clip
    frames = decoded_frames(vq)
    with xvfb() as x_display:
        player = PlayProcess(x_display, str(vq), "--pause-at", "3")
        keyboard = Keyboard(x_display)
        try:
            player.wait_for("paused at frame 3")
            match = wait_for_image(x_display, frames[3])
            if match.max_diff:
                said = "".join(player.log)
                pytest.fail(f"frame 3 on screen differs by up to {match.max_diff}; "
                            f"{screen_report(x_display)}; the player said: {said}")  # fmt: skip
            player.focus(keyboard, match.x + 5, match.y + 5)

            keyboard.press("Right")
            player.wait_for("seek to the keyframe at 0.500 s")
            match = wait_for_image(x_display, frames[6])
            assert match.max_diff == 0, f"after right: frame 6 differs by up to {match.max_diff}"

            keyboard.press("Left")
            player.wait_for("seek to the keyframe at 0.000 s")
            match = wait_for_image(x_display, frames[0])
            assert match.max_diff == 0, f"after left: frame 0 differs by up to {match.max_diff}"

            started = time.monotonic()
            keyboard.press("space")  # resume: frames 1..23 at 12 fps, then the command ends
            out = player.finish()
            elapsed = time.monotonic() - started
            assert player.proc.returncode == 0, "".join(player.log)
            assert "played" in out
            assert 1.5 < elapsed < 10, f"23 frames at 12 fps took {elapsed:.2f} s"
            # 0..3 to the pause; 6, where the right seek landed; 0, where the left one landed,
            # and on from there after the resume
            check_playback(player, out, [range(4), range(6, 7), range(24)], paused_at=3)
        finally:
            keyboard.close()
            player.kill()


def test_real_window_side_by_side(vq_clip: tuple[Path, Path]) -> None:
    require_x_tools()
    from xvfb import Keyboard, screen_report, wait_for_image, xvfb

    clip, vq = vq_clip
    frames = decoded_frames(vq)
    with VideoReader(clip) as reader:
        originals = [f.rgb for f in reader]
    with xvfb() as x_display:
        player = PlayProcess(x_display, str(vq), "--side-by-side", str(clip), "--pause-at", "5")
        keyboard = Keyboard(x_display)
        try:
            player.wait_for("paused at frame 5")
            right = wait_for_image(x_display, frames[5])
            left = wait_for_image(x_display, originals[5])
            if right.max_diff or left.max_diff:
                pytest.fail(f"not on screen: {left}, {right}; {screen_report(x_display)}; "
                            f"the player said: {''.join(player.log)}")  # fmt: skip
            assert (right.x - left.x, right.y) == (320 + 4, left.y), "side by side, original left"
            player.focus(keyboard, left.x + 5, left.y + 5)
            keyboard.press("q")
            out = player.finish()
            assert player.proc.returncode == 0, "".join(player.log)
            # frames 0..5, shown or (under load) dropped as late, then paused on 5 until q
            check_playback(player, out, [range(6)], paused_at=5)
        finally:
            keyboard.close()
            player.kill()
