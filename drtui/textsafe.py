"""Strings from files and processes made safe to show on a terminal.

A model name, a run's state or a file name can hold terminal control characters (ESC starts
sequences that retitle the window, write the clipboard with OSC 52 or clear the screen). Every
string drtui displays that it did not write itself goes through `printable`, which shows each
such character as a visible escape (ESC as \\x1b) instead of sending it.
"""

from __future__ import annotations

import re

# C0 controls (tab and newline included: a one-line field must stay one line), DEL, C1
# controls, and the Unicode bidirectional overrides that reorder what is shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object) -> str:
    """`str(value)` with every terminal control character shown as \\xNN (or \\uNNNN)."""
    return _CONTROL.sub(_escape, str(value))
