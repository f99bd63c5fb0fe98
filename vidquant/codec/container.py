"""Record framing, CRC checks, version policy and the keyframe index of ``.vq`` files.

:class:`ContainerWriter` turns typed records (:mod:`vidquant.codec.records`) into bytes;
:class:`ContainerReader` turns bytes back and trusts nothing: every length, count and index is
checked before it is used, and every problem raises :class:`~vidquant.errors.FormatError` with
the byte offset. Reading on past damage is :mod:`vidquant.codec.salvage`'s job.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from vidquant.codec import format as fmt
from vidquant.codec.records import (
    AudioHeader,
    AudioPacket,
    FrameRecord,
    Header,
    IndexEntry,
    RecordSizes,
    Trailer,
    pack_audio_header,
    pack_audio_packet,
    pack_frame,
    pack_header,
    pack_index,
    pack_record,
    pack_trailer,
    unpack_audio_header,
    unpack_audio_packet,
    unpack_frame,
    unpack_header,
    unpack_index,
    unpack_trailer,
)
from vidquant.codec.salvage import Damage, Salvager
from vidquant.errors import FormatError, TruncatedError, VersionError

__all__ = ["ContainerReader", "ContainerWriter"]

log = logging.getLogger(__name__)


class ContainerWriter:
    """Write a ``.vq`` stream to a binary file object.

    Call :meth:`write_frame` once per frame in presentation order, then :meth:`close`, which
    writes the keyframe index and the trailer (the explicit end of the stream).

    Parameters
    ----------
    fileobj
        A binary file object open for writing, at the start of the file (index offsets count
        from where the writer starts).
    header
        The HEAD record, written at once.
    audio
        The ahdr record, when the stream carries audio packets (:meth:`write_audio`).

    Raises
    ------
    ValueError
        The header's metadata cannot be written (see
        :func:`~vidquant.codec.records.pack_header`; the preamble is written by then). Here
        and in the ``write_*`` methods a ``ValueError`` is a bad call, not a bad file: the
        caller broke a rule of the format that the writer checks, and nothing of the refused
        record is written. The writer does not check every rule (a zero duration, say, is
        written and refused by the reader).
    """

    def __init__(
        self, fileobj: BinaryIO, header: Header, *, audio: AudioHeader | None = None
    ) -> None:
        self._f = fileobj
        self.header = header
        self.audio = audio
        self._offset = 0
        self._index: list[IndexEntry] = []
        self._frames = 0
        self._end_pts = 0
        self._last_pts: int | None = None
        self.sizes = RecordSizes()
        # the newest version of the major the label coder belongs to (tests still make 1.x)
        major = fmt.MAJOR_OF_LABEL_CODER.get(header.label_coder, fmt.VERSION_MAJOR)
        self.major = major
        self._write(fmt.PREAMBLE.pack(fmt.MAGIC, major, fmt.NEWEST_MINOR[major]))
        self._write(pack_record(fmt.TAG_HEADER, pack_header(header)))
        if audio is not None:
            self._write(pack_record(fmt.TAG_AUDIO_HEADER, pack_audio_header(audio)))
        self.sizes = RecordSizes(overhead=self._offset)

    def _write(self, data: bytes) -> None:
        self._f.write(data)
        self._offset += len(data)

    def write_frame(self, record: FrameRecord) -> int:
        """Append one frame record; return its size in bytes.

        Raises
        ------
        ValueError
            ``record.pts`` is not above the previous frame's, or the first frame is not a
            keyframe.
        """
        if self._last_pts is not None and record.pts <= self._last_pts:
            raise ValueError(f"pts must increase: {record.pts} after {self._last_pts}")
        if not self._index and not record.keyframe:
            raise ValueError("the first frame must be a keyframe")
        if record.keyframe:
            self._index.append(IndexEntry(self._frames, record.pts, self._offset))
        tag = fmt.TAG_KEYFRAME if record.keyframe else fmt.TAG_INTERFRAME
        data = pack_record(tag, pack_frame(record, self.major))
        self._write(data)
        self._frames += 1
        self._last_pts = record.pts
        self._end_pts = record.pts + record.duration
        self._count(labels=len(record.labels), palettes=record.palette_bytes, total=len(data))
        return len(data)

    def write_audio(self, packet: AudioPacket) -> int:
        """Append one audio packet (after the frame it plays with); return the record size.

        Raises
        ------
        ValueError
            The stream was opened without ``audio``, no frame has been written yet, or the
            packet is over ``format.MAX_AUDIO_PACKET`` bytes.
        """
        if self.audio is None:
            raise ValueError("this stream was opened without audio")
        if not self._index:
            raise ValueError("audio packets follow the first frame")
        if len(packet.data) > fmt.MAX_AUDIO_PACKET:
            raise ValueError(f"audio packet of {len(packet.data)} bytes is over the limit")
        data = pack_record(fmt.TAG_AUDIO_PACKET, pack_audio_packet(packet))
        self._write(data)
        self._count(audio=len(packet.data), total=len(data))
        return len(data)

    def _count(self, *, total: int, labels: int = 0, palettes: int = 0, audio: int = 0) -> None:
        s = self.sizes
        self.sizes = RecordSizes(
            labels=s.labels + labels,
            palettes=s.palettes + palettes,
            audio=s.audio + audio,
            overhead=s.overhead + total - labels - palettes - audio,
        )

    def close(self) -> None:
        """Write the index and the trailer. The file object stays open (the caller owns it)."""
        trailer = Trailer(self._frames, len(self._index), self._offset, self._end_pts)
        index = pack_record(fmt.TAG_INDEX, pack_index(self._index))
        self._write(index)
        tail = pack_record(fmt.TAG_TRAILER, pack_trailer(trailer))
        self._write(tail)
        self._count(total=len(index) + len(tail))
        self._f.flush()


class ContainerReader:
    """Read a ``.vq`` file record by record.

    Parameters
    ----------
    fileobj
        A seekable binary file object positioned anywhere; the reader seeks itself.

    Raises
    ------
    FormatError
        Wrong magic, bad header, or (later, while iterating) any damaged record.
    VersionError
        The file's major version differs from this reader's.
    """

    def __init__(self, fileobj: BinaryIO) -> None:
        self._f = fileobj
        self._salvager: Salvager | None = None  # during a salvaging iteration
        self._f.seek(0, os.SEEK_END)
        self.file_size = self._f.tell()
        self._f.seek(0)
        pre = self._read_exact(fmt.PREAMBLE.size, 0, "preamble")
        magic, major, minor = fmt.PREAMBLE.unpack(pre)
        if magic != fmt.MAGIC:
            raise FormatError(
                f"not a vidquant file: magic is {magic!r}, expected {fmt.MAGIC!r}", offset=0
            )
        if major not in fmt.READ_MAJORS:
            raise VersionError(
                f"file format version {major}.{minor} is not supported by this reader "
                f"(reads {' and '.join(f'{m}.x' for m in fmt.READ_MAJORS)})",
                offset=8,
            )
        known_minor = fmt.NEWEST_MINOR[major]
        if minor > known_minor:
            log.warning(
                "file format version %d.%d is newer than this reader's %d.%d; "
                "reading the records it knows",
                major,
                minor,
                major,
                known_minor,
            )
        self.version = (major, minor)
        tag, payload, offset = self._read_record(fmt.PREAMBLE.size, fmt.MAX_META + fmt.HEADER.size)
        if tag != fmt.TAG_HEADER:
            raise FormatError(
                f"first record is {tag!r}, expected {fmt.TAG_HEADER!r}", offset=offset
            )
        self.header = unpack_header(payload, offset + fmt.RECORD_HEAD.size, major)
        h = self.header
        self._max_payload = fmt.max_payload(h.width, h.height, h.k, h.label_coder)
        self.first_frame_offset = self._f.tell()
        self.audio: AudioHeader | None = None
        if self.first_frame_offset + fmt.RECORD_HEAD.size <= self.file_size:
            self._f.seek(self.first_frame_offset)
            (tag, _) = fmt.RECORD_HEAD.unpack(self._f.read(fmt.RECORD_HEAD.size))
            if tag == fmt.TAG_AUDIO_HEADER:
                _, payload, offset = self._read_record(self.first_frame_offset)
                self.audio = unpack_audio_header(payload, offset)
                self.first_frame_offset = self._f.tell()

    def _read_exact(self, n: int, offset: int, what: str) -> bytes:
        data = self._f.read(n)
        if len(data) != n:
            raise TruncatedError(
                f"file ends inside the {what}: needed {n} bytes, found {len(data)}", offset=offset
            )
        return data

    def _read_record(
        self, offset: int, max_payload: int | None = None
    ) -> tuple[bytes, memoryview, int]:
        """Read the record at ``offset``; return (tag, payload, offset) after checking the CRC.

        ``max_payload`` defaults to the limit for the record's tag; the length is also checked
        against the bytes left in the file before anything is allocated.
        """
        self._f.seek(offset)
        head = self._f.read(fmt.RECORD_HEAD.size)
        if len(head) == 0:
            raise TruncatedError(
                "file ends before the trailer (TAIL record missing)", offset=offset
            )
        if len(head) < fmt.RECORD_HEAD.size:
            raise TruncatedError(
                f"file ends inside a record header: {len(head)} of {fmt.RECORD_HEAD.size} bytes",
                offset=offset,
            )
        tag, length = fmt.RECORD_HEAD.unpack(head)
        if not all(0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A or c == 0x20 for c in tag):
            raise FormatError(f"bad record tag {tag!r}", offset=offset)
        if max_payload is None:
            max_payload = fmt.payload_limit(tag, self._max_payload)
        if length > max_payload:
            raise FormatError(
                f"record {tag!r} declares {length} bytes, more than the {max_payload} allowed",
                offset=offset,
            )
        remaining = self.file_size - offset - fmt.RECORD_HEAD.size
        if length + fmt.RECORD_CRC.size > remaining:
            raise TruncatedError(
                f"record {tag!r} declares {length} bytes but the file ends {remaining} bytes later",
                offset=offset,
            )
        if self._salvager is not None:
            self._salvager.spend(length + fmt.RECORD_CRC.size)
        payload = self._f.read(length)
        (crc,) = fmt.RECORD_CRC.unpack(self._f.read(fmt.RECORD_CRC.size))
        actual = zlib.crc32(payload, zlib.crc32(tag))
        if crc != actual:
            raise FormatError(
                f"CRC mismatch in record {tag!r}: stored {crc:08x}, computed {actual:08x}",
                offset=offset,
            )
        return tag, memoryview(payload), offset

    def iter_frames(self, start_offset: int | None = None) -> Iterator[FrameRecord]:
        """Yield frame records from ``start_offset`` (default: the first) up to the index.

        Audio and other ancillary records are skipped (see :meth:`iter_records`).
        """
        for record in self.iter_records(start_offset):
            if isinstance(record, FrameRecord):
                yield record

    def iter_records(
        self, start_offset: int | None = None, *, audio: bool = False, salvage: bool = False
    ) -> Iterator[FrameRecord | AudioPacket | Damage]:
        """Yield frame records, and with ``audio`` the audio packets, in file order.

        With ``salvage``, a damaged record does not end the iteration: a :class:`Damage` item
        reports it, and reading resumes at the next intact record (found by scanning for a
        record tag whose CRC checks out). Frame records after a damage may depend on frames
        that were lost; the caller decides what to do with them (the decoder waits for the next
        keyframe). In salvage mode the first frame record need not be a keyframe.

        Raises
        ------
        TruncatedError
            The file ends before the trailer; every whole record before that was yielded.
        FormatError
            A record is damaged or breaks a rule of the format (never with ``salvage``).
        """
        offset = self.first_frame_offset if start_offset is None else start_offset
        if salvage:
            self._salvager = Salvager(self._f, self.file_size, self._read_record)
        try:
            yield from self._walk(offset, audio=audio, salvage=salvage, whole=start_offset is None)
        finally:
            self._salvager = None

    def _walk(
        self, offset: int, *, audio: bool, salvage: bool, whole: bool
    ) -> Iterator[FrameRecord | AudioPacket | Damage]:
        """:meth:`iter_records` from ``offset``; ``whole``: from the first frame (so the
        trailer's frame count can be checked)."""
        last_pts: int | None = None
        first = not salvage
        frames = 0
        while True:
            try:
                tag, payload, rec_offset = self._read_record(offset)
                end = rec_offset + fmt.RECORD_HEAD.size + len(payload) + fmt.RECORD_CRC.size
                if tag == fmt.TAG_INDEX:
                    self._check_end(rec_offset, end, frames if whole and not salvage else None)
                    return
                item = self._interpret(tag, payload, rec_offset, audio)
                if isinstance(item, FrameRecord):
                    if first and not item.keyframe:
                        raise FormatError(
                            "stream does not start with a keyframe", offset=rec_offset
                        )
                    if last_pts is not None and item.pts <= last_pts:
                        raise FormatError(
                            f"pts {item.pts} does not increase (previous {last_pts})",
                            offset=rec_offset,
                        )
            except FormatError as exc:
                if not salvage:
                    raise
                damages = self._salvaging().recover(offset, exc)
                yield from damages
                resume = damages[-1].resume_offset
                if resume is None:
                    return
                offset = resume
                continue
            offset = end
            if isinstance(item, FrameRecord):
                first = False
                last_pts = item.pts
                frames += 1
            if item is not None:
                yield item

    def _interpret(
        self, tag: bytes, payload: memoryview, offset: int, audio: bool
    ) -> FrameRecord | AudioPacket | None:
        """The typed record for ``tag`` (None: a record to skip)."""
        if tag in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME):
            return unpack_frame(tag, payload, offset, self.header, self.version[0])
        if tag == fmt.TAG_AUDIO_PACKET:
            if audio and self.audio is not None:
                return unpack_audio_packet(payload, offset)
            return None
        if fmt.tag_is_critical(tag):
            raise FormatError(f"unknown critical record {tag!r}", offset=offset)
        log.debug("skipping ancillary record %r at %d", tag, offset)
        return None

    def resync(self, offset: int) -> int | None:
        """Offset of the first intact frame, audio or index record at or after ``offset``.

        Scans for the record tags and keeps the first candidate whose whole record (length
        limits, CRC) checks out; None when no intact record follows.

        Raises
        ------
        FormatError
            During a salvaging iteration, when its read budget is spent.
        """
        return self._salvaging().resync(offset)

    def _salvaging(self) -> Salvager:
        """The salvaging iteration's salvager, or (outside one) a salvager without a budget."""
        if self._salvager is not None:
            return self._salvager
        return Salvager(self._f, self.file_size, self._read_record, budgeted=False)

    def _check_end(self, index_offset: int, offset: int, frames: int | None) -> None:
        """After the index at ``index_offset``: the trailer must follow at ``offset``, end the
        file, point back at this index and (when known) count ``frames`` frames."""
        if offset + fmt.TRAILER_RECORD_SIZE > self.file_size:
            raise TruncatedError("file ends before the trailer (TAIL record)", offset=offset)
        if offset + fmt.TRAILER_RECORD_SIZE != self.file_size:
            raise FormatError(
                f"{self.file_size - offset - fmt.TRAILER_RECORD_SIZE} unexpected bytes between "
                "the index and the trailer",
                offset=offset,
            )
        trailer = self.read_trailer()
        if trailer.index_offset != index_offset:
            raise FormatError(
                f"TAIL points at an index at {trailer.index_offset}, found it at {index_offset}",
                offset=offset,
            )
        if frames is not None and trailer.frames != frames:
            raise FormatError(
                f"TAIL counts {trailer.frames} frames, the file holds {frames}", offset=offset
            )

    def read_trailer(self) -> Trailer:
        """Read and check the TAIL record at the end of the file."""
        offset = self.file_size - fmt.TRAILER_RECORD_SIZE
        if offset < self.first_frame_offset:
            raise TruncatedError("file too short to hold a trailer", offset=max(offset, 0))
        tag, payload, _ = self._read_record(offset, fmt.TRAILER.size)
        if tag != fmt.TAG_TRAILER or len(payload) != fmt.TRAILER.size:
            raise FormatError(
                f"last record is {tag!r}, expected {fmt.TAG_TRAILER!r}", offset=offset
            )
        return unpack_trailer(payload, offset, first_frame_offset=self.first_frame_offset)

    def read_index(self) -> tuple[Trailer, list[IndexEntry]]:
        """Read the trailer and the keyframe index (for seeking), checking every entry."""
        trailer = self.read_trailer()
        tag, payload, offset = self._read_record(trailer.index_offset)
        if tag != fmt.TAG_INDEX:
            raise FormatError(f"index offset points at {tag!r}, not INDX", offset=offset)
        entries = unpack_index(payload, offset, trailer, first_frame_offset=self.first_frame_offset)
        return trailer, entries
