"""Label coders 3 and 2 (FORMAT.md §6-7): the encoder and decoder objects over the compiled
kernels. Label coder 3 (formats 3.x and 4.x) is what the encoder writes; label coder 2 (format
2.0) differs only in that its CODED blocks have no vector, and both decode.

Both keep the state a frame passes to the next: the contexts and the carried vectors, which
start afresh with every INTRA map (a keyframe), and, in the encoder, the previous map's window
hashes for the copy search. A REPEAT frame leaves the state as it is.
"""

from __future__ import annotations

import contextlib

import numpy as np

from vidquant.codec import blockcoder as bc
from vidquant.codec import blockencoder as be
from vidquant.codec import blocksearch as bs
from vidquant.codec import format as fmt
from vidquant.codec import rangecoder as rc
from vidquant.codec.labels import CodedLabels, LabelDecoder, repeat_labels
from vidquant.errors import FormatError
from vidquant.progress import NullProgress, Progress

BLOCK_CODERS = (fmt.LABEL_CODER_BLOCKS, fmt.LABEL_CODER_MC)


def _motion_compensated(label_coder: int) -> bool:
    """Whether a block coder's CODED blocks carry vectors (label coder 3; 2 has none)."""
    if label_coder not in BLOCK_CODERS:
        raise ValueError(f"label coder {label_coder} is not a block coder")
    return label_coder == fmt.LABEL_CODER_MC


_ERRORS = {
    bc.ERR_LITERAL: "a literal label is not below k",
    bc.ERR_IBC_VECTOR: "an intra copy reads outside the decoded part of the frame",
    bc.ERR_LENGTH: "the payload's length is not what its code needs",
}


class BlockLabelEncoder:
    """Encode the label maps of one stream (one size and k), in order.

    Lossless by default; with ``lam`` > 0 each map is coded with rate-distortion decisions
    against its frame (:func:`vidquant.codec.blockencoder.encode_frame`), and :attr:`last` is
    what the decoder will show, which is then the reference of the next map.
    """

    def __init__(
        self, width: int, height: int, k: int, label_coder: int = fmt.LABEL_CODER_MC
    ) -> None:
        self._mc = _motion_compensated(label_coder)
        self.width, self.height, self.k = width, height, k
        self._costs = rc.cost_table()
        self._out = np.empty(fmt.max_labels(width, height, label_coder), np.uint8)
        self._probs = rc.new_contexts(bc.CONTEXTS)
        self._vec = bc.new_vectors()
        self._ref: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # hashes, chains
        self.last: np.ndarray | None = None  # the map the decoder shows after the last encode

    def encode(
        self,
        labels: np.ndarray,
        previous: np.ndarray | None,
        *,
        rgb: np.ndarray | None = None,
        palette: np.ndarray | None = None,
        lam: int = 0,
        stickiness: float = 0.0,
    ) -> CodedLabels:
        """Code ``labels`` (uint8, (height, width), each < k).

        Parameters
        ----------
        labels
            The quantiser's labels (coded exactly when ``lam`` is 0).
        previous
            None on a keyframe, else :attr:`last` (the reference).
        rgb, palette
            The frame ((height, width, 3) uint8) and the palette ((k, 3) uint8) the labels
            index, needed when ``lam`` > 0.
        lam
            Lambda of the rate-distortion decisions, in squared 8-bit RGB error per bit; 0 for
            lossless.
        stickiness
            With ``lam`` > 0, a pixel first keeps its label in ``previous`` while that colour is
            at most this much farther (8-bit RGB, Euclidean) than its own label's.

        Returns
        -------
        CodedLabels
            ``LABELS_INTRA`` (a keyframe), ``LABELS_REPEAT`` or ``LABELS_BLOCKS``, and the
            payload.
        """
        labels = np.ascontiguousarray(labels, dtype=np.uint8)
        lossy = lam > 0
        if lossy:
            if rgb is None or palette is None:
                raise ValueError("rate-distortion coding needs the frame and its palette")
            pal = np.asarray(palette, np.int64)
            frame = np.ascontiguousarray(rgb, dtype=np.uint8)
        else:
            pal, frame = np.zeros((1, 3), np.int64), np.zeros((0, 0, 3), np.uint8)
        keyframe = previous is None or self.last is None or self._ref is None
        ref = None if keyframe else np.ascontiguousarray(previous, dtype=np.uint8)
        if ref is not None and not lossy and np.array_equal(labels, ref):
            return CodedLabels(fmt.LABELS_REPEAT, b"")
        if ref is not None and lossy and stickiness > 0:
            labels = be.keep_labels(labels, ref, frame, pal, float(stickiness))
        hashes = bs.window_hashes(labels)
        head = np.full(1 << bs.HASH_BITS, -1, np.int32)
        chain = np.empty(max(hashes.size, 1), np.int32)
        if ref is None or self._ref is None:
            self._probs = rc.new_contexts(bc.CONTEXTS)
            self._vec = bc.new_vectors()
            mode, has_ref = fmt.LABELS_INTRA, False
            ref, ref_hashes, ref_head, ref_chain = labels, hashes[:0], head, chain
        else:
            mode, has_ref = fmt.LABELS_BLOCKS, True
            ref_hashes, ref_head, ref_chain = self._ref
        state = (self._probs.copy(), self._vec.copy()) if lossy and has_ref else None
        cur = np.empty_like(labels)
        n = be.encode_frame(
            labels, ref, has_ref, self.k, frame, pal, int(lam), self._probs, self._vec,
            self._costs, hashes, head, chain, ref_hashes, ref_head, ref_chain, cur, self._out,
            self._mc,
        )  # fmt: skip
        if n < 0:  # not reachable by label maps: the worst take about half the room
            raise RuntimeError(f"a {self.width}x{self.height} label map overflowed its payload")
        if state is not None and np.array_equal(cur, ref):  # all the blocks were skipped
            self._probs, self._vec = state
            return CodedLabels(fmt.LABELS_REPEAT, b"")
        if lossy and not np.array_equal(cur, labels):  # the next search looks in what is shown
            hashes = bs.window_hashes(cur)
            head = np.full(1 << bs.HASH_BITS, -1, np.int32)
            chain = np.empty(max(hashes.size, 1), np.int32)
            bs.chain_windows(hashes, head, chain)
        self._ref = (hashes, head, chain)
        self.last = cur
        return CodedLabels(mode, self._out[:n].tobytes())


class BlockLabelDecoder:
    """Decode the label maps of one stream in order, never allocating more than a few maps."""

    def __init__(
        self, width: int, height: int, k: int, label_coder: int = fmt.LABEL_CODER_MC
    ) -> None:
        self._mc = _motion_compensated(label_coder)
        self.width, self.height, self.k = width, height, k
        self._coder = label_coder
        self._probs = rc.new_contexts(bc.CONTEXTS)
        self._vec = bc.new_vectors()
        self._fresh = False  # whether the state follows an INTRA map

    def decode(
        self, mode: int, payload: bytes, previous: np.ndarray | None, *, offset: int | None = None
    ) -> np.ndarray:
        """Return the labels (uint8, (height, width)) of one frame.

        ``previous`` is the map this decoder returned last (None after a failure or at the
        start); the state it carries is valid only then.

        Raises
        ------
        FormatError
            The mode is unknown, a predicted map has no previous frame, or the payload is not a
            valid code for one map (``offset`` is reported with the error).
        """
        if mode not in fmt.LABEL_MODES[self._coder]:
            raise FormatError(f"unknown label mode {mode}", offset=offset)
        if mode == fmt.LABELS_REPEAT:
            return repeat_labels(payload, previous, offset)
        has_ref = mode == fmt.LABELS_BLOCKS
        if has_ref and (previous is None or not self._fresh):
            raise FormatError("predicted labels without a previous frame", offset=offset)
        if not has_ref:
            self._probs = rc.new_contexts(bc.CONTEXTS)
            self._vec = bc.new_vectors()
        self._fresh = False  # until this map decodes
        data = np.frombuffer(payload, np.uint8)
        cur = np.empty((self.height, self.width), np.uint8)
        ref = cur if previous is None else np.ascontiguousarray(previous, dtype=np.uint8)
        result = bc.decode_frame(data, ref, has_ref, self.k, self._probs, self._vec, cur, self._mc)
        if result != 0:
            raise FormatError(f"label payload is corrupt: {_ERRORS[result]}", offset=offset)
        self._fresh = True
        return cur


def label_decoder(
    width: int, height: int, k: int, label_coder: int
) -> BlockLabelDecoder | LabelDecoder:
    """The decoder of a stream's label coder (``format.LABEL_CODER_*``, from its header)."""
    if label_coder == fmt.LABEL_CODER_ZSTD:
        return LabelDecoder(width, height, k)
    return BlockLabelDecoder(width, height, k, label_coder)


def compile_kernels(*, encoder: bool = True, progress: Progress | None = None) -> None:
    """Compile (or load from numba's cache) the kernels a stream's coding runs, by coding a
    small map each way: lossless and rate-distortion when ``encoder``, then decoding.

    The first run after installing compiles them, which takes about a minute on two cores;
    later runs load them in a fraction of a second. Jobs call this first, as a ``progress`` job
    of its own, so that the first run says what it is doing instead of stalling on its first
    frame.
    """
    progress = progress or NullProgress()
    progress.start("preparing the codec's kernels (compiled on the first run only)", None)
    try:
        _run_kernels(encoder=encoder)
    finally:
        progress.finish()


def _run_kernels(*, encoder: bool) -> None:
    from vidquant.lookup import paint

    size, k = 2 * bc.BLOCK, 4
    first = (np.arange(size * size, dtype=np.uint8) % k).reshape(size, size)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    rgb = paint(first, palette)
    dec = BlockLabelDecoder(size, size, k)
    if encoder:
        second = np.roll(first, 1, axis=1)
        enc = BlockLabelEncoder(size, size, k)
        key = enc.encode(first, None)
        dec.decode(key.mode, key.payload, None)
        enc.encode(second, enc.last)
        lossy = BlockLabelEncoder(size, size, k)
        lossy.encode(first, None, rgb=rgb, palette=palette, lam=3)
        lossy.encode(second, lossy.last, rgb=rgb, palette=palette, lam=3, stickiness=1.0)
        hashes = bs.window_hashes(second)  # the rehash of a lossy map that differs from its target
        head = np.full(1 << bs.HASH_BITS, -1, np.int32)
        bs.chain_windows(hashes, head, np.empty(hashes.size, np.int32))
    else:  # a payload too short for any map: the kernel runs, then refuses it
        with contextlib.suppress(FormatError):
            dec.decode(fmt.LABELS_INTRA, bytes(5), None)
