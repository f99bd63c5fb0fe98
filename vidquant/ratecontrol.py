"""Rate control: pick the palette size and width that keep a clip under a bitrate or a size.

A palette codec's two big rate knobs are the number of colours (bits per label) and the number
of pixels; neither can change in the middle of a stream, so the choice is made before the
encode, by measurement rather than by a model. The encoder codes short excerpts of the source
(in memory, video only) on a ladder of (k, width) rungs, from the requested settings down, and
bisects for the first rung whose estimated bitrate fits the budget: the target minus the
audio's bitrate. Each excerpt's first frame is a keyframe it would not have inside the clip; its
cost is counted at the clip's own keyframe rate. The estimate is what the excerpts show: the
final report says whether the whole file met the target.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from vidquant.codec.blocklabels import compile_kernels
from vidquant.codec.container import ContainerWriter
from vidquant.encoder import Encoder, make_header
from vidquant.errors import SettingsError
from vidquant.frames import Frame, VideoInfo
from vidquant.io.audio import AudioSource
from vidquant.io.reader import VideoReader
from vidquant.progress import NullProgress, Progress
from vidquant.settings import EncodeSettings

__all__ = ["RatePlan", "plan_rate"]

PROBE_WINDOW_S = 1.5  # seconds per excerpt
PROBE_AT = (0.1, 0.5, 0.85)  # where the excerpts start, as fractions of the clip
WHOLE_CLIP_BELOW_S = 4.5  # shorter clips are probed whole
WIDTH_STEPS = (1.0, 0.75, 0.5, 0.375, 0.25)
K_STEP = 0.75
K_FLOOR = 4  # the last rungs go down to this many colours, at the smallest width
K_SOFT_FLOOR = 12  # above the smallest width, k goes no lower than this before the width drops
MIN_WIDTH = 16
CACHE_BYTES = 256 * 2**20  # pixels kept for the excerpts, all together
HEADROOM = 0.9  # aim this far under the budget: excerpts are estimates (sample clip: 8 % low)


@dataclass(frozen=True)
class RatePlan:
    """What rate control chose.

    Attributes
    ----------
    settings
        The settings to encode with (``k`` and ``width`` chosen, no rate target left).
    target_kbps
        The whole file's target, audio included.
    audio_kbps
        The audio's estimated share of it.
    estimate_kbps
        The chosen rung's estimated total bitrate (video estimate plus audio).
    fits
        False when even the smallest rung is estimated over the target.
    probes
        How many rungs were measured.
    """

    settings: EncodeSettings
    target_kbps: float
    audio_kbps: float
    estimate_kbps: float
    fits: bool
    probes: int


def plan_rate(
    src: str | Path, settings: EncodeSettings, *, progress: Progress | None = None
) -> RatePlan:
    """Choose ``k`` and ``width`` for ``settings.target_kbps`` (or ``max_size``) on ``src``.

    Raises
    ------
    SettingsError
        No rate target is set, or ``max_size`` is given for a source whose duration is unknown.
    InputError
        ``src`` cannot be read.
    """
    if settings.target_kbps is None and settings.max_size is None:
        raise SettingsError("rate control needs target_kbps or max_size")
    src = Path(src)
    progress = progress or NullProgress()
    with VideoReader(src, start_s=settings.start_s, width=settings.width) as reader:
        info = reader.info
    duration = _duration(info.duration_s, settings)
    if settings.target_kbps is not None:
        target = settings.target_kbps
    else:
        if duration is None:
            raise SettingsError(
                f"{src}: the duration is unknown, so max_size cannot become a bitrate; "
                "use target_kbps"
            )
        target = settings.max_size * 8 / 1000 / duration
    audio = _audio_kbps(src, settings)
    budget = (target - audio) * HEADROOM
    rungs = _ladder(settings.k, info.width)
    base = settings.replace(target_kbps=None, max_size=None)
    progress.start("rate control: read excerpts", None)
    try:
        excerpts = _Excerpts(src, base, _windows(settings.start_s, duration), duration)
    finally:
        progress.finish()
    compile_kernels(encoder=True, progress=progress)
    measured: dict[int, float] = {}

    def estimate(i: int) -> float:
        if i not in measured:
            k, width = rungs[i]
            progress.start(f"rate control: try k={k} width={width}", None)
            try:
                measured[i] = excerpts.kbps(base.replace(k=k, width=width))
            finally:
                progress.finish()
        return measured[i]

    # Bisect for the first rung that fits; the ladder is ordered by falling rate. The first
    # split point is where the rate model (pixels times bits per label) puts the budget.
    lo, hi = 0, len(rungs) - 1
    if estimate(lo) <= budget:
        choice, fits = lo, True
    else:
        guess = _model_guess(rungs, estimate(lo), budget)
        if estimate(guess) > budget:
            lo = guess
            if lo == hi or estimate(hi) > budget:
                hi = lo = len(rungs) - 1
        else:
            hi = guess
        while hi - lo > 1:  # invariant: lo does not fit, hi fits
            mid = (lo + hi) // 2
            if estimate(mid) <= budget:
                hi = mid
            else:
                lo = mid
        choice = hi
        fits = estimate(choice) <= budget
    k, width = rungs[choice]
    return RatePlan(
        settings=base.replace(k=k, width=width),
        target_kbps=target,
        audio_kbps=audio,
        estimate_kbps=measured[choice] + audio,
        fits=fits,
        probes=len(measured),
    )


def _duration(source_s: float | None, settings: EncodeSettings) -> float | None:
    """Seconds the encode will cover, if known."""
    if source_s is not None:
        left = max(source_s - settings.start_s, 0.0)
        return min(left, settings.duration_s) if settings.duration_s else left
    return settings.duration_s


def _audio_kbps(src: Path, settings: EncodeSettings) -> float:
    if settings.audio == "none":
        return 0.0
    source = AudioSource.open(src, stream=settings.audio_stream, mode=settings.audio)
    if source is None:
        return 0.0
    with source:
        return source.approx_kbps()


def _ladder(k: int, width: int) -> list[tuple[int, int]]:
    """(k, width) rungs from the requested settings down, in order of falling rate.

    At each width k steps down to ``K_SOFT_FLOOR`` (fewer colours first: it keeps the pixels);
    then the width drops and k starts again from the top. The smallest width goes on to
    ``K_FLOOR`` colours.
    """
    ks = [k]
    while ks[-1] > K_FLOOR:
        ks.append(max(K_FLOOR, int(round(ks[-1] * K_STEP))))
    widths = sorted(
        {2 * round(width * f / 2) for f in WIDTH_STEPS if width * f >= MIN_WIDTH} | {width},
        reverse=True,
    )
    soft = min(k, K_SOFT_FLOOR)
    rungs = [(kk, w) for w in widths[:-1] for kk in ks if kk >= soft]
    return rungs + [(kk, widths[-1]) for kk in ks]


def _rate_proxy(rung: tuple[int, int]) -> float:
    k, width = rung
    return width * width * math.log2(k)


def _model_guess(rungs: list[tuple[int, int]], top_kbps: float, budget: float) -> int:
    """The first rung (after the top) that the rate model expects to fit the budget."""
    top = _rate_proxy(rungs[0])
    for i in range(1, len(rungs)):
        if top_kbps * _rate_proxy(rungs[i]) / top <= budget:
            return i
    return len(rungs) - 1


def _windows(start_s: float, duration: float | None) -> list[tuple[float, float]]:
    """(start, length) excerpts to measure."""
    if duration is None or duration <= WHOLE_CLIP_BELOW_S:
        return [(start_s, duration if duration else WHOLE_CLIP_BELOW_S)]
    return [(start_s + f * (duration - PROBE_WINDOW_S), PROBE_WINDOW_S) for f in PROBE_AT]


class _Excerpts:
    """The excerpts' frames, decoded at one width at a time, as the encode would read them (the
    reader's own scaler: resizing the top width's RGB instead was 15 % off at a quarter width).

    At most ``CACHE_BYTES`` of pixels are kept: large frames make shorter excerpts.
    """

    def __init__(
        self,
        src: Path,
        settings: EncodeSettings,
        windows: list[tuple[float, float]],
        duration: float | None,
    ):
        self.src = src
        self.duration = duration
        self._windows = windows
        self._width: int | None = None
        self.clips = self._read(settings.width)

    def _read(self, width: int | None) -> list[tuple[VideoInfo, list[Frame]]]:
        self._width = width
        clips = []
        budget = CACHE_BYTES // len(self._windows)
        for start, length in self._windows:
            with VideoReader(self.src, start_s=start, duration_s=length, width=width) as reader:
                frames: list[Frame] = []
                used = 0
                for frame in reader:
                    frames.append(frame)
                    used += frame.rgb.nbytes
                    if used >= budget:
                        break
                if frames:
                    clips.append((reader.info, frames))
        return clips

    def kbps(self, settings: EncodeSettings) -> float:
        """Estimated video kbps of ``settings`` from in-memory encodes of the excerpts."""
        if settings.width != self._width:
            self.clips = []  # one width's frames at a time
            self.clips = self._read(settings.width)
        rest_bits = 0.0
        seconds = 0.0
        keyframes: list[int] = []
        for info, frames in self.clips:
            buf = io.BytesIO()
            encoder = Encoder(ContainerWriter(buf, make_header(info, settings)), settings)
            sizes = []
            for frame in frames:
                sizes.append(encoder.encode(frame).record_bytes)
            encoder.flush()
            overhead = len(buf.getbuffer()) - sum(sizes)  # header, index and trailer
            end = float((frames[-1].pts + frames[-1].duration) * frames[-1].time_base)
            start = float(frames[0].pts * frames[0].time_base)
            length = end - start
            if length <= 0:
                continue
            keyframes.append(sizes[0])
            rest_bits += 8 * sum(sizes[1:])
            seconds += length
        if seconds <= 0:
            return 0.0
        # The excerpts' opening keyframes stand for the clip's: the first frame and one every
        # keyint_s after it (a clip shorter than keyint_s still has its first).
        if self.duration:
            per_s = math.ceil(self.duration / settings.keyint_s) / self.duration
        else:
            per_s = 1 / settings.keyint_s
        key_bits = 8 * sum(keyframes) / len(keyframes) * per_s * seconds
        # the container's own bytes, once per file: they matter in short, small files
        file_bits = 8 * overhead * seconds / max(self.duration or seconds, seconds)
        return (rest_bits + key_bits + file_bits) / 1000 / seconds
