"""Segment-parallel encoding (``jobs`` > 1): the plan, the stitched file, audio, interrupts."""

from __future__ import annotations

import io
import os
import signal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from cliutil import invoke
from media import make_clip
from vidquant.codec.container import ContainerReader, ContainerWriter
from vidquant.decoder import open_vq
from vidquant.encode import encode_file
from vidquant.encoder import Encoder, PaletteStage, make_header
from vidquant.interrupts import Interrupted
from vidquant.io.reader import VideoReader
from vidquant.segments import MIN_SEGMENT_S, plan_segments
from vidquant.settings import EncodeSettings

TB = Fraction(1, 12288)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s at 12 fps, with sound: long enough for segments."""
    return make_clip(tmp_path_factory.mktemp("par") / "six.mp4", frames=72, fps=12, audio=True)


def test_plan_cuts_short_clips_evenly_and_long_ones_at_keyframe_intervals() -> None:
    fps = Fraction(25)
    assert len(plan_segments(8.0, fps, TB, 1, 5.0)) == 1
    assert len(plan_segments(None, fps, TB, 2, 5.0)) == 1
    assert len(plan_segments(2 * MIN_SEGMENT_S - 0.1, fps, TB, 2, 5.0)) == 1
    two = plan_segments(8.0, fps, TB, 2, 5.0)
    assert [(s.start, s.end) for s in two] == [(0, 4 * 12288), (4 * 12288, None)]
    assert two[0].read_s == 0 and 3.8 < two[1].read_s < 4.0  # reads the frame on screen at 4 s
    many = plan_segments(60.5, fps, TB, 2, 5.0)
    assert [s.start for s in many] == [round(5 * i / TB) for i in range(12)]  # 0.5 s joins in
    assert many[-1].end is None and all(
        a.end == b.start for a, b in zip(many, many[1:], strict=False)
    )


def _reference(src: Path, settings: EncodeSettings, keyframes_at: list[int]) -> bytes:
    """A single-process encode whose palette stage makes keyframes where segments start."""
    buf = io.BytesIO()
    with VideoReader(src) as reader:
        header = make_header(reader.info, settings, src)
        encoder = Encoder(ContainerWriter(buf, header), settings)
        encoder.modeller._stage = PaletteStage(header, settings, keyframes_at=keyframes_at)
        for frame in reader:
            encoder.encode(frame)
        encoder.flush()
    return buf.getvalue()


def _frames(data: bytes) -> list:
    return list(ContainerReader(io.BytesIO(data)).iter_frames())


@pytest.mark.parametrize("keyint", [5.0, 1.5])  # two segments; four taken in turn by two workers
def test_stitched_file_is_the_single_process_encode_with_the_same_keyframes(
    long_clip: Path, tmp_path: Path, keyint: float
) -> None:
    settings = EncodeSettings(k=16, keyint_s=keyint, audio="none")
    dst = tmp_path / "par.vq"
    report = encode_file(long_clip, dst, settings, jobs=2)
    with VideoReader(long_clip) as reader:
        info = reader.info
    segments = plan_segments(info.duration_s, info.fps, info.time_base, 2, keyint)
    assert len(segments) == (2 if keyint == 5.0 else 4)
    starts = [s.start for s in segments[1:]]
    # the palette stage ran once over the clip, and each segment's coder started afresh at a
    # keyframe: the records are those of one process making keyframes at the same frames
    assert dst.read_bytes() == _reference(long_clip, settings, starts)
    records = _frames(dst.read_bytes())
    assert report.frames == len(records) == 72
    keyed = [r.pts for r in records if r.keyframe]
    assert all(any(p >= s for p in keyed) for s in starts)
    assert not list(tmp_path.glob(".*segments"))  # the segment folder is gone


def test_parallel_encode_keeps_timing_audio_seeking_and_size(
    long_clip: Path, tmp_path: Path
) -> None:
    one, two = tmp_path / "one.vq", tmp_path / "two.vq"
    settings = EncodeSettings(k=16)
    r1 = encode_file(long_clip, one, settings, jobs=1)
    r2 = encode_file(long_clip, two, settings, jobs=2)
    assert r2.frames == r1.frames and r2.duration_s == r1.duration_s
    assert r2.keyframes == r1.keyframes  # the segment's start replaces the periodic keyframe
    assert abs(r2.sizes.labels / r1.sizes.labels - 1) < 0.10
    with open_vq(one) as a, open_vq(two) as b:
        fa, fb = list(a.iter_frames()), list(b.iter_frames())
        assert [(f.pts, f.duration) for f in fa] == [(f.pts, f.duration) for f in fb]
        # the palette is the same up to the second segment's keyframe
        first = next(i for i, f in enumerate(fb) if i and f.keyframe)
        for f, g in zip(fa[:first], fb[:first], strict=True):
            assert np.array_equal(f.palette, g.palette)
        # seeking into the second segment decodes what playing through shows
        t = fb[first + 3].pts * float(b.header.time_base)
        seeked = next(b.iter_frames(start_s=t))
        assert np.array_equal(seeked.to_rgb(), fb[first + 3].to_rgb())
    assert r1.sizes.audio == r2.sizes.audio > 0


class _SignalAfter:
    """A progress that sends this process ``signum`` after ``n`` frames (a user's Ctrl-C)."""

    def __init__(self, n: int, signum: int = signal.SIGINT) -> None:
        self.n, self.signum, self.seen = n, signum, 0

    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, frames: int = 1) -> None:
        self.seen += frames
        if self.seen >= self.n and self.n >= 0:
            self.n = -1
            os.kill(os.getpid(), self.signum)

    def finish(self) -> None:
        pass


def test_interrupt_with_partial_keeps_a_valid_prefix(long_clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "cut.vq"
    settings = EncodeSettings(k=16, keyint_s=1.5)
    with pytest.raises(Interrupted) as caught:
        encode_file(long_clip, dst, settings, jobs=2, partial=True, progress=_SignalAfter(8))
    assert caught.value.kept == dst
    with open_vq(dst) as d:
        frames = list(d.iter_frames())
    assert 0 < len(frames) < 72 and frames[0].pts == 0  # (one, when segment 0 started last)
    pairs = zip(frames, frames[1:], strict=False)
    assert all(b.pts == a.pts + a.duration for a, b in pairs)  # no gap
    assert not list(tmp_path.glob(".*"))  # no temporary left


def test_interrupt_without_partial_leaves_nothing(long_clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "gone.vq"
    with pytest.raises(KeyboardInterrupt):
        encode_file(long_clip, dst, EncodeSettings(k=16), jobs=2, progress=_SignalAfter(4))
    assert not dst.exists() and not list(tmp_path.iterdir())


def test_cli_jobs(long_clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "cli.vq"
    result = invoke("encode", long_clip, "-o", dst, "-k", "8", "--jobs", "2", "--quiet")
    assert result.exit_code == 0, result.output
    assert "72 frames" in result.stdout
    assert invoke("encode", long_clip, "-o", dst, "--jobs", "0", "--force").exit_code == 2


def test_workers_run_this_process_s_package(long_clip: Path, tmp_path: Path, monkeypatch) -> None:
    """A folder named vidquant in the working folder is not what the workers import."""
    decoy = tmp_path / "vidquant"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise ImportError('the decoy package was imported')\n")
    monkeypatch.chdir(tmp_path)
    report = encode_file(long_clip, tmp_path / "out.vq", EncodeSettings(k=8), jobs=2)
    assert report.frames == 72
