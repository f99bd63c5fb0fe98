"""Benchmark vidquant against GIF, animated WebP, libimagequant, x264 and SVT-AV1 on the corpus.

For every corpus clip (``benchmarks/corpus/make_corpus.py``: camera, cartoon, screen, game) and
every palette size k, it runs and times:

- vidquant: ``encode_file(clip, out, EncodeSettings(k=K, audio="none"))``, decoded with
  ``open_vq(...).iter_rgb()``;
- FFmpeg's one-command GIF pipeline (palettegen ``stats_mode=full`` + paletteuse
  ``dither=none`` through ``split``), then ``gifsicle -O3`` on its output;
- lossless animated WebP (libwebp through Pillow) of the GIF's frames;
- libimagequant (PyPI ``imagequant``, dithering 0) on every frame on its own: quality only;
- x264 (preset medium; yuv444p as the issue asks, and yuv420p, the clips' own chroma: ffmpeg's
  conversion to 4:4:4 caps x264's PSNR, see ``benchkit/references.py``) and SVT-AV1 (preset 8,
  screen-content mode ``scm=1``, yuv420p: it encodes 4:2:0 only) through ``ffmpeg`` with
  ``-fps_mode passthrough``, each at the integer CRF that a bisection (at most 7 encodes) finds
  for the smallest file whose mean PSNR reaches vidquant's on the same clip at the same k
  (``benchkit/video_refs.py``).

WebP, libimagequant, x264 and SVT-AV1 run at the ``--refs-k`` ks (default 32);
``--no-video-refs`` skips x264 and SVT-AV1, the slow part.

Each encode and decode runs in its own process so that its peak memory is its own. Quality
(PSNR, flicker) is measured against the source as ``VideoReader`` decodes it. It writes
``benchmarks/out/corpus_results.md``, ``corpus_results.json`` and ``rd.png`` and prints the
table and the target verdicts; nothing is asserted. See ``benchmarks/README.md``.

Usage: python benchmarks/bench_corpus.py [--k 16,32,64,128] [--quick] [--kind KIND ...]
[--size WxH] [--seconds S] [--clip PATH ...] [--refs-k LIST] [--no-video-refs]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE), str(HERE / "corpus")]

import make_corpus  # noqa: E402

from benchkit import OUT, procs  # noqa: E402
from benchkit.jobs import JOBS  # noqa: E402
from benchkit.machine import machine  # noqa: E402
from benchkit.procs import ToolRun, child_main, run_child  # noqa: E402
from benchkit.quality import PSNR_CAP_DB, frame_count, measure  # noqa: E402
from benchkit.references import (  # noqa: E402
    VIDEO_ENCODERS,
    encoder_missing,
    gif_command,
    gif_filter,
    gif_frame_count,
    palettegen_refuses,
)
from benchkit.tables import md_table, verdict  # noqa: E402
from benchkit.video_refs import MAX_PROBES, VIDEO_JOBS, bench_video_ref  # noqa: E402
from vidquant.settings import EncodeSettings  # noqa: E402

WORK = OUT / "corpus_runs"  # encoded files, kept for inspection
TARGET_K = 32  # the issue's targets are stated at k = 32
REAL_TIME_X = 10.0  # decode target: 10x real time at 720p
QUICK_SECONDS = 3.0
DEFAULT_QUALITY = EncodeSettings().quality  # the vidquant row; --qualities adds others
ENCODERS = (
    "vidquant",
    "ffmpeg GIF",
    "gifsicle -O3",
    "WebP lossless",
    "libimagequant",
    *(e.name for e in VIDEO_ENCODERS),
)
COLUMNS = (  # markdown table: header, key, format
    ("kbps", "kbps", ".0f"),
    ("PSNR dB", "psnr_mean", ".2f"),
    ("min dB", "psnr_min", ".2f"),
    ("flicker", "flicker", ".3f"),
    ("enc s", "encode_s", ".2f"),
    ("dec fps", "decode_fps", ".0f"),
    ("enc MiB", "encode_peak_mib", ".0f"),
    ("dec MiB", "decode_peak_mib", ".0f"),
    ("CRF", "crf", "d"),
)


# --- one clip at one k ----------------------------------------------------------------------


def run_tool(cmd: list[str]) -> ToolRun:
    """Run a reference program (wall time, its own peak memory); a failure ends the run."""
    try:
        return procs.run_tool(cmd)
    except procs.ToolError as exc:
        msg = f"command failed ({exc.returncode}): {' '.join(cmd)}\n{exc.stderr}"
        raise SystemExit(msg) from None


def bench(
    clip: Path,
    k: int,
    *,
    refs: bool,
    video_refs: bool,
    tools: dict[str, str | None],
    qualities: list[int] = (),
) -> dict[str, Any]:
    """Every encoder on ``clip`` at ``k``: {encoder: figures or {"skipped": why}}."""
    from vidquant.decoder import open_vq
    from vidquant.io.reader import VideoReader

    with VideoReader(clip) as r:
        fps = float(r.info.fps)
        size = (r.info.width, r.info.height)
    n_src = frame_count(clip)  # the header's count, or counted once
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
    enc = run_child(__file__, "vq-encode", clip, vq, json.dumps({"k": k, "audio": "none"}))
    say("vidquant decode")
    dec = run_child(__file__, "vq-decode", vq)
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
    for q in qualities:  # the quality knob, for the plot (size and PSNR only)
        say(f"vidquant quality {q}")
        vq_q = Path(f"{stem}.q{q}.vq")
        settings = json.dumps({"k": k, "audio": "none", "quality": q})
        enc_q = run_child(__file__, "vq-encode", clip, vq_q, settings)
        res[f"vidquant q{q}"] = {
            "quality": q,
            "bytes": enc_q["bytes"],
            "kbps": kbps(enc_q["bytes"]),
            "encode_s": enc_q["wall_s"],
            **measure(clip, lambda vq_q=vq_q: open_vq(vq_q), enc_q["frames"]),
        }

    ffmpeg, gifsicle = tools["ffmpeg"], tools["gifsicle"]
    gif, opt = Path(f"{stem}.gif"), Path(f"{stem}.O3.gif")
    if ffmpeg is None:
        res["ffmpeg GIF"] = {"skipped": "no ffmpeg on PATH (Debian package ffmpeg)"}
    elif refused := palettegen_refuses(k):
        res["ffmpeg GIF"] = {"skipped": refused}
    else:
        say("ffmpeg GIF")
        graph = gif_filter(k)
        run = run_tool(gif_command(ffmpeg, clip, gif, graph))
        gdec = run_child(__file__, "gif-decode", gif)
        n_gif = gif_frame_count(gif)
        res["ffmpeg GIF"] = {
            "bytes": gif.stat().st_size,
            "kbps": kbps(gif.stat().st_size),
            "encode_s": run.wall_s,
            "encode_peak_mib": run.peak_mib,
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
                "encode_s": run.wall_s,
                "encode_peak_mib": run.peak_mib,
                **measure(clip, lambda: VideoReader(opt), gif_frame_count(opt)),
            }
    if refs:
        bench_references(clip, k, stem, res, kbps, say)
    if refs and video_refs:
        for enc in VIDEO_ENCODERS:
            if ffmpeg is None:
                res[enc.name] = {"skipped": "no ffmpeg on PATH (Debian package ffmpeg)"}
            elif missing := encoder_missing(ffmpeg, enc):
                res[enc.name] = {"skipped": missing}
            else:
                res[enc.name] = bench_video_ref(
                    enc,
                    ffmpeg=ffmpeg,
                    clip=clip,
                    stem=stem,
                    target_db=res["vidquant"]["psnr_mean"],
                    n_src=n_src,
                    kbps=kbps,
                    script=__file__,
                    say=say,
                )
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
        webp = run_child(__file__, "webp", Path(f"{stem}.gif"), Path(f"{stem}.webp"))
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
        liq = run_child(__file__, "liq", clip, k)
        res["libimagequant"] = {
            "encode_s": liq["wall_s"],
            "encode_peak_mib": liq["peak_mib"],
            **{q: liq[q] for q in ("psnr_mean", "psnr_min", "flicker", "paired", "pairing")},
        }


# --- report ----------------------------------------------------------------------------------


def table(runs: list[dict[str, Any]]) -> str:
    """The markdown table: one row per clip, k and encoder."""
    head = ["clip", "k", "encoder", *(h for h, _, _ in COLUMNS)]
    rows = []
    for run in runs:
        for name in ENCODERS:
            r = run["encoders"].get(name)
            if r is None:
                continue
            if "skipped" in r:
                cells = [f"skipped: {r['skipped']}"] + [""] * (len(COLUMNS) - 1)
            else:
                cells = [format(r[key], f) if key in r else "-" for _, key, f in COLUMNS]
            rows.append([run["clip"], str(run["k"]), name, *cells])
    return md_table(head, rows, align="l" * len(head))


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
    for enc in VIDEO_ENCODERS:
        out.append(video_target(vq, enc.name, e.get(enc.name)))
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


def video_target(
    vq: dict[str, Any], name: str, ref: dict[str, Any] | None
) -> tuple[str, str, bool | None]:
    """Size <= the video reference's at vidquant's PSNR (the reference's CRF search)."""
    what = f"size <= {name} at the same PSNR"
    if ref is None or "bytes" not in ref:
        return what, "n/a (reference skipped)", None
    fig = (
        f"{vq['kbps']:.0f} vs {ref['kbps']:.0f} kbps at crf {ref['crf']} "
        f"({vq['psnr_mean']:.2f} vs {ref['psnr_mean']:.2f} dB)"
    )
    if not ref["reached"]:
        return what, f"{fig}: {name} never reached vidquant's PSNR", None
    ratio = vq["bytes"] / ref["bytes"]
    return what, f"{fig} = {ratio:.2f}x (needs <= 1.00)", ratio <= 1


def rd_plot(runs: list[dict[str, Any]], path: Path) -> None:
    """kbps (log) against PSNR, one panel per clip: vidquant and GIF at every k."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clips = list(dict.fromkeys(r["clip"] for r in runs))
    cols = min(2, len(clips))
    rows = -(-len(clips) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.2 * rows), squeeze=False)
    styles = {
        "vidquant": "o-",
        "ffmpeg GIF": "s--",
        "gifsicle -O3": "^-",
        "WebP lossless": "D",
        "x264": "v-.",
        "x264 yuv420p": "<-.",
        "SVT-AV1": "P-.",
    }
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
        for r in mine:  # along the quality knob, with the default point
            knob = [e for e in r["encoders"].values() if "quality" in e and "kbps" in e]
            if not knob:
                continue
            default = dict(r["encoders"]["vidquant"], quality=DEFAULT_QUALITY)
            knob = sorted([*knob, default], key=lambda e: e["quality"])
            ax.plot(
                [e["kbps"] for e in knob],
                [e["psnr_mean"] for e in knob],
                "x:",
                color="black",
                label=f"vidquant k={r['k']}, quality {knob[0]['quality']}..{knob[-1]['quality']}",
            )
            for e in knob:
                ax.annotate(
                    f"q{e['quality']}",
                    (e["kbps"], e["psnr_mean"]),
                    fontsize=6,
                    xytext=(3, 3),
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
    if child_main(sys.argv, {**JOBS, **VIDEO_JOBS}):
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", default=str(TARGET_K), help="palette sizes, e.g. 16,32,64,128")
    make_corpus.add_clip_options(parser)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS:g} s clips")
    parser.add_argument("--clip", type=Path, action="append", help="also benchmark this file")
    parser.add_argument(
        "--refs-k",
        default=str(TARGET_K),
        help="ks at which WebP, libimagequant, x264 and SVT-AV1 run too (default 32; 'all')",
    )
    parser.add_argument(
        "--qualities",
        default="",
        help=f"also encode at these qualities at k={TARGET_K}, for the plot (e.g. 50,60,70,90,100)",
    )
    parser.add_argument(
        "--tag",
        default="",
        help="suffix of the result files (corpus_results-TAG.md, rd-TAG.png), so that two runs "
        "can go at once",
    )
    parser.add_argument(
        "--no-video-refs",
        action="store_true",
        help="skip x264 and SVT-AV1 (their CRF searches are the slow part)",
    )
    args = parser.parse_args()
    tag = f"-{args.tag}" if args.tag else ""
    ks = sorted({int(v) for v in args.k.split(",")})
    refs_k = set(ks) if args.refs_k == "all" else {int(v) for v in args.refs_k.split(",")}
    seconds = QUICK_SECONDS if args.quick else args.seconds
    qualities = sorted({int(v) for v in args.qualities.split(",") if v} - {DEFAULT_QUALITY})
    OUT.mkdir(parents=True, exist_ok=True)
    tools = {name: shutil.which(name) for name in ("ffmpeg", "gifsicle")}
    for name, path in tools.items():
        if path is None:
            print(f"note: no {name} on PATH: its reference is skipped")
    info = machine()
    info.update(gifsicle=tools["gifsicle"], ks=ks, seconds=seconds)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    clips = [make_corpus.ensure_clip(k, args.size, seconds) for k in args.kind or make_corpus.KINDS]
    clips += args.clip or []
    t0 = time.perf_counter()
    runs = []
    for clip in clips:
        for k in ks:
            knob = qualities if k == TARGET_K else []
            runs.append(
                bench(
                    clip,
                    k,
                    refs=k in refs_k,
                    video_refs=not args.no_video_refs,
                    tools=tools,
                    qualities=knob,
                )
            )
    elapsed = time.perf_counter() - t0

    md = table(runs)
    notes = (
        "kbps: file bytes x 8 / duration. PSNR: per frame (RGB, peak 255, exact frames "
        f"{PSNR_CAP_DB:g} dB), mean and min over frames. flicker: mean |change| (levels) of the "
        "output where the source is still. enc s: vidquant inside encode_file; ffmpeg and "
        "gifsicle process wall; WebP Pillow's save; libimagequant the quantisation calls; "
        "x264 and SVT-AV1 the ffmpeg process wall of the chosen CRF's encode. "
        "dec fps: vidquant open_vq + iter_rgb; GIF, x264 and SVT-AV1 PyAV decode to rgb24. "
        "MiB: peak RSS of the process (VmHWM, or ru_maxrss under /usr/bin/time). "
        "CRF: "
        + "; ".join(f"{e.name} ({e.note})" for e in VIDEO_ENCODERS)
        + f": the smallest file of at most {MAX_PROBES} encodes (a CRF bisection) whose mean "
        "PSNR reaches vidquant's on that clip and k."
    )
    verdicts = []
    for run in runs:
        if run["k"] != TARGET_K:
            continue
        for name, fig, ok in targets(run):
            verdicts.append((run["clip"], name, fig, verdict(ok)))
    vtab = md_table(["clip", "target", "measured", "verdict"], verdicts, align="llll")
    text = f"{md}\n\n{notes}\n\nTargets at k={TARGET_K}:\n\n{vtab}\n"
    (OUT / f"corpus_results{tag}.md").write_text(text)
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
        for enc in VIDEO_ENCODERS:
            r = run["encoders"].get(enc.name, {})
            if "search" in r:
                tried = ", ".join(
                    f"{p['crf']}: {p['psnr_db']:.2f} dB {p['bytes']:,} B"
                    for p in r["search"]["probes"]
                )
                print(
                    f"{run['clip']} k={run['k']}: {enc.name} crf {r['crf']} "
                    f"({r['psnr_mean']:.2f} dB for vidquant's {r['target_psnr']:.2f}); "
                    f"probes {tried}; search {r['search']['wall_s']:.0f} s"
                )
            if r.get("note"):
                print(f"{run['clip']} k={run['k']}: {enc.name}: {r['note']}")
    rd = OUT / f"rd{tag}.png"
    rd_plot(runs, rd)
    report = {
        "machine": info,
        "elapsed_s": elapsed,
        "runs": runs,
        "targets": [
            dict(zip(("clip", "target", "measured", "verdict"), v, strict=True)) for v in verdicts
        ],
    }
    (OUT / f"corpus_results{tag}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"benchmark {elapsed:.0f} s; load average at end {os.getloadavg()[0]:.2f}")
    print(f"wrote {OUT / f'corpus_results{tag}.md'}, {OUT / f'corpus_results{tag}.json'}, {rd}")


if __name__ == "__main__":
    main()
