#!/usr/bin/env python3
"""atheris harness: label coder 2's decoder, ``BlockLabelDecoder(w, h, k).decode(mode, payload,
previous)``.

Property (``fuzz.targets.check_block_input``): a FormatError carrying the offset, or a (h, w)
uint8 map with every label < k, within ``fuzz.bounds.labels_memory_bound``.

An input is read by ``fuzz.inputs.decode_block_input``: 5 bytes choose w and h (1..64), k
(2..256), the mode (mostly INTRA, REPEAT, BLOCKS; sometimes one coder 2 does not have) and the
previous map (none, or a seed for a valid map that the check decodes first from a valid INTRA
code, so that a BLOCKS payload meets the state it expects); the rest is the range-coded payload.
The seeds are valid codes of every block mode, so libFuzzer starts from payloads that decode.

The kernels (numba) and blocklabels, imported before instrumentation to compile them, are not
instrumented, so coverage comes from the fuzz package's branches and the outcomes; the property
is what counts: no other exception, no hang (-timeout), no label >= k.

Usage (from the repository root)::

    python tests/fuzz/fuzz_blocks.py -max_total_time=3600 -rss_limit_mb=2048 corpus/blocks

Reproduce a crash with ``python tests/fuzz/fuzz_blocks.py crash-<sha>`` or ``--replay``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _p in (str(HERE.parent.parent), str(HERE.parent)):  # vidquant, and the fuzz package
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fuzz import _harness  # noqa: E402

_harness.plain_python_modes("blocks")  # --write-seeds / --replay: exit before atheris

import atheris  # noqa: E402

_harness.load_kernels()  # uninstrumented: numba cannot compile atheris' bytecode
with atheris.instrument_imports(include=["vidquant", "fuzz"]):
    import vidquant.codec.blocklabels  # noqa: E402, F401
    from fuzz import targets  # noqa: E402

MEMORY = _harness.MEMORY


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    targets.check_block_input(data, memory=MEMORY)


def main() -> None:
    _harness.fuzz("blocks", TestOneInput)


if __name__ == "__main__":
    main()
