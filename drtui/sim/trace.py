"""`drtui sim trace TRACK SIMTRACE.csv`: the params a reward function saw, from a real log.

Each row of a simtrace CSV has the car's front point (X, Y), its heading (yaw, degrees) and the
commanded action; from those the simulator's geometry (drtui.sim.params.measure, float64, every
projection computed as simapp does) recomputes everything else the reward function was given.
Progress is measured from each episode's own start line: the car origin of its first row (the
spawn pose, 0.14 m behind the front point) projected on the centre line. simapp moves the start
line by a fixed lap fraction each training episode (round robin), and its first row of an
episode sometimes still holds the pose before the reset landed; so the start lines of a file's
episodes are fitted to that rule, and an episode whose first row is off the fitted line takes
the line instead. Object keys cannot be recovered from a simtrace and keep their defaults.

This module imports torch only when `trace` runs, so a CLI can add its arguments cheaply.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

REQUIRED_COLUMNS = ("episode", "steps", "X", "Y", "yaw", "steer", "throttle", "tstamp")


def _episodes(rows: list[dict]) -> Iterator[list[dict]]:
    """Consecutive rows with the same episode number."""
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i]["episode"] != rows[start]["episode"]:
            yield rows[start:i]
            start = i


def _read(path: str | Path) -> list[dict]:
    """The rows of a simtrace CSV, or of the SIM_TRACE_LOG lines of a robomaker/simulation
    log (the same fields, keyed by the CSV's column names)."""
    from drtui.errors import InvalidInput
    from drtui.logs.parser import parse_step

    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        header = fh.readline().strip().split(",")
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        fh.seek(0)
        if not missing:
            return list(csv.DictReader(fh))
        rows = [_log_row(step) for step in map(parse_step, fh) if step is not None]
    if not rows:
        raise InvalidInput([f"{path}: not a simtrace CSV (no {', '.join(missing)} column) nor a "
                            "log with SIM_TRACE_LOG lines"])
    return rows


def _log_row(step) -> dict:
    """A SIM_TRACE_LOG step as the simtrace CSV writes the same fields."""
    return {"episode": str(step.episode), "steps": str(step.steps), "X": step.x, "Y": step.y,
            "yaw": step.yaw, "steer": step.steer, "throttle": step.throttle,
            "progress": step.progress, "closest_waypoint": str(step.closest_waypoint),
            "track_len": step.track_len, "tstamp": step.tstamp,
            "all_wheels_on_track": str(step.all_wheels_on_track),
            "episode_status": step.episode_status or ""}


def trace(world: str, csv_path: str | Path, *, reverse: bool = False, waypoints: bool = False,
          keep_duplicates: bool = False) -> Iterator[dict]:
    """One record per simtrace row (a CSV row or a log's SIM_TRACE_LOG line): {"episode",
    "steps", "closest_waypoint", "episode_status", "params"}. `world` is a simapp world name
    (its own route file) or a route .npy file; `reverse` drives it backwards (REVERSE_DIR).
    `waypoints` keeps the (long) waypoint list in each params dict. `keep_duplicates` indexes
    waypoints as simapp before 6.0.2 did, without dropping a route's duplicate rows (logs from
    those versions count them)."""
    import torch

    from drtui.catalog.tracks import RouteError
    from drtui.errors import InvalidInput
    from drtui.sim.car import FRONT_OFFSET_M, body_points, wheel_offsets
    from drtui.sim.params import measure, progress
    from drtui.sim.track import load_track

    try:
        track = load_track(str(world), torch.float64, keep_duplicates)
    except (FileNotFoundError, RouteError) as exc:
        raise InvalidInput([f"track: {exc}"]) from None
    rows = _read(csv_path)
    lines = track.lines(reverse)
    offsets = wheel_offsets(torch.float64)
    episodes = list(_episodes(rows))

    def origins(episode: list[dict]) -> tuple[torch.Tensor, ...]:
        front = torch.tensor([[float(r["X"]), float(r["Y"])] for r in episode], dtype=torch.float64)
        yaw = torch.deg2rad(torch.tensor([float(r["yaw"]) for r in episode], dtype=torch.float64))
        heading = torch.stack([torch.cos(yaw), torch.sin(yaw)], -1)
        return front, yaw, front - FRONT_OFFSET_M * heading

    spawn = [float(lines.centre.project(origins(e[:1])[2])[0]) / track.length for e in episodes]
    starts = start_lines([int(e[0]["episode"]) for e in episodes], spawn)
    for episode, start in zip(episodes, starts, strict=True):
        front, yaw, origin = origins(episode)
        wheels = body_points(origin[:, 0], origin[:, 1], yaw, offsets)
        m = measure(track, lines, front, yaw, wheels, exact=True)
        start_ndist = torch.tensor([start], dtype=torch.float64)
        wheels_on = m.wheels_on.tolist()
        prev = torch.zeros(1, dtype=torch.float64)
        for i, row in enumerate(episode):
            prog = progress(m.ndist[i:i + 1], start_ndist, prev)
            prev = torch.where(prog == 100.0, 0.0, prog)
            params = {
                "all_wheels_on_track": all(wheels_on[i]),
                "x": float(row["X"]),
                "y": float(row["Y"]),
                "heading": float(row["yaw"]),
                "distance_from_center": float(m.distance_from_center[i]),
                "is_left_of_center": bool(m.is_left_of_center[i]),
                "is_reversed": reverse,
                "is_offtrack": not any(wheels_on[i]),
                "is_crashed": row.get("episode_status") == "crashed",
                "progress": float(prog[0]),
                "speed": float(row["throttle"]),
                "steering_angle": float(row["steer"]),
                "steps": int(float(row["steps"])),
                "track_length": track.length,
                "track_width": float(m.track_width[i]),
                "closest_waypoints": [int(m.prev_wp[i]), int(m.next_wp[i])],
                "projection_distance": float(m.along[i]),
                "sim_time": float(row["tstamp"]),
                "closest_objects": [0, 0],
                "objects_location": [],
                "objects_left_of_center": [],
                "objects_heading": [],
                "objects_speed": [],
                "objects_distance": [],
                "objects_distance_from_center": [],
                "object_in_camera": False,
            }
            if waypoints:
                params["waypoints"] = [list(p) for p in lines.waypoints]
            yield {"episode": int(row["episode"]), "steps": params["steps"],
                   "closest_waypoint": int(m.closest_waypoint[i]),
                   "episode_status": row.get("episode_status", ""), "params": params}


STALE_START = 0.002  # lap fraction: a first row this far off the fitted start line is stale


def start_lines(episodes: list[int], spawn: list[float]) -> list[float]:
    """Each episode's start line (lap fraction) from the lap fractions of its first-row car
    origin. simapp's rule (rollout_agent_ctrl.finish_episode): start = offset + k * advance,
    wrapped, for training episode k. The rule is fitted robustly (medians, Theil-Sen), so the
    few stale first rows do not move it; an episode keeps its own spawn point unless that is
    more than STALE_START off the fitted line. Fewer than 3 episodes: the spawn points."""
    import numpy as np

    k, o = np.asarray(episodes, dtype=float), np.asarray(spawn, dtype=float)
    if len(k) < 3:
        return list(o)
    wrap = lambda a: (a + 0.5) % 1.0 - 0.5  # noqa: E731  (to [-0.5, 0.5))
    dk = np.diff(k)
    rough = float(np.median(wrap(np.diff(o))[dk > 0] / dk[dk > 0])) if (dk > 0).any() else 0.0
    unwrapped = o + np.round(o[0] + (k - k[0]) * rough - o)  # continuous along the rough line
    i, j = np.triu_indices(len(k), 1)
    apart = k[j] != k[i]
    advance = float(np.median((unwrapped[j] - unwrapped[i])[apart] / (k[j] - k[i])[apart])) \
        if apart.any() else 0.0
    offset = float(np.median(unwrapped - advance * k))
    line = (offset + advance * k) % 1.0
    return list(np.where(np.abs(wrap(o - line)) > STALE_START, line, o))


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The command's arguments (cheap: no torch)."""
    p.add_argument("track", help="simapp world name (drtui list tracks), "
                   "or a route .npy file")
    p.add_argument("simtrace", help="simtrace CSV (e.g. training-simtrace/0-iteration.csv), "
                   "or a robomaker/simulation log with SIM_TRACE_LOG lines")
    p.add_argument("--reverse", action="store_true",
                   help="the track was driven in reverse (DR_TRAIN_REVERSE_DIRECTION)")
    p.add_argument("--waypoints", action="store_true",
                   help="include the waypoint list in every params dict")
    p.add_argument("--keep-duplicates", action="store_true",
                   help="index waypoints as simapp before 6.0.2 (logs up to March 2026): "
                   "keep a route's duplicate rows")
    return p


def run(args: argparse.Namespace) -> int:
    """Print one JSON line per simtrace row."""
    out = sys.stdout
    for record in trace(args.track, args.simtrace, reverse=args.reverse,
                        waypoints=args.waypoints, keep_duplicates=args.keep_duplicates):
        out.write(json.dumps(record) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drtui sim trace", description=__doc__.split("\n\n")[0])
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
