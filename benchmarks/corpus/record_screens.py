"""Record real programs on a virtual X server, losslessly, for the benchmark corpus.

Three clips, each of a real Debian program driven by scripted input on its own ``Xvfb``:

- ``terminal``: ``xterm`` (DejaVu Sans Mono 11, light grey on near-black, filling the screen)
  shows ``man bash`` in ``less``; the pager scrolls by lines (Down), by pages (space), searches
  for "Parameter Expansion" (typed), pages on, quits, and ``top -d 1`` runs for the last ~40 %;
- ``browser``: Debian's ``chromium`` (``--app`` window, fresh profile, no network use) shows a
  long documentation page with a fixed sidebar (``screens/docpage.py``, built from the
  docstrings of Python's standard library), scrolled by mouse-wheel bursts with a pause to read
  between them, one PageDown and one short scroll back up;
- ``typing``: ``vim`` (``-u NONE``, syntax colours, line numbers, ruler) in ``xterm`` on
  Python's ``colorsys.py`` with two functions cut out; they are typed back at a human pace
  (``xdotool type``, 60-110 ms a key, pauses at line ends) in the middle of the screen, so most
  of the screen stands still while a few characters change per frame.

Each clip has its own ``Xvfb`` (a free display chosen by the server, ``-displayfd``), a fixed
screen size (default 1280x720, 24-bit, 96 dpi), fixed fonts and a fixed input script. Recording
starts once the program is drawn (grabbed until the screen stops changing). Input goes through
``xdotool`` (XTest), with the pointer in the window: without a window manager, focus follows
it. FFmpeg's ``x11grab`` grabs a fixed number of frames at a fixed rate (default 30 fps, pointer
drawn) into raw ``bgr0`` frames (cheap, so the grab keeps pace), then they are encoded to FFV1
(level 3, ``bgr0``, lossless) in Matroska, frame i at i / fps; PyAV, and so ``VideoReader``,
read it back as RGB. A recording with over 10 % of its frames grabbed more than a frame late (a
busy machine) is refused. Every child (Xvfb, the program, ffmpeg, and what they start) runs in
its own session with a marker in its environment and is ended in a ``finally`` block. The clip
is checked by decoding it with ``vidquant.io.reader.VideoReader``: the expected frame count
(within 3), not one colour, and the screen changed (else the keys did not arrive).

Clips are cached in ``benchmarks/out/corpus/`` as ``NAME_WxH_Ss.mkv`` (``_Nfps`` added when
not 30): reused when present, made again with ``--force`` (or by deleting the file). Nothing is
downloaded. ``make_corpus.py --kind terminal`` (and ``bench_corpus.py --kind ...``) make them
through ``ensure_recording``, at the corpus size.

Needs Debian's packages: ``apt-get install -y --no-install-recommends xvfb ffmpeg xterm
chromium xdotool man-db manpages procps vim fonts-dejavu-core`` (and the man pages must not be
excluded by a dpkg ``path-exclude``).

Usage: python benchmarks/corpus/record_screens.py [--clip terminal|browser|typing ...]
[--size 1280x720] [--seconds 12] [--fps 30] [--force]
"""

from __future__ import annotations

import argparse
import colorsys
import contextlib
import inspect
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [p for p in (str(ROOT), str(HERE)) if p not in sys.path]

from screens.docpage import write_page  # noqa: E402

CORPUS_DIR = ROOT / "benchmarks" / "out" / "corpus"
DEFAULT_SIZE = (1280, 720)
DEFAULT_SECONDS = 12.0
DEFAULT_FPS = 30
CLIPS = {
    "terminal": "xterm: man bash paged in less, then top",
    "browser": "chromium scrolling a long doc page with a fixed sidebar",
    "typing": "vim in xterm: Python code typed at a human pace",
}
PACKAGES = {  # program -> the Debian package that has it
    "Xvfb": "xvfb", "ffmpeg": "ffmpeg", "xdotool": "xdotool", "xterm": "xterm",
    "chromium": "chromium", "man": "man-db", "less": "less", "top": "procps", "vim": "vim",
    "fc-match": "fontconfig",
}  # fmt: skip
NEEDS = {"terminal": ("xterm", "man", "less", "top"), "browser": ("chromium",),
         "typing": ("xterm", "vim")}  # fmt: skip
APT = "apt-get install -y --no-install-recommends"
MARK = "VIDQUANT_RECORD_SESSION"  # environment marker of every process a recording starts
TERM_FONT = ["-fa", "DejaVu Sans Mono", "-fs", "11"]
MAX_LATE = 0.1  # more frames than this grabbed over a frame late (a busy machine): an error
Size = tuple[int, int]


CHECKED: dict[Path, dict] = {}  # the checks of the clips recorded by this process


class RecordError(RuntimeError):
    """A recording could not be made; the message says why and what to install."""


# --- processes -----------------------------------------------------------------------------


class Session:
    """The processes of one recording: started in their own sessions, all ended by close()."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.token = uuid.uuid4().hex
        self.procs: list[tuple[str, subprocess.Popen]] = []
        home = workdir / "home"  # an empty home: no user's settings, no history
        home.mkdir(parents=True, exist_ok=True)
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                    "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC", "LESSHISTFILE": "-",
                    "XDG_CONFIG_HOME": str(home / ".config"),
                    "XDG_CACHE_HOME": str(home / ".cache"), MARK: self.token}  # fmt: skip

    def spawn(self, name: str, cmd: list[str], **kw: object) -> subprocess.Popen:
        """Start ``cmd`` in a new session, output to ``workdir/NAME.log``."""
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("env", self.env)
        kw.setdefault("cwd", self.workdir)
        try:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, **kw)  # type: ignore[call-overload]  # fmt: skip
        finally:
            log.close()
        self.procs.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        """The last lines a process wrote."""
        path = self.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-8:])

    def marked(self) -> list[int]:
        """Every live process whose environment has this session's marker."""
        found, needle = [], f"{MARK}={self.token}".encode()
        for entry in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError):  # gone, or a zombie
                if needle in Path(f"/proc/{entry}/environ").read_bytes():
                    found.append(int(entry))
        return found

    def close(self) -> None:
        """End every process this session started, and their children: TERM, then KILL."""
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            for _, proc in reversed(self.procs):
                if proc.poll() is None:
                    with contextlib.suppress(OSError):
                        os.killpg(proc.pid, sig)
            for pid in self.marked():  # children that left the process group
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                for _, proc in self.procs:
                    proc.poll()
                if not self.marked() and all(p.returncode is not None for _, p in self.procs):
                    return
                time.sleep(0.05)

    def xvfb(self, size: Size, timeout_s: float = 15.0) -> str:
        """Start ``Xvfb`` on a free display (``-displayfd``) and return ``":N"``."""
        read_fd, write_fd = os.pipe()
        try:
            proc = self.spawn("xvfb", ["Xvfb", "-displayfd", str(write_fd), "-screen", "0",
                                       f"{size[0]}x{size[1]}x24", "-dpi", "96", "-nolisten",
                                       "tcp", "-noreset"], pass_fds=(write_fd,))  # fmt: skip
            os.close(write_fd)
            got, deadline = b"", time.monotonic() + timeout_s
            while not got.endswith(b"\n"):  # the number, then "\n": keep the pipe open till then
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                    break
                if not (chunk := os.read(read_fd, 64)):
                    break
                got += chunk
            number = got.decode().strip() if got.endswith(b"\n") else ""
        finally:
            os.close(read_fd)
        boost(proc)
        if not number:
            proc.kill()
            raise RecordError(f"Xvfb did not start within {timeout_s} s: {self.log('xvfb')}")
        self.env["DISPLAY"] = f":{number}"
        return f":{number}"


def xdo(session: Session, *args: str, timeout: float = 30.0) -> str:
    """Run ``xdotool ARGS`` on the session's display; its output."""
    done = subprocess.run(["xdotool", *args], env=session.env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    if done.returncode:
        raise RecordError(f"xdotool {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def grab(session: Session, size: Size) -> np.ndarray:
    """One screenshot (RGB, no pointer) through ffmpeg's x11grab."""
    w, h = size
    cmd = ["ffmpeg", "-v", "error", "-f", "x11grab", "-draw_mouse", "0", "-video_size",
           f"{w}x{h}", "-i", session.env["DISPLAY"], "-frames:v", "1", "-f", "rawvideo",
           "-pix_fmt", "rgb24", "-"]  # fmt: skip
    done = subprocess.run(cmd, env=session.env, capture_output=True, timeout=30)
    if done.returncode or len(done.stdout) != w * h * 3:
        raise RecordError(f"screenshot failed: {done.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(done.stdout, np.uint8).reshape(h, w, 3)


def wait_drawn(session: Session, size: Size, what: str, alive: subprocess.Popen, *,
               timeout_s: float = 40.0, settle_s: float = 0.6) -> np.ndarray:  # fmt: skip
    """Grab until the screen is not one colour and has not changed for ``settle_s``."""
    deadline = time.monotonic() + timeout_s
    last, since = None, 0.0
    while time.monotonic() < deadline:
        if alive.poll() is not None:
            raise RecordError(f"{what} exited early ({alive.returncode})")
        shot = grab(session, size)
        if not (shot == shot[0, 0]).all():
            if last is not None and np.array_equal(shot, last):
                if time.monotonic() - since >= settle_s:
                    return shot
            else:
                last, since = shot, time.monotonic()
        time.sleep(0.15)
    raise RecordError(f"{what} was not drawn (or never stood still) within {timeout_s:g} s")


def find_window(session: Session, cls: str, timeout_s: float = 30.0) -> str:
    """The largest visible window of an X class (the program's main window)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        search = ["xdotool", "search", "--onlyvisible", "--class", cls]
        found = subprocess.run(search, env=session.env, capture_output=True, text=True).stdout
        areas = {}
        for wid in found.split():
            geo = xdo(session, "getwindowgeometry", "--shell", wid).split()
            sizes = dict(kv.split("=", 1) for kv in geo if kv.startswith(("WIDTH=", "HEIGHT=")))
            areas[wid] = int(sizes.get("WIDTH", 0)) * int(sizes.get("HEIGHT", 0))
        if areas and max(areas.values()) > 100 * 100:
            return max(areas, key=areas.__getitem__)
        time.sleep(0.2)
    raise RecordError(f"no {cls} window appeared within {timeout_s:g} s")


def fit_window(session: Session, wid: str, size: Size) -> None:
    """Move a window to the top-left corner, size it to the screen, point into it, focus it."""
    xdo(session, "windowmove", "--sync", wid, "0", "0")
    xdo(session, "windowsize", "--sync", wid, str(size[0]), str(size[1]))
    xdo(session, "mousemove", "--sync", str(size[0] * 3 // 4), str(size[1] * 2 // 3))
    xdo(session, "windowfocus", "--sync", wid)


class Clock:
    """Seconds since recording started; ``at(t)`` sleeps until then."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def at(self, t: float) -> None:
        time.sleep(max(0.0, self.t0 + t - time.monotonic()))


# --- the three clips ------------------------------------------------------------------------

Play = Callable[[Clock, float], None]  # (clock, seconds): drive the program while recording


def start_xterm(session: Session, size: Size, script: str, colours: list[str]) -> None:
    """An xterm filling the screen, running ``sh -c script`` once it has its size (``go``)."""
    wrapped = f"while [ ! -e go ]; do sleep 0.05; done; {script}"
    cmd = ["xterm", *TERM_FONT, *colours, "+sb", "-geometry", "80x24+0+0", "-title", "xterm",
           "-xrm", "XTerm*cursorBlink: false", "-e", "sh", "-c", wrapped]  # fmt: skip
    proc = session.spawn("xterm", cmd)
    fit_window(session, find_window(session, "xterm"), size)
    time.sleep(0.3)  # let the shell see the new size (SIGWINCH) before the program starts
    (session.workdir / "go").touch()
    wait_drawn(session, size, "the xterm program", proc)


def stage_terminal(session: Session, size: Size) -> Play:
    session.env.update(MANPAGER="less", PAGER="less", MANROFFOPT="-c")
    start_xterm(session, size, "man bash; exec top -d 1", ["-bg", "#1d1f21", "-fg", "#d8dcd6"])

    def play(clock: Clock, seconds: float) -> None:
        man_end = 0.62 * seconds
        k = seconds / 12.0
        events = [  # (start, duration, xdotool arguments)
            (0.7 * k, 1.0, ["key", "--delay", "120", *["Down"] * 8]),
            (2.2 * k, 0.1, ["key", "space"]),
            (3.4 * k, 0.1, ["key", "space"]),
            (4.3 * k, 2.0, ["type", "--delay", "85", "/Parameter Expansion"]),
            (None, 0.1, ["key", "Return"]),
            (6.3 * k, 0.6, ["key", "--delay", "120", *["Down"] * 5]),
            (7.0 * k, 0.1, ["key", "Next"]),
        ]
        for start, duration, args in events:
            start = clock.now() if start is None else start
            if start + duration > man_end - 0.1:
                break
            clock.at(start)
            xdo(session, *args)
        clock.at(man_end)
        xdo(session, "key", "q")  # leave man: the shell runs top

    return play


def stage_browser(session: Session, size: Size) -> Play:
    page = write_page(session.workdir / "library.html")
    w, h = size
    cmd = ["chromium", "--no-sandbox", "--test-type", "--no-first-run",
           "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
           "--disable-sync", "--disable-background-networking", "--disable-component-update",
           "--disable-default-apps", "--disable-features=Translate,MediaRouter",
           "--password-store=basic", "--noerrdialogs", "--force-device-scale-factor=1",
           "--hide-crash-restore-bubble", f"--user-data-dir={session.workdir / 'chromium'}",
           "--window-position=0,0", f"--window-size={w},{h}", f"--app={page.as_uri()}"]  # fmt: skip
    proc = session.spawn("chromium", cmd)
    fit_window(session, find_window(session, "chromium", timeout_s=60), size)
    xdo(session, "mousemove", "--sync", str(w * 3 // 5), str(h // 2))  # over the content pane
    wait_drawn(session, size, "chromium's page", proc, timeout_s=60, settle_s=1.0)

    def play(clock: Clock, seconds: float) -> None:
        rng = random.Random(20240604)
        t, burst = 0.6, 0
        while True:
            clicks = rng.randint(2, 5)
            if t + clicks * 0.1 + 0.4 > seconds:
                break
            clock.at(t)
            if burst == 5:
                xdo(session, "key", "Next")  # PageDown: one animated page
            elif burst == 8:
                xdo(session, "click", "--repeat", "2", "--delay", "110", "4")  # back up a bit
            else:
                xdo(session, "click", "--repeat", str(clicks), "--delay", "100", "5")
            burst += 1
            t = clock.now() + rng.uniform(0.55, 1.2)  # reading

    return play


def typing_source() -> tuple[list[str], int, list[str]]:
    """colorsys.py without hls_to_rgb and _v: (the file's lines, where they were, their lines)."""
    lines = inspect.getsource(colorsys).splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("def hls_to_rgb"))
    end = next(i for i, ln in enumerate(lines) if ln.startswith("# HSV"))
    return lines[:start] + lines[end:], start, lines[start:end]


def stage_typing(session: Session, size: Size) -> Play:
    kept, at, typed = typing_source()
    (session.workdir / "colorsys.py").write_text("\n".join(kept) + "\n")
    vim = (f"exec vim -u NONE -i NONE -N -n -c 'syntax on' -c 'set number ruler laststatus=2 "
           f"showmode noautoindent' -c 'normal zz' +{at + 1} colorsys.py")  # fmt: skip
    start_xterm(session, size, vim, ["-bg", "white", "-fg", "black"])
    # words with the spaces before them, then a line end: typed one by one at varying speed
    chunks = [c for line in typed for c in (*re.findall(r" *\S+", line), "\n")]

    def play(clock: Clock, seconds: float) -> None:
        rng = random.Random(20240605)
        clock.at(0.5)
        xdo(session, "key", "O")  # open a line above: the cut-out functions go there
        clock.at(0.9)
        for chunk in chunks:
            delay = rng.randint(60, 110)  # ms a key
            if clock.now() + len(chunk) * delay / 1000 > seconds - 0.9:
                break
            if chunk == "\n":
                xdo(session, "key", "Return")
                time.sleep(rng.uniform(0.2, 0.6))  # a pause at the end of the line
            else:
                xdo(session, "type", "--delay", str(delay), "--", chunk)
        clock.at(seconds - 0.6)
        xdo(session, "key", "Escape")  # leave insert mode

    return play


STAGES: dict[str, Callable[[Session, Size], Play]] = {
    "terminal": stage_terminal, "browser": stage_browser, "typing": stage_typing,
}  # fmt: skip


# --- recording ------------------------------------------------------------------------------


def clip_path(
    name: str, size: Size = DEFAULT_SIZE, seconds: float = DEFAULT_SECONDS, fps: int = DEFAULT_FPS
) -> Path:
    """Where the recording of this clip, size, length and frame rate is cached."""
    rate = "" if fps == DEFAULT_FPS else f"_{fps}fps"
    return CORPUS_DIR / f"{name}_{size[0]}x{size[1]}_{seconds:g}s{rate}.mkv"


def missing_tools(name: str) -> str | None:
    """A sentence naming what the clip lacks and the packages to install, or None."""
    need = ("Xvfb", "ffmpeg", "xdotool", "fc-match", *NEEDS[name])
    missing = [tool for tool in need if shutil.which(tool) is None]
    if missing:
        pkgs = " ".join(dict.fromkeys(PACKAGES[t] for t in missing))
        return f"{name}: missing {', '.join(missing)}: {APT} {pkgs}"
    font = subprocess.run(["fc-match", "DejaVu Sans Mono"], capture_output=True, text=True)
    if "DejaVu" not in font.stdout:
        return f"{name}: no DejaVu fonts: {APT} fonts-dejavu-core"
    if name == "terminal":
        page = subprocess.run(["man", "-w", "bash"], capture_output=True, text=True)
        if page.returncode:
            return f"{name}: no man page for bash: {APT} man-db bash (not excluded by dpkg)"
    return None


def boost(proc: subprocess.Popen) -> None:
    """Nice -10 (when allowed) for the X server and the grab: little CPU, but on time."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, proc.pid, -10)


def capture(session: Session, size: Size, fps: int, n_frames: int, raw: Path) -> subprocess.Popen:
    """ffmpeg x11grab -> ``n_frames`` raw bgr0 frames in NUT: cheap, so the grab keeps pace."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostats", "-y",
           "-f", "x11grab", "-draw_mouse", "1", "-framerate", str(fps),
           "-video_size", f"{size[0]}x{size[1]}", "-i", f"{session.env['DISPLAY']}.0+0,0",
           "-frames:v", str(n_frames), "-fps_mode", "passthrough",
           "-c:v", "rawvideo", "-f", "nut", str(raw)]  # fmt: skip
    boost(proc := session.spawn("ffmpeg", cmd, stdin=subprocess.PIPE))
    return proc


def stop_ffmpeg(proc: subprocess.Popen, timeout_s: float) -> None:
    """Wait for ffmpeg to finish its frames; else ``q``, then SIGINT: the file is finalised."""
    for stop in (None, "q", signal.SIGINT):
        with contextlib.suppress(OSError):
            if stop == "q":
                proc.stdin.write(b"q")  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
            elif stop is not None:
                proc.send_signal(stop)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout_s if stop is None else 10)
            return


def lateness(raw: Path, fps: int) -> np.ndarray:
    """How late (s) each frame was grabbed: its wall-clock time against its slot i / fps."""
    with av.open(str(raw)) as container:
        stream = container.streams.video[0]
        pts = np.array([p.pts for p in container.demux(stream) if p.pts is not None], float)
    t = (pts - pts[0]) * float(stream.time_base)
    return t - np.arange(len(t)) / fps


def record(name: str, size: Size, seconds: float, fps: int, out: Path) -> None:
    """Record one clip to ``out``: its own Xvfb and program, all ended afterwards."""
    n_frames = max(2, round(seconds * fps))
    with tempfile.TemporaryDirectory(prefix=f"vq-record-{name}-") as tmp:
        session, raw = Session(Path(tmp)), Path(tmp) / "raw.nut"
        try:
            session.xvfb(size)
            play = STAGES[name](session, size)
            proc = capture(session, size, fps, n_frames, raw)
            deadline = time.monotonic() + 15
            while not (raw.exists() and raw.stat().st_size > 0):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RecordError("ffmpeg x11grab did not start")
                time.sleep(0.02)
            clock = Clock()
            play(clock, seconds)
            stop_ffmpeg(proc, timeout_s=seconds + 30)
            if proc.returncode not in (0, 255):  # 255: stopped by q / SIGINT
                raise RecordError(f"ffmpeg x11grab failed ({proc.returncode})")
            late = lateness(raw, fps)
            n_late = int((late > 1 / fps).sum())
            print(f"  captured in {clock.now():.1f} s; {n_late} frames grabbed over a frame late "
                  f"(at most {1000 * late.max():.0f} ms)", flush=True)  # fmt: skip
            if n_late > MAX_LATE * n_frames:
                load = f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs"
                why = f"{n_late} of {n_frames} frames were grabbed late ({load}); try again"
                raise RecordError(f"the machine was too busy to record in real time: {why}")
        except RecordError as exc:
            logs = [f"--- {n}.log:\n{session.log(n)}" for n, _ in session.procs if session.log(n)]
            raise RecordError("\n".join([str(exc), *logs])) from None
        finally:
            session.close()
        # frame i at i / fps: x11grab keeps to its schedule (late grabs catch up), so each
        # grab is its slot's; only the wall-clock stamps jitter
        cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(raw), "-vf",
               f"setpts=N/{fps}/TB", "-fps_mode", "cfr", "-r", str(fps), "-c:v", "ffv1",
               "-level", "3", "-slices", "4", "-slicecrc", "1", "-g", str(fps), "-threads", "2",
               "-pix_fmt", "bgr0", "-metadata", f"comment={name}", str(out)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise RecordError(f"ffmpeg FFV1 encode failed: {done.stderr.strip()}")


def check_clip(path: Path, n_frames: int, name: str) -> dict:
    """Decode with VideoReader: frame count, not one colour, the screen changed; figures."""
    from vidquant.io.reader import VideoReader

    changed, frames = [], {}  # changed: share of pixels unlike the frame before, per frame
    with VideoReader(path) as reader:
        for frame in reader:
            if frames:
                changed.append(float((frame.rgb != frames["last"]).any(axis=2).mean()))
            frames.setdefault("first", frame.rgb)
            if frame.index == n_frames // 2:
                frames["mid"] = frame.rgb
            frames["last"] = frame.rgb
    count = len(changed) + 1 if frames else 0
    if abs(count - n_frames) > 3:
        raise RecordError(f"{path.name}: {count} frames decoded, {n_frames} expected")
    if (frames["first"] == frames["first"][0, 0]).all():
        raise RecordError(f"{path.name}: the screen is one colour: {name} drew nothing")
    moving = sum(c > 0 for c in changed)
    if moving < 3 or np.array_equal(frames["first"], frames["last"]):
        raise RecordError(f"{path.name}: the screen hardly changed: xdotool's input did not "
                          f"reach {name}")  # fmt: skip
    return {"frames": count, "changed": float(np.mean(changed)), "moving": moving / (count - 1),
            "mid": frames.get("mid")}  # fmt: skip


def ensure_recording(
    name: str, size: Size = DEFAULT_SIZE, seconds: float = DEFAULT_SECONDS,
    fps: int = DEFAULT_FPS, *, force: bool = False,
) -> Path:  # fmt: skip
    """The cached recording, made first when it is missing (or when ``force``)."""
    if name not in CLIPS:
        raise ValueError(f"clip must be one of {', '.join(CLIPS)}, got {name!r}")
    w, h = size
    if w % 2 or h % 2 or w < 320 or h < 240:
        raise ValueError(f"size must be even and at least 320x240, got {w}x{h}")
    if seconds <= 0 or fps <= 0:
        raise ValueError(f"seconds and fps must be > 0, got {seconds}, {fps}")
    path = clip_path(name, size, seconds, fps)
    if path.exists() and not force:
        return path
    if why := missing_tools(name):
        raise RecordError(why)
    n_frames = max(2, round(seconds * fps))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mkv")
    print(f"recording {path.name} ({n_frames} frames, {CLIPS[name]}) ...", flush=True)
    try:
        record(name, size, seconds, fps, tmp)
        checked = check_clip(tmp, n_frames, name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    CHECKED[path] = checked
    return path


def parse_size(text: str) -> Size:
    """``"1280x720"`` -> (1280, 720)."""
    if not re.fullmatch(r"\d+x\d+", text.lower()):
        raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}")
    return int(text.lower().split("x")[0]), int(text.lower().split("x")[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", choices=list(CLIPS), action="append", help="default: all")
    parser.add_argument("--size", type=parse_size, default=DEFAULT_SIZE, help="WxH (1280x720)")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="length (12)")
    parser.add_argument("--fps", type=int, default=DEFAULT_FPS, help="frame rate (30)")
    parser.add_argument("--force", action="store_true", help="record again even if cached")
    parser.add_argument("--png", type=Path, help="also save each clip's middle frame here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the cleanup runs
    for name in args.clip or CLIPS:
        t0 = time.perf_counter()
        try:
            path = ensure_recording(name, args.size, args.seconds, args.fps, force=args.force)
        except RecordError as exc:
            raise SystemExit(f"error: {exc}") from None
        info = CHECKED.get(path) or check_clip(path, round(args.seconds * args.fps), name)
        print(f"{path} ({info['frames']} frames, {path.stat().st_size:,} bytes; "
              f"{100 * info['changed']:.2f} % of pixels change per frame on average, "
              f"{100 * info['moving']:.0f} % of frames differ from the last; "
              f"{time.perf_counter() - t0:.1f} s)", flush=True)  # fmt: skip
        if args.png is not None:
            from PIL import Image

            args.png.mkdir(parents=True, exist_ok=True)
            Image.fromarray(info["mid"]).save(args.png / f"{path.stem}.mid.png")


if __name__ == "__main__":
    main()
