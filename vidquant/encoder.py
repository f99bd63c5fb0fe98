"""Frames in, records out: the encoder owns the stage order and the final flush (no files).

Per frame: decide keyframe or not (scene cut, maximum interval) -> palette (fit or partial_fit
and delta) -> labels (lookup table, stickiness against the previous labels) -> label coding ->
one container record. The label coder may trade the quantiser's labels for cheaper ones that
are close enough (rate-distortion decisions, ``quality``); the reconstruction it returns is
exactly what the decoder will show.
:func:`vidquant.encode.encode_file` runs these stages from a source file to a ``.vq`` file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from vidquant.codec.blocklabels import BlockLabelEncoder
from vidquant.codec.container import ContainerWriter
from vidquant.codec.meta import make_meta
from vidquant.codec.records import FrameRecord, Header
from vidquant.errors import InputError
from vidquant.frames import Frame, PaletteFrame, VideoInfo
from vidquant.quantize import Quantizer
from vidquant.settings import EncodeSettings
from vidquant.threads import iter_ahead

_THUMB = (64, 36)  # scene-cut detection compares frames at this size


@dataclass(frozen=True)
class EncodedFrame:
    """What the encoder did with one frame.

    Attributes
    ----------
    reconstruction
        The frame as the decoder will show it (labels and palette).
    record_bytes
        Size of the frame's record in the file, framing included.
    palette_changes
        Palette entries sent with the frame (k on a keyframe).
    scene_cut
        True when the keyframe was forced by a scene cut.
    """

    reconstruction: PaletteFrame
    record_bytes: int
    palette_changes: int
    scene_cut: bool


@dataclass(frozen=True, eq=False)
class QuantizedFrame:
    """A frame after the palette and quantiser stages, ready for the label coder.

    Attributes
    ----------
    reconstruction
        The frame as the decoder will show it (labels and palette).
    palette_index, palette_rgb
        Palette entries sent with the frame (all k on a keyframe), as in :class:`FrameRecord`.
    rgb
        The source frame, which the label coder's rate-distortion decisions measure against
        (None where the coder is lossless).
    previous_labels
        The quantiser's labels of the previous frame; None on a keyframe.
    scene_cut
        True when the keyframe was forced by a scene cut.
    """

    reconstruction: PaletteFrame
    palette_index: np.ndarray
    palette_rgb: np.ndarray
    rgb: np.ndarray | None
    previous_labels: np.ndarray | None
    scene_cut: bool


@dataclass(frozen=True, eq=False)
class PaletteStep:
    """The palette stage's answer for one frame: keyframe or not, and the palette after it.

    Attributes
    ----------
    pts
        The frame's pts.
    keyframe, scene_cut
        Whether the frame is a keyframe, and whether a scene cut forced it.
    palette
        (k, 3) uint8: the palette the frame is shown with.
    """

    pts: int
    keyframe: bool
    scene_cut: bool
    palette: np.ndarray


class PaletteStage:
    """Decide keyframes (scene cuts, the maximum interval) and follow the palette.

    Its steps depend on the frames before, so a clip has one stage; segments of a parallel
    encode (:mod:`vidquant.segments`) label their frames with the steps of one stage run over
    the whole clip. ``keyframes_at`` (pts, increasing) are where they start: the first frame
    at or after each is a keyframe, as a periodic one (and the interval counts from there).
    """

    def __init__(
        self, header: Header, settings: EncodeSettings, *, keyframes_at: Iterable[int] = ()
    ) -> None:
        from vidquant.palette import PaletteManager  # scikit-learn: not in segment workers

        self.header = header
        self.settings = settings
        self._palettes = PaletteManager(
            settings.k,
            seed=settings.seed,
            sample_pixels=settings.sample_pixels,
            delta_min=settings.delta_min,
        )
        self._prev_thumb: np.ndarray | None = None
        self._last_key_pts: int | None = None
        self._keyint = settings.keyint_s / header.time_base  # in time-base units
        self._frames = 0
        self._forced = list(keyframes_at)[::-1]  # the next one last

    def step(self, frame: Frame) -> PaletteStep:
        """The step of the next frame (frames must come in presentation order)."""
        h = self.header
        if frame.rgb.shape != (h.height, h.width, 3):
            raise ValueError(
                f"frame {frame.index} is {frame.rgb.shape}, expected {(h.height, h.width, 3)}"
            )
        thumb = cv2.resize(frame.rgb, _THUMB, interpolation=cv2.INTER_AREA).astype(np.int16)
        cut = (
            self._prev_thumb is not None
            and float(np.abs(thumb - self._prev_thumb).mean()) > self.settings.scene_cut
        )
        self._prev_thumb = thumb
        due = self._last_key_pts is None or frame.pts - self._last_key_pts >= self._keyint
        while self._forced and frame.pts >= self._forced[-1]:
            self._forced.pop()
            due = True
        keyframe = cut or due
        if keyframe:
            # The first frame and scene cuts get a fresh fit; a periodic keyframe inside a scene
            # starts from the current palette so entries keep their colours (no flicker).
            palette = self._palettes.keyframe(frame.rgb, reuse=not cut and self._frames > 0)
            self._last_key_pts = frame.pts
        else:
            self._palettes.update(frame.rgb)
            palette = self._palettes.palette.copy()
        self._frames += 1
        return PaletteStep(frame.pts, keyframe, bool(cut), palette)


class FrameModeller:
    """The palette and quantiser stages: decide keyframes, follow the palette, assign labels.

    Parameters
    ----------
    header
        Size, k and time base of the stream.
    settings
        Validated encoder settings.
    stage
        False for a segment of a parallel encode, whose palette steps come from elsewhere
        (:meth:`model`'s ``step``).
    """

    def __init__(self, header: Header, settings: EncodeSettings, *, stage: bool = True) -> None:
        self.header = header
        self.settings = settings
        self._stage = PaletteStage(header, settings) if stage else None
        self._quantizer = Quantizer()
        self._prev_labels: np.ndarray | None = None
        self._last_palette: np.ndarray | None = None

    def model(
        self, frame: Frame, step: PaletteStep | None = None, *, keyframe: bool = False
    ) -> QuantizedFrame:
        """Palette and labels of one frame (frames must come in presentation order).

        ``step`` is the frame's palette step when this modeller has no stage of its own;
        ``keyframe`` makes the frame a keyframe whatever the step says (a segment's first)."""
        if step is None:
            if self._stage is None:
                raise ValueError("a modeller without a palette stage needs each frame's step")
            step = self._stage.step(frame)
        h = self.header
        palette = step.palette
        if step.keyframe or keyframe or self._last_palette is None:
            keyframe = True
            index = np.arange(h.k, dtype=np.uint8)
            colours = palette
            previous = None
        else:
            # the delta is whatever differs from what the decoder had (PaletteManager.update)
            index = np.flatnonzero(np.any(palette != self._last_palette, axis=1)).astype(np.uint8)
            colours = palette[index].copy()
            previous = self._prev_labels
        self._last_palette = palette
        self._quantizer.set_palette(palette)
        # with rate-distortion decisions the label coder applies stickiness against the labels
        # it showed, not the quantiser's
        stickiness = 0.0 if self.settings.rd_lambda > 0 else self.settings.stickiness
        labels = self._quantizer.assign(frame.rgb, previous, stickiness=stickiness)
        self._prev_labels = labels
        recon = PaletteFrame(
            frame.index, frame.pts, frame.duration, frame.time_base, labels, palette, keyframe
        )
        return QuantizedFrame(recon, index, colours, frame.rgb, previous, step.scene_cut)


class FrameCoder:
    """The label-coding stage: one container record per quantised frame.

    With ``lam`` > 0 the label coder makes rate-distortion decisions, so the labels it codes
    (and the next frame's reference) are its own, not the quantiser's.
    """

    def __init__(self, writer: ContainerWriter, lam: int = 0, stickiness: float = 0.0) -> None:
        self.writer = writer
        h = writer.header
        self._labels = BlockLabelEncoder(h.width, h.height, h.k, h.label_coder)
        self._lam = lam
        self._stickiness = stickiness
        self.frames = 0
        self.keyframes = 0
        self.end_pts = 0

    def code(self, q: QuantizedFrame) -> tuple[int, PaletteFrame]:
        """Code and write one frame; return its record size in bytes and the frame as the
        decoder will show it."""
        recon = q.reconstruction
        coded = self._labels.encode(
            recon.labels,
            None if recon.keyframe else self._labels.last,
            rgb=q.rgb,
            palette=recon.palette,
            lam=self._lam,
            stickiness=self._stickiness,
        )
        if self._labels.last is not recon.labels:
            recon = dataclasses.replace(recon, labels=self._labels.last)
        record = FrameRecord(
            keyframe=recon.keyframe,
            pts=recon.pts,
            duration=recon.duration,
            label_mode=coded.mode,
            palette_index=q.palette_index,
            palette_rgb=q.palette_rgb,
            labels=coded.payload,
        )
        size = self.writer.write_frame(record)
        self.frames += 1
        self.keyframes += recon.keyframe
        self.end_pts = recon.pts + recon.duration
        return size, recon

    def flush(self) -> None:
        """End the stream: write the keyframe index and the trailer."""
        self.writer.close()


class Encoder:
    """Encode RGB frames of one size into a :class:`ContainerWriter`, one frame at a time.

    :meth:`encode` runs the two stages (:class:`FrameModeller`, :class:`FrameCoder`) in the
    caller's thread; :meth:`iter_encode` runs them on threads of their own.

    Parameters
    ----------
    writer
        Where records go; its header fixes size and k.
    settings
        Validated encoder settings.
    stage
        False when the palette steps come from elsewhere (``iter_encode``'s ``steps``).
    """

    def __init__(
        self, writer: ContainerWriter, settings: EncodeSettings, *, stage: bool = True
    ) -> None:
        self.modeller = FrameModeller(writer.header, settings, stage=stage)
        self.coder = FrameCoder(writer, settings.rd_lambda, settings.stickiness)

    def encode(self, frame: Frame) -> EncodedFrame:
        """Encode one frame (in presentation order) and write its record."""
        return self._code(self.modeller.model(frame))

    def iter_encode(
        self, frames: Iterable[Frame], *, steps: Iterator[PaletteStep] | None = None
    ) -> Iterator[EncodedFrame]:
        """Encode ``frames`` (in presentation order), yielding each once its record is written.

        Three stages run on three threads: reading ``frames`` (FFmpeg decoding), palette and
        quantisation, and label coding in the caller's thread. The numeric work releases
        the GIL, and bounded queues keep only a few frames in flight. Close the iterator (or
        leave it by an exception) to stop the threads; ``frames`` is closed by its own thread.

        ``steps`` are the frames' palette steps, for a modeller without a palette stage (a
        segment of a parallel encode), matched to the frames by pts: a frame without a step is
        left out, and the encode ends when the steps do. The first frame is a keyframe.
        """
        source = iter_ahead(frames, name="vidquant-reader")
        if steps is None:
            modelled = (self.modeller.model(f) for f in source)
        else:
            modelled = self._model_with(source, steps)
        quantized = iter_ahead(modelled, name="vidquant-model")
        with threadpool_limits(limits=1), contextlib.closing(source), contextlib.closing(quantized):
            for q in quantized:
                yield self._code(q)

    def _model_with(
        self, frames: Iterator[Frame], steps: Iterator[PaletteStep]
    ) -> Iterator[QuantizedFrame]:
        step = next(steps, None)
        first = True
        for frame in frames:
            while step is not None and step.pts < frame.pts:
                step = next(steps, None)  # a frame this reader did not see
            if step is None:
                return
            if step.pts > frame.pts:
                continue  # a frame the palette stage did not see
            yield self.modeller.model(frame, step, keyframe=first)
            first = False
            step = next(steps, None)

    def _code(self, q: QuantizedFrame) -> EncodedFrame:
        size, recon = self.coder.code(q)
        return EncodedFrame(recon, size, len(q.palette_index), q.scene_cut)

    def flush(self) -> None:
        """End the stream: write the keyframe index and the trailer."""
        self.coder.flush()


def make_header(info: VideoInfo, settings: EncodeSettings, source: Path | None = None) -> Header:
    """The container header for frames described by ``info``."""
    tb = info.time_base
    if tb.numerator >= 2**32 or tb.denominator >= 2**32:
        # Timestamps are kept in the stream's own units; a time base that does not fit the
        # header cannot be approximated without rescaling every timestamp.
        raise InputError(f"{source}: time base {tb} does not fit the .vq header (32-bit fields)")
    fps = Fraction(info.fps).limit_denominator(2**31)
    if fps <= 0:
        fps = Fraction(25)
    meta = make_meta(
        settings=asdict(settings),
        source={
            "name": source.name if source else None,
            "codec": info.codec,
            "pix_fmt": info.pix_fmt,
            "width": info.source_width,
            "height": info.source_height,
            "duration_s": info.duration_s
            if info.duration_s is not None and math.isfinite(info.duration_s)
            else None,
            "frames": info.frames,
        },
    )
    return Header(
        width=info.width, height=info.height, fps=fps, time_base=tb, k=settings.k, meta=meta
    )
