"""Regressions found by the fuzzers: each the smallest bytes or construction that failed (see
"Reproducing a failure" in tests/fuzz/README.md). Deterministic and quick, so not marked
``fuzz``: the quick loop runs them too."""

from __future__ import annotations

import contextlib
import gc
import io
import struct
import tracemalloc

import pytest

from fuzz import bounds, inputs
from fuzz.records import rebuild_end
from vidquant.codec import format as fmt
from vidquant.codec.records import pack_record
from vidquant.decoder import VqDecoder
from vidquant.errors import FormatError


def test_regression_head_meta_integer_with_too_many_digits():
    """HEAD metadata holding an integer of more than 4300 digits (a valid JSON object of 4.3 KB,
    well under MAX_META) makes ``json.loads`` raise a plain ValueError ("Exceeds the limit (4300
    digits) for integer string conversion", Python >= 3.11 / 3.10.7), which
    ``records.unpack_header`` does not catch: it escapes ``VqDecoder()``/``open_vq`` instead of
    a FormatError."""
    fields = (2, 2, 1, 1, 1, 1, 2, fmt.LABEL_CODER_MC, fmt.PALETTE_CODER_RAW, fmt.NO_ALPHA)
    fixed = fmt.HEADER.pack(*fields)
    data = fmt.PREAMBLE.pack(fmt.MAGIC, fmt.VERSION_MAJOR, fmt.VERSION_MINOR) + pack_record(
        fmt.TAG_HEADER, fixed + b'{"n":' + b"1" * 4301 + b"}"
    )
    # a fix may refuse the file (FormatError) or accept the number; nothing else may escape
    with contextlib.suppress(FormatError):
        VqDecoder(io.BytesIO(data))


def test_regression_salvage_report_keeps_label_maps_alive():
    """A salvage decode keeps, for every damaged span, the FormatError *with its traceback* in
    ``VqDecoder.salvage.spans[i].error``; the traceback pins the frames of the failed
    ``LabelDecoder.decode`` call and so its decompressed label map (and with DELTA/COPY the
    result map). Memory then grows by one or two W*H maps per damaged span and stays until the
    decoder is dropped: this 1 KB file (256x256, 6 good keyframes each followed by one whose
    labels are >= k) keeps 6 maps alive; at 7680x4320 every ~100 bytes of file pin 33 MB.
    Found by the retention check of targets.check_container."""
    w, h, k = 256, 256, 4
    records = []
    for i in range(6):
        records += [
            inputs.rle_keyframe(2 * i, w, h, k, 0),
            inputs.rle_keyframe(2 * i + 1, w, h, k, 7),
        ]
    data = rebuild_end(inputs.stream(w, h, k, records))
    dec = VqDecoder(io.BytesIO(data))
    tracemalloc.start()
    try:
        frames = sum(1 for _ in dec.iter_media(salvage=True))
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert frames == 6 and len(dec.salvage.spans) == 6
    assert retained < w * h, f"{retained} bytes = {retained / (w * h):.1f} label maps retained"


class _BudgetFile(io.BytesIO):
    """Counts bytes read; raises (so the test stops at once) past ``budget``."""

    def __init__(self, data: bytes, budget: int) -> None:
        super().__init__(data)
        self.budget, self.count = budget, 0

    def read(self, size: int | None = -1) -> bytes:
        out = super().read(size)
        self.count += len(out)
        if self.count > self.budget:
            raise AssertionError(f"read {self.count} bytes, budget {self.budget}")
        return out


@pytest.mark.parametrize("claim_kind", ["rest of the file", "over the limit"])
def test_regression_salvage_reads_quadratic_in_file_size(claim_kind):
    """Salvage resynchronisation work grows with the square of the file size.

    The file (1024x1024 HEAD, so a frame record may declare up to ~1.07 MB) is 8000 units of
    ``KFRM`` + a length reaching to about the end of the file (CRC wrong), then an intact
    28-byte apkt. Each false KFRM is read whole and CRC-checked by ``iter_records`` (not
    budgeted), fails, and ``resync()`` starts a fresh budget and reads a 1 MiB chunk (here: the
    rest of the file) to find the apkt right after it. Every unit costs about the rest of the
    file: 288 KB take 2.3 GB of reads (8000x), 1.15 MB take 37 GB (32000x, 3.7 s in memory,
    much longer from disk); a 33 MB file at 7680x4320 would take hours. With a length over the
    record limit ("over the limit") the false record is refused cheaply, and the cost is
    resync's 1 MiB chunk alone: a file of n damaged spots reads min(1 MiB, rest) n times.
    Strict decoding stops at the first false KFRM. The bound asserted is this suite's
    READ_FACTOR * size + READ_BASE for the whole iteration."""
    w = h = 1024
    valid = pack_record(fmt.TAG_AUDIO_PACKET, fmt.AUDIO_PACKET.pack(0, 0))
    units = 8000
    head = inputs.stream(w, h, 4, [])
    total = len(head) + units * (8 + len(valid))
    out = bytearray(head)
    for _ in range(units):
        claim = min(total - len(out) - 12, fmt.max_payload(w, h, 4, fmt.LABEL_CODER_ZSTD))
        if claim_kind == "over the limit":
            claim = fmt.max_payload(w, h, 4, fmt.LABEL_CODER_ZSTD) + 1
        out += b"KFRM" + struct.pack("<I", claim) + valid
    data = bytes(out)
    f = _BudgetFile(data, bounds.READ_BASE + bounds.READ_FACTOR * len(data))
    dec = VqDecoder(f)
    f.count = 0  # the iteration's reads
    list(dec.iter_media(salvage=True))
    assert f.count <= f.budget
