"""Command-line plumbing shared by the atheris harnesses (not a fuzz target itself).

Each harness is run as ``python tests/fuzz/fuzz_<target>.py [option | libFuzzer args
[corpus_dir | crash_file ...]]``. Two options work without atheris and exit:

``--write-seeds DIR``
    Write the seed inputs into DIR.
``--replay FILE ...``
    Run the target's check on each FILE in plain Python (no instrumentation), print the outcome
    or the traceback; exit status 1 if any check failed.

Otherwise the arguments go to libFuzzer. A corpus directory that is missing or empty gets the
seed inputs written into it first; with no corpus directory at all a temporary one is made.
``-max_len`` defaults to 8192 bytes.

This module imports the ``fuzz`` package's targets and inputs (and so vidquant) only inside its
functions: the harness must import vidquant first, inside ``atheris.instrument_imports()``. The
harness puts ``tests/`` on ``sys.path`` for ``fuzz`` and the repository root for vidquant.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path

# VIDQUANT_FUZZ_MEMORY=0 skips the tracemalloc check (about 3x more inputs per second).
MEMORY = os.environ.get("VIDQUANT_FUZZ_MEMORY", "1") != "0"


def _check(kind: str):
    from fuzz import targets

    return {
        "container": targets.check_container,
        "labels": targets.check_label_input,
        "blocks": targets.check_block_input,
    }[kind]


def load_kernels() -> None:
    """Compile label coder 2's kernels before ``atheris.instrument_imports()`` (see
    :func:`fuzz.kernels.warm_up`)."""
    from fuzz.kernels import warm_up

    warm_up()


def _write_seeds(kind: str, directory: Path) -> None:
    from fuzz import inputs

    inputs.write_seeds(directory, kind)


def replay(kind: str, files: list[str]) -> int:
    load_kernels()
    check = _check(kind)
    failed = 0
    for name in files:
        data = Path(name).read_bytes()
        try:
            outcome = check(data)
        except BaseException:  # noqa: BLE001 - report whatever the target let escape
            failed += 1
            print(f"{name}: FAILED ({len(data)} bytes)")
            traceback.print_exc(file=sys.stdout)
        else:
            print(f"{name}: ok ({len(data)} bytes): {outcome}")
    return 1 if failed else 0


def plain_python_modes(kind: str) -> None:
    """Handle ``--write-seeds`` and ``--replay`` (both exit); return for a fuzzing run."""
    args = sys.argv
    if len(args) >= 3 and args[1] == "--write-seeds":
        _write_seeds(kind, Path(args[2]))
        print(f"seeds written to {args[2]}")
        raise SystemExit(0)
    if len(args) >= 2 and args[1] == "--replay":
        raise SystemExit(replay(kind, args[2:]))


def prepare_args(argv: list[str], kind: str) -> list[str]:
    """Seed empty corpus directories and add defaults; return the args for ``atheris.Setup``."""
    args = list(argv)
    positional = [a for a in args[1:] if not a.startswith("-")]
    for name in positional:
        path = Path(name)
        if path.is_file():
            continue  # an input to run once (libFuzzer's reproduce mode)
        if not path.exists() or not any(path.iterdir()):
            path.mkdir(parents=True, exist_ok=True)
            _write_seeds(kind, path)
    if not positional:
        path = Path(tempfile.mkdtemp(prefix=f"vq-fuzz-{kind}-"))
        _write_seeds(kind, path)
        print(f"corpus (seeded): {path}", file=sys.stderr)
        args.append(str(path))
    if not any(a.startswith("-max_len=") for a in args):
        args.insert(1, "-max_len=8192")
    return args


def fuzz(kind: str, test_one_input, custom_mutator=None) -> None:
    """Run libFuzzer on ``test_one_input`` with the command line's arguments."""
    import tracemalloc

    import atheris

    args = prepare_args(sys.argv, kind)
    if MEMORY:
        # Trace for the whole run: starting and stopping tracemalloc for every input leaks
        # about 250 bytes a time in CPython 3.11 (RSS would reach -rss_limit_mb in an hour).
        # The checks then measure from a baseline (fuzz.bounds.Tracer).
        tracemalloc.start()
    extra = {} if custom_mutator is None else {"custom_mutator": custom_mutator}
    atheris.Setup(args, test_one_input, **extra)
    atheris.Fuzz()
