"""Domain randomisation: each car's episode gets its own lighting, camera and actuation.

A policy trained on one clean rendering of the track learns that rendering; a real car sees
other light, a noisy sensor and a camera mounted a little differently, and its servo lags and
pulls to one side. Drawing these per car at the start of every episode (seeded, batched over
cars) makes the policy see a spread of worlds instead of one.

Every amount is the largest one at strength 1 and scales linearly with strength, so strength 0
is exactly the clean simulator. Evaluation always runs on a clean simulator.

    lighting      brightness x(1 +- 0.4), contrast x(1 +- 0.4) about mid grey, and the road
                  (pixels darker than mid grey) and background shifted by +- 40 grey levels
    camera_noise  Gaussian pixel noise up to sigma 12 grey levels; blur up to sigma 1.5 px
                  (torchvision's gaussian_blur, one kernel per car)
    camera_pose   the camera's position +- 2 cm and heading +- 2 degrees
    actuation     steering bias +- 3 degrees and noise sigma 2 degrees a step; speed scale
                  x(1 +- 0.15) and noise sigma 5 %
    latency       the action chosen at step t acts at step t + k (k = latency_steps, not scaled)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

BRIGHTNESS, CONTRAST, SHIFT = 0.4, 0.4, 40.0
NOISE_STD, BLUR_SIGMA = 12.0, 1.5
POSE_M, POSE_RAD = 0.02, 0.0349
STEER_BIAS_DEG, STEER_NOISE_DEG, SPEED_SCALE, SPEED_NOISE = 3.0, 2.0, 0.15, 0.05


@dataclass
class RandomizationConfig:
    strength: float = 0.5
    lighting: bool = True
    camera_noise: bool = True
    camera_pose: bool = True
    actuation: bool = True
    latency_steps: int = 0

    @classmethod
    def from_session(cls, session) -> RandomizationConfig | None:
        r = session.research.randomization
        if not r.enabled:
            return None
        return cls(r.strength, r.lighting, r.camera_noise, r.camera_pose, r.actuation,
                   r.latency_steps)


class Randomizer:
    """Per-car draws for n cars; `new_episodes(mask)` redraws the masked cars' worlds."""

    def __init__(self, cfg: RandomizationConfig, n: int, gen: torch.Generator):
        self.cfg, self.n, self.gen = cfg, n, gen
        s = float(cfg.strength)
        self.amount = {
            "brightness": BRIGHTNESS * s * cfg.lighting, "contrast": CONTRAST * s * cfg.lighting,
            "shift": SHIFT * s * cfg.lighting, "noise": NOISE_STD * s * cfg.camera_noise,
            "blur": BLUR_SIGMA * s * cfg.camera_noise, "pose_m": POSE_M * s * cfg.camera_pose,
            "pose_rad": POSE_RAD * s * cfg.camera_pose,
            "steer_bias": STEER_BIAS_DEG * s * cfg.actuation,
            "steer_noise": STEER_NOISE_DEG * s * cfg.actuation,
            "speed_scale": SPEED_SCALE * s * cfg.actuation,
            "speed_noise": SPEED_NOISE * s * cfg.actuation}
        names = ("brightness", "contrast", "road_shift", "background_shift", "blur", "noise",
                 "dx", "dy", "dyaw", "steer_bias", "speed_scale")
        self.draws = {k: torch.zeros(n) for k in names}
        self.draws["brightness"] += 1.0
        self.draws["contrast"] += 1.0
        self.draws["speed_scale"] += 1.0
        self._queue: list[tuple[torch.Tensor, torch.Tensor]] = []  # latency: oldest first
        self.new_episodes(torch.ones(n, dtype=torch.bool))

    def _uniform(self, k: int, half_width: float) -> torch.Tensor:
        return (torch.rand(k, generator=self.gen) * 2.0 - 1.0) * half_width

    def new_episodes(self, mask: torch.Tensor) -> None:
        idx = mask.nonzero().flatten()
        k, a, d = len(idx), self.amount, self.draws
        if k == 0:
            return
        d["brightness"][idx] = 1.0 + self._uniform(k, a["brightness"])
        d["contrast"][idx] = 1.0 + self._uniform(k, a["contrast"])
        d["road_shift"][idx] = self._uniform(k, a["shift"])
        d["background_shift"][idx] = self._uniform(k, a["shift"])
        d["blur"][idx] = torch.rand(k, generator=self.gen) * a["blur"]
        d["noise"][idx] = torch.rand(k, generator=self.gen) * a["noise"]
        d["dx"][idx] = self._uniform(k, a["pose_m"])
        d["dy"][idx] = self._uniform(k, a["pose_m"])
        d["dyaw"][idx] = self._uniform(k, a["pose_rad"])
        d["steer_bias"][idx] = self._uniform(k, a["steer_bias"])
        d["speed_scale"][idx] = 1.0 + self._uniform(k, a["speed_scale"])
        for queued in self._queue:  # a new episode does not act on the last one's actions
            queued[0][idx], queued[1][idx] = 0.0, 0.0

    # -- the camera --------------------------------------------------------------------------

    def camera_pose(self, x, y, yaw):
        """The pose the camera renders from: the car's, jittered in its own frame."""
        d = self.draws
        cos, sin = torch.cos(yaw), torch.sin(yaw)
        dx, dy = d["dx"].to(x.dtype), d["dy"].to(x.dtype)
        return x + cos * dx - sin * dy, y + sin * dx + cos * dy, yaw + d["dyaw"].to(yaw.dtype)

    def image(self, image: torch.Tensor) -> torch.Tensor:
        """Lighting, blur and noise applied to (N, C, H, W) uint8 images."""
        d, a = self.draws, self.amount
        img = image.float()
        if a["brightness"] or a["contrast"] or a["shift"]:
            road = img < 128.0
            shift = torch.where(road, d["road_shift"].view(-1, 1, 1, 1),
                                d["background_shift"].view(-1, 1, 1, 1))
            img = (img + shift - 128.0) * d["contrast"].view(-1, 1, 1, 1) + 128.0
            img = img * d["brightness"].view(-1, 1, 1, 1)
        if a["blur"]:
            img = _blur(img, d["blur"])
        if a["noise"]:
            noise = torch.randn(img.shape, generator=self.gen)
            img = img + noise * d["noise"].view(-1, 1, 1, 1)
        return img.round_().clamp_(0.0, 255.0).to(torch.uint8)

    # -- the actuators -----------------------------------------------------------------------

    def actuate(self, steer: torch.Tensor, speed: torch.Tensor):
        """The steering (deg) and speed the car carries out for the commanded ones."""
        d, a = self.draws, self.amount
        steer = steer + d["steer_bias"].to(steer.dtype)
        speed = speed * d["speed_scale"].to(speed.dtype)
        if a["steer_noise"]:
            steer = steer + torch.randn(self.n, generator=self.gen).to(steer.dtype) * \
                a["steer_noise"]
        if a["speed_noise"]:
            speed = speed * (1.0 + torch.randn(self.n, generator=self.gen).to(speed.dtype) *
                             a["speed_noise"])
        k = self.cfg.latency_steps
        if k:
            if not self._queue:  # the first k steps act on "no command yet": stand still
                self._queue = [(torch.zeros_like(steer), torch.zeros_like(speed))
                               for _ in range(k)]
            self._queue.append((steer, speed))
            steer, speed = self._queue.pop(0)
        return steer, speed


def _blur(img: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Gaussian blur with each car's own sigma (0 = none), via torchvision's gaussian_blur."""
    from torchvision.transforms.functional import gaussian_blur

    out = img.clone()
    for i, sigma in enumerate(sigmas.tolist()):
        if sigma < 0.05:
            continue
        size = 2 * max(1, round(3 * sigma)) + 1
        out[i] = gaussian_blur(img[i], [size, size], [sigma, sigma])
    return out
