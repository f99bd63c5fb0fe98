"""The HEAD record's JSON metadata: what vidquant writes there, and how it reads it back.

The metadata is descriptive: a file may come from another writer, or be edited, so a reader
trusts no type in it. Every reader here returns a checked value or its default, never raises.
FORMAT.md §4.2 lists the keys.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from vidquant._version import __version__


def make_meta(
    *,
    source: dict[str, Any],
    settings: dict[str, Any] | None = None,
    still: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The metadata of a file vidquant writes: its encoder, then the given parts.

    Parameters
    ----------
    source
        What the frames came from: ``name`` (a bare file name or None), ``codec``, ``pix_fmt``,
        ``width`` and ``height`` (pixels), and for a video ``duration_s`` and ``frames``.
    settings
        The encode settings, as plain values (a video's encode).
    still
        ``method``, ``k`` and ``time_s`` of a one-frame file from ``vidquant image``.
    """
    meta: dict[str, Any] = {"encoder": f"vidquant {__version__}"}
    if settings is not None:
        meta["settings"] = settings
    if still is not None:
        meta["still"] = still
    meta["source"] = source
    return meta


def _table(meta: object, key: str) -> dict[str, Any]:
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, dict) else {}


def _seconds(value: object, *, positive: bool = False) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    ok = value > 0 if positive else value >= 0
    return float(value) if ok else None


def encode_start_s(meta: object) -> float:
    """Where the file's time 0 lies in its source (``encode --start``), seconds; 0 if unknown."""
    return _seconds(_table(meta, "settings").get("start_s")) or 0.0


def encode_duration_s(meta: object) -> float | None:
    """How much of the source was encoded (``encode --duration``), seconds; None: to its end."""
    return _seconds(_table(meta, "settings").get("duration_s"), positive=True)


def still_time_s(meta: object) -> float | None:
    """For a one-frame file from ``vidquant image``: the source time it was taken at (0 for a
    picture); None for a video's file."""
    still = meta.get("still") if isinstance(meta, dict) else None
    if not isinstance(still, dict):
        return None
    return _seconds(still.get("time_s")) or 0.0


def source_name(meta: object) -> str | None:
    """The source's bare file name, or None; a name that is a path (one that could reach out of
    the ``.vq``'s folder) counts as none."""
    name = _table(meta, "source").get("name")
    if not isinstance(name, str) or not name or Path(name).name != name:
        return None
    return name


def encoder_name(meta: object) -> str:
    """Who wrote the file (``"vidquant 0.1.0"``), at most 80 characters; ``"?"`` if unsaid."""
    name = meta.get("encoder", "?") if isinstance(meta, dict) else "?"
    return str(name)[:80]


def source_facts(meta: object) -> dict[str, Any]:
    """The ``source`` table as written (for display; its values are unchecked)."""
    return _table(meta, "source")
