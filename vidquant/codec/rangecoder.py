"""The adaptive binary range coder of label coder 2 (FORMAT.md §6): compiled kernels.

One coder codes every syntax element as binary decisions, each with its own adaptive probability
(its *context*). Integer arithmetic only, so every decoder is bit-exact with the encoder:

- A context holds two 16-bit estimates of the probability that the next bit is 1, one that
  adapts fast (``p += (65536 - p) >> 4`` on a 1, ``p -= p >> 4`` on a 0) and one slowly (shift
  7); the coder uses their mean at 12 bits, ``((p_fast + p_slow) >> 5)`` kept in 1..4095.
- The range coder is LZMA's: a 32-bit ``range`` and a 33-bit ``low`` with carry propagation
  through a one-byte cache (``low`` is an int64 here), normalised one byte at a time whenever
  ``range`` falls below 2**24, flushed with five shifts. A decoder reads exactly the bytes the
  encoder wrote, which is what lets it refuse a payload that is too short or too long.

The kernels keep the coder's state in small int64 arrays (see ``ENC_*`` and ``DEC_*``) so that
they can be shared by the frame encoder and decoder (:mod:`vidquant.codec.blockcoder`) without
objects. Contexts live in a uint16 array of two entries per context: ``probs[2 * ctx]`` (fast)
and ``probs[2 * ctx + 1]`` (slow).
"""

from __future__ import annotations

import numpy as np
from numba import njit

PROB_BITS = 12  # the coding step's probability precision
PROB_INIT = 32768  # both estimates of a fresh context: p(1) = 1/2
FAST_SHIFT = 4
SLOW_SHIFT = 7
TOP = 1 << 24  # normalise when range falls below this
UINT_MAX_BITS = 16  # unsigned values are below 2**16 - 1 (FORMAT.md §6.3)

# Encoder state (int64 array of ENC_SIZE)
ENC_LOW, ENC_RANGE, ENC_CACHE, ENC_CACHE_SIZE, ENC_POS, ENC_OVERFLOW = range(6)
ENC_SIZE = 6
# Decoder state (int64 array of DEC_SIZE)
DEC_CODE, DEC_RANGE, DEC_POS = range(3)
DEC_SIZE = 3

_KW = {"cache": True, "nogil": True}


def new_contexts(count: int) -> np.ndarray:
    """``count`` fresh contexts (p(1) = 1/2 in both estimates)."""
    return np.full(2 * count, PROB_INIT, np.uint16)


@njit(**_KW)
def new_encoder_state() -> np.ndarray:
    """A fresh encoder state."""
    st = np.zeros(ENC_SIZE, np.int64)
    st[ENC_RANGE] = 0xFFFFFFFF
    st[ENC_CACHE_SIZE] = 1
    return st


def cost_table() -> np.ndarray:
    """Cost in 1/256 bit of coding a 1 with 12-bit probability p (index p, 1..4095); the cost of a
    0 is ``table[4096 - p]``. For the encoder's decisions only."""
    p = np.arange(1 << PROB_BITS, dtype=np.float64)
    p[0] = 1.0
    return np.round(-np.log2(p / (1 << PROB_BITS)) * 256).astype(np.int32)


@njit(inline="always", **_KW)
def probability(probs: np.ndarray, ctx: int) -> int:
    """The 12-bit probability (1..4095) that context ``ctx``'s next bit is 1."""
    p = (np.int64(probs[2 * ctx]) + np.int64(probs[2 * ctx + 1])) >> 5
    if p < 1:
        return 1
    if p > 4095:
        return 4095
    return p


@njit(inline="always", **_KW)
def adapt(probs: np.ndarray, ctx: int, bit: int) -> None:
    """Move context ``ctx``'s estimates towards ``bit``."""
    fast = np.int64(probs[2 * ctx])
    slow = np.int64(probs[2 * ctx + 1])
    if bit:
        fast += (65536 - fast) >> FAST_SHIFT
        slow += (65536 - slow) >> SLOW_SHIFT
    else:
        fast -= fast >> FAST_SHIFT
        slow -= slow >> SLOW_SHIFT
    probs[2 * ctx] = fast
    probs[2 * ctx + 1] = slow


@njit(inline="always", **_KW)
def bit_cost(probs: np.ndarray, ctx: int, bit: int, costs: np.ndarray) -> int:
    """What coding ``bit`` in ``ctx`` would cost now, in 1/256 bit (no state changes)."""
    p = probability(probs, ctx)
    return costs[p] if bit else costs[4096 - p]


@njit(**_KW)
def _shift_low(st: np.ndarray, out: np.ndarray) -> None:
    low = st[ENC_LOW]
    if low < 0xFF000000 or low > 0xFFFFFFFF:
        carry = low >> 32
        temp = st[ENC_CACHE]
        while True:
            pos = st[ENC_POS]
            if pos < out.size:
                out[pos] = (temp + carry) & 0xFF
            else:
                st[ENC_OVERFLOW] = 1
            st[ENC_POS] = pos + 1
            temp = 0xFF
            st[ENC_CACHE_SIZE] -= 1
            if st[ENC_CACHE_SIZE] == 0:
                break
        st[ENC_CACHE] = (low >> 24) & 0xFF
    st[ENC_CACHE_SIZE] += 1
    st[ENC_LOW] = (low & 0x00FFFFFF) << 8


@njit(**_KW)
def encode_bit(st: np.ndarray, out: np.ndarray, probs: np.ndarray, ctx: int, bit: int) -> None:
    """Code one bit in context ``ctx`` and adapt the context."""
    rng = st[ENC_RANGE]
    bound = (rng >> PROB_BITS) * probability(probs, ctx)
    if bit:
        st[ENC_RANGE] = bound
    else:
        st[ENC_LOW] += bound
        st[ENC_RANGE] = rng - bound
    adapt(probs, ctx, bit)
    while st[ENC_RANGE] < TOP:
        st[ENC_RANGE] <<= 8
        _shift_low(st, out)


@njit(**_KW)
def encode_flush(st: np.ndarray, out: np.ndarray) -> int:
    """End the code; the number of bytes written (more than ``out`` holds: overflow)."""
    for _ in range(5):
        _shift_low(st, out)
    return st[ENC_POS]


@njit(**_KW)
def decode_init(st: np.ndarray, data: np.ndarray) -> None:
    """Start decoding ``data``: the first five bytes fill the code register."""
    st[DEC_CODE] = 0
    st[DEC_RANGE] = 0xFFFFFFFF
    st[DEC_POS] = 0
    for _ in range(5):
        st[DEC_CODE] = ((st[DEC_CODE] << 8) | _next_byte(st, data)) & 0xFFFFFFFF


@njit(inline="always", **_KW)
def _next_byte(st: np.ndarray, data: np.ndarray) -> int:
    # Past the end the decoder reads zeros and counts them: the caller refuses the payload
    # when DEC_POS ends anywhere but at its length.
    pos = st[DEC_POS]
    st[DEC_POS] = pos + 1
    return data[pos] if pos < data.size else 0


@njit(**_KW)
def decode_bit(st: np.ndarray, data: np.ndarray, probs: np.ndarray, ctx: int) -> int:
    """Decode one bit in context ``ctx`` and adapt the context."""
    rng = st[DEC_RANGE]
    code = st[DEC_CODE]
    bound = (rng >> PROB_BITS) * probability(probs, ctx)
    if code < bound:
        rng = bound
        bit = 1
    else:
        code -= bound
        rng -= bound
        bit = 0
    adapt(probs, ctx, bit)
    while rng < TOP:
        rng <<= 8
        code = ((code << 8) | _next_byte(st, data)) & 0xFFFFFFFF
    st[DEC_RANGE] = rng
    st[DEC_CODE] = code
    return bit


# --- values made of bits (FORMAT.md §6.3) ---------------------------------------------------
# An unsigned value v (0 <= v < 2**16 - 1) is coded as n = bit_length(v + 1) - 1 in unary (n
# ones, then a zero unless n == UINT_MAX_BITS - 1; context base + i for the i-th unary bit), then
# the n bits of v + 1 below its top bit, most significant first (context base + 16 + 16 * n + j
# for the j-th of them). UINT_CONTEXTS contexts per value class.
UINT_CONTEXTS = 16 + 16 * 16
# A signed value: a zero flag (base), a sign (base + 1, 1 = negative), then |v| - 1 unsigned at
# base + 2.
SIGNED_CONTEXTS = 2 + UINT_CONTEXTS


@njit(**_KW)
def encode_uint(st: np.ndarray, out: np.ndarray, probs: np.ndarray, base: int, v: int) -> None:
    """Code unsigned ``v`` (below 2**16 - 1) with the contexts from ``base``."""
    w = v + 1
    n = 0
    while (w >> (n + 1)) != 0:
        n += 1
    for i in range(n):
        encode_bit(st, out, probs, base + i, 1)
    if n < UINT_MAX_BITS - 1:
        encode_bit(st, out, probs, base + n, 0)
    for j in range(n):
        encode_bit(st, out, probs, base + 16 + 16 * n + j, (w >> (n - 1 - j)) & 1)


@njit(**_KW)
def decode_uint(st: np.ndarray, data: np.ndarray, probs: np.ndarray, base: int) -> int:
    """Decode an unsigned value coded by :func:`encode_uint` (at most 15 + 15 decisions)."""
    n = 0
    while n < UINT_MAX_BITS - 1 and decode_bit(st, data, probs, base + n):
        n += 1
    w = 1
    for j in range(n):
        w = (w << 1) | decode_bit(st, data, probs, base + 16 + 16 * n + j)
    return w - 1


@njit(**_KW)
def encode_signed(st: np.ndarray, out: np.ndarray, probs: np.ndarray, base: int, v: int) -> None:
    """Code signed ``v`` (``|v|`` at most 2**16 - 2) with the contexts from ``base``."""
    encode_bit(st, out, probs, base, 1 if v == 0 else 0)
    if v != 0:
        encode_bit(st, out, probs, base + 1, 1 if v < 0 else 0)
        encode_uint(st, out, probs, base + 2, abs(v) - 1)


@njit(**_KW)
def decode_signed(st: np.ndarray, data: np.ndarray, probs: np.ndarray, base: int) -> int:
    """Decode a signed value coded by :func:`encode_signed`."""
    if decode_bit(st, data, probs, base):
        return 0
    negative = decode_bit(st, data, probs, base + 1)
    v = decode_uint(st, data, probs, base + 2) + 1
    return -v if negative else v


@njit(**_KW)
def signed_cost(probs: np.ndarray, base: int, v: int, costs: np.ndarray) -> int:
    """What :func:`encode_signed` of ``v`` would cost now, in 1/256 bit."""
    total = bit_cost(probs, base, 1 if v == 0 else 0, costs)
    if v == 0:
        return total
    total += bit_cost(probs, base + 1, 1 if v < 0 else 0, costs)
    w = abs(v)  # (|v| - 1) + 1
    n = 0
    while (w >> (n + 1)) != 0:
        n += 1
    ubase = base + 2
    for i in range(n):
        total += bit_cost(probs, ubase + i, 1, costs)
    if n < UINT_MAX_BITS - 1:
        total += bit_cost(probs, ubase + n, 0, costs)
    for j in range(n):
        total += bit_cost(probs, ubase + 16 + 16 * n + j, (w >> (n - 1 - j)) & 1, costs)
    return total
