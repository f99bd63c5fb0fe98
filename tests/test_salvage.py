"""``--salvage``: every intact frame of a damaged file is decoded, and the damage is reported.

The property checked throughout: a salvaging decode never raises, every frame it yields is
bit-identical to the frame with the same number in the intact file, and the frames it reports
lost plus the frames it yields add up to the file's frames (when the count is knowable).
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vidquant.cli.main import app
from vidquant.codec import format as fmt
from vidquant.codec.blocklabels import BlockLabelEncoder
from vidquant.codec.records import pack_frame_head, unpack_frame_head
from vidquant.decoder import VqDecoder
from vidquant.encode import encode_file
from vidquant.settings import EncodeSettings

FRAME_TAGS = (fmt.TAG_KEYFRAME, fmt.TAG_INTERFRAME)


def walk(data: bytes) -> list[tuple[int, bytes, int, int]]:
    """(offset, tag, payload length, end) of every record."""
    out, offset = [], fmt.PREAMBLE.size
    while offset < len(data):
        tag, length = fmt.RECORD_HEAD.unpack_from(data, offset)
        end = offset + fmt.RECORD_HEAD.size + length + fmt.RECORD_CRC.size
        out.append((offset, tag, length, end))
        offset = end
    return out


def frame_offsets(data: bytes) -> list[tuple[int, bytes, int, int]]:
    return [r for r in walk(data) if r[1] in FRAME_TAGS]


def salvage(data: bytes) -> tuple[list, VqDecoder]:
    decoder = VqDecoder(io.BytesIO(data))
    frames = list(decoder.iter_frames(salvage=True))
    return frames, decoder


@pytest.fixture(scope="module")
def gops(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """24 frames at 12 fps with a keyframe every 0.5 s: four groups of six frames."""
    out = tmp_path_factory.mktemp("salvage") / "gops.vq"
    encode_file(clip, out, EncodeSettings(k=8, keyint_s=0.5, scene_cut=255))
    return out.read_bytes()


@pytest.fixture(scope="module")
def intact(gops: bytes) -> list:
    frames = list(VqDecoder(io.BytesIO(gops)).iter_frames())
    assert len(frames) == 24
    assert [f.index for f in frames if f.keyframe] == [0, 6, 12, 18]
    return frames


def assert_subset_of_intact(frames: list, intact: list, what: str) -> None:
    numbers = [f.index for f in frames]
    assert numbers == sorted(set(numbers)), f"{what}: frame numbers {numbers}"
    for f in frames:
        good = intact[f.index]
        assert f.pts == good.pts, f"{what}: frame {f.index} pts"
        assert np.array_equal(f.labels, good.labels), f"{what}: frame {f.index} labels"
        assert np.array_equal(f.palette, good.palette), f"{what}: frame {f.index} palette"


def test_damaged_predicted_frame_loses_the_rest_of_its_group(gops, intact):
    records = frame_offsets(gops)
    off, tag, length, _ = records[8]  # frame 8: a predicted frame in the second group
    assert tag == fmt.TAG_INTERFRAME
    damaged = bytearray(gops)
    damaged[off + fmt.RECORD_HEAD.size + length // 2] ^= 0x10
    frames, decoder = salvage(bytes(damaged))
    assert [f.index for f in frames] == [*range(8), *range(12, 24)]
    assert_subset_of_intact(frames, intact, "PFRM flip")
    (span,) = decoder.salvage.spans
    assert (span.offset, span.first_frame, span.frames_lost) == (off, 8, 4)
    assert span.start_s == pytest.approx(8 / 12)
    assert span.end_s == pytest.approx(1.0)
    assert "CRC" in span.error.reason
    assert "4 frames lost from frame 8" in span.describe()


def test_unreadable_keyframe_loses_its_group(gops, intact):
    off, tag, _, _ = frame_offsets(gops)[12]
    assert tag == fmt.TAG_KEYFRAME
    damaged = bytearray(gops)
    damaged[off + 5] ^= 0x40  # the length field: the record cannot even be framed
    frames, decoder = salvage(bytes(damaged))
    assert [f.index for f in frames] == [*range(12), *range(18, 24)]
    assert_subset_of_intact(frames, intact, "KFRM length")
    (span,) = decoder.salvage.spans
    assert (span.first_frame, span.frames_lost) == (12, 6)
    assert decoder.salvage.frames_lost == 6


def test_several_stretches_are_reported_separately(gops, intact):
    damaged = bytearray(gops)
    for n in (3, 14, 20):
        off, _, length, _ = frame_offsets(gops)[n]
        damaged[off + fmt.RECORD_HEAD.size + length - 1] ^= 0x01
    frames, decoder = salvage(bytes(damaged))
    assert [f.index for f in frames] == [0, 1, 2, 6, 7, 8, 9, 10, 11, 12, 13, 18, 19]
    assert_subset_of_intact(frames, intact, "three flips")
    spans = decoder.salvage.spans
    # the last damage reaches the end, and the intact trailer knows the count
    assert [(s.first_frame, s.frames_lost) for s in spans] == [(3, 3), (14, 4), (20, 4)]
    assert spans[2].end_s is None


def test_damaged_index_loses_no_frame(gops, intact):
    (off, _, length, _) = next(r for r in walk(gops) if r[1] == fmt.TAG_INDEX)
    damaged = bytearray(gops)
    damaged[off + fmt.RECORD_HEAD.size + 2] ^= 0x01
    frames, decoder = salvage(bytes(damaged))
    assert len(frames) == 24
    assert_subset_of_intact(frames, intact, "INDX flip")
    (span,) = decoder.salvage.spans
    assert span.frames_lost == 0 and span.end_s is None


def test_corrupt_labels_with_a_valid_crc(gops, intact):
    """A well-framed record whose label code breaks the rules: skipped to the next keyframe.
    (Labels >= k cannot be coded at k = 8, a power of two: the k = 256 code of label 200 read
    at k = 8 derails into a copy from outside the frame.)"""
    records = frame_offsets(gops)
    off, tag, length, end = records[7]
    payload = memoryview(gops[off + fmt.RECORD_HEAD.size : end - fmt.RECORD_CRC.size])
    pts, duration, mode, n, size = unpack_frame_head(payload, fmt.VERSION_MAJOR, "PFRM", off)
    labels_at = size + 4 * n
    h, w = intact[0].labels.shape
    bad = np.full((h, w), 200, np.uint8)  # coded as a k = 256 map
    new_payload = pack_frame_head(pts, duration, fmt.LABELS_INTRA, n) + payload[size:labels_at]
    new_payload += BlockLabelEncoder(w, h, 256).encode(bad, None).payload
    assert mode in fmt.LABEL_MODES[fmt.LABEL_CODER_MC]
    record = (
        fmt.RECORD_HEAD.pack(tag, len(new_payload))
        + new_payload
        + fmt.RECORD_CRC.pack(zlib.crc32(new_payload, zlib.crc32(tag)))
    )
    damaged = gops[:off] + record + gops[end:]
    # the index's offsets after the record moved: the index is now wrong too
    frames, decoder = salvage(damaged)
    assert [f.index for f in frames] == [*range(7), *range(12, 24)]
    assert_subset_of_intact(frames, intact, "corrupt labels")
    assert decoder.salvage.spans[0].first_frame == 7
    assert "label payload is corrupt" in str(decoder.salvage.spans[0].error)


def test_truncation_anywhere_keeps_the_prefix(gops, intact):
    ends = [end for _, tag, _, end in walk(gops) if tag in FRAME_TAGS]
    first_frame = frame_offsets(gops)[0][0]
    for cut in range(first_frame, len(gops), 97):
        frames, decoder = salvage(gops[:cut])
        whole = sum(1 for end in ends if end <= cut)
        assert [f.index for f in frames] == list(range(whole)), f"cut at {cut}"
        assert_subset_of_intact(frames, intact, f"cut at {cut}")
        if whole < 24:
            (span,) = decoder.salvage.spans
            assert span.first_frame == whole and span.end_s is None
            assert span.frames_lost is None  # the trailer is gone: the count is unknown


def test_flips_anywhere_never_raise_and_never_change_a_frame(gops, intact):
    rng = np.random.default_rng(5)
    first_frame = frame_offsets(gops)[0][0]  # before it, damage is an error (no header)
    positions = rng.choice(np.arange(first_frame, len(gops)), size=150, replace=False)
    for pos in positions:
        damaged = bytearray(gops)
        damaged[pos] ^= 1 << int(rng.integers(8))
        frames, decoder = salvage(bytes(damaged))
        assert_subset_of_intact(frames, intact, f"flip at {pos}")
        lost = decoder.salvage.frames_lost
        if lost is not None:
            assert len(frames) + lost == 24, f"flip at {pos}: {len(frames)} + {lost}"


def test_cli_salvage_reports_where(gops, tmp_path):
    off, _, length, _ = frame_offsets(gops)[8]
    damaged = bytearray(gops)
    damaged[off + fmt.RECORD_HEAD.size + length // 2] ^= 0x10
    src = tmp_path / "damaged.vq"
    src.write_bytes(bytes(damaged))
    runner = CliRunner()
    plain = runner.invoke(app, ["decode", str(src), "-o", str(tmp_path / "a.mkv"), "-q"])
    assert plain.exit_code == 4
    assert f"at byte offset {off}" in plain.stderr
    assert "--salvage decodes every intact frame" in plain.stderr
    assert not (tmp_path / "a.mkv").exists()
    out = tmp_path / "b.mkv"
    result = runner.invoke(app, ["decode", str(src), "-o", str(out), "-q", "--salvage"])
    assert result.exit_code == 0, result.stderr
    assert "4 frames lost in 1 damaged stretch" in result.stderr
    assert f"byte {off}: 4 frames lost from frame 8 (0.67 s to 1.00 s)" in result.stderr
    assert "wrote" in result.stdout and "20 frames" in result.stdout
    assert out.exists()


def test_damaged_audio_packet_loses_no_frame(tmp_path):
    from media import make_clip

    src = make_clip(tmp_path / "a.mp4", frames=24, audio=True)
    out = tmp_path / "a.vq"
    encode_file(src, out, EncodeSettings(k=8))
    data = out.read_bytes()
    audio = [r for r in walk(data) if r[1] == fmt.TAG_AUDIO_PACKET]
    assert len(audio) > 4
    off, _, length, _ = audio[len(audio) // 2]
    damaged = bytearray(data)
    damaged[off + fmt.RECORD_HEAD.size + length // 2] ^= 0x01
    decoder = VqDecoder(io.BytesIO(bytes(damaged)))
    items = list(decoder.iter_media(salvage=True))
    frames = [i for i in items if hasattr(i, "labels") and hasattr(i, "palette")]
    assert len(frames) == 24
    assert len(items) - len(frames) == len(audio) - 1
    (span,) = decoder.salvage.spans
    assert (span.offset, span.frames_lost) == (off, 0)


def _zero_records_8_and_9(gops: bytes) -> bytes:
    records = frame_offsets(gops)
    start = records[8][0] + 20
    end = records[9][0] + 20
    return gops[:start] + bytes(end - start) + gops[end:]


def _index_flipped(data: bytes, off: int) -> bytes:
    damaged = bytearray(data)
    damaged[off + fmt.RECORD_HEAD.size + 2] ^= 0x01
    return bytes(damaged)


@pytest.mark.parametrize(
    "damage",
    [
        "two records zeroed, index damaged",
        "two records zeroed, file cut before the index",
        "bytes deleted across two records",
        "two records removed whole",
    ],
)
def test_frame_numbers_survive_damage_the_index_cannot_place(gops, intact, damage):
    """Frame numbers come from the index by pts, else from the time gap: never from counting
    records, which an unreadable stretch hides."""
    records = frame_offsets(gops)
    index_at = next(r for r in walk(gops) if r[1] == fmt.TAG_INDEX)[0]
    if damage == "two records zeroed, index damaged":
        data = _index_flipped(_zero_records_8_and_9(gops), index_at)
    elif damage == "two records zeroed, file cut before the index":
        data = _zero_records_8_and_9(gops)[:index_at]
    elif damage == "bytes deleted across two records":
        data = gops[: records[8][0] + 20] + gops[records[9][0] + 20 :]
    else:
        data = gops[: records[8][0]] + gops[records[10][0] :]
    frames, decoder = salvage(data)
    assert [f.index for f in frames] == [*range(8), *range(12, 24)], damage
    assert_subset_of_intact(frames, intact, damage)
    first = decoder.salvage.spans[0]
    assert (first.first_frame, first.frames_lost) == (8, 4), damage
    assert first.end_s == pytest.approx(1.0)
