#!/usr/bin/env python3
"""atheris harness: any bytes as a ``.vq`` file (ContainerReader and VqDecoder).

Property (``fuzz.targets.check_container``): opening, iterating every frame and audio packet,
``read_index()``, seeking with ``iter_frames(start_s=...)`` and ``iter_media(salvage=True)``
raise nothing but FormatError (salvage raises nothing at all), every frame is well-formed, and the
traced peak allocation stays within ``fuzz.bounds.container_memory_bound``.

Usage (from the repository root)::

    python tests/fuzz/fuzz_container.py -max_total_time=3600 -rss_limit_mb=2048 corpus/container

An empty or missing corpus directory is filled with valid seed files first. The custom mutator
mostly edits whole records (splice, duplicate, drop, rewrite lengths, frame header fields, the
decompressed label map) and recomputes the CRCs, sometimes the index and trailer too, so inputs
get past the CRC check to the frame and label parsing; the rest of the time it is libFuzzer's
byte-level mutator. Reproduce a crash with ``python tests/fuzz/fuzz_container.py crash-<sha>``
(or ``--replay crash-<sha>`` for a plain Python run). See README.md.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _p in (str(HERE.parent.parent), str(HERE.parent)):  # vidquant, and the fuzz package
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fuzz import _harness  # noqa: E402

_harness.plain_python_modes("container")  # --write-seeds / --replay: exit before atheris

import atheris  # noqa: E402

_harness.load_kernels()  # uninstrumented: numba cannot compile atheris' bytecode

with atheris.instrument_imports(include=["vidquant"]):
    import vidquant.codec.blocklabels  # noqa: E402, F401
    import vidquant.codec.container  # noqa: E402, F401
    import vidquant.codec.labels  # noqa: E402, F401
    import vidquant.decoder  # noqa: E402, F401

from fuzz import inputs, records, targets  # noqa: E402
from vidquant.codec import format as fmt  # noqa: E402

MAGIC = fmt.MAGIC
SEEDS = list(inputs.seed_files().values())
MEMORY = _harness.MEMORY


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    targets.check_container(data, memory=MEMORY)


def CustomMutator(data: bytes, max_size: int, seed: int) -> bytes:  # noqa: N802
    rng = random.Random(seed)
    choice = rng.random()
    if choice < 0.35 or not data.startswith(MAGIC):
        out = atheris.Mutate(data, max_size)
        fix = rng.choice(("none", "crc"))
    elif choice < 0.5:
        # libFuzzer's mutator on the decompressed label map of one frame (CRC fixed)
        out = records.edit_labels(
            data,
            rng.randrange(64),
            [],
            content_size=rng.random() < 0.9,
            mutate=lambda raw: atheris.Mutate(raw, len(raw) + 16),
        )
        fix = rng.choice(("none", "crc+end"))
    else:
        out = data
        for _ in range(rng.randint(1, 3)):
            out = records.apply_op(out, records.random_op(rng, out, SEEDS), SEEDS)
        fix = rng.choice(records.FIXES)
    out = records.mend(out, fix)
    if len(out) > max_size:
        out = atheris.Mutate(data, max_size)
    return out


def main() -> None:
    _harness.fuzz("container", TestOneInput, CustomMutator)


if __name__ == "__main__":
    main()
