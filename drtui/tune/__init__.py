"""Hyperparameter tuning with Optuna: each trial is a short, real training of the session on
the embedded trainer, scored by its own in-training evaluation.

    space.py      what is tuned: defaults per algorithm, or a TOML space file, checked
    objective.py  one trial: a run folder, the trainer process, per-iteration reports, pruning
    study.py      Optuna studies on sqlite (or any RDB URL), the best session
    cli.py        `drtui tune` and `python -m drtui.tune` (a worker)

Optuna is imported only inside the functions that use it.
"""
