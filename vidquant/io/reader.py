"""Stream RGB frames out of any video file PyAV opens.

Only a few frames are alive at a time: the decoder's own queue plus one frame of look-ahead,
which the reader needs to know each frame's display duration (variable frame rate survives:
timestamps are the stream's own, rebased so that the first frame yielded starts at 0).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from vidquant.errors import InputError
from vidquant.frames import Frame, VideoInfo
from vidquant.io.probe import (
    check_input_file,
    cut_short,
    ffmpeg_reason,
    no_video_message,
    unreadable_reason,
)
from vidquant.settings import MAX_HEIGHT, MAX_WIDTH

log = logging.getLogger(__name__)

_FALLBACK_FPS = Fraction(25)
# PyAV names for the colour matrix and range; an unspecified matrix means BT.601 to swscale, but
# players treat unspecified HD video as BT.709, and so do we.
_BT709 = "ITU709"
# A source "ended early" when its frames stop this much before the end its container declares
# (seconds, or this many frames at the nominal rate, whichever is longer): a declared duration
# is rounded, and the last frame's own duration is a guess in many containers.
_EARLY_END_S = 0.5
_EARLY_END_FRAMES = 3


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

    Attributes
    ----------
    info
        Facts about the stream (size of the yielded frames, rate, time base, ...).
    origin_s
        The first yielded frame's time on the file's clock, seconds: time 0 of the output.
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
        # Packets that failed to decode: (pts on the file's clock, in time-base units, or
        # None when neither the packet nor an earlier frame had one), without repeats.
        self._damaged: list[int | None] = []
        self._damaged_pts: set[int] = set()
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

    @property
    def damage(self) -> list[float]:
        """Output-clock times, seconds, of the packets that failed to decode (see the class)."""
        tb = self.info.time_base if hasattr(self, "info") else Fraction(0)
        start_pts, end_pts = self._window
        if self.origin_s is not None:
            origin = self.origin_s
        else:
            origin = float((self._stream.start_time or 0) * tb)
        times = []
        for pts in self._damaged:
            if pts is not None:
                if start_pts is not None and pts < start_pts:
                    continue  # before the part asked for: not lost from the output
                if end_pts is not None and pts >= end_pts:
                    continue
            time_s = 0.0 if pts is None else float(pts * tb) - origin
            times.append(max(0.0, time_s))
        return times

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
        nominal = max(1, round(1 / (info.fps * tb)))  # one frame at the nominal rate, in tb units
        start_pts = self._start_pts()
        end_pts = None
        first_pts: int | None = None
        pending: tuple[int, int, np.ndarray] | None = None  # look-ahead: (pts, duration, rgb)
        index = 0
        self._window = (start_pts, None)  # until the first frame is known
        self.ended_early = None
        complete = True  # read to the end of the stream (not stopped by duration_s)
        timed = self._from_start(self._iter_timed(start_pts, nominal), start_pts)
        for pts, duration, vframe in timed:
            self._last_good_pts = pts
            if first_pts is None:
                first_pts = pts
                self.origin_s = float(pts * tb)
                if self._duration_s is not None:
                    end_pts = first_pts + self._duration_s / tb
                # With start_s, losses before the first frame shown are not the output's.
                self._window = (None if start_pts is None else first_pts, end_pts)
            if end_pts is not None and pts >= end_pts:
                complete = False
                break
            rgb = self._to_rgb(vframe)
            if pending is not None:
                prev_pts, _, prev_rgb = pending
                yield Frame(index, prev_pts - first_pts, pts - prev_pts, tb, prev_rgb)
                index += 1
            pending = (pts, duration, rgb)
        if pending is not None and first_pts is not None:
            last_pts, last_duration, last_rgb = pending
            yield Frame(index, last_pts - first_pts, last_duration, tb, last_rgb)
            if complete:
                self.ended_early = self._early_end(last_pts + last_duration, nominal)
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
        file's clock), or None when it ends where the container says it does.

        A file whose structure runs past its end (an MP4 box, a Matroska segment) is cut
        short for certain: then a missing half frame counts. Otherwise only the declared
        duration speaks, and it must miss by more than rounding and a guessed last-frame
        duration can explain.
        """
        tb = self.info.time_base
        frame_s = float(nominal * tb)
        start = float((self._stream.start_time or 0) * tb)
        end = float(end_pts * tb) - start
        declared = self._declared_end_s()
        cut = cut_short(self.path)
        if declared is None:
            return None if cut is None else f"the source ended early at {end:.2f} s: {cut}"
        length = declared - start
        tolerance = 0.5 * frame_s if cut else max(_EARLY_END_S, _EARLY_END_FRAMES * frame_s)
        if length - end <= tolerance:
            return None
        why = f"({cut})" if cut else "(is the file cut short?)"
        return (
            f"the source ended early: its frames stop at {end:.2f} s of the {length:.2f} s "
            f"its container declares {why}"
        )

    def _declared_end_s(self) -> float | None:
        """Where the container says the video stream ends, seconds on the file's clock."""
        stream, container = self._stream, self._container
        tb = self.info.time_base
        start = float((stream.start_time or 0) * tb)
        if stream.duration and stream.time_base:
            return start + float(stream.duration * stream.time_base)
        tag = _duration_tag(stream.metadata.get("DURATION") or stream.metadata.get("duration"))
        if tag is not None:  # Matroska and WebM (FFmpeg's muxer) tag each stream
            return start + tag
        if container.duration and len(container.streams) == 1:
            # the file's duration is the longest stream's: only trusted for a lone stream
            return (container.start_time or 0) / av.time_base + container.duration / av.time_base
        return None

    @staticmethod
    def _from_start(
        timed: Iterator[tuple[int, int, av.VideoFrame]], start_pts: int | None
    ) -> Iterator[tuple[int, int, av.VideoFrame]]:
        """Leave out the frames before the one on screen at ``start_pts``."""
        if start_pts is None:
            yield from timed
            return
        held = None  # the last frame that starts before start_pts
        for item in timed:
            if item[0] < start_pts:
                held = item
                continue
            if held is not None and item[0] > start_pts:
                yield held
            yield item
            yield from timed
            return
        if held is not None and held[0] + held[1] > start_pts:
            yield held  # start_s falls inside the last frame

    def _start_pts(self) -> int | None:
        """The first pts to keep for ``start_s`` (None: keep all)."""
        if self._start_s <= 0:
            return None
        return (self._stream.start_time or 0) + int(self._start_s / self.info.time_base)

    def _iter_timed(
        self, start_pts: int | None, nominal: int
    ) -> Iterator[tuple[int, int, av.VideoFrame]]:
        """Decoded frames as (pts, duration, frame), pts strictly increasing.

        With ``start_pts``, seek to the keyframe before it first. Some demuxers (MPEG-TS) land
        after the target instead; then decode again from the start of the file.
        """
        if start_pts is not None and self._seek(start_pts):
            frames = self._timed(self._iter_decoded(), nominal)
            first = next(frames, None)
            if first is not None and first[0] <= start_pts:
                yield first
                yield from frames
                return
            frames.close()
            log.info("seeking landed after %s s; decoding from the start", self._start_s)
            self._reopen()
        yield from self._timed(self._iter_decoded(), nominal)

    def _timed(
        self, frames: Iterator[av.VideoFrame], nominal: int
    ) -> Iterator[tuple[int, int, av.VideoFrame]]:
        last_pts: int | None = None
        for vframe in frames:
            pts = vframe.pts
            if pts is None:
                pts = (last_pts + nominal) if last_pts is not None else 0
            if last_pts is not None and pts <= last_pts:
                pts = last_pts + 1  # keep timestamps strictly increasing
            last_pts = pts
            duration = vframe.duration if vframe.duration and vframe.duration > 0 else nominal
            yield pts, duration, vframe

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
                            self._record_damage(packet.pts)
                        else:  # the time of the last good frame
                            self._record_damage(delivered, self._last_good_pts)
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

    def _record_damage(self, pts: int | None, fallback: int | None = None) -> None:
        """Count one packet that failed to decode at ``pts`` (once, however many passes meet
        it); without a pts, at ``fallback`` (the last good frame's), not deduplicated."""
        if pts is None:
            self._damaged.append(fallback)
        elif pts not in self._damaged_pts:
            self._damaged_pts.add(pts)
            self._damaged.append(pts)

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


def describe_times(times: list[float], *, limit: int = 10) -> str:
    """``"0.25 s, 0.58 s and 1.50 s"``: times in seconds for a message, at most ``limit``
    of them (then ``"and N more"``)."""
    shown = [f"{t:.2f} s" for t in times[:limit]]
    if len(times) > limit:
        return ", ".join(shown) + f" and {len(times) - limit} more"
    if len(shown) > 1:
        return ", ".join(shown[:-1]) + " and " + shown[-1]
    return "".join(shown)


def _duration_tag(text: str | None) -> float | None:
    """Seconds from a Matroska ``DURATION`` tag (``"00:00:04.000000000"``), or None."""
    match = re.fullmatch(r"\s*(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)\s*", text or "")
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
