"""The encoder's frame coder for label coders 3 and 2: each block's mode, and its coding.

Copies are found by hashing (:mod:`vidquant.codec.blocksearch`): a block looks up the windows of
the previous frame (INTER) and of the decoded part of this frame (IBC) with its own hash. The
predicted and the carried vectors are always tried too. A CODED block of label coder 3 is tried
at the reference vector the motion search finds, at its predicted vector and at zero.

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
from vidquant.codec import blocksearch as bs
from vidquant.codec import rangecoder as rc
from vidquant.codec.blockcoder import BLOCK, CODED, IBC, INTER, SKIP
from vidquant.codec.rangecoder import bit_cost, encode_bit, encode_signed

_KW = {"cache": True, "nogil": True}


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
    ref: np.ndarray,
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
    plan: np.ndarray,
) -> int:
    """Choose the labels of a CODED block into ``cur`` and return their cost, distortion
    (1/256 units) + ``lam`` x rate (1/256 bit) with the contexts as they are. Lossless
    (``lam`` 0) the labels are ``labels``' and the cost is the rate; lossy each pixel takes the
    candidate or the literal (``labels``' own) of least cost, greedily in scan order.

    ``plan`` ((BLOCK, BLOCK, 3) int64) receives, per pixel, how :func:`_encode_coded` codes
    it: the context pattern, the chosen candidate's place (the candidate count for a
    literal) and whether it is a literal, so that coding the block need not find its
    contexts again."""
    lossy = lam > 0
    weight = lam if lossy else 1
    total = 0
    for y in range(y0, y0 + bh):
        for x in range(x0, x0 + bw):
            count, pattern = bc.pixel_context(cur, ref, has_ref, x, y, x0 - 1, y0 - 1, cands)
            target = np.int64(labels[y, x])
            misses = 0  # rate of the candidates passed over so far
            best, choice, place = -1, -1, count
            hit = False
            for i in range(count):
                ctx = bc.CTX_PIXEL + i * bc.PATTERNS + pattern
                c = cands[i]
                if c == target or lossy:
                    j = weight * (misses + bit_cost(probs, ctx, 1, costs))
                    if lossy:
                        j += 256 * _pixel_error(rgb, pal, y, x, c)
                    if best < 0 or j < best:
                        best, choice, place = j, c, i
                    if c == target:
                        hit = True
                        break
                misses += bit_cost(probs, ctx, 0, costs)
            if not hit:  # the target is no candidate: its literal
                j = weight * (misses + _literal_cost(probs, costs, target, nbits))
                if lossy:
                    j += 256 * _pixel_error(rgb, pal, y, x, target)
                if best < 0 or j < best:
                    best, choice, place = j, target, count
            cur[y, x] = choice
            plan[y - y0, x - x0, 0] = pattern
            plan[y - y0, x - x0, 1] = place
            plan[y - y0, x - x0, 2] = place == count  # a literal
            total += best
    return total


@njit(**_KW)
def _encode_coded(
    st: np.ndarray,
    out: np.ndarray,
    nbits: int,
    probs: np.ndarray,
    cur: np.ndarray,
    x0: int,
    y0: int,
    bw: int,
    bh: int,
    plan: np.ndarray,
) -> None:
    """Code the labels of a CODED block that :func:`_choose_coded` put in ``cur``, as its
    ``plan`` says: the candidates passed over, then the hit or the literal."""
    for y in range(y0, y0 + bh):
        for x in range(x0, x0 + bw):
            pattern = plan[y - y0, x - x0, 0]
            place = plan[y - y0, x - x0, 1]
            for i in range(place):
                encode_bit(st, out, probs, bc.CTX_PIXEL + i * bc.PATTERNS + pattern, 0)
            if plan[y - y0, x - x0, 2] == 0:
                encode_bit(st, out, probs, bc.CTX_PIXEL + place * bc.PATTERNS + pattern, 1)
            else:
                label = cur[y, x]
                node = 1
                for j in range(nbits - 1, -1, -1):
                    b = (label >> j) & 1
                    encode_bit(st, out, probs, bc.CTX_LITERAL + node, b)
                    node = (node << 1) | b


@njit(inline="always", **_KW)
def _encode_vector(
    st: np.ndarray,
    out: np.ndarray,
    probs: np.ndarray,
    modes: np.ndarray,
    vectors: np.ndarray,
    vec: np.ndarray,
    bx: int,
    by: int,
    mode: int,
    dx: int,
    dy: int,
) -> None:
    """Code the vector of block (bx, by) in ``mode`` (:func:`bc.decode_vector`'s inverse)
    and keep it in ``vectors``."""
    px, py, pctx = bc.predicted_vector(modes, vectors, vec, bx, by, mode)
    base_pred, base_dx, base_dy = bc.vector_contexts(mode)
    if dx == px and dy == py:
        encode_bit(st, out, probs, base_pred + pctx, 1)
    else:
        encode_bit(st, out, probs, base_pred + pctx, 0)
        encode_signed(st, out, probs, base_dx, dx - px)
        encode_signed(st, out, probs, base_dy, dy - py)
    vectors[by, bx, 0] = dx
    vectors[by, bx, 1] = dy


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
    mc: bool,
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
    ``prev_*`` are those of ``prev``, the previous map shown (unused without a reference).
    ``mc``: label coder 3, whose CODED blocks of predicted maps have a vector (else 2)."""
    height, width = labels.shape
    nbx = (width + BLOCK - 1) // BLOCK
    nby = (height + BLOCK - 1) // BLOCK
    modes = np.empty((nby, nbx), np.int64)
    vectors = np.zeros((nby, nbx, 2), np.int64)
    cands = np.empty(bc.MAX_CANDIDATES, np.int64)
    ref = np.zeros((BLOCK + 1, BLOCK + 1), np.uint8)
    vtry = np.zeros((3, 2), np.int64)  # a CODED block's vectors to try
    search = np.zeros((6, 2), np.int64)  # the motion search's candidates
    plan = np.empty((BLOCK, BLOCK, 3), np.int64)  # how a CODED block's pixels are coded
    kept_plan = np.empty((BLOCK, BLOCK, 3), np.int64)  # the best trial's, while others run
    kept = np.empty((BLOCK, BLOCK), np.uint8)
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
                bs.insert_windows(
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
                        r = inter_bits + bs.vector_cost(probs, costs, INTER, vx, vy, px, py, pctx)
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
                        pos = prev_head[bs.bucket(h)]
                        steps = 0
                        while pos >= 0 and steps < bs.CHAIN_STEPS:
                            steps += 1
                            sy, sx = pos // hw, pos % hw
                            pos = prev_chain[pos]
                            if np.int64(prev_hashes[sy, sx]) != h:
                                continue
                            vx, vy = sx - x0, sy - y0
                            r = inter_bits + bs.vector_cost(
                                probs, costs, INTER, vx, vy, px, py, pctx
                            )
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
                    r = ibc_bits + bs.vector_cost(probs, costs, IBC, vx, vy, qx, qy, qctx)
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
                    pos = head[bs.bucket(h)]
                    steps = 0
                    while pos >= 0 and steps < bs.CHAIN_STEPS:
                        sy, sx = pos // hw, pos % hw
                        pos = chain[pos]
                        vx, vy = sx - x0, sy - y0
                        steps += 1
                        if np.int64(hashes[sy, sx]) != h:
                            continue
                        r = ibc_bits + bs.vector_cost(probs, costs, IBC, vx, vy, qx, qy, qctx)
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
                    cx = cy = 0
                    tries = 1
                    if has_ref and mc:  # the vector searched, the predicted one and zero
                        px, py, pctx = bc.predicted_vector(modes, vectors, vec, bx, by, CODED)
                        hx, hy = (dx, dy) if mode == INTER else (0, 0)
                        cx, cy = bs.coded_vector(
                            labels, prev, probs, costs, modes, vectors, vec, bx, by,
                            x0, y0, bw, bh, hx, hy, (px, py, pctx), search,
                        )  # fmt: skip
                        vtry[0, 0], vtry[0, 1] = cx, cy
                        if cx != px or cy != py:
                            vtry[tries, 0], vtry[tries, 1] = px, py
                            tries += 1
                        if (cx != 0 or cy != 0) and (px != 0 or py != 0):
                            vtry[tries, 0], vtry[tries, 1] = 0, 0
                            tries += 1
                    else:
                        vtry[0, 0], vtry[0, 1] = 0, 0
                    won = -1  # the trial that the block's mode and vector now come from
                    for t in range(tries):
                        vx, vy = vtry[t, 0], vtry[t, 1]
                        vbits = coded_bits
                        if has_ref:
                            if mc:
                                vbits += bs.vector_cost(probs, costs, CODED, vx, vy, px, py, pctx)
                            bc.fill_ref(ref, prev, x0, y0, bw, bh, vx, vy)
                        c = weight * vbits + _choose_coded(
                            labels, ref, has_ref, rgb, pal, lam, nbits, probs, costs, cur,
                            x0, y0, bw, bh, cands, plan,
                        )  # fmt: skip
                        if best < 0 or c < best:
                            best, mode, dx, dy, won = c, CODED, vx, vy, t
                            if t < tries - 1:  # a later trial overwrites it: keep it aside
                                kept_plan[:bh, :bw] = plan[:bh, :bw]
                                kept[:bh, :bw] = cur[y0 : y0 + bh, x0 : x0 + bw]
                    if won >= 0 and won < tries - 1:  # cur holds the last trial's labels
                        cur[y0 : y0 + bh, x0 : x0 + bw] = kept[:bh, :bw]
                        plan[:bh, :bw] = kept_plan[:bh, :bw]
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
                _encode_vector(st, out, probs, modes, vectors, vec, bx, by, mode, dx, dy)
                if mode == INTER:
                    vec[bc.VEC_INTER_X], vec[bc.VEC_INTER_Y] = dx, dy
                    bc.copy_inter(cur, prev, x0, y0, bw, bh, dx, dy)
                else:
                    vec[bc.VEC_IBC_X], vec[bc.VEC_IBC_Y] = dx, dy
                    bc.copy_ibc(cur, x0, y0, bw, bh, dx, dy)
            else:
                if has_ref and mc:
                    _encode_vector(st, out, probs, modes, vectors, vec, bx, by, CODED, dx, dy)
                    vec[bc.VEC_INTER_X], vec[bc.VEC_INTER_Y] = dx, dy
                _encode_coded(st, out, nbits, probs, cur, x0, y0, bw, bh, plan)
    for sy in range(hh):  # the whole map, for the next frame's INTER search
        bs.insert_windows(hashes, head, chain, done, sy, hw)
    n = rc.encode_flush(st, out)
    if st[rc.ENC_OVERFLOW]:
        return -1
    return n
