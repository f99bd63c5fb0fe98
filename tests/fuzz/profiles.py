"""How much fuzzing a pytest run does, and the line it reports: the Hypothesis profiles and
example counts, the atheris seconds, and the tally of how deep the inputs got.

Budgets: ``VIDQUANT_FUZZ`` unset = the CI profile ``fuzz-ci`` (derandomized, fixed example
counts, about a minute for all the fuzz tests with the atheris runs); ``VIDQUANT_FUZZ=long`` =
the ``fuzz-long`` profile (random, many more examples, failures saved to the Hypothesis
database). ``VIDQUANT_FUZZ_SECONDS`` sets each atheris run's length (CI default 20 s, both
harnesses in parallel); ``VIDQUANT_FUZZ_SCALE`` multiplies the Hypothesis example counts
(default 1, long 100). The profiles are applied per test, never loaded globally, so other test
files keep theirs. See tests/fuzz/README.md.
"""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import settings

LONG = os.environ.get("VIDQUANT_FUZZ", "").lower() == "long"
ATHERIS_SECONDS = int(os.environ.get("VIDQUANT_FUZZ_SECONDS", "600" if LONG else "20"))

# CI: derandomize=True makes every run try the same examples, so a red CI is reproducible and
# caused by a code change, never by luck; database=None keeps CI from replaying (or writing)
# local failures. Finding new inputs is the long profile's job: random, with the example
# database on so a failure it finds is replayed first next time.
settings.register_profile(
    "fuzz-ci", deadline=None, derandomize=True, database=None, print_blob=True
)
settings.register_profile("fuzz-long", deadline=None, derandomize=False, print_blob=True)
PROFILE = settings.get_profile("fuzz-long" if LONG else "fuzz-ci")

# Examples per test in CI (about 30 s for all of them together when nothing fails); the long
# profile multiplies them by 100 (VIDQUANT_FUZZ_SCALE).
CI_EXAMPLES = {
    "mutated": 2500,
    "crafted": 1200,
    "random": 500,
    "labels": 2000,
    "blocks": 600,
    "repeated": 12,
}


SCALE = float(os.environ.get("VIDQUANT_FUZZ_SCALE", "100" if LONG else "1"))


def fuzz_settings(name: str, **kw) -> settings:
    return settings(PROFILE, max_examples=max(1, round(CI_EXAMPLES[name] * SCALE)), **kw)


# pytest-timeout (300 s per test in pyproject.toml) must not cut a long run short
long_timeout = pytest.mark.timeout(0) if LONG else pytest.mark.timeout(300)


def report(capsys, text: str) -> None:
    """Show ``text`` in the pytest output even without ``-s`` (the CI log keeps the counts)."""
    with capsys.disabled():
        print(f"\n[fuzz] {text}", end="")


class Tally:
    """Examples run and how deep they got, for the report line."""

    def __init__(self) -> None:
        self.count = 0
        self.stages: dict[str, int] = {}
        self.start = time.perf_counter()

    def add(self, stage: str) -> None:
        self.count += 1
        self.stages[stage] = self.stages.get(stage, 0) + 1

    def line(self, name: str) -> str:
        seconds = time.perf_counter() - self.start
        stages = ", ".join(f"{k}: {v}" for k, v in sorted(self.stages.items()))
        return f"{name}: {self.count} examples in {seconds:.1f} s ({stages})"
