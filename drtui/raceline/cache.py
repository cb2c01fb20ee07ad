"""A route's racing-line points, computed once: kept in memory and, given a folder, on disk
(`<workspace>/.drtui-cache/raceline/<key>.npy`), so a map drawn again, by another screen or
another drtui, does not spend the line's 0.2-0.5 s again. The key is a hash of the route's
numbers and what shapes the line (margin, iterations, spacing, this module's version), so an
edited route file gets a new line and a stale file is never read."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np

from drtui.fsio import atomic_write
from drtui.raceline.geometry import TARGET_SPACING_M
from drtui.raceline.k1999 import DEFAULT_ITERATIONS
from drtui.raceline.line import DEFAULT_MARGIN_M, racing_line

CACHE_FOLDER = Path(".drtui-cache") / "raceline"
VERSION = 1
_memory: dict[str, np.ndarray] = {}


def cache_folder(workspace: str | Path) -> Path:
    return Path(workspace) / CACHE_FOLDER


def line_key(waypoints: np.ndarray) -> str:
    wp = np.ascontiguousarray(waypoints, dtype=np.float64)
    shape = f"|{wp.shape}|{DEFAULT_MARGIN_M}|{DEFAULT_ITERATIONS}|{TARGET_SPACING_M}|v{VERSION}"
    return hashlib.sha256(wp.tobytes() + shape.encode()).hexdigest()[:24]


def line_points(waypoints: np.ndarray, folder: Path | None = None) -> np.ndarray:
    """The k1999 line's points (M, 2) of a route, at the default margin."""
    key = line_key(waypoints)
    path = None if folder is None else Path(folder) / f"{key}.npy"
    points = _memory.get(key)
    stored = path is not None and path.is_file()
    if points is None and stored:
        try:
            points = np.load(path, allow_pickle=False)
            if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
                points = None
        except (OSError, ValueError):
            points = None
        stored = points is not None  # damaged: computed again and rewritten
    if points is None:
        points = racing_line(np.asarray(waypoints, dtype=np.float64)).points
    if path is not None and not stored:  # (known from another workspace: kept here too)
        buffer = io.BytesIO()
        np.save(buffer, points, allow_pickle=False)
        try:
            atomic_write(path, buffer.getvalue())
        except OSError:
            pass  # a read-only workspace: the line is still drawn, from memory
    _memory[key] = points
    return points
