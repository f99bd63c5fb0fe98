"""A virtual X server for tests of real windows: start it, look at it, type into it.

Needs Debian's packages ``xvfb`` (the ``Xvfb`` server), ``x11-apps`` (``xwd``, for screenshots)
and ``libxtst6`` (XTest, to send keys); no Python package beyond numpy and OpenCV.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

INSTALL_HINT = "install Debian's packages: apt-get install -y xvfb x11-apps libxtst6"


def missing_tools() -> str | None:
    """What the X tests lack (a sentence naming the packages to install), or None."""
    missing = [name for name in ("Xvfb", "xwd") if shutil.which(name) is None]
    missing += [lib for lib in ("X11", "Xtst") if ctypes.util.find_library(lib) is None]
    return f"missing {', '.join(missing)}: {INSTALL_HINT}" if missing else None


@dataclass(frozen=True)
class Match:
    """Where an image was found on the screen: top-left corner and the worst pixel difference."""

    x: int
    y: int
    max_diff: int


@contextmanager
def xvfb(width: int = 1280, height: int = 720, *, timeout_s: float = 15.0) -> Iterator[str]:
    """Run ``Xvfb`` on a free display number; yield the ``DISPLAY`` value (``":N"``).

    ``-displayfd`` makes the server choose a free number itself and write it once it accepts
    connections, so there is neither a race for the number nor a guess of when it is up.
    """
    binary = shutil.which("Xvfb")
    if binary is None:
        raise RuntimeError(f"Xvfb is not installed: {INSTALL_HINT}")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [binary, "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
         "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], timeout_s)
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number:
            proc.kill()
            err = proc.communicate(timeout=5)[1].decode(errors="replace")
            raise RuntimeError(f"Xvfb did not start within {timeout_s} s: {err.strip()}")
        yield f":{number}"
    finally:
        os.close(read_fd)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def grab(display: str) -> np.ndarray:
    """A screenshot of the whole screen, RGB uint8 (height, width, 3), taken with ``xwd``."""
    binary = shutil.which("xwd")
    if binary is None:
        raise RuntimeError(f"xwd is not installed: {INSTALL_HINT}")
    dump = subprocess.run(
        [binary, "-root", "-silent", "-display", display], capture_output=True, check=True
    ).stdout
    return parse_xwd(dump)


# XWDFileHeader (X11/XWDFile.h): 25 big-endian CARD32 fields; the ones used here, by position.
_XWD_FIELDS = 25
_HEADER_SIZE, _VERSION, _FORMAT, _WIDTH, _HEIGHT = 0, 1, 2, 4, 5
_BYTE_ORDER, _BITS_PER_PIXEL, _BYTES_PER_LINE = 7, 11, 12
_RED_MASK, _GREEN_MASK, _BLUE_MASK, _NCOLORS = 14, 15, 16, 19
_XWD_COLOR_BYTES = 12  # one colormap entry
_ZPIXMAP = 2


def parse_xwd(dump: bytes) -> np.ndarray:
    """The pixels of an XWD dump of a TrueColor screen (24/32 bits per pixel), RGB uint8."""
    head = np.frombuffer(dump, ">u4", count=_XWD_FIELDS)
    if head[_VERSION] != 7 or head[_FORMAT] != _ZPIXMAP or head[_BITS_PER_PIXEL] not in (24, 32):
        raise ValueError(f"unsupported XWD dump: header {head.tolist()}")
    width, height, stride = int(head[_WIDTH]), int(head[_HEIGHT]), int(head[_BYTES_PER_LINE])
    bpp = int(head[_BITS_PER_PIXEL]) // 8
    start = int(head[_HEADER_SIZE]) + int(head[_NCOLORS]) * _XWD_COLOR_BYTES
    rows = np.frombuffer(dump, np.uint8, count=height * stride, offset=start).reshape(height, -1)
    raw = rows[:, : width * bpp].reshape(height, width, bpp).astype(np.uint32)
    order = range(bpp) if head[_BYTE_ORDER] == 0 else range(bpp - 1, -1, -1)  # 0: LSB first
    pixels = sum(raw[:, :, i] << (8 * n) for n, i in enumerate(order))
    channels = []
    for mask in (int(head[_RED_MASK]), int(head[_GREEN_MASK]), int(head[_BLUE_MASK])):
        shift = (mask & -mask).bit_length() - 1
        channels.append(((pixels & mask) >> shift).astype(np.uint8))
    return np.stack(channels, axis=-1)


def find(screen: np.ndarray, image: np.ndarray) -> Match:
    """The best-matching position of ``image`` in ``screen`` (least squared difference)."""
    scores = cv2.matchTemplate(screen, image, cv2.TM_SQDIFF)
    _, _, (x, y), _ = cv2.minMaxLoc(scores)
    h, w = image.shape[:2]
    diff = np.abs(screen[y : y + h, x : x + w].astype(np.int16) - image.astype(np.int16))
    return Match(int(x), int(y), int(diff.max()))


def wait_for_image(
    display: str, image: np.ndarray, *, timeout_s: float = 10.0, tolerance: int = 0
) -> Match:
    """Grab the screen until ``image`` shows up (within ``tolerance``); the last best match."""
    deadline = time.monotonic() + timeout_s
    while True:
        match = find(grab(display), image)
        if match.max_diff <= tolerance or time.monotonic() > deadline:
            return match
        time.sleep(0.1)


class Keyboard:
    """Types keys into an X display through the XTest extension (libXtst, via ctypes)."""

    def __init__(self, display: str) -> None:
        try:
            self._x11 = ctypes.CDLL("libX11.so.6")
            self._xtst = ctypes.CDLL("libXtst.so.6")
        except OSError as exc:
            raise RuntimeError(f"libX11/libXtst missing ({exc}): {INSTALL_HINT}") from exc
        x11, xtst = self._x11, self._xtst
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XStringToKeysym.restype = ctypes.c_ulong
        x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
        x11.XKeysymToKeycode.restype = ctypes.c_ubyte
        x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x11.XFlush.argtypes = [ctypes.c_void_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
        xtst.XTestFakeKeyEvent.argtypes += [ctypes.c_ulong]
        xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p] + [ctypes.c_int] * 3
        xtst.XTestFakeMotionEvent.argtypes += [ctypes.c_ulong]
        self._display = x11.XOpenDisplay(display.encode())
        if not self._display:
            raise RuntimeError(f"cannot open X display {display}")

    def point_at(self, x: int, y: int) -> None:
        """Move the pointer; without a window manager the keyboard focus follows it."""
        self._xtst.XTestFakeMotionEvent(self._display, -1, x, y, 0)
        self._x11.XFlush(self._display)

    def press(self, keysym: str) -> None:
        """Press and release a key by X keysym name (``"space"``, ``"Right"``, ``"q"``)."""
        code = self._x11.XKeysymToKeycode(self._display, self._x11.XStringToKeysym(keysym.encode()))
        if code == 0:
            raise ValueError(f"no keycode for keysym {keysym!r}")
        self._xtst.XTestFakeKeyEvent(self._display, code, 1, 0)
        self._xtst.XTestFakeKeyEvent(self._display, code, 0, 0)
        self._x11.XFlush(self._display)

    def close(self) -> None:
        """Close the connection."""
        self._x11.XCloseDisplay(self._display)


class _WindowAttributes(ctypes.Structure):
    # XWindowAttributes (X11/Xlib.h)
    _fields_ = [
        ("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int),
        ("height", ctypes.c_int), ("border_width", ctypes.c_int), ("depth", ctypes.c_int),
        ("visual", ctypes.c_void_p), ("root", ctypes.c_ulong), ("class_", ctypes.c_int),
        ("bit_gravity", ctypes.c_int), ("win_gravity", ctypes.c_int),
        ("backing_store", ctypes.c_int), ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong), ("save_under", ctypes.c_int),
        ("colormap", ctypes.c_ulong), ("map_installed", ctypes.c_int),
        ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p),
    ]  # fmt: skip


_MAP_STATES = {0: "unmapped", 1: "unviewable", 2: "viewable"}


def screen_report(display: str) -> str:
    """What is on the screen, for a failure message: the share of black pixels and the top-level
    windows (mapped or not, where, how big), as the X server sees them."""
    screen = grab(display)
    black = float((screen.max(axis=2) == 0).mean())
    x11 = ctypes.CDLL("libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_void_p] * 4
    x11.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p]
    x11.XFree.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        return f"screen {black:.0%} black; cannot open {display} to list windows"
    try:
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children = ctypes.POINTER(ctypes.c_ulong)()
        count = ctypes.c_uint()
        x11.XQueryTree(dpy, x11.XDefaultRootWindow(dpy), ctypes.byref(root), ctypes.byref(parent),
                       ctypes.byref(children), ctypes.byref(count))  # fmt: skip
        windows = []
        for i in range(count.value):
            attrs = _WindowAttributes()
            if x11.XGetWindowAttributes(dpy, children[i], ctypes.byref(attrs)):
                state = _MAP_STATES.get(attrs.map_state, str(attrs.map_state))
                windows.append(f"{children[i]:#x} {state} {attrs.width}x{attrs.height}"
                               f"+{attrs.x}+{attrs.y}")  # fmt: skip
        if children:
            x11.XFree(children)
    finally:
        x11.XCloseDisplay(dpy)
    return f"screen {black:.0%} black; windows: {'; '.join(windows) or 'none'}"
