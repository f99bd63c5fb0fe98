"""The syntax of label coders 3 and 2 (FORMAT.md §7): blocks, their modes, vectors and coded
pixels.

A label map is coded in 8x8 blocks in raster order, each in one mode:

- SKIP: the co-located labels of the previous frame;
- INTER: a copy from the previous frame at a motion vector (coordinates clamped to the frame);
- IBC (intra block copy): a copy from the part of this frame already decoded;
- CODED: labels coded pixel by pixel, each first tested against the ranked candidates (the
  reference label, then the neighbours W, N, NE, NW; repeats dropped), in contexts made of which
  neighbours agree, then, if none matches, as a literal. The reference label is the previous
  frame's at the block's own motion vector (label coder 3, formats 3.x and 4.x), or at the same
  place (label coder 2, format 2.0, where CODED blocks have no vector); the flag ``mc`` says
  which.

Frames without a reference (keyframes) have IBC and CODED only. Contexts and the last vectors
carry over from frame to frame and start afresh at each keyframe.

This module holds what the encoder and the decoder share (the context layout, the pixel
contexts, block copies and the vector rules) and the decoding kernel; the encoder's kernel,
which also searches, is in :mod:`vidquant.codec.blockencoder`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vidquant.codec import rangecoder as rc
from vidquant.codec.rangecoder import decode_bit, decode_signed

BLOCK = 8  # block side, pixels

SKIP, INTER, IBC, CODED = 0, 1, 2, 3
NO_BLOCK = 4  # a neighbour outside the frame, for the mode contexts

# Context layout (FORMAT.md §7.2): offsets into the context array.
MODE_CONTEXTS = 25  # left block's mode x 5 + top block's mode (NO_BLOCK where none)
CTX_SKIP = 0  # predicted frames: SKIP or not
CTX_CODED_P = CTX_SKIP + MODE_CONTEXTS  # predicted frames: CODED or a copy
CTX_INTER = CTX_CODED_P + MODE_CONTEXTS  # predicted frames: INTER or IBC
CTX_CODED_K = CTX_INTER + MODE_CONTEXTS  # frames without reference: CODED or IBC
CTX_INTER_PRED = CTX_CODED_K + MODE_CONTEXTS  # INTER vector = the predicted one? (3)
CTX_IBC_PRED = CTX_INTER_PRED + 3  # IBC vector = the predicted one? (3)
CTX_INTER_DX = CTX_IBC_PRED + 3  # signed differences from the predicted vector
CTX_INTER_DY = CTX_INTER_DX + rc.SIGNED_CONTEXTS
CTX_IBC_DX = CTX_INTER_DY + rc.SIGNED_CONTEXTS
CTX_IBC_DY = CTX_IBC_DX + rc.SIGNED_CONTEXTS
PATTERNS = 512  # pixel context patterns (9 bits)
MAX_CANDIDATES = 5
CTX_PIXEL = CTX_IBC_DY + rc.SIGNED_CONTEXTS  # candidate rank i, pattern: CTX_PIXEL + i*512 + p
CTX_LITERAL = CTX_PIXEL + MAX_CANDIDATES * PATTERNS  # bit-tree nodes 1..255
CTX_CODED_PRED = CTX_LITERAL + 256  # CODED (predicted frames) vector = the predicted one? (3)
CONTEXTS = CTX_CODED_PRED + 3

# Vectors carried from frame to frame (int64 array): the last INTER and IBC vectors.
VEC_INTER_X, VEC_INTER_Y, VEC_IBC_X, VEC_IBC_Y = range(4)
VEC_SIZE = 4
IBC_START = (0, -BLOCK)  # the IBC predictor at a keyframe: the block above

# Decoder results below zero: what was wrong (FormatError messages in blocklabels).
ERR_LITERAL = -1  # a literal label >= k
ERR_IBC_VECTOR = -2  # an intra copy from outside the decoded area
ERR_LENGTH = -3  # the payload is not exactly what the coder read

_KW = {"cache": True, "nogil": True}


def new_vectors() -> np.ndarray:
    """The carried vectors at a keyframe."""
    vec = np.zeros(VEC_SIZE, np.int64)
    vec[VEC_IBC_X], vec[VEC_IBC_Y] = IBC_START
    return vec


def literal_bits(k: int) -> int:
    """Bits of a literal label: the bit length of k - 1 (at least 1)."""
    return max(1, (k - 1).bit_length())


@njit(inline="always", **_KW)
def pixel_context(
    cur: np.ndarray,
    ref: np.ndarray,
    has_ref: bool,
    x: int,
    y: int,
    ox: int,
    oy: int,
    cands: np.ndarray,
) -> tuple[int, int]:
    """The candidates of pixel (x, y) of a CODED block (written to ``cands``) and their count,
    and its 9-bit context pattern (FORMAT.md §7.5). ``ref`` is the block's reference
    (:func:`fill_ref`), its element (0, 0) at pixel (ox, oy); unused without ``has_ref``."""
    height, width = cur.shape
    w = np.int64(cur[y, x - 1]) if x > 0 else -1
    n = np.int64(cur[y - 1, x]) if y > 0 else -1
    nw = np.int64(cur[y - 1, x - 1]) if x > 0 and y > 0 else -1
    # NE is decoded when it lies in the block row above, or in this block
    ne_ok = y > 0 and x + 1 < width and (y % BLOCK == 0 or (x + 1) % BLOCK != 0)
    ne = np.int64(cur[y - 1, x + 1]) if ne_ok else -1
    p = np.int64(ref[y - oy, x - ox]) if has_ref else -1
    pattern = 0
    if w >= 0 and w == n:
        pattern |= 1
    if w >= 0 and w == nw:
        pattern |= 2
    if n >= 0 and n == ne:
        pattern |= 4
    if n >= 0 and n == nw:
        pattern |= 8
    if has_ref:
        pattern |= 16
        if p == w:
            pattern |= 32
        if p == n:
            pattern |= 64
        if w >= 0 and ref[y - oy, x - 1 - ox] == w:
            pattern |= 128
        if n >= 0 and ref[y - 1 - oy, x - ox] == n:
            pattern |= 256
    count = 0
    for c in (p, w, n, ne, nw):
        if c < 0:
            continue
        seen = False
        for i in range(count):
            if cands[i] == c:
                seen = True
        if not seen:
            cands[count] = c
            count += 1
    return count, pattern


@njit(inline="always", **_KW)
def mode_context(modes: np.ndarray, bx: int, by: int) -> int:
    """The mode context of block (bx, by): left block's mode x 5 + top block's mode."""
    left = modes[by, bx - 1] if bx > 0 else NO_BLOCK
    top = modes[by - 1, bx] if by > 0 else NO_BLOCK
    return left * 5 + top


@njit(inline="always", **_KW)
def predicted_vector(
    modes: np.ndarray, vectors: np.ndarray, vec: np.ndarray, bx: int, by: int, mode: int
) -> tuple[int, int, int]:
    """The predicted vector of a block in ``mode`` (INTER, IBC or, in label coder 3, CODED) and
    its flag context: the left block's vector if it has this mode (for CODED: INTER or CODED),
    else the top block's, else the last one carried (CODED: the INTER one)."""
    if mode == CODED:  # a CODED block's reference vector: from INTER or CODED neighbours
        left = bx > 0 and (modes[by, bx - 1] == INTER or modes[by, bx - 1] == CODED)
        top = by > 0 and (modes[by - 1, bx] == INTER or modes[by - 1, bx] == CODED)
    else:
        left = bx > 0 and modes[by, bx - 1] == mode
        top = by > 0 and modes[by - 1, bx] == mode
    ctx = np.int64(left) + np.int64(top)
    if left:
        return vectors[by, bx - 1, 0], vectors[by, bx - 1, 1], ctx
    if top:
        return vectors[by - 1, bx, 0], vectors[by - 1, bx, 1], ctx
    if mode != IBC:
        return vec[VEC_INTER_X], vec[VEC_INTER_Y], ctx
    return vec[VEC_IBC_X], vec[VEC_IBC_Y], ctx


@njit(inline="always", **_KW)
def vector_contexts(mode: int) -> tuple[int, int, int]:
    """The contexts of a block vector in ``mode``: the is-predicted flag's base (plus the
    vector context), then the signed x and y differences' (INTER and CODED share these)."""
    if mode == IBC:
        return CTX_IBC_PRED, CTX_IBC_DX, CTX_IBC_DY
    return (CTX_INTER_PRED if mode == INTER else CTX_CODED_PRED), CTX_INTER_DX, CTX_INTER_DY


@njit(inline="always", **_KW)
def decode_vector(
    st: np.ndarray,
    data: np.ndarray,
    probs: np.ndarray,
    modes: np.ndarray,
    vectors: np.ndarray,
    vec: np.ndarray,
    bx: int,
    by: int,
    mode: int,
) -> tuple[int, int]:
    """Decode the vector of block (bx, by) in ``mode`` (FORMAT.md §7.4) and keep it in
    ``vectors``; the caller updates the carried vector."""
    px, py, pctx = predicted_vector(modes, vectors, vec, bx, by, mode)
    base_pred, base_dx, base_dy = vector_contexts(mode)
    dx, dy = px, py
    if not decode_bit(st, data, probs, base_pred + pctx):
        dx = px + decode_signed(st, data, probs, base_dx)
        dy = py + decode_signed(st, data, probs, base_dy)
    vectors[by, bx, 0] = dx
    vectors[by, bx, 1] = dy
    return dx, dy


@njit(inline="always", **_KW)
def ibc_valid(
    x0: int, y0: int, bw: int, bh: int, dx: int, dy: int, width: int, height: int
) -> bool:
    """Whether an intra copy of the block at (x0, y0), bw x bh, by (dx, dy) reads only decoded
    pixels: inside the frame, and above this block row, or in it and left of the block."""
    sx0, sy0 = x0 + dx, y0 + dy
    sx1, sy1 = sx0 + bw, sy0 + bh
    if sx0 < 0 or sy0 < 0 or sx1 > width or sy1 > height:
        return False
    return sy1 <= y0 or (sy1 <= y0 + BLOCK and sx1 <= x0)


@njit(**_KW)
def copy_inter(
    cur: np.ndarray, prev: np.ndarray, x0: int, y0: int, bw: int, bh: int, dx: int, dy: int
) -> None:
    """Fill a block from ``prev`` at vector (dx, dy), coordinates clamped to the frame."""
    height, width = cur.shape
    if x0 + dx >= 0 and y0 + dy >= 0 and x0 + dx + bw <= width and y0 + dy + bh <= height:
        for y in range(y0, y0 + bh):  # inside the frame, as most are: nothing to clamp
            for x in range(x0, x0 + bw):
                cur[y, x] = prev[y + dy, x + dx]
        return
    for y in range(y0, y0 + bh):
        sy = min(max(y + dy, 0), height - 1)
        for x in range(x0, x0 + bw):
            sx = min(max(x + dx, 0), width - 1)
            cur[y, x] = prev[sy, sx]


@njit(**_KW)
def fill_ref(
    ref: np.ndarray, prev: np.ndarray, x0: int, y0: int, bw: int, bh: int, dx: int, dy: int
) -> None:
    """The reference of a CODED block at vector (dx, dy): ``ref[j, i]`` = ``prev`` at
    (x0 - 1 + i + dx, y0 - 1 + j + dy), clamped, for j <= bh, i <= bw (one row above and one
    column left of the block, for the context pattern)."""
    height, width = prev.shape
    for j in range(bh + 1):
        sy = min(max(y0 - 1 + j + dy, 0), height - 1)
        for i in range(bw + 1):
            sx = min(max(x0 - 1 + i + dx, 0), width - 1)
            ref[j, i] = prev[sy, sx]


@njit(**_KW)
def copy_ibc(cur: np.ndarray, x0: int, y0: int, bw: int, bh: int, dx: int, dy: int) -> None:
    """Fill a block from this frame at vector (dx, dy) (checked by :func:`ibc_valid`)."""
    for y in range(y0, y0 + bh):
        for x in range(x0, x0 + bw):
            cur[y, x] = cur[y + dy, x + dx]


@njit(**_KW)
def decode_frame(
    data: np.ndarray,
    prev: np.ndarray,
    has_ref: bool,
    k: int,
    probs: np.ndarray,
    vec: np.ndarray,
    cur: np.ndarray,
    mc: bool,
) -> int:
    """Decode one label map into ``cur`` (uint8, height x width); 0, or an ``ERR_*`` code.

    ``mc``: label coder 3, whose CODED blocks of predicted maps carry a vector (else 2).
    ``probs`` and ``vec`` are the state carried from the previous frame, updated in place.
    Work is bounded by the frame size whatever ``data`` holds, and a payload that runs out ends
    at the block where the coder first reads past it.
    """
    height, width = cur.shape
    nbx = (width + BLOCK - 1) // BLOCK
    nby = (height + BLOCK - 1) // BLOCK
    modes = np.empty((nby, nbx), np.int64)
    vectors = np.zeros((nby, nbx, 2), np.int64)
    cands = np.empty(MAX_CANDIDATES, np.int64)
    ref = np.zeros((BLOCK + 1, BLOCK + 1), np.uint8)
    nbits = 1
    while (1 << nbits) < k:
        nbits += 1
    if has_ref:  # SKIP blocks then cost nothing: one copy of the map beats a loop per block
        cur[:, :] = prev
    st = np.zeros(rc.DEC_SIZE, np.int64)
    rc.decode_init(st, data)
    for by in range(nby):
        y0 = by * BLOCK
        bh = min(BLOCK, height - y0)
        for bx in range(nbx):
            if st[rc.DEC_POS] > data.size:  # a valid code never reads past its end: stop early
                return ERR_LENGTH
            x0 = bx * BLOCK
            bw = min(BLOCK, width - x0)
            mctx = mode_context(modes, bx, by)
            if has_ref:
                if decode_bit(st, data, probs, CTX_SKIP + mctx):
                    mode = SKIP
                elif decode_bit(st, data, probs, CTX_CODED_P + mctx):
                    mode = CODED
                elif decode_bit(st, data, probs, CTX_INTER + mctx):
                    mode = INTER
                else:
                    mode = IBC
            else:
                mode = CODED if decode_bit(st, data, probs, CTX_CODED_K + mctx) else IBC
            modes[by, bx] = mode
            if mode == SKIP:
                pass  # the labels are in place
            elif mode in (INTER, IBC):
                dx, dy = decode_vector(st, data, probs, modes, vectors, vec, bx, by, mode)
                if mode == INTER:
                    vec[VEC_INTER_X], vec[VEC_INTER_Y] = dx, dy
                    copy_inter(cur, prev, x0, y0, bw, bh, dx, dy)
                else:
                    if not ibc_valid(x0, y0, bw, bh, dx, dy, width, height):
                        return ERR_IBC_VECTOR
                    vec[VEC_IBC_X], vec[VEC_IBC_Y] = dx, dy
                    copy_ibc(cur, x0, y0, bw, bh, dx, dy)
            else:
                if has_ref:
                    dx = dy = 0  # label coder 2: the co-located labels
                    if mc:
                        dx, dy = decode_vector(st, data, probs, modes, vectors, vec, bx, by, CODED)
                        vec[VEC_INTER_X], vec[VEC_INTER_Y] = dx, dy
                    fill_ref(ref, prev, x0, y0, bw, bh, dx, dy)
                for y in range(y0, y0 + bh):
                    for x in range(x0, x0 + bw):
                        count, pattern = pixel_context(
                            cur, ref, has_ref, x, y, x0 - 1, y0 - 1, cands
                        )
                        label = -1
                        for i in range(count):
                            if decode_bit(st, data, probs, CTX_PIXEL + i * PATTERNS + pattern):
                                label = cands[i]
                                break
                        if label < 0:
                            node = 1
                            for _ in range(nbits):
                                node = (node << 1) | decode_bit(st, data, probs, CTX_LITERAL + node)
                            label = node - (1 << nbits)
                            if label >= k:
                                return ERR_LITERAL
                        cur[y, x] = label
    if st[rc.DEC_POS] != data.size:
        return ERR_LENGTH
    return 0
