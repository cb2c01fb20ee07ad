"""The sensor catalogue and the simulator's rule for combining sensors.

Simapp accepts exactly one camera and at most one lidar (deepracer-simapp
bundle/markov/agents/utils.py construct_sensor); anything else stops training at start.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sensor:
    name: str
    kind: str  # "camera" | "lidar"
    observation: str
    description: str


SENSORS: dict[str, Sensor] = {s.name: s for s in [
    Sensor("FRONT_FACING_CAMERA", "camera", "160x120 grayscale image",
           "One front camera; the standard DeepRacer input."),
    Sensor("LEFT_CAMERA", "camera", "160x120 grayscale image",
           "The left lens of the stereo pair used as a single camera."),
    Sensor("STEREO_CAMERAS", "camera", "160x120x2 grayscale images",
           "Two front cameras: depth cues for object avoidance and head-to-head racing."),
    Sensor("LIDAR", "lidar", "64 ranges clipped to 0.15-1.0 m",
           "360-degree lidar behind the car: sees cars and boxes beside and behind."),
    Sensor("SECTOR_LIDAR", "lidar", "8 binary sectors (object within 0.5 m)",
           "Lidar reduced to 8 occupied/free sectors: a cheap blind-spot sensor."),
    Sensor("DISCRETIZED_SECTOR_LIDAR", "lidar", "sectors x values per sector in [0, 1]",
           "Lidar reduced to configurable sectors and distance bins (lidar_config)."),
]}
CAMERAS = tuple(n for n, s in SENSORS.items() if s.kind == "camera")
LIDARS = tuple(n for n, s in SENSORS.items() if s.kind == "lidar")


def sensor_problems(names: list[str]) -> list[str]:
    """Every rule the combination breaks, one message each; empty when the simulator accepts it."""
    problems = []
    unknown = [n for n in names if n not in SENSORS]
    for n in unknown:
        problems.append(f"unknown sensor {n!r}: choose from {', '.join(SENSORS)}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    for n in dupes:
        problems.append(f"sensor {n} is listed more than once")
    cameras = [n for n in dict.fromkeys(names) if n in CAMERAS]
    lidars = [n for n in dict.fromkeys(names) if n in LIDARS]
    if not cameras:
        problems.append("exactly one camera is required (FRONT_FACING_CAMERA, LEFT_CAMERA or "
                        "STEREO_CAMERAS); none is listed")
    elif len(cameras) > 1:
        problems.append(f"exactly one camera is allowed; {_listed(cameras)} are {len(cameras)} "
                        "cameras")
    if len(lidars) > 1:
        problems.append(f"at most one lidar is allowed; {_listed(lidars)} are {len(lidars)} "
                        "lidars")
    return problems


def parse_sensor_list(text: str) -> list[str]:
    """'SECTOR_LIDAR, FRONT_FACING_CAMERA' -> ['SECTOR_LIDAR', 'FRONT_FACING_CAMERA']."""
    return [part.strip().upper() for part in text.split(",") if part.strip()]


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
