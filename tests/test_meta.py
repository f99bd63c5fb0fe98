"""The HEAD metadata readers: what vidquant writes reads back, and hostile values never raise."""

from __future__ import annotations

import math

import pytest

from vidquant import __version__
from vidquant.codec import meta


def test_what_is_written_reads_back() -> None:
    m = meta.make_meta(
        settings={"start_s": 2.5, "duration_s": 4.0},
        source={"name": "clip.mp4", "codec": "h264", "width": 64, "height": 48},
    )
    assert list(m) == ["encoder", "settings", "source"]  # the key order files have always had
    assert meta.encoder_name(m) == f"vidquant {__version__}"
    assert meta.encode_start_s(m) == 2.5
    assert meta.encode_duration_s(m) == 4.0
    assert meta.source_name(m) == "clip.mp4"
    assert meta.still_time_s(m) is None  # a video's file
    still = meta.make_meta(still={"method": "kmeans", "k": 8, "time_s": 1.25}, source={})
    assert list(still) == ["encoder", "still", "source"]
    assert meta.still_time_s(still) == 1.25


@pytest.mark.parametrize(
    "bad",
    [None, [], "text", {"settings": "x"}, {"settings": {"start_s": "1"}}, {"settings": None}],
)
def test_missing_or_mistyped_tables_give_the_defaults(bad: object) -> None:
    assert meta.encode_start_s(bad) == 0.0
    assert meta.encode_duration_s(bad) is None
    assert meta.source_name(bad) is None
    assert meta.still_time_s(bad) is None
    assert meta.source_facts(bad) == {}
    assert meta.encoder_name(bad) == "?"


@pytest.mark.parametrize("value", [-1.0, math.inf, math.nan, True, "2"])
def test_bad_times_are_ignored(value: object) -> None:
    m = {"settings": {"start_s": value, "duration_s": value}, "still": {"time_s": value}}
    assert meta.encode_start_s(m) == 0.0
    assert meta.encode_duration_s(m) is None
    assert meta.still_time_s(m) == 0.0  # a still whose time is unreadable: its first frame


@pytest.mark.parametrize("name", ["../secret.mp4", "/etc/passwd", "a/b.mp4", "", 7])
def test_a_source_name_never_reaches_out_of_the_folder(name: object) -> None:
    assert meta.source_name({"source": {"name": name}}) is None


def test_a_long_encoder_name_is_cut() -> None:
    assert meta.encoder_name({"encoder": "x" * 500}) == "x" * 80
