"""Tables and verdict words of the benchmark reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# A column of a text table: (header, key in the row, width in characters, format spec).
Column = tuple[str, str, int, str]


def verdict(ok: bool | None) -> str:
    """MET / NOT MET, or n/a when the figure is missing."""
    return "n/a" if ok is None else ("MET" if ok else "NOT MET")


def cell(row: Mapping[str, Any], key: str, spec: str) -> str:
    """``row[key]`` formatted by ``spec``; ``-`` when it is missing or None."""
    value = row.get(key)
    return "-" if value is None else format(value, spec)


def text_table(
    label: str,
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    columns: Sequence[Column],
    *,
    width: int = 22,
    cut: bool = False,
) -> str:
    """A fixed-width table: a left-aligned label column of ``width`` characters (the label cut
    to leave one space when ``cut``), then right-aligned ``columns``, under a dashed rule."""
    head = f"{label:<{width}}" + "".join(f"{h:>{w}}" for h, _, w, _ in columns)
    lines = [head, "-" * len(head)]
    for name, row in rows:
        cells = "".join(f"{cell(row, key, spec):>{w}}" for _, key, w, spec in columns)
        lines.append(f"{name[: width - 1] if cut else name:<{width}}{cells}")
    return "\n".join(lines)


def md_table(header: Sequence[str], rows: Iterable[Sequence[str]], *, align: str = "") -> str:
    """A markdown table. ``align`` has one letter per column, ``l`` (left) or ``r`` (right);
    the default is the first column left and the others right (figures)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = "".join("|---:" if a == "r" else "|---" for a in align) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
