"""Stream RGB frames out of any video file PyAV opens.

Only a few frames are alive at a time: the decoder's own queue plus one frame of look-ahead,
which the reader needs to know each frame's display duration (variable frame rate survives:
timestamps are the stream's own, rebased so that the first frame yielded starts at 0).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from ..errors import InputError
from ..frames import Frame, VideoInfo
from ..settings import MAX_HEIGHT, MAX_WIDTH

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

    Raises
    ------
    InputError
        The file is missing, cannot be opened, or has no video stream.

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
        if not self.path.exists():
            raise InputError(f"input file not found: {self.path}")
        if self.path.is_dir():
            raise InputError(f"input is a directory, not a video file: {self.path}")
        try:
            self._container = av.open(str(self.path), mode="r")
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot open {self.path} as a video: {_reason(exc)}") from exc
        try:
            self._stream = next(s for s in self._container.streams if s.type == "video")
        except StopIteration:
            self._container.close()
            raise InputError(f"{self.path} has no video stream") from None
        self._stream.thread_type = "AUTO"
        self._start_s = start_s
        self._duration_s = duration_s
        self.frames_lost = 0  # packets that failed to decode and were skipped
        # Phone videos store a display rotation; frames come out as shown (as players do).
        self.rotation_deg = self._peek_rotation()
        self.info = self._probe(width)
        # The first yielded frame's time on the file's clock (pts x time base), in seconds:
        # time 0 of the output. None until the first frame is read.
        self.origin_s: float | None = None

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
        timed = self._from_start(self._iter_timed(start_pts, nominal), start_pts)
        for pts, duration, vframe in timed:
            if first_pts is None:
                first_pts = pts
                self.origin_s = float(pts * tb)
                if self._duration_s is not None:
                    end_pts = first_pts + self._duration_s / tb
            if end_pts is not None and pts >= end_pts:
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
        if self.frames_lost:
            log.warning(
                "%s: %d packets failed to decode and were skipped", self.path, self.frames_lost
            )

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
            log.info("seek failed (%s); decoding from the start", _reason(exc))
            self._reopen()
            return False
        return True

    def _reopen(self) -> None:
        """Open the file again, positioned at its start."""
        index = self._stream.index
        self._container.close()
        self._container = av.open(str(self.path), mode="r")
        self._stream = self._container.streams[index]
        self._stream.thread_type = "AUTO"

    def _iter_decoded(self) -> Iterator[av.VideoFrame]:
        try:
            packets = self._container.demux(self._stream)
            for packet in packets:
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    self.frames_lost += 1
                    continue
                yield from frames
        except av.error.FFmpegError as exc:
            raise InputError(f"{self.path}: cannot decode video: {_reason(exc)}") from exc

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
            for vframe in self._iter_decoded():
                rotation = int(round(float(getattr(vframe, "rotation", 0) or 0) / 90.0)) * 90 % 360
                break
        except InputError:
            pass  # an undecodable stream fails with its own message when it is read
        self.frames_lost = 0
        self._reopen()
        return rotation


def _reason(exc: BaseException) -> str:
    """A short, single-line reason for an FFmpeg or OS error."""
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())
