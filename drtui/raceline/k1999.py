"""K1999: Rémi Coulom's racing line (his TORCS robot, 1999), as racers use it for DeepRacer
(cdthompson/deepracer-k1999-race-lines): starting from the centre line, move each point so
that its curvature is the mean of its neighbours', keeping it within its section's lanes.
The line that results bends as little as the road allows: the curvature spreads over each
corner, apexes touch the inside, and the line runs wide into and out of corners.

Coulom's step for point i, between neighbours p and n: put i on the chord p-n (curvature 0),
find numerically how the curvature changes as i moves across the road, and move it by the
amount that gives the target curvature (one Newton step: curvature is nearly linear in the
lane there), then clamp to the lanes allowed. Here every point takes that step at once
(Jacobi, in numpy) instead of one after another, so a line costs a few milliseconds per
hundred iterations whatever its length. Taken whole, the simultaneous step triples a
point-to-point zigzag (a wave of lateral offsets (-1)^i grows by -3: the step's gain on a
wave of angle theta is 1 - (1 - cos theta)^2), so only DAMPING of it is taken: any share
below 1/2 damps every wave. Smooth waves then fade slowly (gain 1 - DAMPING theta^4 / 4),
which is why the line is found coarse to fine, as Coulom does (k1999_multires).
"""

from __future__ import annotations

import numpy as np

from drtui.raceline.geometry import Sections, neighbours, signed_curvature

DEFAULT_ITERATIONS = 1000
DAMPING = 0.4  # share of Coulom's step taken per iteration (below)
LANE_STEP = 1e-4  # lane change for the numerical derivative of curvature


def k1999(sec: Sections, iterations: int = DEFAULT_ITERATIONS,
          lanes: np.ndarray | None = None) -> np.ndarray:
    """The K1999 lanes (N,) of the sections, from the centre line (or `lanes`) on."""
    n = len(sec)
    t = np.clip(np.full(n, 0.5) if lanes is None else np.asarray(lanes, float), sec.lo, sec.hi)
    p1, n1 = neighbours(n, sec.is_loop)
    p2, n2 = neighbours(n, sec.is_loop, 2)
    across = sec.outer - sec.inner
    movable = np.ones(n, dtype=bool)
    if not sec.is_loop:  # an open road's ends stay where they are
        movable[[0, -1]] = False
    for _ in range(iterations):
        pts = sec.points(t)
        prev, nxt = pts[p1], pts[n1]
        # target: the neighbours' curvatures, weighted by closeness (Coulom's Smooth)
        c_prev = signed_curvature(pts[p2], prev, pts)
        c_next = signed_curvature(pts, nxt, pts[n2])
        l_prev = np.hypot(*(pts - prev).T)
        l_next = np.hypot(*(pts - nxt).T)
        total = l_prev + l_next
        target = np.where(total > 0, (l_next * c_prev + l_prev * c_next)
                          / np.where(total > 0, total, 1.0), 0.0)
        # the lane where point i lies on its neighbours' chord
        chord = nxt - prev
        rel = sec.inner - prev
        a = chord[:, 0] * rel[:, 1] - chord[:, 1] * rel[:, 0]
        b = chord[:, 0] * across[:, 1] - chord[:, 1] * across[:, 0]
        solvable = np.abs(b) > 1e-12
        on_chord = np.where(solvable, -a / np.where(solvable, b, 1.0), t)
        on_chord = np.clip(on_chord, -0.2, 1.2)
        base = sec.inner + on_chord[:, None] * across
        slope = signed_curvature(prev, base + LANE_STEP * across, nxt) / LANE_STEP
        steep = np.abs(slope) > 1e-9
        step = np.where(steep, target / np.where(steep, slope, 1.0), 0.0)
        wanted = np.clip(on_chord + step, sec.lo, sec.hi)
        t = np.where(movable, t + DAMPING * (wanted - t), t)
    return t


def _subset(sec: Sections, idx: np.ndarray) -> Sections:
    return Sections(sec.inner[idx], sec.outer[idx], sec.lo[idx], sec.hi[idx], sec.is_loop,
                    sec.margin)


def _spread(lanes: np.ndarray, idx: np.ndarray, n: int, is_loop: bool) -> np.ndarray:
    """Lanes known at sections idx, linearly interpolated onto all n sections."""
    if is_loop:
        return np.interp(np.arange(n), np.append(idx, n), np.append(lanes, lanes[0]))
    return np.interp(np.arange(n), idx, lanes)


def k1999_multires(sec: Sections, iterations: int = DEFAULT_ITERATIONS,
                   coarsest: int = 16) -> np.ndarray:
    """K1999 from coarse to fine as Coulom runs it: the line is first found on every
    `coarsest`-th section, where a corner spans few points and curvature spreads quickly,
    then refined on twice as many, down to every section. `iterations` is the total."""
    n = len(sec)
    steps = [s for s in (2 ** k for k in range(int(np.log2(coarsest)), -1, -1)) if n // s >= 8]
    weights = np.sqrt(steps)
    per_level = np.maximum(1, np.round(iterations * weights / weights.sum())).astype(int)
    lanes = None
    for step, its in zip(steps, per_level):
        idx = np.arange(0, n, step)
        if not sec.is_loop and idx[-1] != n - 1:
            idx = np.append(idx, n - 1)
        sub = _subset(sec, idx)
        start = None if lanes is None else lanes[idx]
        lanes = _spread(k1999(sub, int(its), start), idx, n, sec.is_loop)
    return np.clip(lanes, sec.lo, sec.hi)
