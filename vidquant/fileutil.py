"""Writing outputs safely: never overwrite without consent, never leave half a file behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vidquant.errors import OutputError


def check_output(path: Path, *, force: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Raise OutputError if ``path`` cannot or must not be written."""
    for src in inputs:
        if src.exists() and path.exists() and path.resolve() == src.resolve():
            raise OutputError(f"output {path} is the input file; choose another name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"output folder is not writable: {parent}")
    if path.is_dir():
        raise OutputError(f"output {path} is a directory")
    if path.exists() and not force:
        raise OutputError(f"{path} exists; use --force to overwrite it")


@contextlib.contextmanager
def atomic_path(path: Path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    An interrupted or failed job leaves nothing under the final name (and removes its temporary).
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.",
            suffix=suffix if suffix is not None else ".part" + path.suffix,
            dir=folder,
        )
    except OSError as exc:
        raise OutputError(f"cannot write in the output folder {folder}: {exc.strerror}") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file private (0600); the output gets the usual umask-based mode.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_folder(path: Path, *, force: bool, replaces: tuple[str, ...]) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; move its files into ``path`` only on success.

    ``path`` must not exist, be an empty folder, or (with ``force``) be a folder whose files
    matching the glob patterns ``replaces`` are removed first, so no stale frame survives.
    A failed job leaves ``path`` as it was and removes the temporary folder.
    """
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} exists and is not a folder")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"output folder does not exist: {parent}")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise OutputError(f"folder {path} is not empty; use --force to write into it")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write in the output folder {parent}: {exc.strerror}") from exc
    try:
        yield tmp
        if not path.exists():
            os.replace(tmp, path)
            return
        for pattern in replaces:
            for old in path.glob(pattern):
                old.unlink()
        for new in tmp.iterdir():
            os.replace(new, path / new.name)
        tmp.rmdir()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
