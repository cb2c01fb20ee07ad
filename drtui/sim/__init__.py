"""The embedded DeepRacer simulator: real track waypoints, the simulator's own reward params,
camera and lidar observations, N cars stepping together on torch tensors.

Importing this package is cheap; torch is imported by the modules that need it
(track, car, env, ...), so `drtui --help` never loads it. Entry points:

    from drtui.sim.env import SimConfig, DeepRacerSim   # the batched simulator
    from drtui.sim.vec_env import make_vector_env       # Gymnasium VectorEnv wrapper
    from drtui.sim.trace import trace                   # params a reward saw in a real log
"""
