#!/usr/bin/env python3
"""atheris harness: ``LabelDecoder(w, h, k).decode(mode, payload, previous)``.

Property (``fuzz.targets.check_labels``): a FormatError carrying the offset, or a (h, w) uint8
map with every label < k, within ``fuzz.bounds.labels_memory_bound``.

An input is read by ``fuzz.inputs.decode_label_input``: 8 bytes choose w and h (1..64), k
(2..256), the mode (mostly 0..3, sometimes out of range), the previous map (None or a valid
random map), one of ``fuzz.payloads.PAYLOAD_KINDS`` (an exact-size Zstandard frame, wrong sizes,
declared sizes up to 2**64 - 1, concatenated and skippable frames, trailing bytes, damaged
checksums, raw bytes, ...) and a number the kind uses; the remaining bytes are the label
values. So libFuzzer mutates label contents and frame shapes directly instead of having to
discover Zstandard.

Usage (from the repository root)::

    python tests/fuzz/fuzz_labels.py -max_total_time=3600 -rss_limit_mb=2048 corpus/labels

Reproduce a crash with ``python tests/fuzz/fuzz_labels.py crash-<sha>`` or ``--replay``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _p in (str(HERE.parent.parent), str(HERE.parent)):  # vidquant, and the fuzz package
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fuzz import _harness  # noqa: E402

_harness.plain_python_modes("labels")  # --write-seeds / --replay: exit before atheris

import atheris  # noqa: E402

_harness.load_kernels()  # uninstrumented: numba cannot compile atheris' bytecode
# The fuzz package is instrumented too: its branches (which payload kind, which check failed)
# are coverage features, so the corpus keeps an input of every kind (labels.py alone is small).
with atheris.instrument_imports(include=["vidquant", "fuzz"]):
    import vidquant.codec.labels  # noqa: E402, F401
    from fuzz import targets  # noqa: E402

MEMORY = _harness.MEMORY


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    targets.check_label_input(data, memory=MEMORY)


def main() -> None:
    _harness.fuzz("labels", TestOneInput)


if __name__ == "__main__":
    main()
