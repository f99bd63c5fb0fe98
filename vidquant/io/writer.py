"""Decoded frames out to ordinary files: H.264 mp4, lossless mkv, or a PNG sequence.

- ``.mp4``: H.264 (libx264, bundled with PyAV), yuv420p, BT.709, the frames' own timestamps: plays
  everywhere. yuv420p needs even sizes, so an odd width or height is padded by repeating the
  last column or row.
- ``.mkv``: FFV1 in BGR0, lossless: every pixel reads back exactly as decoded.
- a folder: ``frame_000000.png`` ... plus ``frames.csv`` with each frame's timestamps.

Writers take frames one at a time and hold none of them; :meth:`FrameWriter.close` flushes the
encoder explicitly.
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import av.error
import cv2
import numpy as np

from vidquant.codec.records import AudioHeader, AudioPacket
from vidquant.errors import OutputError
from vidquant.frames import Frame

VIDEO_SUFFIXES = (".mp4", ".mkv")


class FrameWriter(Protocol):
    """Receives RGB frames in presentation order, and audio packets in time order."""

    def write(self, frame: Frame) -> None: ...

    def write_audio(self, packet: AudioPacket) -> None: ...

    def close(self) -> None: ...


def _add_audio_stream(
    container: av.container.OutputContainer, audio: AudioHeader
) -> av.AudioStream:
    """An output stream that carries ``audio``'s packets as they are (no re-encoding)."""
    stream = container.add_stream(audio.codec, rate=audio.sample_rate)
    ctx = stream.codec_context
    if audio.layout:
        ctx.layout = audio.layout
    if audio.extradata:
        ctx.extradata = audio.extradata
    stream.time_base = audio.time_base
    return stream


def _mux_audio(
    container: av.container.OutputContainer,
    stream: av.AudioStream,
    audio: AudioHeader,
    packet: AudioPacket,
) -> None:
    out = av.Packet(packet.data)
    out.pts = out.dts = packet.pts
    out.duration = packet.duration
    out.time_base = audio.time_base
    out.stream = stream
    container.mux(out)


class VideoFileWriter:
    """Write frames into an mp4 (H.264) or mkv (FFV1 lossless) file.

    Parameters
    ----------
    path
        Output file; ``container_format`` decides the muxer, not the name (temporary names work).
    container_format
        ``"mp4"`` or ``"matroska"``.
    width, height
        Frame size of the frames to come.
    fps
        Nominal frame rate, written as the stream's rate.
    time_base
        Unit of the frames' timestamps; kept as the stream's time base where the muxer allows.
    crf
        H.264 quality (lower is better, 0 is lossless); mp4 only.
    audio
        The audio stream whose packets :meth:`write_audio` will receive, or None.
    """

    def __init__(
        self,
        path: Path,
        *,
        container_format: str,
        width: int,
        height: int,
        fps: Fraction,
        time_base: Fraction,
        crf: int = 16,
        audio: AudioHeader | None = None,
    ) -> None:
        self._lossless = container_format == "matroska"
        options = {} if self._lossless else {"movflags": "+faststart"}
        try:
            self._container = av.open(str(path), mode="w", format=container_format, options=options)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"cannot write {path}: {exc}") from exc
        self._width, self._height = width, height
        if self._lossless:
            stream = self._container.add_stream("ffv1", rate=fps)
            stream.pix_fmt = "bgr0"
            self._pix_fmt = "bgr0"
            self._pad = (0, 0)
        else:
            stream = self._container.add_stream(
                "libx264", rate=fps, options={"crf": str(crf), "preset": "fast"}
            )
            stream.pix_fmt = "yuv420p"
            self._pix_fmt = "yuv420p"
            self._pad = (height % 2, width % 2)
            ctx = stream.codec_context
            ctx.colorspace = 1  # BT.709 matrix, as the frames are converted below
            ctx.color_primaries = 1
            ctx.color_trc = 1
            ctx.color_range = 1  # limited ("MPEG") range
        stream.width = width + self._pad[1]
        stream.height = height + self._pad[0]
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.thread_type = "AUTO"
        self._stream = stream
        self._time_base = time_base
        self._audio = audio
        self._audio_stream = None
        if audio is not None:
            try:
                self._audio_stream = _add_audio_stream(self._container, audio)
            except (av.error.FFmpegError, ValueError) as exc:
                self._container.close()
                raise OutputError(f"cannot carry {audio.codec} audio into {path}: {exc}") from exc

    def write(self, frame: Frame) -> None:
        """Encode one frame at its own timestamp."""
        rgb = frame.rgb
        if self._pad != (0, 0):
            rgb = np.pad(rgb, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        vframe = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        if self._lossless:
            vframe = vframe.reformat(format="bgr0")
        else:
            vframe = vframe.reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
            )
        vframe.pts = frame.pts
        vframe.time_base = self._time_base
        self._container.mux(self._stream.encode(vframe))

    def write_audio(self, packet: AudioPacket) -> None:
        """Mux one audio packet as it is (the muxer interleaves it with the video)."""
        if self._audio_stream is not None and self._audio is not None:
            _mux_audio(self._container, self._audio_stream, self._audio, packet)

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        try:
            self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()


class PngSequenceWriter:
    """Write frames as ``frame_NNNNNN.png`` into a folder, with ``frames.csv`` of timestamps,
    and the audio (if any) as ``audio.mka`` (Matroska audio, packets as they are)."""

    FILES = ("frame_*.png", "frames.csv", "audio.mka")  # what a sequence consists of

    def __init__(self, folder: Path, *, audio: AudioHeader | None = None) -> None:
        self.folder = folder
        self._audio = audio
        self._audio_file = None
        self._audio_stream = None
        if audio is not None:
            self._audio_file = av.open(str(folder / "audio.mka"), "w", format="matroska")
            self._audio_stream = _add_audio_stream(self._audio_file, audio)
        self._csv_file = open(folder / "frames.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(["index", "file", "pts", "duration", "time_s"])

    def write(self, frame: Frame) -> None:
        name = f"frame_{frame.index:06d}.png"
        if not cv2.imwrite(str(self.folder / name), np.ascontiguousarray(frame.rgb[:, :, ::-1])):
            raise OutputError(f"cannot write {self.folder / name}")
        self._csv.writerow([frame.index, name, frame.pts, frame.duration, f"{frame.time_s:.6f}"])

    def write_audio(self, packet: AudioPacket) -> None:
        if self._audio_file is not None and self._audio is not None:
            _mux_audio(self._audio_file, self._audio_stream, self._audio, packet)

    def close(self) -> None:
        self._csv_file.close()
        if self._audio_file is not None:
            self._audio_file.close()


def output_kind(path: Path) -> str:
    """``"mp4"``, ``"matroska"`` or ``"png"`` (a folder) for an output path."""
    suffix = path.suffix.lower()
    if suffix == ".mp4":
        return "mp4"
    if suffix == ".mkv":
        return "matroska"
    if suffix == "" or path.is_dir():
        return "png"
    raise OutputError(f"cannot write {path}: use a .mp4 or .mkv file, or a folder for PNG frames")
