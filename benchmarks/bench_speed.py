"""Benchmark encode speed against FFmpeg's GIF pipeline, with ``--jobs 1`` and ``--jobs 2``.

Each clip (default: every corpus clip at 640x360, plus the 1080p screen and camera clips) is
encoded by FFmpeg's one-command GIF pipeline (one global palette of k colours, palettegen +
paletteuse through split, as ``bench_corpus`` runs it) and by ``vidquant encode -k K`` with
``--jobs 1`` and ``--jobs 2``, each as a fresh command (start-up included), in alternating
rounds so that the machine's load falls on all three alike; the medians are reported. Then:

- the ratios of vidquant's wall time to the GIF's (issue target: at most 0.5);
- fps, real-time factor and peak memory (the largest process's);
- what ``--jobs 2`` changes against ``--jobs 1``: size and PSNR (target: at most 1 % and
  0.05 dB);
- start-up: the wall time of a one-frame encode;
- peak memory of ``--jobs 2`` on an 8 s and a 60 s 720p clip (flat in the clip's length).

It prints figures and verdicts and writes ``benchmarks/out/bench_speed.json``; nothing is
asserted. The corpus is made by ``benchmarks/corpus/make_corpus.py``.

Usage: python benchmarks/bench_speed.py [--rounds N] [--k K] [--clip PATH ...] [--no-memory]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # run from a checkout, without `pip install -e .`

from benchkit import OUT  # noqa: E402
from benchkit.machine import machine  # noqa: E402
from benchkit.procs import run_measured  # noqa: E402
from benchkit.quality import measure  # noqa: E402
from benchkit.references import gif_command, gif_filter  # noqa: E402
from benchkit.tables import text_table, verdict  # noqa: E402

CORPUS = OUT / "corpus"
KINDS = ("camera", "cartoon", "screen", "game", "terminal", "browser", "typing")
HD = ("screen_1920x1080_8s.mp4", "camera_1920x1080_8s.mp4")
MEMORY = ("cartoon_1280x720_8s.mp4", "cartoon_1280x720_60s.mp4")
RATIO, SIZE, DB = 0.5, 0.01, 0.05  # the targets


def corpus_clips() -> list[Path]:
    clips = []
    for kind in KINDS:
        found = [p for p in sorted(CORPUS.glob(f"{kind}_640x360_8s.*")) if ".part" not in p.name]
        if found:
            clips.append(found[0])
    clips += [CORPUS / name for name in HD if (CORPUS / name).exists()]
    return clips


def vq_command(clip: Path, out: Path, k: int, jobs: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "vidquant", "encode", str(clip), "-o", str(out), "-k", str(k),
            "--jobs", str(jobs), "--force", "--quiet", *extra]  # fmt: skip


def frames_of(vq: Path) -> int:
    from vidquant.decoder import open_vq

    with open_vq(vq) as d:
        return sum(1 for _ in d.iter_frames())


def bench_clip(clip: Path, k: int, rounds: int, ffmpeg: str) -> dict[str, Any]:
    from vidquant.decoder import open_vq

    gif = OUT / f"speed_{clip.stem}.gif"
    outs = {j: OUT / f"speed_{clip.stem}.j{j}.vq" for j in (1, 2)}
    times: dict[str, list[float]] = {"gif": [], "j1": [], "j2": []}
    peaks: dict[str, float] = {}
    graph = gif_filter(k, before="format=bgra,")
    for r in range(rounds):
        for name, cmd in (
            ("gif", gif_command(ffmpeg, clip, gif, graph)),
            ("j1", vq_command(clip, outs[1], k, 1)),
            ("j2", vq_command(clip, outs[2], k, 2)),
        ):
            _, wall, peak = run_measured(cmd)
            times[name].append(wall)
            peaks[name] = max(peaks.get(name, 0.0), peak)
        print(f"[{clip.name}] round {r + 1}: " + "  ".join(
            f"{n} {t[-1]:.2f} s" for n, t in times.items()), flush=True)  # fmt: skip
    n = frames_of(outs[1])
    from vidquant.io.reader import VideoReader

    with VideoReader(clip) as reader:
        fps = float(reader.info.fps)
    row: dict[str, Any] = {"clip": clip.name, "frames": n, "clip_s": n / fps}
    for name, t in times.items():
        row[f"{name}_s"] = statistics.median(t)
        row[f"{name}_all_s"] = t
        row[f"{name}_peak_mib"] = peaks[name]
    for j in (1, 2):
        q = measure(clip, lambda j=j: open_vq(outs[j]), n)
        row[f"j{j}_bytes"] = outs[j].stat().st_size
        row[f"j{j}_psnr"] = q["psnr_mean"]
        row[f"j{j}_flicker"] = q["flicker"]
        row[f"j{j}_ratio"] = row[f"j{j}_s"] / row["gif_s"]
        row[f"j{j}_fps"] = n / row[f"j{j}_s"]
        row[f"j{j}_realtime"] = row["clip_s"] / row[f"j{j}_s"]
    row["size_change"] = row["j2_bytes"] / row["j1_bytes"] - 1
    row["psnr_change"] = row["j2_psnr"] - row["j1_psnr"]
    return row


def startup(k: int) -> dict[str, float]:
    clip = next(iter(corpus_clips()))
    out = OUT / "speed_startup.vq"
    walls = [run_measured(vq_command(clip, out, k, 1, "--duration", "0.04"))[1] for _ in range(3)]
    return {"one_frame_encode_s": statistics.median(walls)}


def memory(k: int) -> list[dict[str, Any]]:
    rows = []
    for name in MEMORY:
        clip = CORPUS / name
        if not clip.exists():
            continue
        out = OUT / f"speed_mem_{clip.stem}.vq"
        print(f"[{name}] --jobs 2 for peak memory ...", flush=True)
        _, wall, peak = run_measured(vq_command(clip, out, k, 2))
        rows.append({"clip": name, "wall_s": wall, "peak_mib": peak, "frames": frames_of(out)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (360p clips)")
    ap.add_argument("--hd-rounds", type=int, default=1, help="rounds for the 1080p clips")
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--clip", type=Path, action="append", help="clips (default: the corpus)")
    ap.add_argument("--no-memory", action="store_true", help="skip the 8 s / 60 s memory pair")
    args = ap.parse_args()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit("bench_speed needs the ffmpeg program (Debian: apt-get install ffmpeg)")
    clips = args.clip or corpus_clips()
    if not clips:
        sys.exit("no clips: run benchmarks/corpus/make_corpus.py first")
    print(machine())
    rows = []
    for clip in clips:
        hd = "1920x1080" in clip.name
        rows.append(bench_clip(clip, args.k, args.hd_rounds if hd else args.rounds, ffmpeg))
    start = startup(args.k)
    mem = [] if args.no_memory else memory(args.k)
    columns = (
        ("GIF s", "gif_s", 7, ".2f"),
        ("j1 s", "j1_s", 7, ".2f"),
        ("j2 s", "j2_s", 7, ".2f"),
        ("j1/GIF", "j1_ratio", 8, ".2f"),
        ("j2/GIF", "j2_ratio", 8, ".2f"),
        ("j2 fps", "j2_fps", 8, ".1f"),
        ("x real", "j2_realtime", 8, ".2f"),
        ("j1 MiB", "j1_peak_mib", 8, ".0f"),
        ("j2 MiB", "j2_peak_mib", 8, ".0f"),
        ("j2 size%", "size_pct", 9, "+.2f"),
        ("j2 dB", "psnr_change", 8, "+.3f"),
    )
    for r in rows:
        r["size_pct"] = 100 * r["size_change"]
    table = text_table("clip", [(r["clip"], r) for r in rows], columns, width=26, cut=True)
    print(table)
    best = min(min(r["j1_ratio"], r["j2_ratio"]) for r in rows)
    worst = max(min(r["j1_ratio"], r["j2_ratio"]) for r in rows)
    print(f"encode wall <= {RATIO} x FFmpeg's GIF on every clip (better of j1, j2): "
          f"{verdict(worst <= RATIO)} (from {best:.2f} to {worst:.2f})")  # fmt: skip
    for r in rows:
        if "1920x1080" in r["clip"]:
            print(f"{r['clip']}: --jobs 2 at {r['j2_realtime']:.2f} x real time: "
                  f"{verdict(r['j2_realtime'] >= 1)}")  # fmt: skip
    size = max(abs(r["size_change"]) for r in rows)
    db = max(-r["psnr_change"] for r in rows)
    print(
        f"--jobs 2 costs <= {100 * SIZE:.0f} % size: {verdict(size <= SIZE)} (worst "
        f"{100 * size:.2f} %); <= {DB} dB: {verdict(db <= DB)} (worst {db:+.3f} dB lost)"
    )
    print(f"start-up (a one-frame encode, --jobs 1): {start['one_frame_encode_s']:.2f} s")
    for m in mem:
        print(f"--jobs 2 peak memory on {m['clip']} ({m['frames']} frames): {m['peak_mib']:.0f} "
              f"MiB (largest process), {m['wall_s']:.1f} s")  # fmt: skip
    if len(mem) == 2:
        spread = mem[1]["peak_mib"] / mem[0]["peak_mib"]
        print(f"peak memory flat in the clip's length (60 s / 8 s <= 1.2): "
              f"{verdict(spread <= 1.2)} ({spread:.3f}x)")  # fmt: skip
    result = {"machine": machine(), "k": args.k, "clips": rows, "startup": start, "memory": mem}
    (OUT / "bench_speed.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {OUT / 'bench_speed.json'}")


if __name__ == "__main__":
    main()
