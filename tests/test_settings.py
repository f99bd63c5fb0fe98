"""Settings validation and preset precedence."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from vidquant.errors import SettingsError
from vidquant.settings import EncodeSettings, load_settings

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
DESCRIBED = ("default", "small", "quality")


@pytest.mark.parametrize("k", [0, 1, 257, -1])
def test_bad_k(k: int) -> None:
    with pytest.raises(SettingsError, match=rf"k must be 2\.\.256, got {k}"):
        EncodeSettings(k=k)


def test_non_integer_k() -> None:
    with pytest.raises(SettingsError, match="k must be an integer"):
        EncodeSettings(k="many")  # type: ignore[arg-type]


def test_precedence_defaults_config_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "p.toml"
    cfg.write_text("[encode]\nk = 64\nkeyint_s = 2.0\n")
    s = load_settings(cfg, k=16, seed=None)
    assert (s.k, s.keyint_s, s.seed) == (16, 2.0, EncodeSettings().seed)


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    cfg = tmp_path / "typo.toml"
    cfg.write_text("[encode]\nkk = 3\n")
    with pytest.raises(SettingsError, match=r"unknown setting 'kk' in config file .*typo\.toml"):
        load_settings(cfg)


def test_bad_toml_and_missing_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[encode\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad)
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml")


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.toml")))
def test_shipped_presets_load(name: str) -> None:
    table = tomllib.loads((CONFIGS / name).read_text(encoding="utf-8"))["encode"]
    settings = load_settings(CONFIGS / name)
    defaults = EncodeSettings()
    assert table, f"{name} sets nothing"
    for field in dataclasses.fields(EncodeSettings):
        expected = table.get(field.name, getattr(defaults, field.name))
        assert getattr(settings, field.name) == expected, (name, field.name)


def test_shipped_presets_mean_what_they_say() -> None:
    default, small, quality = (load_settings(CONFIGS / f"{n}.toml") for n in DESCRIBED)
    assert default == EncodeSettings()  # "the defaults, written out"
    assert small.k < default.k < quality.k
    assert small.stickiness > default.stickiness > quality.stickiness
    assert small.quality < default.quality < quality.quality
    assert small.keyint_s > default.keyint_s >= quality.keyint_s


def test_presets_exist() -> None:
    assert {"default.toml", "small.toml", "quality.toml"} <= {
        p.name for p in CONFIGS.glob("*.toml")
    }
