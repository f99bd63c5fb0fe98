"""Shared fixtures: media made by the tests themselves, never downloaded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from media import make_clip  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_media" / "sample.mp4"


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 96x64, 24-frame H.264 clip at 12 fps with a moving disc and a little noise."""
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4", frames=24)


@pytest.fixture(scope="session")
def sample() -> Path:
    """The project's sample clip (real photographs; see sample_media/README.md)."""
    assert SAMPLE.exists(), "sample_media/sample.mp4 is missing: run sample_media/make_sample.py"
    return SAMPLE
