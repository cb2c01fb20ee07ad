"""The camera frame a policy sees, as one log line: drtui's trainer writes one every couple
of seconds for the car it traces (car 0, the car the monitor's track shows), and the monitor
draws it in half-block pixels.

    CAMERA_FRAME: car=0 episode=12 step=34 size=40x30 gray=<base64 of 40*30 bytes>

A line is at most about 2 KB (MAX_SIDE wide), so at one every CAMERA_EVERY_S seconds it costs
the log about 1 KB/s. Plain Python: no numpy, no torch.
"""

from __future__ import annotations

import base64
import binascii
import math
import re

from drtui.events import CameraFrame

TAG = "CAMERA_FRAME:"
MAX_SIDE = 48  # frames are cut down (every k-th pixel) to at most this wide
CAMERA_EVERY_S = 2.0
_LINE = re.compile(r"CAMERA_FRAME: car=(\d+) episode=(\d+) step=(\d+) size=(\d+)x(\d+) "
                   r"gray=([A-Za-z0-9+/=]+)\s*$")


def stride_for(width: int, max_side: int = MAX_SIDE) -> int:
    return max(1, math.ceil(width / max_side))


def frame_line(car: int, episode: int, step: int, width: int, height: int,
               pixels: bytes) -> str:
    if len(pixels) != width * height:
        raise ValueError(f"{len(pixels)} pixels for a {width}x{height} frame")
    gray = base64.b64encode(pixels).decode("ascii")
    return f"{TAG} car={car} episode={episode} step={step} size={width}x{height} gray={gray}"


def parse_frame(line: str) -> CameraFrame | None:
    """The frame of a CAMERA_FRAME line; None for anything else (or a torn line)."""
    m = _LINE.search(line)
    if m is None:
        return None
    car, episode, step, width, height = (int(m.group(i)) for i in range(1, 6))
    frame = CameraFrame(car, episode, step, width, height, m.group(6))
    return frame if len(frame_pixels(frame)) == width * height else None


def frame_pixels(frame: CameraFrame) -> bytes:
    try:
        return base64.b64decode(frame.gray, validate=True)
    except (binascii.Error, ValueError):
        return b""
