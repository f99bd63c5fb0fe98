"""What reading an input may cost: the memory and work bounds of the fuzz properties, and the
tracer that measures the memory.

:mod:`fuzz.targets` checks every input against these; tests/fuzz/README.md explains them.
"""

from __future__ import annotations

import os
import tracemalloc

from fuzz.payloads import declares_map
from vidquant.codec import format as fmt
from vidquant.codec.records import Header

# --------------------------------------------------------------------------------------------
# memory bounds
#
# tracemalloc sees every Python object and every numpy buffer (numpy reports its allocations to
# it); it does not see libzstd's own malloc (window and context), which the atheris runs bound
# with -rss_limit_mb instead. The bound for a file B is
#
#     MEMORY_BASE + MEMORY_PER_BYTE * len(B)  [+ LABEL_MAPS * W * H]
#
# * MEMORY_PER_BYTE: the reader copies each record's payload once, and the Python objects it
#   builds from a record are at most a few dozen times the record's bytes (the worst is the HEAD
#   metadata: ``[{},{},...]`` is about 24 bytes of dicts and list slots per 3 input bytes; an
#   INDX entry of 20 bytes becomes an IndexEntry of about 300).
# * LABEL_MAPS * W * H is granted only when the file holds a Zstandard frame header that declares
#   exactly W * H bytes. LabelDecoder refuses any other declared size before it allocates, and
#   REPEAT allocates nothing, so without such a header no label map can be built and a file must
#   not cost more than its own size. With one, a 30-byte frame may legitimately expand to a
#   33 MB map (7680x4320, RLE). Six maps: the worst measured is 5, in COPY (the previous
#   frame's labels, the decompressed bytes, and np.where's ``== 0`` mask, ``labels - 1`` and
#   result; INTRA needs 2, DELTA 3), plus one spare so that an equivalent rewrite of the
#   decoder does not fail the suite. test_fuzz_costs.py measures it on a 7680x4320 file.
#   Label coder 2 (2.x files) decodes any frame payload into a map of its own, whatever the
#   payload's size, so there the maps are granted for every file: one map at a time is its cost
#   (the map, the previous one, and the copies the decoder hands out).
MEMORY_BASE = 4 << 20
MEMORY_PER_BYTE = 64
LABEL_MAPS = 6
LABELS_MEMORY_BASE = 1 << 20
# After a phase (a whole iteration, a seek) has ended, the decoder keeps only small objects: the
# salvage report, the header. Any label map still alive then is retention.
RETAINED_BASE = 256 << 10
RETAINED_PER_BYTE = 16

# Work: bytes read from the file in one phase. A strict decode reads each record once; the
# index, the trailer and salvage's resynchronisation read some twice; one resynchronisation may
# read 16 * size + 64 MiB of candidate records (salvage._SALVAGE_READ_*). A phase reading more
# than READ_BASE + READ_FACTOR * size does work that grows faster than the file: a file of a few
# megabytes would take minutes.
READ_BASE = 64 << 20
READ_FACTOR = 32

# Triage aid for long runs while a known bug is open: VIDQUANT_FUZZ_IGNORE=retention,reads
# (any of "peak", "retention", "reads") turns those checks off so the run can find other bugs.
# Never set it in CI.
IGNORE = frozenset(filter(None, os.environ.get("VIDQUANT_FUZZ_IGNORE", "").split(",")))


def _may_build_map(data: bytes, size: int, coder: int) -> bool:
    """Whether ``data`` can make a decoder build a ``size``-pixel label map (see above)."""
    if coder == fmt.LABEL_CODER_ZSTD:
        return declares_map(data, size)
    return True  # any payload of label coder 2 is decoded into a map


def container_memory_bound(data: bytes, header: Header | None) -> int:
    """Largest traced peak (bytes) reading ``data`` may cost; see the comment above."""
    bound = MEMORY_BASE + MEMORY_PER_BYTE * len(data)
    if header is not None and _may_build_map(
        data, header.width * header.height, header.label_coder
    ):
        bound += LABEL_MAPS * header.width * header.height
    return bound


def labels_memory_bound(
    payload: bytes, width: int, height: int, coder: int = fmt.LABEL_CODER_ZSTD
) -> int:
    """Largest traced peak (bytes) one label decoder's decode call may cost."""
    bound = LABELS_MEMORY_BASE + MEMORY_PER_BYTE * len(payload)
    if _may_build_map(payload, width * height, coder):
        bound += LABEL_MAPS * width * height
    return bound


class Tracer:
    """Peak traced allocation (bytes) inside the ``with`` block; 0 when not measuring."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.peak = 0
        self._started = False
        self._base = 0
        self._mark = 0

    def __enter__(self) -> Tracer:
        if self.enabled:
            if tracemalloc.is_tracing():
                self._base = tracemalloc.get_traced_memory()[0]
            else:
                tracemalloc.start()
                self._started = True
            tracemalloc.reset_peak()
            self._mark = tracemalloc.get_traced_memory()[0]
        return self

    def mark(self) -> None:
        """Make the memory allocated so far the baseline of :meth:`current`."""
        if self.enabled:
            self._mark = tracemalloc.get_traced_memory()[0]

    def current(self) -> int:
        """Bytes allocated since :meth:`mark` and still alive."""
        return tracemalloc.get_traced_memory()[0] - self._mark if self.enabled else 0

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.peak = max(0, tracemalloc.get_traced_memory()[1] - self._base)
            if self._started:
                tracemalloc.stop()
