"""``vidquant explore``: the HTTP API, the command in a real process, and the page in a real
(headless) Chromium, driven by selenium with key presses on the sliders and the source picker."""

from __future__ import annotations

import io
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cliutil import invoke, one_line_error
from media import synthetic_frame
from vidquant.apps.explore import Explorer
from vidquant.apps.explore.cache import Gate, Skipped
from vidquant.cli.common import EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE
from vidquant.errors import OutputError, SettingsError
from vidquant.io.probe import probe_stream_bytes

ROOT = Path(__file__).resolve().parent.parent
BROWSER_HINT = (
    "install Debian's packages: apt-get install -y chromium chromium-driver "
    '(and selenium: pip install -e ".[test]")'
)


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 160x120 photo-like PNG: gradients, a disc, noise (thousands of colours)."""
    path = tmp_path_factory.mktemp("explore") / "photo.png"
    Image.fromarray(synthetic_frame(3, 160, 120)).save(path)
    return path


@pytest.fixture(scope="module")
def second(photo: Path) -> Path:
    """Another picture, of another size and other colours than ``photo``."""
    path = photo.with_name("second.png")
    Image.fromarray(synthetic_frame(20, 120, 90, seed=7)[:, ::-1]).save(path)
    return path


@pytest.fixture(scope="module")
def truncated(photo: Path) -> Path:
    """A PNG cut in the middle: its header reads, its pixels do not."""
    path = photo.with_name("truncated.png")
    data = photo.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture
def folder(tmp_path: Path, photo: Path, second: Path, truncated: Path, clip: Path) -> Path:
    """A folder of two pictures, a truncated one, a video, a text file and a sub-folder."""
    shutil.copy(second, tmp_path / "b.png")
    shutil.copy(photo, tmp_path / "a.PNG")
    shutil.copy(clip, tmp_path / "d.mp4")
    shutil.copy(truncated, tmp_path / "c.png")
    (tmp_path / "notes.txt").write_text("not a picture")
    (tmp_path / "older").mkdir()
    shutil.copy(photo, tmp_path / "older" / "e.png")  # not recursive: not listed
    return tmp_path


@pytest.fixture
def serve(request: pytest.FixtureRequest) -> Iterator:
    """``serve(sources, **options)``: a started :class:`Explorer`, stopped after the test."""
    started: list[Explorer] = []

    def start(sources: Path | list[Path], **options: object) -> Explorer:
        explorer = Explorer(sources, **options).start()
        started.append(explorer)
        return explorer

    yield start
    for explorer in started:
        explorer.stop()


@pytest.fixture(scope="module")
def photo_explorer(photo: Path) -> Iterator[Explorer]:
    """One explorer of ``photo`` for the tests that only ask questions."""
    with Explorer(photo, prefetch=False) as explorer:
        yield explorer


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """GET ``url``: status, headers and body, also for an error status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(explorer: Explorer, path: str, status: int = 200) -> dict:
    code, headers, body = fetch(explorer.url + path.lstrip("/"))
    assert code == status, body
    assert headers["Content-Type"] == "application/json"
    return json.loads(body)


def wait_until(condition, what: str) -> None:
    """Poll ``condition()`` until true; fail naming ``what`` after 20 s."""
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.01)


def blocked_compute(explorer: Explorer) -> tuple[threading.Event, threading.Event]:
    """Make ``explorer``'s quantisations wait: (started, release) events."""
    started, release = threading.Event(), threading.Event()
    compute = explorer._compute

    def blocked(*key: object) -> object:
        started.set()
        assert release.wait(30)
        return compute(*key)

    explorer._compute = blocked  # type: ignore[method-assign]
    return started, release


def port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


# -- the HTTP API ------------------------------------------------------------------------------


def test_figures_follow_k_on_a_still(serve, photo: Path) -> None:
    explorer = serve(photo, prefetch=False)
    assert explorer.server_address[0] == "127.0.0.1"
    source = get_json(explorer, "/api/source")
    assert source["kind"] == "image" and source["name"] == "photo.png"
    assert (source["width"], source["height"], source["frames"]) == (160, 120, 1)
    assert source["preview"] is False and "mediancut" in source["methods"]

    psnrs = []
    for k in (2, 8, 64):
        figures = get_json(explorer, f"/api/quantize?k={k}")
        assert figures["k"] == k and figures["frame"] == 0 and figures["colours_after"] <= k
        assert figures["colours_before"] > 1000
        psnrs.append(figures["psnr_db"])
        code, headers, png = fetch(explorer.url + figures["quantized_url"].lstrip("/"))
        assert code == 200 and headers["Content-Type"] == "image/png"
        assert len(png) == figures["png_bytes"]
        assert figures["ratio_raw"] == pytest.approx(160 * 120 * 3 / len(png))
        image = Image.open(io.BytesIO(png))
        assert image.mode == "P" and image.size == (160, 120)
        assert len(image.convert("RGB").getcolors(256)) <= k
    assert psnrs[0] < psnrs[1] < psnrs[2], psnrs

    code, _, png = fetch(explorer.url + "img/original")
    original = Image.open(io.BytesIO(png))
    assert code == 200 and original.mode == "RGB"
    assert np.array_equal(np.asarray(original), np.asarray(Image.open(photo)))


def test_video_frames_are_picked_by_time(serve, clip: Path) -> None:
    explorer = serve(clip, prefetch=False)
    source = get_json(explorer, "/api/source")
    assert source["kind"] == "video" and source["frames"] == 24 and source["fps"] == 12.0
    first = get_json(explorer, "/api/quantize?k=8&t=0")
    # t = 5/12 written with 6 decimals lies a hair below frame 5's start: still frame 5
    fifth = get_json(explorer, "/api/quantize?k=8&t=0.416667&method=kmeans")
    last = get_json(explorer, f"/api/quantize?k=8&t={source['duration_s']}")
    assert (first["frame"], fifth["frame"], last["frame"]) == (0, 5, 23)
    assert fifth["method"] == "kmeans" and fifth["time_s"] == pytest.approx(5 / 12)
    # against the video stream's mean bytes per frame: no audio, no container
    video_bytes = probe_stream_bytes(clip).video_bytes
    assert first["source_bytes"] == round(video_bytes / 24)
    assert first["ratio_source"] == pytest.approx(video_bytes / 24 / first["png_bytes"])
    pictures = [fetch(explorer.url + f["original_url"].lstrip("/"))[2] for f in (first, last)]
    assert pictures[0] != pictures[1]
    assert get_json(explorer, "/api/quantize?k=8&t=2.5", 400)["error"].startswith("t must be")


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/quantize", 400, "parameter 'k' is missing"),
        ("/api/quantize?k=1", 400, "k must be 2..256, got 1"),
        ("/api/quantize?k=257", 400, "k must be 2..256, got 257"),
        ("/api/quantize?k=sixteen", 400, "k must be an integer"),
        ("/api/quantize?k=16&k=17", 400, "given twice"),
        ("/api/quantize?k=16&method=octree", 400, "method must be one of minibatch"),
        ("/api/quantize?k=16&t=1", 400, "t must be 0 (a still image)"),
        ("/api/quantize?k=16&t=nan", 400, "t must be"),
        ("/api/quantize?k=16&colour=red", 400, "unknown parameter 'colour'"),
        ("/api/quantize?k", 400, "malformed query"),
        ("/img/quantized?t=0", 400, "parameter 'k' is missing"),
        ("/img/original?k=4", 400, "unknown parameter 'k'"),
        ("/api/source?x=1", 400, "unknown parameter 'x'"),
        ("/api/source?s=1", 400, "s must be a source index 0..0, got '1'"),
        ("/api/quantize?k=4&s=-1", 400, "s must be a source index 0..0, got '-1'"),
        ("/api/quantize?k=4&s=first", 400, "s must be a source index 0..0, got 'first'"),
        ("/img/original?s=9999999999", 400, "s must be a source index"),
        ("/img/quantized?k=4&s=", 400, "s must be a source index 0..0, got ''"),
        ("/api/sources?s=0", 400, "unknown parameter 's'"),
        ("/?debug=1", 400, "unknown parameter"),
        ("/api/nothing", 404, "no such page"),
        ("/../../etc/passwd", 404, "no such page"),
        ("/explore.py", 404, "no such page"),
    ],
)
def test_bad_requests_get_a_json_error(
    photo_explorer: Explorer, path: str, status: int, message: str
) -> None:
    assert message in get_json(photo_explorer, path, status)["error"]


def test_sources_are_opened_when_asked_each_with_its_figures(
    serve, photo: Path, second: Path, clip: Path
) -> None:
    explorer = serve([photo, second, clip], prefetch=False)
    listing = get_json(explorer, "/api/sources")
    assert [s["name"] for s in listing["sources"]] == ["photo.png", "second.png", "clip.mp4"]
    assert listing["sources"][2]["file_bytes"] == clip.stat().st_size
    assert listing["skipped"] == 0 and listing["k"] == 16 and "kmeans" in listing["methods"]
    # nothing is read before it is asked for
    assert [s["kind"] for s in listing["sources"]] == [None, None, None]
    assert [explorer.known(s) for s in range(3)] == [None, None, None]

    info = get_json(explorer, "/api/source?s=1")
    assert (info["index"], info["count"], info["name"], info["kind"]) == (
        1,
        3,
        "second.png",
        "image",
    )
    assert (info["width"], info["height"], info["k_max"]) == (120, 90, 256)
    assert get_json(explorer, "/api/source")["name"] == "photo.png"  # s=0, as with one source
    kinds = [s["kind"] for s in get_json(explorer, "/api/sources")["sources"]]
    assert kinds == ["image", "image", None]

    figures = [get_json(explorer, f"/api/quantize?s={s}&k=8") for s in range(3)]
    assert [f["source"] for f in figures] == [0, 1, 2]
    assert [(f["width"], f["height"]) for f in figures] == [(160, 120), (120, 90), (96, 64)]
    assert len({f["colours_before"] for f in figures}) == 3
    assert len({f["png_bytes"] for f in figures}) == 3
    assert "s=1" in figures[1]["quantized_url"] and "s=1" in figures[1]["original_url"]
    for f, size in zip(figures, [(160, 120), (120, 90), (96, 64)], strict=True):
        for url in (f["original_url"], f["quantized_url"]):
            code, _, png = fetch(explorer.url + url.lstrip("/"))
            assert code == 200 and Image.open(io.BytesIO(png)).size == size
    code, _, png = fetch(explorer.url + "img/original?s=1")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), np.asarray(Image.open(second)))
    # the caches key on the source: each source's k=8 is its own cached result
    again = [get_json(explorer, f"/api/quantize?s={s}&k=8") for s in range(3)]
    assert all(f["cached"] for f in again) and explorer.stats.quantize_runs == 3
    assert get_json(explorer, "/api/quantize?s=2&k=8&t=1")["frame"] == 12  # a video's frames
    assert (
        "t must be 0 (a still image)"
        in get_json(explorer, "/api/quantize?s=1&k=8&t=1", 400)["error"]
    )
    assert "0..2, got '3'" in get_json(explorer, "/api/quantize?s=3&k=8", 400)["error"]


def test_a_folder_gives_its_pictures_and_videos(serve, folder: Path, photo: Path, caplog) -> None:
    with caplog.at_level("WARNING", logger="vidquant.apps.explore"):
        explorer = serve([folder, photo], prefetch=False)
    names = [f.path.name for f in explorer.files]
    assert names == ["a.PNG", "b.png", "c.png", "d.mp4", "photo.png"]  # by name, then the file
    assert explorer.skipped == 1 and "skipped 1 of 5 files" in caplog.text

    # a broken file is an error for the page, not for the explorer; it is read once
    error = get_json(explorer, "/api/source?s=2", 404)["error"]
    assert error == f"cannot decode {folder / 'c.png'}: image file is truncated"
    assert get_json(explorer, "/api/quantize?s=2&k=4", 404)["error"] == error
    assert fetch(explorer.url + "img/original?s=2")[0] == 404
    assert get_json(explorer, "/api/sources")["sources"][2]["error"] == error
    assert get_json(explorer, "/api/quantize?s=3&k=4&t=0.5")["frame"] == 6
    assert get_json(explorer, "/api/source?s=4")["name"] == "photo.png"


def test_requests_for_another_host_name_are_refused(photo_explorer: Explorer) -> None:
    explorer = photo_explorer
    code, _, body = fetch(explorer.url + "api/source", {"Host": "attacker.example:80"})
    assert code == 403 and "Host" in json.loads(body)["error"]
    port = explorer.server_address[1]
    assert fetch(explorer.url + "api/source", {"Host": f"localhost:{port}"})[0] == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Origin": "http://attacker.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "same-origin", "Origin": "{own}"}, 200),
        ({"Sec-Fetch-Site": "none"}, 200),
        ({}, 200),  # curl and other clients that are no browser
    ],
)
def test_requests_from_other_sites_are_refused(
    photo_explorer: Explorer, headers: dict[str, str], status: int
) -> None:
    explorer = photo_explorer
    headers = {name: value.format(own=explorer.url.rstrip("/")) for name, value in headers.items()}
    before = explorer.stats
    code, _, body = fetch(explorer.url + "img/quantized?k=77&method=random", headers)
    assert code == status
    if status == 403:
        assert "refused a request from" in json.loads(body)["error"]
        assert explorer.stats == before  # no work done for it


def test_a_busy_explorer_answers_503_rather_than_queue(serve, photo: Path) -> None:
    explorer = serve(photo, prefetch=False, slots=1, queue=1)
    started, release = blocked_compute(explorer)
    answers: dict[int, tuple] = {}

    def ask(k: int) -> None:
        answers[k] = fetch(explorer.url + f"api/quantize?k={k}")

    threads = [threading.Thread(target=ask, args=(k,)) for k in (3, 4)]
    threads[0].start()
    assert started.wait(30)  # k=3 holds the only slot
    threads[1].start()
    wait_until(lambda: explorer._gate.waiting == 1, "k=4 waits for the slot")
    for path in ("api/quantize?k=5", "img/quantized?k=6", "img/original?t=0"):
        code, headers, body = fetch(explorer.url + path)
        assert (code, headers["Retry-After"]) == (503, "1"), path
        assert json.loads(body)["error"].startswith("busy: 1 request already waiting"), body
    assert explorer.stats.refused == 3 and explorer.stats.quantize_runs == 0
    release.set()
    for thread in threads:
        thread.join(30)
    assert [answers[k][0] for k in (3, 4)] == [200, 200] and explorer.stats.quantize_runs == 2
    assert get_json(explorer, "/api/quantize?k=5")["cached"] is False  # served once free


def test_prefetch_never_takes_a_slot_a_request_waits_for(serve, photo: Path) -> None:
    explorer = serve(photo, slots=1)
    started, release = blocked_compute(explorer)
    thread = threading.Thread(target=fetch, args=(explorer.url + "api/quantize?k=30",))
    thread.start()
    assert started.wait(30)  # the only slot is taken: the neighbours of k=10 are left out
    explorer._want_neighbours(0, 0, 10, "minibatch")
    wait_until(lambda: explorer.stats.prefetch_skipped == 2, "both prefetches skipped")
    release.set()
    thread.join(30)
    wait_until(lambda: explorer.stats.prefetched == 2, "k=29 and k=31 prefetched once free")
    assert explorer.stats.quantize_runs == 3

    gate = Gate(2, 8)  # a free slot, but a request waits: not for the background
    gate.waiting = 1
    with pytest.raises(Skipped):
        gate.run(lambda: 1, background=True)
    gate.waiting = 0
    assert gate.run(lambda: 1, background=True) == 1
    one = Gate(1, 0)  # a computation inside another runs in its slot: no deadlock
    assert one.run(lambda: one.run(lambda: 2)) == 2


def test_a_failing_prefetch_is_logged_once_and_the_loop_goes_on(serve, photo: Path, caplog) -> None:
    explorer = serve(photo)
    compute = explorer._compute

    def failing(source: int, index: int, k: int, method: str) -> object:
        if k in (21, 31):
            raise RuntimeError(f"a bug at k={k}")
        return compute(source, index, k, method)

    explorer._compute = failing  # type: ignore[method-assign]
    with caplog.at_level("DEBUG", logger="vidquant.apps.explore"):
        get_json(explorer, "/api/quantize?k=20")
        wait_until(lambda: explorer.stats.prefetched == 1, "k=19 prefetched after k=21 failed")
        get_json(explorer, "/api/quantize?k=30")
        wait_until(lambda: explorer.stats.prefetched == 2, "k=29 prefetched after k=31 failed")
    failures = [r for r in caplog.records if r.getMessage().startswith("prefetch of")]
    # levelno, not levelname: the CLI renames the WARNING level for its own output
    assert [(r.levelno, str(r.exc_info[1])) for r in failures] == [
        (logging.WARNING, "a bug at k=21"),
        (logging.DEBUG, "a bug at k=31"),
    ]


def test_results_are_cached_and_computed_once(serve, photo: Path) -> None:
    explorer = serve(photo, prefetch=False, cache_results=2)
    first = get_json(explorer, "/api/quantize?k=12&method=random")
    again = get_json(explorer, "/api/quantize?k=12&method=random")
    assert (first["cached"], again["cached"]) == (False, True)
    assert {k: v for k, v in first.items() if k != "cached"} == {
        k: v for k, v in again.items() if k != "cached"
    }
    code, headers, _ = fetch(explorer.url + first["quantized_url"].lstrip("/"))
    assert code == 200 and explorer.stats.quantize_runs == 1 and explorer.stats.result_hits == 2
    # the browser's revalidation costs no work at all
    code, _, body = fetch(
        explorer.url + first["quantized_url"].lstrip("/"), {"If-None-Match": headers["ETag"]}
    )
    assert (code, body) == (304, b"") and explorer.stats.result_hits == 2

    # concurrent requests for a missing result wait for one computation
    urls = [explorer.url + "api/quantize?k=40&method=kmeans"] * 4
    threads = [threading.Thread(target=fetch, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert explorer.stats.quantize_runs == 2 and explorer.stats.result_hits == 5

    # bounded: two newer results pushed k=12 out
    get_json(explorer, "/api/quantize?k=13&method=random")
    assert get_json(explorer, "/api/quantize?k=12&method=random")["cached"] is False
    assert explorer.stats.frames_read == 0  # a still is read once, at start


def test_neighbouring_k_are_prefetched(serve, photo: Path) -> None:
    explorer = serve(photo)
    get_json(explorer, "/api/quantize?k=20")
    deadline = time.monotonic() + 20
    while explorer.stats.prefetched < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert explorer.stats.prefetched == 2
    assert get_json(explorer, "/api/quantize?k=21")["cached"] is True
    assert get_json(explorer, "/api/quantize?k=19")["cached"] is True


def test_large_pictures_are_explored_on_a_preview(serve, photo: Path) -> None:
    explorer = serve(photo, prefetch=False, preview_px=80)
    source = get_json(explorer, "/api/source")
    assert source["preview"] is True
    assert (source["width"], source["height"]) == (80, 60)
    assert (source["source_width"], source["source_height"]) == (160, 120)
    figures = get_json(explorer, "/api/quantize?k=4")
    png = fetch(explorer.url + figures["quantized_url"][1:])[2]
    assert Image.open(io.BytesIO(png)).size == (80, 60)
    # the source file holds 4 times the pixels: no ratio against it
    assert (figures["source_bytes"], figures["ratio_source"]) == (None, None)
    assert figures["ratio_raw"] == pytest.approx(80 * 60 * 3 / len(png))


def test_ports_loopback_and_stop(serve, photo: Path) -> None:
    explorer = serve(photo, prefetch=False)
    port = explorer.server_address[1]
    with pytest.raises(OutputError, match=f"cannot serve on 127.0.0.1:{port}: .*--port 0"):
        Explorer(photo, port=port).start()
    with pytest.raises(SettingsError, match="--port must be 0..65535"):
        Explorer(photo, port=70000)
    explorer.stop()
    assert port_is_closed(port)
    explorer.stop()  # idempotent


# -- the command, in a real process ------------------------------------------------------------


def start_cli(*args: object) -> tuple[subprocess.Popen, str]:
    """``python -m vidquant explore ARGS``, and the address it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidquant", "explore", *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("serving http://127.0.0.1:"):
        proc.kill()
        pytest.fail(f"no address printed: {line!r} {proc.communicate()}")
    assert line.endswith("/ (Ctrl-C to stop)\n"), line
    return proc, line.split()[1]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_ctrl_c(photo: Path, signum: int) -> None:
    proc, url = start_cli(photo, "--port", "0", "-k", "6")
    try:
        code, headers, page = fetch(url)
        assert code == 200 and b'id="quantized"' in page
        assert headers["Content-Type"].startswith("text/html")
        code, _, body = fetch(url + "api/source")
        assert code == 200 and json.loads(body)["k"] == 6
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == "stopped" and err == ""
    assert port_is_closed(int(url.rsplit(":", 1)[1].strip("/")))


def test_cli_errors_are_one_line_before_serving(serve, photo: Path, tmp_path: Path) -> None:
    result = invoke("explore", tmp_path / "missing.jpg")
    assert result.exit_code == EXIT_INPUT and "serving" not in result.stdout
    assert "input file not found" in one_line_error(result)
    result = invoke("explore", photo, "-k", "300")
    assert result.exit_code == EXIT_USAGE
    assert "-k must be 2..256, got 300" in one_line_error(result)
    result = invoke("explore", photo, tmp_path / "missing.jpg")  # checked before serving
    assert result.exit_code == EXIT_INPUT
    assert f"input file not found: {tmp_path / 'missing.jpg'}" in one_line_error(result)
    busy = serve(photo, prefetch=False).server_address[1]
    result = invoke("explore", photo, "--port", busy)
    assert result.exit_code == EXIT_OUTPUT
    assert f"cannot serve on 127.0.0.1:{busy}" in one_line_error(result)


def test_cli_explores_a_folder_and_refuses_an_empty_one(folder: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("explore", empty)
    assert result.exit_code == EXIT_INPUT
    assert f"no pictures or videos to explore in {empty}" in one_line_error(result)
    (empty / "readme.md").write_text("nothing to see")
    result = invoke("explore", empty)
    assert result.exit_code == EXIT_INPUT and "(1 other file skipped)" in one_line_error(result)

    proc, url = start_cli(folder)
    try:
        code, _, body = fetch(url + "api/sources")
        assert code == 200 and len(json.loads(body)["sources"]) == 4
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0 and out.splitlines()[-1] == "stopped"
    assert (
        err == f"vidquant: warning: {folder}: skipped 1 of 5 files (neither a picture nor a "
        "video, by the name's suffix)\n"
    )


# -- the page, in headless Chromium ------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """A headless Chromium under selenium; the tests fail without one, naming what to install."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    missing = [name for name, found in [("chromium", chromium), ("chromedriver", chromedriver),
               ("selenium", webdriver)] if not found]  # fmt: skip
    if missing:
        # Fail, never skip (as the play tests do): a skipped test would hide an untested page.
        pytest.fail(f"missing {', '.join(missing)}: {BROWSER_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(flag)
    # An explicit driver: Selenium Manager would try to download one (there is no network).
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


# The picture an <img> shows, read back through a canvas: width, height and a pixel checksum.
PIXELS_JS = """
const img = arguments[0];
const canvas = document.createElement("canvas");
canvas.width = img.naturalWidth;
canvas.height = img.naturalHeight;
const context = canvas.getContext("2d");
context.drawImage(img, 0, 0);
const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
let sum = 0;
for (let i = 0; i < data.length; i++) sum = (sum * 31 + data[i]) >>> 0;
return [canvas.width, canvas.height, sum];
"""


def wait_shown(driver, key: str) -> None:
    """Wait until the page shows ``"source|k|frame|method"`` (pictures and figures)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(d) -> bool:
        return d.execute_script("return document.body.dataset.shown") == key

    try:
        WebDriverWait(driver, 30, poll_frequency=0.05).until(shown)
    except Exception:
        state = driver.execute_script(
            "return [document.body.dataset.shown, document.getElementById('status').textContent]"
        )
        pytest.fail(f"the page never showed {key}: it shows {state}")


def press(driver, element_id: str, *keys: str) -> None:
    """Focus an element without clicking it (a click would move a slider) and press keys:
    real key events, so the page gets its input events as from a user."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("document.getElementById(arguments[0]).focus()", element_id)
    ActionChains(driver).send_keys(*keys).perform()


def text(driver, element_id: str) -> str:
    return driver.find_element("id", element_id).text


def pixels(driver, element_id: str) -> list:
    return driver.execute_script(PIXELS_JS, driver.find_element("id", element_id))


def psnr(driver) -> float:
    return float(text(driver, "psnr").split()[0])


def test_page_k_slider_updates_picture_and_figures(browser, serve, photo: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    explorer = serve(photo, k=8)
    browser.get(explorer.url)
    wait_shown(browser, "0|8|0|minibatch")
    assert text(browser, "k-value") == "8" and text(browser, "time-value") == "still image"
    assert not browser.find_element("id", "time").is_displayed()
    assert not browser.find_element("id", "source-picker").is_displayed()  # one source
    before = (psnr(browser), pixels(browser, "quantized"), text(browser, "size"))
    assert before[1][:2] == [160, 120] and text(browser, "colours").endswith("→ 8")

    press(browser, "k", *[Keys.ARROW_RIGHT] * 8)  # eight input events, k 9..16
    wait_shown(browser, "0|16|0|minibatch")
    assert text(browser, "k-value") == "16" and text(browser, "colours").endswith("→ 16")
    after = (psnr(browser), pixels(browser, "quantized"), text(browser, "size"))
    assert after[0] > before[0], (before, after)
    assert after[1] != before[1] and after[2] != before[2]

    press(browser, "k", Keys.HOME)
    wait_shown(browser, "0|2|0|minibatch")
    assert psnr(browser) < before[0] and text(browser, "colours").endswith("→ 2")
    assert pixels(browser, "original") == pixels(browser, "original")  # the original stays


def test_page_time_picker_and_method_on_a_video(browser, serve, clip: Path) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    explorer = serve(clip, k=16)
    browser.get(explorer.url)
    wait_shown(browser, "0|16|0|minibatch")
    assert text(browser, "time-value") == "1 / 24 · 0.00 s"
    first = pixels(browser, "original")

    press(browser, "time", Keys.END)
    wait_shown(browser, "0|16|23|minibatch")
    assert text(browser, "time-value") == "24 / 24 · 1.92 s"
    assert pixels(browser, "original") != first
    assert "frame 24" in text(browser, "original-caption")
    assert "the video stream's mean per frame" in text(browser, "source-size")

    browser.find_element("id", "prev-frame").click()
    wait_shown(browser, "0|16|22|minibatch")
    Select(browser.find_element("id", "method")).select_by_value("mediancut")
    wait_shown(browser, "0|16|22|mediancut")
    assert "mediancut" in text(browser, "quantized-caption")


def test_page_source_picker(browser, serve, photo: Path, second: Path, truncated: Path) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    explorer = serve([photo, second, truncated], k=8)
    browser.get(explorer.url)
    wait_shown(browser, "0|8|0|minibatch")
    assert browser.find_element("id", "source-picker").is_displayed()
    assert text(browser, "source-value") == "1 / 3" and text(browser, "name") == "photo.png"
    before = (pixels(browser, "original"), text(browser, "colours").split("→")[0])

    Select(browser.find_element("id", "source")).select_by_visible_text("second.png")
    wait_shown(browser, "1|8|0|minibatch")
    assert text(browser, "source-value") == "2 / 3" and text(browser, "name") == "second.png"
    original = pixels(browser, "original")
    assert original[:2] == [120, 90] and original != before[0]
    assert text(browser, "colours").split("→")[0] != before[1]
    quantized = pixels(browser, "quantized")

    press(browser, "k", *[Keys.ARROW_RIGHT] * 4)
    wait_shown(browser, "1|12|0|minibatch")
    assert pixels(browser, "quantized") != quantized and text(browser, "colours").endswith("→ 12")
    assert pixels(browser, "original") == original

    # a file that cannot be read: its error on the page, and the others still work
    browser.find_element("id", "next-source").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element("id", "source-error").is_displayed())
    assert "image file is truncated" in text(browser, "source-error")
    assert not browser.find_element("id", "pictures").is_displayed()
    assert text(browser, "psnr") == "–" and browser.find_element("id", "next-source").get_property(
        "disabled"
    )
    browser.find_element("id", "prev-source").click()
    wait_shown(browser, "1|12|0|minibatch")
    assert not browser.find_element("id", "source-error").is_displayed()
