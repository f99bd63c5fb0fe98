"""Valid inputs to start from: seed files written with the library, small streams built record
by record, and label-decoder calls read from fuzzer bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from fuzz.payloads import PAYLOAD_KINDS, label_payload, zstd_raw_frame
from vidquant.codec import format as fmt
from vidquant.codec.blocklabels import BlockLabelEncoder
from vidquant.codec.container import ContainerWriter
from vidquant.codec.labels import LabelEncoder
from vidquant.codec.records import (
    AudioHeader,
    AudioPacket,
    FrameRecord,
    Header,
    pack_header,
    pack_record,
)

TESTS = Path(__file__).resolve().parent.parent
GOLDEN_VQ = TESTS / "golden" / "tiny.vq"
GOLDEN_V3_VQ = TESTS / "golden" / "tiny_v3.vq"
GOLDEN_V2_VQ = TESTS / "golden" / "tiny_v2.vq"
GOLDEN_V1_VQ = TESTS / "golden" / "tiny_v1.vq"

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
    coder: int = fmt.LABEL_CODER_MC,
) -> bytes:
    """A small valid file from synthetic label maps. ``plan`` lists (kind, duration) per frame:
    kind "key" (KFRM), "same" (REPEAT), "move" (a block of pixels changes: COPY when k < 256,
    DELTA with k = 256 in 1.x; BLOCKS in 2.0 and 3.0), "new" (most pixels change: a 1.x encoder
    may pick INTRA in a PFRM). ``coder`` 1 writes a 1.x file (Zstandard label maps), 2 a 2.0
    file, 3 a 3.0 file."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    header = Header(
        width, height, Fraction(25), Fraction(1, 1000), k, label_coder=coder, meta={"fuzz": "seed"}
    )
    audio_header = (
        AudioHeader("opus", 48000, 2, "stereo", Fraction(1, 48000), b"OpusHead\x01\x02")
        if audio
        else None
    )
    writer = ContainerWriter(buf, header, audio=audio_header)
    labeller: LabelEncoder | BlockLabelEncoder = LabelEncoder(level=3)
    if coder != fmt.LABEL_CODER_ZSTD:
        labeller = BlockLabelEncoder(width, height, k, coder)
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
        coded = labeller.encode(labels, previous)
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
    """Small valid ``.vq`` files covering every record kind, the four format majors, every
    label mode of each label coder and the audio records.

    ``golden``, ``golden_v3``, ``golden_v2`` and ``golden_v1`` are the committed encoder
    outputs (tests/golden/tiny.vq, 4.0, tiny_v3.vq, 3.0, tiny_v2.vq, 2.0, and tiny_v1.vq, 1.1:
    made by the real Encoder, with palette deltas and two keyframes); the others are written here
    with ContainerWriter and a label encoder from synthetic label maps, once as 4.0 and once
    (``v1_`` names) as 1.1.
    """
    seeds: dict[str, bytes] = {}
    goldens = (
        ("golden", GOLDEN_VQ),
        ("golden_v3", GOLDEN_V3_VQ),
        ("golden_v2", GOLDEN_V2_VQ),
        ("golden_v1", GOLDEN_V1_VQ),
    )
    for name, path in goldens:
        if path.exists():
            seeds[name] = path.read_bytes()
    plans = {
        "k256": (12, 8, 256, [("key", 40), ("move", 40), ("same", 40), ("new", 40), ("key", 80)]),
        "audio": (8, 6, 8, [("key", 40), ("move", 40), ("same", 40)]),
        "k2_wide": (40, 2, 2, [("key", 1), ("move", 1), ("key", 3)]),
        "one_pixel": (1, 1, 3, [("key", 5), ("move", 5)]),
        "glyphs": (24, 16, 5, [("key", 10), ("move", 10), ("new", 10)]),
    }
    for prefix, coder in (("", fmt.LABEL_CODER_MC), ("v1_", fmt.LABEL_CODER_ZSTD)):
        for seed, (name, (w, h, k, plan)) in enumerate(plans.items(), 1):
            seeds[prefix + name] = _write_clip(
                w, h, k, plan, audio=name == "audio", seed=seed, coder=coder
            )
        empty = io.BytesIO()
        header = Header(4, 4, Fraction(1), Fraction(1), 16, label_coder=coder)
        ContainerWriter(empty, header).close()
        seeds[prefix + "no_frames"] = empty.getvalue()
    return seeds


def write_seeds(directory: Path, kind: str = "container") -> list[Path]:
    """Write the seed inputs of ``kind`` ("container", "labels" or "blocks") into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if kind == "container":
        items = {f"seed-{name}.vq": data for name, data in seed_files().items()}
    else:
        seeds = label_seed_inputs() if kind == "labels" else block_seed_inputs()
        items = {f"seed-{i:02d}.bin": data for i, data in enumerate(seeds)}
    paths = []
    for name, data in items.items():
        path = directory / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def stream(w: int, h: int, k: int, records: list[bytes]) -> bytes:
    """A 1.1 preamble and a ``w`` x ``h``, ``k``-colour HEAD (label coder 1, Zstandard), then
    ``records`` (no INDX, no TAIL)."""
    out = fmt.PREAMBLE.pack(fmt.MAGIC, 1, fmt.VERSION_1_MINOR)
    head = Header(w, h, Fraction(1), Fraction(1), k, label_coder=fmt.LABEL_CODER_ZSTD)
    out += pack_record(fmt.TAG_HEADER, pack_header(head))
    return out + b"".join(records)


def rle_keyframe(pts: int, w: int, h: int, k: int, value: int) -> bytes:
    """A 1.x KFRM record at ``pts`` whose label map is ``value`` everywhere (an RLE frame)."""
    labels = zstd_raw_frame(w * h, bytes([value]), rle_count=w * h)
    return pack_record(fmt.TAG_KEYFRAME, fmt.FRAME_FIXED.pack(pts, 1, 0, k) + bytes(3 * k) + labels)


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


# --------------------------------------------------------------------------------------------
# label coder 2 inputs as bytes (for atheris)

BLOCK_INPUT_HEAD = 5  # width, height, k, mode, previous


def _block_mode_from_byte(b: int) -> int:
    """Mostly INTRA, REPEAT, BLOCKS; 240..255 map to modes coder 2 does not have (1, 3, 5, ...)."""
    if b < 240:
        return fmt.LABEL_MODES[fmt.LABEL_CODER_BLOCKS][b % 3]
    return (1, 3, 5, 7, 8, 16, 100, 127, 128, 200, 254, 255, 256, -1, 2**31, 2**63)[b - 240]


def decode_block_input(data: bytes) -> LabelCase:
    """Interpret fuzzer bytes as a call of label coder 2's decoder.

    Layout: width-1, height-1 (1..64 each), k-2 (0..254, 255 means k=256), mode byte (see
    :func:`_block_mode_from_byte`), previous (0 = none, else a seed for a random valid map, which
    the check decodes first from its own valid INTRA code, so that the decoder's state is the
    one a BLOCKS map follows), then the payload as it is.
    """
    head = data[:BLOCK_INPUT_HEAD].ljust(BLOCK_INPUT_HEAD, b"\x00")
    width = head[0] % 64 + 1
    height = head[1] % 64 + 1
    k = 256 if head[2] == 255 else head[2] + 2
    previous = None
    if head[4]:
        previous = synthetic_map(head[4], width, height, k)
    return LabelCase(
        width, height, k, _block_mode_from_byte(head[3]), data[BLOCK_INPUT_HEAD:], previous
    )


def synthetic_map(seed: int, width: int, height: int, k: int) -> np.ndarray:
    """A valid map with flat areas, repeated tiles and noise (a fifth of the pixels), from a
    seed."""
    rng = np.random.default_rng(seed)
    tile = rng.integers(0, k, (4, 6), dtype=np.uint8)
    labels = np.tile(tile, (height // 4 + 1, width // 6 + 1))[:height, :width].copy()
    labels[: height // 3] = tile[0, 0]
    noisy = rng.random((height, width)) < 0.2
    labels[noisy] = rng.integers(0, k, int(noisy.sum()), dtype=np.uint8)
    return labels


def block_seed_inputs() -> list[bytes]:
    """Valid codes of label coder 2: INTRA maps and BLOCKS maps (a moved, edited previous map)
    of assorted sizes and k, and a REPEAT."""
    seeds = []
    for i, (w, h, k) in enumerate([(1, 1, 2), (8, 8, 2), (13, 9, 5), (33, 17, 16), (64, 40, 256),
                                   (40, 64, 255), (17, 3, 3)]):  # fmt: skip
        prev_seed = i + 1
        previous = synthetic_map(prev_seed, w, h, k)
        head = bytes([w - 1, h - 1, k - 2])
        intra = BlockLabelEncoder(w, h, k).encode(previous, None)
        seeds.append(head + bytes([0, 0]) + intra.payload)  # INTRA, no previous
        moved = np.roll(previous, (1, 2), axis=(0, 1))
        moved[h // 2 :, : w // 2] = (moved[h // 2 :, : w // 2].astype(np.int64) + 1) % k
        encoder = BlockLabelEncoder(w, h, k)
        encoder.encode(previous, None)
        coded = encoder.encode(moved, previous)
        seeds.append(head + bytes([coded.mode, prev_seed]) + coded.payload)
    seeds.append(bytes([7, 7, 6, 1, 3]))  # REPEAT (mode byte 1 -> 2) after a previous map
    return seeds
