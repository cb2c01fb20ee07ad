"""A Gymnasium VectorEnv over the batched simulator, for other RL libraries.

gymnasium is optional: it is imported when `make_vector_env` is called, never when this module
is. Observations are a Dict of numpy arrays keyed by sensor name (cameras uint8 (C, H, W),
lidars float32), as simapp's observation space is a dict of sensors. Episodes reset themselves
in the same step (Gymnasium's AutoresetMode.SAME_STEP): the observation returned with a
termination is the first of the car's next episode, because DeepRacer ends an episode on a pose
the policy has already seen. `infos` carries per-car arrays `progress` and `status`, and
`episode` (`r` return, `l` length, `progress`, `status`, masked by `_episode`) for the cars
whose episode ended.
"""

from __future__ import annotations

import numpy as np


def make_vector_env(config, reward_function=None):
    """A gymnasium.vector.VectorEnv of config.num_cars cars (drtui.sim.env.SimConfig)."""
    try:
        import gymnasium as gym
    except ImportError:
        from drtui.errors import DrtuiError

        raise DrtuiError("the Gymnasium vector env needs gymnasium, which drtui's plain install "
                         "leaves out: pip install 'drtui[test]' (or pip install gymnasium)"
                         ) from None
    import torch
    from gymnasium import spaces
    from gymnasium.vector import VectorEnv

    from drtui.sim.env import CAMERAS, DeepRacerSim
    from drtui.sim.episode import STATUS_NAMES

    autoreset = getattr(gym.vector, "AutoresetMode", None)  # gymnasium >= 1.1

    class DeepRacerVectorEnv(VectorEnv):
        metadata = {"render_modes": (),  # noqa: RUF012 - gymnasium's convention
                    **({"autoreset_mode": autoreset.SAME_STEP} if autoreset else {})}

        def __init__(self):
            self.sim = DeepRacerSim(config, reward_function)
            self.num_envs = config.num_cars
            single = {}
            for name, shape in self.sim.observation_shapes().items():
                if name in CAMERAS:
                    single[name] = spaces.Box(0, 255, shape, np.uint8)
                elif name == "LIDAR":
                    single[name] = spaces.Box(0.15, 1.0, shape, np.float32)
                else:
                    single[name] = spaces.Box(0.0, 1.0, shape, np.float32)
            self.single_observation_space = spaces.Dict(single)
            self.observation_space = spaces.Dict({
                k: spaces.Box(np.broadcast_to(s.low, (self.num_envs, *s.shape)),
                              np.broadcast_to(s.high, (self.num_envs, *s.shape)),
                              (self.num_envs, *s.shape), s.dtype) for k, s in single.items()})
            if config.actions is not None:
                self.single_action_space = spaces.Discrete(len(config.actions))
                self.action_space = spaces.MultiDiscrete([len(config.actions)] * self.num_envs)
            else:
                lo = np.array([config.steering_range[0], config.speed_range[0]], np.float32)
                hi = np.array([config.steering_range[1], config.speed_range[1]], np.float32)
                self.single_action_space = spaces.Box(lo, hi, dtype=np.float32)
                self.action_space = spaces.Box(np.tile(lo, (self.num_envs, 1)),
                                               np.tile(hi, (self.num_envs, 1)), dtype=np.float32)

        @staticmethod
        def _numpy(obs: dict) -> dict:
            return {k: v.numpy() for k, v in obs.items()}

        def reset(self, *, seed=None, options=None):
            if seed is not None:
                self.sim.gen.manual_seed(int(seed))
            with torch.no_grad():
                obs = self.sim.reset()
            return self._numpy(obs), {}

        def step(self, actions):
            with torch.no_grad():
                actions = torch.as_tensor(np.asarray(actions))
                obs, reward, terminated, truncated, info = self.sim.step(actions)
            rec = self.sim.last
            infos = {"progress": rec.progress.double().numpy(),
                     "status": np.array([STATUS_NAMES[s] for s in rec.status.tolist()])}
            ends = info["episodes"]
            if ends:
                mask = np.zeros(self.num_envs, bool)
                r, length, p = (np.zeros(self.num_envs) for _ in range(3))
                status = np.full(self.num_envs, "", dtype=object)
                for e in ends:
                    mask[e.car], r[e.car], length[e.car], p[e.car], status[e.car] = \
                        True, e.reward, e.steps, e.progress, e.status
                infos["episode"] = {"r": r, "l": length, "progress": p, "status": status}
                infos["_episode"] = mask
            return (self._numpy(obs), reward.numpy().astype(np.float64), terminated.numpy(),
                    truncated.numpy(), infos)

    return DeepRacerVectorEnv()
