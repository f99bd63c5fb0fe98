"""Benchmark the vidquant core targets: speed, size, quality and memory at 720p.

Each clip (default: 720p sample clips of 10 s and 60 s, made once into ``benchmarks/out/``) is
encoded and decoded to RGB, each in a fresh interpreter so that peak memory is per run, then
compared with its source (PSNR). The shortest clip is also encoded by FFmpeg's GIF encoder with
one global palette as a reference. It prints figures and target verdicts and writes them to
``benchmarks/out/bench_codec.json``; nothing is asserted. See ``benchmarks/README.md``.

Usage: python benchmarks/bench_codec.py [--clip PATH ...] [--k K] [--no-gif]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # run from a checkout, without `pip install -e .`

from benchkit import OUT, SAMPLES  # noqa: E402
from benchkit.jobs import JOBS  # noqa: E402
from benchkit.machine import machine  # noqa: E402
from benchkit.procs import child_main, run_child, run_measured  # noqa: E402
from benchkit.quality import PSNR_CAP_DB  # noqa: E402
from benchkit.references import (  # noqa: E402
    gif_command,
    gif_filter,
    gif_frame_count,
    palettegen_refuses,
)
from benchkit.tables import text_table, verdict  # noqa: E402

SAMPLE_SECONDS = (10, 60)
ENCODE_FPS, DECODE_FPS, PEAK_SPREAD = 30.0, 200.0, 0.20  # targets at 720p
COLUMNS = (  # table: header, key, width, format
    ("frames", "frames", 7, "d"),
    ("enc fps", "encode_fps", 8, ".1f"),
    ("dec fps", "decode_fps", 8, ".1f"),
    ("kbps", "kbps", 7, ".0f"),
    ("PSNR", "psnr_mean", 7, ".2f"),
    ("min", "psnr_min", 7, ".2f"),
    ("inexact", "psnr_mean_inexact", 8, ".2f"),
    ("enc MiB", "encode_peak_mib", 8, ".0f"),
    ("(base)", "encode_base_mib", 7, ".0f"),
    ("dec MiB", "decode_peak_mib", 8, ".0f"),
    ("(base)", "decode_base_mib", 7, ".0f"),
)
PSNR_KINDS = (
    ("per-frame mean", "psnr_mean"),
    ("inexact", "psnr_mean_inexact"),
    ("of the mean MSE", "psnr_global"),
)
Pairs = Iterable[tuple[np.ndarray, np.ndarray]]


def sample_clip(seconds: int) -> Path:
    """The cached 720p sample clip of ``seconds`` seconds, made on first use."""
    path = OUT / f"sample_720p_{seconds}s.mp4"
    if not path.exists():
        print(f"making {path.name} (once; cached in {OUT}) ...", flush=True)
        tmp = path.with_suffix(".part.mp4")
        size = ["--width", "1280", "--height", "720", "--seconds", str(seconds)]
        cmd = [sys.executable, str(SAMPLES / "make_sample.py"), "--out", str(tmp)]
        subprocess.run(cmd + size, check=True, stdout=subprocess.DEVNULL)
        tmp.replace(path)
    return path


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error over all pixels and channels of two uint8 images."""
    return float(np.mean(np.square(np.subtract(a, b, dtype=np.int32)), dtype=np.float64))


def psnr(mse_value: float) -> float:
    """PSNR in dB of a mean squared error (8-bit peak), capped at PSNR_CAP_DB."""
    if mse_value == 0:
        return PSNR_CAP_DB
    return float(np.minimum(PSNR_CAP_DB, 10 * np.log10(255**2 / mse_value)))  # NaN stays NaN


def pair_by_pts(src: Iterable[Any], test: Iterable[Any]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(source, test) pixel pairs of frames with equal pts (both in presentation order)."""
    it = iter(test)
    t = next(it, None)
    for s in src:
        while t is not None and t.pts < s.pts:
            t = next(it, None)
        if t is not None and t.pts == s.pts:
            yield s.rgb, t.rgb


def pair_by_time(src: Iterable[Any], test: Iterable[tuple[float, np.ndarray]]) -> Pairs:
    """Pair each source frame with the test frame on screen at its time (10 ms of slack)."""
    it = iter(test)
    cur, nxt = None, next(it, None)
    for s in src:
        while nxt is not None and nxt[0] <= s.time_s + 0.01:
            cur, nxt = nxt, next(it, None)
        if cur is not None:
            yield s.rgb, cur[1]


def psnr_stats(pairs: Pairs, n_src: int) -> dict[str, Any]:
    """Per-frame PSNR (mean, min, mean of inexact frames) and PSNR of the mean MSE."""
    errors = np.array([mse(a, b) for a, b in pairs] or [np.nan])
    values = np.array([psnr(e) for e in errors])
    inexact = values[values < PSNR_CAP_DB]
    return {
        "psnr_mean": float(values.mean()),
        "psnr_min": float(values.min()),
        "psnr_mean_inexact": float(inexact.mean()) if len(inexact) else float("nan"),
        "psnr_global": psnr(float(errors.mean())),
        "exact_frames": int((values >= PSNR_CAP_DB).sum()),
        "paired": int(np.isfinite(errors).sum()),
        "source_frames": n_src,
    }


def bench_clip(clip: Path, k: int) -> dict[str, Any]:
    """Encode, decode and compare one clip; every figure as a dict."""
    from vidquant.decoder import open_vq
    from vidquant.io.reader import VideoReader

    vq = OUT / f"{clip.stem}.k{k}.vq"
    print(f"[{clip.name}] encoding at k={k} ...", flush=True)
    enc = run_child(__file__, "vq-encode", clip, vq, json.dumps({"k": k}))
    print(f"[{clip.name}] decoding to RGB ...", flush=True)
    dec = run_child(__file__, "vq-decode", vq)
    print(f"[{clip.name}] PSNR against the source ...", flush=True)
    with VideoReader(clip) as src, open_vq(vq) as d:
        quality = psnr_stats(pair_by_pts(src, d.iter_rgb()), enc["frames"])
    timed = ("fps", "wall_s", "peak_mib", "base_mib")
    keep = ("frames", "keyframes", "duration_s", "frames_lost", "bytes", "kbps")
    return {
        "clip": str(clip),
        "size": f"{dec['width']}x{dec['height']}",
        "height": dec["height"],
        **{key: enc[key] for key in keep},
        **{f"encode_{key}": enc[key] for key in timed},
        **{f"decode_{key}": dec[key] for key in timed},
        **quality,
        # The source file itself, for scale: on camera footage a transform codec (H.264) is
        # far smaller than any palette codec, and the output should say so.
        "source_bytes": clip.stat().st_size,
        "source_kbps": clip.stat().st_size * 8 / 1000 / enc["duration_s"],
    }


def bench_gif(clip: Path, k: int, n_src: int, duration_s: float) -> dict[str, Any]:
    """FFmpeg's GIF with one global ``k``-colour palette, no dithering, compared like vidquant."""
    import av

    from vidquant.io.reader import VideoReader

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return {"skipped": "no ffmpeg binary on PATH"}
    if refused := palettegen_refuses(k):
        return {"skipped": refused}
    with av.open(str(clip)) as c:  # convert YUV as VideoReader does (BT.709 for untagged HD)
        first = next(c.decode(video=0))
        untagged_hd = first.colorspace not in (1, 4, 5, 6, 7, 9, 10) and first.height >= 720
    matrix = "scale=in_color_matrix=bt709," if untagged_hd else ""
    graph = gif_filter(k, before=f"{matrix}format=bgra,")
    gif = OUT / f"{clip.stem}.k{k}.gif"
    print(f"[{clip.name}] FFmpeg GIF reference ...", flush=True)
    _, wall, peak = run_measured(gif_command(ffmpeg, clip, gif, graph))
    n_gif = gif_frame_count(gif)
    with VideoReader(clip) as src, av.open(str(gif)) as g:
        test = ((f.time, f.to_ndarray(format="rgb24")) for f in g.decode(video=0))
        if n_gif == n_src:
            pairing = "frame order (counts match; GIF delays are rounded to centiseconds)"
            pairs: Pairs = ((s.rgb, t[1]) for s, t in zip(src, test, strict=False))
        else:
            pairing = f"display time ({n_gif} GIF frames vs {n_src} source frames)"
            pairs = pair_by_time(src, test)
        quality = psnr_stats(pairs, n_src)
    size = gif.stat().st_size
    return {
        "filter": graph,
        "pairing": pairing,
        "frames": n_gif,
        "bytes": size,
        "kbps": size * 8 / 1000 / duration_s,
        "encode_wall_s": wall,
        "encode_fps": n_src / wall,
        "encode_peak_mib": peak,
        **quality,
    }


def main() -> None:
    """Benchmark the clips, print the figures and verdicts, write the JSON."""
    if child_main(sys.argv, JOBS):
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, action="append", help="clip to use (repeatable)")
    parser.add_argument("--k", type=int, default=32, help="palette size (default 32)")
    parser.add_argument("--no-gif", action="store_true", help="skip the FFmpeg GIF reference")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    clips = args.clip or [sample_clip(s) for s in SAMPLE_SECONDS]
    info = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    results = [bench_clip(c, args.k) for c in clips]
    by_length = sorted(results, key=lambda r: r["duration_s"])
    short, long_ = by_length[0], by_length[-1]
    gif = {"skipped": "--no-gif"}
    if not args.no_gif:
        gif = bench_gif(Path(short["clip"]), args.k, short["frames"], short["duration_s"])
    ratio = ratio_above = None
    if len(results) > 1:
        ratio = long_["encode_peak_mib"] / short["encode_peak_mib"]
        grown = [r["encode_peak_mib"] - r["encode_base_mib"] for r in (long_, short)]
        ratio_above = grown[0] / grown[1]
    hd = [r for r in results if r["height"] == 720]
    enc_fps = min((r["encode_fps"] for r in hd), default=None)
    dec_fps = min((r["decode_fps"] for r in hd), default=None)
    flat = None if ratio is None else abs(ratio - 1) <= PEAK_SPREAD
    better = None if "skipped" in gif else short["psnr_mean"] >= gif["psnr_mean"]
    targets = {
        f"encode >= {ENCODE_FPS:g} fps at 720p": None if enc_fps is None else enc_fps >= ENCODE_FPS,
        f"decode >= {DECODE_FPS:g} fps at 720p": None if dec_fps is None else dec_fps >= DECODE_FPS,
        f"encode peak memory, longest clip within {PEAK_SPREAD:.0%} of shortest": flat,
        "PSNR >= FFmpeg GIF (one global palette)": better,
    }

    print(
        f"\nvidquant k={args.k}. PSNR (dB): per frame over all pixels, then mean/min over frames;"
        f"\nexact frames count as {PSNR_CAP_DB:g} dB, 'inexact' is the mean without them. "
        "Memory: peak RSS of a fresh process (base: after imports)."
    )
    rows = [(Path(r["clip"]).name, r) for r in results]
    if "skipped" not in gif:
        rows.append(("GIF " + Path(short["clip"]).name, gif))
    print(text_table("clip", rows, COLUMNS, cut=True))
    if "skipped" in gif:
        print(f"GIF reference skipped: {gif['skipped']}")
    else:
        print(
            f'GIF: ffmpeg -vf "{gif["filter"]}"\n  {gif["bytes"]:,} bytes, encode '
            f"{gif['encode_wall_s']:.1f} s wall, {gif['exact_frames']} exact frames, PSNR of "
            f"the mean MSE {gif['psnr_global']:.2f} dB, paired by {gif['pairing']}"
        )
        compare = (f"{name} {short[k]:.2f} vs {gif[k]:.2f} dB" for name, k in PSNR_KINDS)
        print("  vidquant vs GIF PSNR: " + ", ".join(compare))
    for r in results:
        print(
            f"{Path(r['clip']).name}: {r['size']}, {r['keyframes']} keyframes, {r['bytes']:,} "
            f"bytes, {r['paired']}/{r['source_frames']} frames paired by pts, "
            f"{r['exact_frames']} exact, {r['frames_lost']} source packets lost, "
            f"PSNR of the mean MSE {r['psnr_global']:.2f} dB; the source file (with its "
            f"audio) is {r['source_bytes']:,} bytes, {r['source_kbps']:.0f} kbps, "
            f"{r['bytes'] / r['source_bytes']:.1f}x smaller than the .vq"
        )
    if ratio is not None:
        names = f"{Path(long_['clip']).name} / {Path(short['clip']).name}"
        print(f"encode peak memory ratio {names}: {ratio:.3f} ({ratio_above:.3f} above base)")
    print("\ntargets:")
    for name, ok in targets.items():
        print(f"  {verdict(ok):<8} {name}")
    print(f"load average (1 min) at start {info['loadavg_1m']}, at end {os.getloadavg()[0]:.2f}")
    report = {
        "machine": info,
        "k": args.k,
        "clips": results,
        "gif": gif,
        "encode_peak_ratio": ratio,
        "encode_peak_ratio_above_base": ratio_above,
        "targets": {name: verdict(ok) for name, ok in targets.items()},
    }
    path = OUT / "bench_codec.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
