"""Decode a ``.vq`` file into an ordinary video file or a PNG sequence."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vidquant.codec.blocklabels import compile_kernels
from vidquant.codec.records import AudioPacket
from vidquant.decoder import DamagedSpan, VqDecoder, open_vq
from vidquant.errors import FormatError
from vidquant.fileutil import atomic_folder, atomic_path, check_output
from vidquant.io.writer import FrameWriter, PngSequenceWriter, VideoFileWriter, output_kind
from vidquant.progress import NullProgress, Progress


@dataclass(frozen=True)
class DecodeReport:
    """Summary of one :func:`decode_file` run.

    Attributes
    ----------
    path
        The written file or folder.
    frames
        Frames written.
    duration_s
        Presentation time covered, seconds.
    damage
        With ``salvage``: the damaged stretches that were skipped (empty for an intact file).
    """

    path: Path
    frames: int
    duration_s: float
    damage: tuple[DamagedSpan, ...] = ()


def decode_file(
    src: str | Path,
    dst: str | Path,
    *,
    force: bool = False,
    salvage: bool = False,
    progress: Progress | None = None,
) -> DecodeReport:
    """Decode ``src`` (a ``.vq`` file) into ``dst``.

    Parameters
    ----------
    src
        The ``.vq`` file.
    dst
        ``.mp4`` (H.264, plays everywhere), ``.mkv`` (lossless FFV1) or a folder (PNG frames).
    force
        Overwrite an existing file, or write into a non-empty folder.
    salvage
        Decode every intact frame of a damaged file instead of failing; the damaged
        stretches are listed in the report.
    progress
        Receives per-frame progress.

    Raises
    ------
    FormatError
        ``src`` is damaged (and ``salvage`` is off); nothing is left under ``dst``. When the
        damage is past the header, the error's ``salvageable`` attribute is True.
    OutputError
        ``dst`` exists (without ``force``), or cannot be written.
    """
    src, dst = Path(src), Path(dst)
    progress = progress or NullProgress()
    output_kind(dst)  # refuse an unknown suffix before reading anything
    with open_vq(src) as decoder:
        compile_kernels(encoder=False, progress=progress)
        total = None
        with contextlib.suppress(FormatError):  # a damaged or cut-short file: count unknown
            total = decoder.read_index()[0].frames
        frames = 0
        end_s = 0.0
        progress.start(f"decode {src.name}", total)
        try:
            with _open_output(dst, decoder, src=src, force=force) as writer:
                try:
                    for item in decoder.iter_media(salvage=salvage):
                        if isinstance(item, AudioPacket):
                            writer.write_audio(item)
                            continue
                        frame = item.to_frame()
                        writer.write(frame)
                        frames += 1
                        end_s = frame.time_s + frame.duration_s
                        progress.advance()
                except FormatError as exc:
                    exc.salvageable = True  # the header is fine: salvage would decode the rest
                    raise
                if frames == 0:
                    raise FormatError("no frame could be decoded", offset=decoder.file_size)
        finally:
            progress.finish()
        return DecodeReport(dst, frames, end_s, decoder.salvage.spans)


@contextlib.contextmanager
def _open_output(dst: Path, decoder: VqDecoder, *, src: Path, force: bool) -> Iterator[FrameWriter]:
    """A writer for ``dst``; a video file appears under its name only once complete."""
    kind = output_kind(dst)
    if kind == "png":
        with atomic_folder(dst, force=force, replaces=PngSequenceWriter.FILES) as folder:
            writer: FrameWriter = PngSequenceWriter(folder, audio=decoder.audio)
            try:
                yield writer
            finally:
                writer.close()
        return
    check_output(dst, force=force, inputs=(src,))
    header = decoder.header
    with atomic_path(dst) as tmp:
        writer = VideoFileWriter(
            tmp,
            container_format=kind,
            width=header.width,
            height=header.height,
            fps=header.fps,
            time_base=header.time_base,
            audio=decoder.audio,
        )
        try:
            yield writer
        finally:
            writer.close()
