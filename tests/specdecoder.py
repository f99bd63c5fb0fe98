"""Label coders 3 and 2 decoded in plain Python from FORMAT.md §6-7 alone: a second
implementation that checks the spec says enough (tests/test_format_spec.py compares it with the
compiled decoder).

Slow (pure Python, a few thousand pixels a second) and deliberately naive: lists, no numpy, each
rule written as the spec states it. It is not used by vidquant.
"""

from __future__ import annotations

CONTEXTS = 4021
CTX_SKIP, CTX_CODED_P, CTX_INTER, CTX_CODED_K = 0, 25, 50, 75
CTX_INTER_PRED, CTX_IBC_PRED = 100, 103
CTX_INTER_DX, CTX_INTER_DY, CTX_IBC_DX, CTX_IBC_DY = 106, 380, 654, 928
CTX_PIXEL, CTX_LITERAL, CTX_CODED_PRED = 1202, 3762, 4018
SKIP, INTER, IBC, CODED, NONE = 0, 1, 2, 3, 4


class SpecError(Exception):
    """The payload breaks a rule of §7.6."""


class State:
    """What a stream carries from map to map (§7.1)."""

    def __init__(self) -> None:
        self.fast = [32768] * CONTEXTS
        self.slow = [32768] * CONTEXTS
        self.inter = (0, 0)
        self.ibc = (0, -8)


class RangeDecoder:
    """§6.2, with the trace of every decision when asked."""

    def __init__(self, data: bytes, state: State, trace: list | None = None) -> None:
        self.data, self.state, self.trace = data, state, trace
        self.pos = 0
        self.range = 0xFFFFFFFF
        self.code = 0
        for _ in range(5):
            self.code = ((self.code << 8) | self.next()) & 0xFFFFFFFF

    def next(self) -> int:
        b = self.data[self.pos] if self.pos < len(self.data) else 0
        self.pos += 1
        return b

    def bit(self, c: int) -> int:
        st = self.state
        p = min(max((st.fast[c] + st.slow[c]) >> 5, 1), 4095)
        bound = (self.range >> 12) * p
        if self.code < bound:
            self.range, bit = bound, 1
        else:
            self.code -= bound
            self.range -= bound
            bit = 0
        if bit:
            st.fast[c] += (65536 - st.fast[c]) >> 4
            st.slow[c] += (65536 - st.slow[c]) >> 7
        else:
            st.fast[c] -= st.fast[c] >> 4
            st.slow[c] -= st.slow[c] >> 7
        while self.range < 1 << 24:
            self.range <<= 8
            self.code = ((self.code << 8) | self.next()) & 0xFFFFFFFF
        if self.trace is not None:
            self.trace.append((c, p, bit))
        return bit

    def unsigned(self, base: int) -> int:
        n = 0
        while n < 15 and self.bit(base + n):
            n += 1
        w = 1
        for j in range(n):
            w = (w << 1) | self.bit(base + 16 + 16 * n + j)
        return w - 1

    def signed(self, base: int) -> int:
        if self.bit(base):
            return 0
        negative = self.bit(base + 1)
        v = self.unsigned(base + 2) + 1
        return -v if negative else v


def decode_map(
    data: bytes,
    width: int,
    height: int,
    k: int,
    mode: int,
    prev: list[list[int]] | None,
    state: State,
    trace: list | None = None,
    coder: int = 3,
) -> list[list[int]]:
    """Decode one INTRA (0) or BLOCKS (4) map of label coder ``coder`` (3 or 2); ``state`` is
    reset by INTRA, updated by both."""
    if mode == 0:
        state.__init__()
        prev = None
    elif prev is None:
        raise SpecError("BLOCKS without a previous map")
    rc = RangeDecoder(data, state, trace)
    cur = [[0] * width for _ in range(height)]
    nbx, nby = (width + 7) // 8, (height + 7) // 8
    modes = [[NONE] * nbx for _ in range(nby)]
    vectors = [[(0, 0)] * nbx for _ in range(nby)]
    nbits = 1
    while (1 << nbits) < k:
        nbits += 1
    for by in range(nby):
        for bx in range(nbx):
            if rc.pos > len(data):
                raise SpecError("payload too short")
            x0, y0 = 8 * bx, 8 * by
            bw, bh = min(8, width - x0), min(8, height - y0)
            left = modes[by][bx - 1] if bx > 0 else NONE
            top = modes[by - 1][bx] if by > 0 else NONE
            m = 5 * left + top
            if prev is not None:
                if rc.bit(CTX_SKIP + m):
                    bmode = SKIP
                elif rc.bit(CTX_CODED_P + m):
                    bmode = CODED
                elif rc.bit(CTX_INTER + m):
                    bmode = INTER
                else:
                    bmode = IBC
            else:
                bmode = CODED if rc.bit(CTX_CODED_K + m) else IBC
            modes[by][bx] = bmode
            if bmode == SKIP:
                for y in range(y0, y0 + bh):
                    for x in range(x0, x0 + bw):
                        cur[y][x] = prev[y][x]
            elif bmode in (INTER, IBC):
                dx, dy = _vector(rc, modes, vectors, state, bx, by, bmode)
                vectors[by][bx] = (dx, dy)
                if bmode == INTER:
                    for y in range(y0, y0 + bh):
                        for x in range(x0, x0 + bw):
                            sy = min(max(y + dy, 0), height - 1)
                            sx = min(max(x + dx, 0), width - 1)
                            cur[y][x] = prev[sy][sx]
                else:
                    sx1, sy1 = x0 + dx + bw, y0 + dy + bh
                    inside = x0 + dx >= 0 and y0 + dy >= 0 and sx1 <= width and sy1 <= height
                    decoded = sy1 <= y0 or (sy1 <= y0 + 8 and sx1 <= x0)
                    if not (inside and decoded):
                        raise SpecError("IBC vector outside the decoded area")
                    state.ibc = (dx, dy)
                    for y in range(y0, y0 + bh):
                        for x in range(x0, x0 + bw):
                            cur[y][x] = cur[y + dy][x + dx]
            else:
                ref = None
                if prev is not None:  # the reference R(x, y) of §7.5
                    dx, dy = 0, 0
                    if coder == 3:
                        dx, dy = _vector(rc, modes, vectors, state, bx, by, CODED)
                        vectors[by][bx] = (dx, dy)

                    def ref(x, y, dx=dx, dy=dy):
                        return prev[min(max(y + dy, 0), height - 1)][min(max(x + dx, 0), width - 1)]

                for y in range(y0, y0 + bh):
                    for x in range(x0, x0 + bw):
                        cur[y][x] = _pixel(rc, cur, ref, x, y, width, k, nbits)
    if rc.pos != len(data):
        raise SpecError(f"read {rc.pos} bytes of {len(data)}")
    return cur


def _vector(rc, modes, vectors, state, bx, by, bmode) -> tuple[int, int]:
    """A block's vector (§7.4)."""
    same = (INTER, CODED) if bmode == CODED else (bmode,)
    has_l = bx > 0 and modes[by][bx - 1] in same
    has_t = by > 0 and modes[by - 1][bx] in same
    if has_l:
        px, py = vectors[by][bx - 1]
    elif has_t:
        px, py = vectors[by - 1][bx]
    else:
        px, py = state.ibc if bmode == IBC else state.inter
    v = int(has_l) + int(has_t)
    flag = {INTER: CTX_INTER_PRED, IBC: CTX_IBC_PRED, CODED: CTX_CODED_PRED}[bmode]
    if rc.bit(flag + v):
        dx, dy = px, py
    else:
        dx = px + rc.signed(CTX_IBC_DX if bmode == IBC else CTX_INTER_DX)
        dy = py + rc.signed(CTX_IBC_DY if bmode == IBC else CTX_INTER_DY)
    if bmode != IBC:  # an IBC vector is carried once its copy is checked (the caller)
        state.inter = (dx, dy)
    return dx, dy


def _pixel(rc, cur, ref, x, y, width, k, nbits) -> int:
    w = cur[y][x - 1] if x > 0 else None
    n = cur[y - 1][x] if y > 0 else None
    nw = cur[y - 1][x - 1] if x > 0 and y > 0 else None
    ne = None
    if y > 0 and x + 1 < width and (y % 8 == 0 or (x + 1) % 8 != 0):
        ne = cur[y - 1][x + 1]
    p = ref(x, y) if ref is not None else None

    def eq(a, b):
        return a is not None and b is not None and a == b

    q = eq(w, n) | eq(w, nw) << 1 | eq(n, ne) << 2 | eq(n, nw) << 3
    if ref is not None:
        q |= 16 | eq(p, w) << 5 | eq(p, n) << 6
        q |= eq(ref(x - 1, y) if x > 0 else None, w) << 7
        q |= eq(ref(x, y - 1) if y > 0 else None, n) << 8
    candidates: list[int] = []
    for c in (p, w, n, ne, nw):
        if c is not None and c not in candidates:
            candidates.append(c)
    for i, c in enumerate(candidates):
        if rc.bit(CTX_PIXEL + 512 * i + q):
            return c
    node = 1
    for _ in range(nbits):
        node = (node << 1) | rc.bit(CTX_LITERAL + node)
    label = node - (1 << nbits)
    if label >= k:
        raise SpecError("literal not below k")
    return label
