"""The frame reader: pixel formats, sizes, timestamps, limits."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from media import make_clip, synthetic_frame
from vidquant.errors import InputError
from vidquant.io.reader import VideoReader
from vidquant.metrics import psnr


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt", "min_psnr"),
    [
        ("h264_420.mp4", "libx264", "yuv420p", 26),
        ("h264_444.mp4", "libx264", "yuv444p", 33),
        ("h264_10bit.mkv", "libx264", "yuv420p10le", 26),
        ("gray.mkv", "ffv1", "gray", None),
        ("alpha.mkv", "ffv1", "yuva420p", 26),
        ("mpeg4.avi", "mpeg4", "yuv420p", 22),
        ("vp9.webm", "libvpx-vp9", "yuv420p", 22),
        ("h264.mov", "libx264", "yuv420p", 26),
        ("rgb.mkv", "ffv1", "bgr0", 99),
    ],
)
def test_pixel_formats_convert_to_rgb(
    tmp_path: Path, name: str, codec: str, pix_fmt: str, min_psnr: float | None
) -> None:
    opts = {"crf": "10", "preset": "ultrafast"} if codec == "libx264" else {}
    if codec == "mpeg4":
        opts = {"qscale": "2"}
    path = make_clip(tmp_path / name, frames=3, codec=codec, pix_fmt=pix_fmt, options=opts)
    with VideoReader(path) as reader:
        frames = list(reader)
    assert len(frames) == 3
    for frame in frames:
        assert frame.rgb.shape == (64, 96, 3) and frame.rgb.dtype == np.uint8
        assert frame.rgb.flags.c_contiguous
        expected = synthetic_frame(frame.index, 96, 64)
        if min_psnr is None:  # grayscale: all three channels equal, luminance-like
            assert np.array_equal(frame.rgb[..., 0], frame.rgb[..., 1])
        else:
            quality = psnr(expected, frame.rgb)
            assert quality > min_psnr, f"{name} frame {frame.index}: {quality:.1f} dB"


def test_odd_size(tmp_path: Path) -> None:
    path = make_clip(
        tmp_path / "odd.mkv", width=37, height=23, frames=2, codec="ffv1", pix_fmt="yuv444p"
    )
    with VideoReader(path) as reader:
        assert (reader.info.width, reader.info.height) == (37, 23)
        assert next(iter(reader)).rgb.shape == (23, 37, 3)


def test_variable_frame_rate_timestamps_survive(tmp_path: Path) -> None:
    tb = Fraction(1, 1000)
    pts = [0, 40, 80, 200, 240, 500, 540]
    path = make_clip(
        tmp_path / "vfr.mkv",
        frames=len(pts),
        codec="ffv1",
        pix_fmt="yuv444p",
        pts_list=pts,
        time_base=tb,
    )
    with VideoReader(path) as reader:
        frames = list(reader)
    times = [round(f.time_s, 3) for f in frames]
    assert times == [p / 1000 for p in pts]
    assert [f.duration for f in frames[:-1]] == [b - a for a, b in zip(pts, pts[1:], strict=False)]


def test_start_duration_and_resize(clip: Path) -> None:
    with VideoReader(clip, start_s=0.5, duration_s=0.5, width=48) as reader:
        frames = list(reader)
    assert len(frames) == 6  # 12 fps
    assert frames[0].pts == 0  # rebased
    assert frames[0].rgb.shape == (32, 48, 3)
    expected = synthetic_frame(6, 96, 64)
    import cv2

    assert psnr(cv2.resize(expected, (48, 32), interpolation=cv2.INTER_AREA), frames[0].rgb) > 25


def test_missing_directory_and_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        VideoReader(tmp_path / "nope.mp4")
    with pytest.raises(InputError, match="directory"):
        VideoReader(tmp_path)
    text = tmp_path / "text.mp4"
    text.write_text("this is not a video\n" * 10)
    with pytest.raises(InputError, match="cannot open"):
        VideoReader(text)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    import av

    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 4800), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 48000
        for packet in stream.encode(frame):
            container.mux(packet)
        container.mux(stream.encode(None))
    with pytest.raises(InputError, match="no video stream"):
        VideoReader(path)


def test_memory_does_not_hold_the_clip(clip: Path) -> None:
    import gc
    import weakref

    refs = []
    with VideoReader(clip) as reader:
        for frame in reader:
            refs.append(weakref.ref(frame.rgb.base if frame.rgb.base is not None else frame.rgb))
            del frame
            gc.collect()
    alive = sum(r() is not None for r in refs)
    assert alive <= 3, f"{alive} frame buffers still alive: the reader holds frames"


@pytest.mark.parametrize("name", ["gop.ts", "gop.mp4"])
@pytest.mark.parametrize("start_s", [0.55, 2.0, 3.3])
def test_start_lands_on_the_right_frame_in_multi_gop_files(
    tmp_path: Path, name: str, start_s: float
) -> None:
    """MPEG-TS seeks land after the target; the reader must notice and decode from the start."""
    path = make_clip(
        tmp_path / name, frames=48, options={"g": "12", "crf": "12", "preset": "ultrafast"}
    )
    with VideoReader(path, start_s=start_s, duration_s=0.5) as reader:
        frames = list(reader)
    on_screen = int(start_s * 12 + 1e-9)  # the source frame shown at start_s (12 fps)
    assert frames, f"{name}: nothing decoded from {start_s} s"
    best = max(range(48), key=lambda i: psnr(synthetic_frame(i, 96, 64), frames[0].rgb))
    assert best == on_screen, f"{name} --start {start_s}: began at frame {best}, not {on_screen}"
    assert frames[0].pts == 0 and len(frames) in (6, 7)


def test_last_frame_keeps_its_own_duration(tmp_path: Path) -> None:
    tb = Fraction(1, 1000)
    path = make_clip(
        tmp_path / "hold.mkv",
        frames=3,
        codec="ffv1",
        pix_fmt="yuv444p",
        pts_list=[0, 40, 80],
        time_base=tb,
    )
    with VideoReader(path) as reader:
        frames = list(reader)
    assert frames[-1].duration > 0
    assert [f.duration for f in frames[:2]] == [40, 40]


def test_output_size_limit(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "tall.mkv", width=20, height=100, frames=1, codec="ffv1")
    with pytest.raises(InputError, match="larger than the 7680x4320 limit"):
        VideoReader(path, width=1000)


def test_start_inside_the_last_frame(clip: Path) -> None:
    with VideoReader(clip, start_s=1.95) as reader:  # 24 frames at 12 fps: the last is 1.917-2.0
        frames = list(reader)
    assert len(frames) == 1
    assert psnr(synthetic_frame(23, 96, 64), frames[0].rgb) > 26


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotation_metadata_is_honoured(tmp_path: Path, degrees: int) -> None:
    """Phone video: frames come out as players show them (like FFmpeg's autorotate)."""
    import av

    path = tmp_path / f"rot{degrees}.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=12, options={"crf": "10", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv444p"
        stream.set_display_rotation(degrees)
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(synthetic_frame(i, 96, 64), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame.reformat(format="yuv444p")))
        out.mux(stream.encode(None))
    with VideoReader(path) as reader:
        frames = list(reader)
        turned = degrees in (90, 270)
        assert (reader.info.width, reader.info.height) == ((64, 96) if turned else (96, 64))
    expected = np.rot90(synthetic_frame(0, 96, 64), degrees // 90)
    assert frames[0].rgb.shape == expected.shape
    assert psnr(expected, frames[0].rgb) > 30
    with VideoReader(path, width=32) as reader:  # resizing works on the turned size
        assert next(iter(reader)).rgb.shape == ((48, 32, 3) if turned else (21, 32, 3))
