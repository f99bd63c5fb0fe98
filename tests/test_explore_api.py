"""``vidquant explore``'s HTTP API: what the explorer answers, the sources it lists and opens,
the requests it refuses, and its port. The fixtures are in conftest.py, the helpers in
exploreutil.py."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exploreutil import fetch, get_json, port_is_closed
from vidquant.apps.explore import Explorer
from vidquant.errors import OutputError, SettingsError
from vidquant.io.probe import probe_stream_bytes


@pytest.fixture(scope="module")
def photo_explorer(photo: Path) -> Iterator[Explorer]:
    """One explorer of ``photo`` for the tests that only ask questions."""
    with Explorer(photo, prefetch=False) as explorer:
        yield explorer


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
