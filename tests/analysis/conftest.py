"""Inputs for the analysis tests, assembled from the real samples in tests/data: DRfC model
folders (one and several workers), console and DeepRacer on AWS log folders and .tar.gz
archives, and a drtui run folder written by drtui's own simulator (its reward function known)."""

from __future__ import annotations

import io
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

# the tests import analysis_helpers from here whatever pytest's import mode
sys.path.insert(0, str(Path(__file__).parent))

from analysis_helpers import (  # noqa: E402
    DRFC_CSV,
    DROA_CSV,
    DROA_LOG,
    EVAL_METRICS,
    METRICS,
    TRAINING_METRICS,
    TRAINING_METRICS_1,
)


def _put(root: Path, rel: str, source: Path | bytes) -> None:
    dest = root / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, bytes):
        dest.write_bytes(source)
    else:
        shutil.copyfile(source, dest)


def _tar(folder: Path, out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)  # one top folder, as console archives have
    return out


@pytest.fixture(scope="session")
def layouts(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("layouts")
    out = {}
    single = root / "drfc-single"
    _put(single, "training-simtrace/0-iteration.csv", DRFC_CSV)
    head, *rows = DRFC_CSV.read_text().splitlines()
    renumbered = [f"{int(r.split(',', 1)[0]) + 20},{r.split(',', 1)[1]}" for r in rows]
    _put(single, "training-simtrace/1-iteration.csv",  # a second iteration: episodes 20-39
         "\n".join([head, *renumbered, ""]).encode())
    _put(single, "metrics/TrainingMetrics.json", TRAINING_METRICS)
    _put(single, "metrics/EvaluationMetrics-20220709200242.json", EVAL_METRICS)
    out["drfc-single"] = single
    multi = root / "drfc-multi"
    _put(multi, "0/training-simtrace/0-iteration.csv", DRFC_CSV)
    _put(multi, "1/training-simtrace/0-iteration.csv", DROA_CSV)
    _put(multi, "metrics/TrainingMetrics.json", TRAINING_METRICS)
    _put(multi, "metrics/TrainingMetrics_1.json", TRAINING_METRICS_1)
    for stamp in ("20220709200242", "20220710093000"):  # two evaluations, DRfC's layout
        _put(multi, f"evaluation-{stamp}/evaluation-simtrace/0-iteration.csv", DROA_CSV)
    out["drfc-multi"] = multi
    droa = root / "droa" / "ACGVRmRuFNU9NkQ"
    _put(droa, "sim-trace/training/2026-03-06T18:33:59.511Z-deepracerindy-training-ACGVRmRuFNU9N"
               "kQ/training-simtrace/0-iteration.csv", DROA_CSV)
    _put(droa, "logs/training/2026-03-06T20:36:57.936Z-deepracerindy-training-ACGVRmRuFNU9NkQ"
               "-simulation.log", DROA_LOG)
    _put(droa, "metrics/evaluation/2026-03-07T17:52:00.898Z-deepracerindy-evaluation-9oJ3QbS0Sy"
               "m7Iag.json", METRICS / "droa-evaluation-metrics.json")
    out["droa-folder"] = droa
    out["droa-archive"] = _tar(droa, root / "ACGVRmRuFNU9NkQ-logs.tar.gz")
    console = root / "console" / "model-logs"
    _put(console, "logs/training/training-20220611230350-EHNgTNY2T9-robomaker.log", DROA_LOG)
    _put(console, "sim-trace/training/training-simtrace/0-iteration.csv", DROA_CSV)
    out["console-folder"] = console
    out["console-archive"] = _tar(console, root / "model-logs.tar.gz")
    return out


@pytest.fixture(scope="session")
def sim_run(tmp_path_factory) -> Path:
    """A drtui run folder from drtui's simulator on reinvent_base, scored by the centerline
    template (kept as reward_function.py beside it): logs/trainer.log, metrics/."""
    pytest.importorskip("torch")
    from drtui.reward.templates import render
    from drtui.sim.env import DeepRacerSim, SimConfig
    from drtui.sim.logs import RunLogs

    run = tmp_path_factory.mktemp("runs") / "centre-20261205-060000"
    reward = render("centerline", {})
    (run / "logs").mkdir(parents=True)
    (run.parent / "reward_function.py").write_text(reward)
    (run / "state.json").write_text('{"status": "finished"}')
    (run / "session.toml").write_text('[track]\nworld = "reinvent_base"\n')
    sim = DeepRacerSim(SimConfig(world="reinvent_base", num_cars=1, sensors=(), seed=3,
                                 lidar_noise=0.0, actions=((-20.0, 1.0), (0.0, 1.5),
                                                           (20.0, 1.0))), reward)
    sim.reset()
    log = io.StringIO()
    logs = RunLogs(sim, run / "metrics", stream=log)
    iteration = 0
    for t in range(240):
        _, _, _, _, info = sim.step([(t // 7) % 3])
        logs.step(info)
        if t >= 100 and info["episodes"] and iteration == 0:  # iterations end with an episode
            iteration = 1
            logs.start_iteration(1)
    logs.close()
    (run / "logs" / "trainer.log").write_text(log.getvalue())
    # RunLogs puts metrics/ under its folder; the trainer writes RUN/metrics/TrainingMetrics.json
    shutil.move(run / "metrics" / "metrics" / "TrainingMetrics.json",
                run / "metrics" / "TrainingMetrics.json")
    (run / "metrics" / "metrics").rmdir()
    return run
