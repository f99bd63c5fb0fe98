"""Stream RGB frames out of any video file PyAV opens.

Only a few frames are alive at a time: the decoder's own queue plus one frame of look-ahead,
which the reader needs to know each frame's display duration (variable frame rate survives:
timestamps are the stream's own, rebased so that the first frame yielded starts at 0; the
arithmetic is :mod:`vidquant.io.timing`'s). Packets that fail to decode are skipped and
counted, and a stream that ends before its container says it does is noticed
(:mod:`vidquant.io.damage`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from vidquant.errors import InputError
from vidquant.frames import Frame, VideoInfo
from vidquant.io.damage import DamageLog, duration_tag_s, early_end
from vidquant.io.probe import (
    check_input_file,
    cut_short,
    ffmpeg_reason,
    no_video_message,
    unreadable_reason,
)
from vidquant.io.timing import (
    OutputClock,
    Stamped,
    describe_times,
    iter_from_start,
    iter_stamped,
    nominal_duration,
    start_pts,
)
from vidquant.settings import MAX_HEIGHT, MAX_WIDTH

__all__ = ["VideoReader", "output_size"]

log = logging.getLogger(__name__)

_FALLBACK_FPS = Fraction(25)
# PyAV names for the colour matrix and range; an unspecified matrix means BT.601 to swscale, but
# players treat unspecified HD video as BT.709, and so do we.
_BT709 = "ITU709"


def output_size(src_width: int, src_height: int, width: int | None) -> tuple[int, int]:
    """Size of the yielded frames: ``width`` wide keeping the aspect ratio, or the source size."""
    if width is None or width == src_width:
        return src_width, src_height
    height = max(1, round(src_height * width / src_width))
    return width, height


class VideoReader:
    """Open a video file and iterate its frames as RGB arrays.

    Parameters
    ----------
    path
        Any file PyAV (FFmpeg) opens: mp4, mkv, webm, avi, mov, ...
    start_s
        Skip frames that start before this time (seconds from the stream's first frame).
    duration_s
        Stop after this many seconds of video (None: to the end).
    width
        Resize frames to this width keeping the aspect ratio (None: source size).
    end_pts
        Where the span ends on the file's clock, in time-base units: a frame starting there or
        later is left out (instead of ``duration_s``; a segment of a parallel encode ends
        where the whole clip's span does).

    Attributes
    ----------
    info
        Facts about the stream (size of the yielded frames, rate, time base, ...).
    origin_s, origin_pts
        The first yielded frame's time on the file's clock, seconds and time-base units: time
        0 of the output (None until the first frame is read).
    damage
        Output-clock times (seconds, from the first yielded frame) of the packets that failed
        to decode and were skipped, in order; a packet without a timestamp gets the time of
        the last good frame. ``frames_lost == len(damage)``.
    ended_early
        After a complete read: why the source looks cut short (its frames stop well before
        the duration the container declares), else None.
    alpha_dropped
        True once a frame with an alpha channel was read (it is dropped).

    Raises
    ------
    InputError
        The file is missing, empty, cannot be opened (an MP4 cut short is named as such), has
        no video stream or is too large; while iterating: the stream holds no frame, no
        packet decodes, or the file cannot be demuxed.

    Examples
    --------
    >>> with VideoReader("clip.mp4") as reader:  # doctest: +SKIP
    ...     for frame in reader:
    ...         print(frame.index, frame.time_s, frame.rgb.shape)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        start_s: float = 0.0,
        duration_s: float | None = None,
        width: int | None = None,
        end_pts: float | None = None,
    ) -> None:
        self.path = Path(path)
        check_input_file(self.path)
        try:
            self._container = av.open(str(self.path), mode="r")
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"cannot open {self.path} as a video: {unreadable_reason(self.path, exc)}"
            ) from exc
        try:
            self._stream = next(s for s in self._container.streams if s.type == "video")
        except StopIteration:
            message = no_video_message(self.path, self._container)
            self._container.close()
            raise InputError(message) from None
        # Frame threads until a packet fails to decode; then "SLICE" (see _iter_decoded).
        self._thread_type = "AUTO"
        self._stream.thread_type = self._thread_type
        self._start_s = start_s
        self._duration_s = duration_s
        self._end_pts = end_pts
        self._damaged = DamageLog()  # packets that failed to decode, on the file's clock
        self._window: tuple[int | None, float | None] = (None, None)  # what iter_frames kept
        self._last_good_pts: int | None = None  # the last frame iter_frames received
        self.ended_early: str | None = None
        self.alpha_dropped = False
        try:
            # Phone videos store a display rotation; frames come out as shown (as players do).
            self.rotation_deg = self._peek_rotation()
            self.info = self._probe(width)
        except BaseException:
            self._container.close()
            raise
        # The first yielded frame's time on the file's clock (pts x time base), in seconds:
        # time 0 of the output. None until the first frame is read.
        self.origin_s: float | None = None
        self.origin_pts: int | None = None

    @property
    def damage(self) -> list[float]:
        """Output-clock times, seconds, of the packets that failed to decode (see the class)."""
        tb = self.info.time_base if hasattr(self, "info") else Fraction(0)
        start, end = self._window
        if self.origin_s is not None:
            origin = self.origin_s
        else:
            origin = float((self._stream.start_time or 0) * tb)
        return self._damaged.times_s(tb, origin_s=origin, start_pts=start, end_pts=end)

    @property
    def frames_lost(self) -> int:
        """How many packets failed to decode and were skipped: ``len(damage)``."""
        return len(self.damage)

    def _probe(self, width: int | None) -> VideoInfo:
        stream = self._stream
        ctx = stream.codec_context
        src_w, src_h = ctx.width, ctx.height
        if src_w <= 0 or src_h <= 0:
            raise InputError(f"{self.path}: video stream has no frame size")
        if self.rotation_deg in (90, 270):
            src_w, src_h = src_h, src_w  # sizes as displayed
        out_w, out_h = output_size(src_w, src_h, width)
        if out_w > MAX_WIDTH or out_h > MAX_HEIGHT:
            size = f"{src_w}x{src_h}" if width is None else f"{out_w}x{out_h} (at width {width})"
            raise InputError(
                f"{self.path}: {size} is larger than the {MAX_WIDTH}x{MAX_HEIGHT} limit; "
                "choose a smaller --width"
            )
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate or _FALLBACK_FPS
        fps = Fraction(fps)
        time_base = Fraction(stream.time_base) if stream.time_base else 1 / fps
        duration_s = None
        if stream.duration is not None and stream.time_base:
            duration_s = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            duration_s = self._container.duration / av.time_base
        return VideoInfo(
            width=out_w,
            height=out_h,
            fps=fps,
            time_base=time_base,
            duration_s=duration_s,
            frames=int(stream.frames or 0),
            codec=ctx.name or "",
            pix_fmt=ctx.pix_fmt or "",
            source_width=src_w,
            source_height=src_h,
        )

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file and the decoder."""
        self._container.close()

    def __iter__(self) -> Iterator[Frame]:
        return self.iter_frames()

    def iter_frames(self) -> Iterator[Frame]:
        """Yield frames in presentation order, with durations, rebased to start at pts 0.

        With ``start_s``, the first frame is the one on screen at that time (it may start a
        little earlier); with ``duration_s``, frames that start after the span are left out.
        """
        info = self.info
        tb = info.time_base
        nominal = nominal_duration(info.fps, tb)
        start = start_pts(self._start_s, tb, self._stream.start_time or 0)
        clock: OutputClock[np.ndarray] = OutputClock(tb, duration_s=self._duration_s)
        self._window = (start, None)  # until the first frame is known
        self.ended_early = None
        complete = True  # read to the end of the stream (not stopped by duration_s)
        for item in iter_from_start(self._iter_timed(start, nominal), start):
            self._last_good_pts = item.pts
            if clock.first_pts is None:
                clock.start(item.pts)
                if self._end_pts is not None:
                    clock.end_pts = self._end_pts
                self.origin_pts = item.pts
                self.origin_s = float(item.pts * tb)
                # With start_s, losses before the first frame shown are not the output's.
                self._window = (None if start is None else item.pts, clock.end_pts)
            if clock.past_end(item.pts):
                complete = False
                break
            done = clock.push(item.pts, item.duration, self._to_rgb(item.frame))
            if done is not None:
                yield Frame(done.index, done.pts, done.duration, tb, done.frame)
        last = clock.finish()
        if last is not None and clock.first_pts is not None:
            yield Frame(last.index, last.pts, last.duration, tb, last.frame)
            if complete:
                end_pts = clock.first_pts + last.pts + last.duration  # on the file's clock
                self.ended_early = self._early_end(end_pts, nominal)
        damage = self.damage
        if damage:  # the caller reports these (see EncodeReport); a debug aid here
            log.info(
                "%s: %d %s failed to decode and %s skipped (at %s)",
                self.path,
                len(damage),
                "packet" if len(damage) == 1 else "packets",
                "was" if len(damage) == 1 else "were",
                describe_times(damage),
            )
        if self.ended_early is not None:
            log.info("%s: %s", self.path, self.ended_early)

    def _early_end(self, end_pts: int, nominal: int) -> str | None:
        """Why the stream looks cut short, judged from where its last frame ends (pts on the
        file's clock), or None when it ends where the container says it does (see
        :func:`~vidquant.io.damage.early_end`)."""
        tb = self.info.time_base
        start = float((self._stream.start_time or 0) * tb)
        declared = self._declared_end_s()
        return early_end(
            float(end_pts * tb) - start,
            None if declared is None else declared - start,
            frame_s=float(nominal * tb),
            cut=cut_short(self.path),
        )

    def _declared_end_s(self) -> float | None:
        """Where the container says the video stream ends, seconds on the file's clock."""
        stream, container = self._stream, self._container
        tb = self.info.time_base
        start = float((stream.start_time or 0) * tb)
        if stream.duration and stream.time_base:
            return start + float(stream.duration * stream.time_base)
        tag = duration_tag_s(stream.metadata.get("DURATION") or stream.metadata.get("duration"))
        if tag is not None:  # Matroska and WebM (FFmpeg's muxer) tag each stream
            return start + tag
        if container.duration and len(container.streams) == 1:
            # the file's duration is the longest stream's: only trusted for a lone stream
            return (container.start_time or 0) / av.time_base + container.duration / av.time_base
        return None

    def _iter_timed(self, start: int | None, nominal: int) -> Iterator[Stamped[av.VideoFrame]]:
        """Decoded frames with their timing (see :func:`~vidquant.io.timing.iter_stamped`).

        With ``start`` (pts), seek to the keyframe before it first. Some demuxers (MPEG-TS)
        land after the target instead; then decode again from the start of the file.
        """
        if start is not None and self._seek(start):
            frames = iter_stamped(self._iter_decoded(), nominal)
            first = next(frames, None)
            if first is not None and first.pts <= start:
                yield first
                yield from frames
                return
            frames.close()
            log.info("seeking landed after %s s; decoding from the start", self._start_s)
            self._reopen()
        yield from iter_stamped(self._iter_decoded(), nominal)

    def _seek(self, target: int) -> bool:
        """Seek to the keyframe at or before ``target`` (pts); False when the demuxer refuses."""
        try:
            self._container.seek(target, stream=self._stream, backward=True)
        except av.error.FFmpegError as exc:
            log.info("seek failed (%s); decoding from the start", ffmpeg_reason(exc))
            self._reopen()
            return False
        return True

    def _reopen(self) -> None:
        """Open the file again, positioned at its start."""
        index = self._stream.index
        self._container.close()
        self._container = av.open(str(self.path), mode="r")
        self._stream = self._container.streams[index]
        self._stream.thread_type = self._thread_type

    def _iter_decoded(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order; a packet that fails to decode is skipped and
        recorded in :attr:`damage`.

        FFmpeg's frame threads report a packet's failure one or more packets late, and PyAV
        drops the frames it has already received in a call that fails (at the final flush:
        every frame still in the threads). So after the first failure the rest is decoded
        again without frame threads, from the keyframe at or before the last frame delivered:
        every frame that decodes comes out once, and each failure is pinned to its own packet.
        """
        delivered: int | None = None  # pts of the last frame yielded (file's clock)
        yielded = packets = 0
        reason = ""
        rewind = False  # set when a resumed pass must start again from the file's start
        while True:
            exact = self._thread_type != "AUTO"
            resumed = exact and (yielded > 0 or rewind)
            check_landing = resumed and delivered is not None and not rewind
            restart = False
            try:
                for packet in self._container.demux(self._stream):
                    if packet.size and not resumed:
                        packets += 1
                    try:
                        frames = packet.decode()
                    except av.error.MemoryError:
                        raise
                    except av.error.FFmpegError as exc:
                        reason = reason or ffmpeg_reason(exc)
                        # Without timestamps a resumed pass could not skip what was delivered.
                        if not exact and (delivered is not None or yielded == 0):
                            restart = True
                            break
                        if packet.pts is not None:
                            self._damaged.record(packet.pts)
                        else:  # the time of the last good frame
                            self._damaged.record(delivered, self._last_good_pts)
                        continue
                    for vframe in frames:
                        if check_landing:
                            check_landing = False
                            if vframe.pts is not None and vframe.pts > delivered:
                                restart = rewind = True  # the seek landed too late
                                break
                        if (
                            resumed
                            and delivered is not None
                            and vframe.pts is not None
                            and vframe.pts <= delivered
                        ):
                            continue  # delivered before the restart
                        if yielded == 0:
                            self._check_alpha(vframe)
                        yield vframe
                        yielded += 1
                        if vframe.pts is not None:
                            delivered = vframe.pts
                    if restart:
                        break
            except av.error.FFmpegError as exc:
                raise InputError(f"{self.path}: cannot decode video: {ffmpeg_reason(exc)}") from exc
            if not restart:
                break
            log.info("a packet failed to decode; decoding again without frame threads")
            if yielded == 0:
                packets = 0  # counted again from the start
            self._thread_type = "SLICE"
            self._reopen()
            if delivered is not None and not rewind:
                self._seek(delivered)
        if yielded == 0 and (self._damaged or (packets == 0 and self._start_s <= 0)):
            cut = cut_short(self.path)
            why = "" if cut is None else f" ({cut})"
            if self._damaged:
                raise InputError(
                    f"{self.path}: no video frame could be decoded: "
                    f"{len(self._damaged)} of {packets} packets failed ({reason}){why}"
                )
            raise InputError(f"{self.path}: the video stream holds no frames{why}")

    def _check_alpha(self, vframe: av.VideoFrame) -> None:
        """Say once that transparency is dropped, if the frames or the stream carry it."""
        if self.alpha_dropped:
            return
        if len(vframe.format.components) in (2, 4):  # grey + alpha, colour + alpha
            what = vframe.format.name
        elif self._stream.metadata.get("alpha_mode") == "1":  # VP8/VP9 alpha in WebM
            what = "WebM alpha_mode"
        else:
            return
        self.alpha_dropped = True
        log.warning(
            "%s: the alpha channel (%s) is dropped: transparent areas show the colours stored "
            "under them",
            self.path,
            what,
        )

    def _to_rgb(self, vframe: av.VideoFrame) -> np.ndarray:
        info = self.info
        colorspace = vframe.colorspace
        if colorspace not in (1, 4, 5, 6, 7, 9, 10):  # unspecified or unknown matrix
            colorspace = _BT709 if info.source_height >= 720 else None
        resized = (info.width, info.height) != (info.source_width, info.source_height)
        turned = self.rotation_deg in (90, 270)
        rgb = vframe.reformat(
            width=info.height if turned else info.width,
            height=info.width if turned else info.height,
            format="rgb24",
            src_colorspace=colorspace,
            src_color_range=vframe.color_range or None,
            interpolation="AREA" if resized else None,
        ).to_ndarray()[:, :, :3]
        if self.rotation_deg:
            # the display matrix's angle is counter-clockwise, as np.rot90 turns
            rgb = np.rot90(rgb, self.rotation_deg // 90)
        return np.ascontiguousarray(rgb)

    def _peek_rotation(self) -> int:
        """Display rotation of the stream (0, 90, 180 or 270, counter-clockwise), read from
        the first decodable frame; the file is then reopened at its start."""
        rotation = 0
        try:
            for vframe in self._first_frames():
                rotation = int(round(float(getattr(vframe, "rotation", 0) or 0) / 90.0)) * 90 % 360
                break
        except av.error.FFmpegError:
            pass  # an undecodable stream fails with its own message when it is read
        self._reopen()
        return rotation

    def _first_frames(self, *, packets: int = 300) -> Iterator[av.VideoFrame]:
        """Frames decoded from the first ``packets`` packets, skipping packets that fail
        (nothing is recorded: the stream is read again from its start)."""
        for n, packet in enumerate(self._container.demux(self._stream)):
            if n >= packets:
                return
            try:
                yield from packet.decode()
            except av.error.MemoryError:
                raise
            except av.error.FFmpegError:
                continue
