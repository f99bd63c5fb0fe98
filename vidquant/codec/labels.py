"""Label-map coding: intra maps on keyframes, temporal prediction between them.

Between keyframes a map is sent as COPY symbols: 0 where a pixel kept its previous label, the
label plus one where it changed. Zstandard turns long runs of zeros into almost nothing, so
unchanged pixels cost almost nothing, and changed areas keep the spatial structure of a label
map (a plain residual ``labels - previous`` would scramble it). A frame that uses label 255
(possible only with k = 256) has no spare symbol, and the residual ``(labels - previous) mod
256`` (DELTA) is sent instead. When many
pixels changed (a pan), the intra map is tried too and the smaller one is kept. A frame whose
labels did not change at all is sent as REPEAT with an empty payload.

The temporal transforms are small public functions, each with its inverse: :func:`copy_map` /
:func:`uncopy_map` (COPY) and :func:`delta_map` / :func:`undelta_map` (DELTA). An INTRA map is
the labels themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import zstandard

from vidquant.codec import format as fmt
from vidquant.errors import FormatError

# Above this share of changed pixels an intra map may be smaller than the temporal one (pans,
# a cut the scene detector missed): try both and keep the smaller. Measured on camera pans at
# 720p, intra wins from about a third of the pixels changed.
_TRY_INTRA_ABOVE = 0.2


def copy_map(
    labels: np.ndarray, previous: np.ndarray, *, same: np.ndarray | None = None
) -> np.ndarray:
    """COPY symbols: 0 where a pixel kept its previous label, the label + 1 where it changed.

    Parameters
    ----------
    labels, previous
        uint8 label maps of one shape. Every label must be below 255: COPY has no symbol for
        label 255 (with k = 256 use :func:`delta_map`).
    same
        ``labels == previous``, when the caller has it already.

    Returns
    -------
    numpy.ndarray
        The symbols, uint8, the shape of ``labels``.

    Raises
    ------
    ValueError
        A label is 255 (a caller's mistake: the encoder picks DELTA for such a frame).
    """
    top = int(labels.max())
    if top >= 255:
        raise ValueError(f"COPY symbols need labels below 255, got {top} (use delta_map)")
    symbols = labels + np.uint8(1)
    symbols[labels == previous if same is None else same] = 0
    return symbols


def uncopy_map(
    symbols: np.ndarray, previous: np.ndarray, *, k: int, offset: int | None = None
) -> np.ndarray:
    """Labels from COPY symbols (the inverse of :func:`copy_map`), never trusting a symbol.

    Parameters
    ----------
    symbols
        uint8 COPY symbols as read from a file.
    previous
        The previous frame's labels (uint8, the shape of ``symbols``); not written to.
    k
        The palette size: a symbol is at most ``k`` (label ``k - 1``).
    offset
        Byte offset of the payload, reported with the error.

    Returns
    -------
    numpy.ndarray
        The labels, uint8, a new array.

    Raises
    ------
    FormatError
        A symbol is above ``k``.
    """
    top = int(symbols.max())
    if top > k:
        raise FormatError(f"COPY symbol {top} is above k={k}", offset=offset)
    return np.where(symbols == 0, previous, symbols - np.uint8(1))


def delta_map(labels: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """The DELTA residual ``(labels - previous) mod 256`` of two uint8 label maps of one shape."""
    return labels - previous  # uint8 arithmetic wraps: mod 256


def undelta_map(residual: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Labels from a DELTA residual (the inverse of :func:`delta_map`): ``(residual + previous)
    mod 256``. Every residual is a valid byte; whether the labels are below k is the caller's
    check."""
    return residual + previous  # uint8 arithmetic wraps: mod 256


def repeat_labels(payload: bytes, previous: np.ndarray | None, offset: int | None) -> np.ndarray:
    """The labels of a REPEAT frame (any label coder): ``previous``, checked."""
    if previous is None:
        raise FormatError("REPEAT labels without a previous frame", offset=offset)
    if payload:
        raise FormatError(f"REPEAT labels carry {len(payload)} bytes", offset=offset)
    return previous


@dataclass(frozen=True)
class CodedLabels:
    """One coded label map: the mode (``format.LABELS_*``) and its payload bytes."""

    mode: int
    payload: bytes


class LabelEncoder:
    """Encode label maps of one size; keeps a Zstandard context for speed."""

    def __init__(self, *, level: int = 6) -> None:
        self._zstd = zstandard.ZstdCompressor(level=level, write_content_size=True)

    def encode(self, labels: np.ndarray, previous: np.ndarray | None) -> CodedLabels:
        """Code ``labels`` (uint8, (height, width)); ``previous`` is None on a keyframe.

        Returns
        -------
        CodedLabels
            The label mode (``format.LABELS_*``) and the coded bytes.
        """
        if previous is None:
            return CodedLabels(fmt.LABELS_INTRA, self._zstd.compress(labels.tobytes()))
        same = labels == previous
        kept = np.count_nonzero(same)
        if kept == same.size:
            return CodedLabels(fmt.LABELS_REPEAT, b"")
        if int(labels.max()) < 255:
            mode, symbols = fmt.LABELS_COPY, copy_map(labels, previous, same=same)
        else:
            mode, symbols = fmt.LABELS_DELTA, delta_map(labels, previous)
        coded = self._zstd.compress(symbols.tobytes())
        if same.size - kept > _TRY_INTRA_ABOVE * same.size:
            intra = self._zstd.compress(labels.tobytes())
            if len(intra) < len(coded):
                return CodedLabels(fmt.LABELS_INTRA, intra)
        return CodedLabels(mode, coded)


class LabelDecoder:
    """Decode label maps of a known size, never allocating more than one map's bytes."""

    def __init__(self, width: int, height: int, k: int) -> None:
        self.width, self.height, self.k = width, height, k
        self._size = width * height
        self._zstd = zstandard.ZstdDecompressor()

    def decode(
        self, mode: int, payload: bytes, previous: np.ndarray | None, *, offset: int | None = None
    ) -> np.ndarray:
        """Return the labels (uint8, (height, width)) of one frame.

        Raises
        ------
        FormatError
            The mode is unknown, the payload does not decompress to exactly one map, a
            residual has no previous frame, or a label is not below k. ``offset`` is
            reported with the error.
        """
        if mode not in fmt.LABEL_MODES[fmt.LABEL_CODER_ZSTD]:
            raise FormatError(f"unknown label mode {mode}", offset=offset)
        if mode == fmt.LABELS_REPEAT:
            return repeat_labels(payload, previous, offset)
        if mode in (fmt.LABELS_DELTA, fmt.LABELS_COPY) and previous is None:
            raise FormatError("temporal labels without a previous frame", offset=offset)
        try:
            # The frame header's declared size is checked first: zstandard would otherwise
            # allocate whatever a damaged header claims.
            declared = zstandard.frame_content_size(payload)
            if declared != self._size:
                raise FormatError(
                    f"label payload declares {declared} bytes, expected "
                    f"{self.width}x{self.height}={self._size}",
                    offset=offset,
                )
            stream = self._zstd.decompressobj()
            raw = stream.decompress(payload)
            if not stream.eof or stream.unused_data:
                raise FormatError("label payload has bytes after its zstd frame", offset=offset)
        except zstandard.ZstdError as exc:
            raise FormatError(f"label payload does not decompress: {exc}", offset=offset) from exc
        if len(raw) != self._size:
            raise FormatError(
                f"label map has {len(raw)} bytes, expected {self.width}x{self.height}={self._size}",
                offset=offset,
            )
        labels = np.frombuffer(raw, dtype=np.uint8).reshape(self.height, self.width)
        if mode == fmt.LABELS_DELTA:
            labels = undelta_map(labels, previous)
        elif mode == fmt.LABELS_COPY:
            labels = uncopy_map(labels, previous, k=self.k, offset=offset)
        if self.k < 256:
            top = int(labels.max())
            if top >= self.k:
                raise FormatError(f"label {top} is not below k={self.k}", offset=offset)
        return labels
