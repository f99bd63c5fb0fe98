"""Make the vidquant sample clip, ``sample_media/sample.mp4``, from bundled photos.

The clip is a small, deterministic stand-in for real camera footage, used to
exercise and demonstrate the codec. It is built only from photographs that ship
inside installed packages (scikit-image's ``skimage/data`` directory and
scikit-learn's sample images), so nothing is downloaded. It contains four shots
with sub-pixel pans, a zoom-in, hard cuts, one fade through black (frames with
very few colours) and mild Gaussian sensor noise, plus a synthesised stereo
melody as an AAC track. Output: H.264 (libx264) yuv420p at a constant 24 fps,
640x360, 12 s, AAC 48 kHz stereo, mp4, under 2 MB. Frames are streamed into
the encoder one at a time. See ``sample_media/README.md`` for shots and
licences.

Usage: python sample_media/make_sample.py [--out PATH] [--width W --height H
--seconds S]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import skimage
import skimage.io
from sklearn.datasets import load_sample_image

FPS = 24
SAMPLE_RATE = 48_000
AUDIO_CHUNK = 1024  # samples per AAC frame
SEED = 20240601
NOISE_SIGMA = 2.0  # sensor noise, in 8-bit levels
FADE_RAMP, FADE_HOLD = 0.375, 0.125  # seconds of ramp / pure black each side
X264_OPTIONS = {"crf": "19", "preset": "slow", "g": str(2 * FPS)}
AUDIO_BIT_RATE = 96_000
SKIMAGE_DATA = Path(skimage.__file__).parent / "data"
SKLEARN_IMAGES = ("china.jpg", "flower.jpg")


@dataclass(frozen=True)
class Shot:
    """One shot: a camera window moving from ``start`` to ``end``.

    Windows are (centre x, centre y, width) in source pixels; the height follows
    from the output aspect ratio. ``until`` is the shot's end as a fraction of
    the clip.
    """

    image: str
    start: tuple[float, float, float]
    end: tuple[float, float, float]
    until: float


SHOTS = (
    Shot("china.jpg", (240, 200, 440), (400, 230, 440), 3.5 / 12),  # pan right
    Shot("coffee.png", (300, 200, 600), (290, 150, 260), 6.5 / 12),  # zoom in
    Shot("astronaut.png", (200, 140, 300), (350, 330, 300), 9.5 / 12),  # diagonal
    Shot("rocket.jpg", (320, 320, 360), (320, 170, 360), 1.0),  # tilt up
)
FADE_AT = SHOTS[2].until  # the fade goes through black between shots 3 and 4
MELODY_HZ = (440.0, 523.25, 587.33, 659.25, 783.99, 659.25, 587.33, 523.25)
NOTE_SECONDS = 0.5


def load_image(name: str) -> np.ndarray:
    """Load a bundled photograph as an RGB uint8 array (never downloads)."""
    if name in SKLEARN_IMAGES:
        return load_sample_image(name)
    return skimage.io.imread(SKIMAGE_DATA / name)[..., :3]


def render(img: np.ndarray, window: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Crop ``window`` (cx, cy, w) at sub-pixel precision and scale to ``size``."""
    width, height = size
    ih, iw = img.shape[:2]
    cx, cy, w = window
    w = min(w, iw, ih * width / height)
    h = w * height / width
    cx = float(np.clip(cx, w / 2, iw - w / 2))
    cy = float(np.clip(cy, h / 2, ih - h / 2))
    s = w / width  # source pixels per output pixel; maps pixel centres
    m = np.array([[s, 0, cx - w / 2 + s / 2 - 0.5], [0, s, cy - h / 2 + s / 2 - 0.5]])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(img, m, size, flags=flags, borderMode=cv2.BORDER_REFLECT)


def fade_gain(t: float, t_fade: float) -> float:
    """Brightness gain: 1, ramping to 0 (held briefly) around ``t_fade``."""
    return float(np.clip((abs(t - t_fade) - FADE_HOLD) / FADE_RAMP, 0.0, 1.0))


def synth_audio(start: int, count: int) -> np.ndarray:
    """Samples [start, start + count) of the melody as float32, shape (2, count).

    Left: a pentatonic melody, one enveloped sine note per half second.
    Right: the same notes an octave lower, so channels differ but correlate.
    """
    t = (start + np.arange(count)) / SAMPLE_RATE
    note = np.floor(t / NOTE_SECONDS).astype(int)
    tn = t - note * NOTE_SECONDS  # time since note onset
    freq = np.asarray(MELODY_HZ)[note % len(MELODY_HZ)]
    env = np.minimum(tn / 0.01, 1.0) * (1.0 - tn / NOTE_SECONDS) ** 2
    left = 0.25 * env * np.sin(2 * np.pi * freq * tn)
    right = 0.2 * env * np.sin(np.pi * freq * tn)
    return np.stack([left, right]).astype(np.float32)


def frames(size: tuple[int, int], n_frames: int) -> Iterator[np.ndarray]:
    """Yield the clip's RGB frames one at a time."""
    rng = np.random.default_rng(SEED)
    width, height = size
    t_fade = round(FADE_AT * n_frames) / FPS
    first = 0
    for shot in SHOTS:
        last = round(shot.until * n_frames)
        img = load_image(shot.image)
        a, b = np.asarray(shot.start, float), np.asarray(shot.end, float)
        for i in range(first, last):
            u = (i - first) / max(last - first - 1, 1)
            u = u * u * (3 - 2 * u)  # smoothstep: ease in and out
            frame = render(img, a + (b - a) * u, size).astype(np.float32)
            frame += NOISE_SIGMA * rng.standard_normal((height, width, 3), np.float32)
            frame = np.clip(frame, 0, 255) * fade_gain(i / FPS, t_fade)
            yield np.rint(frame).astype(np.uint8)
        first = last


def make_sample(out: Path, width: int, height: int, seconds: float) -> None:
    """Encode the sample clip to ``out``."""
    if width % 2 or height % 2:
        raise ValueError("yuv420p needs an even width and height")
    n_frames = round(seconds * FPS)
    n_samples = n_frames * SAMPLE_RATE // FPS
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = X264_OPTIONS
        # Convert and tag as BT.709 (limited range), so that every reader, whatever the frame
        # size, turns the pixels back into the same RGB.
        ctx = video.codec_context
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = 1  # BT.709
        ctx.color_range = 1  # limited ("MPEG") range
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
        audio.bit_rate = AUDIO_BIT_RATE
        done = 0  # audio samples encoded so far
        for i, rgb in enumerate(frames((width, height), n_frames)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
            )
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(video.encode(frame))
            target = n_samples if i == n_frames - 1 else (i + 1) * n_samples // n_frames
            while done < target:
                count = min(AUDIO_CHUNK, target - done)
                if count < AUDIO_CHUNK and i < n_frames - 1:
                    break  # wait for a full chunk; only the last may be short
                samples = synth_audio(done, count)
                chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
                chunk.sample_rate, chunk.pts = SAMPLE_RATE, done
                chunk.time_base = Fraction(1, SAMPLE_RATE)
                container.mux(audio.encode(chunk))
                done += count
        container.mux(video.encode(None))
        container.mux(audio.encode(None))


def main() -> None:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=here / "sample.mp4")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--seconds", type=float, default=12.0)
    args = parser.parse_args()
    make_sample(args.out, args.width, args.height, args.seconds)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
