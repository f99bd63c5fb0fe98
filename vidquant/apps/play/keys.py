"""Keys: raw ``cv2.waitKeyEx`` codes, and what each asks the player to do."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class Action(Enum):
    """What a key asks the player to do."""

    TOGGLE_PAUSE = "pause"
    PREVIOUS_KEYFRAME = "previous keyframe"
    NEXT_KEYFRAME = "next keyframe"
    QUIT = "quit"


# Raw codes from cv2.waitKeyEx. Arrow keys differ by highgui backend:
#   65361 / 65363   GTK and Qt on X11 (the X keysyms XK_Left / XK_Right)
#   2424832 / 2555904   Win32 (0x250000 / 0x270000)
#   63234 / 63235   Cocoa on macOS (NSLeftArrowFunctionKey / NSRightArrowFunctionKey)
#   81 / 83   builds that only report the low byte of the X keysym (as waitKey() & 0xFF does);
#             they collide with "Q" and "S", so upper-case Q does not quit.
KEY_ACTIONS: Mapping[int, Action] = {
    32: Action.TOGGLE_PAUSE,  # space
    113: Action.QUIT,  # q
    27: Action.QUIT,  # Esc
    65361: Action.PREVIOUS_KEYFRAME,
    2424832: Action.PREVIOUS_KEYFRAME,
    63234: Action.PREVIOUS_KEYFRAME,
    81: Action.PREVIOUS_KEYFRAME,
    65363: Action.NEXT_KEYFRAME,
    2555904: Action.NEXT_KEYFRAME,
    63235: Action.NEXT_KEYFRAME,
    83: Action.NEXT_KEYFRAME,
}


def action_for_key(code: int | None) -> Action | None:
    """The action of a raw ``cv2.waitKeyEx`` code (None or -1: no key; unknown keys: None)."""
    if code is None or code < 0:
        return None
    return KEY_ACTIONS.get(code)
