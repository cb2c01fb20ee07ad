"""Camera observations: 160x120 grayscale images of the track, rendered for N cars at once.

The DeepRacer camera (simapp URDF and markov/cameras/frustum.py) sits 0.145 m ahead of the car
origin and 0.130 m up, pitched 15 degrees down, with a 1.13 rad horizontal field of view on a
640x480 sensor that simapp resizes to 160x120 and converts to grey (Y). The ground is flat, so
the ground point under every pixel is fixed in the car's frame: it is computed once, and each
step only rotates those points into the world and samples the pre-drawn top-down texture with
torch's grid_sample (bilinear), batched over cars. Rows above the horizon are the venue, one
flat level. Obstacles and bot cars are drawn over the ground as the screen rectangles their
bodies cover, far to near. STEREO_CAMERAS are two such cameras 3 cm left and right of the axis
(left first); LEFT_CAMERA is the left one.

A smaller `size` (e.g. 80x60) renders fewer pixels of the same field of view, and the
"nearest" filter samples the texture without interpolation (about twice as fast): for fast CPU
training with a small network.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from drtui.sim.sensors.texture import SKY, track_raster
from drtui.sim.track import Track

CAMERA_X_M, CAMERA_Z_M = 0.14529379, 0.13032555
STEREO_Y_M = 0.03
PITCH_RAD = 0.2618
HFOV_RAD = 1.13
ASPECT = 480.0 / 640.0
FAR_M = 30.0
BOX_SHADE, BOT_SHADE = 0.88, 0.06  # white boxes; black bot cars


class Camera:
    """Renders (N, C, H, W) uint8 images; C = len(lateral_offsets)."""

    def __init__(self, track: Track, size: tuple[int, int] = (160, 120),
                 lateral_offsets: tuple[float, ...] = (0.0,), texture_res: float = 0.01,
                 filter: str = "bilinear"):
        if filter not in ("bilinear", "nearest"):
            raise ValueError(f"camera filter must be bilinear or nearest, not {filter!r}")
        self.filter = filter
        self.width, self.height = size
        self.offsets = lateral_offsets
        raster = track_raster(track, texture_res)
        # grey levels 0..255 plus 0.5, so truncating a bilinear sample rounds it
        self.texture = torch.from_numpy(raster.image * 255.0 + 0.5)[None, None]  # (1, 1, Ht, Wt)
        x0, y0, x1, y1 = raster.extent
        # world -> grid_sample's [-1, 1] (align_corners=True: -1/1 are the edge texel centres)
        self._scale = (2.0 / (x1 - x0), 2.0 / (y1 - y0))
        self._shift = (-1.0 - 2.0 * x0 / (x1 - x0), -1.0 - 2.0 * y0 / (y1 - y0))
        w, h = self.width, self.height
        self.focal = (w / 2) / math.tan(HFOV_RAD / 2)
        u = torch.arange(w, dtype=torch.float64) + 0.5
        v = torch.arange(h, dtype=torch.float64) + 0.5
        left = -(u - w / 2) / self.focal  # ray per unit forward, camera frame
        up = -(v - h / 2) / self.focal
        cp, sp = math.cos(PITCH_RAD), math.sin(PITCH_RAD)
        dz = -sp + up * cp  # vertical component of each row's ray in the car frame
        self.ground_rows = int((dz < 0).sum())  # rows below the horizon
        self.sky_rows = h - self.ground_rows
        rows = slice(self.sky_rows, h)
        dx = (cp + up[rows] * sp).unsqueeze(1)  # (Hg, 1)
        t = (CAMERA_Z_M / -dz[rows]).unsqueeze(1)
        dist = (t * dx).clamp(max=FAR_M)  # forward distance of the ground point
        gx = (CAMERA_X_M + dist).expand(-1, w).reshape(-1)
        gy = (dist / dx * left.unsqueeze(0)).reshape(-1)
        # ground points in the car frame as columns [x, y, 1], all cameras: (3, C * Hg * W)
        self._ground = torch.cat([torch.stack([gx, gy + o, torch.ones_like(gx)])
                                  for o in lateral_offsets], 1).float()
        self._sky = torch.full((1, 1, self.sky_rows, 1), round(SKY * 255), dtype=torch.uint8)
        self._u = u.float()
        self._v = v.float()

    def render(self, x: torch.Tensor, y: torch.Tensor, yaw: torch.Tensor,
               objects=None) -> torch.Tensor:
        """Images of cars at origin (x, y) facing yaw: uint8 (N, C, H, W)."""
        n, c, hg, w = len(x), len(self.offsets), self.ground_rows, self.width
        # each car's affine map from car-frame ground points to texture coordinates: one
        # matrix product places every pixel's ground point on the texture
        cos, sin = torch.cos(yaw).float(), torch.sin(yaw).float()
        (kx, ky), (bx, by) = self._scale, self._shift
        affine = torch.stack([cos * kx, -sin * kx, x.float() * kx + bx,
                              sin * ky, cos * ky, y.float() * ky + by], -1).view(n * 2, 3)
        tex = torch.mm(affine, self._ground).view(n, 2, -1)  # (N, 2, C*Hg*W)
        grid = torch.stack([tex[:, 0], tex[:, 1]], -1)  # grid_sample wants (x, y) pairs
        ground = F.grid_sample(self.texture, grid.view(1, n * c * hg, w, 2), mode=self.filter,
                               padding_mode="border", align_corners=True)
        image = torch.empty((n, c, self.height, w), dtype=torch.uint8)
        image[:, :, :self.sky_rows] = self._sky
        image[:, :, self.sky_rows:] = ground.view(n, c, hg, w)  # truncates: rounded (see texture)
        if objects is not None and objects.m:
            self._draw_objects(image, x.float(), y.float(), yaw.float(), objects)
        return image

    def _draw_objects(self, image, x, y, yaw, objects) -> None:
        """Paint each object's screen rectangle into image (uint8), farthest first."""
        ox, oy, oyaw, (length, width, height) = objects.bodies()
        ox, oy, oyaw = ox.float(), oy.float(), oyaw.float()
        m = ox.shape[1]
        hl, hw = length / 2, width / 2
        local = torch.tensor([[hl, hw], [hl, -hw], [-hl, -hw], [-hl, hw]])
        co, so = torch.cos(oyaw)[..., None], torch.sin(oyaw)[..., None]
        cx = ox[..., None] + co * local[:, 0] - so * local[:, 1]  # (N, M, 4)
        cy = oy[..., None] + so * local[:, 0] + co * local[:, 1]
        cx = torch.cat([cx, cx], -1)  # 8 corners: bottom then top
        cy = torch.cat([cy, cy], -1)
        cz = torch.cat([torch.zeros(4), torch.full((4,), height)])
        is_car = objects.cfg.moving or objects.cfg.bot_body
        shade = round(255 * (BOT_SHADE if is_car else BOX_SHADE))
        cp, sp = math.cos(PITCH_RAD), math.sin(PITCH_RAD)
        cos, sin = torch.cos(yaw)[:, None, None], torch.sin(yaw)[:, None, None]
        for ch, offset in enumerate(self.offsets):
            camx = x[:, None, None] + cos * CAMERA_X_M - sin * offset
            camy = y[:, None, None] + sin * CAMERA_X_M + cos * offset
            rx, ry = cx - camx, cy - camy
            fwd, left = rx * cos + ry * sin, -rx * sin + ry * cos
            up = cz - CAMERA_Z_M
            depth = fwd * cp - up * sp
            vert = fwd * sp + up * cp
            visible = depth.amax(-1) > 0.05
            d = depth.clamp(min=0.05)
            u = self.width / 2 - self.focal * left / d
            v = self.height / 2 - self.focal * vert / d
            u0, u1 = u.amin(-1), u.amax(-1)  # (N, M)
            v0, v1 = v.amin(-1), v.amax(-1)
            order = depth.mean(-1).argsort(dim=1, descending=True)  # far to near
            for k in range(m):
                j = order[:, k:k + 1]
                a0, a1 = u0.gather(1, j), u1.gather(1, j)
                b0, b1 = v0.gather(1, j), v1.gather(1, j)
                cols = (self._u >= a0) & (self._u <= a1)  # (N, W)
                rows = (self._v >= b0) & (self._v <= b1)  # (N, H)
                mask = rows[:, :, None] & cols[:, None, :] & visible.gather(1, j)[:, :, None]
                image[:, ch].masked_fill_(mask, shade)
