"""One input in, one property checked: the fuzz targets shared by Hypothesis and atheris.

``tests/test_fuzz.py`` (Hypothesis) and the atheris harnesses ``fuzz_container.py`` and
``fuzz_labels.py`` call the same two checks, so a failure found by one driver is a failure of
the other:

:func:`check_container`
    Any bytes as a ``.vq`` file: opening, iterating every frame and audio packet, reading the
    index, seeking, and the salvage mode either raise :class:`~vidquant.errors.FormatError` or
    give well-formed output (salvage raises nothing); the traced peak allocation stays under
    :func:`container_memory_bound`, no label map outlives the iteration that made it, and no
    phase reads more than ``READ_BASE + READ_FACTOR * len(data)`` bytes of the file.
:func:`check_labels`
    :meth:`LabelDecoder.decode` on any mode, payload and previous map: a FormatError or a
    (height, width) uint8 map with every label < k, within :func:`labels_memory_bound`.

A check returns an outcome when the code behaved. It raises :class:`PropertyViolation` when the
output or the memory is wrong, and lets any exception other than FormatError propagate
unchanged (that is the bug report: atheris records it as a crash, Hypothesis shrinks it).

The rest of the module makes inputs: valid seed files built with the library
(:func:`seed_files`), the mutations both drivers apply to them (:func:`apply_op`, with
:func:`fix_crcs` and :func:`rebuild_end` so a mutation gets past the CRC and trailer checks), and
hostile Zstandard frames (:func:`label_payload`).
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import random
import struct
import sys
import tracemalloc
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import zstandard

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vidquant.codec import format as fmt  # noqa: E402
from vidquant.codec.container import (  # noqa: E402
    AudioHeader,
    AudioPacket,
    ContainerWriter,
    FrameRecord,
    Header,
    pack_record,
)
from vidquant.codec.labels import LabelDecoder, LabelEncoder  # noqa: E402
from vidquant.decoder import VqDecoder  # noqa: E402
from vidquant.errors import FormatError  # noqa: E402
from vidquant.frames import PaletteFrame  # noqa: E402

GOLDEN_VQ = TESTS / "golden" / "tiny.vq"

# --------------------------------------------------------------------------------------------
# memory bounds
#
# tracemalloc sees every Python object and every numpy buffer (numpy reports its allocations to
# it); it does not see libzstd's own malloc (window and context), which the atheris runs bound
# with -rss_limit_mb instead. The bound for a file B is
#
#     MEMORY_BASE + MEMORY_PER_BYTE * len(B)  [+ LABEL_MAPS * W * H]
#
# * MEMORY_PER_BYTE: the reader copies each record's payload once, and the Python objects it
#   builds from a record are at most a few dozen times the record's bytes (the worst is the HEAD
#   metadata: ``[{},{},...]`` is about 24 bytes of dicts and list slots per 3 input bytes; an
#   INDX entry of 20 bytes becomes an IndexEntry of about 300).
# * LABEL_MAPS * W * H is granted only when the file holds a Zstandard frame header that declares
#   exactly W * H bytes. LabelDecoder refuses any other declared size before it allocates, and
#   REPEAT allocates nothing, so without such a header no label map can be built and a file must
#   not cost more than its own size. With one, a 30-byte frame may legitimately expand to a
#   33 MB map (7680x4320, RLE). Six maps: the worst measured is 5, in COPY (the previous
#   frame's labels, the decompressed bytes, and np.where's ``== 0`` mask, ``labels - 1`` and
#   result; INTRA needs 2, DELTA 3), plus one spare so that an equivalent rewrite of the
#   decoder does not fail the suite. test_fuzz.py measures it on a 7680x4320 file.
MEMORY_BASE = 4 << 20
MEMORY_PER_BYTE = 64
LABEL_MAPS = 6
LABELS_MEMORY_BASE = 1 << 20
# After a phase (a whole iteration, a seek) has ended, the decoder keeps only small objects: the
# salvage report, the header. Any label map still alive then is retention.
RETAINED_BASE = 256 << 10
RETAINED_PER_BYTE = 16

# Work: bytes read from the file in one phase. A strict decode reads each record once; the
# index, the trailer and salvage's resynchronisation read some twice; one resynchronisation may
# read 16 * size + 64 MiB of candidate records (container._RESYNC_READ_*). A phase reading more
# than READ_BASE + READ_FACTOR * size does work that grows faster than the file: a file of a few
# megabytes would take minutes.
READ_BASE = 64 << 20
READ_FACTOR = 32

# Triage aid for long runs while a known bug is open: VIDQUANT_FUZZ_IGNORE=retention,reads
# (any of "peak", "retention", "reads") turns those checks off so the run can find other bugs.
# Never set it in CI.
IGNORE = frozenset(filter(None, os.environ.get("VIDQUANT_FUZZ_IGNORE", "").split(",")))

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZSTD_MAX_HEADER = 18  # magic 4 + descriptor 1 + window 1 + dictionary id 4 + content size 8


class PropertyViolation(AssertionError):
    """The code under test returned something wrong (not: raised something unexpected)."""


def declares_map(data: bytes, size: int) -> bool:
    """True when some Zstandard frame header inside ``data`` declares exactly ``size`` bytes."""
    at = data.find(ZSTD_MAGIC)
    while at >= 0:
        try:
            if zstandard.frame_content_size(data[at : at + ZSTD_MAX_HEADER]) == size:
                return True
        except zstandard.ZstdError:
            pass
        at = data.find(ZSTD_MAGIC, at + 1)
    return False


def container_memory_bound(data: bytes, header: Header | None) -> int:
    """Largest traced peak (bytes) reading ``data`` may cost; see the comment above."""
    bound = MEMORY_BASE + MEMORY_PER_BYTE * len(data)
    if header is not None and declares_map(data, header.width * header.height):
        bound += LABEL_MAPS * header.width * header.height
    return bound


def labels_memory_bound(payload: bytes, width: int, height: int) -> int:
    """Largest traced peak (bytes) one LabelDecoder.decode call may cost."""
    bound = LABELS_MEMORY_BASE + MEMORY_PER_BYTE * len(payload)
    if declares_map(payload, width * height):
        bound += LABEL_MAPS * width * height
    return bound


class _Tracer:
    """Peak traced allocation (bytes) inside the ``with`` block; 0 when not measuring."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.peak = 0
        self._started = False
        self._base = 0
        self._mark = 0

    def __enter__(self) -> _Tracer:
        if self.enabled:
            if tracemalloc.is_tracing():
                self._base = tracemalloc.get_traced_memory()[0]
            else:
                tracemalloc.start()
                self._started = True
            tracemalloc.reset_peak()
            self._mark = tracemalloc.get_traced_memory()[0]
        return self

    def mark(self) -> None:
        """Make the memory allocated so far the baseline of :meth:`current`."""
        if self.enabled:
            self._mark = tracemalloc.get_traced_memory()[0]

    def current(self) -> int:
        """Bytes allocated since :meth:`mark` and still alive."""
        return tracemalloc.get_traced_memory()[0] - self._mark if self.enabled else 0

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.peak = max(0, tracemalloc.get_traced_memory()[1] - self._base)
            if self._started:
                tracemalloc.stop()


@contextlib.contextmanager
def quiet_vidquant_logs() -> Iterator[None]:
    """Silence vidquant's warnings (salvage, newer minor version) for the block: millions of
    inputs would flood stderr, and pytest's log capture would keep every record."""
    logger = logging.getLogger("vidquant")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _fail(message: str) -> None:
    raise PropertyViolation(message)


# --------------------------------------------------------------------------------------------
# the container property


@dataclass
class ContainerOutcome:
    """What one :func:`check_container` run saw (for statistics; the checks already passed)."""

    opened: bool = False
    header: Header | None = None
    frames: int = 0  # frames of the sequential decode
    audio_packets: int = 0
    error: FormatError | None = None  # what stopped the sequential decode (None: clean end)
    open_error: FormatError | None = None
    index_ok: bool = False
    seek_frames: int = 0
    salvage_frames: int = 0
    peak: int = 0
    bound: int = 0
    max_read: tuple[int, str] = (0, "")  # most bytes one phase read, and which

    @property
    def stage(self) -> str:
        """How deep the input got: a coarse label for Hypothesis' statistics."""
        if not self.opened:
            return "refused at open"
        if self.frames == 0:
            return "opened, no frame"
        if self.error is not None:
            return "frames, then an error"
        return "decoded to the end" + (" with index" if self.index_ok else "")


def _check_frame(
    frame: object, header: Header, previous: PaletteFrame | None, *, strict: bool, what: str
) -> PaletteFrame:
    if not isinstance(frame, PaletteFrame):
        _fail(f"{what}: yielded {type(frame).__name__}, not a PaletteFrame")
    labels, palette = frame.labels, frame.palette
    shape = (header.height, header.width)
    if not isinstance(labels, np.ndarray) or labels.dtype != np.uint8 or labels.shape != shape:
        _fail(f"{what}: labels {getattr(labels, 'dtype', type(labels))} "
              f"{getattr(labels, 'shape', '')}, expected uint8 {shape}")  # fmt: skip
    if not isinstance(palette, np.ndarray) or palette.dtype != np.uint8:
        _fail(f"{what}: palette is {type(palette).__name__} {getattr(palette, 'dtype', '')}")
    if palette.shape != (header.k, 3):
        _fail(f"{what}: palette shape {palette.shape}, expected ({header.k}, 3)")
    top = int(labels.max())
    if top >= header.k:
        _fail(f"{what}: label {top} is not below k={header.k}")
    if not isinstance(frame.duration, int) or frame.duration <= 0:
        _fail(f"{what}: duration {frame.duration!r}")
    if not isinstance(frame.pts, int) or not isinstance(frame.index, int):
        _fail(f"{what}: pts {frame.pts!r}, index {frame.index!r}")
    frame.time_s  # noqa: B018 - the float conversion must not fail either
    if strict and previous is not None:
        # increasing, not consecutive: a seek drops every frame that ends before the target
        # (FORMAT.md 6.5), and with overlapping durations such a frame can follow a shown one
        if frame.index <= previous.index:
            _fail(f"{what}: frame index {frame.index} after {previous.index}")
        if frame.pts <= previous.pts:
            _fail(f"{what}: pts {frame.pts} after {previous.pts}")
    return frame


def _check_packet(packet: object, dec: VqDecoder, what: str) -> None:
    if not isinstance(packet, AudioPacket):
        _fail(f"{what}: yielded {type(packet).__name__}")
    if dec.audio is None:
        _fail(f"{what}: an audio packet from a file without an ahdr record")
    if packet.duration < 0 or not isinstance(packet.data, bytes):
        _fail(f"{what}: bad packet duration {packet.duration} or data {type(packet.data)}")
    if len(packet.data) > fmt.MAX_AUDIO_PACKET:
        _fail(f"{what}: audio packet of {len(packet.data)} bytes")


def _accepts_salvage(dec: VqDecoder) -> bool:
    import inspect

    return "salvage" in inspect.signature(dec.iter_media).parameters


def _seek_times(seen: list[tuple[int, int]], header: Header) -> list[float]:
    """Two seek targets (seconds): the middle frame's start and a time past the end."""
    if not seen:
        return [0.0, -1.0]
    tb = header.time_base
    mid_pts = seen[len(seen) // 2][0]
    last_pts, last_duration = seen[-1]
    return [float(mid_pts * tb), float((last_pts + last_duration) * tb) + 1.0]


class _CountingFile(io.BytesIO):
    """The file under test: counts the bytes the reader reads, and stops a phase (with a
    PropertyViolation raised from ``read``) once it has read more than its budget."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.budget = READ_BASE + READ_FACTOR * len(data)
        self.phase = "open"
        self.count = 0
        self.peak_phase = (0, "")

    def start(self, phase: str) -> None:
        if self.count > self.peak_phase[0]:
            self.peak_phase = (self.count, self.phase)
        self.phase, self.count = phase, 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.count += len(data)
        if self.count > self.budget and "reads" not in IGNORE:
            _fail(
                f"{self.phase}: read {self.count} bytes of a {len(self.getbuffer())}-byte file "
                f"(budget {self.budget}): work grows faster than the file"
            )
        return data


def _detach(exc: BaseException | None) -> BaseException | None:
    """``exc`` without tracebacks (its own and its causes'): an error kept for statistics must
    not keep the failed call's frames, and so its label maps, alive."""
    seen = set()
    e = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        e.__traceback__ = None
        e = e.__cause__ or e.__context__
    return exc


def _check_retained(tracer: _Tracer, data: bytes, what: str) -> None:
    """After a phase has ended, the decoder may keep small objects (the salvage report, the
    header), not frames: at most RETAINED_BASE + RETAINED_PER_BYTE * len(data) bytes."""
    if not tracer.enabled or "retention" in IGNORE:
        return
    bound = RETAINED_BASE + RETAINED_PER_BYTE * len(data)
    if tracer.current() > bound:
        gc.collect()  # only when needed: cyclic garbage is not retention
        if tracer.current() > bound:
            _fail(f"after {what}, {tracer.current()} bytes are still allocated (bound {bound})")


def _decode(data: bytes, out: ContainerOutcome, tracer: _Tracer) -> None:
    f = _CountingFile(data)
    try:
        dec = VqDecoder(f)
    except FormatError as exc:
        out.open_error = _detach(exc)
        return
    out.opened = True
    h = out.header = dec.header
    if not (1 <= h.width <= fmt.MAX_WIDTH and 1 <= h.height <= fmt.MAX_HEIGHT and 2 <= h.k <= 256):
        _fail(f"header accepted out of range: {h.width}x{h.height}, k={h.k}")
    tracer.mark()  # what the open decoder holds is the baseline for the retention checks

    # 1. sequential decode, frames and audio packets
    f.start("iter_media()")
    seen: list[tuple[int, int]] = []
    previous = item = None
    try:
        for item in dec.iter_media():
            if isinstance(item, AudioPacket):
                _check_packet(item, dec, "iter_media")
                out.audio_packets += 1
                continue
            what = f"iter_media frame {len(seen)}"
            previous = _check_frame(item, h, previous, strict=True, what=what)
            if previous.index != len(seen):
                _fail(f"{what}: index {previous.index}")
            seen.append((previous.pts, previous.duration))
    except FormatError as exc:
        out.error = _detach(exc)
    out.frames = len(seen)
    previous = item = None
    _check_retained(tracer, data, "iter_media()")

    # 2. the index
    f.start("read_index()")
    try:
        trailer, entries = dec.read_index()
        if len(entries) != trailer.keyframes:
            _fail(f"read_index: {len(entries)} entries, TAIL says {trailer.keyframes}")
        out.index_ok = True
    except FormatError:
        pass
    trailer = entries = None

    # 3. seeking: every frame shown is still on screen at the target, in order
    for start_s in _seek_times(seen, h):
        what = f"iter_frames(start_s={start_s!r})"
        f.start(what)
        target = start_s / h.time_base
        previous = frame = None
        try:
            for frame in dec.iter_frames(start_s=start_s):
                previous = _check_frame(frame, h, previous, strict=True, what=what)
                if previous.pts + previous.duration <= target:
                    _fail(f"{what}: frame {previous.index} ended before the target")
                out.seek_frames += 1
        except FormatError:
            pass
        previous = frame = None
        _check_retained(tracer, data, what)

    # 4. salvage never raises, and its frames are as well-formed as the others
    if _accepts_salvage(dec):
        for start_s in (None, _seek_times(seen, h)[0]):
            what = f"iter_media(salvage=True, start_s={start_s!r})"
            f.start(what)
            previous = item = None
            try:
                for item in dec.iter_media(salvage=True, start_s=start_s):
                    if isinstance(item, AudioPacket):
                        _check_packet(item, dec, what)
                    else:
                        previous = _check_frame(item, h, previous, strict=True, what=what)
                        out.salvage_frames += 1
            except FormatError as exc:
                raise PropertyViolation(f"{what} raised {exc!r}") from exc
            previous = item = None
            _check_salvage_report(dec, what)
            _check_retained(tracer, data, what)
    f.start("done")
    out.max_read = f.peak_phase


def _check_salvage_report(dec: VqDecoder, what: str) -> None:
    report = getattr(dec, "salvage", None)
    spans = getattr(report, "spans", None)
    if spans is None:
        return  # an older decoder without damage spans
    for span in spans:
        if not isinstance(span.error, FormatError):
            _fail(f"{what}: a damaged span's error is {span.error!r}")
        if span.frames_lost is not None and span.frames_lost < 0:
            _fail(f"{what}: {span.frames_lost} frames lost")
        span.describe()  # the CLI prints it: it must not fail either
    report.frames_lost  # noqa: B018


def check_container(data: bytes, *, memory: bool = True) -> ContainerOutcome:
    """Run the container property on ``data``; see the module docstring."""
    out = ContainerOutcome()
    with quiet_vidquant_logs(), _Tracer(memory) as tracer:
        _decode(bytes(data), out, tracer)
    if memory:
        out.peak = tracer.peak
        out.bound = container_memory_bound(data, out.header)
        if out.peak > out.bound and "peak" not in IGNORE:
            h = out.header
            size = "" if h is None else f" for a {h.width}x{h.height} header"
            _fail(
                f"reading a {len(data)}-byte file{size} allocated {out.peak} bytes "
                f"(bound {out.bound})"
            )
    return out


# --------------------------------------------------------------------------------------------
# the label decoder property


@dataclass
class LabelsOutcome:
    labels: np.ndarray | None = None
    error: FormatError | None = None
    peak: int = 0
    bound: int = 0


def check_labels(
    width: int,
    height: int,
    k: int,
    mode: int,
    payload: bytes,
    previous: np.ndarray | None,
    *,
    memory: bool = True,
) -> LabelsOutcome:
    """``LabelDecoder(width, height, k).decode(mode, payload, previous)``: a FormatError or a
    (height, width) uint8 map with every label < k, within :func:`labels_memory_bound`."""
    out = LabelsOutcome()
    if previous is not None:
        previous = np.ascontiguousarray(previous, dtype=np.uint8).reshape(height, width)
        previous.flags.writeable = False  # the decoder must not write into the previous map
    decoder = LabelDecoder(width, height, k)
    with _Tracer(memory) as tracer:
        try:
            labels = decoder.decode(mode, payload, previous, offset=123)
        except FormatError as exc:
            out.error = exc
            labels = None
    if out.error is not None and out.error.offset != 123:
        _fail(f"FormatError does not carry the offset: {out.error!r}")
    if labels is not None:
        if not isinstance(labels, np.ndarray) or labels.dtype != np.uint8:
            _fail(f"decode returned {type(labels).__name__} {getattr(labels, 'dtype', '')}")
        if labels.shape != (height, width):
            _fail(f"decode returned shape {labels.shape}, expected {(height, width)}")
        if int(labels.max()) >= k:
            _fail(f"decode returned label {int(labels.max())}, k={k}")
        out.labels = labels
    if memory:
        out.peak, out.bound = tracer.peak, labels_memory_bound(payload, width, height)
        if out.peak > out.bound:
            _fail(
                f"decoding a {len(payload)}-byte payload for {width}x{height} allocated "
                f"{out.peak} bytes (bound {out.bound})"
            )
    return out


# --------------------------------------------------------------------------------------------
# hostile Zstandard frames


def zstd_compress(content: bytes, *, content_size: bool = True, checksum: bool = False) -> bytes:
    """An ordinary Zstandard frame (level 1) holding ``content``."""
    return zstandard.ZstdCompressor(
        level=1, write_content_size=content_size, write_checksum=checksum
    ).compress(content)


def zstd_raw_frame(declared: int | None, body: bytes, *, rle_count: int | None = None) -> bytes:
    """A hand-built frame that *declares* ``declared`` bytes (None: no content-size field) and
    holds ``body`` in raw blocks, or with ``rle_count`` that many copies of ``body[:1]`` in RLE
    blocks (4 bytes per 128 KiB). The declared and the real size need not agree: that is the
    point."""
    if declared is None:
        head = bytes([0x00, 0x38])  # no content size, window descriptor 128 KiB
    else:
        head = bytes([0xC0, 0x38]) + struct.pack("<Q", declared & (2**64 - 1))
    out = bytearray(ZSTD_MAGIC + head)
    block = 1 << 17
    total = len(body) if rle_count is None else rle_count
    value = body[:1] or b"\x00"
    pos = 0
    while True:
        n = min(block, total - pos)
        last = pos + n >= total
        if rle_count is not None:
            out += struct.pack("<I", (n << 3) | (1 << 1) | last)[:3] + value
        else:
            out += struct.pack("<I", (n << 3) | last)[:3] + body[pos : pos + n]
        pos += n
        if last:
            return bytes(out)


def zstd_skippable(data: bytes, variant: int = 0) -> bytes:
    """A skippable frame (magic 0x184D2A5?) carrying ``data``."""
    return struct.pack("<II", 0x184D2A50 | (variant & 15), len(data)) + data


PAYLOAD_KINDS = (
    "exact",  # zstd frame of exactly W*H bytes (contents as given: labels may be >= k)
    "resized",  # zstd frame of W*H + delta bytes
    "no-size",  # zstd frame without Frame_Content_Size
    "declared",  # hand-built frame declaring a size it does not hold
    "rle",  # RLE frame declaring and holding W*H bytes
    "concat",  # two frames back to back
    "skippable-first",  # skippable frame, then the map
    "skippable-after",  # the map, then a skippable frame
    "skippable-only",
    "trailing",  # the map, then garbage
    "truncated",  # the map's frame cut short
    "checksum",  # frame with a content checksum, checksum damaged
    "flipped",  # one byte of the map's frame changed
    "raw",  # the bytes as they are
    "empty",
)


def label_payload(kind: str, size: int, content: bytes, number: int) -> bytes:
    """A label payload of ``kind`` for a ``size``-pixel map: ``content`` (tiled/cut to the size
    the kind needs) supplies the pixel values, ``number`` the free integer the kind uses (size
    delta, declared size, cut point, ...). Deterministic, so both drivers can describe a case."""
    content = content or b"\x00"

    def tiled(n: int) -> bytes:
        n = max(n, 0)
        return (content * (n // len(content) + 1))[:n]

    if kind == "rle":  # before ``exact``: a huge map is never materialised
        return zstd_raw_frame(size, content[:1], rle_count=size)
    if kind == "raw":
        return content
    if kind == "empty":
        return b""
    exact = tiled(size)
    if kind == "exact":
        return zstd_compress(exact)
    if kind == "resized":
        delta = (number % 9) - 4 or size  # -4..4, or doubled
        return zstd_compress(tiled(size + delta))
    if kind == "no-size":
        return zstd_compress(exact, content_size=False)
    if kind == "declared":
        declared = (
            size,
            size + 1,
            size - 1,
            0,
            2**32,
            2**62,
            2**64 - 1,
            number,
        )[number % 8]
        body = tiled((size, size + 1, size - 1, 0, 1)[(number >> 3) % 5])
        return zstd_raw_frame(declared, body)
    if kind == "concat":
        half = size // 2
        return zstd_compress(tiled(half)) + zstd_compress(tiled(size - half + (number % 2)))
    if kind == "skippable-first":
        return zstd_skippable(content[:8], number) + zstd_compress(exact)
    if kind == "skippable-after":
        return zstd_compress(exact) + zstd_skippable(content[:8], number)
    if kind == "skippable-only":
        return zstd_skippable(tiled(number % 64), number)
    if kind == "trailing":
        return zstd_compress(exact) + content[: 1 + number % 16]
    if kind == "truncated":
        frame = zstd_compress(exact)
        return frame[: number % len(frame)]
    if kind == "checksum":
        frame = zstd_compress(exact, checksum=True)
        return frame[:-1] + bytes([frame[-1] ^ (1 + number % 255)])
    if kind == "flipped":
        frame = bytearray(zstd_compress(exact))
        frame[number % len(frame)] ^= 1 + (number >> 8) % 255
        return bytes(frame)
    raise ValueError(f"unknown payload kind {kind!r}")


# --------------------------------------------------------------------------------------------
# records: walking, mending and mutating files


@dataclass(frozen=True)
class Rec:
    """A record's place in a file: offset of its tag, tag, payload length, end offset."""

    offset: int
    tag: bytes
    length: int
    end: int

    @property
    def payload_offset(self) -> int:
        return self.offset + fmt.RECORD_HEAD.size


def walk(data: bytes, start: int = fmt.PREAMBLE.size) -> list[Rec]:
    """Records from ``start`` as far as the framing holds (CRCs are not checked)."""
    recs = []
    offset = start
    while offset + fmt.RECORD_HEAD.size <= len(data):
        tag, length = fmt.RECORD_HEAD.unpack_from(data, offset)
        end = offset + fmt.RECORD_HEAD.size + length + fmt.RECORD_CRC.size
        if end > len(data):
            break
        recs.append(Rec(offset, tag, length, end))
        offset = end
    return recs


def fix_crcs(data: bytes) -> bytes:
    """``data`` with the CRC of every record whose framing holds recomputed."""
    out = bytearray(data)
    for r in walk(data):
        payload = out[r.payload_offset : r.end - fmt.RECORD_CRC.size]
        fmt.RECORD_CRC.pack_into(
            out, r.end - fmt.RECORD_CRC.size, zlib.crc32(payload, zlib.crc32(r.tag))
        )
    return bytes(out)


def _i64(value: int) -> int:
    return (value + 2**63) % 2**64 - 2**63


def rebuild_end(data: bytes) -> bytes:
    """``data`` cut before its first INDX or TAIL (or where the framing fails) and ended with an
    INDX and a TAIL that agree with the frame records before it (CRCs of those two correct)."""
    recs = walk(data)
    out = bytearray(data[: fmt.PREAMBLE.size])
    entries = []
    frames = end_pts = 0
    for r in recs:
        if r.tag in (fmt.TAG_INDEX, fmt.TAG_TRAILER):
            break
        if r.tag in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME) and r.length >= fmt.FRAME.size:
            pts, duration, _, _ = fmt.FRAME.unpack_from(data, r.payload_offset)
            if r.tag == fmt.TAG_KEYFRAME:
                entries.append((frames % 2**32, pts, len(out)))
            frames += 1
            end_pts = _i64(pts + duration)
        out += data[r.offset : r.end]
    index_offset = len(out)
    payload = fmt.INDEX_COUNT.pack(len(entries)) + b"".join(
        fmt.INDEX_ENTRY.pack(*e) for e in entries
    )
    out += pack_record(fmt.TAG_INDEX, payload)
    trailer = fmt.TRAILER.pack(frames % 2**32, len(entries), index_offset, end_pts)
    out += pack_record(fmt.TAG_TRAILER, trailer)
    return bytes(out)


def _record_bytes(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    """(bytes before the first record, the records, bytes after the last whole record)."""
    recs = walk(data)
    end = recs[-1].end if recs else min(len(data), fmt.PREAMBLE.size)
    return data[: fmt.PREAMBLE.size], [data[r.offset : r.end] for r in recs], data[end:]


def _frame_recs(data: bytes) -> list[Rec]:
    return [
        r
        for r in walk(data)
        if r.tag in (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME) and r.length >= fmt.FRAME.size
    ]


FRAME_FIELDS = ("pts", "duration", "mode", "n")
_FIELD_RANGE = {"pts": (-(2**63), 2**63 - 1), "duration": (-(2**63), 2**63 - 1),
                "mode": (0, 255), "n": (0, 65535)}  # fmt: skip


def set_frame_field(data: bytes, which: int, name: str, value: int) -> bytes:
    """The ``which``-th frame record (mod their count) with one header field replaced, its CRC
    recomputed. Values are wrapped into the field's range."""
    recs = _frame_recs(data)
    if not recs:
        return data
    r = recs[which % len(recs)]
    fields = dict(zip(FRAME_FIELDS, fmt.FRAME.unpack_from(data, r.payload_offset), strict=True))
    lo, hi = _FIELD_RANGE[name]
    fields[name] = lo + (value - lo) % (hi - lo + 1)
    out = bytearray(data)
    fmt.FRAME.pack_into(out, r.payload_offset, *(fields[f] for f in FRAME_FIELDS))
    payload = out[r.payload_offset : r.end - fmt.RECORD_CRC.size]
    fmt.RECORD_CRC.pack_into(out, r.end - 4, zlib.crc32(payload, zlib.crc32(r.tag)))
    return bytes(out)


def _label_split(data: bytes, r: Rec) -> int | None:
    """Offset (in the file) where the label payload of frame record ``r`` starts, or None."""
    _, _, _, n = fmt.FRAME.unpack_from(data, r.payload_offset)
    entry = fmt.PALETTE_ENTRY.size if r.tag == fmt.TAG_KEYFRAME else fmt.PALETTE_DELTA.size
    start = r.payload_offset + fmt.FRAME.size + n * entry
    return start if start <= r.end - fmt.RECORD_CRC.size else None


def _decompressed(payload: bytes, limit: int = 1 << 22) -> bytes | None:
    try:
        size = zstandard.frame_content_size(payload)
        if not 0 <= size <= limit:
            return None
        return zstandard.ZstdDecompressor().decompress(payload)
    except zstandard.ZstdError:
        return None


def edit_labels(
    data: bytes,
    which: int,
    pokes: list[tuple[int, int]],
    *,
    resize: int = 0,
    content_size: bool = True,
    mutate=None,
) -> bytes:
    """The ``which``-th frame record with its label map decompressed, edited (``pokes``:
    (position mod size, value); ``resize``: bytes added or cut at the end; ``mutate``: a
    function bytes -> bytes) and compressed again; the record's length and CRC are fixed (the
    offsets after it move, see :func:`rebuild_end`)."""
    recs = _frame_recs(data)
    if not recs:
        return data
    r = recs[which % len(recs)]
    start = _label_split(data, r)
    if start is None:
        return data
    payload_end = r.end - fmt.RECORD_CRC.size
    raw = _decompressed(data[start:payload_end])
    if raw is None:
        return data
    labels = bytearray(raw)
    if labels:
        for pos, value in pokes:
            labels[pos % len(labels)] = value & 255
    if resize > 0:
        labels += bytes(labels[-1:] or b"\x00") * resize
    elif resize < 0:
        del labels[resize:]
    new = bytes(labels) if mutate is None else bytes(mutate(bytes(labels)))
    coded = zstd_compress(new, content_size=content_size)
    payload = data[r.payload_offset : start] + coded
    return data[: r.offset] + pack_record(r.tag, payload) + data[r.end :]


OPS = (
    "truncate",
    "flip",
    "overwrite",
    "insert",
    "delete",
    "set_length",
    "splice",
    "duplicate",
    "swap",
    "drop",
    "frame_field",
    "labels",
)


def apply_op(data: bytes, op: tuple, seeds: list[bytes]) -> bytes:
    """Apply one mutation ``op`` = (name, *params) to ``data``. Positions and indices are taken
    modulo what ``data`` holds, so any parameters are valid (Hypothesis draws them freely).
    Record index 0 is the record after HEAD (HEAD is the last one): drivers favour small
    indices, and a file whose HEAD is gone is refused before anything interesting."""
    name, *p = op

    def pick(i: int, count: int) -> int:
        return (i + 1) % count

    n = len(data)
    if name == "truncate":
        return data[: p[0] % (n + 1)]
    if name == "flip":
        if not n:
            return data
        out = bytearray(data)
        out[p[0] % n] ^= 1 << (p[1] % 8)
        return bytes(out)
    if name == "overwrite":
        pos = p[0] % (n + 1)
        return data[:pos] + p[1] + data[pos + len(p[1]) :]
    if name == "insert":
        pos = p[0] % (n + 1)
        return data[:pos] + p[1] + data[pos:]
    if name == "delete":
        pos = p[0] % (n + 1)
        return data[:pos] + data[pos + p[1] :]
    recs = walk(data)
    if name == "set_length":
        if not recs:
            return data
        r = recs[pick(p[0], len(recs))]
        return data[: r.offset + 4] + struct.pack("<I", p[1] % 2**32) + data[r.offset + 8 :]
    pre, records, rest = _record_bytes(data)
    if name == "splice":
        other = seeds[p[0] % len(seeds)]
        _, theirs, _ = _record_bytes(other)
        if not theirs:
            return data
        records.insert(pick(p[2], len(records) + 1), theirs[pick(p[1], len(theirs))])
    elif name == "duplicate" and records:
        records.insert(pick(p[1], len(records) + 1), records[pick(p[0], len(records))])
    elif name == "swap" and records:
        i, j = pick(p[0], len(records)), pick(p[1], len(records))
        records[i], records[j] = records[j], records[i]
    elif name == "drop" and records:
        del records[pick(p[0], len(records))]
    elif name == "frame_field":
        return set_frame_field(data, p[0], FRAME_FIELDS[p[1] % 4], p[2])
    elif name == "labels":
        return edit_labels(data, p[0], p[1], resize=p[2], content_size=p[3])
    return pre + b"".join(records) + rest


FIXES = ("none", "crc", "crc+end")


def mend(data: bytes, fix: str) -> bytes:
    """After a mutation: ``"crc"`` recomputes the CRCs, ``"crc+end"`` also rebuilds INDX/TAIL."""
    if fix == "crc":
        return fix_crcs(data)
    if fix == "crc+end":
        return rebuild_end(fix_crcs(data))
    return data


INTERESTING = (0, 1, 2, 3, 4, 18, 19, 24, 27, 28, 255, 256, 257, 65535, 65536,
               2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, -1, -(2**63))  # fmt: skip


def random_op(rng: random.Random, data: bytes, seeds: list[bytes]) -> tuple:
    """A random mutation for :func:`apply_op` (the atheris custom mutator's record-level moves)."""
    name = rng.choice(OPS)
    pos = rng.randrange(len(data) + 1)
    if name in ("truncate",):
        return (name, pos)
    if name == "flip":
        return (name, pos, rng.randrange(8))
    if name in ("overwrite", "insert"):
        return (name, pos, rng.randbytes(rng.randint(1, 16)))
    if name == "delete":
        return (name, pos, rng.randint(1, 64))
    if name == "set_length":
        recs = walk(data)
        length = recs[rng.randrange(len(recs))].length if recs else 0
        value = rng.choice((rng.choice(INTERESTING), length + rng.randint(-8, 8)))
        return (name, rng.randrange(64), value)
    if name == "splice":
        return (name, rng.randrange(64), rng.randrange(64), rng.randrange(64))
    if name in ("duplicate", "swap"):
        return (name, rng.randrange(64), rng.randrange(64))
    if name == "drop":
        return (name, rng.randrange(64))
    if name == "frame_field":
        value = rng.choice((rng.choice(INTERESTING), rng.randint(-4, 300)))
        return (name, rng.randrange(64), rng.randrange(4), value)
    pokes = [(rng.randrange(1 << 20), rng.choice((0, 1, 254, 255, rng.randrange(256))))
             for _ in range(rng.randint(0, 4))]  # fmt: skip
    return (name, rng.randrange(64), pokes, rng.choice((0, 0, 0, 1, -1)), rng.random() < 0.9)


# --------------------------------------------------------------------------------------------
# valid seed files


def _write_clip(
    width: int,
    height: int,
    k: int,
    plan: list[tuple[str, int]],
    *,
    audio: bool = False,
    seed: int = 0,
) -> bytes:
    """A small valid file from synthetic label maps. ``plan`` lists (kind, duration) per frame:
    kind "key" (KFRM), "same" (REPEAT), "move" (a block of pixels changes: COPY when k < 256,
    DELTA with k = 256), "new" (most pixels change: the encoder may pick INTRA in a PFRM)."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    header = Header(width, height, Fraction(25), Fraction(1, 1000), k, meta={"fuzz": "seed"})
    audio_header = (
        AudioHeader("opus", 48000, 2, "stereo", Fraction(1, 48000), b"OpusHead\x01\x02")
        if audio
        else None
    )
    writer = ContainerWriter(buf, header, audio=audio_header)
    coder = LabelEncoder(level=3)
    labels = rng.integers(0, k, (height, width), dtype=np.uint8)
    palette = rng.integers(0, 256, (k, 3), dtype=np.uint8)
    previous = None
    pts = 0
    for i, (kind, duration) in enumerate(plan):
        labels = labels.copy()
        if kind == "key":
            labels = rng.integers(0, k, (height, width), dtype=np.uint8)
            labels[: height // 2] = labels[0, 0]
            if k == 256:
                labels[0, -1] = 255
            previous = None
        elif kind == "move":
            y, x = rng.integers(0, height), rng.integers(0, width)
            labels[y : y + 3, x : x + 3] = (int(labels[y, x]) + 1) % k
            if k == 256:
                labels[0, -1] = 255  # keeps the encoder on DELTA
        elif kind == "new":
            labels = rng.integers(0, k, (height, width), dtype=np.uint8)
        keyframe = kind == "key"
        coded = coder.encode(labels, previous)
        if keyframe:
            index, rgb = np.arange(k, dtype=np.uint8), palette
        else:
            index = np.sort(rng.choice(k, size=min(k, i % 3), replace=False)).astype(np.uint8)
            rgb = rng.integers(0, 256, (len(index), 3), dtype=np.uint8)
        writer.write_frame(
            FrameRecord(keyframe, pts, duration, coded.mode, index, rgb, coded.payload)
        )
        if audio:
            for j in range(2):
                writer.write_audio(AudioPacket(pts * 48 + j * 480, 480, rng.bytes(12 + i)))
        previous = labels
        pts += duration
    writer.close()
    return buf.getvalue()


def seed_files() -> dict[str, bytes]:
    """Small valid ``.vq`` files covering every record kind, label mode and the audio records.

    ``golden`` is the committed encoder output (tests/golden/tiny.vq, made by the real Encoder:
    COPY, REPEAT, palette deltas, two keyframes); the others are written here with
    ContainerWriter and LabelEncoder from synthetic label maps.
    """
    seeds: dict[str, bytes] = {}
    if GOLDEN_VQ.exists():
        seeds["golden"] = GOLDEN_VQ.read_bytes()
    seeds["k256_delta"] = _write_clip(
        12, 8, 256, [("key", 40), ("move", 40), ("same", 40), ("new", 40), ("key", 80)], seed=1
    )
    seeds["audio"] = _write_clip(
        8, 6, 8, [("key", 40), ("move", 40), ("same", 40)], audio=True, seed=2
    )
    seeds["k2_wide"] = _write_clip(40, 2, 2, [("key", 1), ("move", 1), ("key", 3)], seed=3)
    seeds["one_pixel"] = _write_clip(1, 1, 3, [("key", 5), ("move", 5)], seed=4)
    empty = io.BytesIO()
    ContainerWriter(empty, Header(4, 4, Fraction(1), Fraction(1), 16)).close()
    seeds["no_frames"] = empty.getvalue()
    return seeds


def write_seeds(directory: Path, kind: str = "container") -> list[Path]:
    """Write the seed inputs of ``kind`` ("container" or "labels") into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if kind == "container":
        items = {f"seed-{name}.vq": data for name, data in seed_files().items()}
    else:
        items = {f"seed-{i:02d}.bin": data for i, data in enumerate(label_seed_inputs())}
    paths = []
    for name, data in items.items():
        path = directory / name
        path.write_bytes(data)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------------------------
# label inputs as bytes (for atheris)


@dataclass
class LabelCase:
    width: int
    height: int
    k: int
    mode: int
    payload: bytes
    previous: np.ndarray | None = field(default=None, repr=False)


def _mode_from_byte(b: int) -> int:
    """Mostly 0..3; 240..255 map to out-of-range modes (4, 255, -1, 2**31, ...)."""
    if b < 240:
        return b % 4
    return (4, 5, 7, 8, 16, 100, 127, 128, 200, 254, 255, 256, -1, -2, 2**31, 2**63)[b - 240]


LABEL_INPUT_HEAD = 8  # width, height, k, mode, previous, kind, number (2 bytes)


def decode_label_input(data: bytes) -> LabelCase:
    """Interpret fuzzer bytes as a label-decoder call.

    Layout: width-1, height-1 (1..64 each), k-2 (0..254, 255 means k=256), mode byte (see
    :func:`_mode_from_byte`), previous (0 = None, else a seed for a random valid map), payload
    kind (index into PAYLOAD_KINDS), number (u16), then the content bytes.
    """
    head = data[:LABEL_INPUT_HEAD].ljust(LABEL_INPUT_HEAD, b"\x00")
    width = head[0] % 64 + 1
    height = head[1] % 64 + 1
    k = 256 if head[2] == 255 else head[2] + 2
    mode = _mode_from_byte(head[3])
    previous = None
    if head[4]:
        previous = np.random.default_rng(head[4]).integers(0, k, (height, width), dtype=np.uint8)
    kind = PAYLOAD_KINDS[head[5] % len(PAYLOAD_KINDS)]
    number = int.from_bytes(head[6:8], "little")
    content = data[LABEL_INPUT_HEAD:]
    payload = label_payload(kind, width * height, content, number)
    return LabelCase(width, height, k, mode, payload, previous)


def label_seed_inputs() -> list[bytes]:
    """A seed per payload kind and mode, with labels below k (valid) and at k."""
    seeds = []
    for i, _ in enumerate(PAYLOAD_KINDS):
        for mode in range(4):
            k = 2 + (i * 37 + mode * 11) % 254
            content = bytes(range(k)) if mode != 3 else bytes(range(k + 1))
            head = bytes([(i * 5) % 64, (i * 3 + mode) % 16, k - 2, mode, mode, i, i, 0])
            seeds.append(head + content)
    return seeds


def check_label_input(data: bytes, *, memory: bool = True) -> LabelsOutcome:
    """:func:`check_labels` on fuzzer bytes (see :func:`decode_label_input`)."""
    case = decode_label_input(data)
    return check_labels(
        case.width, case.height, case.k, case.mode, case.payload, case.previous, memory=memory
    )
