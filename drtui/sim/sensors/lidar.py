"""Lidar observations, as simapp's hokuyo sensor and Coach input filters produce them.

The sensor (simapp URDF, racecar.launch.py): 64 beams over +-2.61799 rad, 0.15..12 m, noise
sigma 0.01 m, mounted 0.029 m ahead of the car origin and 0.185 m up, turned to face backwards
(yaw pi). Beam i therefore points at pi - 2.61799 + i * 5.23598 / 63 rad in the car frame: beam
0 at 30 degrees left of the nose, sweeping over the left side, the rear and the right side to
30 degrees right of the nose; the 60 degrees straight ahead are the camera's. In Gazebo the beams
hit objects tall enough (boxes, bot cars), not the painted border lines, so by default only
objects are seen; `walls=True` also stops beams at the track borders, as if they were walls.

Filters (markov/sagemaker_graph_manager.py, filters/observation/*):
- LIDAR: ranges clipped to 0.15..1.0 m;
- SECTOR_LIDAR: 8 sectors, 1 if the nearest reading in the sector is under 0.5 m;
- DISCRETIZED_SECTOR_LIDAR: per sector, the nearest reading (no return = clipping distance)
  one-hot encoded in num_values_per_sector bins of clipping_dist / num_values_per_sector,
  the "nothing within clipping distance" bin dropped.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from drtui.sim.track import Track

BEAMS = 64
HALF_SPAN_RAD = 2.61799
MIN_RANGE_M, MAX_RANGE_M = 0.15, 12.0
NOISE_STD_M = 0.01
MOUNT_X_M = 0.02913
LIDAR_CLIP = (0.15, 1.0)
SECTORS, SECTOR_CLIP_M = 8, 0.5


def beam_angles(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Beam directions in the car frame (rad), index order of the sensor's ranges."""
    a = math.pi + torch.linspace(-HALF_SPAN_RAD, HALF_SPAN_RAD, BEAMS, dtype=torch.float64)
    return torch.remainder(a + math.pi, 2 * math.pi).sub(math.pi).to(dtype)


class Lidar:
    """Raw ranges (N, 64): metres, inf where no beam return within MAX_RANGE_M."""

    def __init__(self, track: Track, walls: bool = False, noise_std: float = NOISE_STD_M,
                 generator: torch.Generator | None = None):
        self.track, self.walls, self.noise_std, self.gen = track, walls, noise_std, generator
        self.angles = beam_angles(track.dtype)
        if walls:
            # every border segment is a wall: (S, 2) starts and vectors of both borders
            lines = track.forward
            self._wall_a = torch.cat([lines.inner.start, lines.outer.start])
            self._wall_v = torch.cat([lines.inner.vec, lines.outer.vec])

    def ranges(self, x: torch.Tensor, y: torch.Tensor, yaw: torch.Tensor,
               objects=None) -> torch.Tensor:
        if not self.walls and (objects is None or not objects.m):
            return torch.full((len(x), BEAMS), math.inf, dtype=x.dtype)  # nothing to hit
        c, s = torch.cos(yaw), torch.sin(yaw)
        ox, oy = x + c * MOUNT_X_M, y + s * MOUNT_X_M  # sensor position
        ang = yaw.unsqueeze(-1) + self.angles  # (N, R)
        dx, dy = torch.cos(ang), torch.sin(ang)
        hit = torch.full_like(dx, math.inf)
        if objects is not None and objects.m:
            hit = torch.minimum(hit, self._objects(ox, oy, dx, dy, objects))
        if self.walls:
            hit = torch.minimum(hit, self._walls(ox, oy, dx, dy))
        hit = torch.where(hit > MAX_RANGE_M, torch.full_like(hit, math.inf), hit)
        if self.noise_std > 0:
            noise = torch.randn(hit.shape, generator=self.gen, dtype=hit.dtype) * self.noise_std
            hit = hit + torch.where(torch.isfinite(hit), noise, torch.zeros_like(noise))
        return torch.where(hit < MIN_RANGE_M, torch.full_like(hit, MIN_RANGE_M), hit)

    @staticmethod
    def _objects(ox, oy, dx, dy, objects) -> torch.Tensor:
        """Distance along each beam to the first object body (2-D slab test per box)."""
        bx, by, byaw, (length, width, _) = objects.bodies()
        cb, sb = torch.cos(byaw)[:, None, :], torch.sin(byaw)[:, None, :]  # (N, 1, M)
        rx, ry = (ox[:, None] - bx)[:, None, :], (oy[:, None] - by)[:, None, :]
        px, py = rx * cb + ry * sb, -rx * sb + ry * cb  # sensor in the object frame
        ddx = dx[..., None] * cb + dy[..., None] * sb  # (N, R, M) beam in the object frame
        ddy = -dx[..., None] * sb + dy[..., None] * cb
        tiny = torch.full_like(ddx, 1e-12)
        inv_x = 1.0 / torch.where(ddx.abs() < 1e-12, tiny, ddx)
        inv_y = 1.0 / torch.where(ddy.abs() < 1e-12, tiny, ddy)
        t1x, t2x = (-length / 2 - px) * inv_x, (length / 2 - px) * inv_x
        t1y, t2y = (-width / 2 - py) * inv_y, (width / 2 - py) * inv_y
        t_in = torch.maximum(torch.minimum(t1x, t2x), torch.minimum(t1y, t2y))
        t_out = torch.minimum(torch.maximum(t1x, t2x), torch.maximum(t1y, t2y))
        hit = (t_out >= t_in.clamp(min=0.0))
        t = torch.where(hit, t_in.clamp(min=0.0), torch.full_like(t_in, math.inf))
        return t.amin(-1)

    def _walls(self, ox, oy, dx, dy) -> torch.Tensor:
        """Distance along each beam to the first border segment (ray-segment intersection)."""
        a, v = self._wall_a, self._wall_v  # (S, 2)
        # solve o + t d = a + u v  for t >= 0, 0 <= u <= 1
        wx, wy = a[:, 0] - ox[:, None, None], a[:, 1] - oy[:, None, None]  # (N, 1, S)
        ddx, ddy = dx[..., None], dy[..., None]  # (N, R, 1)
        den = ddx * v[:, 1] - ddy * v[:, 0]
        den = torch.where(den.abs() < 1e-12, torch.full_like(den, 1e-12), den)
        t = (wx * v[:, 1] - wy * v[:, 0]) / den
        u = (wx * ddy - wy * ddx) / den
        t = torch.where((t >= 0) & (u >= 0) & (u <= 1), t, torch.full_like(t, math.inf))
        return t.amin(-1)


def lidar_observation(ranges: torch.Tensor) -> torch.Tensor:
    """LIDAR: ranges clipped to 0.15..1.0 m."""
    return ranges.clamp(*LIDAR_CLIP).float()


def sector_observation(ranges: torch.Tensor, num_sectors: int = SECTORS,
                       num_values: int = 1, clipping_dist: float = SECTOR_CLIP_M) -> torch.Tensor:
    """(DISCRETIZED_)SECTOR_LIDAR: ObservationSectorDiscretizeFilter, batched."""
    num_sectors, num_values = max(num_sectors, 1), max(num_values, 1)
    clip = max(min(clipping_dist, MAX_RANGE_M), MIN_RANGE_M)
    r = torch.where(torch.isinf(ranges), torch.full_like(ranges, clip), ranges)
    nearest = r.reshape(len(r), num_sectors, -1).amin(-1).clamp(max=clip)
    bins = torch.floor(nearest / (clip / num_values)).long().clamp(0, num_values)
    one_hot = F.one_hot(bins, num_values + 1)[..., :num_values]  # last bin: nothing seen
    return one_hot.reshape(len(r), -1).float()
