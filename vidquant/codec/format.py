"""The ``.vq`` container format as constants. FORMAT.md is the written spec; keep the two in step.

Every multi-byte integer is little-endian. A file is::

    PREAMBLE  (magic, major, minor)
    record HEAD
    record KFRM | PFRM | ancillary ... (one KFRM or PFRM per frame, in presentation order)
    record INDX
    record TAIL  (fixed size, last bytes of the file)

and every record is framed as ``tag (4 bytes) | payload length (u32) | payload | CRC-32`` where the
CRC-32 (zlib polynomial) covers the tag and the payload. No struct format string lives elsewhere.
"""

from __future__ import annotations

import struct

MAGIC = b"\x89VQUANT\n"  # 0x89 catches 7-bit transfers, "\n" catches newline conversion

# Version policy: a reader refuses a file whose major version differs from its own (the layout
# may have changed) and reads a file with a newer minor version after a warning. A minor version
# may only add ancillary records (lower-case tags) that older readers skip; anything else that
# changes the bytes of an existing record needs a new major version.
VERSION_MAJOR = 4  # 4.0: the frame header's numbers are varints (records.pack_frame_head)
VERSION_MINOR = 0
VERSION_3_MINOR = 0  # 3.0: label coder 3 (label coder 2's CODED blocks get a motion vector)
VERSION_2_MINOR = 0  # 2.0: label coder 2 (blocks, copies, contexts, a range coder), alpha index
VERSION_1_MINOR = 1  # the last 1.x: 1.1 added the ancillary audio records (ahdr, apkt)
# The majors this reader reads (1.x and 2.x files still decode) and the newest minor it knows of
# each: a file with a newer minor is read after a warning.
NEWEST_MINOR = {
    1: VERSION_1_MINOR,
    2: VERSION_2_MINOR,
    3: VERSION_3_MINOR,
    VERSION_MAJOR: VERSION_MINOR,
}
READ_MAJORS = tuple(NEWEST_MINOR)

PREAMBLE = struct.Struct(
    "<8s"  # magic, MAGIC
    "H"  # major version
    "H"  # minor version
)

RECORD_HEAD = struct.Struct(
    "<4s"  # tag, 4 ASCII bytes
    "I"  # payload length in bytes (the CRC is not counted)
)
RECORD_CRC = struct.Struct("<I")  # CRC-32 of tag + payload

# Record tags. A tag whose first byte is an upper-case letter is critical: a reader that does not
# know it must stop. A tag starting with a lower-case letter is ancillary and may be skipped.
TAG_HEADER = b"HEAD"
TAG_KEYFRAME = b"KFRM"
TAG_INTERFRAME = b"PFRM"
TAG_INDEX = b"INDX"
TAG_TRAILER = b"TAIL"
TAG_AUDIO_HEADER = b"ahdr"  # ancillary (1.1): the audio stream's codec parameters
TAG_AUDIO_PACKET = b"apkt"  # ancillary (1.1): one compressed audio packet

_HEADER_FIELDS = (
    "<I"  # width, pixels, 1..MAX_WIDTH
    "I"  # height, pixels, 1..MAX_HEIGHT
    "I"  # frame rate numerator (nominal rate; timestamps are authoritative)
    "I"  # frame rate denominator, > 0
    "I"  # time base numerator: a timestamp unit is num/den seconds
    "I"  # time base denominator, > 0
    "H"  # k, palette size, 2..256
    "B"  # label coder id, LABEL_CODER_*
    "B"  # palette coder id, PALETTE_CODER_*
)
HEADER_V1 = struct.Struct(_HEADER_FIELDS)  # 1.x
HEADER = struct.Struct(
    _HEADER_FIELDS
    + "H"  # 2.0 and later: alpha index: the palette index shown transparent, < k; NO_ALPHA: none
)
NO_ALPHA = 0xFFFF
# The HEAD payload continues after HEADER with a UTF-8 JSON object of descriptive facts (source
# codec, pixel format and size, encoder settings) of at most MAX_META bytes; decoding must not
# need it.
MAX_META = 64 * 1024

LABEL_CODER_ZSTD = 1  # 1.x only: label maps (intra or temporal residual) compressed with Zstandard
LABEL_CODER_BLOCKS = 2  # 2.x only: blocks, copies and context-modelled pixels, range coded (§7)
LABEL_CODER_MC = 3  # 3.x and 4.x: label coder 2 with a motion vector on every predicted CODED block
LABEL_CODER_OF_MAJOR = {
    1: LABEL_CODER_ZSTD,
    2: LABEL_CODER_BLOCKS,
    3: LABEL_CODER_MC,
    4: LABEL_CODER_MC,
}
# the major a writer gives a file of each label coder: the newest that uses it (3.x files are
# read, no longer written)
MAJOR_OF_LABEL_CODER = {coder: major for major, coder in sorted(LABEL_CODER_OF_MAJOR.items())}


PALETTE_CODER_RAW = 0  # palette entries as raw 8-bit R, G, B

# The frame header of 1.x, 2.x and 3.x files, fixed size:
FRAME_FIXED = struct.Struct(
    "<q"  # pts: presentation time in time-base units, strictly increasing
    "q"  # duration in time-base units, > 0
    "B"  # label mode, LABELS_*
    "H"  # palette entry count n (KFRM: n == k; PFRM: 0..k changed entries)
)
FIXED_FRAME_MAJORS = (1, 2, 3)
# The frame header of 4.x files: the label mode (u8), then pts, duration and n as
# varints, each an unsigned LEB128 number: 7 bits a byte, least significant first, bit 7 set on
# every byte but the last; at most VARINT_MAX_BYTES bytes and no needless trailing zero byte.
# pts >= 0 (strictly increasing), duration >= 1, n as in FRAME_FIXED.
VARINT_MAX_BYTES = 9  # 63 bits: every value below 2**63
VARINT_LIMIT = 1 << 63
MAX_FRAME_HEAD = max(FRAME_FIXED.size, 1 + 2 * VARINT_MAX_BYTES + 2)  # n <= 256: 2 bytes
# KFRM: after the frame header come n PALETTE_ENTRY (all entries, in index order), then the label
# payload. PFRM: after the frame header come n PALETTE_DELTA (entries that change before this
# frame is shown, indices strictly increasing), then the label payload.
PALETTE_ENTRY = struct.Struct("<3B")  # R, G, B
PALETTE_DELTA = struct.Struct("<4B")  # palette index (< k), R, G, B

# Label modes. Coder 1: INTRA, DELTA, REPEAT, COPY; coders 2 and 3: INTRA, REPEAT, BLOCKS.
LABELS_INTRA = 0  # 1: zstd(labels), row-major bytes; 2, 3: blocks without a reference, fresh state
LABELS_DELTA = 1  # 1: zstd((labels - previous labels) mod 256), previous = last decoded frame
LABELS_REPEAT = 2  # payload empty: labels equal the previous frame's
# COPY has no symbol for label 255: the writer uses it when every label of the frame is < 255
# (DELTA otherwise); a reader accepts it with any k, refusing a symbol above k.
LABELS_COPY = 3  # 1: zstd(symbols): 0 = previous label, s > 0 = label s - 1
LABELS_BLOCKS = 4  # 2, 3: blocks that may refer to the previous frame, carried state
LABEL_MODES = {
    LABEL_CODER_ZSTD: (LABELS_INTRA, LABELS_DELTA, LABELS_REPEAT, LABELS_COPY),
    LABEL_CODER_BLOCKS: (LABELS_INTRA, LABELS_REPEAT, LABELS_BLOCKS),
    LABEL_CODER_MC: (LABELS_INTRA, LABELS_REPEAT, LABELS_BLOCKS),
}

# ahdr comes right after HEAD (at most one). Its payload is AUDIO_HEADER, then the codec name
# (ASCII, FFmpeg's name, e.g. "aac", "opus"), then the channel layout name (ASCII, e.g.
# "stereo"), then the codec's extradata (the rest of the payload, possibly empty).
AUDIO_HEADER = struct.Struct(
    "<I"  # sample rate, Hz, 1..384000
    "I"  # audio time base numerator
    "I"  # audio time base denominator, > 0
    "H"  # channels, 1..64
    "H"  # codec name length, 1..32
    "H"  # layout name length, 0..64
)
# apkt records are interleaved with the frame records in time order (each packet before the
# first frame that starts after it). Payload: AUDIO_PACKET, then the packet's bytes.
AUDIO_PACKET = struct.Struct(
    "<q"  # pts in audio time-base units, on the video's clock (0 = the first frame's start)
    "q"  # duration in audio time-base units, >= 0
)
MAX_AUDIO_PACKET = 1 << 20  # bytes; larger apkt payloads are corruption
MAX_AUDIO_CODEC_NAME = 32  # bytes of an ahdr's codec name (at least 1)
MAX_AUDIO_LAYOUT_NAME = 64  # bytes of an ahdr's channel layout name (may be empty)
AUDIO_NAMES_MAX = MAX_AUDIO_CODEC_NAME + MAX_AUDIO_LAYOUT_NAME

INDEX_COUNT = struct.Struct("<I")  # number of index entries
INDEX_ENTRY = struct.Struct(
    "<I"  # frame number, 0-based
    "q"  # pts of that keyframe
    "Q"  # byte offset of the keyframe's record (its tag) from the start of the file
)

TRAILER = struct.Struct(
    "<I"  # frame count
    "I"  # keyframe count
    "Q"  # byte offset of the INDX record from the start of the file
    "q"  # end time: last frame's pts + duration, time-base units
)
TRAILER_RECORD_SIZE = RECORD_HEAD.size + TRAILER.size + RECORD_CRC.size

# Palette sizes: labels are one byte.
K_MIN = 2
K_MAX = 256

# Limits a reader enforces before it allocates anything.
MAX_WIDTH = 7680
MAX_HEIGHT = 4320
MAX_INDEX_ENTRIES = 10_000_000


def max_labels(width: int, height: int, label_coder: int) -> int:
    """Largest label payload of one frame: zstd never grows data by more than a small margin;
    label coders 2 and 3 keep a frame within 16 bits per pixel (its worst maps, noise at
    k = 256, take about 8.3)."""
    if label_coder == LABEL_CODER_ZSTD:
        return width * height + width * height // 64 + 4096
    return 2 * width * height + 4096


def max_payload(width: int, height: int, k: int, label_coder: int = LABEL_CODER_MC) -> int:
    """Largest frame record payload a reader accepts for a file of this size (a longer length is
    corruption, not content)."""
    return MAX_FRAME_HEAD + k * PALETTE_DELTA.size + max_labels(width, height, label_coder)


def payload_limit(tag: bytes, frame_limit: int) -> int:
    """Largest payload a record with ``tag`` may declare; ``frame_limit`` is the file's
    :func:`max_payload`, the limit of frame records and unknown ancillary records. (HEAD, read
    before the frame size is known, is limited to ``HEADER.size + MAX_META``.)"""
    if tag == TAG_INDEX:
        return INDEX_COUNT.size + MAX_INDEX_ENTRIES * INDEX_ENTRY.size
    if tag == TAG_TRAILER:
        return TRAILER.size
    if tag == TAG_AUDIO_PACKET:
        return AUDIO_PACKET.size + MAX_AUDIO_PACKET
    if tag == TAG_AUDIO_HEADER:
        return AUDIO_HEADER.size + AUDIO_NAMES_MAX + MAX_META
    return frame_limit


def tag_is_critical(tag: bytes) -> bool:
    """True when a reader that does not know ``tag`` must refuse the file."""
    return not (len(tag) == 4 and 0x61 <= tag[0] <= 0x7A)
