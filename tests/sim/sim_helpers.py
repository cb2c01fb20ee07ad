"""Helpers for the simulator tests: a synthetic oval track and small configs."""

from __future__ import annotations

import math

import numpy as np

STRAIGHT_M, RADIUS_M, WIDTH_M = 6.0, 1.5, 1.0


def oval_route(
    straight: float = STRAIGHT_M,
    radius: float = RADIUS_M,
    width: float = WIDTH_M,
    step: float = 0.1,
) -> np.ndarray:
    """A counter-clockwise stadium: a straight along +x from (0, 0), a half circle, a straight
    back along -x at y = 2 radius and a half circle home; (N, 6) centre | inner | outer, the
    first row repeated last, as route files are."""
    pts, heads = [], []
    n = int(straight / step)
    for i in range(n):
        pts.append((i * step, 0.0))
        heads.append(0.0)
    m = int(math.pi * radius / step)
    for i in range(m):
        a = -math.pi / 2 + math.pi * i / m
        pts.append((straight + radius * math.cos(a), radius + radius * math.sin(a)))
        heads.append(a + math.pi / 2)
    for i in range(n):
        pts.append((straight - i * step, 2 * radius))
        heads.append(math.pi)
    for i in range(m):
        a = math.pi / 2 + math.pi * i / m
        pts.append((radius * math.cos(a), radius + radius * math.sin(a)))
        heads.append(a + math.pi / 2)
    c = np.array(pts)
    h = np.array(heads)
    left = np.stack([-np.sin(h), np.cos(h)], 1)  # the inside of a ccw loop is on the left
    route = np.hstack([c, c + left * width / 2, c - left * width / 2])
    return np.vstack([route, route[:1]])


def sim_config(world: str, **kw):
    from drtui.sim.env import SimConfig

    kw.setdefault("sensors", ())
    kw.setdefault("lidar_noise", 0.0)
    kw.setdefault("seed", 0)
    return SimConfig(world=world, **kw)


def centre_reward(params: dict) -> float:
    return 1.0 - params["distance_from_center"] / (params["track_width"] / 2)
