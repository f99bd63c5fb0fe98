"""Inputs to encode that are missing, broken, odd or extreme: each gets a one-line error and an
exit code, or it works, with its size, colours and timing intact.

Every file is made here (faultmedia.py, media.py) with PyAV and numpy; the command runs in
process through Typer's CliRunner, as in test_cli.py.
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from cliutil import invoke, one_line_error
from faultmedia import (
    damage_packets,
    patch_colours,
    patch_frame,
    truncate,
    video_packets,
    write_audio_only,
    write_image,
    write_no_frames,
    write_video,
)
from media import make_clip, synthetic_frame
from vidquant.cli.common import EXIT_INPUT
from vidquant.decoder import open_vq
from vidquant.frames import Frame
from vidquant.io.reader import VideoReader
from vidquant.metrics import luma, psnr

W, H = 48, 32  # the size of most test pictures: 6 x 4 patches of 8 pixels


def encode_ok(src: Path, vq: Path, *args: object) -> str:
    """Encode ``src`` into ``vq`` through the CLI; expect success; return stderr."""
    result = invoke("encode", src, "-o", vq, "-q", "--force", *args)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.stderr}"
    assert "Traceback" not in result.output + result.stderr
    return result.stderr


def encode_fails(src: Path, tmp: Path) -> str:
    """Encode ``src`` through the CLI; expect exit code 3 and no output; return the error."""
    out = tmp / f"{src.name}.vq"
    result = invoke("encode", src, "-o", out, "-q")
    assert result.exit_code == EXIT_INPUT, f"exit {result.exit_code}: {result.stderr}"
    assert not out.exists(), "a failed encode left its output"
    return one_line_error(result)


def vq_frames(vq: Path) -> list[Frame]:
    with open_vq(vq) as decoder:
        return list(decoder.iter_rgb())


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.lower().startswith("vidquant: warn")]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults")


# --- not a video at all --------------------------------------------------------------------


def _missing(d: Path) -> Path:
    return d / "missing.mp4"


def _directory(d: Path) -> Path:
    (d / "folder.mp4").mkdir(exist_ok=True)
    return d / "folder.mp4"


def _empty(d: Path) -> Path:
    (d / "empty.mp4").write_bytes(b"")
    return d / "empty.mp4"


def _text(d: Path) -> Path:
    (d / "notes.mp4").write_text("these are my notes, not a video\n" * 20)
    return d / "notes.mp4"


def _audio_only(d: Path) -> Path:
    return write_audio_only(d / "tone.m4a")


def _no_frames_avi(d: Path) -> Path:
    return write_no_frames(d / "none.avi", codec="mpeg4")


def _no_frames_webm(d: Path) -> Path:
    return write_no_frames(d / "none.webm", codec="libvpx-vp9")


def _no_frames_mp4(d: Path) -> Path:
    return write_no_frames(d / "none.mp4", codec="libx264")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_missing, "input file not found: "),
        (_directory, "input is a directory, not a video file: "),
        (_empty, "input file is empty (0 bytes): "),
        (_text, "as a video: Invalid data found when processing input"),
        (_audio_only, "has no video stream (it holds 1 audio stream)"),
        (_no_frames_avi, "the video stream holds no frames"),
        (_no_frames_webm, "the file ends before its first frame"),
        (_no_frames_mp4, "has no video stream: it holds no stream at all"),
    ],
    ids=[
        "missing",
        "directory",
        "empty",
        "text",
        "audio-only",
        "0-frames-avi",
        "0-frames-webm",
        "0-frames-mp4",
    ],
)
def test_not_a_video(tmp_path: Path, make, expected: str) -> None:
    src = make(tmp_path)
    line = encode_fails(src, tmp_path)
    assert expected in line, line
    assert str(src) in line  # which file


# --- still images and one frame ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "codec", "min_psnr"), [("a.png", "png", 99), ("a.jpg", "mjpeg", 30)]
)
def test_still_image_is_a_one_frame_video(
    tmp_path: Path, name: str, codec: str, min_psnr: float
) -> None:
    picture = patch_frame(0, W, H)
    src = write_image(tmp_path / name, picture, codec=codec)
    vq = tmp_path / "still.vq"
    encode_ok(src, vq, "-k", "32")
    frames = vq_frames(vq)
    assert len(frames) == 1 and frames[0].rgb.shape == (H, W, 3)
    assert frames[0].duration > 0
    assert psnr(picture, frames[0].rgb) >= min_psnr  # 24 colours fit a palette of 32


def test_one_frame_video(tmp_path: Path) -> None:
    src = write_video(tmp_path / "one.mp4", [patch_frame(0, W, H)], pix_fmt="yuv444p")
    vq = tmp_path / "one.vq"
    encode_ok(src, vq, "-k", "32")
    frames = vq_frames(vq)
    assert len(frames) == 1
    assert frames[0].duration_s == pytest.approx(1 / 12, abs=1e-3)  # its own duration, kept
    assert psnr(patch_frame(0, W, H), frames[0].rgb) > 35


# --- sizes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[(1, 1), (2, 2), (33, 17)], ids=["1x1", "2x2", "33x17"])
def tiny(request, media: Path) -> tuple[Path, int, int]:
    """A 3-frame .vq of a tiny or odd size, encoded through the CLI."""
    w, h = request.param
    src = write_video(
        media / f"size{w}x{h}.mkv",
        [patch_frame(i, w, h, patch=4) for i in range(3)],
        codec="ffv1",
        pix_fmt="yuv444p",
    )
    vq = media / f"size{w}x{h}.vq"
    encode_ok(src, vq, "-k", "32")
    return vq, w, h


def test_tiny_and_odd_sizes_encode(tiny) -> None:
    vq, w, h = tiny
    frames = vq_frames(vq)
    assert len(frames) == 3
    for f in frames:
        assert f.rgb.shape == (h, w, 3)
        assert psnr(patch_frame(f.index, w, h, patch=4), f.rgb) > 35


def test_tiny_and_odd_sizes_decode_to_mp4(tiny, tmp_path: Path) -> None:
    vq, w, h = tiny
    out = tmp_path / "out.mp4"
    result = invoke("decode", vq, "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        # yuv420p needs even sizes: odd ones are padded by one row/column
        assert (stream.codec_context.width, stream.codec_context.height) == (w + w % 2, h + h % 2)
        back = [f.to_ndarray(format="rgb24")[:h, :w] for f in container.decode(stream)]
    assert len(back) == 3
    for f, rgb in zip(vq_frames(vq), back, strict=True):
        assert psnr(f.rgb, rgb) > 28  # H.264 at CRF 16 with 4:2:0 chroma


def test_tiny_and_odd_sizes_decode_to_mkv_and_png(tiny, tmp_path: Path) -> None:
    vq, w, h = tiny
    frames = vq_frames(vq)
    mkv = tmp_path / "out.mkv"
    assert invoke("decode", vq, "-o", mkv, "-q").exit_code == 0
    with VideoReader(mkv) as reader:
        back = list(reader)
    assert [f.pts for f in back] == [f.pts for f in frames]
    for f, b in zip(frames, back, strict=True):
        assert np.array_equal(f.rgb, b.rgb)  # lossless
    folder = tmp_path / "png"
    assert invoke("decode", vq, "-o", folder, "-q").exit_code == 0
    pngs = sorted(folder.glob("frame_*.png"))
    assert len(pngs) == 3
    for f, png in zip(frames, pngs, strict=True):
        assert np.array_equal(cv2.imread(str(png))[:, :, ::-1], f.rgb)


def test_resolution_above_the_limit_is_refused(tmp_path: Path) -> None:
    # 7682 x 16, one FFV1 frame: a few kB, but 2 pixels wider than the format allows
    src = make_clip(tmp_path / "wide.mkv", width=7682, height=16, frames=1, codec="ffv1")
    line = encode_fails(src, tmp_path)
    assert "7682x16 is larger than the 7680x4320 limit" in line, line


# --- pixel formats: colours must come through -------------------------------------------------

# (file name, codec, pixel format, (width, height), patch size, alpha, minimum PSNR in dB)
# PSNR is over the whole picture, so 4:2:0 chroma at the patches' edges limits it; swscale's
# 10-bit 4:2:0 path upsamples chroma with a wider filter than its 8-bit one (about 24 dB here,
# 33 dB for 8-bit). A wrong colour matrix or range shows in the patches' insides instead.
# Sizes: libx265's 10-bit lookahead writes out of bounds below 64 pixels (valgrind: heap
# corruption at 48x32), and prores_ks writes different files from run to run at 48x32 (not
# at 64x64), so both get 64x64 pictures of 16-pixel patches.
FORMATS = [
    ("hevc10.mp4", "libx265", "yuv420p10le", (64, 64), 16, False, 22),  # size: see above
    ("h264_10.mkv", "libx264", "yuv420p10le", (W, H), 8, False, 21),
    ("prores10.mov", "prores_ks", "yuv422p10le", (64, 64), 16, False, 38),  # size: see above
    ("vp9_alpha.webm", "libvpx-vp9", "yuva420p", (W, H), 8, True, 30),
    ("png_rgba.mov", "png", "rgba", (W, H), 8, True, 40),
    ("ffv1_alpha.mkv", "ffv1", "yuva420p", (W, H), 8, True, 30),
    ("gray.mp4", "libx264", "gray", (W, H), 8, False, 40),
    ("gray.mkv", "ffv1", "gray", (W, H), 8, False, 40),
    ("yuv444.mp4", "libx264", "yuv444p", (W, H), 8, False, 38),
]


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt", "size", "patch", "alpha", "min_psnr"),
    FORMATS,
    ids=[f[0] for f in FORMATS],
)
def test_pixel_formats_keep_their_colours(
    tmp_path: Path,
    name: str,
    codec: str,
    pix_fmt: str,
    size: tuple[int, int],
    patch: int,
    alpha: bool,
    min_psnr: float,
) -> None:
    w, h = size
    pictures = [patch_frame(i, w, h, patch=patch) for i in range(3)]
    if alpha:  # 70 % opaque everywhere: the colour planes hold the colours, unmixed
        written = [np.dstack([p, np.full((h, w), 180, np.uint8)]) for p in pictures]
    else:
        written = pictures
    options = {"crf": "10", "b": "0"} if codec == "libvpx-vp9" else None
    src = write_video(tmp_path / name, written, codec=codec, pix_fmt=pix_fmt, options=options)
    grey = pix_fmt.startswith("gray")
    if grey:  # expected: BT.601 luma, as swscale makes grey
        pictures = [
            np.repeat(np.round(luma(p))[..., None], 3, 2).astype(np.uint8) for p in pictures
        ]
    vq = tmp_path / "out.vq"
    encode_ok(src, vq, "-k", "64")
    frames = vq_frames(vq)
    assert len(frames) == 3
    for f, expected in zip(frames, pictures, strict=True):
        assert f.rgb.shape == (h, w, 3)
        quality = psnr(expected, f.rgb)
        assert quality >= min_psnr, f"{name} frame {f.index}: {quality:.1f} dB"
        shift = np.abs(
            patch_colours(f.rgb, patch=patch) - patch_colours(expected, patch=patch)
        ).max()
        # BT.601 read as BT.709 moves a patch by 26 levels here, a full/limited range mix-up by 19
        assert shift <= 10, f"{name} frame {f.index}: a patch's colour is off by {shift} levels"
        if grey:
            assert np.array_equal(f.rgb[..., 0], f.rgb[..., 1])
            assert np.array_equal(f.rgb[..., 0], f.rgb[..., 2])
    if alpha:
        with VideoReader(src) as reader:
            next(iter(reader))
            assert reader.alpha_dropped


# --- timing and rotation --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vfr.mkv", "vfr.mp4"])
def test_variable_frame_rate_keeps_its_timestamps(tmp_path: Path, name: str) -> None:
    tb = Fraction(1, 1000)
    pts = [0, 40, 80, 200, 240, 500, 540, 900]
    codec, pix_fmt = ("ffv1", "yuv444p") if name.endswith(".mkv") else ("libx264", "yuv420p")
    src = write_video(
        tmp_path / name,
        [patch_frame(i, W, H) for i in range(len(pts))],
        codec=codec,
        pix_fmt=pix_fmt,
        pts=pts,
        time_base=tb,
    )
    vq = tmp_path / "vfr.vq"
    encode_ok(src, vq)
    frames = vq_frames(vq)
    times = [p / 1000 for p in pts]
    assert [round(f.time_s, 3) for f in frames] == times
    assert [round(f.duration_s, 3) for f in frames[:-1]] == [
        round(b - a, 3) for a, b in zip(times, times[1:], strict=False)
    ]
    mkv = tmp_path / "back.mkv"
    assert invoke("decode", vq, "-o", mkv, "-q").exit_code == 0
    with VideoReader(mkv) as reader:
        assert [round(f.time_s, 3) for f in reader] == times
    folder = tmp_path / "png"
    assert invoke("decode", vq, "-o", folder, "-q").exit_code == 0
    with open(folder / "frames.csv", newline="", encoding="utf-8") as f:
        assert [round(float(row["time_s"]), 3) for row in csv.DictReader(f)] == times


@pytest.mark.parametrize("degrees", [90, 270])
def test_phone_rotation_comes_out_upright(tmp_path: Path, degrees: int) -> None:
    src = write_video(
        tmp_path / f"phone{degrees}.mp4",
        [patch_frame(i, W, H) for i in range(2)],
        pix_fmt="yuv444p",
        rotation=degrees,
    )
    vq = tmp_path / "phone.vq"
    encode_ok(src, vq)
    frames = vq_frames(vq)
    assert len(frames) == 2
    for f in frames:
        upright = np.rot90(patch_frame(f.index, W, H), degrees // 90)  # as players show it
        assert f.rgb.shape == upright.shape == (W, H, 3)
        assert psnr(upright, f.rgb) > 35
    result = invoke("info", vq)
    assert result.exit_code == 0 and f"{H}x{W}" in result.stdout


# --- files cut short ------------------------------------------------------------------------

CLIP_FRAMES = 48  # 4 s at 12 fps


@pytest.fixture(scope="module")
def clip_files(media: Path) -> dict[str, Path]:
    """The same 4 s clip as an mp4 with its index at the end (the default), an mp4 with its
    index in front (``+faststart``) and an mkv."""
    pictures = [patch_frame(i, W, H) for i in range(CLIP_FRAMES)]
    return {
        "mp4": write_video(media / "clip.mp4", pictures),
        "faststart": write_video(
            media / "clip_fs.mp4", pictures, container_options={"movflags": "+faststart"}
        ),
        "mkv": write_video(media / "clip.mkv", pictures),
    }


def test_mp4_cut_short_without_its_index_is_refused_clearly(
    clip_files: dict[str, Path], tmp_path: Path
) -> None:
    cut = truncate(clip_files["mp4"], tmp_path / "cut.mp4", 0.5)
    line = encode_fails(cut, tmp_path)
    assert "the file is cut short" in line and "moov" in line, line


@pytest.mark.parametrize("kind", ["faststart", "mkv"])
def test_file_cut_short_encodes_what_decodes_and_warns(
    clip_files: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    src = clip_files[kind]
    cut = truncate(src, tmp_path / f"cut{src.suffix}", 0.5)
    with VideoReader(cut) as reader:
        decodable = len(list(reader))
        assert reader.ended_early is not None and "ended early" in reader.ended_early
        assert "cut short" in reader.ended_early
    assert 5 < decodable < CLIP_FRAMES
    vq = tmp_path / "cut.vq"
    stderr = encode_ok(cut, vq)
    frames = vq_frames(vq)
    assert len(frames) == decodable
    for f in frames:
        assert psnr(patch_frame(f.index, W, H), f.rgb) > 30
    # Needs the encoder and CLI to pass reader.ended_early on (see the report).
    assert any("ended early" in line for line in warnings_of(stderr)), stderr


def test_file_cut_before_its_first_frame_fails_clearly(
    clip_files: dict[str, Path], tmp_path: Path
) -> None:
    src = clip_files["mkv"]
    first = video_packets(src)[0]
    cut = tmp_path / "headers.mkv"
    cut.write_bytes(src.read_bytes()[: first.pos])
    line = encode_fails(cut, tmp_path)
    assert "holds no frames" in line and "cut short" in line, line


def test_complete_files_are_not_reported_as_cut_or_damaged(
    clip_files: dict[str, Path], tmp_path: Path
) -> None:
    files = [*clip_files.values()]
    files.append(make_clip(tmp_path / "b.mp4", frames=20, options={"preset": "medium"}))  # B
    files.append(make_clip(tmp_path / "a.webm", frames=20, codec="libvpx-vp9"))
    files.append(make_clip(tmp_path / "a.avi", frames=20, codec="mpeg4", options={"bf": "2"}))
    files.append(make_clip(tmp_path / "a.ts", frames=20))
    files.append(make_clip(tmp_path / "audio.mkv", frames=20, audio=True))
    for path in files:
        for window in ({}, {"start_s": 0.5}, {"duration_s": 1.0}):
            with VideoReader(path, **window) as reader:
                frames = list(reader)
                assert frames, path
                assert reader.ended_early is None, (path.name, window, reader.ended_early)
                assert reader.frames_lost == 0 and reader.damage == []


# --- damaged packets ------------------------------------------------------------------------

DAMAGE_FRAMES = 12  # 1 s at 12 fps


@pytest.fixture(scope="module", params=["avi", "mov"])
def png_clip(request, media: Path) -> Path:
    """12 frames of PNG (intra-only, lossless: every frame decodes alone and exactly) in an
    AVI or QuickTime file."""
    return make_clip(
        media / f"png.{request.param}",
        width=W,
        height=H,
        frames=DAMAGE_FRAMES,
        codec="png",
        pix_fmt="rgb24",
    )


def _source_index(rgb: np.ndarray) -> int:
    """Which synthetic frame this is (PNG is lossless: an exact match)."""
    hits = [i for i in range(DAMAGE_FRAMES) if np.array_equal(synthetic_frame(i, W, H), rgb)]
    assert len(hits) == 1
    return hits[0]


@pytest.mark.parametrize(
    "which",
    [[2, 5, 6, 11], [0, 7], [10, 11]],
    ids=["middle-and-last", "first", "last-two"],
)
def test_damaged_packets_are_skipped_counted_and_placed(
    png_clip: Path, tmp_path: Path, which: list[int]
) -> None:
    src = tmp_path / f"damaged{png_clip.suffix}"
    times = damage_packets(png_clip, src, which)
    survivors = [i for i in range(DAMAGE_FRAMES) if i not in which]
    with VideoReader(src) as reader:
        frames = list(reader)
        assert [_source_index(f.rgb) for f in frames] == survivors  # each good frame, once
        origin = reader.origin_s
        assert origin == pytest.approx(survivors[0] / 12, abs=1e-3)
        assert reader.frames_lost == len(which) == len(reader.damage)
        # output clock: time 0 is the first good frame; a loss before it is at 0
        expected = [max(0.0, t - origin) for t in times]
        assert reader.damage == pytest.approx(expected, abs=1e-3)
    # the frame before a gap is shown until the next good frame: the timeline keeps its length
    assert [round(f.time_s + origin, 3) for f in frames] == [round(i / 12, 3) for i in survivors]


def test_damage_is_placed_on_the_clock_of_the_part_read(png_clip: Path, tmp_path: Path) -> None:
    src = tmp_path / f"damaged{png_clip.suffix}"
    damage_packets(png_clip, src, [2, 5, 6])
    # At 0.45 s frame 5 (0.417 s) is on screen, but it is lost: frame 4 (0.333 s) stands in
    # and becomes time 0. The loss at 0.167 s is before the part asked for.
    with VideoReader(src, start_s=0.45) as reader:
        frames = list(reader)
        assert reader.origin_s == pytest.approx(4 / 12, abs=1e-3)
        assert reader.damage == pytest.approx([1 / 12, 2 / 12], abs=1e-3)
    assert [_source_index(f.rgb) for f in frames] == [4, 7, 8, 9, 10, 11]


def test_damaged_packets_through_the_cli(png_clip: Path, tmp_path: Path) -> None:
    src = tmp_path / f"damaged{png_clip.suffix}"
    which = [2, 5, 6, 11]
    times = damage_packets(png_clip, src, which)
    vq = tmp_path / "damaged.vq"
    stderr = encode_ok(src, vq, "-k", "32")
    frames = vq_frames(vq)
    assert len(frames) == DAMAGE_FRAMES - len(which)
    assert [round(f.time_s, 3) for f in frames] == [
        round(i / 12, 3) for i in range(DAMAGE_FRAMES) if i not in which
    ]
    lines = [line for line in warnings_of(stderr) if "damaged" in line]
    assert len(lines) == 1, stderr
    assert f"{len(which)} damaged" in lines[0]
    # Needs the encoder and CLI to print reader.damage (see the report).
    for t in times:
        assert f"{t:.2f} s" in lines[0], (t, lines[0])


def test_nothing_decodes_fails_clearly(png_clip: Path, tmp_path: Path) -> None:
    src = tmp_path / f"ruined{png_clip.suffix}"
    damage_packets(png_clip, src, range(DAMAGE_FRAMES))
    line = encode_fails(src, tmp_path)
    assert f"no video frame could be decoded: {DAMAGE_FRAMES} of {DAMAGE_FRAMES} packets" in line
