"""Does the quantiser's 64**3 lookup table cost quality on video? Exact nearest labels against it.

For each corpus clip (cached by ``benchmarks/corpus/make_corpus.py``) it encodes twice at the
default settings and k=32: as shipped (labels from :class:`vidquant.quantize.Quantizer`'s table,
which answers each 4x4x4 cell with the entry nearest its centre), and with the table's labels
replaced by exact nearest-entry labels (:func:`vidquant.quantize.nearest_labels`, one search per
distinct colour of the frame). It prints, per clip: kbps, PSNR and flicker of each file (measured
as ``bench_corpus.py`` measures them), the encode time, and the time per frame of the two
assignments alone. Nothing is asserted.

Usage: python benchmarks/bench_nearest.py [--kind KIND ...] [--k 32]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE), str(HERE / "corpus")]

import make_corpus  # noqa: E402

from benchkit import OUT  # noqa: E402
from benchkit.quality import measure  # noqa: E402

DEFAULT_KINDS = ["camera", "cartoon", "screen", "game", "terminal", "browser", "typing"]


def encode(clip: Path, out: Path, k: int, *, exact: bool) -> dict[str, float]:
    from vidquant import quantize
    from vidquant.decoder import open_vq
    from vidquant.encode import encode_file
    from vidquant.settings import EncodeSettings

    table_assign = quantize.Quantizer.assign
    spent = {"assign_s": 0.0, "frames": 0}

    def timed(self, rgb, previous=None, *, stickiness=0.0):
        t = time.perf_counter()
        if exact:
            labels = quantize.nearest_labels(rgb, self.palette)
        else:
            labels = table_assign(self, rgb, previous, stickiness=stickiness)
        spent["assign_s"] += time.perf_counter() - t
        spent["frames"] += 1
        return labels

    quantize.Quantizer.assign = timed
    try:
        t = time.perf_counter()
        report = encode_file(clip, out, EncodeSettings(k=k, audio="none"), force=True)
        wall = time.perf_counter() - t
    finally:
        quantize.Quantizer.assign = table_assign
    q = measure(clip, lambda: open_vq(out), report.frames)
    return {
        "kbps": report.kbps,
        "psnr": q["psnr_mean"],
        "flicker": q["flicker"],
        "encode_s": wall,
        "assign_ms": 1000 * spent["assign_s"] / max(1, spent["frames"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", action="append", choices=make_corpus.ALL_KINDS)
    parser.add_argument("--k", type=int, default=32)
    args = parser.parse_args()
    work = OUT / "nearest_runs"
    work.mkdir(parents=True, exist_ok=True)
    print("| clip | labels | kbps | PSNR dB | flicker | encode s | assign ms/frame |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for kind in args.kind or DEFAULT_KINDS:
        clip = make_corpus.ensure_clip(kind)
        rows = {}
        for exact in (False, True):
            name = "exact" if exact else "table"
            r = encode(clip, work / f"{clip.stem}.k{args.k}.{name}.vq", args.k, exact=exact)
            rows[name] = r
            print(
                f"| {kind} | {name} | {r['kbps']:.0f} | {r['psnr']:.2f} | {r['flicker']:.3f} | "
                f"{r['encode_s']:.1f} | {r['assign_ms']:.1f} |",
                flush=True,
            )
        t, e = rows["table"], rows["exact"]
        print(
            f"| {kind} | exact - table | {e['kbps'] / t['kbps']:.3f}x | "
            f"{e['psnr'] - t['psnr']:+.2f} | {e['flicker'] - t['flicker']:+.3f} | "
            f"{e['encode_s'] / t['encode_s']:.2f}x | {e['assign_ms'] / t['assign_ms']:.1f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
