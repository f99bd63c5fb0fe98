"""encode_file's threaded pipeline: same bytes as the one-thread Encoder, clean failure."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

import vidquant.encoder as encoder_module
from vidquant.codec.container import ContainerWriter
from vidquant.encoder import Encoder, encode_file, make_header
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
