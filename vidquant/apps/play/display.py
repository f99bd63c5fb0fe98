"""Where frames are shown: the :class:`Display` interface, and :class:`CvDisplay`, a real
OpenCV highgui window, after :func:`check_display` has found a screen to open it on."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vidquant.errors import VidquantError

_REPAINT_S = 1.0  # how often the picture on screen is drawn again (see CvDisplay._repaint)


class DisplayError(VidquantError):
    """No window can be opened: no display, or the GUI backend failed."""


class Display(Protocol):
    """Where the player shows images and hears keys (a window, or a test's fake)."""

    closed: bool  # True once the user closed the window

    def show(self, rgb: np.ndarray, title: str) -> None:
        """Show ``rgb`` (height, width, 3) with ``title``."""
        ...

    def wait_key(self, timeout_s: float) -> int | None:
        """Run the GUI up to ``timeout_s`` (0: just what is pending); return a raw key code
        as soon as one comes, else None."""
        ...

    def close(self) -> None:
        """Close the window."""
        ...


def check_display(env: Mapping[str, str] | None = None, platform: str | None = None) -> None:
    """Raise :class:`DisplayError` when there is clearly no screen to open a window on.

    On Windows and macOS a window can always be tried. Elsewhere ``DISPLAY`` (X11, XWayland) or
    ``WAYLAND_DISPLAY`` must be set, and an X server must answer on ``DISPLAY``: a Qt highgui
    build aborts the whole process when it cannot connect, so the connection is tried first.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform.startswith(("win", "cygwin", "darwin")):
        return
    x_display = env.get("DISPLAY", "")
    if x_display:
        if not _x_server_answers(x_display):
            raise DisplayError(f"cannot connect to the X display {x_display!r}")
        return
    if not env.get("WAYLAND_DISPLAY"):
        raise DisplayError("no display to open a window on (DISPLAY and WAYLAND_DISPLAY unset)")


def _x_server_answers(x_display: str) -> bool:
    """Whether something accepts connections where ``DISPLAY`` points (no authentication)."""
    host, _, rest = x_display.rpartition(":")
    number = rest.split(".", 1)[0]
    if not number.isdigit():
        return False
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        for address in (path, "\0" + path):  # the file, then Linux's abstract socket
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                try:
                    s.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        with socket.create_connection((host, 6000 + int(number)), timeout=2.0):
            return True
    except OSError:
        return False


class CvDisplay:
    """An OpenCV highgui window.

    Raises
    ------
    DisplayError
        No display, or OpenCV cannot open a window (a headless build, a broken backend).
    """

    def __init__(self, name: str = "vidquant") -> None:
        check_display()
        _use_system_fonts()
        self.name = name
        self._size: tuple[int, int] | None = None
        self._title: str | None = None
        self._image: np.ndarray | None = None  # on screen, BGR
        self._painted_at = 0.0
        try:
            # NORMAL: the user may resize (KEEPRATIO keeps the picture's shape); GUI_NORMAL: no
            # toolbar or status bar over the picture on the Qt backend.
            cv2.namedWindow(name, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as exc:
            raise DisplayError(f"OpenCV cannot open a window: {_first_line(exc)}") from exc

    @property
    def closed(self) -> bool:
        """True once the user closed the window with the window manager."""
        try:
            return cv2.getWindowProperty(self.name, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def show(self, rgb: np.ndarray, title: str) -> None:
        """Show ``rgb``; the window takes the image's size the first time and on a change."""
        size = (rgb.shape[1], rgb.shape[0])
        try:
            if size != self._size:
                cv2.resizeWindow(self.name, *size)
                self._size = size
            self._image = np.ascontiguousarray(rgb[:, :, ::-1])  # highgui wants BGR
            cv2.imshow(self.name, self._image)
            self._painted_at = time.monotonic()
            if title != self._title:
                cv2.setWindowTitle(self.name, title)
                self._title = title
        except cv2.error as exc:
            raise DisplayError(f"OpenCV cannot show the frame: {_first_line(exc)}") from exc

    def wait_key(self, timeout_s: float) -> int | None:
        """Run the GUI up to ``timeout_s`` (at least 1 ms: 0 would wait forever)."""
        code = cv2.waitKeyEx(max(1, int(timeout_s * 1000)))
        if self._image is not None and time.monotonic() - self._painted_at > _REPAINT_S:
            self._repaint()
        return None if code == -1 else code

    def _repaint(self) -> None:
        # Qt can lose the first paint of a window mapped while the machine is overloaded, and a
        # paused player would then show a black window for good: the picture on screen is
        # drawn again now and then, at its size.
        try:
            if self._size is not None:
                cv2.resizeWindow(self.name, *self._size)
            cv2.imshow(self.name, self._image)
        except cv2.error:
            pass  # the window is going; closed tells
        self._painted_at = time.monotonic()

    def close(self) -> None:
        """Close the window."""
        try:
            cv2.destroyWindow(self.name)
            cv2.waitKey(1)  # let the backend process the close
        except cv2.error:
            pass  # already gone


def _use_system_fonts() -> None:
    """Point Qt at the system's fonts when opencv-python's own font folder is missing.

    opencv-python's Qt build sets QT_QPA_FONTDIR to a folder its wheels do not ship, and Qt then
    warns on stderr for every label it draws.
    """
    current = os.environ.get("QT_QPA_FONTDIR")
    if current is None or Path(current).is_dir():
        return
    for folder in ("/usr/share/fonts/truetype", "/usr/share/fonts", "/usr/local/share/fonts"):
        if Path(folder).is_dir():
            os.environ["QT_QPA_FONTDIR"] = folder
            return


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
