"""The source's audio, as packets ready for the ``.vq`` container.

``copy`` keeps the source's packets untouched where mp4 and mkv can both hold the codec (AAC,
MP3, Opus, AC-3, E-AC-3); any other codec (PCM, Vorbis, FLAC, ...) and ``opus`` re-encode to
Opus at 48 kHz. Packets are rebased onto the video's clock: time 0 is the first video frame's
start, so audio and video stay in sync after ``--start``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error

from vidquant.codec.records import AudioHeader, AudioPacket
from vidquant.errors import InputError, SettingsError

log = logging.getLogger(__name__)

# Codecs both output containers (mp4 and Matroska) carry as they are.
PORTABLE_CODECS = frozenset({"aac", "mp3", "opus", "ac3", "eac3"})
OPUS_RATE = 48_000
OPUS_KBPS_PER_CHANNEL = 48  # 96 kbps for stereo: transparent for most listeners


class AudioSource:
    """Read one audio stream of a file as packets (copied or re-encoded).

    Parameters
    ----------
    path
        The source file.
    stream
        Which audio stream, 0-based among the file's audio streams.
    mode
        ``"copy"`` (copy where portable, else Opus) or ``"opus"`` (always re-encode).

    Raises
    ------
    SettingsError
        ``stream`` is not one of the file's audio streams, or ``mode`` is unknown.
    InputError
        The file cannot be opened.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        stream: int = 0,
        mode: str = "copy",
        container: av.container.InputContainer | None = None,
    ) -> None:
        self.path = Path(path)
        if mode not in ("copy", "opus"):
            if container is not None:
                container.close()
            raise SettingsError(f"audio mode must be copy, opus or none, got {mode!r}")
        if container is None:
            try:
                container = av.open(str(self.path))
            except (av.error.FFmpegError, OSError) as exc:
                raise InputError(f"cannot open {self.path}: {exc}") from exc
        self._container = container
        streams = self._container.streams.audio
        if not 0 <= stream < len(streams):
            self._container.close()
            raise SettingsError(
                f"audio stream must be 0..{len(streams) - 1}, got {stream} ({self.path} has "
                f"{len(streams)} audio streams)"
            )
        self._stream = streams[stream]
        ctx = self._stream.codec_context
        self.copy = mode == "copy" and ctx.name in PORTABLE_CODECS
        self._encoder: av.AudioCodecContext | None = None
        if self.copy:
            self.header = AudioHeader(
                codec=ctx.name,
                sample_rate=ctx.sample_rate,
                channels=ctx.channels,
                layout=ctx.layout.name if ctx.layout else "",
                time_base=Fraction(self._stream.time_base),
                extradata=bytes(ctx.extradata or b""),
            )
        else:
            channels = min(2, max(1, ctx.channels))
            enc = av.CodecContext.create("libopus", "w")
            enc.sample_rate = OPUS_RATE
            enc.layout = "stereo" if channels == 2 else "mono"
            enc.format = "flt"
            enc.bit_rate = OPUS_KBPS_PER_CHANNEL * 1000 * channels
            enc.time_base = Fraction(1, OPUS_RATE)
            enc.open()
            self._encoder = enc
            self._resampler = av.AudioResampler(format="flt", layout=enc.layout, rate=OPUS_RATE)
            self.header = AudioHeader(
                codec="opus",
                sample_rate=OPUS_RATE,
                channels=channels,
                layout=enc.layout.name,
                time_base=Fraction(1, OPUS_RATE),
                extradata=bytes(enc.extradata or b""),
            )

    def approx_kbps(self) -> float:
        """The audio's bitrate as it will be stored, in kbps (for rate control).

        Re-encoded audio has the Opus encoder's rate; copied audio the stream's declared
        rate or, when the file does not declare one, its first ten seconds of packets (which
        this reads: open a source of its own for the estimate).
        """
        if self._encoder is not None:
            return self._encoder.bit_rate / 1000
        declared = self._stream.bit_rate or self._stream.codec_context.bit_rate
        if declared:
            return declared / 1000
        total, end = 0, 0.0
        tb = float(self._stream.time_base)
        try:
            for packet in self._container.demux(self._stream):
                if packet.size and packet.pts is not None:
                    total += packet.size
                    end = max(end, (packet.pts + (packet.duration or 0)) * tb)
                    if end >= 10.0:
                        break
        except av.error.FFmpegError:
            pass
        return total * 8 / 1000 / end if end > 0 else 0.0

    @classmethod
    def open(cls, path: str | Path, *, stream: int = 0, mode: str = "copy") -> AudioSource | None:
        """An :class:`AudioSource` for ``path``, or None when it has no audio stream (or
        cannot be opened at all: the video reader then says why), opening the file once."""
        try:
            container = av.open(str(path))
        except (av.error.FFmpegError, OSError):
            return None
        if not container.streams.audio:
            container.close()
            return None
        return cls(path, stream=stream, mode=mode, container=container)

    def __enter__(self) -> AudioSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file."""
        self._container.close()

    def iter_packets(self, origin_s: float, end_s: float | None = None) -> Iterator[AudioPacket]:
        """Packets from ``origin_s`` up to ``end_s``, with timestamps in ``header.time_base``.

        ``origin_s`` is a time on the file's clock (a stream's pts times its time base; the
        first video frame's, see :attr:`VideoReader.origin_s`) and becomes time 0; ``end_s`` is
        in output seconds (None: to the end).
        """
        if origin_s > 1.0:  # seek only when it skips something; packets before are dropped below
            try:
                target = int((origin_s - 1.0) / self._stream.time_base)
                self._container.seek(target, stream=self._stream, backward=True)
            except av.error.FFmpegError as exc:
                log.info("audio seek failed (%s); reading from the start", exc)
        if self.copy:
            yield from self._copied(origin_s, end_s)
        else:
            yield from self._reencoded(origin_s, end_s)

    def _copied(self, origin_s: float, end_s: float | None) -> Iterator[AudioPacket]:
        tb = self.header.time_base
        shift = round(origin_s / tb)
        for packet in self._container.demux(self._stream):
            if packet.size == 0 or packet.pts is None:
                continue
            pts = packet.pts - shift
            duration = packet.duration or 0
            if (pts + duration) * tb < 0:
                continue  # ends before the first video frame (the one ending at 0 primes AAC)
            if end_s is not None and pts * tb >= end_s:
                break
            yield AudioPacket(pts, duration, bytes(packet))

    def _reencoded(self, origin_s: float, end_s: float | None) -> Iterator[AudioPacket]:
        enc = self._encoder
        assert enc is not None  # set in __init__ for every non-copy mode
        next_pts: int | None = None
        for frame in self._decoded(origin_s, end_s):
            for out in self._resampler.resample(frame):
                if next_pts is None:
                    start = 0 if out.pts is None else float(out.pts * out.time_base) - origin_s
                    next_pts = max(0, round(start * OPUS_RATE))
                out.pts, out.time_base = next_pts, Fraction(1, OPUS_RATE)
                next_pts += out.samples
                yield from self._encode(out)
        for out in self._resampler.resample(None):
            if next_pts is not None:
                out.pts, out.time_base = next_pts, Fraction(1, OPUS_RATE)
                next_pts += out.samples
            yield from self._encode(out)
        yield from self._encode(None)

    def _decoded(self, origin_s: float, end_s: float | None) -> Iterator[av.AudioFrame]:
        for packet in self._container.demux(self._stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue
            for frame in frames:
                if frame.pts is None:
                    yield frame
                    continue
                t = float(frame.pts * frame.time_base) - origin_s
                if t + frame.samples / frame.sample_rate <= 0:
                    continue
                if end_s is not None and t >= end_s:
                    return
                yield frame

    def _encode(self, frame: av.AudioFrame | None) -> Iterator[AudioPacket]:
        assert self._encoder is not None
        for packet in self._encoder.encode(frame):
            yield AudioPacket(packet.pts or 0, packet.duration or 0, bytes(packet))
