"""Round trips: source -> .vq -> frames, with quality thresholds and bit-exactness."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vidquant.codec.container import ContainerWriter
from vidquant.decoder import VqDecoder, open_vq
from vidquant.encode import encode_file
from vidquant.encoder import Encoder, make_header
from vidquant.export import decode_file
from vidquant.io.reader import VideoReader
from vidquant.metrics import psnr
from vidquant.settings import EncodeSettings


def encode_in_memory(path: Path, settings: EncodeSettings):
    """Encode ``path`` into bytes; return (bytes, source frames, encoder reconstructions)."""
    buf = io.BytesIO()
    sources, recons = [], []
    with VideoReader(
        path, start_s=settings.start_s, duration_s=settings.duration_s, width=settings.width
    ) as reader:
        writer = ContainerWriter(buf, make_header(reader.info, settings, path))
        encoder = Encoder(writer, settings)
        for frame in reader:
            sources.append(frame)
            recons.append(encoder.encode(frame).reconstruction)
        encoder.flush()
    return buf.getvalue(), sources, recons


def test_round_trip_synthetic_quality_and_bit_exactness(clip: Path) -> None:
    data, sources, recons = encode_in_memory(clip, EncodeSettings(k=32))
    decoded = list(VqDecoder(io.BytesIO(data)).iter_frames())
    assert len(decoded) == len(sources) == 24
    for src, rec, dec in zip(sources, recons, decoded, strict=True):
        assert dec.pts == src.pts and dec.duration == src.duration
        assert np.array_equal(rec.to_rgb(), dec.to_rgb()), f"frame {dec.index}: encoder != decoder"
        quality = psnr(src.rgb, dec.to_rgb())
        assert quality > 24.0, f"frame {dec.index}: PSNR {quality:.2f} dB below 24 dB"


def test_round_trip_sample_clip(sample: Path, tmp_path: Path) -> None:
    settings = EncodeSettings(k=32, duration_s=4.0, width=320)
    data, sources, recons = encode_in_memory(sample, settings)
    decoded = list(VqDecoder(io.BytesIO(data)).iter_frames())
    assert len(decoded) == len(sources) == 96
    keyframes = sum(f.keyframe for f in decoded)
    assert 1 <= keyframes < 10
    deltas = [
        f.index
        for f in decoded[1:]
        if not f.keyframe and not np.array_equal(f.palette, decoded[f.index - 1].palette)
    ]
    assert deltas, "no palette delta was replayed on the sample"
    values = []
    for src, rec, dec in zip(sources, recons, decoded, strict=True):
        assert np.array_equal(rec.to_rgb(), dec.to_rgb()), f"frame {dec.index}: encoder != decoder"
        values.append(psnr(src.rgb, dec.to_rgb()))
    worst = int(np.argmin(values))
    assert np.mean(values) > 30.0, f"mean PSNR {np.mean(values):.2f} dB"
    assert values[worst] > 26.0, f"frame {worst}: PSNR {values[worst]:.2f} dB"


def test_seek_equals_sequential_decode(clip: Path, tmp_path: Path) -> None:
    vq = tmp_path / "seek.vq"
    encode_file(clip, vq, EncodeSettings(k=16, keyint_s=0.5))
    with open_vq(vq) as dec:
        full = list(dec.iter_frames())
        assert sum(f.keyframe for f in full) >= 3
        for t in (0.0, 0.3, 0.5, 0.75, 1.2, 1.95):
            seeked = list(dec.iter_frames(start_s=t))
            first = next(f for f in full if f.time_s + f.duration * float(f.time_base) > t)
            assert seeked[0].index == first.index
            expect = full[first.index :]
            assert len(seeked) == len(expect)
            for a, b in zip(seeked, expect, strict=True):
                assert a.pts == b.pts and np.array_equal(a.to_rgb(), b.to_rgb()), (
                    f"t={t} frame {a.index}"
                )


def test_lossless_mkv_reads_back_exactly(clip: Path, tmp_path: Path) -> None:
    vq, mkv = tmp_path / "c.vq", tmp_path / "c.mkv"
    encode_file(clip, vq, EncodeSettings(k=8))
    decode_file(vq, mkv)
    with open_vq(vq) as dec, VideoReader(mkv) as back:
        expected = list(dec.iter_rgb())
        got = list(back)
    assert len(got) == len(expected)
    for a, b in zip(expected, got, strict=True):
        assert np.array_equal(a.rgb, b.rgb), f"frame {a.index} differs after mkv"
        assert abs(a.time_s - b.time_s) < 1e-3


def test_mp4_output_keeps_timing_and_looks_right(clip: Path, tmp_path: Path) -> None:
    vq, mp4 = tmp_path / "c.vq", tmp_path / "c.mp4"
    encode_file(clip, vq, EncodeSettings(k=16))
    decode_file(vq, mp4)
    with open_vq(vq) as dec, VideoReader(mp4) as back:
        expected = list(dec.iter_rgb())
        assert back.info.fps == Fraction(12)
        assert back.info.codec == "h264" and back.info.pix_fmt == "yuv420p"
        got = list(back)
    assert [round(f.time_s, 3) for f in got] == [round(f.time_s, 3) for f in expected]
    for a, b in zip(expected, got, strict=True):
        assert psnr(a.rgb, b.rgb) > 30.0, f"frame {a.index}: mp4 drifted from the decode"


def test_png_folder_output(clip: Path, tmp_path: Path) -> None:
    vq, out = tmp_path / "c.vq", tmp_path / "frames"
    encode_file(clip, vq, EncodeSettings(k=8, duration_s=0.5))
    report = decode_file(vq, out)
    pngs = sorted(out.glob("frame_*.png"))
    assert len(pngs) == report.frames == 6
    assert (out / "frames.csv").read_text().count("\n") == 7


def test_odd_size_round_trip_and_mp4(tmp_path: Path) -> None:
    from media import make_clip

    src = make_clip(
        tmp_path / "odd.mkv", width=37, height=23, frames=5, codec="ffv1", pix_fmt="yuv444p"
    )
    vq, mp4 = tmp_path / "odd.vq", tmp_path / "odd.mp4"
    encode_file(src, vq, EncodeSettings(k=8))
    decode_file(vq, mp4)
    with VideoReader(mp4) as back:
        assert (back.info.width, back.info.height) == (38, 24)  # padded to even for yuv420p
    with open_vq(vq) as dec:
        frames = list(dec.iter_rgb())
    assert frames[0].rgb.shape == (23, 37, 3)


def test_encode_is_deterministic(clip: Path) -> None:
    a, _, _ = encode_in_memory(clip, EncodeSettings(k=16, seed=7))
    b, _, _ = encode_in_memory(clip, EncodeSettings(k=16, seed=7))
    assert a == b


@pytest.mark.parametrize("k", [2, 256])
def test_extreme_k(clip: Path, k: int) -> None:
    """k=256 is the only case coded with DELTA labels (no spare COPY symbol)."""
    data, sources, recons = encode_in_memory(clip, EncodeSettings(k=k, duration_s=1.0))
    decoded = list(VqDecoder(io.BytesIO(data)).iter_frames())
    assert len(decoded) == len(sources)
    assert max(int(f.labels.max()) for f in decoded) < k
    for src, rec, dec in zip(sources, recons, decoded, strict=True):
        assert np.array_equal(rec.to_rgb(), dec.to_rgb()), f"frame {dec.index}: encoder != decoder"
        floor = 15.0 if k == 2 else 33.0
        assert psnr(src.rgb, dec.to_rgb()) > floor, f"frame {dec.index} at k={k}"


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (360, 640)])
@pytest.mark.parametrize("k", [1, 2, 37, 256])
def test_palette_lookup_equals_take(shape: tuple[int, int], k: int) -> None:
    from vidquant.frames import PaletteFrame

    rng = np.random.default_rng(k * 1000 + shape[0])
    labels = rng.integers(0, k, shape, dtype=np.uint8)
    palette = rng.integers(0, 256, (k, 3), dtype=np.uint8)
    frame = PaletteFrame(0, 0, 1, Fraction(1, 30), labels, palette, True)
    rgb = frame.to_rgb()
    assert rgb.flags.c_contiguous and rgb.shape == (*shape, 3)
    assert np.array_equal(rgb, np.take(palette, labels, axis=0))


def test_palette_lookup_refuses_a_label_beyond_the_palette() -> None:
    from vidquant.lookup import paint

    labels = np.array([[0, 1], [2, 3]], np.uint8)
    with pytest.raises(IndexError):
        paint(labels, np.zeros((3, 3), np.uint8))
