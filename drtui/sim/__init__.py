"""The embedded DeepRacer simulator: real track waypoints, the simulator's own reward params,
camera and lidar observations, N cars stepping together on torch tensors.

Importing this package is cheap; torch is imported by the modules that need it, so
`drtui --help` never loads it. Modules, from the ground up:

    track.py     route geometry as simapp measures it (projection, borders, road polygon)
    car.py       the car's geometry and its kinematic model
    params.py    the 27 reward params, batched; progress
    episode.py   start lines, reset rules, episode status
    objects.py   obstacles and bot cars, and the object params
    sensors/     camera (texture + grid_sample) and lidar observations
    env.py       DeepRacerSim, SimConfig: the batched simulator
    vec_env.py   make_vector_env: a Gymnasium VectorEnv (gymnasium imported when called)
    logs.py      SIM_TRACE_LOG, simtrace CSV, TrainingMetrics.json, RunLogs
    png.py       a small PNG writer and the episode picture
    raster.py    polygons and polylines drawn into numpy grids (textures, road lookup)
    trace.py     `drtui sim trace`: the params a reward saw, from a real simtrace
"""
