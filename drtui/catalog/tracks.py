"""The track catalogue: every simapp world a session may train on, and route files.

A world is a route file: deepracer-simapp loads `routes/<DR_WORLD_NAME>.npy`, so each world
drives its own file (a `_cw` route is not the `_ccw` one reversed: they start at different
points). All 127 of simapp's routes ship in assets/tracks, plus the plain `2022_reinvent_champ`
that simapp removed but real 2023 logs name (see assets/tracks/PROVENANCE.md). Display names,
lengths, widths and descriptions come from DeepRacer on AWS's tracks.json where it lists the
track; otherwise they are measured on the route. A session may also name a route file of its
own (`[track] route`), checked here as simapp would read it.

Route arrays are float (N, 6+): centre x,y, inner x,y, outer x,y in metres; a loop repeats
its first row as its last (simapp compares the rows exactly).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from drtui.problem import Problem

if TYPE_CHECKING:  # numpy is imported only when routes are read
    import numpy as np

_ASSETS = "drtui.assets.tracks"
_DIRECTION_SUFFIX = {"_ccw": " (counter-clockwise)", "_cw": " (clockwise)"}

# Names of the routes DeepRacer on AWS does not list (tracks.json has no entry for them).
_EXTRA_NAMES = {
    "AWS_track": "AWS Track",
    "Straight_track": "Straight Track",
    "Singapore_f1": "Asia Pacific Bay Loop (F1)",
    "Spain_track_f1": "Circuit de Barcelona-Catalunya (F1)",
    "reinvent_carpet": "re:Invent 2018 (carpet)",
    "reinvent_concrete": "re:Invent 2018 (concrete)",
    "reinvent_wood": "re:Invent 2018 (wood)",
    "reInvent2019_wide_mirrored": "A to Z Speedway (mirrored)",
    "2022_summit_speedway_mini": "RL Speedway (mini)",
}


class RouteError(ValueError):
    """A route file simapp could not drive; the message names the file and the rule."""


@dataclass(frozen=True)
class Track:
    """One simapp world (a route file), as DR_WORLD_NAME names it."""

    world: str
    track_id: str  # DeepRacer on AWS trackId: the world without `_cw`/`_ccw`
    name: str
    length_m: float | None
    width_m: float | None
    direction: str  # "counterclockwise" | "clockwise" (the route's own winding)
    difficulty: int | None = None
    description: str = ""
    variants: tuple[str, ...] = field(default=())  # sibling worlds of the same track
    rows: int = 0  # rows in the route file
    is_loop: bool = True  # False for an open road (Straight_track)

    @property
    def has_waypoints(self) -> bool:
        """Every catalogued world ships its route (kept for callers that ask)."""
        return True


def _width_in_metres(width: float | None) -> float | None:
    # tracks.json mixes centimetres (107, 76.2) and metres (1.07, 0.95).
    if width is None:
        return None
    return round(width / 100.0, 3) if width > 5 else float(width)


def _route_stems() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files(_ASSETS).iterdir()
                  if p.name.endswith(".npy"))


def _track_id(stem: str, listed: dict) -> str:
    for suffix in _DIRECTION_SUFFIX:
        if stem.endswith(suffix) and stem[:-len(suffix)] in listed:
            return stem[:-len(suffix)]
    return stem


@dataclass(frozen=True)
class RouteStats:
    """What a route measures: centre-line length, median width, winding, rows."""

    length_m: float
    width_m: float
    clockwise: bool
    rows: int
    is_loop: bool


def route_stats(waypoints: np.ndarray) -> RouteStats:
    """Length, median width and winding of a route, for catalogue entries that tracks.json
    does not list (and the direction of every world: its file's own winding)."""
    import numpy as np

    wp = np.asarray(waypoints, dtype=np.float64)
    centre = wp[:, 0:2]
    length = float(np.linalg.norm(np.diff(centre, axis=0), axis=1).sum())
    width = float(np.median(np.linalg.norm(wp[:, 2:4] - wp[:, 4:6], axis=1)))
    x, y = centre[:, 0], centre[:, 1]
    area = float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))  # shoelace: > 0 counter-clockwise
    is_loop = bool(np.array_equal(wp[0], wp[-1]))
    return RouteStats(length, width, is_loop and area < 0, len(wp), is_loop)


@cache
def catalogue() -> dict[str, Track]:
    """All known worlds, keyed by world name, in display order (name, then world)."""
    listed = {e["trackId"]: e for e in json.loads(resources.files(_ASSETS).joinpath(
        "deepracer-on-aws-tracks.json").read_text(encoding="utf-8"))["tracks"]}
    stems = _route_stems()
    ids = {stem: _track_id(stem, listed) for stem in stems}
    tracks: list[Track] = []
    for stem in stems:
        tid = ids[stem]
        entry = listed.get(tid, {})
        stats = route_stats(load_waypoints(stem))
        suffix = _DIRECTION_SUFFIX.get(stem[len(tid):], "")
        name = entry.get("name") or _EXTRA_NAMES.get(stem, stem.replace("_", " "))
        tracks.append(Track(
            world=stem, track_id=tid, name=name + suffix,
            length_m=float(entry["length"]) if "length" in entry else round(stats.length_m, 2),
            width_m=_width_in_metres(entry.get("width")) or round(stats.width_m, 3),
            direction="clockwise" if stats.clockwise else "counterclockwise",
            difficulty=entry.get("difficulty"),
            description=" ".join(entry.get("description", "").split()),
            variants=tuple(s for s in stems if ids[s] == tid), rows=stats.rows,
            is_loop=stats.is_loop))
    tracks.sort(key=lambda t: (t.name.lower(), t.world))
    return {t.world: t for t in tracks}


def get(world: str) -> Track:
    """The track for a world name; KeyError if unknown."""
    try:
        return catalogue()[world]
    except KeyError:
        raise KeyError(world) from None


def get_or_none(world: str, *, waypoints: bool = False) -> Track | None:
    """The catalogue entry of a world, or None. (Every world has waypoints; `waypoints` is
    kept for callers written when only some did.)"""
    return catalogue().get(world)


def worlds_with_waypoints() -> list[str]:
    return list(catalogue())


def load_waypoints(world: str) -> np.ndarray:
    """The (N, 6) float64 route of a world, as its simapp file stores it."""
    import numpy as np

    res = resources.files(_ASSETS).joinpath(f"{world}.npy")
    if "/" in world or "\\" in world or not res.is_file():
        raise FileNotFoundError(f"no route for track {world!r}; `drtui list tracks` shows the "
                                "known world names")
    with res.open("rb") as fh:
        return np.load(fh, allow_pickle=False)


DUPLICATE_EPS_M = 1e-9  # simapp's _sanitize_waypoints tolerance


def sanitize(waypoints: np.ndarray) -> np.ndarray:
    """simapp's _sanitize_waypoints: drop rows whose centre point repeats the previous one,
    keeping a loop's closing row, so waypoint indices match the simulator's (6.0.2 on)."""
    import numpy as np

    wp = np.asarray(waypoints, dtype=np.float64)[:, :6]
    if wp.ndim != 2 or len(wp) < 2:
        raise ValueError(f"a route needs at least 2 rows of 6 columns, got shape {wp.shape}")
    if not np.isfinite(wp).all():
        raise ValueError("the route has non-finite values")
    keep_closing_row = bool(np.array_equal(wp[0], wp[-1])) and len(wp) > 2
    core = wp[:-1] if keep_closing_row else wp
    keep = np.ones(len(core), dtype=bool)
    keep[1:] = np.linalg.norm(np.diff(core[:, :2], axis=0), axis=1) > DUPLICATE_EPS_M
    return np.vstack([core[keep], wp[-1:]]) if keep_closing_row else core[keep]


# ------------------------------------------------------------------ a session's own route

def route_path(route: str | os.PathLike, base_dir: str | os.PathLike | None = None) -> Path:
    """A session's `track.route`, relative to the session file's folder (`base_dir`)."""
    path = Path(route).expanduser()
    return path if path.is_absolute() else Path(base_dir or Path.cwd()) / path


def read_route(path: str | os.PathLike) -> np.ndarray:
    """A route .npy file as simapp reads it: a float array of at least 2 rows and 6 columns,
    finite in those columns. RouteError names the file and the broken rule."""
    import numpy as np

    path = Path(path)
    if path.suffix != ".npy":
        raise RouteError(f"{path}: a route is a NumPy .npy file (simapp's routes/<world>.npy)")
    try:
        wp = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise RouteError(f"{path}: no such route file") from None
    except (OSError, ValueError) as exc:
        raise RouteError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(wp, np.ndarray) or wp.dtype.kind not in "fiu":
        raise RouteError(f"{path}: the route must be an array of numbers (got dtype {wp.dtype})")
    if wp.ndim != 2 or wp.shape[1] < 6:
        raise RouteError(f"{path}: the route must have shape (N, 6): centre x,y, inner x,y, "
                         f"outer x,y per row; got shape {wp.shape}")
    if not np.isfinite(wp[:, :6]).all():
        row, col = (int(v) for v in np.argwhere(~np.isfinite(wp[:, :6]))[0])
        raise RouteError(f"{path}: row {row} column {col} is not a finite number")
    wp = wp.astype(np.float64)
    centre = wp[:, 0:2]
    kept = 1 + int((np.linalg.norm(np.diff(centre, axis=0), axis=1) > 1e-9).sum())
    if kept < 4:
        raise RouteError(f"{path}: the route needs at least 4 distinct centre points "
                         f"(got {kept})")
    return wp


def closure_problems(wp: np.ndarray, key: str, label: str) -> list[Problem]:
    """Closure: simapp drives a loop only when the last row equals the first exactly; a route
    that nearly closes is almost certainly a loop with a typo, one that is far from closing
    is an open road (like simapp's Straight_track)."""
    import numpy as np

    if np.array_equal(wp[0], wp[-1]):
        return []
    gap = float(np.linalg.norm(wp[0, :2] - wp[-1, :2]))
    width = float(np.linalg.norm(wp[0, 2:4] - wp[0, 4:6]))
    if gap <= max(width, 0.05):
        return [Problem(key, f"{label}: the last row is {gap * 100:.1f} cm from the first but "
                             "not equal to it, so simapp would drive it as an open road, not a "
                             "loop; repeat the first row as the last row to close it")]
    return [Problem(key, f"{label}: an open route (its last row does not repeat the first, "
                         f"{gap:.2f} m away): episodes end at its far end, as on simapp's "
                         "Straight_track", severity="warning")]


def route_problems(route: str | os.PathLike, base_dir: str | os.PathLike | None = None,
                   key: str = "track.route") -> list[Problem]:
    """Every problem of a session's route file: readable shape, then closure."""
    path = route_path(route, base_dir)
    try:
        wp = read_route(path)
    except RouteError as exc:
        return [Problem(key, str(exc).replace(str(path), str(route), 1))]
    return closure_problems(wp, key, str(route))


def session_route_problems(session, base_dir: str | os.PathLike | None = None) -> list[Problem]:
    """The route problems of a session: its [track] route file, and workers' routes (which
    nothing drives yet: the run folder copies the session's route only)."""
    out = route_problems(session.track.route, base_dir) if session.track.route else []
    if session.track.route and session.backend.runner != "embedded":
        out.append(Problem("track.route", f"runner {session.backend.runner} drives simapp's own "
                           f"route of {session.track.world!r} (DR_WORLD_NAME); this file is used "
                           "by drtui's simulator, reward check and pictures only",
                           severity="warning"))
    return out + [Problem(f"workers[worker={w.worker}].track.route",
                          "a worker cannot drive a route file of its own yet: set the "
                          "session's [track] route, or give the worker a simapp world")
                  for w in session.workers if w.track is not None and w.track.route]


def session_waypoints(track, base_dir: str | os.PathLike | None = None) -> np.ndarray:
    """The route a session's [track] drives: its own `route` file, else its world's."""
    route = getattr(track, "route", None)
    if route:
        return read_route(route_path(route, base_dir))
    return load_waypoints(track.world)


def waypoints_of(world_or_route: str | os.PathLike) -> np.ndarray:
    """The route of a world name, or of a route .npy file (what route_source gives): the one
    reader behind the simulator, the track maps and the analysis pictures."""
    if Path(world_or_route).suffix == ".npy":
        return read_route(world_or_route)
    return load_waypoints(str(world_or_route))


def route_source(track, base_dir: str | os.PathLike | None = None) -> str:
    """What drtui.sim.track.load_track takes for a session's [track]: the route file's
    resolved path when it names one, else the world name."""
    route = getattr(track, "route", None)
    return str(route_path(route, base_dir).resolve()) if route else track.world
