"""What reading a ``.vq`` file may cost: one small unit of records repeated hundreds of times
(work or memory that grows faster than the file), and the memory bound itself measured on a
7680x4320 file. See tests/fuzz/README.md."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st

from fuzz import bounds, inputs, payloads, records, targets
from fuzz.profiles import LONG, Tally, fuzz_settings, long_timeout, report
from vidquant.codec import format as fmt
from vidquant.codec.blocklabels import BlockLabelEncoder
from vidquant.codec.records import Header, pack_frame_head, pack_header, pack_record

pytestmark = pytest.mark.fuzz


# --------------------------------------------------------------------------------------------
# many copies of a small unit: is the work linear in the file?


@dataclass(frozen=True)
class RepeatedUnits:
    """HEAD, then one small unit of records repeated ``count`` times (tens to hundreds of KB):
    intact frames and audio, damaged records, false tags claiming long lengths, garbage.
    Damage whose cost grows with the rest of the file shows up here as a read-budget or memory
    violation, where small inputs cannot show it. A description, so that a failing example
    prints in a line, not as megabytes of bytes."""

    w: int
    h: int
    k: int
    unit: tuple[str, ...]
    claim: int
    false_tag: bytes
    count: int
    mend_end: bool

    def build(self) -> bytes:
        w, h, k = self.w, self.h, self.k
        limit = fmt.max_payload(w, h, k, fmt.LABEL_CODER_ZSTD)  # inputs.stream() is 1.x
        bad = k if k < 256 else 0
        out = bytearray(inputs.stream(w, h, k, []))
        pts = 0
        for _ in range(self.count):
            for name in self.unit:
                if name == "false tag":
                    out += self.false_tag + struct.pack("<I", min(self.claim, limit)) + bytes(4)
                elif name == "key":
                    out += inputs.rle_keyframe(pts, w, h, k, 0)
                elif name == "bad labels":
                    out += inputs.rle_keyframe(pts, w, h, k, bad)
                elif name == "bad crc":
                    out += inputs.rle_keyframe(pts, w, h, k, 0)[:-1] + b"\x00"
                elif name == "repeat":
                    payload = fmt.FRAME_FIXED.pack(pts, 1, fmt.LABELS_REPEAT, 0)
                    out += pack_record(fmt.TAG_INTERFRAME, payload)
                elif name == "apkt":
                    out += pack_record(fmt.TAG_AUDIO_PACKET, fmt.AUDIO_PACKET.pack(0, 0))
                elif name == "note":
                    out += pack_record(b"note", b"n")
                else:  # garbage
                    out += b"\xff" * 8
                pts += 1
        return records.rebuild_end(bytes(out)) if self.mend_end else bytes(out)


UNIT_PIECES = ("key", "bad labels", "bad crc", "repeat", "apkt", "note", "garbage", "false tag")


@st.composite
def repeated_units(draw) -> RepeatedUnits:
    w, h = draw(st.sampled_from([(1024, 1024), (256, 256), (24, 16)]))
    return RepeatedUnits(
        w,
        h,
        k=draw(st.sampled_from([4, 255, 256])),
        unit=tuple(draw(st.lists(st.sampled_from(UNIT_PIECES), min_size=1, max_size=4))),
        claim=draw(st.sampled_from([1 << 10, 1 << 16, 1 << 30])),
        false_tag=draw(st.sampled_from([b"KFRM", b"PFRM", b"apkt", b"INDX"])),
        count=draw(st.integers(200, 2000)),
        mend_end=draw(st.booleans()),
    )


@long_timeout
def test_container_repeated_units(capsys):
    tally = Tally()

    # CI does not shrink here: each example is a large file, and the description is short
    phases = None if LONG else [Phase.explicit, Phase.reuse, Phase.generate]
    extra = {} if phases is None else {"phases": phases}

    @fuzz_settings("repeated", suppress_health_check=[HealthCheck.too_slow], **extra)
    @given(repeated_units())
    def run(spec):
        data = spec.build()
        out = targets.check_container(data, memory=False)
        tally.add(out.stage)
        worst[0] = max(worst[0], out.max_read[0] / len(data))

    worst = [0.0]
    run()
    report(capsys, tally.line("container, repeated units") + f", most read {worst[0]:.1f}x a file")


# --------------------------------------------------------------------------------------------
# the memory bound itself


def _big_file(mode: int) -> bytes:
    """A 7680x4320 1.x stream of two frames whose label payloads are ~1 KB RLE frames."""
    w, h, k = fmt.MAX_WIDTH, fmt.MAX_HEIGHT, 4
    out = fmt.PREAMBLE.pack(fmt.MAGIC, 1, fmt.VERSION_1_MINOR)
    head = Header(w, h, Fraction(1), Fraction(1), k, label_coder=fmt.LABEL_CODER_ZSTD)
    out += pack_record(fmt.TAG_HEADER, pack_header(head))
    zeros = payloads.zstd_raw_frame(w * h, b"\x00", rle_count=w * h)
    out += pack_record(fmt.TAG_KEYFRAME, fmt.FRAME_FIXED.pack(0, 1, 0, k) + bytes(3 * k) + zeros)
    second = payloads.zstd_raw_frame(w * h, b"\x02", rle_count=w * h)
    out += pack_record(fmt.TAG_INTERFRAME, fmt.FRAME_FIXED.pack(1, 1, mode, 0) + second)
    return records.rebuild_end(out)


def _big_file_v2() -> bytes:
    """A 7680x4320 stream in the current format (label coder 3) of two frames, a flat map
    (287 bytes) and a moved patch (212)."""
    w, h, k = fmt.MAX_WIDTH, fmt.MAX_HEIGHT, 4
    out = fmt.PREAMBLE.pack(fmt.MAGIC, fmt.VERSION_MAJOR, fmt.VERSION_MINOR)
    out += pack_record(fmt.TAG_HEADER, pack_header(Header(w, h, Fraction(1), Fraction(1), k)))
    encoder = BlockLabelEncoder(w, h, k)
    first = np.zeros((h, w), np.uint8)
    second = first.copy()
    second[100:200, 100:300] = 2
    coded = encoder.encode(first, None)
    out += pack_record(
        fmt.TAG_KEYFRAME, pack_frame_head(0, 1, coded.mode, k) + bytes(3 * k) + coded.payload
    )
    coded = encoder.encode(second, first)
    out += pack_record(fmt.TAG_INTERFRAME, pack_frame_head(1, 1, coded.mode, 0) + coded.payload)
    return records.rebuild_end(out)


def test_memory_bound_of_label_coder_2_for_a_huge_map(capsys):
    """Label coder 2 codes a flat 7680x4320 map in a few hundred bytes, so any frame may cost
    whole maps; the reader builds no more than LABEL_MAPS of them at a time."""
    data = _big_file_v2()
    out = targets.check_container(data)
    assert out.frames == 2 and out.error is None
    maps = out.peak / (fmt.MAX_WIDTH * fmt.MAX_HEIGHT)
    report(capsys, f"{len(data)}-byte 2.0 file: peak {out.peak} bytes = {maps:.2f} maps")
    assert maps <= bounds.LABEL_MAPS


@pytest.mark.parametrize("mode", [fmt.LABELS_INTRA, fmt.LABELS_DELTA, fmt.LABELS_COPY])
def test_memory_bound_is_honest_for_a_huge_map(mode, capsys):
    """A ~2 KB file may make the reader build 33 MB maps (FORMAT.md allows 7680x4320), and
    the bound allows it only because the file declares such a map; the same file with that
    zstd header gone must cost no more than its own size allows."""
    data = _big_file(mode)
    out = targets.check_container(data)
    assert out.frames == 2 and out.error is None
    maps = out.peak / (fmt.MAX_WIDTH * fmt.MAX_HEIGHT)
    report(capsys, f"{len(data)}-byte file, mode {mode}: peak {out.peak} bytes = {maps:.2f} maps")
    assert maps <= bounds.LABEL_MAPS
    # no zstd frame declares W*H: no label map may be built, the small bound applies
    broken = data.replace(payloads.ZSTD_MAGIC, b"\x28\xb5\x2f\xfe")
    assert bounds.container_memory_bound(broken, out.header) < 8 << 20
    targets.check_container(broken)
