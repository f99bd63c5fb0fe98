"""vidquant: palette video with k-means colour quantisation.

The public API. Names are imported lazily, so that ``import vidquant.decoder`` (the client side)
pulls in numpy and zstandard only, never PyAV, OpenCV or scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vidquant._version import __version__

_EXPORTS = {
    "encode_file": "vidquant.encode",
    "EncodeReport": "vidquant.encode",
    "decode_file": "vidquant.export",
    "DecodeReport": "vidquant.export",
    "open_vq": "vidquant.decoder",
    "VqDecoder": "vidquant.decoder",
    "EncodeSettings": "vidquant.settings",
    "load_settings": "vidquant.settings",
    "Frame": "vidquant.frames",
    "PaletteFrame": "vidquant.frames",
    "VidquantError": "vidquant.errors",
    "FormatError": "vidquant.errors",
    "InputError": "vidquant.errors",
    "SettingsError": "vidquant.errors",
    "OutputError": "vidquant.errors",
}

__all__ = [
    "DecodeReport",
    "EncodeReport",
    "EncodeSettings",
    "FormatError",
    "Frame",
    "InputError",
    "OutputError",
    "PaletteFrame",
    "SettingsError",
    "VidquantError",
    "VqDecoder",
    "__version__",
    "decode_file",
    "encode_file",
    "load_settings",
    "open_vq",
]

if TYPE_CHECKING:
    from vidquant.decoder import VqDecoder, open_vq
    from vidquant.encode import EncodeReport, encode_file
    from vidquant.errors import FormatError, InputError, OutputError, SettingsError, VidquantError
    from vidquant.export import DecodeReport, decode_file
    from vidquant.frames import Frame, PaletteFrame
    from vidquant.settings import EncodeSettings, load_settings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vidquant' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
