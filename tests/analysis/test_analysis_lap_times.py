"""Lap times from evaluation simtraces equal the official evaluation metrics of the same run
(real DRfC continuous evaluations and a console evaluation, tests/data/evaluation), and
deepracer-utils' simulation_agg, which zeroes the time delta only on `prepare` rows."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from analysis_helpers import DROA_LOG, EVALUATION, METRICS

from drtui.analysis import tables
from drtui.analysis.load import load

dr = pytest.importorskip("deepracer.logs")

DRFC = ("20220709200242", "20220709200509", "20220709200711")
CONSOLE = "20220612082523-IBZwYd0MRMqgwKlAe7bb0A"


def _metrics_of(stamp: str) -> dict:
    name = f"drfc-EvaluationMetrics-{stamp}.json"
    path = EVALUATION / name if (EVALUATION / name).exists() else METRICS / name
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def drfc_model(tmp_path_factory):
    """The DRfC model folder these come from: its first training iteration, three continuous
    evaluations and their metrics."""
    root = tmp_path_factory.mktemp("drfc-eval")
    (root / "training-simtrace").mkdir()
    shutil.copyfile(EVALUATION.parent / "simtrace" / "drfc-training-0-iteration.csv",
                    root / "training-simtrace" / "0-iteration.csv")
    for stamp in DRFC:
        sim = root / f"evaluation-{stamp}" / "evaluation-simtrace"
        sim.mkdir(parents=True)
        shutil.copyfile(EVALUATION / f"drfc-evaluation-{stamp}-0-iteration.csv",
                        sim / "0-iteration.csv")
        (root / "metrics").mkdir(exist_ok=True)
        (root / "metrics" / f"EvaluationMetrics-{stamp}.json").write_text(
            json.dumps(_metrics_of(stamp)))
    return root


@pytest.fixture(scope="module")
def console_logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("console-eval") / "model-logs"
    sim = root / "sim-trace" / "evaluation" / CONSOLE / "evaluation-simtrace"
    sim.mkdir(parents=True)
    shutil.copyfile(EVALUATION / "console-evaluation-20220612082523-0-iteration.csv",
                    sim / "0-iteration.csv")
    (root / "sim-trace" / "training" / "training-simtrace").mkdir(parents=True)
    shutil.copyfile(EVALUATION.parent / "simtrace" / "drfc-training-0-iteration.csv",
                    root / "sim-trace" / "training" / "training-simtrace" / "0-iteration.csv")
    (root / "logs" / "training").mkdir(parents=True)  # DeepRacerLog wants a training log
    shutil.copyfile(DROA_LOG, root / "logs" / "training" / "training-20220611230350-robomaker.log")
    met = root / "metrics" / "evaluation"
    met.mkdir(parents=True)
    shutil.copyfile(EVALUATION / f"console-evaluation-{CONSOLE}.json",
                    met / f"evaluation-{CONSOLE}.json")
    return root.parent / "model-logs"


def test_continuous_laps_equal_official_metrics(drfc_model):
    loaded = load(drfc_model)
    table = tables.evaluation(loaded)
    assert sorted(table["stream"].unique()) == list(DRFC)  # the trace and its metrics, paired
    for stamp in DRFC:
        trials = table[table["stream"] == stamp].sort_values("trial")
        official = [m["elapsed_time_in_milliseconds"] / 1000 for m in _metrics_of(stamp)["metrics"]]
        assert trials["time"].tolist() == pytest.approx(official)
        # laps 2 and 3 of a continuous evaluation have no prepare row: their clock runs on
        # from the previous lap's last step, as the official metrics' does
        got = trials["trace_time"].to_numpy(float)
        np.testing.assert_allclose(got[1:], official[1:], atol=0.015, err_msg=stamp)
        # lap 1: the metrics' clock starts at the reset, a step before the prepare row
        assert 0 < official[0] - got[0] < 0.1


def test_trace_lap_times_equal_deepracer_utils(drfc_model, console_logs):
    for folder in (drfc_model, console_logs):
        log = dr.DeepRacerLog(model_folder=str(folder))
        log.load_evaluation_trace(ignore_metadata=True)
        expected = dr.AnalysisUtils.simulation_agg(log.dataframe().copy(), firstgroup="stream",
                                                   is_eval=True)
        mine = tables.evaluation_episodes(load(folder).eval_steps)
        assert mine["stream"].tolist() == expected["stream"].tolist()
        for col in ("time", "dist", "steps", "progress"):
            np.testing.assert_allclose(mine[col].to_numpy(float),
                                       expected[col].to_numpy(float), rtol=1e-12, err_msg=col)


def test_separate_laps_each_start_at_their_prepare_row(console_logs):
    """A console evaluation resets before each lap: every lap has a prepare row, and its time is
    the official one less the step before the first logged row (within one step, 0.1 s)."""
    table = tables.evaluation(load(console_logs))
    assert table["stream"].unique().tolist() == [CONSOLE[:14]]
    gap = table["time"].to_numpy(float) - table["trace_time"].to_numpy(float)
    assert ((gap > 0) & (gap < 0.1)).all(), gap


def test_leaderboard_laps_run_on_one_clock():
    """A real console leaderboard log: three continuous laps, one prepare row. Their times add up
    to the span of the log's clock (deepracer-utils' own continuous-lap check) and equal
    simulation_agg's."""
    path = EVALUATION / "console-leaderboard-20220703172842-robomaker.log"
    loaded = load(path)
    eps = tables.episodes(loaded.steps)
    assert eps["complete"].tolist() == [1, 1, 1]
    t = loaded.steps["tstamp"]
    assert eps["time"].sum() == pytest.approx(t.max() - t.min(), abs=1e-9)
    expected = dr.AnalysisUtils.simulation_agg(dr.SimulationLogsIO.load_pandas(str(path)),
                                               is_eval=True)
    np.testing.assert_allclose(eps["time"], expected["time"], rtol=1e-12)
