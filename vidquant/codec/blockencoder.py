"""The encoder's kernels for label coder 2: block hashes, the copy search and the frame coder.

Copies are found by hashing: every 8x8 window of a label map has a 32-bit hash, windows are
chained by hash bucket, and a block looks up the windows of the previous frame (INTER) and of
the decoded part of this frame (IBC) with its own hash. The predicted and the carried vectors are
always tried too. Each block then takes the mode that costs the fewest bits now, as estimated
from the current contexts: an exact copy, or CODED (lossless: the decoded map is the input).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vidquant.codec import blockcoder as bc
from vidquant.codec import rangecoder as rc
from vidquant.codec.blockcoder import BLOCK, CODED, IBC, INTER, SKIP
from vidquant.codec.rangecoder import bit_cost, encode_bit, encode_signed, signed_cost

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
def _bucket(h: int) -> int:
    return ((h * _BUCKET_MUL) & 0xFFFFFFFF) >> (32 - HASH_BITS)


@njit(**_KW)
def _insert_windows(
    hashes: np.ndarray, head: np.ndarray, chain: np.ndarray, done: np.ndarray, y: int, upto: int
) -> None:
    """Chain the windows of window row ``y`` up to column ``upto`` (exclusive); ``done[y]``
    counts those chained already."""
    hw = hashes.shape[1]
    for x in range(done[y], min(upto, hw)):
        b = _bucket(np.int64(hashes[y, x]))
        pos = y * hw + x
        chain[pos] = head[b]
        head[b] = pos
    if upto > done[y]:
        done[y] = min(upto, hw)


@njit(inline="always", **_KW)
def _same_inter(
    labels: np.ndarray, prev: np.ndarray, x0: int, y0: int, bw: int, bh: int, dx: int, dy: int
) -> bool:
    height, width = labels.shape
    for y in range(y0, y0 + bh):
        sy = min(max(y + dy, 0), height - 1)
        for x in range(x0, x0 + bw):
            sx = min(max(x + dx, 0), width - 1)
            if labels[y, x] != prev[sy, sx]:
                return False
    return True


@njit(inline="always", **_KW)
def _same_ibc(
    labels: np.ndarray, cur: np.ndarray, x0: int, y0: int, bw: int, bh: int, dx: int, dy: int
) -> bool:
    for y in range(y0, y0 + bh):
        for x in range(x0, x0 + bw):
            if labels[y, x] != cur[y + dy, x + dx]:
                return False
    return True


@njit(inline="always", **_KW)
def _vector_cost(
    probs: np.ndarray, costs: np.ndarray, mode: int, dx: int, dy: int, px: int, py: int, pctx: int
) -> int:
    base_pred = bc.CTX_INTER_PRED if mode == INTER else bc.CTX_IBC_PRED
    if dx == px and dy == py:
        return bit_cost(probs, base_pred + pctx, 1, costs)
    base_dx = bc.CTX_INTER_DX if mode == INTER else bc.CTX_IBC_DX
    base_dy = bc.CTX_INTER_DY if mode == INTER else bc.CTX_IBC_DY
    return (
        bit_cost(probs, base_pred + pctx, 0, costs)
        + signed_cost(probs, base_dx, dx - px, costs)
        + signed_cost(probs, base_dy, dy - py, costs)
    )


@njit(**_KW)
def _coded_cost(
    labels: np.ndarray,
    prev: np.ndarray,
    has_ref: bool,
    nbits: int,
    probs: np.ndarray,
    costs: np.ndarray,
    cur: np.ndarray,
    x0: int,
    y0: int,
    bw: int,
    bh: int,
    cands: np.ndarray,
) -> int:
    """The cost of the block CODED with the contexts as they are (``cur`` receives its labels)."""
    total = 0
    for y in range(y0, y0 + bh):
        for x in range(x0, x0 + bw):
            cur[y, x] = labels[y, x]
    for y in range(y0, y0 + bh):
        for x in range(x0, x0 + bw):
            count, pattern = bc.pixel_context(cur, prev, has_ref, x, y, cands)
            label = labels[y, x]
            hit = False
            for i in range(count):
                ctx = bc.CTX_PIXEL + i * bc.PATTERNS + pattern
                if cands[i] == label:
                    total += bit_cost(probs, ctx, 1, costs)
                    hit = True
                    break
                total += bit_cost(probs, ctx, 0, costs)
            if not hit:
                node = 1
                for j in range(nbits - 1, -1, -1):
                    b = (label >> j) & 1
                    total += bit_cost(probs, bc.CTX_LITERAL + node, b, costs)
                    node = (node << 1) | b
    return total


@njit(**_KW)
def _encode_coded(
    st: np.ndarray,
    out: np.ndarray,
    labels: np.ndarray,
    prev: np.ndarray,
    has_ref: bool,
    nbits: int,
    probs: np.ndarray,
    cur: np.ndarray,
    x0: int,
    y0: int,
    bw: int,
    bh: int,
    cands: np.ndarray,
) -> None:
    for y in range(y0, y0 + bh):
        for x in range(x0, x0 + bw):
            count, pattern = bc.pixel_context(cur, prev, has_ref, x, y, cands)
            label = labels[y, x]
            cur[y, x] = label
            hit = False
            for i in range(count):
                ctx = bc.CTX_PIXEL + i * bc.PATTERNS + pattern
                if cands[i] == label:
                    encode_bit(st, out, probs, ctx, 1)
                    hit = True
                    break
                encode_bit(st, out, probs, ctx, 0)
            if not hit:
                node = 1
                for j in range(nbits - 1, -1, -1):
                    b = (label >> j) & 1
                    encode_bit(st, out, probs, bc.CTX_LITERAL + node, b)
                    node = (node << 1) | b


@njit(**_KW)
def encode_frame(
    labels: np.ndarray,
    prev: np.ndarray,
    has_ref: bool,
    k: int,
    probs: np.ndarray,
    vec: np.ndarray,
    costs: np.ndarray,
    hashes: np.ndarray,
    head: np.ndarray,
    chain: np.ndarray,
    prev_hashes: np.ndarray,
    prev_head: np.ndarray,
    prev_chain: np.ndarray,
    out: np.ndarray,
) -> int:
    """Code one label map (lossless); the payload's length in ``out``, or -1 when it does not
    fit. ``probs`` and ``vec`` are the carried state, updated in place. ``hashes`` are this
    frame's windows (:func:`window_hashes`); ``head`` (all -1) and ``chain`` (one entry per
    window) receive their chains, first those an intra copy may read, then the rest for the next
    frame. ``prev_*`` are the previous frame's (unused without a reference)."""
    height, width = labels.shape
    nbx = (width + BLOCK - 1) // BLOCK
    nby = (height + BLOCK - 1) // BLOCK
    modes = np.empty((nby, nbx), np.int64)
    vectors = np.zeros((nby, nbx, 2), np.int64)
    cands = np.empty(bc.MAX_CANDIDATES, np.int64)
    cur = np.zeros_like(labels)
    nbits = 1
    while (1 << nbits) < k:
        nbits += 1
    hh, hw = hashes.shape
    done = np.zeros(max(hh, 0), np.int64)
    st = rc.new_encoder_state()
    for by in range(nby):
        y0 = by * BLOCK
        bh = min(BLOCK, height - y0)
        for bx in range(nbx):
            x0 = bx * BLOCK
            bw = min(BLOCK, width - x0)
            mctx = bc.mode_context(modes, bx, by)
            full = bw == BLOCK and bh == BLOCK
            # the windows an intra copy of this block may read (bc.ibc_valid) join the chains
            for sy in range(max(0, y0 - 2 * BLOCK + 1), min(y0 + 1, hh)):
                _insert_windows(
                    hashes, head, chain, done, sy, hw if sy <= y0 - BLOCK else x0 - BLOCK + 1
                )
            if has_ref and _same_inter(labels, prev, x0, y0, bw, bh, 0, 0):
                mode, dx, dy = SKIP, 0, 0
            else:
                if has_ref:
                    not_skip = bit_cost(probs, bc.CTX_SKIP + mctx, 0, costs)
                    coded_bits = not_skip + bit_cost(probs, bc.CTX_CODED_P + mctx, 1, costs)
                    copy_bits = not_skip + bit_cost(probs, bc.CTX_CODED_P + mctx, 0, costs)
                    inter_bits = copy_bits + bit_cost(probs, bc.CTX_INTER + mctx, 1, costs)
                    ibc_bits = copy_bits + bit_cost(probs, bc.CTX_INTER + mctx, 0, costs)
                else:
                    coded_bits = bit_cost(probs, bc.CTX_CODED_K + mctx, 1, costs)
                    ibc_bits = bit_cost(probs, bc.CTX_CODED_K + mctx, 0, costs)
                    inter_bits = 0
                best = -1
                mode, dx, dy = CODED, 0, 0
                if has_ref:
                    px, py, pctx = bc.predicted_vector(modes, vectors, vec, bx, by, INTER)
                    if _same_inter(labels, prev, x0, y0, bw, bh, px, py):
                        best = inter_bits + _vector_cost(probs, costs, INTER, px, py, px, py, pctx)
                        mode, dx, dy = INTER, px, py
                    else:
                        cx, cy = vec[bc.VEC_INTER_X], vec[bc.VEC_INTER_Y]
                        if _same_inter(labels, prev, x0, y0, bw, bh, cx, cy):
                            c = inter_bits + _vector_cost(probs, costs, INTER, cx, cy, px, py, pctx)
                            best, mode, dx, dy = c, INTER, cx, cy
                        if full and prev_hashes.shape[0] > 0:
                            h = np.int64(hashes[y0, x0])
                            pos = prev_head[_bucket(h)]
                            steps = 0
                            while pos >= 0 and steps < CHAIN_STEPS:
                                steps += 1
                                sy, sx = pos // hw, pos % hw
                                pos = prev_chain[pos]
                                if np.int64(prev_hashes[sy, sx]) != h:
                                    continue
                                vx, vy = sx - x0, sy - y0
                                c = inter_bits + _vector_cost(
                                    probs, costs, INTER, vx, vy, px, py, pctx
                                )
                                if (best < 0 or c < best) and _same_inter(
                                    labels, prev, x0, y0, bw, bh, vx, vy
                                ):
                                    best, mode, dx, dy = c, INTER, vx, vy
                # intra copies
                qx, qy, qctx = bc.predicted_vector(modes, vectors, vec, bx, by, IBC)
                for trial in range(2):
                    vx, vy = (qx, qy) if trial == 0 else (vec[bc.VEC_IBC_X], vec[bc.VEC_IBC_Y])
                    if trial == 1 and vx == qx and vy == qy:
                        break
                    if bc.ibc_valid(x0, y0, bw, bh, vx, vy, width, height) and _same_ibc(
                        labels, cur, x0, y0, bw, bh, vx, vy
                    ):
                        c = ibc_bits + _vector_cost(probs, costs, IBC, vx, vy, qx, qy, qctx)
                        if best < 0 or c < best:
                            best, mode, dx, dy = c, IBC, vx, vy
                if full and hashes.shape[0] > 0 and (best < 0 or best > 24 * 256):
                    h = np.int64(hashes[y0, x0])
                    pos = head[_bucket(h)]
                    steps = 0
                    while pos >= 0 and steps < CHAIN_STEPS:
                        sy, sx = pos // hw, pos % hw
                        pos = chain[pos]
                        vx, vy = sx - x0, sy - y0
                        steps += 1
                        if np.int64(hashes[sy, sx]) != h:
                            continue
                        c = ibc_bits + _vector_cost(probs, costs, IBC, vx, vy, qx, qy, qctx)
                        if (best < 0 or c < best) and _same_ibc(
                            labels, cur, x0, y0, bw, bh, vx, vy
                        ):
                            best, mode, dx, dy = c, IBC, vx, vy
                if best >= 0 and best > coded_bits:  # without a copy, CODED it is
                    c = coded_bits + _coded_cost(
                        labels, prev, has_ref, nbits, probs, costs, cur, x0, y0, bw, bh, cands
                    )
                    if best < 0 or c < best:
                        mode, dx, dy = CODED, 0, 0
            # code the decision
            modes[by, bx] = mode
            if has_ref:
                encode_bit(st, out, probs, bc.CTX_SKIP + mctx, 1 if mode == SKIP else 0)
                if mode != SKIP:
                    encode_bit(st, out, probs, bc.CTX_CODED_P + mctx, 1 if mode == CODED else 0)
                    if mode != CODED:
                        encode_bit(st, out, probs, bc.CTX_INTER + mctx, 1 if mode == INTER else 0)
            else:
                encode_bit(st, out, probs, bc.CTX_CODED_K + mctx, 1 if mode == CODED else 0)
            if mode == SKIP:
                bc.copy_inter(cur, prev, x0, y0, bw, bh, 0, 0)
            elif mode in (INTER, IBC):
                px, py, pctx = bc.predicted_vector(modes, vectors, vec, bx, by, mode)
                base_pred = bc.CTX_INTER_PRED if mode == INTER else bc.CTX_IBC_PRED
                if dx == px and dy == py:
                    encode_bit(st, out, probs, base_pred + pctx, 1)
                else:
                    encode_bit(st, out, probs, base_pred + pctx, 0)
                    base_dx = bc.CTX_INTER_DX if mode == INTER else bc.CTX_IBC_DX
                    base_dy = bc.CTX_INTER_DY if mode == INTER else bc.CTX_IBC_DY
                    encode_signed(st, out, probs, base_dx, dx - px)
                    encode_signed(st, out, probs, base_dy, dy - py)
                vectors[by, bx, 0] = dx
                vectors[by, bx, 1] = dy
                if mode == INTER:
                    vec[bc.VEC_INTER_X], vec[bc.VEC_INTER_Y] = dx, dy
                    bc.copy_inter(cur, prev, x0, y0, bw, bh, dx, dy)
                else:
                    vec[bc.VEC_IBC_X], vec[bc.VEC_IBC_Y] = dx, dy
                    bc.copy_ibc(cur, x0, y0, bw, bh, dx, dy)
            else:
                _encode_coded(
                    st, out, labels, prev, has_ref, nbits, probs, cur, x0, y0, bw, bh, cands
                )
    for sy in range(hh):  # the whole map, for the next frame's INTER search
        _insert_windows(hashes, head, chain, done, sy, hw)
    n = rc.encode_flush(st, out)
    if st[rc.ENC_OVERFLOW]:
        return -1
    return n
