"""Speed along a line from drtui's car model (drtui.sim.car_spec): how fast the car can take
each point, how fast it can get there, and the lap time that gives.

The model is the simulator's: a kinematic bicycle whose yaw rate is
v cos(beta) tan(delta) / (L (1 + K v^2)), steering within +-30 degrees, and speed following
its command with a time constant. So the car has no grip limit, but a turning limit that
tightens with speed (understeer): it follows curvature k only while
cos(beta) tan(30 deg) / (L (1 + K v^2)) >= |k|. Along the line, speed may rise no faster
than the lag lets it approach the top speed, (v_top - v) / tau, and fall no faster than it
approaches the lowest command, (v - v_low) / tau: a forward and a backward pass (the usual
acceleration-limited profile) give the fastest speeds the car can hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from drtui.sim import car_spec


@dataclass(frozen=True)
class CarLimits:
    """What the plan may command: the action space's speed range and steering limit."""

    min_speed: float = car_spec.MIN_SPEED
    max_speed: float = car_spec.MAX_SPEED
    max_steering_deg: float = car_spec.MAX_STEERING_DEG

    def __post_init__(self) -> None:
        if not car_spec.MIN_SPEED <= self.min_speed < self.max_speed <= car_spec.MAX_SPEED:
            raise ValueError(f"speeds must satisfy {car_spec.MIN_SPEED:g} <= min_speed < "
                             f"max_speed <= {car_spec.MAX_SPEED:g} m/s (got {self.min_speed:g}"
                             f" .. {self.max_speed:g})")
        if not 0 < self.max_steering_deg <= car_spec.MAX_STEERING_DEG:
            raise ValueError(f"max_steering_deg must be within 0 .. "
                             f"{car_spec.MAX_STEERING_DEG:g} (got {self.max_steering_deg:g})")


def _turn_gain(tan_delta: np.ndarray | float) -> np.ndarray | float:
    """cos(beta) tan(delta): the path curvature per 1/L at low speed, beta the slip angle
    of the car's origin (midway between the axles)."""
    ratio = car_spec.REAR_AXLE_M / car_spec.WHEELBASE_M
    return tan_delta / np.sqrt(1.0 + (ratio * tan_delta) ** 2)


def max_curvature(speed: np.ndarray | float, limits: CarLimits = CarLimits()) -> np.ndarray:
    """The tightest curvature (1/m) the car follows at a speed, full steering."""
    gain = _turn_gain(math.tan(math.radians(limits.max_steering_deg)))
    v = np.asarray(speed, dtype=np.float64)
    return gain / (car_spec.WHEELBASE_M * (1.0 + car_spec.UNDERSTEER * v * v))


def cornering_speed(kappa: np.ndarray, limits: CarLimits = CarLimits()) -> np.ndarray:
    """The fastest speed (m/s) at which the car follows curvature kappa (1/m), within the
    limits' speed range (a corner too tight even at the lowest speed gets the lowest)."""
    k = np.abs(np.asarray(kappa, dtype=np.float64))
    k0 = float(max_curvature(0.0, limits))
    with np.errstate(divide="ignore", invalid="ignore"):
        v2 = (k0 / k - 1.0) / car_spec.UNDERSTEER
    v = np.sqrt(np.clip(np.nan_to_num(v2, nan=0.0, posinf=np.inf), 0.0, None))
    return np.clip(v, limits.min_speed, limits.max_speed)


def steering_for(kappa: np.ndarray, speed: np.ndarray,
                 limits: CarLimits = CarLimits()) -> np.ndarray:
    """The steering angle (degrees, positive left) that holds curvature kappa at a speed:
    the model's turn equation solved for delta, within the steering limit."""
    c = np.asarray(kappa, float) * car_spec.WHEELBASE_M * (
        1.0 + car_spec.UNDERSTEER * np.asarray(speed, float) ** 2)
    ratio = car_spec.REAR_AXLE_M / car_spec.WHEELBASE_M
    # c = T / sqrt(1 + (ratio T)^2)  =>  T = c / sqrt(1 - (ratio c)^2)
    room = np.clip(1.0 - (ratio * c) ** 2, 1e-9, None)
    deg = np.degrees(np.arctan(c / np.sqrt(room)))
    return np.clip(deg, -limits.max_steering_deg, limits.max_steering_deg)


def _brake_limited(cap: np.ndarray, ds: np.ndarray, is_loop: bool, v_low: float
                   ) -> np.ndarray:
    """cap lowered wherever the car could not brake down to the next points' caps in time
    (a loop goes round twice so a corner just after the start slows the end of the lap).
    The lag's deceleration is taken at each segment's mean speed, so braking towards the
    lowest speed still makes headway (at the faster end's rate it would never get there)."""
    v, n, tau = cap.copy(), len(cap), car_spec.SPEED_TAU_S
    last = n - 1 if is_loop else n - 2
    for i in list(range(last, -1, -1)) * (2 if is_loop else 1):
        j = (i + 1) % n
        # v_i^2 = v_j^2 + 2 ds a, a = (mean speed - v_low) / tau, solved for v_i
        h = ds[i] / tau
        v[i] = min(v[i], (h + math.sqrt(max(h * h + 4.0 * (v[j] ** 2 + h * (v[j] - 2.0 * v_low)),
                                            0.0))) / 2.0)
    return v


def _accel_limited(cap: np.ndarray, ds: np.ndarray, v0: float, v_top: float) -> np.ndarray:
    """Speeds from v0 at point 0 on, accelerating as the lag allows, never above cap."""
    out, tau = cap.copy(), car_spec.SPEED_TAU_S
    out[0] = min(v0, cap[0])
    for i in range(1, len(cap)):
        # v_i^2 = v_0^2 + 2 ds a, a = (v_top - mean speed) / tau, solved for v_i
        h, v0 = ds[i - 1] / tau, out[i - 1]
        reach = (math.sqrt(h * h + 4.0 * (v0 * v0 + h * (2.0 * v_top - v0))) - h) / 2.0
        out[i] = min(cap[i], reach)
    return out


def speed_profile(kappa: np.ndarray, ds: np.ndarray, is_loop: bool,
                  limits: CarLimits = CarLimits()) -> np.ndarray:
    """Speeds (N,) the car can hold along a line with curvatures kappa (N,) and segment
    lengths ds (N,) (ds[i] from point i to the next): a flying lap, periodic on a loop; an
    open road from rest at its start."""
    cap = _brake_limited(cornering_speed(kappa, limits), ds, is_loop, limits.min_speed)
    if not is_loop:
        return _accel_limited(cap, ds, 0.0, limits.max_speed)
    start = int(np.argmin(cap))  # the slowest point holds its cap whatever comes before
    order = np.roll(np.arange(len(cap)), -start)
    out = np.empty_like(cap)
    out[order] = _accel_limited(cap[order], ds[order], cap[start], limits.max_speed)
    return out


def standing_lap(kappa: np.ndarray, ds: np.ndarray, is_loop: bool,
                 limits: CarLimits = CarLimits()) -> tuple[np.ndarray, float]:
    """The lap as DeepRacer times it: from rest at point 0 to point 0 again (an open road:
    to its end). Speeds at the points passed (a loop's finish included) and the time."""
    cap = _brake_limited(cornering_speed(kappa, limits), ds, is_loop, limits.min_speed)
    if is_loop:
        cap, ds = np.append(cap, cap[0]), np.append(ds, 0.0)
    v = _accel_limited(cap, ds, 0.0, limits.max_speed)
    return v, travel_time(v, ds[:-1])


def travel_time(speed: np.ndarray, ds: np.ndarray) -> float:
    """Seconds over segments ds (M,) between points at speeds (M + 1,): each segment at
    constant acceleration between its ends' speeds (time = 2 ds / (v0 + v1))."""
    v = np.asarray(speed, float)
    return float(np.sum(2.0 * ds / np.maximum(v[:-1] + v[1:], 1e-9)))


def flying_lap_time(speed: np.ndarray, ds: np.ndarray, is_loop: bool) -> float:
    """Seconds for one lap at speeds already up (a loop's last segment closes it)."""
    v = np.asarray(speed, float)
    if is_loop:
        return travel_time(np.append(v, v[0]), ds)
    return travel_time(v, ds[:-1])
