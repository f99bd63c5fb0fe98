"""Benchmark vidquant's browser decoder (vidquant/web/vq.js) in Node and in headless chromium.

Each corpus clip (``benchmarks/corpus/make_corpus.py``, default camera, cartoon, screen and game,
8 s, at 1280x720 and 1920x1080) is encoded once at k = 32 into ``benchmarks/out/web_runs/``.
Then, with the whole file in memory, the JS decoder's frames per second are measured in Node
(``benchmarks/web/node-bench.mjs``) and on a page in headless chromium
(``benchmarks/web/bench.html``, served by ``vidquant.apps.web.WebServer``): ``VqFile`` plus
``FrameDecoder.frames()`` over the whole file, and the same plus ``toRGBA``. In chromium it also
measures the player's decoding path (``vq-worker.js`` sending every frame, as the player asks for
them) and ``<vq-player>`` playing the clip at normal speed. Then: the page's memory over a
10 s and a 60 s clip, the player's size (raw and gzipped), and the time to the first frame of a
~10 MB file served locally. It prints a Markdown report, with the 60 fps target at 1280x720 met
or not per clip, and writes it to ``benchmarks/out/web_results.md`` and ``web_results.json``.
Nothing is asserted. See ``benchmarks/README.md``.

Usage: python benchmarks/bench_web.py [--sizes 1280x720,1920x1080]
[--kinds camera,cartoon,screen,game] [--seconds 8] [--repeat 2] [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# run from a checkout, without `pip install -e .`; make_corpus imports its neighbours directly
sys.path[:0] = [str(HERE.parent), str(HERE), str(HERE / "corpus")]

from benchkit import OUT, ROOT  # noqa: E402
from benchkit.machine import machine, tool_version  # noqa: E402
from benchkit.tables import md_table, verdict  # noqa: E402
from benchkit.webbench import (  # noqa: E402
    MIB,
    TARGET_FPS,
    TARGET_SIZE,
    RssSampler,
    clip_table,
    cpu_seconds,
    errors,
    fmt,
    memory_table,
    renderer_pids,
)

WEB = HERE / "web"  # the page and the Node script of this benchmark
PLAYER = ROOT / "vidquant" / "web"  # the player measured, unless --player-dir
PLAYER_FILES = ("vq.js", "vq-worker.js", "vq-player.js")
RUNS = OUT / "web_runs"  # the encoded .vq files, reused across runs
K = 32
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",  # WebGL2 runs on chromium's software rasteriser
    "--enable-precise-memory-info",  # performance.memory unquantised
    "--js-flags=--expose-gc",  # window.gc() before memory readings
    "--window-size=1400,1000",
)
TTF_BYTES = 10_000_000  # the time-to-first-frame file: about this size
TTF_REPEAT = 3


def say(text: str) -> None:
    print(text, flush=True)


# --- inputs ---------------------------------------------------------------------------------


def encoded(kind: str, size: str, seconds: float, k: int = K) -> Path:
    """The corpus clip (made on first use) encoded at ``k``, cached in RUNS."""
    import make_corpus

    from vidquant.encode import encode_file
    from vidquant.settings import EncodeSettings

    clip = make_corpus.ensure_clip(kind, make_corpus.parse_size(size), seconds)
    vq = RUNS / f"{clip.stem}.k{k}.vq"
    if not vq.exists() or vq.stat().st_mtime < clip.stat().st_mtime:
        say(f"encoding {clip.name} at k={k} (once; cached in {RUNS}) ...")
        RUNS.mkdir(parents=True, exist_ok=True)
        encode_file(clip, vq, EncodeSettings(k=k, audio="none"), force=True)
    return vq


def ttf_file(quick: bool) -> Path:
    """A 720p camera file of about TTF_BYTES: 8 s at k = 32 is about 8 MB, so its length is
    scaled from that one (in --quick, the 3 s 640x360 camera clip instead)."""
    if quick:
        return encoded("camera", "640x360", 3.0)
    eight = encoded("camera", "1280x720", 8.0)
    seconds = max(1.0, round(8.0 * TTF_BYTES / eight.stat().st_size))
    return eight if seconds == 8.0 else encoded("camera", "1280x720", seconds)


# --- processes ------------------------------------------------------------------------------


def node_command(files: list[Path], repeat: int) -> list[str]:
    node = shutil.which("node") or "/usr/bin/node"
    script = WEB / "node-bench.mjs"
    return [node, str(script), str(PLAYER / "vq.js"), str(repeat), *map(str, files)]


def run_node(files: list[Path], repeat: int) -> dict[str, dict[str, Any]]:
    """decodeBench's passes per file (``node-bench.mjs``), one Node process for all."""
    proc = subprocess.run(node_command(files, repeat), capture_output=True, text=True, check=True)
    results = (json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{"))
    return {r["file"]: r for r in results}


def summarise(passes: list[dict[str, Any]]) -> dict[str, Any]:
    """Per mode (cold, decode, rgba): the fastest pass's fps and its CPU-time fps."""
    out: dict[str, Any] = {"passes": passes}
    for mode in ("cold", "decode", "rgba"):
        runs = [p for p in passes if p["mode"] == mode]
        if not runs:
            continue
        best = max(runs, key=lambda p: p["fps"])
        out[f"{mode}_fps"] = best["fps"]
        if best.get("cpu_ms"):
            out[f"{mode}_cpu_fps"] = best["frames"] * 1000 / best["cpu_ms"]
    out["frames"] = passes[0]["frames"]
    return out


# --- chromium -------------------------------------------------------------------------------


class Browser:
    """Headless chromium under selenium on a folder served by WebServer: the page and the
    player's modules, with the .vq files linked in. Everything is on 127.0.0.1."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self._tmp = tempfile.TemporaryDirectory(prefix="vidquant-bench-web-")

    def __enter__(self) -> Browser:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        from vidquant.apps.web import WebServer

        folder = Path(self._tmp.name)
        for name in PLAYER_FILES:
            shutil.copyfile(PLAYER / name, folder / name)
        for name in ("bench.html", "bench-page.mjs", "decode-loop.mjs"):
            shutil.copyfile(WEB / name, folder / name)
        for f in self.files:
            (folder / f.name).symlink_to(f)
        self.server = WebServer(folder).start()
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        # An explicit driver: Selenium Manager would try to download one (there is no network).
        driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
        try:
            self.driver = webdriver.Chrome(service=Service(executable_path=driver), options=options)
        except Exception:
            self.server.stop()
            raise
        self.driver.set_script_timeout(1800)
        self.root = self.driver.service.process.pid
        self.open_bench()
        return self

    def open_bench(self) -> None:
        self.driver.get(self.server.url + "bench.html")
        deadline = time.monotonic() + 30
        while not self.driver.execute_script("return Boolean(window.vqBench)"):
            if time.monotonic() > deadline:
                raise RuntimeError("bench.html did not load bench-page.mjs")
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        try:
            self.driver.quit()
        finally:
            self.server.stop()
            self._tmp.cleanup()

    def attempt(self, name: str, *args: Any) -> dict[str, Any]:
        """call(), with a page error as ``{"error": message}`` (the run goes on)."""
        try:
            return self.call(name, *args)
        except RuntimeError as exc:
            say(f"    {exc}")
            return {"error": str(exc)}

    def call(self, name: str, *args: Any) -> Any:
        """``await window.vqBench[name](...args)`` in the page; a page error is raised."""
        script = (
            "const done = arguments[arguments.length - 1];"
            f"Promise.resolve().then(() => window.vqBench.{name}(...[...arguments].slice(0, -1)))"
            ".then((r) => done({ok: r}), (e) => done({error: String(e && e.stack || e)}));"
        )
        reply = self.driver.execute_async_script(script, *args)
        if "error" in reply:
            raise RuntimeError(f"vqBench.{name}: {reply['error']}")
        return reply["ok"]

    def timed_call(self, name: str, *args: Any) -> tuple[Any, float]:
        """call(), with the CPU seconds the busiest renderer used during it."""
        pids = renderer_pids(self.root)
        before = {p: cpu_seconds(p) for p in pids}
        result = self.call(name, *args)
        used = max((cpu_seconds(p) - before[p] for p in pids), default=0.0)
        return result, used

    def decode_bench(self, vq: Path, repeat: int) -> dict[str, Any]:
        """decode-loop.mjs's passes in the page: cold, then decode and rgba ``repeat`` times."""
        self.call("load", vq.name)
        passes = []
        for mode in ["cold"] + ["decode", "rgba"] * repeat:
            r, cpu = self.timed_call("pass", {"rgba": mode == "rgba"})
            passes.append({"mode": mode, **r, "cpu_ms": cpu * 1000 or None})
        self.call("unload")
        return summarise(passes)


# --- figures --------------------------------------------------------------------------------


def player_size() -> dict[str, Any]:
    """Bytes of the player's three modules, raw and gzipped (level 9)."""
    rows = {}
    for name in PLAYER_FILES:
        raw = (PLAYER / name).read_bytes()
        rows[name] = {"raw": len(raw), "gzip9": len(gzip.compress(raw, compresslevel=9))}
    rows["total"] = {key: sum(r[key] for r in rows.values()) for key in ("raw", "gzip9")}
    return rows


NAVIGATION_JS = """
const done = arguments[arguments.length - 1];
const p = document.querySelector('vq-player');
const already = Boolean(p && p.frameIndex !== null);
const tick = () => {
  if (!p || p.frameIndex !== null || p.error || performance.now() > 60000) {
    done({ms: performance.now(), already_shown: already, renderer: p ? p.renderer : null,
          error: p ? p.error : 'no player'});
  } else requestAnimationFrame(tick);
};
tick();
"""


def first_frame(browser: Browser, vq: Path) -> dict[str, Any]:
    """Element creation to first frame on the bench page, and navigation to first frame on the
    exported index.html (``export_html``), TTF_REPEAT times each; the medians and every run."""
    from vidquant.apps.web import WebServer, export_html

    element = [browser.call("firstFrame", vq.name) for _ in range(TTF_REPEAT)]
    navigation = []
    with tempfile.TemporaryDirectory(prefix="vidquant-bench-ttf-") as tmp:
        folder = export_html(vq, Path(tmp) / "page")
        for name in PLAYER_FILES:  # the player measured (--player-dir), not only the package's
            shutil.copyfile(PLAYER / name, folder / name)
        server = WebServer(folder).start()
        try:
            for _ in range(TTF_REPEAT):
                browser.driver.get(server.url)
                navigation.append(browser.driver.execute_async_script(NAVIGATION_JS))
        finally:
            server.stop()
    browser.open_bench()

    def median(runs: list[dict[str, Any]], key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None and not r.get("error")]
        return statistics.median(values) if values else None

    return {
        "file": vq.name,
        "bytes": vq.stat().st_size,
        "element_ms": median(element, "polled_ms"),
        "element_meta_ms": median(element, "meta_ms"),
        "element_drawn_ms": median(element, "drawn_ms"),
        "navigation_ms": median(navigation, "ms"),
        "renderer": element[0].get("renderer"),
        "element_runs": element,
        "navigation_runs": navigation,
    }


def memory(browser: Browser, files: list[Path]) -> list[dict[str, Any]]:
    """Per file: the page's JS heap through one decoder + toRGBA pass in the page, and the
    renderer's resident memory during that pass and while the player plays the file."""
    rows = []
    for vq in files:
        say(f"  memory: {vq.name}")
        with RssSampler(browser.root) as decode_rss:
            heap = browser.call("heap", vq.name, {"every": 8})
        browser.open_bench()  # a fresh page for the player
        with RssSampler(browser.root) as play_rss:
            play = browser.attempt("play", vq.name)
        if play.get("error"):
            say(f"    player: {play['error']}")
        browser.open_bench()
        rows.append(
            {
                "file": vq.name,
                "bytes": vq.stat().st_size,
                "frames": heap["frames"],
                "heap": heap,
                "heap_loaded_mib": heap["loaded"] / MIB,
                "heap_peak_mib": heap["peak"] / MIB,
                "heap_growth_mib": (heap["peak"] - heap["loaded"]) / MIB,
                "heap_live_peak_mib": heap["live_peak"] / MIB,
                "heap_after_mib": heap["after"] / MIB,
                "decode_rss_peak_mib": decode_rss.peak,
                "play_rss_peak_mib": play_rss.peak,
                "play": play,
            }
        )
    return rows


def bench_clips(
    browser: Browser, clips: list[dict[str, Any]], repeat: int, node: dict[str, Any]
) -> None:
    """Fill each clip's row: Node and chromium decode, the worker path, playback."""
    for c in clips:
        vq: Path = c["vq"]
        say(f"  chromium: {vq.name}")
        c["node"] = summarise(node[str(vq)]["passes"])
        c["chromium"] = browser.decode_bench(vq, repeat)
        c["worker"], cpu = browser.timed_call("worker", vq.name)
        c["worker"]["cpu_s"] = cpu
        if c["worker"].get("error"):
            say(f"    worker: {c['worker']['error']} after {c['worker'].get('cold_frames')} frames")
        browser.open_bench()
        c["play"] = browser.attempt("play", vq.name)
        if c["play"].get("error"):
            say(f"    player: {c['play']['error']}")
        browser.open_bench()


# --- report ---------------------------------------------------------------------------------


def report_text(rep: dict[str, Any]) -> str:
    m = rep["machine"]
    lines = [
        "# vidquant browser decoder (vq.js): Node and headless chromium",
        "",
        "machine: " + ", ".join(f"{k}={v}" for k, v in m.items()),
        f"tools: {rep['tools']['node']}; {rep['tools']['chromium']}; "
        f"selenium {rep['tools']['selenium']}",
        f"load average (1 min): {m['loadavg_1m']} at the start, {rep['loadavg_end']:.2f} at the "
        f"end ({m['cpus']} CPUs; above that the timings are shared with other work)",
        "",
        "commands:",
        "",
        f"- `{rep['command']}`",
        f"- Node: `{rep['node_command']}`",
        f"- chromium: `chromium {' '.join(CHROMIUM_FLAGS)}` under selenium/chromedriver, "
        "on `bench.html` served by `vidquant.apps.web.WebServer` from 127.0.0.1",
        f"- player measured: `{rep['player_dir']}`",
        "",
        f"## Decode frames per second (k = {K}, whole file in memory)",
        "",
        clip_table(rep["clips"]),
        "",
        "- `dec`: `new VqFile(bytes)` + `FrameDecoder.frames()` to the end; `+RGBA`: the same "
        "plus `toRGBA` of every frame into one reused buffer. Fastest of "
        f"{rep['repeat']} pass(es) after a cold (JIT warm-up) pass. Node's figure in "
        "brackets is frames per CPU second of the process (less disturbed by other load).",
        "- `chr dec (CPU)`: frames per CPU second of the busiest renderer process during the "
        "fastest chromium decoder pass.",
        "- `worker`: `vq-worker.js` asked for every frame at once with the player's own "
        "messages (decode, the labels' copy, the transfer to the page), frames received per "
        "second: the player's decoding path at full speed.",
        "- `play shown/s`: `<vq-player>` playing the clip from the start to `ended` at normal "
        "speed (renderer: "
        + ", ".join(sorted({c["play"]["renderer"] or "-" for c in rep["clips"]}))
        + "); frames drawn per second of wall time, out of the clip's frame rate, and the "
        "frames it dropped as late.",
        f"- `{TARGET_FPS:g} fps`: the target, >= {TARGET_FPS:g} fps at {TARGET_SIZE} in "
        "headless chromium, judged on `chr dec` (and, after the slash, on `worker`).",
        "",
        f"### Target: >= {TARGET_FPS:g} fps at {TARGET_SIZE} in headless chromium",
        "",
    ]
    for c in rep["clips"]:
        if c["size"] == TARGET_SIZE:
            lines.append(
                f"- {c['kind']}: {c['verdict_decoder']} (decoder {c['chromium']['decode_fps']:.1f}"
                f" fps, with toRGBA {c['chromium']['rgba_fps']:.1f}); player's worker path "
                f"{c['verdict_worker']} ({fmt(c['worker'].get('cold_fps'))} fps)"
            )
    if not any(c["size"] == TARGET_SIZE for c in rep["clips"]):
        lines.append(f"- n/a: no clip at {TARGET_SIZE}")
    lines += ["", "## Memory (headless chromium)", ""]
    lines += [memory_table(rep["memory"]), ""]
    lines += [
        "- heap: `performance.memory.usedJSHeapSize` (precise) on the page: after `gc()` with "
        "the file loaded; its largest value sampled every 8 frames of one decoder + toRGBA "
        "pass (garbage included: it shows when V8 collects); `live peak`: the largest value "
        "right after a `gc()` every 64 frames of that pass (what the decoder keeps); `after`: "
        "after the pass and a `gc()`.",
        "- renderer RSS: the largest renderer process's resident memory, sampled every 0.1 s "
        "during that pass and while `<vq-player>` plays the file (its worker fetches and "
        "holds the whole file, so the file's size is part of this figure).",
    ]
    if len(rep["memory"]) == 2:
        a, b = rep["memory"]
        ratio = b["play_rss_peak_mib"] / a["play_rss_peak_mib"] if a["play_rss_peak_mib"] else 0
        live = b["heap_live_peak_mib"] / a["heap_live_peak_mib"]
        lines.append(
            f"- longest / shortest: live heap peak {live:.2f}x, renderer RSS {ratio:.2f}x "
            f"during playback (file {b['bytes'] / a['bytes']:.1f}x, frames "
            f"{b['frames'] / a['frames']:.1f}x)"
        )
    s = rep["player_size"]
    lines += ["", "## Player size", ""]
    lines.append(
        md_table(
            ("file", "bytes", "gzip -9 bytes"),
            [(n, f"{r['raw']:,}", f"{r['gzip9']:,}") for n, r in s.items()],
        )
    )
    t = rep["first_frame"]
    lines += [
        "",
        "## Time to first frame",
        "",
        f"{t['file']} ({t['bytes'] / 1e6:.1f} MB) served by `WebServer` on 127.0.0.1, median "
        f"of {TTF_REPEAT}:",
        "",
        f"- element creation to `frameIndex` not null (seen on a frame tick): "
        f"{fmt(t['element_ms'], '.0f')} ms (loadedmetadata at {fmt(t['element_meta_ms'], '.0f')}"
        f" ms, first draw at {fmt(t['element_drawn_ms'], '.0f')} ms; renderer {t['renderer']})",
        f"- navigation start to the first frame on the exported `index.html` "
        f"(`export_html`): {fmt(t['navigation_ms'], '.0f')} ms",
        "",
        f"Wall time of the run: {rep['wall_s']:.0f} s.",
    ]
    if errs := errors(rep):
        lines += ["", "## Errors reported by the player", "", *errs]
    return "\n".join(lines) + "\n"


# --- main -----------------------------------------------------------------------------------


def parse_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def main() -> None:
    global PLAYER  # noqa: PLW0603 - one measured player for the whole run
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1280x720,1920x1080", help="clip sizes, WxH,...")
    parser.add_argument("--kinds", default="camera,cartoon,screen,game", help="corpus kinds")
    parser.add_argument("--seconds", type=float, default=8.0, help="clip length (default 8 s)")
    parser.add_argument("--repeat", type=int, default=2, help="timed passes per mode (default 2)")
    parser.add_argument(
        "--memory-kind", default="cartoon", help="kind of the 10 s and 60 s memory clips"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: one small short clip")
    parser.add_argument(
        "--player-dir",
        type=Path,
        default=PLAYER,
        help="folder of the vq.js, vq-worker.js and vq-player.js measured (default vidquant/web)",
    )
    parser.add_argument("--tag", help="write web_results_TAG.md/.json instead of web_results.*")
    args = parser.parse_args()
    PLAYER = args.player_dir.resolve()
    t_start = time.monotonic()
    if args.quick:
        sizes, kinds, seconds, mem_seconds = ["640x360"], ["screen"], 3.0, (2.0, 4.0)
        mem_size = "640x360"
    else:
        sizes, kinds, seconds = parse_list(args.sizes), parse_list(args.kinds), args.seconds
        mem_seconds, mem_size = (10.0, 60.0), TARGET_SIZE
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    say("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))

    import make_corpus

    clips = []
    for size in sizes:
        for kind in kinds:
            vq = encoded(kind, size, seconds)
            fps = make_corpus.KINDS[kind].fps if kind in make_corpus.KINDS else 30
            clips.append({"kind": kind, "size": size, "vq": vq, "bytes": vq.stat().st_size,
                          "fps": fps})  # fmt: skip
    mem_files = [encoded(args.memory_kind, mem_size, s) for s in mem_seconds]
    ttf = ttf_file(args.quick)

    say(f"Node: {len(clips)} clips ...")
    files = [c["vq"] for c in clips]
    node = run_node(files, args.repeat)
    say("chromium ...")
    with Browser(sorted({*files, *mem_files, ttf})) as browser:
        bench_clips(browser, clips, args.repeat, node)
        mem = memory(browser, mem_files)
        say(f"  first frame: {ttf.name}")
        first = first_frame(browser, ttf)
        chromium_version = browser.driver.capabilities.get("browserVersion")

    for c in clips:
        ok_dec = ok_worker = None
        if c["size"] == TARGET_SIZE:
            ok_dec = c["chromium"]["decode_fps"] >= TARGET_FPS
            ok_worker = (c["worker"].get("cold_fps") or 0) >= TARGET_FPS
        c["verdict_decoder"], c["verdict_worker"] = verdict(ok_dec), verdict(ok_worker)
        if c["worker"].get("error") and ok_worker is not None:
            c["verdict_worker"] = "error"
        c["verdict"] = f"{c['verdict_decoder']} / {c['verdict_worker']}"
        c["vq"] = str(c["vq"])
    from selenium import __version__ as selenium_version

    rep = {
        "machine": info,
        "tools": {
            "node": tool_version(["node", "--version"]),
            "chromium": f"chromium {chromium_version}",
            "selenium": selenium_version,
        },
        "command": shlex.join(["python", "benchmarks/bench_web.py", *sys.argv[1:]]),
        "node_command": shlex.join(node_command([Path("FILE.vq")], args.repeat)),
        "chromium_flags": list(CHROMIUM_FLAGS),
        "player_dir": str(PLAYER),
        "k": K,
        "repeat": args.repeat,
        "seconds": seconds,
        "target": {"fps": TARGET_FPS, "size": TARGET_SIZE},
        "clips": clips,
        "memory": mem,
        "player_size": player_size(),
        "first_frame": first,
        "loadavg_end": round(os.getloadavg()[0], 2),
        "wall_s": time.monotonic() - t_start,
    }
    text = report_text(rep)
    print("\n" + text)
    stem = "web_results" + (f"_{args.tag}" if args.tag else "")
    (OUT / f"{stem}.md").write_text(text)
    (OUT / f"{stem}.json").write_text(json.dumps(rep, indent=2, default=str) + "\n")
    say(f"wrote {OUT / stem}.md and {OUT / stem}.json")


if __name__ == "__main__":
    main()
