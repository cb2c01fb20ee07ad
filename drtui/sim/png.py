"""A tiny PNG writer (zlib + struct, no imaging library) and the episode picture: the track
map with the car's path, as DeepRacer's console drew it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PATH_COLOURS = {  # episode status -> path colour (RGB)
    "lap_complete": (40, 200, 80), "off_track": (230, 60, 50), "crashed": (240, 150, 30),
    "reversed": (180, 80, 220), "immobilized": (120, 120, 255), "time_up": (200, 200, 60),
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image: (H, W) grey or (H, W, 3) RGB; row 0 is the top."""
    img = np.ascontiguousarray(pixels, dtype=np.uint8)
    if img.ndim == 2:
        colour_type, channels = 0, 1
    elif img.ndim == 3 and img.shape[2] == 3:
        colour_type, channels = 2, 3
    else:
        raise ValueError(f"expected (H, W) or (H, W, 3) pixels, got shape {img.shape}")
    h, w = img.shape[:2]
    # every scanline starts with filter type 0 (none)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * channels)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    return (PNG_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + _chunk(b"IEND", b""))


def write_png(path: str | Path, pixels: np.ndarray) -> Path:
    path = Path(path)
    path.write_bytes(encode_png(pixels))
    return path


def _line(img: np.ndarray, p0: np.ndarray, p1: np.ndarray, colour, radius: int) -> None:
    """Draw a thick segment between pixel points (col, row) by stamping discs along it."""
    steps = int(max(abs(p1 - p0).max(), 1))
    pts = p0 + (p1 - p0) * (np.arange(steps + 1)[:, None] / steps)
    h, w = img.shape[:2]
    for dc in range(-radius, radius + 1):
        for dr in range(-radius, radius + 1):
            if dc * dc + dr * dr > radius * radius:
                continue
            cols = np.clip(np.round(pts[:, 0]).astype(int) + dc, 0, w - 1)
            rows = np.clip(np.round(pts[:, 1]).astype(int) + dr, 0, h - 1)
            img[rows, cols] = colour


def episode_picture(route: np.ndarray, path: Sequence[tuple[float, float]],
                    status: str = "", res: float = 0.02) -> np.ndarray:
    """RGB picture (north up) of a route (N, 6) with a car's path of front points drawn on it:
    the path in the colour of the episode's status, the start as a white dot."""
    from drtui.sim.sensors.texture import draw_track

    raster = draw_track(route, res, margin=0.3)
    grey = (raster.image * 255).round().astype(np.uint8)
    img = np.repeat(grey[..., None], 3, axis=2)
    pts = np.asarray(path, dtype=float).reshape(-1, 2)
    if len(pts):
        px = raster.to_pixel(pts)
        colour = PATH_COLOURS.get(status, (60, 160, 255))
        for a, b in pairwise(px):
            _line(img, a, b, colour, 1)
        _line(img, px[0], px[0], (255, 255, 255), 3)
    return img[::-1].copy()  # raster rows go up in y; pictures go down


def read_png_header(data: bytes) -> dict:
    """The IHDR fields of PNG bytes (width, height, bit_depth, colour_type) - for tests."""
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG")
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13:
        raise ValueError("the first chunk is not IHDR")
    w, h, depth, colour, *_ = struct.unpack(">IIBBBBB", data[16:29])
    return {"width": w, "height": h, "bit_depth": depth, "colour_type": colour}
