"""The track catalogue: every simapp world name a session may train on.

Display names, lengths, widths and descriptions come from DeepRacer on AWS's tracks.json
(shipped unchanged in assets/tracks, Apache-2.0). World names follow deepracer-simapp 6:
some tracks exist only as `_ccw`/`_cw` routes. Waypoint arrays (N x 6: centre, inner, outer
x/y in metres) ship for the tracks the embedded simulator can drive; a `_cw` route is the
`_ccw` route driven backwards, as the simulator does when it reverses a track.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported only when waypoints are read
    import numpy as np

# Tracks for which simapp 6 ships `<id>_ccw` and `<id>_cw` routes (deepracer-simapp bundle/routes).
_DIRECTION_VARIANTS = frozenset(
    [f"2022_{m}_{lvl}" for m in ("april", "august", "june", "march", "may", "october", "september")
     for lvl in ("open", "pro")]
    + ["2022_july_pro", "2022_reinvent_champ", "2022_summit_speedway", "2024_reinvent_champ",
       "arctic_open", "arctic_pro", "dubai_open", "jyllandsringen_open", "jyllandsringen_pro",
       "penbay_open", "penbay_pro", "red_star_pro", "reInvent2019_track", "reInvent2019_wide",
       "thunder_hill_pro"]
)
# Simapp 6 removed the plain route of these: only the direction variants exist.
_VARIANT_ONLY = frozenset(["2022_reinvent_champ", "2024_reinvent_champ"])

# Routes in simapp that DeepRacer on AWS does not list: (world, display name, length m, width m).
_SIMAPP_EXTRAS = [
    ("AWS_track", "AWS Track", None, None),
    ("Straight_track", "Straight Track", None, None),
    ("Bowtie_track", "Bowtie Track", 17.43, None),
    ("Canada_Training", "Toronto Turnpike Training", 21.74, None),
    ("China_track", "Shanghai Sudu Training", 22.92, None),
    ("Singapore_f1", "Singapore F1", None, None),
    ("Spain_track_f1", "Spain F1", None, None),
    ("reinvent_carpet", "re:Invent 2018 (carpet)", 17.6, 0.762),
    ("reinvent_concrete", "re:Invent 2018 (concrete)", 17.6, 0.762),
    ("reinvent_wood", "re:Invent 2018 (wood)", 17.6, 0.762),
    ("reInvent2019_wide_mirrored", "A to Z Speedway (mirrored)", 16.64, 1.067),
    ("2022_summit_speedway_mini", "RL Speedway (mini)", None, None),
]

# Waypoint files shipped in assets/tracks (the world name is the file stem).
_SHIPPED_WAYPOINTS = frozenset(
    ["reInvent2019_track", "reinvent_base", "reInvent2019_wide", "2022_reinvent_champ_ccw",
     "2024_reinvent_champ_ccw", "2022_summit_speedway"]
)


@dataclass(frozen=True)
class Track:
    """One simapp world (a route file), as DR_WORLD_NAME names it."""

    world: str
    track_id: str  # DeepRacer on AWS trackId: the world without `_cw`/`_ccw`
    name: str
    length_m: float | None
    width_m: float | None
    direction: str  # "counterclockwise" | "clockwise"
    difficulty: int | None = None
    description: str = ""
    variants: tuple[str, ...] = field(default=())  # sibling worlds of the same track

    @property
    def has_waypoints(self) -> bool:
        return _waypoint_source(self.world) is not None


def _width_in_metres(width: float | None) -> float | None:
    # tracks.json mixes centimetres (107, 76.2) and metres (1.07, 0.95).
    if width is None:
        return None
    return round(width / 100.0, 3) if width > 5 else float(width)


@cache
def catalogue() -> dict[str, Track]:
    """All known worlds, keyed by world name, in display order."""
    raw = json.loads(resources.files("drtui.assets.tracks").joinpath(
        "deepracer-on-aws-tracks.json").read_text(encoding="utf-8"))["tracks"]
    tracks: dict[str, Track] = {}
    for entry in sorted(raw, key=lambda e: e["name"].lower()):
        tid = entry["trackId"]
        worlds: list[tuple[str, str]] = []
        if tid not in _VARIANT_ONLY:
            worlds.append((tid, "counterclockwise"))
        if tid in _DIRECTION_VARIANTS:
            worlds += [(f"{tid}_ccw", "counterclockwise"), (f"{tid}_cw", "clockwise")]
        names = tuple(w for w, _ in worlds)
        for world, direction in worlds:
            suffix = {"_ccw": " (counter-clockwise)", "_cw": " (clockwise)"}.get(
                world[len(tid):], "")
            tracks[world] = Track(
                world=world, track_id=tid, name=entry["name"] + suffix,
                length_m=float(entry["length"]), width_m=_width_in_metres(entry.get("width")),
                direction=direction, difficulty=entry.get("difficulty"),
                description=" ".join(entry.get("description", "").split()), variants=names,
            )
    for world, name, length, width in _SIMAPP_EXTRAS:
        tracks.setdefault(world, Track(world, world, name, length, width, "counterclockwise",
                                       variants=(world,)))
    return tracks


def get(world: str) -> Track:
    """The track for a world name; KeyError with the known names' count if unknown."""
    try:
        return catalogue()[world]
    except KeyError:
        raise KeyError(world) from None


def _waypoint_source(world: str) -> tuple[str, bool] | None:
    """(shipped file stem, reversed?) that gives this world's waypoints, or None."""
    if world in _SHIPPED_WAYPOINTS:
        return world, False
    if world.endswith("_ccw") and world[:-4] in _SHIPPED_WAYPOINTS:
        return world[:-4], False  # the plain route of these tracks is counter-clockwise
    if world.endswith("_cw"):
        base = world[:-3]
        for stem in (f"{base}_ccw", base):
            if stem in _SHIPPED_WAYPOINTS:
                return stem, True
    return None


def get_or_none(world: str, *, waypoints: bool = False) -> Track | None:
    """The catalogue entry of a world, or None (also when waypoints are asked and missing)."""
    track = catalogue().get(world)
    return None if track is None or (waypoints and not track.has_waypoints) else track


def worlds_with_waypoints() -> list[str]:
    return [w for w, t in catalogue().items() if t.has_waypoints]


def load_waypoints(world: str) -> np.ndarray:
    """The (N, 6) float64 waypoint array of a world, in its driving direction."""
    import numpy as np

    source = _waypoint_source(world)
    if source is None:
        raise FileNotFoundError(
            f"no waypoints shipped for track {world!r}; tracks with waypoints: "
            + ", ".join(worlds_with_waypoints()))
    stem, reverse = source
    with resources.files("drtui.assets.tracks").joinpath(f"{stem}.npy").open("rb") as fh:
        points = np.load(fh)
    return points[::-1].copy() if reverse else points
