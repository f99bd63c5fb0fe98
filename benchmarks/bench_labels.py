"""Benchmark lossless coders on vidquant's label maps: does the label coder earn its place?

- ``vidquant 3.0 label coder 3``: format 3.0's coder (8x8 blocks: skip, inter, intra copy, coded
  pixels with ranked candidates, the first the previous map's label at the block's own motion
  vector; one adaptive binary range coder; FORMAT.md §6-7),
  ``BlockLabelEncoder.encode`` / ``BlockLabelDecoder.decode``, state carried from map to map
  and reset at keyframes;
- ``FFV1 (gray, intra)`` (PyAV, level 3, every map a keyframe), ``WebP lossless (per map)`` and
  ``JPEG XL lossless (per map)`` (PyPI ``imagecodecs``, ``pip install imagecodecs``; rows left out
  without it): each map on its own as a grey image (WebP: grey in RGB), decoded back and
  compared (``--skip stills`` leaves the three out);

and the rows below, which measure format 1.x's scheme ("current" in the ratio columns means
this 1.x coder). vidquant 1.x coded each label map (uint8 palette indices) with Zstandard:
``zstd(labels)`` (INTRA)
on keyframes, and between them ``zstd`` of COPY symbols (0 where a pixel kept its previous label,
label + 1 where it changed), or the intra map when that is smaller; an unchanged map is REPEAT,
with no bytes (see ``vidquant/codec/labels.py``). This script takes the label maps of ``.vq``
files and measures, per clip, how many bytes other lossless coders need for the same maps:

- ``vidquant zstd-6``: the current coder, ``LabelEncoder().encode(labels, previous)``, with
  ``previous`` None on keyframes; bytes are the summed ``len(payload)``. Its mode choice (INTRA,
  COPY, DELTA or REPEAT) per frame fixes the symbol streams of the next four rows;
- ``zstd-19``, ``lzma-6``, ``lzma-9e``, ``brotli-11``: the same symbol stream of every frame
  (the same mode choice, built and inverted by the codec's own ``copy_map`` / ``uncopy_map``
  and ``delta_map`` / ``undelta_map``), compressed on its own by Zstandard level 19 (with the
  content size in the frame, as vidquant writes it), raw LZMA2 (no .xz container: the map size
  is known; preset 6, and preset 9 | PRESET_EXTREME with the dictionary capped at the map size,
  which changes no byte of output for one map and only saves allocating 64 MiB per frame) and
  Brotli quality 11 (skipped, with a message, when the ``brotli`` module is missing:
  ``pip install brotli``);
- ``x264 lossless``: the label maps as a video through PyAV's libx264 (``qp=0``, preset medium,
  pixel format ``gray`` when libx264 takes it, else ``yuv444p`` with the labels in Y and 128 in
  chroma), an IDR frame forced at every ``.vq`` keyframe so that it seeks as well; bytes are the
  summed packet sizes (Annex B start codes, SPS/PPS and x264's version SEI included). The packets
  are decoded again (FFmpeg's h264 decoder) and compared with the labels, map by map;
- ``ctx model est.``: an ideal adaptive context model, no real coder, only the summed -log2 p
  a perfect arithmetic coder would pay. Each pixel's symbol is the index of the first match among
  the candidates (previous-frame label at the same place, left, top, top-right, top-left), or
  an escape followed by the label, coded with a k-ary model (labels are below the header's k)
  conditioned on the left label. The symbol's context is the equality pattern
  (P==L, P==T, L==T, T==TR, L==TL) plus an intra flag (keyframes have no P). Counts start at 0.5
  for every symbol of every context and are reset at each keyframe. ``frame-adaptive``:
  probabilities come from the counts of the previous frames since the last keyframe (fixed over
  a frame; a keyframe is coded with the flat 0.5 counts). ``pixel-adaptive``: also from the
  pixels already coded in raster order in the same frame, as an adaptive arithmetic coder
  would. Both are estimates of what a real context coder would approach, not files.

Columns of the table (one row per clip and coder):

- ``bytes``: the label maps' total bytes for the clip (estimate rows: bits / 8);
- ``bpp``: bits per pixel, bytes x 8 / (width x height x frames);
- ``vs 1.x``: bytes / the 1.x zstd-6 coder's bytes (below 1 is smaller);
- ``enc ms/f``, ``dec ms/f``: wall time per frame of the clip, averaged over all its frames.
  Encode: the coder's call alone (the current coder's ``encode`` includes building its symbols;
  the other byte coders get the stream ready-made); x264: building the frames plus ``encode``,
  flush included. Decode: decompression plus turning the symbols back into labels (for the current
  coder ``LabelDecoder.decode``); x264: the h264 decoder. ``-`` where not meaningful;
- ``lossless``: ``yes`` when every map decoded back exactly (checked), ``NO (n frames)``
  otherwise, ``estimate`` for the context model.

Timings are single-threaded except x264's (libx264 and the h264 decoder use their own threads).

Usage:
    python benchmarks/bench_labels.py                     # corpus clips, 640x360, 3 s, k = 32
    python benchmarks/bench_labels.py a.vq b.vq           # label maps of existing files
    python benchmarks/bench_labels.py --kind screen --seconds 8 --k 64
    python benchmarks/bench_labels.py --skip brotli-11 --skip lzma-9e   # faster

It prints a markdown table and writes it to ``benchmarks/out/label_coders.md`` (git-ignored).
Corpus clips are made (``benchmarks/corpus/make_corpus.py``) and encoded to
``benchmarks/out/label_runs/`` on each run.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE), str(HERE / "corpus")]

import make_corpus  # noqa: E402

from benchkit import OUT  # noqa: E402
from benchkit import label_coders as coders  # noqa: E402
from vidquant.codec import format as fmt  # noqa: E402
from vidquant.codec.blocklabels import BlockLabelDecoder, BlockLabelEncoder  # noqa: E402
from vidquant.codec.labels import LabelDecoder, LabelEncoder  # noqa: E402
from vidquant.decoder import open_vq  # noqa: E402

RUNS = OUT / "label_runs"
DEFAULT_SECONDS = 3.0
CURRENT = "vidquant 1.x zstd-6"
BLOCKS = "vidquant 3.0 label coder 3"
X264 = "x264 lossless"
CTX_FRAME = "ctx model est. (frame-adaptive)"
CTX_PIXEL = "ctx model est. (pixel-adaptive)"
SKIPPABLE = ("zstd-19", "lzma-6", "lzma-9e", "brotli-11", "x264", "ctx", "stills")
MODE_NAMES = {
    fmt.LABELS_INTRA: "INTRA",
    fmt.LABELS_COPY: "COPY",
    fmt.LABELS_DELTA: "DELTA",
    fmt.LABELS_REPEAT: "REPEAT",
    fmt.LABELS_BLOCKS: "BLOCKS",
}


@dataclass
class Tally:
    """One coder's figures on one clip."""

    name: str
    bytes: float = 0.0
    enc_s: float = 0.0
    dec_s: float = 0.0
    timed: bool = True
    mismatches: int = 0
    estimate: bool = False
    skipped: str | None = None


@dataclass
class ClipResult:
    """Everything measured on one .vq file."""

    name: str
    width: int
    height: int
    k: int
    frames: int = 0
    keyframes: int = 0
    modes: dict[str, int] = field(default_factory=dict)
    stored_bytes: int = 0
    mode_disagreements: int = 0
    tallies: dict[str, Tally] = field(default_factory=dict)
    x264_note: str = ""


# --- one clip ----------------------------------------------------------------------------------


def bench_file(path: Path, skip: set[str]) -> ClipResult:
    """Every coder on the label maps of one .vq file."""
    with open_vq(path) as dec:
        h = dec.header
        res = ClipResult(path.stem, h.width, h.height, h.k)
        stored = []
        for rec in dec.iter_records():
            stored.append(rec.label_mode)
            res.stored_bytes += len(rec.labels)
    shape = (res.height, res.width)
    byte_coders, skipped = coders.byte_coders(res.width * res.height, skip)
    tallies = {CURRENT: Tally(CURRENT)}
    tallies |= {c.name: Tally(c.name) for c in byte_coders}
    tallies |= {name: Tally(name, skipped=why) for name, why in skipped.items()}
    x264 = None
    if "x264" not in skip:
        try:
            x264 = coders.X264Lossless(res.width, res.height)
        except Exception as exc:  # noqa: BLE001 (any PyAV failure: report it, go on)
            tallies[X264] = Tally(X264, skipped=f"skipped: {exc}")
    ctx_est = None if "ctx" in skip else coders.ContextEstimate(res.k)
    encoder, decoder = LabelEncoder(), LabelDecoder(res.width, res.height, res.k)
    cur = tallies[CURRENT]
    tallies[BLOCKS] = blk = Tally(BLOCKS)
    block_enc = BlockLabelEncoder(res.width, res.height, res.k)
    block_dec = BlockLabelDecoder(res.width, res.height, res.k)
    # compile (or load from numba's cache) both kernels before any timing
    warm = block_enc.encode(np.zeros(shape, np.uint8), None)
    block_dec.decode(warm.mode, warm.payload, None)
    stills = None if "stills" in skip else coders.StillCoders(res.width, res.height)
    for name in stills.names if stills else ():
        tallies[name] = Tally(name)
    block_prev: np.ndarray | None = None
    ctx_s = 0.0

    previous: np.ndarray | None = None
    with open_vq(path) as dec:
        for frame in dec.iter_frames():
            labels = frame.labels
            prev = None if frame.keyframe else previous
            res.frames += 1
            res.keyframes += frame.keyframe

            t0 = time.perf_counter()
            coded = encoder.encode(labels, prev)
            t1 = time.perf_counter()
            back = decoder.decode(coded.mode, coded.payload, prev)
            t2 = time.perf_counter()
            cur.bytes += len(coded.payload)
            cur.enc_s += t1 - t0
            cur.dec_s += t2 - t1
            cur.mismatches += not np.array_equal(back, labels)

            t0 = time.perf_counter()
            bcoded = block_enc.encode(labels, prev)
            t1 = time.perf_counter()
            block_prev = block_dec.decode(
                bcoded.mode, bcoded.payload, None if prev is None else block_prev
            )
            t2 = time.perf_counter()
            blk.bytes += len(bcoded.payload)
            blk.enc_s += t1 - t0
            blk.dec_s += t2 - t1
            blk.mismatches += not np.array_equal(block_prev, labels)
            name = MODE_NAMES[bcoded.mode]
            res.modes[name] = res.modes.get(name, 0) + 1
            if res.frames <= len(stored) and stored[res.frames - 1] != bcoded.mode:
                res.mode_disagreements += 1
            if stills is not None:
                for name, (n, te, td, exact) in stills.code(labels).items():
                    t = tallies[name]
                    t.bytes, t.enc_s, t.dec_s = t.bytes + n, t.enc_s + te, t.dec_s + td
                    t.mismatches += not exact

            stream = coders.symbol_stream(coded.mode, labels, prev)
            for c in byte_coders:
                t = tallies[c.name]
                if not stream:  # REPEAT: no payload, nothing to run
                    continue
                t0 = time.perf_counter()
                packed = c.compress(stream)
                t1 = time.perf_counter()
                back = coders.reconstruct(coded.mode, c.decompress(packed), prev, shape, res.k)
                t2 = time.perf_counter()
                t.bytes += len(packed)
                t.enc_s += t1 - t0
                t.dec_s += t2 - t1
                t.mismatches += not np.array_equal(back, labels)

            if x264 is not None:
                try:
                    x264.add(labels, frame.keyframe)
                except Exception as exc:  # noqa: BLE001 (e.g. a size libx264 refuses)
                    tallies[X264] = Tally(X264, skipped=f"skipped: {exc}")
                    x264 = None
            if ctx_est is not None:
                t0 = time.perf_counter()
                ctx_est.add(labels, prev)
                ctx_s += time.perf_counter() - t0
            previous = labels

    if x264 is not None:
        x264.finish()
        t = tallies[X264] = Tally(X264, bytes=sum(map(len, x264.packets)), enc_s=x264.enc_s)
        decoded = 0
        with open_vq(path) as dec:
            frames = dec.iter_frames()
            for luma, dt in x264.decoded():
                t.dec_s += dt
                ref = next(frames, None)
                decoded += 1
                t.mismatches += ref is None or not np.array_equal(luma, ref.labels)
        t.mismatches += abs(res.frames - decoded)
        res.x264_note = (
            f"encoded as {x264.pix_fmt}, decoded as {x264.decoded_fmt} (luma compared), "
            f"{x264.idr} IDR of {len(x264.packets)} packets, "
            f"{decoded} frames decoded, {x264.sei_bytes} bytes of SEI"
        )
    if ctx_est is not None:
        for name, seq in ((CTX_FRAME, False), (CTX_PIXEL, True)):
            tallies[name] = Tally(name, bytes=ctx_est.bits[seq] / 8, timed=False, estimate=True)
        print(f"  {res.name}: context estimate computed in {ctx_s:.1f} s", file=sys.stderr)
    order = [BLOCKS, CURRENT, "zstd-19", "lzma-6", "lzma-9e", "brotli-11", X264]
    order += [*(stills.names if stills else ()), CTX_FRAME, CTX_PIXEL]
    res.tallies = {n: tallies[n] for n in order if n in tallies}
    return res


# --- inputs and report -------------------------------------------------------------------------


def corpus_files(kinds: list[str], size: tuple[int, int], seconds: float, k: int) -> list[Path]:
    """Make (or find) the corpus clips and encode each to a .vq at palette size k."""
    from vidquant import EncodeSettings, encode_file

    RUNS.mkdir(parents=True, exist_ok=True)
    files = []
    for kind in kinds:
        clip = make_corpus.ensure_clip(kind, size, seconds)
        dst = RUNS / f"{clip.stem}.k{k}.vq"
        print(f"encoding {clip.name} at k={k} -> {dst.relative_to(HERE.parent)}", file=sys.stderr)
        encode_file(clip, dst, EncodeSettings(k=k, audio="none"), force=True)
        files.append(dst)
    return files


def report(results: list[ClipResult]) -> str:
    """Markdown: the clips, the main table, a summary of ratios, and notes."""
    lines = [
        "Clips (modes: label coder 3's choice per frame; stored: label payload bytes in the"
        " file; re-encode: label coder 3's bytes now, against them):",
        "",
        "| clip | size | k | frames | keyframes | modes | stored bytes | re-encode |",
        "|---|---|---|---:|---:|---|---:|---|",
    ]
    for r in results:
        modes = ", ".join(f"{m} {n}" for m, n in sorted(r.modes.items()))
        cur = int(r.tallies[BLOCKS].bytes)
        same = "same bytes" if cur == r.stored_bytes else f"{cur} bytes"
        if r.mode_disagreements:
            same += f", {r.mode_disagreements} modes differ"
        lines.append(
            f"| {r.name} | {r.width}x{r.height} | {r.k} | {r.frames} | {r.keyframes} | "
            f"{modes} | {r.stored_bytes} | {same} |"
        )
    lines += [
        "",
        "| clip | coder | bytes | bpp | vs 1.x | enc ms/f | dec ms/f | lossless |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        base = r.tallies[CURRENT].bytes
        pixels = r.width * r.height * max(r.frames, 1)
        for t in r.tallies.values():
            if t.skipped:
                lines.append(f"| {r.name} | {t.name} | {t.skipped} | | | | | |")
                continue
            ratio = f"{t.bytes / base:.3f}" if base else "-"
            enc = f"{1000 * t.enc_s / r.frames:.2f}" if t.timed and r.frames else "-"
            dec = f"{1000 * t.dec_s / r.frames:.2f}" if t.timed and r.frames else "-"
            ok = "estimate" if t.estimate else "yes" if not t.mismatches else f"NO ({t.mismatches})"
            lines.append(
                f"| {r.name} | {t.name} | {t.bytes:,.0f} | {8 * t.bytes / pixels:.4f} | {ratio}"
                f" | {enc} | {dec} | {ok} |"
            )
    names = [n for n in results[0].tallies if not results[0].tallies[n].skipped]
    lines += [
        "",
        "Bytes relative to the 1.x zstd-6 coder (all clips: summed bytes over summed bytes):",
        "",
        "| coder | " + " | ".join(r.name for r in results) + " | all clips |",
        "|---|" + "---:|" * (len(results) + 1),
    ]
    for n in names:
        cells, num, den = [], 0.0, 0.0
        for r in results:
            t, base = r.tallies.get(n), r.tallies[CURRENT].bytes
            if t is None or t.skipped or not base:
                cells.append("-")
                continue
            cells.append(f"{t.bytes / base:.3f}")
            num, den = num + t.bytes, den + base
        total = f"{num / den:.3f}" if den else "-"
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {total} |")
    notes = [
        "",
        "Notes:",
        "",
        "- Byte coders compress each frame's symbol stream on its own (the current coder's mode"
        " choice: INTRA maps, COPY symbols, DELTA residuals; REPEAT frames cost 0 bytes for all);"
        " lzma is raw LZMA2 without a container, lzma-9e is preset 9 | PRESET_EXTREME with the"
        " dictionary capped at the map size.",
        "- lossless: every map decoded back and compared with the .vq's labels.",
        "- ms/f: wall time over all frames of the clip, REPEAT frames included. Decode of the byte"
        " coders includes rebuilding labels from symbols.",
        "- ctx model rows are estimates, not files: the ideal code length (sum of -log2 p) of"
        " that model, which a real adaptive arithmetic coder driven by it would approach from"
        " above (typically within about 1 %, before headers). They bound that model only:"
        " LZ coders and motion compensation see structure it does not (repeats, shifts).",
        "- frame-adaptive codes each keyframe with the flat start counts (no statistics yet):"
        " about log2(6) bits per pixel plus log2(k) per escape, most of that row's bytes on"
        " clips with one or two keyframes.",
    ]
    for r in results:
        if r.x264_note:
            notes.append(f"- x264 on {r.name}: {r.x264_note}.")
    for r in results:
        for t in r.tallies.values():
            if t.skipped:
                notes.append(f"- {t.name} on {r.name}: {t.skipped}.")
    return "\n".join(lines + notes) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help=".vq files (default: the corpus)")
    parser.add_argument("--k", type=int, default=32, help="palette size for corpus clips (32)")
    make_corpus.add_clip_options(parser, seconds=DEFAULT_SECONDS)
    parser.add_argument(
        "--skip", choices=SKIPPABLE, action="append", default=[], help="leave a coder out"
    )
    parser.add_argument(
        "--out", type=Path, default=OUT / "label_coders.md", help="markdown output file"
    )
    args = parser.parse_args()
    if coders.brotli is None and "brotli-11" not in args.skip:
        print("brotli-11 skipped: pip install brotli", file=sys.stderr)
    files = args.files or corpus_files(
        args.kind or list(make_corpus.KINDS), args.size, args.seconds, args.k
    )
    t0 = time.perf_counter()
    results = []
    for path in files:
        print(f"measuring {path} ...", file=sys.stderr, flush=True)
        results.append(bench_file(path, set(args.skip)))
    text = report(results)
    text += f"\nMeasured in {time.perf_counter() - t0:.0f} s.\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
