"""Jobs a benchmark measures in a child process of its own, so that its peak memory is its own.

A script runs one with :func:`procs.run_child` (``script --child JOB ARGS...``) and hands
:data:`JOBS` to :func:`procs.child_main` at the top of its ``main``. Each job imports what it
needs only when it runs, reads its peak memory after those imports (``base_mib``) and at the
end (``peak_mib``), and times its own work (``wall_s``: no interpreter start-up, no imports).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .procs import Job, peak_rss_mib, touch_frames

WEBP_OPTIONS = {"lossless": True, "method": 4, "quality": 80}  # libwebp's default effort


def vq_encode(src: str, dst: str, settings: str) -> dict[str, Any]:
    """``encode_file(src, dst, EncodeSettings(**json.loads(settings)), force=True)``."""
    from vidquant import EncodeSettings, encode_file

    base = peak_rss_mib()
    t0 = time.perf_counter()
    rep = encode_file(src, dst, EncodeSettings(**json.loads(settings)), force=True)
    wall = time.perf_counter() - t0
    res = {key: getattr(rep, key) for key in ("frames", "keyframes", "duration_s", "kbps")}
    res.update(bytes=rep.sizes.total, frames_lost=rep.frames_lost)
    return {**res, **_timed(res["frames"], wall, base)}


def vq_decode(path: str) -> dict[str, Any]:
    """``open_vq(path).iter_rgb()`` to the end. Only the decoder is imported, as a player would."""
    from vidquant.decoder import open_vq

    base = peak_rss_mib()
    t0 = time.perf_counter()
    with open_vq(path) as dec:
        res = {"frames": touch_frames(f.rgb for f in dec.iter_rgb())}
        res.update(width=dec.header.width, height=dec.header.height)
    wall = time.perf_counter() - t0
    return {**res, **_timed(res["frames"], wall, base)}


def gif_decode(path: str) -> dict[str, Any]:
    """PyAV decoding a GIF to rgb24, for scale."""
    import av

    base = peak_rss_mib()
    t0 = time.perf_counter()
    with av.open(path) as c:
        res = {"frames": touch_frames(f.to_ndarray(format="rgb24") for f in c.decode(video=0))}
    wall = time.perf_counter() - t0
    return {**res, **_timed(res["frames"], wall, base)}


def _timed(frames: int, wall: float, base: float) -> dict[str, Any]:
    return {"wall_s": wall, "fps": frames / wall, "base_mib": base, "peak_mib": peak_rss_mib()}


def webp(gif: str, out: str) -> dict[str, Any]:
    """Lossless animated WebP of the GIF's frames, with the GIF's delays; checked exact."""
    import av
    from PIL import Image, features

    # Pillow's WebP writer takes every frame at once, so they are all held (see the README).
    with av.open(gif) as c:
        frames = [(f.time, f.to_image()) for f in c.decode(video=0)]
    times = [t for t, _ in frames]
    gaps = np.diff(times).tolist()
    durations = [round(1000 * d) for d in gaps + [gaps[-1] if gaps else 0.1]]
    base = peak_rss_mib()
    t0 = time.perf_counter()
    first, *rest = (img for _, img in frames)
    first.save(
        out, "WEBP", save_all=True, append_images=rest, duration=durations, loop=0, **WEBP_OPTIONS
    )
    wall = time.perf_counter() - t0
    peak = peak_rss_mib()
    # libwebp merges identical consecutive frames into one longer frame, so the check pairs
    # each GIF frame with the WebP frame on screen at its start time.
    starts = np.concatenate([[0], np.cumsum(durations)[:-1]])
    exact = 0
    with Image.open(out) as webp:
        n_webp, j = webp.n_frames, 0
        webp.seek(0)
        webp.load()  # timestamp and duration are known once the frame is loaded
        for start, (_, img) in zip(starts, frames, strict=True):
            while j + 1 < n_webp and webp.info["timestamp"] + webp.info["duration"] <= start:
                j += 1
                webp.seek(j)
                webp.load()
            exact += bool(np.array_equal(np.asarray(webp.convert("RGB")), np.asarray(img)))
    return {
        "frames": len(frames),
        "webp_frames": n_webp,
        "exact_frames": exact,
        "bytes": Path(out).stat().st_size,
        "wall_s": wall,
        "base_mib": base,
        "peak_mib": peak,
        "libwebp": features.version("webp"),
        "options": WEBP_OPTIONS,
    }


def liq(clip: str, k: str) -> dict[str, Any]:
    """libimagequant on every frame on its own (no dithering); quality against the source."""
    import imagequant

    from vidquant.io.reader import VideoReader

    from .quality import Quality

    base = peak_rss_mib()
    quantise_s = 0.0
    colours = int(k)

    def quantised(frames: Iterable[Any]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        nonlocal quantise_s
        for f in frames:
            h, w = f.rgb.shape[:2]
            t0 = time.perf_counter()
            rgba = np.dstack([f.rgb, np.full((h, w), 255, np.uint8)])
            idx, pal = imagequant.quantize_raw_rgba_bytes(
                rgba.tobytes(), w, h, dithering_level=0.0, max_colors=colours
            )
            palette = np.asarray(pal, np.uint8).reshape(-1, 4)[:, :3]
            out = palette[np.frombuffer(idx, np.uint8).reshape(h, w)]
            quantise_s += time.perf_counter() - t0
            yield f.rgb, out

    with VideoReader(Path(clip)) as src:
        quality = Quality()
        for s, t in quantised(src):
            quality.add(s, t)
    return {
        **quality.result(),
        "pairing": "the same frames",
        "wall_s": quantise_s,
        "base_mib": base,
        "peak_mib": peak_rss_mib(),
    }


JOBS: dict[str, Job] = {
    "vq-encode": vq_encode,
    "vq-decode": vq_decode,
    "gif-decode": gif_decode,
    "webp": webp,
    "liq": liq,
}
