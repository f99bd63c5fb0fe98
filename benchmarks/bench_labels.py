"""Benchmark lossless coders on vidquant's label maps: does the label coder earn its place?

vidquant codes each label map (uint8 palette indices) with Zstandard: ``zstd(labels)`` (INTRA)
on keyframes, and between them ``zstd`` of COPY symbols (0 where a pixel kept its previous label,
label + 1 where it changed), or the intra map when that is smaller; an unchanged map is REPEAT,
with no bytes (see ``vidquant/codec/labels.py``). This script takes the label maps of ``.vq``
files and measures, per clip, how many bytes other lossless coders need for the same maps:

- ``vidquant zstd-6``: the current coder, ``LabelEncoder().encode(labels, previous)``, with
  ``previous`` None on keyframes; bytes are the summed ``len(payload)``. Its mode choice (INTRA,
  COPY, DELTA or REPEAT) per frame fixes the symbol streams of the next four rows;
- ``zstd-19``, ``lzma-6``, ``lzma-9e``, ``brotli-11``: the same symbol stream of every frame
  (the same mode choice), compressed on its own by Zstandard level 19 (with the content size in
  the frame, as vidquant writes it), raw LZMA2 (no .xz container: the map size is known; preset 6,
  and preset 9 | PRESET_EXTREME with the dictionary capped at the map size, which changes no byte
  of output for one map and only saves allocating 64 MiB per frame) and Brotli quality 11
  (skipped, with a message, when the ``brotli`` module is missing: ``pip install brotli``);
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
- ``vs current``: bytes / the current coder's bytes (below 1 is smaller);
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
import lzma
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import numpy as np
import zstandard

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE / "corpus")]

import make_corpus  # noqa: E402

from vidquant.codec import format as fmt  # noqa: E402
from vidquant.codec.labels import LabelDecoder, LabelEncoder  # noqa: E402
from vidquant.decoder import open_vq  # noqa: E402

brotli: ModuleType | None
try:
    import brotli
except ImportError:  # optional: the brotli row is skipped with a message
    brotli = None

OUT = HERE / "out"
RUNS = OUT / "label_runs"
DEFAULT_SECONDS = 3.0
CURRENT = "vidquant zstd-6 (current)"
X264 = "x264 lossless"
CTX_FRAME = "ctx model est. (frame-adaptive)"
CTX_PIXEL = "ctx model est. (pixel-adaptive)"
SKIPPABLE = ("zstd-19", "lzma-6", "lzma-9e", "brotli-11", "x264", "ctx")
MODE_NAMES = {
    fmt.LABELS_INTRA: "INTRA",
    fmt.LABELS_COPY: "COPY",
    fmt.LABELS_DELTA: "DELTA",
    fmt.LABELS_REPEAT: "REPEAT",
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


# --- byte coders on the symbol streams ---------------------------------------------------------


def symbol_stream(mode: int, labels: np.ndarray, previous: np.ndarray | None) -> bytes:
    """The bytes vidquant hands to zstd for this mode (empty for REPEAT)."""
    if mode == fmt.LABELS_REPEAT:
        return b""
    if mode == fmt.LABELS_INTRA:
        return labels.tobytes()
    assert previous is not None
    if mode == fmt.LABELS_COPY:
        symbols = labels + np.uint8(1)
        symbols[labels == previous] = 0
        return symbols.tobytes()
    return (labels - previous).tobytes()  # DELTA, mod 256


def reconstruct(mode: int, raw: bytes, previous: np.ndarray | None, shape: tuple[int, int]):
    """Labels from a decompressed symbol stream (the inverse of :func:`symbol_stream`)."""
    if mode == fmt.LABELS_REPEAT:
        return previous
    arr = np.frombuffer(raw, np.uint8).reshape(shape)
    if mode == fmt.LABELS_INTRA:
        return arr
    assert previous is not None
    if mode == fmt.LABELS_COPY:
        return np.where(arr == 0, previous, arr - np.uint8(1))
    return arr + previous


@dataclass
class ByteCoder:
    """A general-purpose compressor applied to each frame's symbol stream on its own."""

    name: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes], bytes]


def byte_coders(map_bytes: int, skip: set[str]) -> tuple[list[ByteCoder], list[Tally]]:
    """The coders to run, and the skipped ones as tallies that say why."""
    z19 = zstandard.ZstdCompressor(level=19, write_content_size=True)
    zd = zstandard.ZstdDecompressor()
    dict_size = max(4096, 1 << (map_bytes - 1).bit_length())  # the map size, a power of two
    f6 = [{"id": lzma.FILTER_LZMA2, "preset": 6}]
    f9 = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": dict_size}]

    def lzma_pair(filters: list[dict[str, int]]) -> tuple[Callable, Callable]:
        def comp(b: bytes) -> bytes:
            return lzma.compress(b, format=lzma.FORMAT_RAW, filters=filters)

        def decomp(b: bytes) -> bytes:
            return lzma.decompress(b, format=lzma.FORMAT_RAW, filters=filters)

        return comp, decomp

    coders = [
        ByteCoder("zstd-19", z19.compress, zd.decompress),
        ByteCoder("lzma-6", *lzma_pair(f6)),
        ByteCoder("lzma-9e", *lzma_pair(f9)),
    ]
    skipped = []
    if brotli is not None:
        br = brotli
        coders.append(ByteCoder("brotli-11", lambda b: br.compress(b, quality=11), br.decompress))
    elif "brotli-11" not in skip:
        skipped.append(Tally("brotli-11", skipped="skipped: pip install brotli"))
    return [c for c in coders if c.name not in skip], skipped


# --- ideal adaptive context model --------------------------------------------------------------

N_SYM = 6  # index of the first matching candidate (P, L, T, TR, TL), or 5 = escape
N_CTX = 64  # intra flag x 5 equality bits
ESCAPE = 5


def _ranks(key: np.ndarray) -> np.ndarray:
    """For each position, how many earlier positions hold the same key."""
    order = np.argsort(key, kind="stable")
    sk = key[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, sk.size]))
    ranks = np.empty(key.size, np.int64)
    ranks[order] = np.arange(sk.size) - group_start
    return ranks


class AdaptiveModel:
    """Counts per context with a 0.5 start; code lengths of a frame, then the frame is added."""

    def __init__(self, n_ctx: int, n_sym: int) -> None:
        self.shape = (n_ctx, n_sym)
        self.reset()

    def reset(self) -> None:
        self.counts = np.full(self.shape, 0.5)

    def frame_bits(self, ctx: np.ndarray, sym: np.ndarray, *, sequential: bool) -> float:
        """Summed -log2 p of the frame's symbols; then the counts learn them."""
        if ctx.size == 0:
            return 0.0
        key = ctx * self.shape[1] + sym
        num = self.counts.reshape(-1)[key]
        den = self.counts.sum(axis=1)[ctx]
        if sequential:
            num = num + _ranks(key)
            den = den + _ranks(ctx)
        bits = float(-np.log2(num / den).sum())
        self.counts += np.bincount(key, minlength=self.counts.size).reshape(self.shape)
        return bits


def context_symbols(
    labels: np.ndarray, previous: np.ndarray | None, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(context, symbol) of every pixel in raster order, and (left context, label) of escapes.

    Neighbours outside the map are -1 and a missing previous frame is -2, so they match no label.
    """
    h, w = labels.shape
    lab = labels.astype(np.int16)
    pad = np.full((h + 1, w + 2), -1, np.int16)
    pad[1:, 1:-1] = lab
    left, top, top_right, top_left = pad[1:, :-2], pad[:-1, 1:-1], pad[:-1, 2:], pad[:-1, :-2]
    intra = previous is None
    prev = np.full((h, w), -2, np.int16) if intra else previous.astype(np.int16)
    candidates = (prev, left, top, top_right, top_left)
    sym = np.full((h, w), ESCAPE, np.int64)
    for i in range(len(candidates) - 1, -1, -1):  # backwards: the first match wins
        sym[candidates[i] == lab] = i
    ctx = (
        (32 if intra else 0)
        + 16 * (prev == left)
        + 8 * (prev == top)
        + 4 * (left == top)
        + 2 * (top == top_right)
        + (left == top_left)
    ).astype(np.int64)
    esc = sym == ESCAPE
    esc_ctx = np.where(left[esc] >= 0, left[esc], k).astype(np.int64)
    return ctx.reshape(-1), sym.reshape(-1), esc_ctx, lab[esc].astype(np.int64)


class ContextEstimate:
    """Both estimates (frame- and pixel-adaptive) of the ideal context model."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.models = {
            seq: (AdaptiveModel(N_CTX, N_SYM), AdaptiveModel(k + 1, k)) for seq in (False, True)
        }
        self.bits = {False: 0.0, True: 0.0}

    def add(self, labels: np.ndarray, previous: np.ndarray | None) -> None:
        ctx, sym, esc_ctx, esc_lab = context_symbols(labels, previous, self.k)
        for seq, (sym_model, esc_model) in self.models.items():
            if previous is None:
                sym_model.reset()
                esc_model.reset()
            self.bits[seq] += sym_model.frame_bits(ctx, sym, sequential=seq)
            self.bits[seq] += esc_model.frame_bits(esc_ctx, esc_lab, sequential=seq)


# --- x264 lossless -----------------------------------------------------------------------------


class X264Lossless:
    """Label maps as a lossless H.264 stream; packets kept for the round-trip check."""

    def __init__(self, width: int, height: int) -> None:
        import av
        from av.video.frame import PictureType

        self._av, self._i = av, PictureType.I
        formats = {f.name for f in av.codec.Codec("libx264", "w").video_formats}
        self.pix_fmt = "gray" if "gray" in formats else "yuv444p"
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, self.pix_fmt
        ctx.time_base = Fraction(1, 25)
        ctx.framerate = Fraction(25)
        ctx.options = {"qp": "0", "preset": "medium", "forced-idr": "1"}
        self._ctx = ctx
        self._chroma = np.full((2, height, width), 128, np.uint8)
        self.packets: list[bytes] = []
        self.idr = 0
        self.decoded_fmt = "?"
        self.enc_s = 0.0
        self._n = 0

    def add(self, labels: np.ndarray, keyframe: bool) -> None:
        t0 = time.perf_counter()
        if self.pix_fmt == "gray":
            frame = self._av.VideoFrame.from_ndarray(labels, format="gray")
        else:
            planes = np.concatenate([labels[None], self._chroma])
            frame = self._av.VideoFrame.from_ndarray(planes, format="yuv444p")
        frame.pts = self._n
        self._n += 1
        if keyframe:
            frame.pict_type = self._i
        self._keep(self._ctx.encode(frame))
        self.enc_s += time.perf_counter() - t0

    def finish(self) -> None:
        t0 = time.perf_counter()
        self._keep(self._ctx.encode(None))
        self.enc_s += time.perf_counter() - t0

    def _keep(self, packets: list) -> None:
        for p in packets:
            self.packets.append(bytes(p))
            self.idr += bool(p.is_keyframe)

    def decoded(self) -> Iterator[tuple[np.ndarray, float]]:
        """Decoded maps (luma plane) in order, each with the decode time it took."""
        ctx = self._av.CodecContext.create("h264", "r")
        t0 = time.perf_counter()
        for data in [*self.packets, None]:
            packet = None if data is None else self._av.Packet(data)
            for frame in ctx.decode(packet):
                # FFmpeg's h264 decoder returns a 4:0:0 stream as yuv420p with flat chroma.
                self.decoded_fmt = frame.format.name
                y = frame.planes[0]
                luma = np.frombuffer(y, np.uint8).reshape(y.height, y.line_size)[:, : y.width]
                yield luma, time.perf_counter() - t0
                t0 = time.perf_counter()

    @property
    def sei_bytes(self) -> int:
        """Bytes of SEI NAL units (x264's version and settings string) in the stream."""
        total = 0
        for data in self.packets:
            for nal in data.split(b"\x00\x00\x01")[1:]:
                if nal and nal[0] & 0x1F == 6:
                    total += len(nal.rstrip(b"\x00")) + 3
        return total


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
    coders, skipped = byte_coders(res.width * res.height, skip)
    tallies = {CURRENT: Tally(CURRENT)}
    tallies |= {c.name: Tally(c.name) for c in coders}
    tallies |= {t.name: t for t in skipped}
    x264 = None
    if "x264" not in skip:
        try:
            x264 = X264Lossless(res.width, res.height)
        except Exception as exc:  # noqa: BLE001 (any PyAV failure: report it, go on)
            tallies[X264] = Tally(X264, skipped=f"skipped: {exc}")
    ctx_est = None if "ctx" in skip else ContextEstimate(res.k)
    encoder, decoder = LabelEncoder(), LabelDecoder(res.width, res.height, res.k)
    cur = tallies[CURRENT]
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
            name = MODE_NAMES[coded.mode]
            res.modes[name] = res.modes.get(name, 0) + 1
            if res.frames <= len(stored) and stored[res.frames - 1] != coded.mode:
                res.mode_disagreements += 1

            stream = symbol_stream(coded.mode, labels, prev)
            for c in coders:
                t = tallies[c.name]
                if not stream:  # REPEAT: no payload, nothing to run
                    continue
                t0 = time.perf_counter()
                packed = c.compress(stream)
                t1 = time.perf_counter()
                back = reconstruct(coded.mode, c.decompress(packed), prev, shape)
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
    order = [CURRENT, "zstd-19", "lzma-6", "lzma-9e", "brotli-11", X264, CTX_FRAME, CTX_PIXEL]
    res.tallies = {n: tallies[n] for n in order if n in tallies}
    return res


# --- inputs and report -------------------------------------------------------------------------


def corpus_files(kinds: list[str], size: tuple[int, int], seconds: float, k: int) -> list[Path]:
    """Make (or find) the corpus clips and encode each to a .vq at palette size k."""
    from vidquant.encoder import encode_file
    from vidquant.settings import EncodeSettings

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
        "Clips (modes: the current coder's choice per frame; stored: label payload bytes in the"
        " file):",
        "",
        "| clip | size | k | frames | keyframes | modes | stored bytes | re-encode |",
        "|---|---|---|---:|---:|---|---:|---|",
    ]
    for r in results:
        modes = ", ".join(f"{m} {n}" for m, n in sorted(r.modes.items()))
        cur = int(r.tallies[CURRENT].bytes)
        same = "same bytes" if cur == r.stored_bytes else f"{cur} bytes"
        if r.mode_disagreements:
            same += f", {r.mode_disagreements} modes differ"
        lines.append(
            f"| {r.name} | {r.width}x{r.height} | {r.k} | {r.frames} | {r.keyframes} | "
            f"{modes} | {r.stored_bytes} | {same} |"
        )
    lines += [
        "",
        "| clip | coder | bytes | bpp | vs current | enc ms/f | dec ms/f | lossless |",
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
        "Bytes relative to the current coder (all clips: summed bytes over summed bytes):",
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
    parser.add_argument(
        "--kind", choices=list(make_corpus.KINDS), action="append", help="corpus kinds (all)"
    )
    parser.add_argument(
        "--size", type=make_corpus.parse_size, default=make_corpus.DEFAULT_SIZE, help="640x360"
    )
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="clip length (3)")
    parser.add_argument(
        "--skip", choices=SKIPPABLE, action="append", default=[], help="leave a coder out"
    )
    parser.add_argument(
        "--out", type=Path, default=OUT / "label_coders.md", help="markdown output file"
    )
    args = parser.parse_args()
    if brotli is None and "brotli-11" not in args.skip:
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
