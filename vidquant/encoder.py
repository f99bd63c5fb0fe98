"""Frames in, records out: the encoder owns the stage order and the final flush.

Per frame: decide keyframe or not (scene cut, maximum interval) -> palette (fit or partial_fit
and delta) -> labels (lookup table, stickiness against the previous labels) -> label coding ->
one container record. The reconstruction it returns is exactly what the decoder will show.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from vidquant import __version__
from vidquant.codec.container import AudioPacket, ContainerWriter, FrameRecord, Header, RecordSizes
from vidquant.codec.labels import LabelEncoder
from vidquant.errors import InputError
from vidquant.fileutil import atomic_path, check_output
from vidquant.frames import Frame, PaletteFrame, VideoInfo
from vidquant.interrupts import DeferredSignals, Interrupted, Terminated, signal_of
from vidquant.io.audio import AudioSource
from vidquant.io.reader import VideoReader
from vidquant.metrics import bitrate_kbps
from vidquant.palette import PaletteManager
from vidquant.progress import NullProgress, Progress
from vidquant.quantize import Quantizer
from vidquant.settings import EncodeSettings

if TYPE_CHECKING:
    from vidquant.ratecontrol import RatePlan

log = logging.getLogger(__name__)

T = TypeVar("T")

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


@dataclass(frozen=True)
class EncodeReport:
    """Summary of one :func:`encode_file` run.

    Attributes
    ----------
    path
        The written ``.vq`` file.
    frames, keyframes
        Counts of frames and keyframes written.
    duration_s
        Presentation time covered, seconds.
    sizes
        Bytes by kind (labels, palettes, overhead).
    source
        Facts about the source stream.
    damage
        Output times in seconds of the source packets that failed to decode and were
        skipped, one per packet (their count is :attr:`frames_lost`).
    ended_early
        Why the source looks cut short (its frames stop before the duration its container
        declares), else None.
    settings
        The settings the clip was encoded with (after rate control, if any).
    rate
        What rate control chose, when a target was set.
    """

    path: Path
    frames: int
    keyframes: int
    duration_s: float
    sizes: RecordSizes
    source: VideoInfo
    settings: EncodeSettings
    rate: RatePlan | None = None
    damage: tuple[float, ...] = ()
    ended_early: str | None = None

    @property
    def frames_lost(self) -> int:
        """Source packets that failed to decode and were skipped: ``len(damage)``."""
        return len(self.damage)

    @property
    def kbps(self) -> float:
        """Mean bitrate of the file, kilobits per second."""
        return bitrate_kbps(self.sizes.total, self.duration_s) if self.duration_s > 0 else 0.0


@dataclass(frozen=True, eq=False)
class QuantizedFrame:
    """A frame after the palette and quantiser stages, ready for the label coder.

    Attributes
    ----------
    reconstruction
        The frame as the decoder will show it (labels and palette).
    palette_index, palette_rgb
        Palette entries sent with the frame (all k on a keyframe), as in :class:`FrameRecord`.
    previous_labels
        Labels of the previous frame, the reference of temporal coding; None on a keyframe.
    scene_cut
        True when the keyframe was forced by a scene cut.
    """

    reconstruction: PaletteFrame
    palette_index: np.ndarray
    palette_rgb: np.ndarray
    previous_labels: np.ndarray | None
    scene_cut: bool


class FrameModeller:
    """The palette and quantiser stages: decide keyframes, follow the palette, assign labels.

    Parameters
    ----------
    header
        Size, k and time base of the stream.
    settings
        Validated encoder settings.
    """

    def __init__(self, header: Header, settings: EncodeSettings) -> None:
        self.header = header
        self.settings = settings
        self._palettes = PaletteManager(
            settings.k,
            seed=settings.seed,
            sample_pixels=settings.sample_pixels,
            delta_min=settings.delta_min,
        )
        self._quantizer = Quantizer()
        self._prev_labels: np.ndarray | None = None
        self._prev_thumb: np.ndarray | None = None
        self._last_key_pts: int | None = None
        self._keyint = settings.keyint_s / header.time_base  # in time-base units
        self._frames = 0

    def model(self, frame: Frame) -> QuantizedFrame:
        """Palette and labels of one frame (frames must come in presentation order)."""
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
        keyframe = cut or due
        if keyframe:
            # The first frame and scene cuts get a fresh fit; a periodic keyframe inside a scene
            # starts from the current palette so entries keep their colours (no flicker).
            palette = self._palettes.keyframe(frame.rgb, reuse=not cut and self._frames > 0)
            index = np.arange(h.k, dtype=np.uint8)
            colours = palette
            previous = None
            self._last_key_pts = frame.pts
        else:
            delta = self._palettes.update(frame.rgb)
            palette = self._palettes.palette.copy()
            index, colours = delta.index, delta.rgb
            previous = self._prev_labels
        self._quantizer.set_palette(palette)
        labels = self._quantizer.assign(frame.rgb, previous, stickiness=self.settings.stickiness)
        self._prev_labels = labels
        self._frames += 1
        recon = PaletteFrame(
            frame.index, frame.pts, frame.duration, frame.time_base, labels, palette, keyframe
        )
        return QuantizedFrame(recon, index, colours, previous, bool(cut))


class FrameCoder:
    """The label-coding stage: one container record per quantised frame."""

    def __init__(self, writer: ContainerWriter, settings: EncodeSettings) -> None:
        self.writer = writer
        self._labels = LabelEncoder(level=settings.zstd_level)
        self.frames = 0
        self.keyframes = 0
        self.end_pts = 0

    def code(self, q: QuantizedFrame) -> int:
        """Code and write one frame; return its record size in bytes."""
        recon = q.reconstruction
        coded = self._labels.encode(recon.labels, q.previous_labels)
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
        return size

    def flush(self) -> None:
        """End the stream: write the keyframe index and the trailer."""
        self.writer.close()


class Encoder:
    """Encode RGB frames of one size into a :class:`ContainerWriter`, one frame at a time.

    The two stages (:class:`FrameModeller`, :class:`FrameCoder`) run in the caller's thread;
    :func:`encode_file` runs the same stages on separate threads.

    Parameters
    ----------
    writer
        Where records go; its header fixes size and k.
    settings
        Validated encoder settings.
    """

    def __init__(self, writer: ContainerWriter, settings: EncodeSettings) -> None:
        self.modeller = FrameModeller(writer.header, settings)
        self.coder = FrameCoder(writer, settings)

    def encode(self, frame: Frame) -> EncodedFrame:
        """Encode one frame (in presentation order) and write its record."""
        q = self.modeller.model(frame)
        size = self.coder.code(q)
        return EncodedFrame(q.reconstruction, size, len(q.palette_index), q.scene_cut)

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
    meta = {
        "encoder": f"vidquant {__version__}",
        "settings": asdict(settings),
        "source": {
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
    }
    return Header(
        width=info.width, height=info.height, fps=fps, time_base=tb, k=settings.k, meta=meta
    )


def _prefetch(source: Iterable[T], *, name: str, depth: int = 4) -> Iterator[T]:
    """Iterate ``source`` in a background thread, ``depth`` items ahead.

    Decoding (FFmpeg) and the numeric stages release the GIL, so the stages overlap. Closing
    the returned generator (or leaving it by an exception) stops the thread and waits for it,
    and the thread closes ``source``'s iterator itself: nothing touches the source after this
    generator is closed, so the caller may close the file behind it safely.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()
    failure: list[BaseException] = []

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        it = iter(source)
        try:
            for item in it:
                if not put(item):
                    return
        except BaseException as exc:  # re-raised in the consumer thread
            failure.append(exc)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
            put(done)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                break
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def encode_file(
    src: str | Path,
    dst: str | Path | None = None,
    settings: EncodeSettings | None = None,
    *,
    force: bool = False,
    partial: bool = False,
    progress: Progress | None = None,
) -> EncodeReport:
    """Encode a video file into a ``.vq`` file.

    Parameters
    ----------
    src
        Any video PyAV opens.
    dst
        Output path; default: ``src`` with the suffix ``.vq``, beside it.
    settings
        Encoder settings (default: :class:`EncodeSettings` defaults).
    force
        Overwrite ``dst`` if it exists.
    partial
        On Ctrl-C or a kill (SIGINT, SIGTERM), or when the source fails part-way, finish the
        frames coded so far as a valid, shorter ``.vq`` under ``dst`` instead of removing it.
        While encoding in the main thread, those signals are then held back until the frame
        being written is complete.
    progress
        Receives per-frame progress.

    Returns
    -------
    EncodeReport

    Raises
    ------
    InputError
        ``src`` is missing, not a video, has no decodable frame, or fails part-way (then
        nothing is left under ``dst``; with ``partial``, ``dst`` holds the frames before).
    OutputError
        ``dst`` exists (without ``force``), is ``src``, or its folder is missing.
    KeyboardInterrupt
        Ctrl-C or a kill (:class:`~vidquant.interrupts.Terminated`): nothing is left under
        ``dst``; with ``partial`` and at least one frame coded,
        :class:`~vidquant.interrupts.Interrupted`, and ``dst`` holds the frames coded so far.
    """
    src = Path(src)
    settings = settings or EncodeSettings()
    dst = Path(dst) if dst is not None else src.with_suffix(".vq")
    progress = progress or NullProgress()
    check_output(dst, force=force, inputs=(src,))
    rate = None
    if settings.target_kbps is not None or settings.max_size is not None:
        from vidquant.ratecontrol import plan_rate  # it builds on this module

        rate = plan_rate(src, settings, progress=progress)
        settings = rate.settings
    with (
        _open_audio(src, settings) as audio,
        VideoReader(
            src, start_s=settings.start_s, duration_s=settings.duration_s, width=settings.width
        ) as reader,
    ):
        info = reader.info
        stopped: BaseException | None = None  # why a partial encode ended early
        total = _expected_frames(info, settings)
        header = make_header(info, settings, src)
        progress.start(f"encode {src.name}", total)
        # With partial, signals are held from the first frame until the file is renamed: a
        # Ctrl-C while the index is written must not lose the frames coded so far.
        signals = DeferredSignals() if partial else None
        try:
            with (
                signals or contextlib.nullcontext(),
                atomic_path(dst) as tmp,
                open(tmp, "wb") as f,
            ):
                writer = ContainerWriter(f, header, audio=audio.header if audio else None)
                modeller = FrameModeller(header, settings)
                coder = FrameCoder(writer, settings)
                feed: _AudioFeed | None = None
                # Three stages on three threads: decoding (FFmpeg), palette and quantisation,
                # label coding (zstd). The numeric work releases the GIL; bounded queues keep
                # only a few frames in flight.
                frames = _prefetch(reader, name="vidquant-reader")
                quantized = _prefetch(
                    (modeller.model(frame) for frame in frames), name="vidquant-model"
                )
                with (
                    threadpool_limits(limits=1),
                    contextlib.closing(frames),
                    contextlib.closing(quantized),
                ):
                    try:
                        for q in quantized:
                            coder.code(q)
                            if audio is not None:
                                if feed is None:  # the reader knows the clip's time 0 by now
                                    packets = audio.iter_packets(reader.origin_s or 0.0)
                                    feed = _AudioFeed(packets, writer, audio.header.time_base)
                                feed.write_until(coder.end_pts * header.time_base)
                            progress.advance()
                            if signals is not None:
                                signals.check()
                    except (KeyboardInterrupt, InputError) as exc:
                        if not partial or coder.frames == 0 or signals.forced:
                            raise
                        stopped = exc
                if coder.frames == 0:
                    if settings.start_s > 0:
                        length = (
                            f" (the video is {info.duration_s:.2f} s long)"
                            if info.duration_s is not None
                            else ""
                        )
                        raise InputError(
                            f"{src}: no frame at or after --start {settings.start_s:g} s{length}"
                        )
                    raise InputError(f"{src}: no video frame could be decoded")
                if feed is not None:
                    feed.write_until(coder.end_pts * header.time_base)
                coder.flush()
        finally:
            progress.finish()
        if stopped is None and signals is not None:
            stopped = signals.exception()  # it came while the file was being finished
        damage = tuple(reader.damage)
        ended_early = reader.ended_early
    report = EncodeReport(
        path=dst,
        frames=coder.frames,
        keyframes=coder.keyframes,
        duration_s=float(coder.end_pts * header.time_base),
        sizes=writer.sizes,
        source=info,
        settings=settings,
        rate=rate,
        damage=damage,
        ended_early=ended_early,
    )
    if stopped is not None:
        kept = f"kept the first {report.frames} frames ({report.duration_s:.2f} s) in {dst}"
        if isinstance(stopped, KeyboardInterrupt):
            name = "terminated" if isinstance(stopped, Terminated) else "interrupted"
            raise Interrupted(f"{name}; {kept}", kept=dst, signum=signal_of(stopped)) from stopped
        raise InputError(f"{stopped}; {kept}") from stopped
    return report


class _AudioFeed:
    """Interleaves audio packets with the frames: after each frame record, the packets that
    start before that frame ends. Packets starting after the last frame ends are dropped."""

    def __init__(
        self, packets: Iterator[AudioPacket], writer: ContainerWriter, time_base: Fraction
    ) -> None:
        self._packets = packets
        self._writer = writer
        self._tb = time_base
        self._pending = next(packets, None)

    def write_until(self, end_s: Fraction) -> None:
        """Write the packets that start before ``end_s`` (seconds of output time)."""
        while self._pending is not None and self._pending.pts * self._tb < end_s:
            self._writer.write_audio(self._pending)
            self._pending = next(self._packets, None)


@contextlib.contextmanager
def _open_audio(src: Path, settings: EncodeSettings) -> Iterator[AudioSource | None]:
    """The source's audio as the settings ask for it, or None (no audio, or ``none``)."""
    audio = (
        None
        if settings.audio == "none"
        else AudioSource.open(src, stream=settings.audio_stream, mode=settings.audio)
    )
    if audio is None:
        yield None
        return
    with audio:
        yield audio


def _expected_frames(info: VideoInfo, settings: EncodeSettings) -> int | None:
    """Frames the progress bar expects (an estimate; None when the container does not say)."""
    if info.duration_s is None and not info.frames:
        return None
    duration = info.duration_s if info.duration_s is not None else info.frames / float(info.fps)
    duration = max(0.0, duration - settings.start_s)
    if settings.duration_s is not None:
        duration = min(duration, settings.duration_s)
    return max(1, round(duration * float(info.fps)))
