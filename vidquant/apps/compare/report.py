"""What ``vidquant compare`` shows: the table, the JSON, the ``--plot`` and ``--frames`` PNGs.

The figures come from :func:`vidquant.apps.compare.compare_files`; this module only presents
them. :func:`report_comparison` is the whole command: compare, write the pictures asked for,
and return the text to print.

JSON schema (``--json``; ``"schema": "vidquant-compare/1"``; a new key or a changed meaning
bumps the number). Units are in the key names; ``null`` marks a figure that could not be
measured (e.g. SSIM on frames smaller than 11x11, flicker without a still pixel)::

    schema        "vidquant-compare/1"
    original      path, file_bytes, video_bytes, audio_bytes, duration_s (video stream span),
                  bitrate_kbps, video_bitrate_kbps, audio_bitrate_kbps, width, height, fps, codec
    vq            path, file_bytes, duration_s, frames, keyframes, width, height, k,
                  bitrate_kbps, labels_bytes, labels_kbps, palettes_bytes, palettes_kbps,
                  audio_bytes, audio_kbps, overhead_bytes, overhead_kbps
    compared      start_s, duration_s (null: to the end) - the part of the original the .vq
                  was encoded from; source_frames, vq_frames, paired_frames,
                  source_before_vq, source_after_vq, vq_frames_held, vq_frames_unshown,
                  source_end_s, vq_end_s (end of the last frame read from each),
                  slack_frames (0.5: pairing by time tolerates half a source frame)
    ratios        original_to_vq (bitrates), raw_rgb_bytes, raw_rgb_to_vq (values > 1: the .vq
                  is smaller)
    quality       psnr_mean_db, psnr_min_db, psnr_cap_db (identical frames score this),
                  worst: [{time_s, source_frame, vq_frame, psnr_db}] (worst first),
                  ssim_mean, sampled_frames, sample_stride (SSIM and colours were measured on
                  every sample_stride-th frame), flicker_source_levels, flicker_vq_levels
                  (mean change per channel between frames, 0..255, over pixels still in the
                  source), still_pixels_pct, colours_source_mean, colours_vq_mean
    references    [{name ("h264" | "gif"), setting, frames, duration_s, video_bytes,
                  bitrate_kbps, psnr_mean_db, vq_bitrate_kbps, vq_psnr_mean_db (the .vq over
                  the same frames, video only), verdict, note}]
    warnings      [str]: mismatches between the files and caveats, one sentence each
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidquant.apps.compare.quality import PSNR_CAP_DB
from vidquant.apps.compare.results import Comparison, Still
from vidquant.apps.compare.run import compare_files, stills_at
from vidquant.errors import OutputError, VidquantError
from vidquant.progress import Progress

SCHEMA = "vidquant-compare/1"
_NAMES = {"h264": "H.264", "gif": "GIF"}


def report_comparison(
    original: str | Path,
    vq: str | Path,
    *,
    references: Sequence[str] = (),
    as_json: bool = False,
    plot: Path | None = None,
    frames: Path | None = None,
    times_s: Sequence[float] | None = None,
    progress: Progress | None = None,
) -> str:
    """Compare ``vq`` with ``original``, write the pictures asked for, return the text to print.

    Parameters
    ----------
    original, vq
        The source video and the ``.vq`` file.
    references
        As :func:`vidquant.apps.compare.compare_files`.
    as_json
        Return JSON in the schema of the module docstring instead of the table.
    plot
        Write per-frame bits and PSNR over time to this PNG (:func:`write_plot`).
    frames
        Write side-by-side stills to this PNG (:func:`write_stills`).
    times_s
        The stills' times, seconds from the start of the compared part (default: at a quarter,
        half and three quarters of it).
    progress
        Receives progress of each pass.

    Returns
    -------
    str
        The table's lines, or the JSON document.

    Raises
    ------
    OutputError
        The folder of ``plot`` or ``frames`` does not exist (checked before comparing), or a
        picture cannot be written.
    SettingsError, InputError, FormatError
        As :func:`vidquant.apps.compare.compare_files` and
        :func:`vidquant.apps.compare.stills_at`.
    """
    for path in (plot, frames):
        if path is not None and not path.parent.is_dir():
            raise OutputError(f"folder not found: {path.parent}")
    result = compare_files(original, vq, references=references, progress=progress)
    if plot is not None:
        write_plot(result, plot)
    if frames is not None:
        if times_s is None:
            end = result.quality.per_frame[-1].time_s if result.quality.per_frame else 0.0
            times_s = [round(end * f, 3) for f in (0.25, 0.5, 0.75)]
        write_stills(stills_at(original, vq, times_s), frames)
    if as_json:
        return json.dumps(as_json_dict(result), indent=2)
    return "\n".join(table_lines(result))


# --- JSON ------------------------------------------------------------------------------------


def _num(value: float | None) -> float | None:
    """JSON has no nan or inf: they become null."""
    return None if value is None or not math.isfinite(value) else float(value)


def as_json_dict(c: Comparison) -> dict[str, Any]:
    """The comparison as plain JSON values, in the schema of the module docstring."""
    o, v, q, p = c.original, c.vq, c.quality, c.pairing
    h = v.header
    return {
        "schema": SCHEMA,
        "original": {
            "path": str(o.path),
            "file_bytes": o.file_bytes,
            "video_bytes": o.video_bytes,
            "audio_bytes": o.audio_bytes,
            "duration_s": o.duration_s,
            "bitrate_kbps": o.kbps(o.file_bytes),
            "video_bitrate_kbps": o.kbps(o.video_bytes),
            "audio_bitrate_kbps": o.kbps(o.audio_bytes),
            "width": o.width,
            "height": o.height,
            "fps": o.fps,
            "codec": o.codec,
        },
        "vq": {
            "path": str(c.vq_path),
            "file_bytes": v.file_bytes,
            "duration_s": v.duration_s,
            "frames": v.frames,
            "keyframes": v.keyframes,
            "width": h.width,
            "height": h.height,
            "k": h.k,
            "bitrate_kbps": v.kbps(v.file_bytes),
            "labels_bytes": v.label_bytes,
            "labels_kbps": v.kbps(v.label_bytes),
            "palettes_bytes": v.palette_bytes,
            "palettes_kbps": v.kbps(v.palette_bytes),
            "audio_bytes": v.audio_bytes,
            "audio_kbps": v.kbps(v.audio_bytes),
            "overhead_bytes": v.overhead_bytes,
            "overhead_kbps": v.kbps(v.overhead_bytes),
        },
        "compared": {
            "start_s": c.compared_start_s,
            "duration_s": c.compared_duration_s,
            "source_frames": p.source_frames,
            "vq_frames": p.vq_frames,
            "paired_frames": p.paired,
            "source_before_vq": p.source_before_vq,
            "source_after_vq": p.source_after_vq,
            "vq_frames_held": p.vq_held,
            "vq_frames_unshown": p.vq_unshown,
            "source_end_s": p.source_end_s,
            "vq_end_s": p.vq_end_s,
            "slack_frames": 0.5,
        },
        "ratios": {
            "original_to_vq": c.ratios.original_to_vq,
            "raw_rgb_bytes": c.ratios.raw_rgb_bytes,
            "raw_rgb_to_vq": c.ratios.raw_rgb_to_vq,
        },
        "quality": {
            "psnr_mean_db": _num(q.psnr_mean_db),
            "psnr_min_db": _num(q.psnr_min_db),
            "psnr_cap_db": PSNR_CAP_DB,
            "worst": [
                {
                    "time_s": s.time_s,
                    "source_frame": s.source_index,
                    "vq_frame": s.vq_index,
                    "psnr_db": s.psnr_db,
                }
                for s in q.worst
            ],
            "ssim_mean": _num(q.ssim_mean),
            "sampled_frames": q.sampled_frames,
            "sample_stride": q.sample_stride,
            "flicker_source_levels": _num(q.flicker_source),
            "flicker_vq_levels": _num(q.flicker_vq),
            "still_pixels_pct": _num(q.still_pct),
            "colours_source_mean": _num(q.colours_source_mean),
            "colours_vq_mean": _num(q.colours_vq_mean),
        },
        "references": [
            {
                "name": r.name,
                "setting": r.setting,
                "frames": r.frames,
                "duration_s": r.duration_s,
                "video_bytes": r.video_bytes,
                "bitrate_kbps": r.bitrate_kbps,
                "psnr_mean_db": _num(r.psnr_mean_db),
                "vq_bitrate_kbps": r.vq_bitrate_kbps,
                "vq_psnr_mean_db": _num(r.vq_psnr_mean_db),
                "verdict": r.verdict,
                "note": r.note,
            }
            for r in c.references
        ],
        "warnings": list(c.warnings),
    }


# --- the table -------------------------------------------------------------------------------


def _f(value: float | None, spec: str, unit: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:{spec}}{unit}"


def table_lines(c: Comparison) -> list[str]:
    """The comparison as plain-text lines for a terminal."""

    o, v, q, p = c.original, c.vq, c.quality, c.pairing
    h = v.header
    rows: list[tuple[str, str, str]] = [
        ("", "original", "vidquant"),
        ("file", o.path.name, f"{c.vq_path.name} (k={h.k})"),
        ("duration", f"{o.duration_s:.3f} s", f"{v.duration_s:.3f} s"),
        ("frames", f"{p.source_frames} compared", f"{v.frames} ({v.keyframes} keyframes)"),
        ("resolution", f"{o.width}x{o.height} {o.codec}", f"{h.width}x{h.height}"),
        ("size", f"{o.file_bytes:,} B", f"{v.file_bytes:,} B"),
        ("bitrate", f"{o.kbps(o.file_bytes):.1f} kbps", f"{v.kbps(v.file_bytes):.1f} kbps"),
        ("  video", f"{o.kbps(o.video_bytes):.1f} kbps", ""),
        ("  labels", "", f"{v.kbps(v.label_bytes):.1f} kbps"),
        ("  palettes", "", f"{v.kbps(v.palette_bytes):.1f} kbps"),
        ("  audio", f"{o.kbps(o.audio_bytes):.1f} kbps", f"{v.kbps(v.audio_bytes):.1f} kbps"),
        ("  overhead", "", f"{v.kbps(v.overhead_bytes):.1f} kbps"),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{a:<{w0}}  {b:<{w1}}  {x}".rstrip() for a, b, x in rows]
    r = c.ratios
    smaller = "smaller" if r.original_to_vq >= 1 else "LARGER"
    lines.append(
        f"{'ratio':<{w0}}  the .vq is {max(r.original_to_vq, 1 / r.original_to_vq):.2f}x "
        f"{smaller} than the original (by bitrate), {r.raw_rgb_to_vq:.1f}x smaller than raw RGB"
    )
    if c.compared_start_s > 0 or c.compared_duration_s is not None:
        part = f"from {c.compared_start_s:.3f} s"
        if c.compared_duration_s is not None:
            part += f" for {c.compared_duration_s:.3f} s"
        lines.append(f"{'compared':<{w0}}  the original {part}")
    lines.append("")
    lines.append(f"quality of vidquant against the original ({p.paired} frames paired by time)")
    sample = (
        "every frame"
        if q.sample_stride == 1
        else f"{q.sampled_frames} frames, every {q.sample_stride}th"
    )
    worst = ", ".join(f"{s.time_s:.3f} s {s.psnr_db:.2f} dB" for s in q.worst) or "n/a"
    quality_rows = [
        (
            "PSNR mean / min",
            f"{_f(q.psnr_mean_db, '.2f', ' dB')} / {_f(q.psnr_min_db, '.2f', ' dB')}",
        ),
        ("worst frames", worst),
        ("SSIM mean", f"{_f(q.ssim_mean, '.4f')} ({sample})"),
        (
            "flicker",
            f"original {_f(q.flicker_source, '.2f')}, vidquant {_f(q.flicker_vq, '.2f')} "
            f"levels/channel between frames, over the {_f(q.still_pct, '.1f', ' %')} "
            "of pixels still in the original",
        ),
        (
            "colours/frame",
            f"original {_f(q.colours_source_mean, ',.0f')}, "
            f"vidquant {_f(q.colours_vq_mean, ',.1f')} (mean, {sample})",
        ),
    ]
    wq = max(len(a) for a, _ in quality_rows)
    lines += [f"  {a:<{wq}}  {b}" for a, b in quality_rows]
    if c.references:
        first = c.references[0]
        lines.append("")
        lines.append(
            f"references (first {first.frames} frames, {first.duration_s:.2f} s; "
            "video bytes only, PSNR against the original)"
        )
        ref_rows = [("codec", "setting", "kbps", "PSNR dB")]
        ref_rows.append(
            (
                "vidquant",
                f"k {h.k}",
                f"{first.vq_bitrate_kbps:.1f}",
                _f(first.vq_psnr_mean_db, ".2f"),
            )
        )
        for ref in c.references:
            ref_rows.append(
                (
                    _NAMES.get(ref.name, ref.name),
                    ref.setting,
                    f"{ref.bitrate_kbps:.1f}",
                    _f(ref.psnr_mean_db, ".2f"),
                )
            )
        widths = [max(len(row[i]) for row in ref_rows) for i in range(4)]
        for a, b, x, y in ref_rows:
            lines.append(
                f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {x:>{widths[2]}}  {y:>{widths[3]}}"
            )
        for ref in c.references:
            lines.append(f"  {ref.verdict}")
            if ref.note:
                lines.append(f"  ({ref.note})")
    if c.warnings:
        lines.append("")
        lines.append("warnings:")
        lines += [f"  - {w}" for w in c.warnings]
    return lines


# --- pictures --------------------------------------------------------------------------------


def write_plot(c: Comparison, path: Path) -> None:
    """Per-frame bits (keyframes marked) and PSNR over time, as a PNG at ``path``.

    Raises
    ------
    VidquantError
        matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise VidquantError("--plot needs matplotlib: pip install matplotlib") from exc

    fig = Figure(figsize=(10, 6), dpi=100)
    FigureCanvasAgg(fig)
    bits_ax, psnr_ax = fig.subplots(2, 1, sharex=True)
    t = np.array([b.time_s for b in c.frame_bits])
    kbit = np.array([b.bits / 1000 for b in c.frame_bits])
    key = np.array([b.keyframe for b in c.frame_bits], dtype=bool)
    bits_ax.plot(t, kbit, drawstyle="steps-post", color="tab:blue", linewidth=1, label="frame")
    bits_ax.scatter(t[key], kbit[key], color="tab:red", marker="v", zorder=3, label="keyframe")
    bits_ax.set_ylabel("kbit per frame")
    bits_ax.legend(loc="upper right")
    scores = c.quality.per_frame
    psnr_ax.plot([s.time_s for s in scores], [s.psnr_db for s in scores], color="tab:green")
    for x in t[key]:
        psnr_ax.axvline(x, color="tab:red", alpha=0.3, linewidth=1)
    psnr_ax.set_ylabel("PSNR dB")
    psnr_ax.set_xlabel("time s (keyframes in red)")
    fig.suptitle(
        f"{c.original.path.name}: vidquant k={c.vq.header.k}, {c.vq.kbps(c.vq.file_bytes):.0f} kbps"
    )
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_stills(stills: tuple[Still, ...], path: Path) -> None:
    """One row per still: original on the left, vidquant on the right, captioned; a PNG."""
    rows = []
    for still in stills:
        h, w = still.source_rgb.shape[:2]
        scale = max(1, math.ceil(320 / w))  # small clips are enlarged so the caption fits
        pair = np.hstack([still.source_rgb, np.full((h, 4, 3), 255, np.uint8), still.vq_rgb])
        pair = np.repeat(np.repeat(pair, scale, axis=0), scale, axis=1)
        caption = np.full((24, pair.shape[1], 3), 255, np.uint8)
        text = (
            f"t={still.time_s:.2f}s  original {still.source_time_s:.2f}s | "
            f"vidquant {still.vq_time_s:.2f}s  PSNR {still.psnr_db:.1f} dB"
        )
        cv2.putText(caption, text, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
        rows.append(np.vstack([caption, pair]))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    image = np.vstack(rows)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OutputError(f"cannot write {path} (is it a .png name in a writable folder?)")
