"""The 1/18 DeepRacer car: its geometry (from simapp's URDF) and a kinematic model of how it
moves in Gazebo, batched over N cars.

Geometry is simapp's: the reward's x,y are a point 0.14 m ahead of the car origin
(RELATIVE_POSITION_OF_FRONT_OF_CAR); all_wheels_on_track tests the four wheel links, whose
positions come from deepracer_single_cam*.urdf; collisions use the car's registered footprint
(ObstacleDimensions.BOT_CAR_DIMENSION). Gazebo's car does not turn like an ideal bicycle: wheel
speed and steering take time to follow a command and the tyres slip in turns. The model is a
kinematic bicycle with first-order lags on speed and steering and an understeer gradient, fitted
to the real simtrace samples (one-step prediction of displacement and yaw change, RMS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from drtui.sim.car_spec import (  # noqa: F401  (the car's numbers, re-exported)
    CAR_FOOTPRINT_M,
    FRONT_OFFSET_M,
    MAX_SPEED,
    MAX_STEERING_DEG,
    MIN_SPEED,
    REAR_AXLE_M,
    SPEED_TAU_S,
    STEER_TAU_S,
    STEP_HZ,
    STEP_S,
    UNDERSTEER,
    WHEEL_OFFSETS,
    WHEELBASE_M,
)


@dataclass
class CarState:
    """Pose and actuator state of N cars; every field is a tensor of shape (N,)."""

    x: torch.Tensor  # car origin (base_link), m
    y: torch.Tensor
    yaw: torch.Tensor  # rad, (-pi, pi]
    speed: torch.Tensor  # actual speed, m/s
    steer: torch.Tensor  # actual steering angle, rad

    @classmethod
    def zeros(cls, n: int, dtype: torch.dtype = torch.float32) -> CarState:
        return cls(*(torch.zeros(n, dtype=dtype) for _ in range(5)))

    def place(self, idx: torch.Tensor, poses: torch.Tensor) -> None:
        """Put cars idx at rest at poses (k, 3): x, y, yaw. The state tensors are replaced,
        never changed in place, so references to earlier states stay valid."""
        self.x = self.x.index_copy(0, idx, poses[:, 0])
        self.y = self.y.index_copy(0, idx, poses[:, 1])
        self.yaw = self.yaw.index_copy(0, idx, poses[:, 2])
        self.speed = self.speed.index_fill(0, idx, 0.0)
        self.steer = self.steer.index_fill(0, idx, 0.0)

    def origin(self) -> torch.Tensor:
        return torch.stack([self.x, self.y], -1)


def clip_action(steer_deg: torch.Tensor, speed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Clip commanded steering and speed as simapp's send_action does."""
    return steer_deg.clamp(-MAX_STEERING_DEG, MAX_STEERING_DEG), speed.clamp(MIN_SPEED, MAX_SPEED)


def drive(state: CarState, steer_deg: torch.Tensor, speed: torch.Tensor,
          moving: torch.Tensor, dt: float = STEP_S) -> None:
    """Advance the cars by dt under the commanded steering (deg) and speed (m/s), in place.

    Speed and steering approach their commands exponentially; the pose moves along the arc
    of the step's mean speed and steering (midpoint rule). Cars where `moving` is False are
    held still (simapp's prepare phase sends zero speed).
    """
    keep_v, keep_d = math.exp(-dt / SPEED_TAU_S), math.exp(-dt / STEER_TAU_S)
    # mean of x(t) = target + (x0 - target) e^(-t/tau) over the step, as a weight on x0
    mean_v = SPEED_TAU_S / dt * (1.0 - keep_v)
    mean_d = STEER_TAU_S / dt * (1.0 - keep_d)
    target_v = speed * moving
    target_d = torch.deg2rad(steer_deg) * moving
    v_avg = torch.lerp(target_v, state.speed, mean_v)
    d_avg = torch.lerp(target_d, state.steer, mean_d)
    tan_d = torch.tan(d_avg)
    # slip angle of the origin (midway between the axles) of a kinematic bicycle
    beta = torch.atan(tan_d * (REAR_AXLE_M / WHEELBASE_M))
    turn = v_avg * torch.cos(beta) * tan_d / (WHEELBASE_M * (1.0 + UNDERSTEER * v_avg * v_avg)) * dt
    heading = state.yaw + 0.5 * turn + beta
    state.x = state.x + v_avg * dt * torch.cos(heading)
    state.y = state.y + v_avg * dt * torch.sin(heading)
    state.yaw = torch.remainder(state.yaw + turn + math.pi, 2 * math.pi) - math.pi
    state.speed = torch.lerp(target_v, state.speed, keep_v)
    state.steer = torch.lerp(target_d, state.steer, keep_d)


def body_points(x: torch.Tensor, y: torch.Tensor, yaw: torch.Tensor,
                local: torch.Tensor) -> torch.Tensor:
    """Points fixed to each car: local (K, 2) in the car frame -> (N, K, 2) in the world.

    As complex numbers a rotation is one product, origin + e^(i yaw) * local: a few tensor
    operations instead of a dozen (each costs more than its arithmetic here)."""
    turn = torch.polar(torch.ones_like(yaw), yaw).unsqueeze(-1)
    placed = torch.complex(x, y).unsqueeze(-1) + turn * torch.view_as_complex(local.contiguous())
    return torch.view_as_real(placed)


def front_point(x: torch.Tensor, y: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
    """The point the simulator reports as x,y: FRONT_OFFSET_M ahead of the origin, (N, 2)."""
    return torch.stack([x + FRONT_OFFSET_M * torch.cos(yaw),
                        y + FRONT_OFFSET_M * torch.sin(yaw)], -1)


def wheel_offsets(dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(WHEEL_OFFSETS, dtype=dtype)


def footprint_corners(dtype: torch.dtype, width: float = CAR_FOOTPRINT_M[0],
                      length: float = CAR_FOOTPRINT_M[1]) -> torch.Tensor:
    """Corners (4, 2) of a width x length rectangle centred on the origin, x along the car."""
    hl, hw = length / 2, width / 2
    return torch.tensor([[hl, hw], [hl, -hw], [-hl, -hw], [-hl, hw]], dtype=dtype)
