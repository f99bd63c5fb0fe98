"""A source file in, a ``.vq`` file out: rate control, the encoder and the audio, interleaved.

:func:`encode_file` opens the source (video and audio), plans the rate when a target is set
(:mod:`vidquant.ratecontrol`), runs :class:`vidquant.encoder.Encoder` over the frames and writes
the audio packets between the frame records, into a file that appears whole or not at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from vidquant.codec.blocklabels import compile_kernels
from vidquant.codec.container import ContainerWriter
from vidquant.codec.records import AudioPacket, RecordSizes
from vidquant.encoder import Encoder, PaletteStage, make_header
from vidquant.errors import InputError
from vidquant.fileutil import atomic_path, check_output
from vidquant.frames import VideoInfo
from vidquant.interrupts import DeferredSignals, Interrupted, Terminated, signal_of
from vidquant.io.audio import AudioSource
from vidquant.io.reader import VideoReader
from vidquant.metrics import bitrate_kbps
from vidquant.parallel import SegmentPool, Stitched, segment_folder, stitch, usable_cores
from vidquant.progress import NullProgress, Progress
from vidquant.ratecontrol import RatePlan, plan_rate
from vidquant.segments import Segment, SegmentTask, StepWriter, end_steps, plan_segments
from vidquant.settings import EncodeSettings

# ``jobs=None`` encodes in parallel (one job per usable core) from this frame size up. On two
# cores (benchmarks/bench_speed.py, 2026-12-04) --jobs 2 took 1.0x to 1.35x the time of --jobs 1
# on every 640x360 corpus clip (the palette stage and a second decode of each frame cost what the
# second core gives), and 0.77x on the 1080p screen clip; 720p is not measured.
AUTO_PIXELS = 1280 * 720


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


def encode_file(
    src: str | Path,
    dst: str | Path | None = None,
    settings: EncodeSettings | None = None,
    *,
    force: bool = False,
    partial: bool = False,
    progress: Progress | None = None,
    jobs: int | None = 1,
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
    jobs
        Worker processes that encode segments of the clip at once (see
        :mod:`vidquant.parallel`); None: one per usable core for frames of at least
        :data:`AUTO_PIXELS` pixels, else 1. 1, or a clip too short for two segments, encodes
        in this process.

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
        rate = plan_rate(src, settings, progress=progress)
        settings = rate.settings
    with (
        _open_audio(src, settings) as audio,
        VideoReader(
            src, start_s=settings.start_s, duration_s=settings.duration_s, width=settings.width
        ) as reader,
    ):
        info = reader.info
        segments, jobs = _segment_plan(info, settings, jobs)
        if len(segments) > 1:
            return _encode_segments(
                src, dst, settings, segments, reader, audio,
                jobs=jobs, partial=partial, progress=progress, rate=rate,
            )  # fmt: skip
        stopped: BaseException | None = None  # why a partial encode ended early
        total = _expected_frames(info, settings)
        header = make_header(info, settings, src)
        compile_kernels(encoder=True, progress=progress)  # once the source is known to open
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
                encoder = Encoder(writer, settings)
                coder = encoder.coder
                feed: _AudioFeed | None = None
                try:
                    with contextlib.closing(encoder.iter_encode(reader)) as encoded:
                        for _ in encoded:
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
                encoder.flush()
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
    return _kept(report, stopped)


def _segment_plan(
    info: VideoInfo, settings: EncodeSettings, jobs: int | None
) -> tuple[list[Segment], int]:
    """The segments of the source ``info`` describes and the jobs to run them (``jobs`` None:
    see :data:`AUTO_PIXELS`); one segment: encode in this process."""
    if jobs is None:
        jobs = usable_cores() if info.width * info.height >= AUTO_PIXELS else 1
    span = None if info.duration_s is None else info.duration_s - settings.start_s
    if settings.duration_s is not None:
        span = settings.duration_s if span is None else min(span, settings.duration_s)
    return plan_segments(span, info.fps, info.time_base, max(1, jobs), settings.keyint_s), jobs


def _encode_segments(
    src: Path,
    dst: Path,
    settings: EncodeSettings,
    segments: list[Segment],
    reader: VideoReader,
    audio: AudioSource | None,
    *,
    jobs: int,
    partial: bool,
    progress: Progress,
    rate: RatePlan | None,
) -> EncodeReport:
    """:func:`encode_file` by worker processes, one segment each at a time (see
    :mod:`vidquant.segments`): this process runs the palette stage over the clip (``reader``,
    opened at the clip's start), hands each segment its steps, and stitches the segments'
    records into ``dst`` with ``audio``."""
    done = Stitched()
    stopped: BaseException | str | None = None  # why a partial encode ended early
    signals = DeferredSignals() if partial else None
    # compiled here once (with its progress line on the first run), the workers load the cache
    compile_kernels(encoder=True, progress=progress)
    # With partial, signals are held from the start (as they are from the first frame in this
    # process): the first one ends the segments at a frame, and the file is finished.
    with signals or contextlib.nullcontext(), segment_folder(dst) as folder:
        pool = SegmentPool(min(jobs, len(segments)), folder)  # their imports overlap the stage's
        try:
            info = reader.info
            header = make_header(info, settings, src)
            tb = header.time_base
            stage = PaletteStage(header, settings, keyframes_at=[s.start for s in segments[1:]])
            progress.start(f"encode {src.name} ({jobs} jobs)", _expected_frames(info, settings))
            with atomic_path(dst) as tmp, open(tmp, "wb") as f:
                writer = ContainerWriter(f, header, audio=audio.header if audio else None)
                feed: _AudioFeed | None = None
                tasks: list[SegmentTask] = []
                steps: StepWriter | None = None
                current = -1  # the segment the palette stage is in

                def after_frame(end: int) -> None:
                    if feed is not None:
                        feed.write_until(end * tb)

                def hand_on(wait: float) -> None:
                    """Stitch the segments finished so far (in order)."""
                    nonlocal stopped
                    if signals is not None and signals.pending is not None:
                        pool.stop()  # with partial: the workers end their segments at a frame
                    for index, result in pool.results(progress.advance, wait=wait):
                        if stopped is None:
                            stitch(tasks[index].path, writer, after_frame, done)
                            if result.error is not None:
                                stopped = result.error
                            elif not result.complete:
                                stopped = (signals and signals.exception()) or KeyboardInterrupt()
                            if stopped is not None:
                                pool.stop()  # the later segments are not kept
                        tasks[index].path.unlink(missing_ok=True)

                try:
                    for frame in reader:
                        if not tasks:  # the clip's time 0 is known: the workers can start
                            tasks = [
                                SegmentTask(
                                    src,
                                    folder / f"{s.index}.vq",
                                    folder / f"{s.index}.steps",
                                    header,
                                    settings,
                                    s,
                                    reader.origin_pts,
                                    None
                                    if settings.duration_s is None
                                    else reader.origin_pts + settings.duration_s / tb,
                                )
                                for s in segments
                            ]
                            pool.submit(tasks)
                            if audio is not None:
                                packets = audio.iter_packets(reader.origin_s or 0.0)
                                feed = _AudioFeed(packets, writer, audio.header.time_base)
                        while current < 0 or not segments[current].holds(frame.pts):
                            if steps is not None:
                                steps.close()
                            current += 1
                            steps = StepWriter(tasks[current].steps)
                        steps.write(stage.step(frame))
                        hand_on(0.0)
                        if stopped is not None or (signals and signals.pending is not None):
                            break
                except InputError as exc:
                    if not partial or done.frames + pool.coded == 0:
                        raise
                    stopped = stopped or exc
                finally:
                    if steps is not None:
                        steps.close()
                    for task in tasks[current + 1 :]:
                        end_steps(task.steps)  # the clip ended before these (or stopped)
                while not pool.finished:
                    hand_on(0.1)
                if done.frames == 0:
                    if isinstance(stopped, str):
                        raise InputError(stopped)
                    if isinstance(stopped, BaseException):
                        raise stopped
                    raise InputError(f"{src}: no video frame could be decoded")
                if isinstance(stopped, str) and not partial:
                    raise InputError(stopped)
                if feed is not None:
                    feed.write_until(done.end_pts * tb)
                writer.close()
            damage = tuple(reader.damage)
            ended_early = reader.ended_early
        finally:
            pool.close()
            progress.finish()
    if stopped is None and signals is not None:
        stopped = signals.exception()
    report = EncodeReport(
        path=dst,
        frames=done.frames,
        keyframes=done.keyframes,
        duration_s=float(done.end_pts * tb),
        sizes=writer.sizes,
        source=info,
        settings=settings,
        rate=rate,
        damage=damage,
        ended_early=ended_early,
    )
    return _kept(report, stopped)


def _kept(report: EncodeReport, stopped: BaseException | str | None) -> EncodeReport:
    """``report``, or, when the encode ``stopped`` early (with partial), the error that says
    what was kept: :class:`Interrupted` for a signal, else :class:`InputError`."""
    if stopped is None:
        return report
    kept = f"kept the first {report.frames} frames ({report.duration_s:.2f} s) in {report.path}"
    if isinstance(stopped, KeyboardInterrupt):
        name = "terminated" if isinstance(stopped, Terminated) else "interrupted"
        raise Interrupted(
            f"{name}; {kept}", kept=report.path, signum=signal_of(stopped)
        ) from stopped
    cause = stopped if isinstance(stopped, BaseException) else None
    raise InputError(f"{stopped}; {kept}") from cause


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
