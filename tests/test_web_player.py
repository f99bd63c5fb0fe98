"""The browser player: ``vidquant export --html``, the loopback server (Range requests, Host and
Origin checks), and ``<vq-player>`` in a real headless Chromium: its canvas pixels equal the
Python decoder's RGB exactly, with WebGL2 (Chromium's software WebGL under --disable-gpu) and
with the canvas-2D fallback; seeking, ``ended`` and ``error``."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from cliutil import invoke, one_line_error
from exploreutil import fetch
from vidquant.apps.web import PLAYER_FILES, WebServer, export_html, serving
from vidquant.decoder import open_vq


def test_export_html_writes_a_folder_that_plays(vq_clip, tmp_path: Path) -> None:
    _, vq = vq_clip
    out = tmp_path / "page"
    result = invoke("export", vq, "--html", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.html", "clip.vq", *PLAYER_FILES])
    assert (out / "clip.vq").read_bytes() == vq.read_bytes()
    page = (out / "index.html").read_text()
    assert '<vq-player id="player" src="clip.vq"' in page and 'src="vq-player.js"' in page
    again = invoke("export", vq, "--html", out)  # not over an existing folder without --force
    assert again.exit_code != 0 and "--force" in one_line_error(again)
    assert invoke("export", vq, "--html", out, "--force").exit_code == 0


def test_export_refuses_what_is_not_a_vq(vq_clip, tmp_path: Path) -> None:
    clip, _ = vq_clip
    result = invoke("export", clip, "--html", tmp_path / "page")
    assert result.exit_code == 4, result.output  # a bad file, not a bad call
    assert "not a vidquant file" in one_line_error(result)
    assert not (tmp_path / "page").exists()


def test_server_answers_ranges_and_refuses_other_sites(vq_clip, tmp_path: Path) -> None:
    _, vq = vq_clip
    folder = export_html(vq, tmp_path / "page")
    data = vq.read_bytes()
    server = WebServer(folder).start()
    try:
        url = server.url + "clip.vq"
        status, headers, body = fetch(url)
        assert (status, body, headers["Accept-Ranges"]) == (200, data, "bytes")
        status, headers, body = fetch(url, {"Range": "bytes=100-199"})
        assert (status, body) == (206, data[100:200])
        assert headers["Content-Range"] == f"bytes 100-199/{len(data)}"
        status, _, body = fetch(
            url, {"Range": "bytes=-36"}
        )  # the trailer, as a seeking reader asks
        assert (status, body) == (206, data[-36:])
        assert fetch(url, {"Range": f"bytes={len(data)}-"})[0] == 416
        assert fetch(url, {"Host": "evil.example:80"})[0] == 403
        assert fetch(url, {"Origin": "http://evil.example"})[0] == 403
        assert fetch(url, {"Sec-Fetch-Site": "cross-site"})[0] == 403
        assert fetch(server.url + "../" + vq.name)[0] == 404
        assert fetch(server.url + "%2e%2e/" + vq.name)[0] == 404
        status, headers, body = fetch(server.url)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert fetch(server.url + "vq.js")[1]["Content-Type"].startswith("text/javascript")
    finally:
        server.stop()


# -- in the browser ---------------------------------------------------------------------------

STATE_JS = """
const p = document.getElementById(arguments[0]);
return p ? {renderer: p.renderer, frame: p.frameIndex, time: p.currentTime, duration: p.duration,
            paused: p.paused, ended: p.ended, error: p.error, events: window.vqEvents || []} : null;
"""

# A fresh player on the page: the default one is removed, events are recorded in window.vqEvents.
ADD_PLAYER_JS = """
document.querySelectorAll('vq-player').forEach((p) => p.remove());
window.vqEvents = [];
const p = document.createElement('vq-player');
p.id = 'test';
if (arguments[1]) p.setAttribute('renderer', arguments[1]);
for (const name of ['loadedmetadata', 'seeked', 'ended', 'error', 'play', 'pause'])
  p.addEventListener(name, (e) => window.vqEvents.push(
    name === 'error' ? 'error: ' + e.detail.message : name));
p.setAttribute('src', arguments[0]);
document.body.appendChild(p);
"""

# The RGB of the frame on screen, as a checksum of its bytes (alpha left out).
PIXELS_JS = """
const data = document.getElementById('test').readPixels();
let sum = 0;
for (let i = 0; i < data.length; i++) if (i % 4 !== 3) sum = (Math.imul(sum, 31) + data[i]) >>> 0;
let opaque = true;
for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) opaque = false;
return [data.length, sum, opaque];
"""


def _checksum(rgb: np.ndarray) -> int:
    total = 0
    for value in rgb.reshape(-1).tolist():
        total = (total * 31 + value) & 0xFFFFFFFF
    return total


def _wait(driver, condition, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        state = driver.execute_script(STATE_JS, "test")
        if state is not None and condition(state):
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}; last state {state}")
        time.sleep(0.05)


def _open_player(driver, url: str, renderer: str | None = None, *, first: int | None = None):
    """The page at ``url`` with a fresh test player on its clip.vq (``renderer``: "2d" or the
    default), once it shows a frame (``first``: that frame); returns the state then."""
    driver.get(url)
    driver.execute_script(ADD_PLAYER_JS, "clip.vq", renderer)
    if first is None:
        return _wait(driver, lambda s: s["frame"] is not None, "the first frame")
    return _wait(driver, lambda s: s["frame"] == first, f"frame {first} first")


def _play_to_end(driver) -> dict:
    """Play the test player and return its state once it has ended."""
    driver.execute_script("document.getElementById('test').play()")
    return _wait(driver, lambda s: s["ended"], "the ended event", timeout=30)


@pytest.fixture(scope="module")
def decoded(vq_clip) -> list:
    _, vq = vq_clip
    with open_vq(vq) as dec:
        tb = float(dec.header.time_base)
        return [(f.index, f.pts * tb, f.to_rgb()) for f in dec.iter_frames()]


@pytest.mark.parametrize("renderer", ["webgl2", "2d"])
def test_player_pixels_equal_the_python_decoder(browser, vq_clip, decoded, renderer) -> None:
    _, vq = vq_clip
    browser.get_log("browser")  # start with an empty console
    with serving(vq) as server:
        state = _open_player(browser, server.url, "2d" if renderer == "2d" else None)
        assert state["renderer"] == renderer
        assert state["duration"] == pytest.approx(2.0)
        assert "loadedmetadata" in state["events"]
        browser.execute_script("document.getElementById('test').pause()")
        # frames 0 (keyframe), 5 (inter), 6 (the next keyframe at 0.5 s), 13 and the last
        for index in (5, 0, 6, 13, len(decoded) - 1):
            _, start, rgb = decoded[index]
            browser.execute_script(
                "document.getElementById('test').currentTime = arguments[0]", start + 0.01
            )
            _wait(browser, lambda s, i=index: s["frame"] == i, f"frame {index} after the seek")
            size, total, opaque = browser.execute_script(PIXELS_JS)
            assert size == rgb.shape[0] * rgb.shape[1] * 4 and opaque
            assert total == _checksum(rgb), f"frame {index}: the canvas differs from Python's"
        severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe


def test_player_plays_to_the_end(browser, vq_clip) -> None:
    _, vq = vq_clip
    with serving(vq) as server:
        _open_player(browser, server.url)
        state = _play_to_end(browser)
        assert state["paused"] and state["frame"] == 23 and "ended" in state["events"]
        assert state["time"] == pytest.approx(2.0)


def test_player_reports_a_damaged_file(browser, vq_clip, tmp_path: Path) -> None:
    _, vq = vq_clip
    folder = export_html(vq, tmp_path / "page")
    data = bytearray(vq.read_bytes())
    data[len(data) * 3 // 5] ^= 0x40  # inside a frame record half-way: its CRC fails
    (folder / "clip.vq").write_bytes(bytes(data))
    server = WebServer(folder).start()
    try:
        _open_player(browser, server.url)
        browser.execute_script("document.getElementById('test').play()")
        state = _wait(browser, lambda s: s["error"] is not None, "the error event")
        assert "CRC" in state["error"]["message"] and state["error"]["offset"] > 0
        assert any(e.startswith("error: ") for e in state["events"])
        assert state["paused"] and 0 < state["frame"] < 23  # it played up to the damage
    finally:
        server.stop()


@pytest.fixture(scope="module")
def long_vq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 320x180, 96-frame clip (8 s at 12 fps, a keyframe every 0.5 s) whose .vq is larger
    than the player's first request, so that a ranged load needs its tail, index and stream."""
    from media import make_clip
    from vidquant.encode import encode_file
    from vidquant.settings import EncodeSettings

    folder = tmp_path_factory.mktemp("long")
    clip = make_clip(folder / "long.mp4", width=320, height=180, frames=96)
    vq = folder / "clip.vq"
    encode_file(clip, vq, EncodeSettings(k=16, keyint_s=0.5))
    assert vq.stat().st_size > 100_000
    return vq


def _frame_checksums(vq: Path, indices: tuple[int, ...]) -> dict[int, tuple[float, int]]:
    with open_vq(vq) as dec:
        tb = float(dec.header.time_base)
        return {
            f.index: (f.pts * tb, _checksum(f.to_rgb()))
            for f in dec.iter_frames()
            if f.index in indices
        }


def _seek_and_check(driver, expected: dict[int, tuple[float, int]]) -> None:
    for index, (start, checksum) in expected.items():
        driver.execute_script(
            "document.getElementById('test').currentTime = arguments[0]", start + 0.01
        )
        _wait(driver, lambda s, i=index: s["frame"] == i, f"frame {index} after the seek")
        assert driver.execute_script(PIXELS_JS)[1] == checksum, f"frame {index} differs"


def test_player_seeks_with_range_requests(browser, long_vq, tmp_path: Path) -> None:
    """On a server that answers Range, the player reads the head, then the trailer and the index
    (so the duration is known before any frame), then streams frames from the keyframe it
    needs; it never asks for the whole file."""
    folder = export_html(long_vq, tmp_path / "page")
    server = WebServer(folder).start()
    try:
        state = _open_player(browser, server.url, first=0)
        assert state["duration"] == pytest.approx(8.0)  # known from the trailer at once
        browser.execute_script("document.getElementById('test').pause()")
        _seek_and_check(browser, _frame_checksums(long_vq, (90, 7)))
        asked = [r for path, r in server.requests if path == "/clip.vq"]
        assert asked and all(r is not None for r in asked), asked  # never the whole file
        assert asked[0] == "bytes=0-65535" and asked[1].startswith(
            f"bytes={len(long_vq.read_bytes()) - 36}-"
        )
    finally:
        server.stop()


def test_player_plays_from_a_server_without_ranges(browser, long_vq, tmp_path: Path) -> None:
    """Python's own http.server ignores Range: the player streams the whole file, shows frames
    as they arrive, learns the duration at the end, and seeks exactly as well."""
    import functools
    import http.server
    import threading

    folder = export_html(long_vq, tmp_path / "page")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _open_player(browser, f"http://127.0.0.1:{server.server_address[1]}/", first=0)
        state = _wait(browser, lambda s: s["duration"] == pytest.approx(8.0), "the duration")
        browser.execute_script("document.getElementById('test').pause()")
        _seek_and_check(browser, _frame_checksums(long_vq, (50, 3, 95)))
        assert state["error"] is None
    finally:
        server.shutdown()
        server.server_close()


AUDIO_JS = """
const p = document.getElementById('test');
return {decoded: p.audioDecoded, sync: p.audioSync, problem: p.audioProblem};
"""


def _clip_with_sound(folder: Path, codec: str) -> Path:
    """A 160x96, 36-frame clip (3 s at 12 fps) with a 440 Hz tone in ``codec``."""
    import av

    from media import synthetic_frame

    path = folder / f"tone_{codec}.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 160, 96, "yuv420p"
        audio = container.add_stream(codec, rate=48000, layout="stereo")
        for i in range(36):
            frame = av.VideoFrame.from_ndarray(synthetic_frame(i, 160, 96), format="rgb24")
            container.mux(video.encode(frame.reformat(format="yuv420p")))
        container.mux(video.encode(None))
        t = np.arange(3 * 48000) / 48000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        step = 1536  # AC-3's frame; AAC and Opus take what they need
        for start in range(0, len(tone), step):
            chunk = np.ascontiguousarray(np.stack([tone[start : start + step]] * 2))
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 48000, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path


@pytest.mark.parametrize("codec, mode", [("aac", "copy"), ("aac", "opus")])
def test_player_plays_the_sound_in_sync(browser, tmp_path: Path, codec, mode) -> None:
    """AAC carried as it is, and Opus (--audio opus), go through WebCodecs' AudioDecoder and
    Web Audio; the frames follow the sound's clock, and the offset measured at every frame
    shown stays within a frame (12 fps: 83 ms)."""
    from vidquant.encode import encode_file
    from vidquant.settings import EncodeSettings

    vq = tmp_path / "clip.vq"
    encode_file(_clip_with_sound(tmp_path, codec), vq, EncodeSettings(k=8, audio=mode))
    with serving(vq) as server:
        _open_player(browser, server.url)
        state = _play_to_end(browser)
        sound = browser.execute_script(AUDIO_JS)
    assert state["error"] is None and sound["problem"] is None, sound
    assert sound["decoded"] == pytest.approx(3.0, abs=0.2)
    assert sound["sync"]["frames"] >= 20, sound  # the frames were shown on the sound's clock
    assert abs(sound["sync"]["meanMs"]) < 83 and sound["sync"]["maxMs"] < 150, sound


def test_player_says_when_it_cannot_play_the_sound(browser, tmp_path: Path) -> None:
    """Chromium's WebCodecs has no AC-3: the player says so and plays the pictures muted."""
    from vidquant.encode import encode_file
    from vidquant.settings import EncodeSettings

    vq = tmp_path / "clip.vq"
    encode_file(_clip_with_sound(tmp_path, "ac3"), vq, EncodeSettings(k=8))
    with open_vq(vq) as dec:
        assert dec.audio is not None and dec.audio.codec == "ac3"
    with serving(vq) as server:
        _open_player(browser, server.url)
        state = _play_to_end(browser)
        sound = browser.execute_script(AUDIO_JS)
        shown = browser.execute_script(
            "return document.getElementById('test').shadowRoot"
            ".querySelector('.message').textContent"
        )
    assert state["error"] is None and state["frame"] == 35
    assert "cannot decode ac3 audio" in sound["problem"] and sound["problem"] in shown


def test_player_follows_variable_frame_rate(browser, tmp_path: Path) -> None:
    """Frames of uneven length (20 ms to 700 ms): the one on screen at a time is the one whose
    timestamp says so, while paused (seeks) and while playing."""
    from fractions import Fraction

    from media import make_clip
    from vidquant.encode import encode_file
    from vidquant.settings import EncodeSettings

    pts = [0, 2, 4, 74, 76, 100, 160, 162, 230, 240]  # in 1/100 s
    clip = make_clip(
        tmp_path / "vfr.mkv", width=96, height=64, frames=len(pts), codec="ffv1", pix_fmt="bgr0",
        pts_list=pts, time_base=Fraction(1, 100),
    )  # fmt: skip
    vq = tmp_path / "clip.vq"
    encode_file(clip, vq, EncodeSettings(k=8))
    with open_vq(vq) as dec:
        starts = [float(f.pts * dec.header.time_base) for f in dec.iter_frames()]
    assert starts == pytest.approx([p / 100 for p in pts])
    with serving(vq) as server:
        _open_player(browser, server.url)
        browser.execute_script("document.getElementById('test').pause()")
        at = ((0.5, 2), (0.75, 3), (1.0, 5), (1.61, 6), (1.625, 7), (2.35, 8), (2.45, 9))
        for t, index in at:
            browser.execute_script("document.getElementById('test').currentTime = arguments[0]", t)
            _wait(browser, lambda s, i=index: s["frame"] == i, f"frame {index} at {t} s")
        browser.execute_script("const p = document.getElementById('test'); p.currentTime = 0;")
        _wait(browser, lambda s: s["frame"] == 0, "frame 0")
        # while playing, sample (frame, time) pairs: each frame is on screen inside its own span
        samples = browser.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const p = document.getElementById('test');
            const seen = [];
            p.play();
            const look = () => {
              seen.push([p.frameIndex, p.currentTime]);
              if (p.ended) done(seen); else requestAnimationFrame(look);
            };
            requestAnimationFrame(look);
            """
        )
    ends = [p / 100 for p in pts[1:]] + [starts[-1] + 0.1]
    # a sample may be a frame callback late (the player draws in its own): 150 ms of slack
    late = [(i, t) for i, t in samples if i is not None and t > ends[i] + 0.15]
    early = [(i, t) for i, t in samples if i is not None and t < starts[i] - 0.001]
    assert not early and not late, (early, late)
    shown = {i for i, _ in samples}
    assert {3, 5, 6, 8, 9} <= shown  # the long frames are all seen (short ones may be dropped)


def test_play_browser_serves_the_page_until_stopped(vq_clip, tmp_path: Path) -> None:
    """``vidquant play SRC.vq --browser --no-open`` in a real process: it prints the address,
    serves the page, the player and the file, and Ctrl-C stops it (exit 0, "stopped")."""
    import os
    import select
    import signal
    import subprocess
    import sys

    _, vq = vq_clip
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidquant", "play", str(vq), "--browser", "--no-open"],
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        assert line.startswith("serving http://127.0.0.1:"), (line, proc.poll())
        url = line.split()[1]
        status, _, page = fetch(url)
        assert status == 200 and b"<vq-player" in page
        status, _, body = fetch(url + "clip.vq")
        assert (status, body) == (200, vq.read_bytes())
        assert fetch(url, {"Host": "evil.example"})[0] == 403
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert out.strip().endswith("stopped")
    finally:
        if proc.poll() is None:
            proc.kill()
