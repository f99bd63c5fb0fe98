"""One input in, one property checked: the fuzz targets shared by Hypothesis and atheris.

The Hypothesis tests (``tests/test_fuzz_*.py``) and the atheris harnesses ``fuzz_container.py``
and ``fuzz_labels.py`` call the same two checks, so a failure found by one driver is a failure
of the other:

:func:`check_container`
    Any bytes as a ``.vq`` file: opening, iterating every frame and audio packet, reading the
    index, seeking, and the salvage mode either raise :class:`~vidquant.errors.FormatError` or
    give well-formed output (salvage raises nothing); the traced peak allocation stays under
    :func:`~fuzz.bounds.container_memory_bound`, no label map outlives the iteration that made
    it, and no phase reads more than ``READ_BASE + READ_FACTOR * len(data)`` bytes of the file.
:func:`check_labels`
    :meth:`LabelDecoder.decode` on any mode, payload and previous map: a FormatError or a
    (height, width) uint8 map with every label < k, within
    :func:`~fuzz.bounds.labels_memory_bound`.

A check returns an outcome when the code behaved. It raises :class:`PropertyViolation` when the
output or the memory is wrong, and lets any exception other than FormatError propagate
unchanged (that is the bug report: atheris records it as a crash, Hypothesis shrinks it).

The bounds are in :mod:`fuzz.bounds`. The inputs come from the package's other modules: valid
seed files built with the library (:func:`fuzz.inputs.seed_files`), the mutations both drivers
apply to them (:func:`fuzz.records.apply_op`, with :func:`~fuzz.records.fix_crcs` and
:func:`~fuzz.records.rebuild_end` so a mutation gets past the CRC and trailer checks), and
hostile Zstandard frames (:func:`fuzz.payloads.label_payload`).
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from fuzz.bounds import (
    IGNORE,
    READ_BASE,
    READ_FACTOR,
    RETAINED_BASE,
    RETAINED_PER_BYTE,
    Tracer,
    container_memory_bound,
    labels_memory_bound,
)
from fuzz.inputs import decode_block_input, decode_label_input
from fuzz.kernels import warm_up
from vidquant.codec import format as fmt
from vidquant.codec.blocklabels import BlockLabelEncoder, label_decoder
from vidquant.codec.records import AudioPacket, Header
from vidquant.decoder import VqDecoder
from vidquant.errors import FormatError
from vidquant.frames import PaletteFrame


class PropertyViolation(AssertionError):
    """The code under test returned something wrong (not: raised something unexpected)."""


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


def _check_retained(tracer: Tracer, data: bytes, what: str) -> None:
    """After a phase has ended, the decoder may keep small objects (the salvage report, the
    header), not frames: at most RETAINED_BASE + RETAINED_PER_BYTE * len(data) bytes."""
    if not tracer.enabled or "retention" in IGNORE:
        return
    bound = RETAINED_BASE + RETAINED_PER_BYTE * len(data)
    if tracer.current() > bound:
        gc.collect()  # only when needed: cyclic garbage is not retention
        if tracer.current() > bound:
            _fail(f"after {what}, {tracer.current()} bytes are still allocated (bound {bound})")


def _decode(data: bytes, out: ContainerOutcome, tracer: Tracer) -> None:
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
    warm_up()
    out = ContainerOutcome()
    with quiet_vidquant_logs(), Tracer(memory) as tracer:
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
    coder: int = fmt.LABEL_CODER_ZSTD,
) -> LabelsOutcome:
    """``decoder.decode(mode, payload, previous)`` of label coder ``coder``: a FormatError or a
    (height, width) uint8 map with every label < k, within
    :func:`~fuzz.bounds.labels_memory_bound`.

    Label coders 3 and 2 carry state from map to map, so its decoder first decodes ``previous`` from
    a valid INTRA code (checked to come back exact); then the fuzzed payload follows it.
    """
    warm_up()
    out = LabelsOutcome()
    if previous is not None:
        previous = np.ascontiguousarray(previous, dtype=np.uint8).reshape(height, width)
    decoder = label_decoder(width, height, k, coder)
    if coder != fmt.LABEL_CODER_ZSTD and previous is not None:
        intra = BlockLabelEncoder(width, height, k, coder).encode(previous, None)
        back = decoder.decode(intra.mode, intra.payload, None)
        if not np.array_equal(back, previous):
            _fail(f"a valid {width}x{height} k={k} INTRA code did not decode exactly")
        previous = back
    if previous is not None:
        previous.flags.writeable = False  # the decoder must not write into the previous map
    with Tracer(memory) as tracer:
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
        out.peak, out.bound = tracer.peak, labels_memory_bound(payload, width, height, coder)
        if out.peak > out.bound:
            _fail(
                f"decoding a {len(payload)}-byte payload for {width}x{height} allocated "
                f"{out.peak} bytes (bound {out.bound})"
            )
    return out


def check_label_input(data: bytes, *, memory: bool = True) -> LabelsOutcome:
    """:func:`check_labels` on fuzzer bytes (see :func:`decode_label_input`)."""
    case = decode_label_input(data)
    return check_labels(
        case.width, case.height, case.k, case.mode, case.payload, case.previous, memory=memory
    )


def check_block_input(data: bytes, *, memory: bool = True) -> LabelsOutcome:
    """:func:`check_labels` of label coder 3 on fuzzer bytes (see :func:`decode_block_input`)."""
    case = decode_block_input(data)
    return check_labels(
        case.width, case.height, case.k, case.mode, case.payload, case.previous,
        memory=memory, coder=fmt.LABEL_CODER_MC,
    )  # fmt: skip
