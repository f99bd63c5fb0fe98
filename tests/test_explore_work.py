"""``vidquant explore``'s work: at most ``slots`` computations and ``queue`` waiting requests (503
beyond), the background prefetch of the neighbouring k values, and the result cache."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest

from exploreutil import blocked_compute, fetch, get_json, wait_until
from vidquant.apps.explore.cache import Gate, Skipped


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
