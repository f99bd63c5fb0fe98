"""Encoder settings: one frozen dataclass, validated once, plus TOML presets.

Precedence is defaults < config file < explicit arguments: :func:`load_settings` reads a preset
and applies overrides on top; :meth:`EncodeSettings.__post_init__` checks every field, so inner
code can trust a settings object.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidquant.codec.format import K_MAX, K_MIN, MAX_HEIGHT, MAX_WIDTH
from vidquant.errors import SettingsError

__all__ = [
    "AUDIO_MODES",
    "K_MAX",
    "K_MIN",
    "MAX_HEIGHT",
    "MAX_WIDTH",
    "EncodeSettings",
    "check_k",
    "load_settings",
]

AUDIO_MODES = ("copy", "opus", "none")


@dataclass(frozen=True)
class EncodeSettings:
    """How a video is turned into a palette video.

    Attributes
    ----------
    k
        Palette size, 2..256.
    keyint_s
        Longest time between keyframes, in seconds of presentation time.
    seed
        Seed of every random choice (pixel sampling, k-means); same seed, same file.
    start_s
        Skip source frames before this time, in seconds.
    duration_s
        Encode at most this many seconds (None: to the end).
    width
        Resize to this width (height keeps the aspect ratio); None keeps the source size.
    sample_pixels
        Pixels sampled from a frame for each k-means fit or update.
    scene_cut
        Mean absolute difference (0..255) between small thumbnails of consecutive frames above
        which a frame starts a new scene and becomes a keyframe.
    delta_min
        A palette entry is sent again only when one of its channels moved by at least this many
        8-bit levels.
    stickiness
        A pixel keeps its previous label while that colour is at most this much farther
        (Euclidean, 8-bit RGB units) from the pixel than the best colour: saves bits and flicker.
    quality
        The label coder's rate-distortion trade, 0..100: 100 codes the quantiser's labels
        losslessly; below it, block modes and labels that are close enough to the picture win
        when they save bits (lambda doubles every 10 steps down, see :func:`rd_lambda`).
    audio
        ``"copy"``: carry the source's audio packets where mp4 and mkv can hold them (AAC, MP3,
        Opus, AC-3, E-AC-3), else re-encode to Opus; ``"opus"``: always re-encode to Opus;
        ``"none"``: drop the audio.
    audio_stream
        Which audio stream to carry, 0-based among the source's audio streams.
    target_kbps
        Rate control: the whole file's bitrate (audio included) to stay under, in kbps. The
        encoder probes excerpts of the source and lowers k, then the width, until the estimate
        fits (see :mod:`vidquant.ratecontrol`); ``k`` and ``width`` are then the upper bounds.
    max_size
        Rate control by file size in bytes: the same as ``target_kbps`` for the clip's duration.
    """

    k: int = 32
    keyint_s: float = 5.0
    seed: int = 0
    start_s: float = 0.0
    duration_s: float | None = None
    width: int | None = None
    sample_pixels: int = 16384
    scene_cut: float = 30.0
    delta_min: int = 4
    stickiness: float = 6.0
    quality: int = 80
    audio: str = "copy"
    audio_stream: int = 0
    target_kbps: float | None = None
    max_size: int | None = None

    def __post_init__(self) -> None:
        check_k(self.k)
        check_float("keyint_s", self.keyint_s, 0.04, 3600.0)
        check_int("seed", self.seed, 0, 2**32 - 1)
        check_float("start_s", self.start_s, 0.0, 1e7)
        if self.duration_s is not None:
            check_float("duration_s", self.duration_s, 0.001, 1e7)
        if self.width is not None:
            check_int("width", self.width, 2, MAX_WIDTH)
        check_int("sample_pixels", self.sample_pixels, 1024, 4_000_000)
        check_float("scene_cut", self.scene_cut, 0.0, 255.0)
        check_int("delta_min", self.delta_min, 1, 255)
        check_float("stickiness", self.stickiness, 0.0, 442.0)
        check_int("quality", self.quality, 0, 100)
        if self.audio not in AUDIO_MODES:
            raise SettingsError(
                f"audio must be one of {', '.join(AUDIO_MODES)}, got {self.audio!r}",
                setting="audio",
            )
        check_int("audio_stream", self.audio_stream, 0, 63)
        if self.target_kbps is not None:
            check_float("target_kbps", self.target_kbps, 1.0, 1e7)
        if self.max_size is not None:
            check_int("max_size", self.max_size, 1000, 10**13)
        if self.target_kbps is not None and self.max_size is not None:
            raise SettingsError("give target_kbps or max_size, not both")

    @property
    def rd_lambda(self) -> int:
        """The label coder's lambda (squared 8-bit RGB error per bit) for :attr:`quality`."""
        return rd_lambda(self.quality)

    def replace(self, **changes: Any) -> EncodeSettings:
        """Return a copy with ``changes`` applied (and validated)."""
        return apply_overrides(self, changes, source="arguments")


def rd_lambda(quality: int) -> int:
    """Lambda for a quality of 0..100: 0 at 100 (lossless), then 2**((100 - q) / 10) - 1,
    rounded: 1 at 90, 7 at 70, 31 at 50, 1023 at 0."""
    return round(2 ** ((100 - quality) / 10)) - 1


def check_int(name: str, value: object, lo: int, hi: int) -> None:
    """Raise SettingsError unless ``value`` is an int in ``lo..hi``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{name} must be an integer {lo}..{hi}, got {value!r}", setting=name)
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be {lo}..{hi}, got {value}", setting=name)


def check_k(k: object) -> None:
    """Raise SettingsError unless ``k`` is a palette size (an int in ``K_MIN..K_MAX``)."""
    check_int("k", k, K_MIN, K_MAX)


def check_float(name: str, value: object, lo: float, hi: float) -> None:
    """Raise SettingsError unless ``value`` is a finite number in ``lo..hi``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{name} must be a number {lo}..{hi}, got {value!r}", setting=name)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise SettingsError(f"{name} must be {lo}..{hi}, got {value}", setting=name)


_FIELDS = {f.name for f in dataclasses.fields(EncodeSettings)}


def apply_overrides(
    base: EncodeSettings, changes: dict[str, Any], *, source: str
) -> EncodeSettings:
    """Return ``base`` with ``changes`` applied; ``source`` names where they came from."""
    unknown = sorted(set(changes) - _FIELDS)
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(_FIELDS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(_FIELDS))}"
        raise SettingsError(f"unknown setting {name!r} in {source}; {hint}", setting=name)
    try:
        return dataclasses.replace(base, **changes)
    except SettingsError as exc:
        if source == "arguments":
            raise
        raise SettingsError(f"{source}: {exc}", setting=exc.setting) from None
    except TypeError as exc:  # pragma: no cover - unknown keys are caught above
        raise SettingsError(f"bad settings in {source}: {exc}") from exc


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a TOML preset and return its ``[encode]`` table.

    Raises
    ------
    SettingsError
        The file is missing, not TOML, or has keys other than ``[encode]``.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError(f"config file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read config file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc
    extra = sorted(set(data) - {"encode", "description"})
    if extra:
        name = extra[0]
        if name in _FIELDS:
            raise SettingsError(
                f"setting {name!r} in config file {path} must be under the [encode] table",
                setting=name,
            )
        raise SettingsError(
            f"unknown key {name!r} in config file {path}; expected [encode] and description",
            setting=name,
        )
    table = data.get("encode", {})
    if not isinstance(table, dict):
        raise SettingsError(f"[encode] in config file {path} must be a table")
    return table


def load_settings(config: str | Path | None = None, **overrides: Any) -> EncodeSettings:
    """Build settings from defaults, then a config file, then explicit overrides.

    Overrides whose value is None are ignored, so CLI options left unset do not mask the preset.
    """
    settings = EncodeSettings()
    if config is not None:
        settings = apply_overrides(settings, load_config(config), source=f"config file {config}")
    given = {key: value for key, value in overrides.items() if value is not None}
    return apply_overrides(settings, given, source="arguments")
