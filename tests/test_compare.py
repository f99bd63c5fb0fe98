"""``vidquant compare``: metrics against independent computations, pairing by time, the CLI."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import vidquant.cli.compare  # noqa: F401 - registers the compare command
from cliutil import invoke
from media import make_clip, synthetic_frame
from vidquant import encode_file, metrics
from vidquant.apps import compare as cmp
from vidquant.apps.compare import quality as cmp_quality
from vidquant.cli.common import EXIT_USAGE
from vidquant.colours import count_colours
from vidquant.decoder import open_vq
from vidquant.errors import SettingsError
from vidquant.frames import Frame
from vidquant.settings import EncodeSettings

# --- metrics ---------------------------------------------------------------------------------


def test_psnr_of_a_constant_offset() -> None:
    a = np.random.default_rng(1).integers(0, 250, (20, 30, 3), dtype=np.uint8)
    b = a + 3  # every channel off by 3: MSE 9
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 9), abs=1e-12)
    assert metrics.bitrate_kbps(1000, 2.0) == pytest.approx(4.0)


def _ssim_brute_force(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM window by window with an explicit 2-D Gaussian, straight from Wang et al."""
    x = a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114
    y = b[..., 0] * 0.299 + b[..., 1] * 0.587 + b[..., 2] * 0.114
    r = np.arange(11) - 5.0
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5**2))
    g /= g.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            px, py = x[i : i + 11, j : j + 11], y[i : i + 11, j : j + 11]
            mx, my = (g * px).sum(), (g * py).sum()
            vx, vy = (g * (px - mx) ** 2).sum(), (g * (py - my) ** 2).sum()
            cov = (g * (px - mx) * (py - my)).sum()
            values.append(
                (2 * mx * my + c1) * (2 * cov + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
            )
    return float(np.mean(values))


def test_ssim_matches_a_window_by_window_computation() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (19, 23, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 30, a.shape), 0, 255).astype(np.uint8)
    assert metrics.ssim(a, b) == pytest.approx(_ssim_brute_force(a, b), abs=1e-9)
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(a[:5], b[:5])


def test_flicker_counts_only_pixels_still_in_the_source() -> None:
    src0 = np.full((4, 10, 3), 100, np.uint8)
    src1 = src0.copy()
    src1[:, 5:] = 200  # the right half moves; the left half changes by 2 levels: still
    src1[:, :5] += 2
    out0 = np.full_like(src0, 50)
    out1 = out0.copy()
    out1[:, :5, 0] += 6  # on still pixels, one channel of three changes by 6: mean 2 levels
    out1[:, 5:] = 0  # the moving half does not count
    assert metrics.still_mask(src0, src1).sum() == 20
    assert metrics.flicker(src0, src1, out0, out1) == pytest.approx(2.0)
    assert metrics.flicker(src0, src1, src0, src1) == pytest.approx(2.0)
    moving = src0 + 50
    assert math.isnan(metrics.flicker(src0, moving, out0, out1))


def test_unique_colours() -> None:
    rgb = np.random.default_rng(3).integers(0, 4, (30, 40, 3), dtype=np.uint8) * 60
    expected = len({tuple(p) for p in rgb.reshape(-1, 3).tolist()})
    assert count_colours(rgb) == expected


# --- pairing by time -------------------------------------------------------------------------


def _frames(times: list[int], tb: Fraction, value: int = 0, *, end: int | None = None) -> list:
    ends = times[1:] + [end if end is not None else times[-1] + (times[-1] - times[-2])]
    return [
        Frame(i, t, e - t, tb, np.full((2, 2, 3), value + i, np.uint8))
        for i, (t, e) in enumerate(zip(times, ends, strict=True))
    ]


def test_pairing_follows_time_not_position() -> None:
    tb = Fraction(1, 1000)
    source = _frames([0, 100, 200, 300, 400], tb)
    other = _frames([0, 100, 300, 400], tb)  # the frame at 200 ms is missing
    pairing = cmp.TimePairing()
    pairs = [(p.source.pts, p.shown.pts, p.held) for p in pairing.iter_pairs(source, other)]
    assert pairs == [(0, 0, False), (100, 100, False), (200, 100, True), (300, 300, False),
                     (400, 400, False)]  # fmt: skip
    r = pairing.result()
    assert (r.source_frames, r.vq_frames, r.paired, r.vq_held) == (5, 4, 5, 1)


def test_pairing_tolerates_half_a_frame_and_counts_the_rest() -> None:
    tb = Fraction(1, 1000)
    source = _frames([0, 100, 200, 300], tb)
    late = _frames([40, 140, 245], tb, end=300)  # up to 45 ms late, then ends early
    pairing = cmp.TimePairing()
    pairs = [(p.source.pts, p.shown.pts) for p in pairing.iter_pairs(source, late)]
    assert pairs == [(0, 40), (100, 140), (200, 245)]
    r = pairing.result()
    assert (r.source_before_vq, r.source_after_vq, r.vq_unshown) == (0, 1, 0)

    pairing = cmp.TimePairing()
    extra = _frames([0, 100, 150, 200, 300], tb)  # 150 is on screen at no source time
    assert len(list(pairing.iter_pairs(source, extra))) == 4
    assert pairing.result().vq_unshown == 1


# --- compare_files ---------------------------------------------------------------------------


def _write_lossless(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """An FFV1 RGB file: every pixel reads back exactly."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("ffv1", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "bgr0"
        for i, rgb in enumerate(frames):
            vframe = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="bgr0")
            vframe.pts = i
            container.mux(stream.encode(vframe))
        container.mux(stream.encode(None))
    return path


def _flat_frames(n: int) -> list[np.ndarray]:
    """Frames of four flat colours (a palette of k >= 4 codes them exactly)."""
    colours = np.array([[20, 40, 60], [200, 30, 30], [30, 180, 90], [240, 240, 200]], np.uint8)
    frames = []
    for i in range(n):
        idx = np.zeros((48, 64), np.int64)
        idx[:, 16 + i :] = 1
        idx[20:, :] = 2
        idx[30:40, 10 + 2 * i : 30 + 2 * i] = 3
        frames.append(colours[idx])
    return frames


def _encode(src: Path, dst: Path, k: int = 16) -> Path:
    encode_file(src, dst, EncodeSettings(k=k), force=True)
    return dst


def test_known_distortion_and_bitrates(tmp_path: Path) -> None:
    frames = _flat_frames(10)
    clean = _write_lossless(tmp_path / "clean.mkv", frames)
    vq = _encode(clean, tmp_path / "clean.vq", k=8)
    with open_vq(vq) as decoder:
        decoded = [f.rgb for f in decoder.iter_rgb()]
    assert all(np.array_equal(a, b) for a, b in zip(frames, decoded, strict=True))

    # The "original" is the clean clip plus 3 on every channel: every frame's MSE is 9.
    shifted = _write_lossless(tmp_path / "shifted.mkv", [f + 3 for f in frames])
    c = cmp.compare_files(shifted, vq)
    expected_db = 10 * math.log10(255**2 / 9)
    assert c.quality.psnr_mean_db == pytest.approx(expected_db, abs=1e-9)
    assert c.quality.psnr_min_db == pytest.approx(expected_db, abs=1e-9)
    ssim = np.mean([metrics.ssim(f + 3, f) for f in frames])
    assert c.quality.ssim_mean == pytest.approx(ssim)
    assert c.quality.colours_vq_mean == 4 and c.quality.colours_source_mean == 4
    assert c.warnings == ()

    # Bitrates: bytes x 8 / duration, counted here with PyAV directly.
    with av.open(str(shifted)) as container:
        video_bytes = sum(p.size for p in container.demux(video=0) if p.size)
    duration_s = 10 / 10  # 10 frames at 10 fps
    assert c.original.duration_s == pytest.approx(duration_s)
    assert c.original.video_bytes == video_bytes
    assert c.original.kbps(c.original.file_bytes) == pytest.approx(
        shifted.stat().st_size * 8 / 1000 / duration_s
    )
    vq_bytes = vq.stat().st_size
    assert c.vq.kbps(c.vq.file_bytes) == pytest.approx(vq_bytes * 8 / 1000 / duration_s)
    assert c.ratios.original_to_vq == pytest.approx(shifted.stat().st_size / vq_bytes)
    assert c.ratios.raw_rgb_bytes == 64 * 48 * 3 * 10
    assert c.ratios.raw_rgb_to_vq == pytest.approx(64 * 48 * 3 * 10 / vq_bytes)
    assert sum(f.bits for f in c.frame_bits) == 8 * (c.vq.label_bytes + c.vq.palette_bytes)


def test_camera_like_clip_matches_a_direct_computation(clip: Path, tmp_path: Path) -> None:
    vq = _encode(clip, tmp_path / "clip.vq")
    c = cmp.compare_files(clip, vq, worst=3)
    with av.open(str(clip)) as container:
        source = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with open_vq(vq) as decoder:
        decoded = [f.rgb for f in decoder.iter_rgb()]
    scores = [metrics.psnr(a, b) for a, b in zip(source, decoded, strict=True)]
    assert c.quality.psnr_mean_db == pytest.approx(np.mean(scores), abs=1e-9)
    assert c.quality.psnr_min_db == pytest.approx(min(scores), abs=1e-9)
    worst = [s.source_index for s in c.quality.worst]
    assert worst == list(np.argsort(scores)[:3])
    assert c.quality.worst[0].time_s == pytest.approx(worst[0] / 12)
    assert c.pairing.paired == 24 and c.warnings == ()
    assert c.quality.colours_vq_mean <= 16 < c.quality.colours_source_mean


def test_variable_frame_rate_pairs_by_timestamp(tmp_path: Path) -> None:
    pts = [0, 40, 80, 200, 240, 400, 440, 480, 700, 740, 780, 820]  # ms, with gaps
    src = make_clip(tmp_path / "vfr.mkv", frames=12, pts_list=pts, time_base=Fraction(1, 1000))
    vq = _encode(src, tmp_path / "vfr.vq")
    c = cmp.compare_files(src, vq)
    assert c.warnings == ()
    times = [round(s.time_s * 1000) for s in c.quality.per_frame]
    assert times == pts
    assert [s.vq_index for s in c.quality.per_frame] == list(range(12))


def test_mismatch_is_reported(tmp_path: Path) -> None:
    short = make_clip(tmp_path / "short.mp4", frames=12)  # the first 12 frames of `long`
    long = make_clip(tmp_path / "long.mp4", frames=24)
    vq = _encode(short, tmp_path / "short.vq")
    c = cmp.compare_files(long, vq)
    assert (c.pairing.paired, c.pairing.source_after_vq) == (12, 12)
    text = " ".join(c.warnings)
    assert "frame counts differ: original 24, .vq 12" in text
    assert "12 original frames come after the .vq's last frame" in text
    assert "durations differ" in text

    other = make_clip(tmp_path / "other.mp4", width=64, height=64, frames=4)
    with pytest.raises(SettingsError, match="frame sizes differ"):
        cmp.compare_files(other, vq)
    with pytest.raises(SettingsError, match="reference must be one of"):
        cmp.compare_files(long, vq, references=("vp9",))


def test_sampling_stride_bounds_ssim(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vq = _encode(clip, tmp_path / "clip.vq")
    monkeypatch.setattr(cmp_quality, "SSIM_MAX_FRAMES", 5)  # where the stride is computed
    q = cmp.compare_files(clip, vq).quality
    assert (q.sample_stride, q.sampled_frames) == (5, 5)  # frames 0, 5, 10, 15, 20
    assert len(q.per_frame) == 24  # PSNR still on every frame


def test_references_h264_and_gif(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "tiny.mp4", width=48, height=32, frames=12)
    vq = _encode(src, tmp_path / "tiny.vq", k=8)
    c = cmp.compare_files(src, vq, references=("h264", "gif"))
    h264, gif = c.references
    assert (h264.name, gif.name) == ("h264", "gif")
    for ref in (h264, gif):
        assert ref.frames == 12 and ref.duration_s == pytest.approx(1.0)
        assert ref.bitrate_kbps == pytest.approx(ref.video_bytes * 8 / 1000 / ref.duration_s)
        assert ref.vq_psnr_mean_db == pytest.approx(c.quality.psnr_mean_db)
        assert ref.vq_bitrate_kbps == pytest.approx(
            (c.vq.file_bytes - c.vq.audio_bytes) * 8 / 1000 / 1.0
        )
    assert h264.setting.startswith("crf ")
    assert h264.psnr_mean_db >= c.quality.psnr_mean_db or h264.note
    assert "k 8" in gif.setting and 10 < gif.psnr_mean_db < 60
    assert "wins" in h264.verdict or "trade-off" in h264.verdict


# --- the command line ------------------------------------------------------------------------


JSON_KEYS = {
    "": {"schema", "original", "vq", "compared", "ratios", "quality", "references", "warnings"},
    "original": {
        "path", "file_bytes", "video_bytes", "audio_bytes", "duration_s", "bitrate_kbps",
        "video_bitrate_kbps", "audio_bitrate_kbps", "width", "height", "fps", "codec",
    },
    "vq": {
        "path", "file_bytes", "duration_s", "frames", "keyframes", "width", "height", "k",
        "bitrate_kbps", "labels_bytes", "labels_kbps", "palettes_bytes", "palettes_kbps",
        "audio_bytes", "audio_kbps", "overhead_bytes", "overhead_kbps",
    },
    "compared": {
        "start_s", "duration_s", "source_frames", "vq_frames", "paired_frames",
        "source_before_vq", "source_after_vq", "vq_frames_held", "vq_frames_unshown",
        "source_end_s", "vq_end_s", "slack_frames",
    },
    "ratios": {"original_to_vq", "raw_rgb_bytes", "raw_rgb_to_vq"},
    "quality": {
        "psnr_mean_db", "psnr_min_db", "psnr_cap_db", "worst", "ssim_mean", "sampled_frames",
        "sample_stride", "flicker_source_levels", "flicker_vq_levels", "still_pixels_pct",
        "colours_source_mean", "colours_vq_mean",
    },
    "worst": {"time_s", "source_frame", "vq_frame", "psnr_db"},
    "references": {
        "name", "setting", "frames", "duration_s", "video_bytes", "bitrate_kbps", "psnr_mean_db",
        "vq_bitrate_kbps", "vq_psnr_mean_db", "verdict", "note",
    },
}  # fmt: skip


def test_cli_json_schema_is_stable(clip: Path, tmp_path: Path) -> None:
    vq = _encode(clip, tmp_path / "clip.vq")
    result = invoke("compare", clip, vq, "--json", "--quiet", "--reference", "gif")
    assert result.exit_code == 0, result.output + result.stderr
    data = json.loads(result.stdout)
    assert set(data) == JSON_KEYS[""]
    assert data["schema"] == "vidquant-compare/1"
    for section in ("original", "vq", "compared", "ratios", "quality"):
        assert set(data[section]) == JSON_KEYS[section], section
    assert [set(w) for w in data["quality"]["worst"]] == [JSON_KEYS["worst"]] * 5
    assert [set(r) for r in data["references"]] == [JSON_KEYS["references"]]
    assert data["warnings"] == []
    assert data["vq"]["bitrate_kbps"] == pytest.approx(vq.stat().st_size * 8 / 1000 / 2.0)
    assert data["compared"]["paired_frames"] == 24


def test_cli_table_plot_and_frames(clip: Path, tmp_path: Path) -> None:
    vq = _encode(clip, tmp_path / "clip.vq")
    plot, stills = tmp_path / "plot.png", tmp_path / "stills.png"
    result = invoke(
        "compare", clip, vq, "-q", "--plot", plot, "--frames", stills, "--times", "0.5,1.25"
    )
    assert result.exit_code == 0, result.output + result.stderr
    for needle in ("bitrate", "labels", "palettes", "PSNR mean / min", "SSIM mean", "flicker"):
        assert needle in result.stdout, needle
    assert "warnings" not in result.stdout
    pytest.importorskip("matplotlib")
    for png in (plot, stills):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imread(str(stills))
    assert image.shape[0] > 2 * 64 and image.shape[1] >= 2 * 96  # two rows of two frames


def test_cli_bad_times_and_missing_files(clip: Path, tmp_path: Path) -> None:
    vq = _encode(clip, tmp_path / "clip.vq")
    result = invoke("compare", clip, vq, "-q", "--frames", tmp_path / "s.png", "--times", "x")
    assert result.exit_code == EXIT_USAGE
    assert "times must be seconds" in result.stderr
    result = invoke("compare", clip, vq, "-q", "--frames", tmp_path / "s.png", "--times", "99")
    assert result.exit_code == EXIT_USAGE and "past the end" in result.stderr
    result = invoke("compare", tmp_path / "nope.mp4", vq, "-q")
    assert result.exit_code != 0 and "not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_stills_pick_the_frames_on_screen(clip: Path, tmp_path: Path) -> None:
    vq = _encode(clip, tmp_path / "clip.vq")
    stills = cmp.stills_at(clip, vq, [1.0, 0.1])
    assert [s.time_s for s in stills] == [1.0, 0.1]
    assert stills[0].source_time_s == pytest.approx(1.0)
    assert stills[1].source_time_s == pytest.approx(1 / 12)  # on screen from 83 ms to 167 ms
    # The source frame of t = 1 s is frame 12: closer to it than to its neighbours.
    scores = [metrics.psnr(synthetic_frame(i, 96, 64), stills[0].source_rgb) for i in (11, 12, 13)]
    assert scores[1] > max(scores[0], scores[2])
