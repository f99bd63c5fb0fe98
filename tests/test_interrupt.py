"""Ctrl-C, kill and concurrency, with real processes and real signals.

The encoder is slowed down (each frame sleeps in the palette stage, through a wrapper script)
so that a signal reliably lands in the middle of a job, without a long clip. The palette stage
runs in the main process with any ``--jobs`` (the clip here is long enough for two segments).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from vidquant.decoder import open_vq

ROOT = Path(__file__).resolve().parent.parent

# Runs the CLI with every frame's palette stage slowed by SLOW seconds, and, for decoding,
# every written frame.
SLOW_CLI = textwrap.dedent(
    """
    import sys, time
    from vidquant import encoder
    from vidquant.io import writer
    delay = float(sys.argv.pop(1))
    step = encoder.PaletteStage.step
    def slow_step(self, frame):
        time.sleep(delay)
        return step(self, frame)
    encoder.PaletteStage.step = slow_step
    for cls in (writer.VideoFileWriter, writer.PngSequenceWriter):
        write = cls.write
        def slow_write(self, frame, _write=write):
            time.sleep(delay)
            return _write(self, frame)
        cls.write = slow_write
    from vidquant.cli.main import main
    sys.argv[0] = "vidquant"
    main()
    """
)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from media import make_clip

    return make_clip(tmp_path_factory.mktemp("interrupt") / "long.mp4", frames=60, audio=True)


def start(tmp_path: Path, delay: float, *args: object) -> subprocess.Popen:
    script = tmp_path / "slow_cli.py"
    script.write_text(SLOW_CLI)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), str(delay), *map(str, args)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_temporary(folder: Path, pattern: str, proc: subprocess.Popen, min_bytes: int) -> None:
    """Wait until a temporary output matching ``pattern`` holds ``min_bytes``: the job is busy."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the job ended before it was interrupted: {proc.stderr.read()}"
        sizes = [p.stat().st_size for p in folder.glob(pattern) if p.is_file()]
        sizes += [
            sum(f.stat().st_size for f in p.iterdir()) for p in folder.glob(pattern) if p.is_dir()
        ]
        if sizes and max(sizes) >= min_bytes:
            return
        time.sleep(0.05)
    raise AssertionError("the job never started writing")


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def error_lines(err: str) -> list[str]:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    return lines


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_signal_during_encode_leaves_nothing(long_clip, tmp_path, signum, code, word, jobs):
    out = tmp_path / "out.vq"
    proc = start(tmp_path, 0.1, "encode", long_clip, "-o", out, "-q", "-j", jobs)
    wait_for_temporary(tmp_path, ".out.vq.*", proc, 2000)
    proc.send_signal(signum)
    rc, err = finish(proc)
    assert rc == code, err
    assert error_lines(err) == [f"vidquant: error: {word}"]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow_cli.py"], "litter left behind"


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_partial_keeps_a_valid_shorter_file(long_clip, tmp_path, signum, code, word, jobs):
    out = tmp_path / "out.vq"
    proc = start(tmp_path, 0.1, "encode", long_clip, "-o", out, "-q", "--partial", "-j", jobs)
    wait_for_temporary(tmp_path, ".out.vq.*", proc, 2000)
    proc.send_signal(signum)
    rc, err = finish(proc)
    assert rc == code, err
    (line,) = error_lines(err)
    assert line.startswith(f"vidquant: error: {word}; kept the first ")
    assert str(out) in line
    with open_vq(out) as decoder:  # a whole file: index, trailer, no salvage needed
        trailer, entries = decoder.read_index()
        frames = list(decoder.iter_frames())
        audio = [p for p in decoder.iter_media() if not hasattr(p, "labels")]
    assert 0 < len(frames) == trailer.frames < 60
    assert f"kept the first {len(frames)} frames" in line
    assert entries and entries[0].frame == 0
    assert audio, "the audio of the kept frames was kept too"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.vq", "slow_cli.py"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_second_ctrl_c_gives_up_the_partial_file(long_clip, tmp_path, jobs):
    out = tmp_path / "out.vq"
    # a stall inside one frame: the first Ctrl-C waits for it to keep a partial file; the
    # second stops without finishing the file (the worker threads still end first)
    proc = start(tmp_path, 3, "encode", long_clip, "-o", out, "-q", "--partial", "-j", jobs)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".out.vq.*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert proc.poll() is None, "the first Ctrl-C should wait for the frame in progress"
    proc.send_signal(signal.SIGINT)
    rc, err = finish(proc)
    assert rc == 130, err
    assert error_lines(err) == ["vidquant: error: interrupted"]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow_cli.py"]


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ""])
def test_signal_during_decode_leaves_nothing(long_clip, tmp_path, suffix):
    from vidquant.encode import encode_file

    vq = tmp_path / "in.vq"
    encode_file(long_clip, vq)
    out = tmp_path / f"out{suffix}"
    proc = start(tmp_path, 0.1, "decode", vq, "-o", out, "-q")
    wait_for_temporary(tmp_path, ".out*", proc, 0)  # the encoder may buffer its first frames
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    rc, err = finish(proc)
    assert rc == 130, err
    assert error_lines(err) == ["vidquant: error: interrupted"]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vq", "slow_cli.py"]


def test_two_encodes_at_once(long_clip, tmp_path):
    """Two processes encoding the same source into the same folder: both succeed, and each
    file is byte-identical to a lone encode (temporary names never collide)."""
    outs = [tmp_path / "a.vq", tmp_path / "b.vq"]
    procs = [start(tmp_path, 0.01, "encode", long_clip, "-o", o, "-q", "-k", "12") for o in outs]
    for proc in procs:
        rc, err = finish(proc)
        assert rc == 0, err
    alone = tmp_path / "alone.vq"
    rc, err = finish(start(tmp_path, 0, "encode", long_clip, "-o", alone, "-q", "-k", "12"))
    assert rc == 0, err
    assert outs[0].read_bytes() == outs[1].read_bytes() == alone.read_bytes()
    with open_vq(outs[0]) as decoder:
        assert sum(1 for _ in decoder.iter_frames()) == 60
    assert not list(tmp_path.glob(".*"))


def test_in_process_interrupt_with_partial_raises_interrupted(long_clip, tmp_path, monkeypatch):
    """The library: Interrupted carries the kept path; without partial nothing is kept."""
    from vidquant import encode, encoder
    from vidquant.interrupts import Interrupted

    model = encoder.FrameModeller.model
    calls = {"n": 0}

    def interrupting(self, frame):
        calls["n"] += 1
        if calls["n"] == 20:
            os.kill(os.getpid(), signal.SIGINT)
        return model(self, frame)

    monkeypatch.setattr(encoder.FrameModeller, "model", interrupting)
    out = tmp_path / "p.vq"
    with pytest.raises(Interrupted) as info:
        encode.encode_file(long_clip, out, partial=True)
    assert info.value.kept == out
    with open_vq(out) as decoder:
        n = sum(1 for _ in decoder.iter_frames())
    assert 0 < n < 60
    assert io.BytesIO(out.read_bytes()).getbuffer().nbytes == out.stat().st_size


def test_ctrl_c_while_the_file_is_finished_keeps_it(long_clip, tmp_path, monkeypatch):
    """A signal during the index, trailer and rename is held too: the whole file is kept."""
    from vidquant import encode, encoder
    from vidquant.interrupts import Interrupted

    flush = encoder.FrameCoder.flush

    def interrupted_flush(self):
        os.kill(os.getpid(), signal.SIGINT)
        return flush(self)

    monkeypatch.setattr(encoder.FrameCoder, "flush", interrupted_flush)
    out = tmp_path / "f.vq"
    with pytest.raises(Interrupted) as info:
        encode.encode_file(long_clip, out, partial=True)
    assert "kept the first 60 frames" in str(info.value)
    with open_vq(out) as decoder:
        assert decoder.read_index()[0].frames == 60
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
