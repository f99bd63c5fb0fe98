"""Watch a palette video in a window, at the stream's own timing.

The pieces, each testable without a screen:

- a :class:`FrameSource` yields :class:`ViewFrame` values from a time on and knows its keyframes:
  :class:`VqSource` decodes a ``.vq`` file, :class:`PreviewSource` quantises any video on the fly
  with the encoder's own stages (to preview a setting before encoding) (:mod:`.sources`);
- :class:`OriginalTrack` pairs the original video's frames with the player's by timestamp
  (:mod:`.original`);
- :func:`compose_view` builds the image the window shows (side by side, with labels)
  (:mod:`.view`);
- :class:`Player` keeps time against an injected clock and reacts to raw key codes
  (:mod:`.keys`) from an injected :class:`Display`; :class:`CvDisplay` is the real OpenCV
  highgui window (:mod:`.display`); :func:`play_file` puts them together (:mod:`.player`).

Sound is not played: the window shows pictures only.
"""

from __future__ import annotations

# OpenCV before anything that loads PyAV: PyAV's wheels bundle their own libxcb, and a Qt
# highgui window opened after it has loaded freezes for good (PyAV-Org/PyAV#978,
# opencv/opencv#29195). Every module below is imported after this line.
import cv2  # noqa: F401

from vidquant.apps.play.display import CvDisplay, Display, DisplayError, check_display
from vidquant.apps.play.keys import KEY_ACTIONS, Action, action_for_key
from vidquant.apps.play.original import OriginalTrack
from vidquant.apps.play.player import Player, PlayReport, play_file
from vidquant.apps.play.sources import FrameSource, PreviewSource, ViewFrame, VqSource, is_vq_file
from vidquant.apps.play.view import compose_view, fit_to, format_psnr

__all__ = [
    "KEY_ACTIONS",
    "Action",
    "CvDisplay",
    "Display",
    "DisplayError",
    "FrameSource",
    "OriginalTrack",
    "PlayReport",
    "Player",
    "PreviewSource",
    "ViewFrame",
    "VqSource",
    "action_for_key",
    "check_display",
    "compose_view",
    "fit_to",
    "format_psnr",
    "is_vq_file",
    "play_file",
]
