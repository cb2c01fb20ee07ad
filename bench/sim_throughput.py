"""Env-steps per second of the embedded simulator (drtui.sim) on this machine.

For 1, 16 and 64 cars on reInvent2019_track, with the LIDAR observation and with the
160x120 FRONT_FACING_CAMERA observation, random discrete actions, and the shipped
"centerline" reward template called for every car on every step (the user's reward code
is plain Python, so it runs once per car per step). Each figure is the best of a few timed
windows after a warm-up; an env-step is one car advancing one 1/15 s step.

    .venv/bin/python bench/sim_throughput.py [--seconds 2] [--cars 1 16 64]
"""

from __future__ import annotations

import argparse
import time

import torch

from drtui.sim.env import DeepRacerSim, SimConfig
from drtui.sim.objects import ObjectsConfig

ACTIONS = tuple((s, v) for s in (-30.0, -15.0, 0.0, 15.0, 30.0) for v in (1.0, 2.0))


def centerline_reward():
    try:
        from drtui.reward.check import load_reward_function
        from drtui.reward.templates import render

        return load_reward_function(render("centerline", {}))
    except ImportError:  # the reward package is absent: the classic AWS example

        def reward_function(params):
            d, w = params["distance_from_center"], params["track_width"]
            return 1.0 if d <= 0.1 * w else 0.5 if d <= 0.25 * w else 0.1 if d <= 0.5 * w else 1e-3

        return reward_function


def rate(cfg: SimConfig, seconds: float, windows: int = 3) -> float:
    sim = DeepRacerSim(cfg, reward_function=centerline_reward())
    sim.reset()
    gen = torch.Generator().manual_seed(1)
    actions = [torch.randint(len(ACTIONS), (cfg.num_cars,), generator=gen) for _ in range(64)]
    for i in range(20):  # warm-up
        sim.step(actions[i % 64])
    best = 0.0
    for _ in range(windows):
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / windows:
            sim.step(actions[steps % 64])
            steps += 1
        best = max(best, steps * cfg.num_cars / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per figure")
    parser.add_argument("--cars", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    setups = {
        "lidar": {"sensors": ("LIDAR",)},
        "lidar + 6 boxes": {"sensors": ("LIDAR",), "objects": ObjectsConfig("boxes", 6)},
        "camera 160x120": {"sensors": ("FRONT_FACING_CAMERA",)},
        "camera 80x60": {"sensors": ("FRONT_FACING_CAMERA",), "camera_size": (80, 60)},
    }
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; env-steps/s "
        "(centerline reward called every step)"
    )
    print(f"{'observation':<18}" + "".join(f"{n:>10} cars" for n in args.cars))
    for name, extra in setups.items():
        figures = [
            rate(
                SimConfig(world="reInvent2019_track", num_cars=n, actions=ACTIONS, seed=0, **extra),
                args.seconds,
            )
            for n in args.cars
        ]
        print(f"{name:<18}" + "".join(f"{f:>15,.0f}" for f in figures), flush=True)


if __name__ == "__main__":
    main()
