"""`drtui analyze` (rich tables, --json, --plots) and `drtui logs tensorboard`, run as the
user runs them."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from analysis_helpers import CONSOLE_EVAL_LOG, SAGEMAKER_LOG, TRAINING_METRICS

from drtui.analysis import tables
from drtui.analysis.load import load
from drtui.cli import main


def _json(capsys, *argv) -> dict:
    assert main(["analyze", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _same(records: list[dict], df) -> None:
    assert len(records) == len(df)
    for rec, row in zip(records, df.to_dict(orient="records")):
        assert set(rec) == {str(k) for k in row}
        for k, v in row.items():
            got = rec[str(k)]
            if isinstance(v, float) and math.isnan(v):
                assert got is None, k
            else:
                assert got == pytest.approx(v.item() if hasattr(v, "item") else v), k


def test_json_equals_the_tables(layouts, capsys):
    data = _json(capsys, layouts["drfc-single"], "--sections", "4")
    loaded = load(layouts["drfc-single"])
    eps = tables.episodes(loaded.steps)
    _same(data["episodes"], eps)
    _same(data["iterations"], tables.iterations(loaded, eps))
    _same(data["evaluation"], tables.evaluation(loaded))
    counts = data["actions_by_section"]["actions"]
    assert data["actions_by_section"]["sections"] == [1, 2, 3, 4]
    assert sum(map(sum, counts.values())) == len(loaded.steps) == data["source"]["steps"]
    assert data["source"]["kind"] == "drfc-model" and data["source"]["world"] == "reinvent_base"


def test_laps_and_histogram_from_a_lap(capsys):
    data = _json(capsys, CONSOLE_EVAL_LOG)
    (lap,) = data["laps"]
    assert lap["steps"] == 247 and lap["lap_time"] == pytest.approx(22.612 - 6.211)
    assert sum(data["lap_time_histogram"]["counts"]) == 1


def test_metrics_and_training_log_inputs(capsys):
    data = _json(capsys, TRAINING_METRICS)
    assert data["iterations"][0]["train_episodes"] == 10 and data["episodes"] == []
    assert len(data["evaluation"]) > 0
    data = _json(capsys, SAGEMAKER_LOG)
    assert data["iterations"][0]["episodes"] == 20
    assert data["iterations"][0]["policy_loss"] is not None


def test_rich_output(sim_run, capsys):
    assert main(["analyze", str(sim_run), "--episodes", "3"]) == 0
    out = capsys.readouterr().out
    assert "drtui-run, track reinvent_base, 240 steps, 9 training episodes" in out
    assert "Training progress per iteration" in out and "Episodes (last 3)" in out
    assert "Actions per track section" in out


def test_plots_are_pngs_with_content(sim_run, tmp_path, capsys):
    """`--plots DIR` writes the figures (tests/analysis/test_analysis_figures.py checks what is
    in them) as PNG files, and --json lists them."""
    out = tmp_path / "plots"
    data = _json(capsys, sim_run, "--plots", out, "--sections", "5")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["action-heatmap.png", "actions-per-section.png", "best-laps.png",
                     "exits.png", "reward-heatmap.png", "reward-progress.png",
                     "speed-heatmap.png", "starts.png", "training-progress.png",
                     "training-quintiles.png"]  # no complete lap: no histogram, no sectors
    assert sorted(p.split("/")[-1] for p in data["plots"]) == names
    from matplotlib.image import imread

    for n in names:
        assert (out / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = imread(out / n)
        assert img.shape[0] > 300 and img.shape[1] > 600
        assert len(np.unique(img.reshape(-1, img.shape[-1]), axis=0)) > 20  # drawn, not blank


def test_lap_histogram_png(tmp_path, capsys):
    out = tmp_path / "p"
    _json(capsys, CONSOLE_EVAL_LOG, "--plots", out)
    assert (out / "lap-times.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tensorboard_export_reads_back(sim_run, tmp_path):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    out = tmp_path / "tb"
    assert main(["logs", "tensorboard", str(sim_run), "-o", str(out)]) == 0
    acc = ea.EventAccumulator(str(out))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"iteration/reward_mean", "iteration/progress_mean", "episode/reward",
            "episode/progress"} <= tags
    loaded = load(sim_run)
    eps = tables.episodes(loaded.steps)
    rewards = acc.Scalars("episode/reward")
    assert [s.step for s in rewards] == eps["episode"].tolist()
    np.testing.assert_allclose([s.value for s in rewards], eps["reward"], rtol=1e-6)
    iters = tables.iterations(loaded, eps)
    means = acc.Scalars("iteration/reward_mean")
    np.testing.assert_allclose([s.value for s in means], iters["reward_mean"], rtol=1e-6)


def test_tensorboard_from_metrics_of_two_workers(layouts, tmp_path):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    out = tmp_path / "tb"
    assert main(["logs", "tensorboard", str(layouts["drfc-multi"]), "-o", str(out)]) == 0
    acc = ea.EventAccumulator(str(out))
    acc.Reload()
    assert "iteration/reward_mean" in acc.Tags()["scalars"]
    # only the TrainingMetrics of two workers (no trace): each worker's episodes apart, as each
    # worker numbers its own
    from analysis_helpers import TRAINING_METRICS_1

    folder = tmp_path / "metrics-only"
    (folder / "metrics").mkdir(parents=True)
    (folder / "metrics" / "TrainingMetrics.json").write_bytes(TRAINING_METRICS.read_bytes())
    (folder / "metrics" / "TrainingMetrics_1.json").write_bytes(TRAINING_METRICS_1.read_bytes())
    assert main(["logs", "tensorboard", str(folder), "-o", str(tmp_path / "tb2")]) == 0
    acc = ea.EventAccumulator(str(tmp_path / "tb2"))
    acc.Reload()
    metrics = load(folder).metrics
    for worker in (0, 1):
        rows = metrics[(metrics["worker"] == worker) & (metrics["phase"] == "training")]
        got = acc.Scalars(f"episode/worker{worker}/reward")
        assert [s.step for s in got] == rows["episode"].tolist()
        np.testing.assert_allclose([s.value for s in got], rows["reward"], rtol=1e-6)


def test_command_line_exit_codes(tmp_path):
    """The installed entry point: a non-log is exit 2 with no traceback."""
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b,c\n1,2,3\n")
    proc = subprocess.run([sys.executable, "-m", "drtui", "analyze", str(junk)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "expected one of" in proc.stderr


def test_the_logged_track_gets_its_pictures(layouts, tmp_path, capsys):
    """The DeepRacer on AWS sample ran on Spain_track, whose simapp route ships with drtui:
    the pictures come without --world; naming a route file (tests/data keeps simapp's) works
    too. A wrong --world is exit 2."""
    from analysis_helpers import SIMTRACE

    data = _json(capsys, layouts["droa-archive"], "--plots", tmp_path / "a")
    assert len(data["episodes"]) == 3 and not any(
        "no waypoints" in n for n in data["source"]["notes"])
    assert (tmp_path / "a" / "best-laps.png").exists()
    _json(capsys, layouts["droa-archive"], "--plots", tmp_path / "b",
          "--world", SIMTRACE / "Spain_track.npy")
    assert (tmp_path / "b" / "best-laps.png").exists()
    assert main(["analyze", str(layouts["droa-archive"]), "--world", "Nowhere_track"]) == 2
    assert "--world" in capsys.readouterr().err
