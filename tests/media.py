"""Small synthetic media the tests make for themselves (nothing is downloaded)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def synthetic_frame(i: int, width: int, height: int, *, seed: int = 0) -> np.ndarray:
    """A frame with smooth gradients, a moving disc and a little noise; frame ``i`` of a pan."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shift = 3.0 * i
    r = 128 + 100 * np.sin((x + shift) / 37.0)
    g = 128 + 100 * np.cos((y - shift / 2) / 29.0)
    b = 255 * ((x + y + shift) % 97) / 97.0
    cx, cy = (width * (0.2 + 0.02 * i)) % width, height / 2
    disc = (x - cx) ** 2 + (y - cy) ** 2 < (min(width, height) / 6) ** 2
    rgb = np.stack([r, g, b], axis=-1)
    rgb[disc] = (240, 40, 30)
    rng = np.random.default_rng(seed + i)
    rgb += rng.normal(0, 2.0, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def make_clip(
    path: Path,
    *,
    width: int = 96,
    height: int = 64,
    frames: int = 12,
    fps: int = 12,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
    pts_list: list[int] | None = None,
    time_base: Fraction | None = None,
    audio: bool = False,
) -> Path:
    """Write a short synthetic video; ``pts_list`` (in ``time_base``) makes it variable-rate."""
    opts = {"crf": "18", "preset": "ultrafast"} if codec == "libx264" else {}
    opts.update(options or {})
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps, options=opts)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if time_base is not None:
            stream.codec_context.time_base = time_base
        if audio:
            astream = container.add_stream("aac", rate=48000, layout="stereo")
        for i in range(frames):
            vframe = av.VideoFrame.from_ndarray(synthetic_frame(i, width, height), format="rgb24")
            if pts_list is not None:
                vframe.pts = pts_list[i]
                vframe.time_base = time_base
            container.mux(stream.encode(vframe.reformat(format=pix_fmt)))
        container.mux(stream.encode(None))
        if audio:
            n = int(48000 * frames / fps)
            t = np.arange(n) / 48000
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            aframe = av.AudioFrame.from_ndarray(
                np.stack([tone, tone]), format="fltp", layout="stereo"
            )
            aframe.sample_rate = 48000
            aframe.pts = 0
            container.mux(astream.encode(aframe))
            container.mux(astream.encode(None))
    return path


def decoded_frames(vq: Path) -> list[np.ndarray]:
    """Every frame of the .vq file ``vq``, decoded to RGB."""
    from vidquant.decoder import open_vq

    with open_vq(vq) as decoder:
        return [f.to_rgb() for f in decoder.iter_frames()]
