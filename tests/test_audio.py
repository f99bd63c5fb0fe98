"""Audio travels inside the .vq and comes back out in sync."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from media import synthetic_frame
from vidquant.apps.info import describe
from vidquant.codec import format as fmt
from vidquant.codec.container import ContainerReader, ContainerWriter
from vidquant.codec.records import (
    AudioHeader,
    AudioPacket,
    Header,
    pack_audio_header,
    unpack_audio_header,
)
from vidquant.decoder import open_vq
from vidquant.encode import encode_file
from vidquant.errors import FormatError, SettingsError
from vidquant.export import decode_file
from vidquant.settings import EncodeSettings

RATE = 48_000
FPS = 12


def tone(freq: float, start: int, count: int) -> np.ndarray:
    t = (np.arange(start, start + count) / RATE).astype(np.float64)
    # a tone with a slow amplitude ramp, so that correlation also finds misalignment
    return (0.3 * np.sin(2 * np.pi * freq * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t))).astype(
        np.float32
    )


def make_av(
    path: Path,
    *,
    seconds: float = 2.0,
    audio: tuple[tuple[str, float], ...] = (("aac", 440.0),),
    fmt_name: str | None = None,
) -> Path:
    """A 96x64 clip at 12 fps with one audio stream per (codec, frequency)."""
    frames = round(seconds * FPS)
    with av.open(str(path), "w", format=fmt_name) as out:
        video = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "20"})
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        streams = []
        for codec, _ in audio:
            stream = out.add_stream(codec, rate=RATE, layout="stereo")
            streams.append(stream)
        sample_fmt = {"aac": "fltp", "pcm_s16le": "s16", "libopus": "flt"}
        for i in range(frames):
            vframe = av.VideoFrame.from_ndarray(synthetic_frame(i, 96, 64), format="rgb24")
            vframe.pts, vframe.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(vframe.reformat(format="yuv420p")))
        total = round(seconds * RATE)
        for stream, (codec, freq) in zip(streams, audio, strict=True):
            chunk = 1024 if codec == "aac" else 960
            for start in range(0, total, chunk):
                mono = tone(freq, start, min(chunk, total - start))
                layout = sample_fmt.get(codec, "fltp")
                if layout == "s16":
                    data = (np.stack([mono, mono], axis=1) * 32767).astype(np.int16).reshape(1, -1)
                elif layout == "flt":
                    data = np.stack([mono, mono], axis=1).reshape(1, -1)
                else:
                    data = np.stack([mono, mono])
                aframe = av.AudioFrame.from_ndarray(data, format=layout, layout="stereo")
                aframe.sample_rate, aframe.pts = RATE, start
                aframe.time_base = Fraction(1, RATE)
                out.mux(stream.encode(aframe))
            out.mux(stream.encode(None))
        out.mux(video.encode(None))
    return path


def decoded_audio(path: Path, index: int = 0) -> tuple[np.ndarray, float, str]:
    """(left channel samples, seconds, codec) of an output file's audio stream."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[index]
        codec = stream.codec_context.name
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=RATE)
        parts = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1, 2)[:, 0])
    samples = np.concatenate(parts)
    return samples, len(samples) / RATE, codec


def best_correlation(got: np.ndarray, want: np.ndarray, max_lag: int = 2400) -> tuple[float, int]:
    """Highest correlation over lags of +-max_lag samples, and that lag."""
    n = min(len(got), len(want)) - 2 * max_lag
    best = (-1.0, 0)
    for lag in range(-max_lag, max_lag + 1, 48):
        a = got[max_lag + lag : max_lag + lag + n]
        b = want[max_lag : max_lag + n]
        best = max(best, (float(np.corrcoef(a, b)[0, 1]), lag))
    return best


def video_seconds(path: Path) -> float:
    with open_vq(path) as vq:
        frames = list(vq.iter_frames())
    return frames[-1].time_s + frames[-1].duration * float(frames[-1].time_base)


@pytest.mark.parametrize("mode", ["copy", "opus"])
@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_audio_round_trip_in_sync(tmp_path: Path, mode: str, suffix: str) -> None:
    src = make_av(tmp_path / "src.mp4", seconds=2.0)
    vq = tmp_path / "a.vq"
    encode_file(src, vq, EncodeSettings(k=8, audio=mode))
    out = tmp_path / f"out{suffix}"
    decode_file(vq, out)
    samples, seconds, codec = decoded_audio(out)
    assert codec == ("aac" if mode == "copy" else "opus")
    video_s = video_seconds(vq)
    assert abs(seconds - video_s) <= 1 / FPS, f"audio {seconds:.3f} s vs video {video_s:.3f} s"
    corr, lag = best_correlation(samples, tone(440.0, 0, len(samples)))
    assert corr > 0.9, f"audio does not match the source (correlation {corr:.3f})"
    assert abs(lag) <= RATE / FPS, f"audio is {lag / RATE * 1000:.0f} ms out of sync"


def test_audio_after_start_stays_in_sync(tmp_path: Path) -> None:
    src = make_av(tmp_path / "src.mp4", seconds=3.0)
    vq, out = tmp_path / "a.vq", tmp_path / "out.mkv"
    encode_file(src, vq, EncodeSettings(k=8, start_s=1.0, duration_s=1.5))
    decode_file(vq, out)
    samples, seconds, _ = decoded_audio(out)
    assert abs(seconds - video_seconds(vq)) <= 1 / FPS
    corr, lag = best_correlation(samples, tone(440.0, RATE, len(samples)))
    assert corr > 0.9 and abs(lag) <= RATE / FPS, (corr, lag)


def test_no_audio_and_audio_none(tmp_path: Path, clip: Path) -> None:
    vq = tmp_path / "silent.vq"
    encode_file(clip, vq, EncodeSettings(k=8))
    assert describe(vq).audio is None and describe(vq).audio_bytes == 0
    src = make_av(tmp_path / "src.mp4")
    encode_file(src, tmp_path / "none.vq", EncodeSettings(k=8, audio="none"))
    decode_file(tmp_path / "none.vq", tmp_path / "none.mp4")
    with av.open(str(tmp_path / "none.mp4")) as container:
        assert not container.streams.audio


def test_second_audio_stream_and_pcm_falls_back_to_opus(tmp_path: Path) -> None:
    src = make_av(
        tmp_path / "two.mkv", audio=(("aac", 440.0), ("pcm_s16le", 880.0)), fmt_name="matroska"
    )
    vq, out = tmp_path / "two.vq", tmp_path / "two.mp4"
    encode_file(src, vq, EncodeSettings(k=8, audio_stream=1))
    info = describe(vq)
    assert info.audio is not None and info.audio.codec == "opus"  # mp4 cannot hold PCM
    decode_file(vq, out)
    samples, _, _ = decoded_audio(out)
    assert best_correlation(samples, tone(880.0, 0, len(samples)))[0] > 0.9
    assert best_correlation(samples, tone(440.0, 0, len(samples)))[0] < 0.5
    with pytest.raises(SettingsError, match="audio stream must be 0..1, got 2"):
        encode_file(src, tmp_path / "x.vq", EncodeSettings(k=8, audio_stream=2))


def test_info_and_png_folder_keep_audio(tmp_path: Path) -> None:
    src = make_av(tmp_path / "src.mp4")
    vq = tmp_path / "a.vq"
    report = encode_file(src, vq, EncodeSettings(k=8))
    info = describe(vq)
    assert info.audio_bytes == report.sizes.audio > 0
    total = info.label_bytes + info.palette_bytes + info.audio_bytes + info.overhead_bytes
    assert total == info.file_bytes == vq.stat().st_size
    decode_file(vq, tmp_path / "frames")
    samples, seconds, codec = decoded_audio(tmp_path / "frames" / "audio.mka")
    assert codec == "aac" and abs(seconds - 2.0) < 0.1


def test_audio_records_are_ancillary(tmp_path: Path) -> None:
    """Readers that know no audio skip it: iter_frames yields frames only."""
    src = make_av(tmp_path / "src.mp4")
    vq = tmp_path / "a.vq"
    encode_file(src, vq, EncodeSettings(k=8))
    with open(vq, "rb") as f:
        reader = ContainerReader(f)
        frames = list(reader.iter_frames())
        with_audio = list(reader.iter_records(audio=True))
    assert len(frames) == 24
    assert sum(isinstance(r, AudioPacket) for r in with_audio) > 50
    assert fmt.tag_is_critical(fmt.TAG_AUDIO_PACKET) is False
    assert fmt.tag_is_critical(fmt.TAG_AUDIO_HEADER) is False


def test_audio_header_round_trip_and_checks() -> None:
    header = AudioHeader("opus", 48000, 2, "stereo", Fraction(1, 48000), b"OpusHead\x01\x02")
    assert unpack_audio_header(memoryview(pack_audio_header(header)), 0) == header
    bad = bytearray(pack_audio_header(header))
    fmt.AUDIO_HEADER.pack_into(bad, 0, 48000, 1, 48000, 0, 4, 6)  # zero channels
    with pytest.raises(FormatError, match="channels must be 1..64, got 0"):
        unpack_audio_header(memoryview(bytes(bad)), 0)


def test_audio_packet_before_first_frame_is_refused() -> None:
    header = Header(8, 8, Fraction(12), Fraction(1, 12), 4)
    audio = AudioHeader("aac", 48000, 2, "stereo", Fraction(1, 48000))
    writer = ContainerWriter(io.BytesIO(), header, audio=audio)
    with pytest.raises(ValueError, match="follow the first frame"):
        writer.write_audio(AudioPacket(0, 1024, b"\x00" * 10))
