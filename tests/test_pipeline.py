"""encode_file's threaded pipeline: same bytes as the one-thread Encoder, clean failure."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

import vidquant.encoder as encoder_module
from vidquant.codec.container import ContainerWriter
from vidquant.encode import encode_file
from vidquant.encoder import Encoder, make_header
from vidquant.io.reader import VideoReader
from vidquant.settings import EncodeSettings


def test_threaded_pipeline_equals_single_thread(clip: Path, tmp_path: Path) -> None:
    settings = EncodeSettings(k=16, audio="none")
    vq = tmp_path / "threaded.vq"
    encode_file(clip, vq, settings)
    buf = io.BytesIO()
    with VideoReader(clip) as reader:
        meta_header = make_header(reader.info, settings, clip)
        encoder = Encoder(ContainerWriter(buf, meta_header), settings)
        for frame in reader:
            encoder.encode(frame)
        encoder.flush()
    assert vq.read_bytes() == buf.getvalue()


@pytest.mark.parametrize("fail_at", [0, 3, 10])
def test_failure_mid_encode_stops_threads_and_leaves_nothing(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    real_code = encoder_module.FrameCoder.code
    calls = {"n": 0}

    def failing_code(self, q):
        if calls["n"] == fail_at:
            raise OSError(28, "No space left on device")
        calls["n"] += 1
        return real_code(self, q)

    monkeypatch.setattr(encoder_module.FrameCoder, "code", failing_code)
    for _ in range(5):  # a race would show up as a crash of the whole test process
        calls["n"] = 0
        with pytest.raises(OSError, match="No space left") as caught:
            encode_file(clip, tmp_path / "x.vq", EncodeSettings(k=8))
        # While the caller still holds the exception (and its traceback), no stage thread may
        # be running: the file they read from is closed.
        time.sleep(0.3)
        alive = [t.name for t in threading.enumerate() if t.name.startswith("vidquant-")]
        assert not alive, f"threads left running: {alive}"
        del caught
        assert list(tmp_path.iterdir()) == [], "a failed encode left files behind"


def test_ctrl_c_exits_130_with_one_line_and_no_file(sample: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "int.vq"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidquant", "encode", str(sample), "-o", str(out), "-q"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
        stderr=subprocess.PIPE,
        text=True,
        # a background job may inherit an ignored SIGINT; a user's terminal does not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".int.vq.*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the encode is under way
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert proc.stderr is not None and proc.stderr.read().strip() == "vidquant: error: interrupted"
    assert list(tmp_path.iterdir()) == [], "an interrupted encode left files behind"
