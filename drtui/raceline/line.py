"""A racing line for a route: its points, the car's planned speed and steering at each, and
the lap time, from the track's waypoints and drtui's car model.

    line = racing_line(load_waypoints("reInvent2019_track"))
    line.length_m, line.lap_time_s, line.speed.min()

The route may be a shipped world's or a session's own (drtui.catalog.tracks.waypoints_of).
Driving a route in reverse is the same line driven the other way: pass the reversed rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drtui.raceline.geometry import (
    TARGET_SPACING_M,
    Sections,
    curvature,
    sections,
    segment_lengths,
)
from drtui.raceline.k1999 import DEFAULT_ITERATIONS, k1999_multires
from drtui.raceline.speed import (
    CarLimits,
    flying_lap_time,
    speed_profile,
    standing_lap,
    steering_for,
)
from drtui.sim import car_spec

METHODS = ("k1999", "centre")
SAFETY_BAND_M = 0.05  # beyond half the car's width: room for the policy's wobble
DEFAULT_MARGIN_M = round(car_spec.CAR_FOOTPRINT_M[0] / 2 + SAFETY_BAND_M, 3)


@dataclass(frozen=True)
class RacingLine:
    """A line's points (N, 2) (a loop's first point not repeated), the speed (m/s) and
    steering (degrees) planned at each, and what a lap along it measures."""

    method: str
    points: np.ndarray
    speed: np.ndarray  # flying lap: what the car can hold at each point
    steering: np.ndarray
    curvature: np.ndarray  # signed, 1/m, positive turning left
    is_loop: bool
    margin_m: float
    limits: CarLimits
    lap_time_s: float  # from rest at the first point round to it again, as DeepRacer times
    flying_lap_time_s: float  # one lap already at speed
    sections: Sections

    @property
    def ds(self) -> np.ndarray:
        return segment_lengths(self.points, self.is_loop)

    @property
    def length_m(self) -> float:
        return float(self.ds.sum())

    def summary(self) -> dict:
        return {"method": self.method, "points": len(self.points),
                "length_m": round(self.length_m, 3), "lap_time_s": round(self.lap_time_s, 3),
                "flying_lap_time_s": round(self.flying_lap_time_s, 3),
                "min_speed": round(float(self.speed.min()), 3),
                "max_speed": round(float(self.speed.max()), 3),
                "min_radius_m": round(1.0 / max(float(np.abs(self.curvature).max()), 1e-9), 3),
                "margin_m": self.margin_m, "is_loop": self.is_loop,
                "speed_range": [self.limits.min_speed, self.limits.max_speed],
                "max_steering_deg": self.limits.max_steering_deg}

    def as_dict(self) -> dict:
        """The summary and every point as [x, y, speed, steering] (JSON-ready)."""
        rows = np.column_stack([self.points, self.speed, self.steering])
        return {**self.summary(), "columns": ["x", "y", "speed", "steering_angle"],
                "line": [[round(float(v), 4) for v in row] for row in rows]}


def racing_line(waypoints: np.ndarray, *, method: str = "k1999",
                margin: float = DEFAULT_MARGIN_M, limits: CarLimits = CarLimits(),
                iterations: int = DEFAULT_ITERATIONS,
                spacing: float = TARGET_SPACING_M) -> RacingLine:
    """The racing line of a route (N, 6): `method` k1999 (Coulom's line) or centre (the
    centre line, for comparison), kept `margin` metres inside both borders."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)} (got {method!r})")
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be within 0 .. 1 m (got {margin:g})")
    sec = sections(np.asarray(waypoints, dtype=np.float64), margin, spacing)
    lanes = (k1999_multires(sec, iterations) if method == "k1999"
             else np.clip(np.full(len(sec), 0.5), sec.lo, sec.hi))
    pts = sec.points(lanes)
    ds = segment_lengths(pts, sec.is_loop)
    kappa = curvature(pts, sec.is_loop)
    speed = speed_profile(kappa, ds, sec.is_loop, limits)
    _, lap = standing_lap(kappa, ds, sec.is_loop, limits)
    return RacingLine(method, pts, speed, steering_for(kappa, speed, limits), kappa,
                      sec.is_loop, float(margin), limits, lap,
                      flying_lap_time(speed, ds, sec.is_loop), sec)
