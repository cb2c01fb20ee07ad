"""Trainer throughput: environment steps per second while learning with clipped PPO (collection
and updates together), on this machine, with one torch thread (the trainer's default;
--threads to compare).

Configurations (the starter session's hyperparameters: 20 episodes per iteration, 5 epochs,
minibatch 64; reInvent2019_track; centerline reward):
    lidar            LIDAR only, 16 cars, DEEP_CONVOLUTIONAL_NETWORK_SHALLOW's lidar embedder
                     (the lidar sees the borders as walls here, so that the episodes are
                     those of a policy that learns)
    camera           FRONT_FACING_CAMERA at the trainer's internal 80x60, 8 cars, SHALLOW
    camera+lidar     both, fused by SHALLOW's two embedders, 8 cars
    camera-160x120   DeepRacer's own resolution, 8 cars, SHALLOW
    teacher          the warm start's teacher: privileged state, MLP 128-128, 64 cars

Each figure is env steps / wall time over --iterations PPO iterations after one warm-up
iteration; `collect` is the collection part alone.

    .venv/bin/python bench/trainer_throughput.py [--iterations 3] [--only camera lidar]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

CONFIGS = {
    "lidar": (("LIDAR",), 16, (80, 60)),
    "camera": (("FRONT_FACING_CAMERA",), 8, (80, 60)),
    "camera+lidar": (("FRONT_FACING_CAMERA", "LIDAR"), 8, (80, 60)),
    "camera-160x120": (("FRONT_FACING_CAMERA",), 8, (160, 120)),
    "teacher": ((), 64, (80, 60)),
}


def measure(name: str, iterations: int) -> tuple[float, float]:
    from drtui.files.render import reward_function_py
    from drtui.reward.check import load_reward_function
    from drtui.session.starter import starter
    from drtui.sim.env import DeepRacerSim, SimConfig
    from drtui.train.distill import StateAdapter, teacher_network
    from drtui.train.networks import factory
    from drtui.train.networks.spec import discrete
    from drtui.train.obs import ObsAdapter, obs_spec
    from drtui.train.ppo import PPO, PPOConfig
    from drtui.train.rollout import TrainEnv

    sensors, cars, size = CONFIGS[name]
    session = starter("throughput")
    torch.manual_seed(0)
    cfg = SimConfig.from_session(session, cars, sensors=sensors, camera_size=size,
                                 lidar_walls=True, seed=0)
    cfg.max_steps = 1400
    sim = DeepRacerSim(cfg, load_reward_function(reward_function_py(session)))
    if name == "teacher":
        net, adapter = teacher_network(discrete(10)), StateAdapter(sim)
    else:
        net = factory.build(session.network.architecture, obs_spec(sim.observation_shapes()),
                            discrete(10))
        adapter = ObsAdapter(sim.observation_shapes())
    ppo = PPO(net, PPOConfig.from_session(session))
    env = TrainEnv(sim, adapter)
    env.reset()
    ppo.update(ppo.collect(env))  # warm-up
    steps0, collect_s, start = env.total_steps, 0.0, time.perf_counter()
    for _ in range(iterations):
        t = time.perf_counter()
        batch = ppo.collect(env)
        collect_s += time.perf_counter() - t
        ppo.update(batch)
    steps = env.total_steps - steps0
    return steps / (time.perf_counter() - start), steps / collect_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (trainer: 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"cores {os.cpu_count()}, torch threads {args.threads}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'config':16} {'learning steps/s':>17} {'collect steps/s':>16}")
    for name in args.only:
        learning, collect = measure(name, args.iterations)
        print(f"{name:16} {learning:17.0f} {collect:16.0f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
