"""The lossless coders ``bench_labels`` sets beside vidquant's label coder.

- byte coders (Zstandard 19, raw LZMA2, Brotli) on the symbol streams of vidquant's own mode
  choice, built by the codec's transforms (:func:`vidquant.codec.labels.copy_map` and the rest);
- :class:`X264Lossless`: the label maps as a lossless H.264 stream through PyAV;
- :class:`ContextEstimate`: the ideal code length of an adaptive context model (no real coder).
"""

from __future__ import annotations

import lzma
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from types import ModuleType

import numpy as np
import zstandard

from vidquant.codec import format as fmt
from vidquant.codec.labels import copy_map, delta_map, uncopy_map, undelta_map

brotli: ModuleType | None
try:
    import brotli
except ImportError:  # optional: the brotli row is skipped with a message
    brotli = None

BROTLI_MISSING = "skipped: pip install brotli"


# --- byte coders on the symbol streams ---------------------------------------------------------


def symbol_stream(mode: int, labels: np.ndarray, previous: np.ndarray | None) -> bytes:
    """The bytes vidquant hands to zstd for this mode (empty for REPEAT)."""
    if mode == fmt.LABELS_REPEAT:
        return b""
    if mode == fmt.LABELS_INTRA:
        return labels.tobytes()
    assert previous is not None
    if mode == fmt.LABELS_COPY:
        return copy_map(labels, previous).tobytes()
    return delta_map(labels, previous).tobytes()


def reconstruct(
    mode: int, raw: bytes, previous: np.ndarray | None, shape: tuple[int, int], k: int
) -> np.ndarray | None:
    """Labels from a decompressed symbol stream (the inverse of :func:`symbol_stream`)."""
    if mode == fmt.LABELS_REPEAT:
        return previous
    arr = np.frombuffer(raw, np.uint8).reshape(shape)
    if mode == fmt.LABELS_INTRA:
        return arr
    assert previous is not None
    if mode == fmt.LABELS_COPY:
        return uncopy_map(arr, previous, k=k)
    return undelta_map(arr, previous)


@dataclass
class ByteCoder:
    """A general-purpose compressor applied to each frame's symbol stream on its own."""

    name: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes], bytes]


def byte_coders(map_bytes: int, skip: set[str]) -> tuple[list[ByteCoder], dict[str, str]]:
    """The coders to run, and why the others cannot run ({name: reason})."""
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
    skipped = {}
    if brotli is not None:
        br = brotli
        coders.append(ByteCoder("brotli-11", lambda b: br.compress(b, quality=11), br.decompress))
    elif "brotli-11" not in skip:
        skipped["brotli-11"] = BROTLI_MISSING
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


class StillCoders:
    """Each label map on its own as a lossless grey image: FFV1 (PyAV), WebP lossless and JPEG XL
    lossless (PyPI imagecodecs, effort/level as given). Intra-only by construction: what a
    still-image or intra video coder pays for the same maps. Each map is decoded back and
    compared."""

    def __init__(self, width: int, height: int) -> None:
        import av

        self.names = ["FFV1 (gray, intra)"]
        self._av = av
        ctx = av.CodecContext.create("ffv1", "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "gray"
        ctx.time_base = Fraction(1, 25)
        ctx.options = {"level": "3", "slicecrc": "0", "g": "1"}
        self._ffv1 = ctx
        self._ffv1_dec = None  # made after the first encode, from the encoder's extradata
        self._size = (width, height)
        self._n = 0
        try:
            import imagecodecs
        except ImportError:
            imagecodecs = None
        self._ic = imagecodecs
        if imagecodecs is not None:
            if imagecodecs.WEBP.available:
                self.names.append("WebP lossless (per map)")
            if imagecodecs.JPEGXL.available:
                self.names.append("JPEG XL lossless (per map)")

    def code(self, labels: np.ndarray) -> dict[str, tuple[int, float, float, bool]]:
        """{name: (bytes, encode s, decode s, exact)} for one map."""
        out = {}
        t0 = time.perf_counter()
        frame = self._av.VideoFrame.from_ndarray(labels, format="gray")
        frame.pts = self._n
        self._n += 1
        packets = [bytes(p) for p in self._ffv1.encode(frame)]
        t1 = time.perf_counter()
        if self._ffv1_dec is None:
            self._ffv1_dec = self._av.CodecContext.create("ffv1", "r")
            self._ffv1_dec.extradata = self._ffv1.extradata
            self._ffv1_dec.width, self._ffv1_dec.height = self._size
        back = None
        for data in packets:
            for f in self._ffv1_dec.decode(self._av.Packet(data)):
                back = f.to_ndarray()
        t2 = time.perf_counter()
        exact = back is not None and np.array_equal(back, labels)
        out[self.names[0]] = (sum(map(len, packets)), t1 - t0, t2 - t1, exact)
        ic = self._ic
        for name, enc, dec in (
            ("WebP lossless (per map)",
             lambda a: ic.webp_encode(np.dstack([a, a, a]), lossless=True, level=100),
             lambda b: ic.webp_decode(b)[:, :, 0]),
            ("JPEG XL lossless (per map)",
             lambda a: ic.jpegxl_encode(a, lossless=True, effort=7),
             ic.jpegxl_decode if ic is not None else None),
        ):  # fmt: skip
            if name not in self.names:
                continue
            t0 = time.perf_counter()
            data = enc(labels)
            t1 = time.perf_counter()
            back = dec(data)
            t2 = time.perf_counter()
            out[name] = (len(data), t1 - t0, t2 - t1, np.array_equal(back, labels))
        return out
