"""Build the golden ``.vq`` file the container tests compare against.

Run from the repository root::

    python tests/make_golden.py

It encodes a tiny synthetic clip (24x16 pixels, 6 frames, k=4), made in memory with no PyAV, and
writes (format 4.0; ``tiny_v1.vq`` and ``tiny_v1_frames.npz`` are the same clip as the 1.1
encoder wrote it, and ``tiny_v2.vq`` and ``tiny_v3.vq`` as the 2.0 and 3.0 encoders wrote it,
whose frames are exactly ``tiny_frames.npz``: all are kept so that 1.x, 2.x and 3.x files are
known to decode)

- ``tests/golden/tiny.vq``: the encoded file, byte for byte what :func:`encode_clip` writes;
- ``tests/golden/tiny_frames.npz``: what a decoder must show: ``rgb`` (frames, height, width, 3)
  uint8, ``pts`` and ``duration`` (int64, time-base units), ``keyframe`` (bool) and ``label_mode``
  (uint8, ``format.LABELS_*``) per frame.

The clip is chosen to touch every record kind a decoder meets::

    frame pts dur  content                                      record
    0     0   1    scene A: 4 flat colours                      KFRM (first frame)
    1     1   1    the red square moves, yellow shifts colour   PFRM, palette delta, BLOCKS labels
    2     2   1    same picture as frame 1                      PFRM, REPEAT labels
    3     3   2    scene B: other 4 colours (longer frame)      KFRM (scene cut)
    4     5   1    the black bar moves                          PFRM, BLOCKS labels
    5     6   1    same labels, the grey entry shifts colour    PFRM, palette delta, REPEAT labels

When to regenerate
------------------
Only when the ``.vq`` format changes on purpose, and then together with a version bump in
``vidquant/codec/format.py`` (``VERSION_MAJOR`` for a layout change, ``VERSION_MINOR`` for an
added ancillary record) and FORMAT.md. A golden test that fails after an
encoder change that was *not* meant to change the bytes is a regression, not a reason to
regenerate. The script checks its own output (record kinds above, decoder == encoder
reconstruction) and refuses to write a golden file that does not show them.
"""

from __future__ import annotations

import io
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vidquant.codec import format as fmt  # noqa: E402
from vidquant.codec.container import ContainerWriter  # noqa: E402
from vidquant.codec.records import Header  # noqa: E402
from vidquant.encoder import EncodedFrame, Encoder  # noqa: E402
from vidquant.frames import Frame  # noqa: E402
from vidquant.settings import EncodeSettings  # noqa: E402

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
GOLDEN_VQ = GOLDEN_DIR / "tiny.vq"
GOLDEN_FRAMES = GOLDEN_DIR / "tiny_frames.npz"

WIDTH, HEIGHT = 24, 16
FPS = Fraction(12)
TIME_BASE = Fraction(1, 12)
SETTINGS = EncodeSettings(k=4, seed=0, sample_pixels=1024)
PTS = (0, 1, 2, 3, 5, 6)
DURATIONS = (1, 1, 1, 2, 1, 1)


def make_header() -> Header:
    """The hand-made header of the golden file (no source file, fixed metadata)."""
    return Header(
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
        time_base=TIME_BASE,
        k=SETTINGS.k,
        meta={"golden": "tiny", "note": "tests/make_golden.py"},
    )


def _scene_a(square_x: int, yellow: tuple[int, int, int]) -> np.ndarray:
    rgb = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    rgb[:] = (20, 30, 80)  # dark blue background
    rgb[10:16, 0:WIDTH] = yellow  # yellow floor
    rgb[2:8, square_x : square_x + 6] = (220, 30, 30)  # red square
    rgb[0:2, 16:24] = (30, 200, 60)  # green corner
    return rgb


def _scene_b(bar_x: int, grey: tuple[int, int, int]) -> np.ndarray:
    rgb = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    rgb[:] = (245, 245, 240)  # white background
    rgb[4:7, bar_x : bar_x + 12] = (10, 10, 10)  # black bar
    rgb[12:16, 0:12] = grey  # grey block
    rgb[12:16, 12:24] = (250, 140, 20)  # orange block
    return rgb


def build_frames() -> list[Frame]:
    """The six input frames of the golden clip (deterministic, no randomness)."""
    pictures = [
        _scene_a(2, (240, 220, 20)),
        _scene_a(4, (210, 190, 50)),
        _scene_a(4, (210, 190, 50)),
        _scene_b(4, (128, 128, 128)),
        _scene_b(6, (128, 128, 128)),
        _scene_b(6, (100, 100, 100)),
    ]
    return [
        Frame(i, pts, dur, TIME_BASE, np.ascontiguousarray(rgb))
        for i, (pts, dur, rgb) in enumerate(zip(PTS, DURATIONS, pictures, strict=True))
    ]


def encode_clip(fileobj) -> list[EncodedFrame]:
    """Encode :func:`build_frames` into the binary file ``fileobj``; return the encoder results."""
    writer = ContainerWriter(fileobj, make_header())
    encoder = Encoder(writer, SETTINGS)
    results = [encoder.encode(frame) for frame in build_frames()]
    encoder.flush()
    return results


def golden_bytes() -> tuple[bytes, list[EncodedFrame]]:
    """The golden file's bytes as the current code writes them (through a real file on disk)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.vq"
        with open(path, "wb") as f:
            results = encode_clip(f)
        return path.read_bytes(), results


def expected_arrays(results: list[EncodedFrame], data: bytes) -> dict[str, np.ndarray]:
    """The npz content: the encoder's reconstruction plus each record's kind and label mode."""
    from vidquant.decoder import VqDecoder

    modes = [rec.label_mode for rec in VqDecoder(io.BytesIO(data)).iter_records()]
    return {
        "rgb": np.stack([r.reconstruction.to_rgb() for r in results]),
        "pts": np.array([r.reconstruction.pts for r in results], np.int64),
        "duration": np.array([r.reconstruction.duration for r in results], np.int64),
        "keyframe": np.array([r.reconstruction.keyframe for r in results], bool),
        "label_mode": np.array(modes, np.uint8),
    }


def check(results: list[EncodedFrame], data: bytes, arrays: dict[str, np.ndarray]) -> None:
    """Refuse a golden file that does not exercise what the tests rely on."""
    from vidquant.decoder import VqDecoder

    R, B, I = fmt.LABELS_REPEAT, fmt.LABELS_BLOCKS, fmt.LABELS_INTRA  # noqa: E741
    want_modes = [I, B, R, I, B, R]
    want_key = [True, False, False, True, False, False]
    got_modes = arrays["label_mode"].tolist()
    got_key = arrays["keyframe"].tolist()
    if got_modes != want_modes or got_key != want_key:
        raise SystemExit(f"unexpected record kinds: modes {got_modes}, keyframes {got_key}")
    if not results[3].scene_cut:
        raise SystemExit("frame 3 was not detected as a scene cut")
    changes = [r.palette_changes for r in results]
    if changes[1] == 0 or changes[5] == 0:
        raise SystemExit(f"expected palette deltas on frames 1 and 5, got {changes}")
    decoded = list(VqDecoder(io.BytesIO(data)).iter_frames())
    rgb = np.stack([f.to_rgb() for f in decoded])
    if not np.array_equal(rgb, arrays["rgb"]):
        raise SystemExit("decoder output differs from the encoder's reconstruction")


def main() -> None:
    data, results = golden_bytes()
    again, _ = golden_bytes()
    if again != data:
        raise SystemExit("encoding is not deterministic: two runs gave different bytes")
    arrays = expected_arrays(results, data)
    check(results, data, arrays)
    GOLDEN_DIR.mkdir(exist_ok=True)
    GOLDEN_VQ.write_bytes(data)
    with open(GOLDEN_FRAMES, "wb") as f:
        np.savez(f, **arrays)
    print(f"wrote {GOLDEN_VQ} ({len(data)} bytes) and {GOLDEN_FRAMES}")
    print(f"palette changes per frame: {[r.palette_changes for r in results]}")


if __name__ == "__main__":
    main()
