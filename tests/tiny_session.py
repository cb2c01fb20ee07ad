"""The tiny training most trainer-backed tests use: the short reinvent_base track, camera +
lidar, seed 3, 4 episodes an iteration, 2 epochs, 2 evaluation trials; and the DRTUI_*
settings that make it fast (4 cars, a 48x36 internal camera, no teacher warm start)."""

from __future__ import annotations

FAST = {"DRTUI_CARS": "4", "DRTUI_CAMERA_SIZE": "48x36", "DRTUI_TEACHER": "off",
        "DRTUI_THREADS": "1"}


def tiny_session(name: str, iterations: int = 1, episodes: int = 4):
    from drtui.session.starter import starter

    s = starter(name)
    s.track.world = "reinvent_base"
    s.car.sensors = ["FRONT_FACING_CAMERA", "LIDAR"]
    s.training.seed = 3
    s.training.min_eval_trials = 2
    s.evaluation.max_resets = 2  # an untrained policy's evaluation trials end soon
    h = s.hyperparameters
    h.num_episodes_between_training, h.num_epochs, h.term_cond_max_episodes = \
        episodes, 2, iterations
    return s
