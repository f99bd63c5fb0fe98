"""Benchmark vidquant against GIF, animated WebP and libimagequant on the corpus (issue 4).

For every corpus clip (``benchmarks/corpus/make_corpus.py``: camera, cartoon, screen, game) and
every palette size k, it runs and times:

- vidquant: ``encode_file(clip, out, EncodeSettings(k=K, audio="none"))``, decoded with
  ``open_vq(...).iter_rgb()``;
- FFmpeg's one-command GIF pipeline (palettegen ``stats_mode=full`` + paletteuse
  ``dither=none`` through ``split``), then ``gifsicle -O3`` on its output;
- lossless animated WebP (libwebp through Pillow) of the GIF's frames;
- libimagequant (PyPI ``imagequant``, dithering 0) on every frame on its own: quality only.

Each encode and decode runs in its own process so that its peak memory is its own. Quality
(PSNR, flicker) is measured against the source as ``VideoReader`` decodes it. It writes
``benchmarks/out/corpus_results.md``, ``corpus_results.json`` and ``rd.png`` and prints the
table and the issue-4 target verdicts; nothing is asserted. See ``benchmarks/README.md``.

Usage: python benchmarks/bench_corpus.py [--k 16,32,64,128] [--quick] [--kind KIND ...]
[--size WxH] [--seconds S] [--clip PATH ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE), str(HERE / "corpus")]

import bench_codec  # noqa: E402  (peak memory of a child, machine facts, verdict words)
import make_corpus  # noqa: E402

OUT = HERE / "out"
WORK = OUT / "corpus_runs"  # encoded files, kept for inspection
PSNR_CAP_DB = 100.0  # an exact frame scores this instead of infinity (JSON has no inf)
TARGET_K = 32  # the issue's targets are stated at k = 32
REAL_TIME_X = 10.0  # decode target: 10x real time at 720p
WEBP_OPTIONS = {"lossless": True, "method": 4, "quality": 80}  # libwebp's default effort
QUICK_SECONDS = 3.0
ENCODERS = ("vidquant", "ffmpeg GIF", "gifsicle -O3", "WebP lossless", "libimagequant")
COLUMNS = (  # markdown table: header, key, format
    ("kbps", "kbps", ".0f"),
    ("PSNR dB", "psnr_mean", ".2f"),
    ("min dB", "psnr_min", ".2f"),
    ("flicker", "flicker", ".3f"),
    ("enc s", "encode_s", ".2f"),
    ("dec fps", "decode_fps", ".0f"),
    ("enc MiB", "encode_peak_mib", ".0f"),
    ("dec MiB", "decode_peak_mib", ".0f"),
)


# --- children: one measured job each, one JSON line on stdout -------------------------------


def child(mode: str, args: list[str]) -> dict[str, Any]:
    """Body of a measured subprocess. Timings exclude interpreter start-up and imports."""
    if mode == "vq-encode":
        from vidquant.encoder import encode_file
        from vidquant.settings import EncodeSettings

        base = bench_codec.peak_rss_mib()
        t0 = time.perf_counter()
        rep = encode_file(
            args[0], args[1], EncodeSettings(k=int(args[2]), audio="none"), force=True
        )
        res = {"frames": rep.frames, "duration_s": rep.duration_s, "bytes": rep.sizes.total}
    elif mode == "vq-decode":
        from vidquant.decoder import open_vq

        base = bench_codec.peak_rss_mib()
        t0 = time.perf_counter()
        with open_vq(args[0]) as dec:
            res = {"frames": _touch(f.rgb for f in dec.iter_rgb())}
    elif mode == "gif-decode":
        import av

        base = bench_codec.peak_rss_mib()
        t0 = time.perf_counter()
        with av.open(args[0]) as c:
            res = {"frames": _touch(f.to_ndarray(format="rgb24") for f in c.decode(video=0))}
    elif mode == "webp":
        return webp_child(Path(args[0]), Path(args[1]))
    elif mode == "liq":
        return liq_child(Path(args[0]), int(args[1]))
    else:
        raise SystemExit(f"unknown child mode {mode!r}")
    wall = time.perf_counter() - t0
    return {**res, "wall_s": wall, "base_mib": base, "peak_mib": bench_codec.peak_rss_mib()}


def _touch(frames: Iterable[np.ndarray]) -> int:
    """Count frames, reading one pixel of each so that it really exists."""
    n = touched = 0
    for rgb in frames:
        touched ^= int(rgb[-1, -1, 0])
        n += 1
    return n


def webp_child(gif: Path, out: Path) -> dict[str, Any]:
    """Lossless animated WebP of the GIF's frames, with the GIF's delays; checked exact."""
    import av
    from PIL import Image, features

    # Pillow's WebP writer takes every frame at once, so they are all held (see the README).
    with av.open(str(gif)) as c:
        frames = [(f.time, f.to_image()) for f in c.decode(video=0)]
    times = [t for t, _ in frames]
    gaps = np.diff(times).tolist()
    durations = [round(1000 * d) for d in gaps + [gaps[-1] if gaps else 0.1]]
    base = bench_codec.peak_rss_mib()
    t0 = time.perf_counter()
    first, *rest = (img for _, img in frames)
    first.save(
        out, "WEBP", save_all=True, append_images=rest, duration=durations, loop=0, **WEBP_OPTIONS
    )
    wall = time.perf_counter() - t0
    peak = bench_codec.peak_rss_mib()
    # libwebp merges identical consecutive frames into one longer frame, so the check pairs
    # each GIF frame with the WebP frame on screen at its start time.
    starts = np.concatenate([[0], np.cumsum(durations)[:-1]])
    exact = 0
    with Image.open(out) as webp:
        n_webp, j = webp.n_frames, 0
        webp.seek(0)
        webp.load()  # timestamp and duration are known once the frame is loaded
        for start, (_, img) in zip(starts, frames, strict=True):
            while j + 1 < n_webp and webp.info["timestamp"] + webp.info["duration"] <= start:
                j += 1
                webp.seek(j)
                webp.load()
            exact += bool(np.array_equal(np.asarray(webp.convert("RGB")), np.asarray(img)))
    return {
        "frames": len(frames),
        "webp_frames": n_webp,
        "exact_frames": exact,
        "bytes": out.stat().st_size,
        "wall_s": wall,
        "base_mib": base,
        "peak_mib": peak,
        "libwebp": features.version("webp"),
        "options": WEBP_OPTIONS,
    }


def liq_child(clip: Path, k: int) -> dict[str, Any]:
    """libimagequant on every frame on its own (no dithering); quality against the source."""
    import imagequant

    from vidquant.io.reader import VideoReader

    base = bench_codec.peak_rss_mib()
    quantise_s = 0.0

    def quantised(frames: Iterable[Any]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        nonlocal quantise_s
        for f in frames:
            h, w = f.rgb.shape[:2]
            t0 = time.perf_counter()
            rgba = np.dstack([f.rgb, np.full((h, w), 255, np.uint8)])
            idx, pal = imagequant.quantize_raw_rgba_bytes(
                rgba.tobytes(), w, h, dithering_level=0.0, max_colors=k
            )
            palette = np.asarray(pal, np.uint8).reshape(-1, 4)[:, :3]
            out = palette[np.frombuffer(idx, np.uint8).reshape(h, w)]
            quantise_s += time.perf_counter() - t0
            yield f.rgb, out

    with VideoReader(clip) as src:
        quality = Quality()
        for s, t in quantised(src):
            quality.add(s, t)
    return {
        **quality.result(),
        "pairing": "the same frames",
        "wall_s": quantise_s,
        "base_mib": base,
        "peak_mib": bench_codec.peak_rss_mib(),
    }


def run_child(mode: str, *args: str | Path) -> dict[str, Any]:
    """Run ``mode`` in a fresh interpreter; its JSON result plus its process wall time."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, *map(str, args)]
    out, wall, _ = bench_codec.run_measured(cmd)
    return {**json.loads(out.strip().splitlines()[-1]), "process_s": wall}


def run_tool(cmd: list[str]) -> dict[str, Any]:
    """Run an external program; wall seconds and its own peak memory.

    Under ``/usr/bin/time`` when it exists: that small process forks the tool, so the tool's
    ``ru_maxrss`` starts afresh instead of inheriting this interpreter's (see bench_codec.py).
    """
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        full = [timer, "-f", "%M", "-o", rss.name, *cmd] if timer else cmd
        t0 = time.perf_counter()
        proc = subprocess.run(full, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
        peak = float(rss.read().split()[-1]) / 1024 if timer else float("nan")
    return {"wall_s": wall, "peak_mib": peak}


# --- quality ---------------------------------------------------------------------------------


class Quality:
    """Per-frame PSNR and flicker over (source, test) pairs in order; holds one previous pair.

    Flicker is :func:`vidquant.metrics.flicker` (mean absolute change of the test frames over
    the pixels where the source stands still), weighted by the still pixels of each pair as
    ``vidquant compare`` weights it, so both report the same figure.
    """

    def __init__(self) -> None:
        from vidquant import metrics

        self._m = metrics
        self.psnrs: list[float] = []
        self._still = 0
        self._change = self._change_src = 0.0
        self._prev: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, src: np.ndarray, test: np.ndarray, *, consecutive: bool = True) -> None:
        m = self._m
        test = test[: src.shape[0], : src.shape[1]]
        self.psnrs.append(min(PSNR_CAP_DB, m.psnr(src, test)))
        if self._prev is not None and consecutive:
            ps, pt = self._prev
            mask = m.still_mask(ps, src)
            still = int(np.count_nonzero(mask))
            if still:
                self._still += still
                self._change += still * m.flicker(ps, src, pt, test)
                self._change_src += still * m.mean_abs_change(ps, src, mask)
        self._prev = (src, test)

    def result(self) -> dict[str, Any]:
        p = np.asarray(self.psnrs or [np.nan])
        return {
            "psnr_mean": float(p.mean()),
            "psnr_min": float(p.min()),
            "exact_frames": int((p >= PSNR_CAP_DB).sum()),
            "paired": len(self.psnrs),
            "flicker": self._change / self._still if self._still else float("nan"),
            "flicker_source": self._change_src / self._still if self._still else float("nan"),
        }


def measure(clip: Path, open_test: Any, n_test: int) -> dict[str, Any]:
    """Quality of a decoded file against ``clip``: pairs by order when the frame counts match,
    else by display time (:class:`vidquant.apps.compare.TimePairing`)."""
    from vidquant.apps.compare import TimePairing
    from vidquant.io.reader import VideoReader

    q = Quality()
    with VideoReader(clip) as src, open_test() as test:
        n_src = src.info.frames
        frames = test.iter_rgb() if hasattr(test, "iter_rgb") else iter(test)
        if n_src == n_test:
            pairing = "frame order"
            for s, t in zip(src, frames, strict=False):
                q.add(s.rgb, t.rgb)
        else:
            pairing = f"display time ({n_test} frames vs {n_src} source frames)"
            last = -2
            for pair in TimePairing().iter_pairs(src, frames):
                q.add(pair.source.rgb, pair.shown.rgb, consecutive=pair.source.index == last + 1)
                last = pair.source.index
    return {**q.result(), "pairing": pairing}


# --- one clip at one k ----------------------------------------------------------------------


def gif_frames(gif: Path) -> int:
    import av

    with av.open(str(gif)) as c:
        return sum(1 for p in c.demux(video=0) if p.size)


def bench(clip: Path, k: int, *, refs: bool, tools: dict[str, str | None]) -> dict[str, Any]:
    """Every encoder on ``clip`` at ``k``: {encoder: figures or {"skipped": why}}."""
    from vidquant.decoder import open_vq
    from vidquant.io.reader import VideoReader

    with VideoReader(clip) as r:
        n_src, fps = r.info.frames, float(r.info.fps)
        size = (r.info.width, r.info.height)
    duration = n_src / fps
    stem = WORK / f"{clip.stem}.k{k}"
    WORK.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {}

    def kbps(nbytes: int) -> float:
        return nbytes * 8 / 1000 / duration

    def say(what: str) -> None:
        print(f"  [{clip.stem} k={k}] {what} ...", flush=True)

    say("vidquant encode")
    vq = Path(f"{stem}.vq")
    enc = run_child("vq-encode", clip, vq, k)
    say("vidquant decode")
    dec = run_child("vq-decode", vq)
    say("vidquant quality")
    res["vidquant"] = {
        "bytes": enc["bytes"],
        "kbps": kbps(enc["bytes"]),
        "encode_s": enc["wall_s"],
        "encode_process_s": enc["process_s"],
        "decode_fps": dec["frames"] / dec["wall_s"],
        "encode_peak_mib": enc["peak_mib"],
        "encode_base_mib": enc["base_mib"],
        "decode_peak_mib": dec["peak_mib"],
        **measure(clip, lambda: open_vq(vq), enc["frames"]),
    }

    ffmpeg, gifsicle = tools["ffmpeg"], tools["gifsicle"]
    gif, opt = Path(f"{stem}.gif"), Path(f"{stem}.O3.gif")
    if ffmpeg is None:
        res["ffmpeg GIF"] = {"skipped": "no ffmpeg on PATH (Debian package ffmpeg)"}
    elif not 4 <= k <= 256:
        res["ffmpeg GIF"] = {"skipped": f"palettegen needs 4 <= max_colors <= 256, k={k}"}
    else:
        say("ffmpeg GIF")
        graph = (
            f"split[a][b];[a]palettegen=max_colors={k}:stats_mode=full:reserve_transparent=0[p];"
            "[b][p]paletteuse=dither=none"
        )
        run = run_tool(
            [ffmpeg, "-v", "error", "-y", "-i", str(clip), "-an", "-vf", graph, str(gif)]
        )
        gdec = run_child("gif-decode", gif)
        n_gif = gif_frames(gif)
        res["ffmpeg GIF"] = {
            "bytes": gif.stat().st_size,
            "kbps": kbps(gif.stat().st_size),
            "encode_s": run["wall_s"],
            "encode_peak_mib": run["peak_mib"],
            "decode_fps": gdec["frames"] / gdec["wall_s"],
            "decode_peak_mib": gdec["peak_mib"],
            "filter": graph,
            **measure(clip, lambda: VideoReader(gif), n_gif),
        }
        if gifsicle is None:
            res["gifsicle -O3"] = {"skipped": "no gifsicle on PATH (apt-get install gifsicle)"}
        else:
            say("gifsicle -O3")
            run = run_tool([gifsicle, "-O3", str(gif), "-o", str(opt)])
            res["gifsicle -O3"] = {
                "bytes": opt.stat().st_size,
                "kbps": kbps(opt.stat().st_size),
                "encode_s": run["wall_s"],
                "encode_peak_mib": run["peak_mib"],
                **measure(clip, lambda: VideoReader(opt), gif_frames(opt)),
            }
    if refs:
        bench_references(clip, k, stem, res, kbps, say)
    for name, r in res.items():
        r.setdefault("encoder", name)
    return {
        "clip": clip.stem,
        "k": k,
        "size": size,
        "fps": fps,
        "frames": n_src,
        "duration_s": duration,
        "encoders": res,
    }


def bench_references(
    clip: Path, k: int, stem: Path, res: dict[str, Any], kbps: Any, say: Any
) -> None:
    """Add lossless WebP of the GIF's frames, and libimagequant on every frame, to ``res``."""
    if "skipped" in res["ffmpeg GIF"]:
        res["WebP lossless"] = {"skipped": "needs the ffmpeg GIF's frames"}
    else:
        say("WebP lossless")
        webp = run_child("webp", Path(f"{stem}.gif"), Path(f"{stem}.webp"))
        same = webp["exact_frames"] == webp["frames"] == res["ffmpeg GIF"]["paired"]
        quality = ("psnr_mean", "psnr_min", "flicker", "pairing")
        res["WebP lossless"] = {
            "bytes": webp["bytes"],
            "kbps": kbps(webp["bytes"]),
            "encode_s": webp["wall_s"],
            "encode_peak_mib": webp["peak_mib"],
            "exact_frames": webp["exact_frames"],
            "frames": webp["frames"],
            "libwebp": webp["libwebp"],
            # Lossless and checked frame by frame: its quality is the GIF's.
            **({q: res["ffmpeg GIF"][q] for q in quality} if same else {}),
        }
    try:
        import imagequant  # noqa: F401
    except ImportError:
        res["libimagequant"] = {"skipped": "no imagequant module (pip install imagequant)"}
    else:
        say("libimagequant per frame")
        liq = run_child("liq", clip, k)
        res["libimagequant"] = {
            "encode_s": liq["wall_s"],
            "encode_peak_mib": liq["peak_mib"],
            **{q: liq[q] for q in ("psnr_mean", "psnr_min", "flicker", "paired", "pairing")},
        }


# --- report ----------------------------------------------------------------------------------


def table(runs: list[dict[str, Any]]) -> str:
    """The markdown table: one row per clip, k and encoder."""
    head = ["clip", "k", "encoder", *(h for h, _, _ in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        for name in ENCODERS:
            r = run["encoders"].get(name)
            if r is None:
                continue
            if "skipped" in r:
                cells = [f"skipped: {r['skipped']}"] + [""] * (len(COLUMNS) - 1)
            else:
                cells = [format(r[key], f) if key in r else "-" for _, key, f in COLUMNS]
            lines.append("| " + " | ".join([run["clip"], str(run["k"]), name, *cells]) + " |")
    return "\n".join(lines)


def targets(run: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured figure, met) for one clip at the target k."""
    e = run["encoders"]
    vq = e["vidquant"]

    def have(name: str, key: str) -> dict[str, Any] | None:
        r = e.get(name, {})
        return r if key in r and np.isfinite(r[key]) else None

    out: list[tuple[str, str, bool | None]] = []
    liq = have("libimagequant", "psnr_mean")
    out.append(
        ("PSNR >= libimagequant per frame", "n/a (no imagequant)", None)
        if liq is None
        else (
            "PSNR >= libimagequant per frame",
            f"{vq['psnr_mean']:.2f} vs {liq['psnr_mean']:.2f} dB",
            vq["psnr_mean"] >= liq["psnr_mean"],
        )
    )
    for name, share, label in (("gifsicle -O3", 3, "gifsicle GIF"), ("WebP lossless", 2, "WebP")):
        r = have(name, "bytes")
        what = f"size <= 1/{share} of {label}"
        if r is None:
            out.append((what, "n/a (reference skipped)", None))
        else:
            ratio = vq["bytes"] / r["bytes"]
            fig = f"{vq['bytes']:,} vs {r['bytes']:,} B = {ratio:.2f}x (needs <= {1 / share:.2f})"
            out.append((what, fig, ratio <= 1 / share))
    gif = have("ffmpeg GIF", "flicker")
    out.append(
        ("flicker <= ffmpeg GIF", "n/a", None)
        if gif is None
        else (
            "flicker <= ffmpeg GIF",
            f"{vq['flicker']:.3f} vs {gif['flicker']:.3f} levels",
            vq["flicker"] <= gif["flicker"],
        )
    )
    gif = have("ffmpeg GIF", "encode_s")
    if gif is None:
        out.append(("encode <= 1/2 ffmpeg GIF wall", "n/a", None))
    else:
        ratio = vq["encode_process_s"] / gif["encode_s"]
        fig = (
            f"{vq['encode_process_s']:.2f} s process ({vq['encode_s']:.2f} s in encode_file) "
            f"vs {gif['encode_s']:.2f} s = {ratio:.2f}x (needs <= 0.50)"
        )
        out.append(("encode <= 1/2 ffmpeg GIF wall", fig, ratio <= 0.5))
    w, h = run["size"]
    x = vq["decode_fps"] / run["fps"]
    fig = f"{vq['decode_fps']:.0f} fps = {x:.1f}x real time at {w}x{h}"
    if h < 720:
        fig += f" (720p has {1280 * 720 / (w * h):.1f}x the pixels: run --size 1280x720)"
    out.append(
        (
            f"decode >= {REAL_TIME_X:g}x real time at 720p",
            fig,
            x >= REAL_TIME_X if h >= 720 else None,
        )
    )
    return out


def rd_plot(runs: list[dict[str, Any]], path: Path) -> None:
    """kbps (log) against PSNR, one panel per clip: vidquant and GIF at every k."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clips = list(dict.fromkeys(r["clip"] for r in runs))
    cols = min(2, len(clips))
    rows = -(-len(clips) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.2 * rows), squeeze=False)
    styles = {"vidquant": "o-", "ffmpeg GIF": "s--", "gifsicle -O3": "^-", "WebP lossless": "D"}
    for ax, clip in zip(axes.flat, clips, strict=False):
        mine = sorted((r for r in runs if r["clip"] == clip), key=lambda r: r["k"])
        for name, style in styles.items():
            pts = [(r["k"], r["encoders"].get(name, {})) for r in mine]
            pts = [(k, e) for k, e in pts if "kbps" in e and "psnr_mean" in e]
            if not pts:
                continue
            ax.plot(
                [e["kbps"] for _, e in pts], [e["psnr_mean"] for _, e in pts], style, label=name
            )
            if name == "vidquant":
                for k, e in pts:
                    ax.annotate(
                        f"k={k}",
                        (e["kbps"], e["psnr_mean"]),
                        fontsize=7,
                        xytext=(4, -10),
                        textcoords="offset points",
                    )
        for r in mine:
            liq = r["encoders"].get("libimagequant", {})
            if "psnr_mean" in liq:
                ax.axhline(liq["psnr_mean"], color="grey", lw=0.8, ls=":")
                ax.annotate(
                    f"libimagequant k={r['k']}",
                    (0.01, liq["psnr_mean"]),
                    fontsize=7,
                    xycoords=("axes fraction", "data"),
                    color="grey",
                )
        ax.set_xscale("log")
        ax.set_title(clip)
        ax.set_xlabel("kbps (log)")
        ax.set_ylabel("mean PSNR, dB")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(clips) :]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", default=str(TARGET_K), help="palette sizes, e.g. 16,32,64,128")
    parser.add_argument(
        "--kind",
        choices=list(make_corpus.KINDS),
        action="append",
        help="corpus kinds (default: all)",
    )
    parser.add_argument("--size", type=make_corpus.parse_size, default=make_corpus.DEFAULT_SIZE)
    parser.add_argument("--seconds", type=float, default=make_corpus.DEFAULT_SECONDS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS:g} s clips")
    parser.add_argument("--clip", type=Path, action="append", help="also benchmark this file")
    parser.add_argument(
        "--refs-k",
        default=str(TARGET_K),
        help="ks at which WebP and libimagequant run too (default 32; 'all')",
    )
    args = parser.parse_args()
    ks = sorted({int(v) for v in args.k.split(",")})
    refs_k = set(ks) if args.refs_k == "all" else {int(v) for v in args.refs_k.split(",")}
    seconds = QUICK_SECONDS if args.quick else args.seconds
    OUT.mkdir(parents=True, exist_ok=True)
    tools = {name: shutil.which(name) for name in ("ffmpeg", "gifsicle")}
    for name, path in tools.items():
        if path is None:
            print(f"note: no {name} on PATH: its reference is skipped")
    info = bench_codec.machine()
    info.update(gifsicle=tools["gifsicle"], ks=ks, seconds=seconds)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    clips = [make_corpus.ensure_clip(k, args.size, seconds) for k in args.kind or make_corpus.KINDS]
    clips += args.clip or []
    t0 = time.perf_counter()
    runs = []
    for clip in clips:
        for k in ks:
            runs.append(bench(clip, k, refs=k in refs_k, tools=tools))
    elapsed = time.perf_counter() - t0

    md = table(runs)
    notes = (
        "kbps: file bytes x 8 / duration. PSNR: per frame (RGB, peak 255, exact frames "
        f"{PSNR_CAP_DB:g} dB), mean and min over frames. flicker: mean |change| (levels) of the "
        "output where the source is still. enc s: vidquant inside encode_file; ffmpeg and "
        "gifsicle process wall; WebP Pillow's save; libimagequant the quantisation calls. "
        "dec fps: vidquant open_vq + iter_rgb; GIF PyAV decode to rgb24. MiB: peak RSS of the "
        "process (VmHWM, or ru_maxrss under /usr/bin/time)."
    )
    verdicts = []
    for run in runs:
        if run["k"] != TARGET_K:
            continue
        for name, fig, ok in targets(run):
            verdicts.append((run["clip"], name, fig, bench_codec.verdict(ok)))
    vtab = "\n".join(
        ["| clip | target | measured | verdict |", "|---|---|---|---|"]
        + [f"| {c} | {n} | {f} | {v} |" for c, n, f, v in verdicts]
    )
    text = f"{md}\n\n{notes}\n\nIssue-4 targets at k={TARGET_K}:\n\n{vtab}\n"
    (OUT / "corpus_results.md").write_text(text)
    print("\n" + text)
    for run in runs:
        for r in run["encoders"].values():
            if "skipped" in r:
                print(f"{run['clip']} k={run['k']}: {r['encoder']} skipped: {r['skipped']}")
            elif r.get("pairing", "").startswith("display time"):
                print(f"{run['clip']} k={run['k']}: {r['encoder']} paired by {r['pairing']}")
        webp = run["encoders"].get("WebP lossless", {})
        if "exact_frames" in webp and webp["exact_frames"] != webp["frames"]:
            bad = webp["frames"] - webp["exact_frames"]
            print(f"{run['clip']}: WebP differs from the GIF on {bad} frames")
    rd = OUT / "rd.png"
    rd_plot(runs, rd)
    report = {
        "machine": info,
        "elapsed_s": elapsed,
        "runs": runs,
        "targets": [
            dict(zip(("clip", "target", "measured", "verdict"), v, strict=True)) for v in verdicts
        ],
    }
    (OUT / "corpus_results.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"benchmark {elapsed:.0f} s; load average at end {os.getloadavg()[0]:.2f}")
    print(f"wrote {OUT / 'corpus_results.md'}, {OUT / 'corpus_results.json'}, {rd}")


if __name__ == "__main__":
    main()
