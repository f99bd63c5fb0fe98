"""The encoder's kernels for label coder 2: block hashes, the copy search and the frame coder.

Copies are found by hashing: every 8x8 window of a label map has a 32-bit hash, windows are
chained by hash bucket, and a block looks up the windows of the previous frame (INTER) and of
the decoded part of this frame (IBC) with its own hash. The predicted and the carried vectors are
always tried too.

Each block then takes the mode of least cost, with rates estimated from the current contexts.
Lossless (lambda 0) the cost is the rate alone and a copy must be exact. With rate-distortion
decisions (lambda > 0) the cost is distortion + lambda x rate, the distortion being the squared
RGB error of what the decoder will show against the frame itself (the space the palette is fit
in): a copy that is close enough wins over coding the quantiser's exact answer, and inside a
CODED block each pixel may take a neighbour's or the previous frame's label instead of its own.
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


@njit(**_KW)
def chain_windows(hashes: np.ndarray, head: np.ndarray, chain: np.ndarray) -> None:
    """Chain all windows of a map (``head`` all -1, ``chain`` one entry per window)."""
    done = np.zeros(hashes.shape[0], np.int64)
    for y in range(hashes.shape[0]):
        _insert_windows(hashes, head, chain, done, y, hashes.shape[1])


@njit(inline="always", **_KW)
def _pixel_error(rgb: np.ndarray, pal: np.ndarray, y: int, x: int, label: int) -> int:
    """Squared RGB error of showing palette entry ``label`` at pixel (x, y)."""
    dr = np.int64(rgb[y, x, 0]) - pal[label, 0]
    dg = np.int64(rgb[y, x, 1]) - pal[label, 1]
    db = np.int64(rgb[y, x, 2]) - pal[label, 2]
    return dr * dr + dg * dg + db * db


@njit(**_KW)
def keep_labels(
    labels: np.ndarray, prev: np.ndarray, rgb: np.ndarray, pal: np.ndarray, stickiness: float
) -> np.ndarray:
    """``labels`` where each pixel keeps its label in ``prev`` (the map shown before) while that
    entry is at most ``stickiness`` farther (Euclidean, 8-bit RGB) from the pixel than its own
    label's: temporal stickiness against what the decoder shows, so still areas stay still."""
    out = labels.copy()
    height, width = labels.shape
    for y in range(height):
        for x in range(width):
            old = prev[y, x]
            new = labels[y, x]
            if old != new:
                d_old = np.sqrt(np.float64(_pixel_error(rgb, pal, y, x, old)))
                d_new = np.sqrt(np.float64(_pixel_error(rgb, pal, y, x, new)))
                if d_old <= d_new + stickiness:
                    out[y, x] = old
    return out


@njit(inline="always", **_KW)
def _copy_error(
    labels: np.ndarray,
    src: np.ndarray,
    rgb: np.ndarray,
    pal: np.ndarray,
    lossy: bool,
    x0: int,
    y0: int,
    bw: int,
    bh: int,
    dx: int,
    dy: int,
    limit: int,
) -> int:
    """The distortion of filling a block from ``src`` at (dx, dy), coordinates clamped (INTER;
    an IBC vector stays inside by :func:`bc.ibc_valid`), in 1/256 units of squared RGB error,
    or -1 when the copy is not wanted: lossless, any label that differs from ``labels``; lossy,
    a distortion above ``limit`` (none when negative)."""
    height, width = labels.shape
    total = 0
    for y in range(y0, y0 + bh):
        sy = min(max(y + dy, 0), height - 1)
        for x in range(x0, x0 + bw):
            sx = min(max(x + dx, 0), width - 1)
            label = src[sy, sx]
            if lossy:
                total += _pixel_error(rgb, pal, y, x, label)
            elif labels[y, x] != label:
                return -1
        if lossy and limit >= 0 and total * 256 > limit:
            return -1
    return total * 256


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


@njit(inline="always", **_KW)
def _literal_cost(probs: np.ndarray, costs: np.ndarray, label: int, nbits: int) -> int:
    total = 0
    node = 1
    for j in range(nbits - 1, -1, -1):
        b = (label >> j) & 1
        total += bit_cost(probs, bc.CTX_LITERAL + node, b, costs)
        node = (node << 1) | b
    return total


@njit(**_KW)
def _choose_coded(
    labels: np.ndarray,
    prev: np.ndarray,
    has_ref: bool,
    rgb: np.ndarray,
    pal: np.ndarray,
    lam: int,
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
    """Choose the labels of a CODED block into ``cur`` and return their cost, distortion
    (1/256 units) + ``lam`` x rate (1/256 bit) with the contexts as they are. Lossless
    (``lam`` 0) the labels are ``labels``' and the cost is the rate; lossy each pixel takes the
    candidate or the literal (``labels``' own) of least cost, greedily in scan order."""
    lossy = lam > 0
    weight = lam if lossy else 1
    total = 0
    for y in range(y0, y0 + bh):
        for x in range(x0, x0 + bw):
            count, pattern = bc.pixel_context(cur, prev, has_ref, x, y, cands)
            target = np.int64(labels[y, x])
            misses = 0  # rate of the candidates passed over so far
            best, choice = -1, -1
            hit = False
            for i in range(count):
                ctx = bc.CTX_PIXEL + i * bc.PATTERNS + pattern
                c = cands[i]
                if c == target or lossy:
                    j = weight * (misses + bit_cost(probs, ctx, 1, costs))
                    if lossy:
                        j += 256 * _pixel_error(rgb, pal, y, x, c)
                    if best < 0 or j < best:
                        best, choice = j, c
                    if c == target:
                        hit = True
                        break
                misses += bit_cost(probs, ctx, 0, costs)
            if not hit:  # the target is no candidate: its literal
                j = weight * (misses + _literal_cost(probs, costs, target, nbits))
                if lossy:
                    j += 256 * _pixel_error(rgb, pal, y, x, target)
                if best < 0 or j < best:
                    best, choice = j, target
            cur[y, x] = choice
            total += best
    return total


@njit(**_KW)
def _encode_coded(
    st: np.ndarray,
    out: np.ndarray,
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
    """Code the labels of a CODED block that :func:`_choose_coded` put in ``cur``."""
    for y in range(y0, y0 + bh):
        for x in range(x0, x0 + bw):
            count, pattern = bc.pixel_context(cur, prev, has_ref, x, y, cands)
            label = cur[y, x]
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
    rgb: np.ndarray,
    pal: np.ndarray,
    lam: int,
    probs: np.ndarray,
    vec: np.ndarray,
    costs: np.ndarray,
    hashes: np.ndarray,
    head: np.ndarray,
    chain: np.ndarray,
    prev_hashes: np.ndarray,
    prev_head: np.ndarray,
    prev_chain: np.ndarray,
    cur: np.ndarray,
    out: np.ndarray,
) -> int:
    """Code one label map; the payload's length in ``out``, or -1 when it does not fit. ``cur``
    receives the map the decoder will show.

    ``lam`` 0 codes ``labels`` losslessly, and each block takes the mode of fewest bits. Above 0
    each block's mode, and each CODED pixel's label, minimise distortion + ``lam`` x rate:
    squared RGB error against ``rgb`` (the frame, height x width x 3) of ``pal`` (k x 3, int64)
    entries, plus ``lam`` per bit. ``labels`` are then the quantiser's answer, the literal a
    pixel falls back on and the hashes' source.

    ``probs`` and ``vec`` are the carried state, updated in place. ``hashes`` are this frame's
    windows of ``labels`` (:func:`window_hashes`); ``head`` (all -1) and ``chain`` (one entry
    per window) receive their chains, first those an intra copy may read, then the rest.
    ``prev_*`` are those of ``prev``, the previous map shown (unused without a reference)."""
    height, width = labels.shape
    nbx = (width + BLOCK - 1) // BLOCK
    nby = (height + BLOCK - 1) // BLOCK
    modes = np.empty((nby, nbx), np.int64)
    vectors = np.zeros((nby, nbx, 2), np.int64)
    cands = np.empty(bc.MAX_CANDIDATES, np.int64)
    lossy = lam > 0
    weight = lam if lossy else 1  # costs below are distortion + weight x rate
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
            # the distortion of the quantiser's labels: what no mode can do much better than
            floor = 0
            if lossy:
                for y in range(y0, y0 + bh):
                    for x in range(x0, x0 + bw):
                        floor += _pixel_error(rgb, pal, y, x, labels[y, x])
                floor *= 256
            mode, dx, dy = CODED, 0, 0
            best = -1
            coded_done = False
            skip_bits = not_skip = 0
            if has_ref:
                skip_bits = bit_cost(probs, bc.CTX_SKIP + mctx, 1, costs)
                not_skip = bit_cost(probs, bc.CTX_SKIP + mctx, 0, costs)
                d = _copy_error(labels, prev, rgb, pal, lossy, x0, y0, bw, bh, 0, 0, -1)
                if d >= 0:
                    best, mode = d + weight * skip_bits, SKIP
                    if d <= floor or best <= floor + weight * not_skip:
                        best = 0  # nothing else can do better: taken below
            if mode != SKIP or best != 0:
                if has_ref:
                    coded_bits = not_skip + bit_cost(probs, bc.CTX_CODED_P + mctx, 1, costs)
                    copy_bits = not_skip + bit_cost(probs, bc.CTX_CODED_P + mctx, 0, costs)
                    inter_bits = copy_bits + bit_cost(probs, bc.CTX_INTER + mctx, 1, costs)
                    ibc_bits = copy_bits + bit_cost(probs, bc.CTX_INTER + mctx, 0, costs)
                else:
                    coded_bits = bit_cost(probs, bc.CTX_CODED_K + mctx, 1, costs)
                    ibc_bits = bit_cost(probs, bc.CTX_CODED_K + mctx, 0, costs)
                    inter_bits = 0
                settled = False  # a copy as good as the labels themselves was found
                if has_ref:
                    px, py, pctx = bc.predicted_vector(modes, vectors, vec, bx, by, INTER)
                    for trial in range(2):
                        if trial == 0:
                            vx, vy = px, py
                        else:
                            vx, vy = vec[bc.VEC_INTER_X], vec[bc.VEC_INTER_Y]
                            if vx == px and vy == py:
                                break
                        r = inter_bits + _vector_cost(probs, costs, INTER, vx, vy, px, py, pctx)
                        limit = best - weight * r if best >= 0 else -1
                        d = _copy_error(
                            labels, prev, rgb, pal, lossy, x0, y0, bw, bh, vx, vy, limit
                        )
                        if d >= 0 and (best < 0 or d + weight * r < best):
                            best, mode, dx, dy = d + weight * r, INTER, vx, vy
                            if trial == 0 and d <= floor:  # the predicted vector: no search
                                settled = True
                                break
                    if not settled and full and prev_hashes.shape[0] > 0:
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
                            r = inter_bits + _vector_cost(probs, costs, INTER, vx, vy, px, py, pctx)
                            if best >= 0 and floor + weight * r >= best:
                                continue
                            limit = best - weight * r if best >= 0 else -1
                            d = _copy_error(
                                labels, prev, rgb, pal, lossy, x0, y0, bw, bh, vx, vy, limit
                            )
                            if d >= 0 and (best < 0 or d + weight * r < best):
                                best, mode, dx, dy = d + weight * r, INTER, vx, vy
                # intra copies
                qx, qy, qctx = bc.predicted_vector(modes, vectors, vec, bx, by, IBC)
                for trial in range(2):
                    if trial == 0:
                        vx, vy = qx, qy
                    else:
                        vx, vy = vec[bc.VEC_IBC_X], vec[bc.VEC_IBC_Y]
                        if vx == qx and vy == qy:
                            break
                    if not bc.ibc_valid(x0, y0, bw, bh, vx, vy, width, height):
                        continue
                    r = ibc_bits + _vector_cost(probs, costs, IBC, vx, vy, qx, qy, qctx)
                    if best >= 0 and floor + weight * r >= best:
                        continue
                    limit = best - weight * r if best >= 0 else -1
                    d = _copy_error(
                        labels[y0:, x0:], cur[y0 + vy :, x0 + vx :], rgb[y0:, x0:], pal, lossy,
                        0, 0, bw, bh, 0, 0, limit,
                    )  # fmt: skip
                    if d >= 0 and (best < 0 or d + weight * r < best):
                        best, mode, dx, dy = d + weight * r, IBC, vx, vy
                if full and hashes.shape[0] > 0 and (best < 0 or best > floor + weight * 24 * 256):
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
                        r = ibc_bits + _vector_cost(probs, costs, IBC, vx, vy, qx, qy, qctx)
                        if best >= 0 and floor + weight * r >= best:
                            continue
                        limit = best - weight * r if best >= 0 else -1
                        d = _copy_error(
                            labels[y0:, x0:], cur[sy:, sx:], rgb[y0:, x0:], pal, lossy,
                            0, 0, bw, bh, 0, 0, limit,
                        )  # fmt: skip
                        if d >= 0 and (best < 0 or d + weight * r < best):
                            best, mode, dx, dy = d + weight * r, IBC, vx, vy
                if best < 0 or best > floor + weight * coded_bits:
                    c = weight * coded_bits + _choose_coded(
                        labels, prev, has_ref, rgb, pal, lam, nbits, probs, costs, cur,
                        x0, y0, bw, bh, cands,
                    )  # fmt: skip
                    if best < 0 or c < best:
                        mode, dx, dy = CODED, 0, 0
                        coded_done = True
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
                if not coded_done:
                    _choose_coded(
                        labels, prev, has_ref, rgb, pal, lam, nbits, probs, costs, cur,
                        x0, y0, bw, bh, cands,
                    )  # fmt: skip
                _encode_coded(st, out, prev, has_ref, nbits, probs, cur, x0, y0, bw, bh, cands)
    for sy in range(hh):  # the whole map, for the next frame's INTER search
        _insert_windows(hashes, head, chain, done, sy, hw)
    n = rc.encode_flush(st, out)
    if st[rc.ENC_OVERFLOW]:
        return -1
    return n
