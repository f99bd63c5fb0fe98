"""An integer CRF search: the smallest file whose mean PSNR reaches a target, in few encodes.

The search bisects on the assumption that PSNR falls as the CRF rises (the rule a rate factor
follows, but not exactly at every step), as ``vidquant compare`` does for its H.264 reference
(``vidquant.apps.compare.references._search_crf``). Each probe is one encode and one PSNR
measurement; a probe is never repeated. Of the probes that reach the target, the smallest file
is chosen, so a probe that breaks the rule cannot make the choice worse than a neighbour tried.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Probe:
    """One encode of the search."""

    crf: int
    psnr_db: float  # mean per-frame PSNR against the source
    bytes: int  # the file's size
    encode_s: float  # wall time of the encode


@dataclass(frozen=True)
class CrfSearch:
    """The outcome of :func:`search_crf`."""

    target_db: float
    chosen: Probe  # the smallest probe that reached the target, else the best PSNR tried
    reached: bool  # whether any probe reached the target
    probes: tuple[Probe, ...]  # in the order they were encoded

    def as_json(self) -> dict[str, Any]:
        return {
            "target_psnr": self.target_db,
            "reached": self.reached,
            "probes": [asdict(p) for p in self.probes],
        }


def probes_needed(lo: int, hi: int) -> int:
    """Probes a bisection over ``lo..hi`` needs at most: one per halving, plus one check."""
    return math.ceil(math.log2(hi - lo + 1)) + 1


def search_crf(
    trial: Callable[[int], Probe], lo: int, hi: int, target_db: float, *, max_probes: int
) -> CrfSearch:
    """The largest CRF in ``lo..hi`` whose probe reaches ``target_db`` (lower CRF: larger file,
    higher PSNR), by bisection in at most ``max_probes`` calls of ``trial``.

    When fewer probes than :func:`probes_needed` are allowed, the search stops early and keeps
    the best of what it tried. When no probe reaches the target, ``reached`` is False and
    ``chosen`` is the probe with the highest PSNR (normally the lowest CRF tried).
    """
    if lo > hi or max_probes < 1:
        raise ValueError(f"empty CRF search: {lo}..{hi}, {max_probes} probes")
    tried: dict[int, Probe] = {}

    def probe(crf: int) -> Probe:
        if crf not in tried:
            tried[crf] = trial(crf)
        return tried[crf]

    while lo < hi and len(tried) < max_probes - 1:
        mid = (lo + hi + 1) // 2
        if probe(mid).psnr_db >= target_db:
            lo = mid
        else:
            hi = mid - 1
    if len(tried) < max_probes:
        probe(lo)  # the answer of the bisection, when it was not tried on the way
    ok = [p for p in tried.values() if p.psnr_db >= target_db]
    if ok:
        chosen = min(ok, key=lambda p: (p.bytes, -p.crf))
    else:
        chosen = max(tried.values(), key=lambda p: (p.psnr_db, -p.bytes))
    return CrfSearch(target_db, chosen, bool(ok), tuple(tried.values()))
