"""``vidquant inspect``: the palette timeline against a full decode, the pictures, the original
found, given or missing, and the command line's exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vidquant.cli.inspect  # noqa: F401 - registers the inspect command
from cliutil import invoke, one_line_error
from vidquant import metrics
from vidquant.apps import inspect as inspection
from vidquant.apps.inspect import inspect_file, read_palette_timeline
from vidquant.cli.common import EXIT_FORMAT, EXIT_OUTPUT, EXIT_USAGE
from vidquant.decoder import open_vq
from vidquant.encode import encode_file
from vidquant.errors import SettingsError
from vidquant.io.reader import VideoReader
from vidquant.settings import EncodeSettings


@pytest.fixture(scope="module")
def vq(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 24-frame clip (2 s at 12 fps) at k=8 with a keyframe at least every 0.5 s, beside
    its source (so the source named in the header is found)."""
    folder = tmp_path_factory.mktemp("inspect")
    src = shutil.copy(clip, folder / "clip.mp4")
    encode_file(src, folder / "clip.vq", EncodeSettings(k=8, keyint_s=0.5, audio="none"))
    return folder / "clip.vq"


@pytest.fixture
def lone_vq(vq: Path, tmp_path: Path) -> Path:
    """The same file in a folder without its source."""
    return Path(shutil.copy(vq, tmp_path / "lone.vq"))


def _decoded(path: Path) -> list:
    with open_vq(path) as dec:
        return list(dec.iter_frames())


def _assert_png(path: Path) -> None:
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width > 300 and im.height > 150, path


# --- the palette timeline ---------------------------------------------------------------------


def test_timeline_counts_the_coded_bytes_the_encoder_wrote(clip: Path, tmp_path: Path) -> None:
    report = encode_file(clip, tmp_path / "c.vq", EncodeSettings(k=8, audio="none"))
    with open_vq(tmp_path / "c.vq") as dec:
        timelines = [read_palette_timeline(dec, measure_frame=i) for i in range(report.frames)]
    assert timelines[0].coded_bytes == report.sizes.labels + report.sizes.palettes
    assert sum(t.frame_bytes for t in timelines) == timelines[0].coded_bytes
    assert all(t.frame_bytes > 0 for t in timelines)


def test_timeline_equals_the_decoded_palettes_bit_for_bit(vq: Path) -> None:
    frames = _decoded(vq)
    with open_vq(vq) as dec:
        timeline = read_palette_timeline(dec)
        _, index = dec.read_index()
    assert timeline.total_frames == len(frames) == 24
    assert timeline.frame_step == 1 and timeline.keyframe_step == 1
    assert timeline.frames.tolist() == list(range(24))
    for f, palette, t in zip(frames, timeline.palettes, timeline.times_s, strict=True):
        assert np.array_equal(palette, f.palette), f"palette of frame {f.index} differs"
        assert t == f.time_s, f"time of frame {f.index}"
    keyframes = [f.time_s for f in frames if f.keyframe]
    assert len(keyframes) >= 4, "keyint 0.5 s over 2 s: at least 4 keyframes"
    assert timeline.keyframe_times_s.tolist() == keyframes
    assert timeline.total_keyframes == len(index)
    assert timeline.end_s == pytest.approx(2.0, abs=1e-6)


def test_timeline_is_thinned_evenly_when_long(vq: Path) -> None:
    frames = _decoded(vq)
    keyframes = [f.time_s for f in frames if f.keyframe]
    with open_vq(vq) as dec:
        timeline = read_palette_timeline(dec, max_columns=3)
    step = timeline.frame_step
    assert step == 8 and timeline.frames.tolist() == [0, 8, 16]
    for j, n in enumerate(timeline.frames):
        assert np.array_equal(timeline.palettes[j], frames[n].palette), f"frame {n}"
    assert len(timeline.keyframe_times_s) <= 3
    assert timeline.keyframe_times_s.tolist() == keyframes[:: timeline.keyframe_step]


@pytest.mark.parametrize("capacity", [2, 3, 7])
def test_even_sample_keeps_every_step_th_item_within_capacity(capacity: int) -> None:
    for n in range(1, 60):
        sample = inspection._EvenSample(capacity, ((), np.int64))
        for i in range(n):
            sample.offer(i)
        (kept,) = sample.values()
        assert len(kept) <= capacity
        assert kept.tolist() == list(range(0, n, sample.step)), f"{n} items"


# --- the library call -------------------------------------------------------------------------


def test_inspect_finds_the_source_named_in_the_header(vq: Path, tmp_path: Path) -> None:
    out = tmp_path / "pics"
    report = inspect_file(vq, 1.04, out=out)
    assert report.original == vq.parent / "clip.mp4" and report.note is None
    assert report.frame == 12 and report.time_s == pytest.approx(1.0)
    assert report.k == 8 and 2 <= report.colours <= 8
    assert report.psnr_db is not None and report.psnr_db > 20
    assert [p.name for p in report.pictures] == [
        f"frame_000012_{kind}.png" for kind in inspection.PICTURES
    ]
    for path in report.pictures:
        _assert_png(path)
    assert sorted(out.iterdir()) == sorted(report.pictures), "no temporary left"


def test_inspect_with_a_given_original_and_without_one(lone_vq: Path, clip: Path) -> None:
    missing = inspect_file(lone_vq, 0.5)
    assert missing.original is None and missing.psnr_db is None
    assert "clip.mp4 is not beside lone.vq" in missing.note
    assert all(p.parent == lone_vq.parent / "lone.inspect" for p in missing.pictures)
    for path in missing.pictures:
        _assert_png(path)
    given = inspect_file(lone_vq, 0.5, original=clip, force=True)
    assert given.original == clip and given.note is None
    # the pictures show the original's frame at the same time: the PSNR is that frame's
    frame = next(f for f in _decoded(lone_vq) if f.index == given.frame)
    with VideoReader(clip, start_s=frame.time_s + 0.01, width=96) as reader:
        source = next(iter(reader)).rgb
    assert given.psnr_db == pytest.approx(metrics.psnr(source, frame.to_rgb()))


def test_inspect_pairs_the_original_after_encode_start(clip: Path, tmp_path: Path) -> None:
    late = tmp_path / "late.vq"
    encode_file(clip, late, EncodeSettings(k=8, start_s=1.0, audio="none"))
    report = inspect_file(late, 0.25, original=clip, out=tmp_path / "o")
    frame = next(f for f in _decoded(late) if f.index == report.frame)
    with VideoReader(clip, start_s=1.0 + frame.time_s + 0.01, width=96) as reader:
        source = next(iter(reader)).rgb
    assert report.psnr_db == pytest.approx(metrics.psnr(source, frame.to_rgb()))


@pytest.mark.parametrize("time_s", [-0.1, 2.0, 99.0, float("nan")])
def test_a_time_outside_the_video_is_a_settings_error(lone_vq: Path, time_s: float) -> None:
    with pytest.raises(SettingsError, match=r"less than 2\.000 s \(the end of lone\.vq\)"):
        inspect_file(lone_vq, time_s)
    assert not (lone_vq.parent / "lone.inspect").exists()


def test_a_failed_picture_leaves_none(
    lone_vq: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(inspection, "save_palette_timeline", broken)
    out = tmp_path / "pics"
    with pytest.raises(OSError, match="No space left"):
        inspect_file(lone_vq, 0.0, out=out)
    assert not out.exists(), "the folder made for the pictures was left behind"
    out.mkdir()
    with pytest.raises(OSError, match="No space left"):
        inspect_file(lone_vq, 0.0, out=out)
    assert not list(out.iterdir()), "a failed run left pictures or temporaries"


# --- the command line -------------------------------------------------------------------------


def test_cli_writes_the_pictures_and_a_summary(vq: Path, tmp_path: Path) -> None:
    out = tmp_path / "pics"
    result = invoke("inspect", vq, "--frame", "0.5", "-o", out)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("frame 6 at 0.500 s, keyframe: k=8, ")
    assert "PSNR" in lines[0] and "clip.mp4" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["wrote"] * 4
    assert len(list(out.glob("frame_000006_*.png"))) == 4
    again = invoke("inspect", vq, "--frame", "0.5", "-o", out)
    assert again.exit_code == EXIT_OUTPUT
    assert "use --force" in one_line_error(again)
    assert invoke("inspect", vq, "--frame", "0.5", "-o", out, "--force").exit_code == 0
    other = invoke("inspect", vq, "--frame", "1", "-o", out)  # another frame adds to the folder
    assert other.exit_code == 0 and len(list(out.glob("*.png"))) == 8


def test_cli_says_when_there_is_no_original(lone_vq: Path, tmp_path: Path) -> None:
    result = invoke("inspect", lone_vq, "-o", tmp_path / "pics")
    assert result.exit_code == 0, result.stderr
    assert "no original: its source clip.mp4 is not beside lone.vq" in result.stdout


def test_cli_frame_past_the_end_is_a_usage_error(lone_vq: Path, tmp_path: Path) -> None:
    result = invoke("inspect", lone_vq, "--frame", "5", "-o", tmp_path / "pics")
    assert result.exit_code == EXIT_USAGE
    line = one_line_error(result)
    assert "--frame must be at least 0 s and less than 2.000 s" in line and "got 5" in line
    assert not (tmp_path / "pics").exists()


def test_cli_corrupt_file_is_a_format_error(lone_vq: Path, tmp_path: Path) -> None:
    data = bytearray(lone_vq.read_bytes())
    data[200] ^= 0xFF
    lone_vq.write_bytes(bytes(data))
    result = invoke("inspect", lone_vq, "-o", tmp_path / "pics")
    assert result.exit_code == EXIT_FORMAT
    assert "offset" in one_line_error(result)
    assert not (tmp_path / "pics").exists()
