"""``bench_corpus``'s video references: x264 and SVT-AV1 at the CRF that matches vidquant's PSNR.

For each encoder (:data:`benchkit.references.VIDEO_ENCODERS`), an integer CRF search
(:func:`benchkit.bisect.search_crf`, at most :data:`MAX_PROBES` encodes) looks for the smallest
file whose mean per-frame PSNR against the source reaches vidquant's on the same clip at the
same k. Every probe is a fresh ``ffmpeg`` run on the clip (nothing is cached across runs), and
its PSNR is measured as :func:`benchkit.quality.measure` measures it: the source and the output
as ``VideoReader`` decodes them, paired frame by frame, RGB PSNR per frame capped at 100 dB,
then the mean. Frames must pair one to one: a file with another frame count ends the run.

The chosen file then gets the figures of the other encoders: its own encode's wall time and
peak memory (under ``/usr/bin/time``), a decode in a child process (:func:`video_decode`: PyAV
decoding to rgb24 with the decoder's own threads, as a player would; the peak memory is the
child's) and the full quality measurement (PSNR, min, flicker).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .bisect import Probe, probes_needed, search_crf
from .procs import Job, ToolError, ToolRun, peak_rss_mib, run_child, run_tool, touch_frames
from .references import VideoEncoder, video_frame_count

MAX_PROBES = 7  # a bisection over 0..51 (x264) or 1..63 (SVT-AV1) needs 6, plus one check
_KNOWN_MATRICES = (1, 4, 5, 6, 7, 9, 10)  # colour matrices VideoReader honours (else default)


class FrameCountError(SystemExit):
    """An output whose frames do not pair one to one with the source's."""


def check_frames(path: Path, n_src: int, what: str) -> None:
    """End the run when ``path`` does not hold exactly the source's ``n_src`` frames."""
    n = video_frame_count(path)
    if n != n_src:
        raise FrameCountError(
            f"{what}: {path.name} has {n} frames, the source {n_src}; frames must pair one to "
            "one (is the ffmpeg passthrough option honoured?)"
        )


def probe_psnr(clip: Path, path: Path) -> float:
    """Mean per-frame PSNR of ``path`` against ``clip``, paired by order: the ``psnr_mean`` of
    :func:`benchkit.quality.measure`, without the flicker figure a probe does not need."""
    from vidquant.io.reader import VideoReader
    from vidquant.metrics import PSNR_CAP_DB, psnr

    scores = []
    with VideoReader(clip) as src, VideoReader(path) as test:
        try:
            for s, t in zip(src, test, strict=True):
                h, w = s.rgb.shape[:2]
                scores.append(min(PSNR_CAP_DB, psnr(s.rgb, t.rgb[:h, :w])))
        except ValueError as exc:  # zip: one ran out before the other
            raise FrameCountError(f"{path.name}: frames do not pair with {clip.name}") from exc
    return float(np.mean(scores))  # as Quality.result averages


def bench_video_ref(
    enc: VideoEncoder,
    *,
    ffmpeg: str,
    clip: Path,
    stem: Path,
    target_db: float,
    n_src: int,
    kbps: Callable[[int], float],
    script: str | Path,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """``enc`` on ``clip`` at the CRF found for ``target_db``: the figures of a report row, or
    ``{"skipped": why}`` when ffmpeg fails. The chosen file is kept as ``STEM.SLUG.mkv``."""
    runs: dict[int, ToolRun] = {}
    lo, hi = enc.crf_range

    def probe_path(crf: int) -> Path:
        return Path(f"{stem}.{enc.slug}.crf{crf}.mkv")

    def trial(crf: int) -> Probe:
        out = probe_path(crf)
        say(f"{enc.name} crf {crf}")
        runs[crf] = run_tool(enc.command(ffmpeg, clip, out, crf))
        check_frames(out, n_src, enc.name)
        return Probe(crf, probe_psnr(clip, out), out.stat().st_size, runs[crf].wall_s)

    t0 = time.perf_counter()
    try:
        search = search_crf(trial, lo, hi, target_db, max_probes=MAX_PROBES)
    except ToolError as exc:
        return {"skipped": f"{enc.codec} failed: {exc}"}
    search_s = time.perf_counter() - t0
    best = search.chosen
    kept = Path(f"{stem}.{enc.slug}.mkv")
    probe_path(best.crf).replace(kept)
    for crf in runs:
        probe_path(crf).unlink(missing_ok=True)
    say(f"{enc.name} decode (crf {best.crf})")
    dec = run_child(script, "video-decode", kept)
    if dec["frames"] != n_src:
        raise FrameCountError(f"{enc.name}: decoded {dec['frames']} frames, the source {n_src}")
    say(f"{enc.name} quality")
    from vidquant.io.reader import VideoReader

    from .quality import measure

    quality = measure(clip, lambda: VideoReader(kept), n_src)
    if quality["pairing"] != "frame order" or quality["paired"] != n_src:
        raise FrameCountError(f"{enc.name}: {quality['paired']} pairs ({quality['pairing']})")
    note = ""
    if not search.reached:
        note = (
            f"no CRF in {lo}..{hi} reached vidquant's {target_db:.2f} dB in {len(search.probes)} "
            f"probes; the best tried (crf {best.crf}, {best.psnr_db:.2f} dB) is shown"
        )
    return {
        "bytes": best.bytes,
        "kbps": kbps(best.bytes),
        "crf": best.crf,
        "encode_s": best.encode_s,
        "encode_peak_mib": runs[best.crf].peak_mib,
        "decode_fps": dec["frames"] / dec["wall_s"],
        "decode_peak_mib": dec["peak_mib"],
        "decode_base_mib": dec["base_mib"],
        "decoder": dec["decoder"],
        **quality,
        "probe_psnr": best.psnr_db,  # equals psnr_mean: the same frames, pairs and metric
        "target_psnr": target_db,
        "reached": search.reached,
        "note": note,
        "setting": enc.note,
        "command": " ".join(enc.command(ffmpeg, clip, kept, best.crf)),
        "search": {
            **search.as_json(),
            "crf_range": [lo, hi],
            "max_probes": MAX_PROBES,
            "bisection_needs": probes_needed(lo, hi),
            "wall_s": search_s,
        },
    }


def video_decode(path: str) -> dict[str, Any]:
    """PyAV decoding a video file to rgb24 frames (the file's colour matrix and range), with
    the decoder's frame or slice threads, as a player would; one pixel of each frame read."""
    import av

    base = peak_rss_mib()
    t0 = time.perf_counter()
    with av.open(path) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"

        def rgb(f: av.VideoFrame) -> Any:
            cs = f.colorspace if f.colorspace in _KNOWN_MATRICES else None
            return f.reformat(
                format="rgb24", src_colorspace=cs, src_color_range=f.color_range or None
            ).to_ndarray()

        n = touch_frames(rgb(f) for f in c.decode(stream))
        decoder = stream.codec_context.name
    wall = time.perf_counter() - t0
    return {
        "frames": n,
        "wall_s": wall,
        "fps": n / wall,
        "base_mib": base,
        "peak_mib": peak_rss_mib(),
        "decoder": decoder,
    }


VIDEO_JOBS: dict[str, Job] = {"video-decode": video_decode}
