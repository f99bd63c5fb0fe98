"""The encoder's search for label coder 3 (and 2): block hashes for copies, and the motion
search of a CODED block's reference vector.

Copies are found by hashing: every 8x8 window of a label map has a 32-bit hash, windows are
chained by hash bucket, and a block looks up the windows of the previous frame (INTER) and of
the decoded part of this frame (IBC) with its own hash (:mod:`vidquant.codec.blockencoder`).

A CODED block's reference vector (label coder 3) is the vector at which the previous map's
labels match the block's best: the neighbours' and carried vectors are scored by their
mismatched labels plus the vector's rate, and the best refined by one-pixel steps.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vidquant.codec import blockcoder as bc
from vidquant.codec.blockcoder import BLOCK, CODED, INTER
from vidquant.codec.rangecoder import bit_cost, signed_cost

HASH_BITS = 18  # hash buckets: 2**18
CHAIN_STEPS = 32  # windows looked at per lookup
_ROW_MUL = 0x9E3779B1
_COL_MUL = 0x85EBCA77
_BUCKET_MUL = 0x27D4EB2F
_KW = {"cache": True, "nogil": True}


@njit(**_KW)
def window_hashes(labels: np.ndarray) -> np.ndarray:
    """The hash of every BLOCK x BLOCK window, by its top-left corner (uint32; empty when the
    map is smaller than a block)."""
    height, width = labels.shape
    hw, hh = width - BLOCK + 1, height - BLOCK + 1
    if hw <= 0 or hh <= 0:
        return np.zeros((0, 0), np.uint32)
    rows = np.empty((height, hw), np.int64)
    for y in range(height):
        for x in range(hw):
            h = np.int64(0)
            for j in range(BLOCK):
                h = (h * _ROW_MUL + labels[y, x + j] + 1) & 0xFFFFFFFF
            rows[y, x] = h
    out = np.empty((hh, hw), np.uint32)
    for y in range(hh):
        for x in range(hw):
            h = np.int64(0)
            for i in range(BLOCK):
                h = (h * _COL_MUL + rows[y + i, x]) & 0xFFFFFFFF
            out[y, x] = h
    return out


@njit(inline="always", **_KW)
def bucket(h: int) -> int:
    return ((h * _BUCKET_MUL) & 0xFFFFFFFF) >> (32 - HASH_BITS)


@njit(**_KW)
def insert_windows(
    hashes: np.ndarray, head: np.ndarray, chain: np.ndarray, done: np.ndarray, y: int, upto: int
) -> None:
    """Chain the windows of window row ``y`` up to column ``upto`` (exclusive); ``done[y]``
    counts those chained already."""
    hw = hashes.shape[1]
    for x in range(done[y], min(upto, hw)):
        b = bucket(np.int64(hashes[y, x]))
        pos = y * hw + x
        chain[pos] = head[b]
        head[b] = pos
    if upto > done[y]:
        done[y] = min(upto, hw)


@njit(**_KW)
def chain_windows(hashes: np.ndarray, head: np.ndarray, chain: np.ndarray) -> None:
    """Chain all windows of a map (``head`` all -1, ``chain`` one entry per window)."""
    done = np.zeros(hashes.shape[0], np.int64)
    for y in range(hashes.shape[0]):
        insert_windows(hashes, head, chain, done, y, hashes.shape[1])


@njit(inline="always", **_KW)
def _mismatches(
    labels: np.ndarray,
    prev: np.ndarray,
    x0: int,
    y0: int,
    bw: int,
    bh: int,
    dx: int,
    dy: int,
    limit: int,
) -> int:
    """How many labels of a block differ from ``prev`` at (dx, dy), clamped; stops above
    ``limit``."""
    height, width = labels.shape
    n = 0
    for y in range(y0, y0 + bh):
        sy = min(max(y + dy, 0), height - 1)
        for x in range(x0, x0 + bw):
            sx = min(max(x + dx, 0), width - 1)
            if labels[y, x] != prev[sy, sx]:
                n += 1
        if n > limit:
            return n
    return n


MISS_COST = 4 * 256  # the motion search's guess of a missed reference label, 1/256 bits


@njit(inline="always", **_KW)
def _vector_score(
    labels: np.ndarray,
    prev: np.ndarray,
    probs: np.ndarray,
    costs: np.ndarray,
    x0: int,
    y0: int,
    bw: int,
    bh: int,
    vx: int,
    vy: int,
    pred: tuple[int, int, int],
    best: int,
) -> int:
    """The search's score of vector (vx, vy) for a CODED block, mismatched labels x MISS_COST +
    the vector's rate, or -1 when it cannot beat ``best`` (none when negative)."""
    px, py, pctx = pred
    r = vector_cost(probs, costs, CODED, vx, vy, px, py, pctx)
    limit = (best - r) // MISS_COST if best >= 0 else bw * bh
    if limit < 0:
        return -1
    c = _mismatches(labels, prev, x0, y0, bw, bh, vx, vy, limit) * MISS_COST + r
    return c if best < 0 or c < best else -1


@njit(**_KW)
def coded_vector(
    labels: np.ndarray,
    prev: np.ndarray,
    probs: np.ndarray,
    costs: np.ndarray,
    modes: np.ndarray,
    vectors: np.ndarray,
    vec: np.ndarray,
    bx: int,
    by: int,
    x0: int,
    y0: int,
    bw: int,
    bh: int,
    hx: int,
    hy: int,
    pred: tuple[int, int, int],
    cand: np.ndarray,
) -> tuple[int, int]:
    """The reference vector of a CODED block: the fewest mismatched labels (plus the vector's
    rate) among the predicted (``pred``: its vector and context), zero, carried, neighbours' and
    ``(hx, hy)`` vectors, refined by one-pixel steps. ``cand`` is scratch room, (6, 2) int64."""
    nbx = modes.shape[1]
    cand[0, 0], cand[0, 1] = pred[0], pred[1]
    cand[1, 0], cand[1, 1] = 0, 0
    cand[2, 0], cand[2, 1] = vec[bc.VEC_INTER_X], vec[bc.VEC_INTER_Y]
    cand[3, 0], cand[3, 1] = hx, hy
    n = 4
    top_right = modes[by - 1, bx + 1] if by > 0 and bx + 1 < nbx else bc.NO_BLOCK
    if top_right in (INTER, CODED):
        cand[n, 0], cand[n, 1] = vectors[by - 1, bx + 1, 0], vectors[by - 1, bx + 1, 1]
        n += 1
    if by > 0 and (modes[by - 1, bx] == INTER or modes[by - 1, bx] == CODED):
        cand[n, 0], cand[n, 1] = vectors[by - 1, bx, 0], vectors[by - 1, bx, 1]
        n += 1
    best, bestx, besty = -1, 0, 0
    for i in range(n):
        vx, vy = cand[i, 0], cand[i, 1]
        c = _vector_score(labels, prev, probs, costs, x0, y0, bw, bh, vx, vy, pred, best)
        if c >= 0:
            best, bestx, besty = c, vx, vy
    for _ in range(16):  # one-pixel steps while they help
        moved = False
        cx, cy = bestx, besty
        for step in range(4):
            vx = cx + (1 if step == 0 else -1 if step == 1 else 0)
            vy = cy + (1 if step == 2 else -1 if step == 3 else 0)
            c = _vector_score(labels, prev, probs, costs, x0, y0, bw, bh, vx, vy, pred, best)
            if c >= 0:
                best, bestx, besty = c, vx, vy
                moved = True
        if not moved:
            break
    return bestx, besty


@njit(inline="always", **_KW)
def vector_cost(
    probs: np.ndarray, costs: np.ndarray, mode: int, dx: int, dy: int, px: int, py: int, pctx: int
) -> int:
    """The rate of vector (dx, dy) of a block in ``mode``, predicted (px, py) in vector
    context ``pctx``, in 1/256 bits."""
    base_pred, base_dx, base_dy = bc.vector_contexts(mode)
    if dx == px and dy == py:
        return bit_cost(probs, base_pred + pctx, 1, costs)
    return (
        bit_cost(probs, base_pred + pctx, 0, costs)
        + signed_cost(probs, base_dx, dx - px, costs)
        + signed_cost(probs, base_dy, dy - py, costs)
    )
