"""A discrete action space from a racing line (the Capstone method, dgnzlz/Capstone_AWS_
DeepRacer): the (steering, speed) the car model needs at each point of the line, sampled
with noise (a policy never drives the line exactly), clustered by k-means into the actions
that cover it, plus recovery actions (full lock both ways, slowly) to get back to it."""

from __future__ import annotations

import numpy as np

from drtui.raceline.line import RacingLine

DEFAULT_ACTIONS = 13
NOISE_COPIES = 16  # noisy samples per line point
STEER_NOISE_DEG = 3.0
SPEED_NOISE = 0.08  # of the planned speed
RECOVERY_SPEED = 1.0  # m/s (or the plan's slowest command, if higher) at full lock
KMEANS_ROUNDS = 40


def _kmeans(data: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Centres (k, D) of data (M, D) by Lloyd's k-means from a k-means++ start."""
    centres = [data[rng.integers(len(data))]]
    for _ in range(1, k):
        d2 = np.min(((data[:, None] - np.array(centres)[None]) ** 2).sum(-1), 1)
        centres.append(data[rng.choice(len(data), p=d2 / d2.sum())] if d2.sum() > 0
                       else data[rng.integers(len(data))])
    c = np.array(centres)
    for _ in range(KMEANS_ROUNDS):
        label = ((data[:, None] - c[None]) ** 2).sum(-1).argmin(1)
        new = np.array([data[label == j].mean(0) if np.any(label == j) else c[j]
                        for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c


def line_actions(line: RacingLine, n: int = DEFAULT_ACTIONS, seed: int = 0,
                 recovery: bool = True) -> list[dict]:
    """n discrete actions [{"steering_angle", "speed"}] covering the line's steering and
    speed, within its limits, sorted by steering then speed."""
    if not 2 <= n <= 30:
        raise ValueError(f"an action space from the line has 2..30 actions (got {n})")
    lim = line.limits
    rng = np.random.default_rng(seed)
    steer = np.repeat(line.steering, NOISE_COPIES)
    speed = np.repeat(line.speed, NOISE_COPIES)
    steer = np.clip(steer + rng.normal(0, STEER_NOISE_DEG, steer.shape),
                    -lim.max_steering_deg, lim.max_steering_deg)
    speed = np.clip(speed * (1 + rng.normal(0, SPEED_NOISE, speed.shape)),
                    lim.min_speed, lim.max_speed)
    slow = max(lim.min_speed, min(RECOVERY_SPEED, lim.max_speed))
    manual = ([(-lim.max_steering_deg, slow), (lim.max_steering_deg, slow)]
              if recovery and n >= 4 else [])
    # k-means on scaled axes: 30 degrees of steering weigh as much as the speed range
    scale = np.array([lim.max_steering_deg, max(lim.max_speed - lim.min_speed, 1e-9)])
    centres = _kmeans(np.column_stack([steer, speed]) / scale, n - len(manual), rng) * scale
    pairs = {(round(float(s), 1) + 0.0, round(float(v), 2)) for s, v in centres}
    pairs |= {(round(s, 1) + 0.0, round(v, 2)) for s, v in manual}
    return [{"steering_angle": s, "speed": v} for s, v in sorted(pairs)]

