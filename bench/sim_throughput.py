"""Env-steps per second of the embedded simulator (drtui.sim) on this machine.

For 1, 16 and 64 cars on reInvent2019_track, with the LIDAR observation and with the
160x120 FRONT_FACING_CAMERA observation (plus lidar among 6 boxes, and an 80x60 camera),
random discrete actions, and the shipped "centerline" reward template called for every car on
every step (the user's reward code is plain Python, so it runs once per car per step). An
env-step is one car advancing one 1/15 s step. Each figure is the best of a few timed windows
after a warm-up, measured two ways: by the wall clock, and by this process's CPU time (what an
uncontended core gives; on a shared machine the wall clock also counts time the process waited
for a core). The 1-minute load average is printed alongside.

    .venv/bin/python bench/sim_throughput.py [--seconds 3] [--cars 1 16 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from drtui.sim.env import DeepRacerSim, SimConfig
from drtui.sim.objects import ObjectsConfig

ACTIONS = tuple((s, v) for s in (-30.0, -15.0, 0.0, 15.0, 30.0) for v in (1.0, 2.0))
SETUPS = {
    "lidar": {"sensors": ("LIDAR",)},
    "lidar + 6 boxes": {"sensors": ("LIDAR",), "objects": ObjectsConfig("boxes", 6)},
    "camera 160x120": {"sensors": ("FRONT_FACING_CAMERA",)},
    "camera 80x60": {"sensors": ("FRONT_FACING_CAMERA",), "camera_size": (80, 60)},
}


def centerline_reward():
    try:
        from drtui.reward.check import load_reward_function
        from drtui.reward.templates import render

        return load_reward_function(render("centerline", {}))
    except ImportError:  # the reward package is absent: the classic AWS example

        def reward_function(params):
            d, w = params["distance_from_center"], params["track_width"]
            if d <= 0.1 * w:
                return 1.0
            return 0.5 if d <= 0.25 * w else 0.1 if d <= 0.5 * w else 1e-3

        return reward_function


def rates(cfg: SimConfig, seconds: float, windows: int = 3) -> tuple[float, float]:
    """(wall-clock, CPU-time) env-steps per second, each the best of `windows`."""
    sim = DeepRacerSim(cfg, reward_function=centerline_reward())
    sim.reset()
    gen = torch.Generator().manual_seed(1)
    actions = [torch.randint(len(ACTIONS), (cfg.num_cars,), generator=gen) for _ in range(64)]
    for i in range(20):  # warm-up: lookup tables and caches
        sim.step(actions[i % 64])
    best_wall = best_cpu = 0.0
    for _ in range(windows):
        steps, wall, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - wall < seconds / windows:
            sim.step(actions[steps % 64])
            steps += 1
        done = steps * cfg.num_cars
        best_wall = max(best_wall, done / (time.perf_counter() - wall))
        best_cpu = max(best_cpu, done / max(time.process_time() - cpu, 1e-9))
    return best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per figure")
    parser.add_argument("--cars", type=int, nargs="+", default=[1, 16, 64])
    # the simulator's tensors are small: a second intra-op thread buys little, and on a shared
    # machine waiting for it costs much more
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--only", nargs="+", choices=list(SETUPS), help="observations to run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs; "
          "env-steps/s, wall clock / CPU time (centerline reward called every step)")
    print(f"{'observation':<17}" + "".join(f"{f'{n} cars':>20}" for n in args.cars) + "   load")
    for name in args.only or SETUPS:
        cells = []
        for n in args.cars:
            cfg = SimConfig(world="reInvent2019_track", num_cars=n, actions=ACTIONS, seed=0,
                            **SETUPS[name])
            wall, cpu = rates(cfg, args.seconds)
            cells.append(f"{wall:>9,.0f} / {cpu:>7,.0f}")
        load = os.getloadavg()[0]
        print(f"{name:<17}" + "".join(f"{c:>20}" for c in cells) + f"   {load:.1f}", flush=True)


if __name__ == "__main__":
    main()
