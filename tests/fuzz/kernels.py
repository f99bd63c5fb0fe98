"""Label coder 2's compiled kernels, made ready before any input is measured."""

from __future__ import annotations

import functools


@functools.cache
def warm_up() -> None:
    """Import and compile label coder 2's kernels once, before any check.

    The harnesses call this before ``atheris.instrument_imports()``: numba cannot compile the
    bytecode atheris adds, and a module already imported is not instrumented (the kernels'
    branches are then not coverage features; the Python around them is). The checks call it
    too, so that compiling (about a minute in a fresh checkout, longer than libFuzzer's
    -timeout) or loading numba's cache never counts against an input's time or memory.
    """
    import numpy as np

    import vidquant.codec.blockcoder  # noqa: F401
    import vidquant.codec.blockencoder  # noqa: F401
    import vidquant.codec.blocksearch  # noqa: F401
    import vidquant.codec.rangecoder  # noqa: F401
    from vidquant.codec.blocklabels import BlockLabelDecoder, BlockLabelEncoder

    # The checks hand the decoder a read-only previous map, which numba compiles apart.
    labels = np.arange(81, dtype=np.uint8).reshape(9, 9) % 3
    encoder, decoder = BlockLabelEncoder(9, 9, 3), BlockLabelDecoder(9, 9, 3)
    previous = None
    for frame in (labels, np.roll(labels, 1, axis=1), np.roll(labels, 2, axis=1)):
        coded = encoder.encode(frame, previous)
        previous = decoder.decode(coded.mode, coded.payload, previous)
        previous.flags.writeable = False
