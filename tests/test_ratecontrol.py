"""Rate control: --target-kbps and --max-size pick k and width by trial encodes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from media import make_clip
from vidquant.cli.common import EXIT_USAGE, parse_size
from vidquant.cli.main import app
from vidquant.encode import encode_file
from vidquant.errors import SettingsError
from vidquant.ratecontrol import _ladder, plan_rate
from vidquant.settings import EncodeSettings


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 160x96 clip whose every frame moves (a pan with noise): it costs real bits."""
    return make_clip(tmp_path_factory.mktemp("rate") / "busy.mp4", width=160, height=96, frames=24)


def test_ladder_starts_at_the_request_and_falls() -> None:
    rungs = _ladder(32, 640)
    assert rungs[0] == (32, 640)
    assert rungs[-1] == (4, 160)
    assert len(set(rungs)) == len(rungs)
    proxy = [w * w * math.log2(k) for k, w in rungs]
    assert all(a >= b for a, b in zip(proxy, proxy[1:], strict=False))
    assert all(w % 2 == 0 for _, w in rungs)


def test_a_generous_target_changes_nothing(busy: Path) -> None:
    plan = plan_rate(busy, EncodeSettings(k=32, audio="none", target_kbps=1e6))
    assert (plan.settings.k, plan.settings.width) == (32, 160)
    assert plan.fits and plan.probes == 1
    assert plan.settings.target_kbps is None


def test_a_tight_target_is_met_by_the_whole_file(busy: Path, tmp_path: Path) -> None:
    full = encode_file(busy, tmp_path / "full.vq", EncodeSettings(k=32, audio="none"))
    target = full.kbps * 0.5
    report = encode_file(
        busy, tmp_path / "rc.vq", EncodeSettings(k=32, audio="none", target_kbps=target)
    )
    assert report.rate is not None and report.rate.fits
    used = report.settings
    assert (used.k, used.width) != (32, None)
    assert report.kbps <= target
    assert report.kbps >= 0.3 * target  # it did not give away far more than it had to


def test_max_size_bounds_the_file(busy: Path, tmp_path: Path) -> None:
    out = tmp_path / "small.vq"
    report = encode_file(busy, out, EncodeSettings(k=32, audio="none", max_size=20_000))
    assert out.stat().st_size <= 20_000
    assert report.rate is not None and report.rate.target_kbps == pytest.approx(20_000 * 8 / 2000)


def test_an_impossible_target_says_so(busy: Path) -> None:
    plan = plan_rate(busy, EncodeSettings(k=32, audio="none", target_kbps=1.0))
    assert not plan.fits
    assert (plan.settings.k, plan.settings.width) == _ladder(32, 160)[-1]


def test_audio_counts_against_the_target(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "a.mp4", width=96, height=64, frames=24, audio=True)
    plan = plan_rate(src, EncodeSettings(target_kbps=500))
    assert plan.audio_kbps > 10
    silent = plan_rate(src, EncodeSettings(target_kbps=500, audio="none"))
    assert silent.audio_kbps == 0


def test_target_and_max_size_together_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="not both"):
        EncodeSettings(target_kbps=100, max_size=10_000)
    with pytest.raises(SettingsError, match="target_kbps"):
        EncodeSettings(target_kbps=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1500", 1500), ("500k", 500_000), ("2M", 2_000_000), ("1.5G", 1_500_000_000), ("3MB", 3e6)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["2x", "", "-5k", "nan", "M"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(SettingsError):
        parse_size(text)


def test_cli_reports_the_target(busy: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli.vq"
    result = runner.invoke(app, ["encode", str(busy), "-o", str(out), "--max-size", "20k", "-q"])
    assert result.exit_code == 0, result.output
    assert "rate control: target 80 kbps met" in result.stdout
    assert out.stat().st_size <= 20_000
    bad = runner.invoke(app, ["encode", str(busy), "--max-size", "lots"])
    assert bad.exit_code == EXIT_USAGE
