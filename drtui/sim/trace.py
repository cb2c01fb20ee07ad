"""`drtui sim trace TRACK SIMTRACE.csv`: the params a reward function saw, from a real log.

Each row of a simtrace CSV has the car's front point (X, Y), its heading (yaw, degrees) and the
commanded action; from those the simulator's geometry (drtui.sim.params.measure, float64, every
projection computed as simapp does) recomputes everything else the reward function was given.
Progress is measured from each episode's own start: the car origin of its first row (the spawn
pose, 0.14 m behind the front point) projected on the centre line. Object keys cannot be
recovered from a simtrace and keep their defaults.

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


def _read(csv_path: str | Path) -> list[dict]:
    from drtui.errors import InvalidInput

    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput([f"{csv_path}: not a simtrace CSV (no {', '.join(missing)} column)"])
        return list(reader)


def trace(world: str, csv_path: str | Path, *, reverse: bool = False, waypoints: bool = False,
          keep_duplicates: bool = False) -> Iterator[dict]:
    """One record per CSV row: {"episode", "steps", "closest_waypoint", "episode_status",
    "params"}. `world` is a world name with shipped waypoints or a route .npy file;
    `reverse` drives it backwards (REVERSE_DIR). `waypoints` keeps the (long) waypoint list in
    each params dict. `keep_duplicates` indexes waypoints as simapp before 6.0.2 did, without
    dropping a route's duplicate rows (logs from those versions count them)."""
    import torch

    from drtui.sim.car import FRONT_OFFSET_M, body_points, wheel_offsets
    from drtui.sim.params import measure, progress
    from drtui.sim.track import load_track

    rows = _read(csv_path)
    track = load_track(str(world), torch.float64, keep_duplicates)
    lines = track.lines(reverse)
    offsets = wheel_offsets(torch.float64)
    for episode in _episodes(rows):
        front = torch.tensor([[float(r["X"]), float(r["Y"])] for r in episode], dtype=torch.float64)
        yaw = torch.deg2rad(torch.tensor([float(r["yaw"]) for r in episode], dtype=torch.float64))
        origin = front - FRONT_OFFSET_M * torch.stack([torch.cos(yaw), torch.sin(yaw)], -1)
        wheels = body_points(origin[:, 0], origin[:, 1], yaw, offsets)
        m = measure(track, lines, front, yaw, wheels, exact=True)
        start_ndist = lines.centre.project(origin[:1])[0] / track.length
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


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The command's arguments (cheap: no torch)."""
    p.add_argument("track", help="world name with shipped waypoints (drtui list tracks), "
                   "or a route .npy file")
    p.add_argument("simtrace", help="simtrace CSV (e.g. training-simtrace/0-iteration.csv)")
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
