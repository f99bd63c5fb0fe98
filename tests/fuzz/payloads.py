"""Label payloads, hostile and well-formed: Zstandard frames built by hand or by libzstd.

:func:`label_payload` makes one of :data:`PAYLOAD_KINDS` for a map of a given size (both fuzz
drivers draw them); :func:`declares_map` finds the frame header that lets a file cost a whole
label map (see :mod:`fuzz.bounds`).
"""

from __future__ import annotations

import struct

import zstandard

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZSTD_MAX_HEADER = 18  # magic 4 + descriptor 1 + window 1 + dictionary id 4 + content size 8


def declares_map(data: bytes, size: int) -> bool:
    """True when some Zstandard frame header inside ``data`` declares exactly ``size`` bytes."""
    at = data.find(ZSTD_MAGIC)
    while at >= 0:
        try:
            if zstandard.frame_content_size(data[at : at + ZSTD_MAX_HEADER]) == size:
                return True
        except zstandard.ZstdError:
            pass
        at = data.find(ZSTD_MAGIC, at + 1)
    return False


def zstd_compress(content: bytes, *, content_size: bool = True, checksum: bool = False) -> bytes:
    """An ordinary Zstandard frame (level 1) holding ``content``."""
    return zstandard.ZstdCompressor(
        level=1, write_content_size=content_size, write_checksum=checksum
    ).compress(content)


def zstd_raw_frame(declared: int | None, body: bytes, *, rle_count: int | None = None) -> bytes:
    """A hand-built frame that *declares* ``declared`` bytes (None: no content-size field) and
    holds ``body`` in raw blocks, or with ``rle_count`` that many copies of ``body[:1]`` in RLE
    blocks (4 bytes per 128 KiB). The declared and the real size need not agree: that is the
    point."""
    if declared is None:
        head = bytes([0x00, 0x38])  # no content size, window descriptor 128 KiB
    else:
        head = bytes([0xC0, 0x38]) + struct.pack("<Q", declared & (2**64 - 1))
    out = bytearray(ZSTD_MAGIC + head)
    block = 1 << 17
    total = len(body) if rle_count is None else rle_count
    value = body[:1] or b"\x00"
    pos = 0
    while True:
        n = min(block, total - pos)
        last = pos + n >= total
        if rle_count is not None:
            out += struct.pack("<I", (n << 3) | (1 << 1) | last)[:3] + value
        else:
            out += struct.pack("<I", (n << 3) | last)[:3] + body[pos : pos + n]
        pos += n
        if last:
            return bytes(out)


def zstd_skippable(data: bytes, variant: int = 0) -> bytes:
    """A skippable frame (magic 0x184D2A5?) carrying ``data``."""
    return struct.pack("<II", 0x184D2A50 | (variant & 15), len(data)) + data


PAYLOAD_KINDS = (
    "exact",  # zstd frame of exactly W*H bytes (contents as given: labels may be >= k)
    "resized",  # zstd frame of W*H + delta bytes
    "no-size",  # zstd frame without Frame_Content_Size
    "declared",  # hand-built frame declaring a size it does not hold
    "rle",  # RLE frame declaring and holding W*H bytes
    "concat",  # two frames back to back
    "skippable-first",  # skippable frame, then the map
    "skippable-after",  # the map, then a skippable frame
    "skippable-only",
    "trailing",  # the map, then garbage
    "truncated",  # the map's frame cut short
    "checksum",  # frame with a content checksum, checksum damaged
    "flipped",  # one byte of the map's frame changed
    "raw",  # the bytes as they are
    "empty",
)


def label_payload(kind: str, size: int, content: bytes, number: int) -> bytes:
    """A label payload of ``kind`` for a ``size``-pixel map: ``content`` (tiled/cut to the size
    the kind needs) supplies the pixel values, ``number`` the free integer the kind uses (size
    delta, declared size, cut point, ...). Deterministic, so both drivers can describe a case."""
    content = content or b"\x00"

    def tiled(n: int) -> bytes:
        n = max(n, 0)
        return (content * (n // len(content) + 1))[:n]

    if kind == "rle":  # before ``exact``: a huge map is never materialised
        return zstd_raw_frame(size, content[:1], rle_count=size)
    if kind == "raw":
        return content
    if kind == "empty":
        return b""
    exact = tiled(size)
    if kind == "exact":
        return zstd_compress(exact)
    if kind == "resized":
        delta = (number % 9) - 4 or size  # -4..4, or doubled
        return zstd_compress(tiled(size + delta))
    if kind == "no-size":
        return zstd_compress(exact, content_size=False)
    if kind == "declared":
        declared = (
            size,
            size + 1,
            size - 1,
            0,
            2**32,
            2**62,
            2**64 - 1,
            number,
        )[number % 8]
        body = tiled((size, size + 1, size - 1, 0, 1)[(number >> 3) % 5])
        return zstd_raw_frame(declared, body)
    if kind == "concat":
        half = size // 2
        return zstd_compress(tiled(half)) + zstd_compress(tiled(size - half + (number % 2)))
    if kind == "skippable-first":
        return zstd_skippable(content[:8], number) + zstd_compress(exact)
    if kind == "skippable-after":
        return zstd_compress(exact) + zstd_skippable(content[:8], number)
    if kind == "skippable-only":
        return zstd_skippable(tiled(number % 64), number)
    if kind == "trailing":
        return zstd_compress(exact) + content[: 1 + number % 16]
    if kind == "truncated":
        frame = zstd_compress(exact)
        return frame[: number % len(frame)]
    if kind == "checksum":
        frame = zstd_compress(exact, checksum=True)
        return frame[:-1] + bytes([frame[-1] ^ (1 + number % 255)])
    if kind == "flipped":
        frame = bytearray(zstd_compress(exact))
        frame[number % len(frame)] ^= 1 + (number >> 8) % 255
        return bytes(frame)
    raise ValueError(f"unknown payload kind {kind!r}")
