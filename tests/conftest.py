"""Shared fixtures: media made by the tests themselves, never downloaded."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))

from media import make_clip, synthetic_frame  # noqa: E402
from vidquant import encode_file  # noqa: E402
from vidquant.settings import EncodeSettings  # noqa: E402
from vqfiles import GOLDEN_VQ, read_expected  # noqa: E402

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


# -- the explorer's pictures, folder and servers (test_explore_*.py) -------------------------


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 160x120 photo-like PNG: gradients, a disc, noise (thousands of colours)."""
    path = tmp_path_factory.mktemp("explore") / "photo.png"
    Image.fromarray(synthetic_frame(3, 160, 120)).save(path)
    return path


@pytest.fixture(scope="module")
def second(photo: Path) -> Path:
    """Another picture, of another size and other colours than ``photo``."""
    path = photo.with_name("second.png")
    Image.fromarray(synthetic_frame(20, 120, 90, seed=7)[:, ::-1]).save(path)
    return path


@pytest.fixture(scope="module")
def truncated(photo: Path) -> Path:
    """A PNG cut in the middle: its header reads, its pixels do not."""
    path = photo.with_name("truncated.png")
    data = photo.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture
def folder(tmp_path: Path, photo: Path, second: Path, truncated: Path, clip: Path) -> Path:
    """A folder of two pictures, a truncated one, a video, a text file and a sub-folder."""
    shutil.copy(second, tmp_path / "b.png")
    shutil.copy(photo, tmp_path / "a.PNG")
    shutil.copy(clip, tmp_path / "d.mp4")
    shutil.copy(truncated, tmp_path / "c.png")
    (tmp_path / "notes.txt").write_text("not a picture")
    (tmp_path / "older").mkdir()
    shutil.copy(photo, tmp_path / "older" / "e.png")  # not recursive: not listed
    return tmp_path


@pytest.fixture
def serve(request: pytest.FixtureRequest) -> Iterator:
    """``serve(sources, **options)``: a started :class:`Explorer`, stopped after the test."""
    from vidquant.apps.explore import Explorer  # only where an explorer is wanted

    started: list[Explorer] = []

    def start(sources: Path | list[Path], **options: object) -> Explorer:
        explorer = Explorer(sources, **options).start()
        started.append(explorer)
        return explorer

    yield start
    for explorer in started:
        explorer.stop()


@pytest.fixture(scope="module")
def vq_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """For the play tests: a 320x180, 24-frame clip at 12 fps and its .vq (k=16, a keyframe
    every 0.5 s)."""
    folder = tmp_path_factory.mktemp("play")
    clip = make_clip(folder / "clip.mp4", width=320, height=180, frames=24)
    vq = folder / "clip.vq"
    encode_file(clip, vq, EncodeSettings(k=16, keyint_s=0.5))
    return clip, vq


@pytest.fixture(scope="module")
def golden() -> bytes:
    """The committed golden file, tests/golden/tiny.vq."""
    return GOLDEN_VQ.read_bytes()


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    """What a decoder must show for the golden file (tests/golden/tiny_frames.npz)."""
    return read_expected()


# -- a real browser (test_explore_page.py, test_web_player.py) ---------------------------------

BROWSER_HINT = (
    "install Debian's packages: apt-get install -y chromium chromium-driver "
    '(and selenium: pip install -e ".[test]")'
)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """A headless Chromium under selenium; the tests fail without one, naming what to install."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    missing = [name for name, found in [("chromium", chromium), ("chromedriver", chromedriver),
               ("selenium", webdriver)] if not found]  # fmt: skip
    if missing:
        # Fail, never skip (as the play tests do): a skipped test would hide an untested page.
        pytest.fail(f"missing {', '.join(missing)}: {BROWSER_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # sound may start without a click (the player's audio tests press no button)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000",
                 "--autoplay-policy=no-user-gesture-required"):  # fmt: skip
        options.add_argument(flag)
    # An explicit driver: Selenium Manager would try to download one (there is no network).
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()
