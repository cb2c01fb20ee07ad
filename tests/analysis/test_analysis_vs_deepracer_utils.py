"""drtui's figures agree with deepracer-utils on the same input: the expected values are
computed here by deepracer-utils itself (DeepRacerLog, SimulationLogsIO, AnalysisUtils,
TrainingMetrics), never pasted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analysis_helpers import CONSOLE_EVAL_LOG, DROA_LOG, TRAINING_METRICS, TRAINING_METRICS_1

from drtui.analysis import tables
from drtui.analysis.load import load

dr = pytest.importorskip("deepracer.logs")

EPISODE_FIGURES = ("steps", "start_at", "progress", "time", "dist", "speed", "reward")


def _expected_episodes(df, group="unique_episode"):
    agg = dr.AnalysisUtils.simulation_agg(df.copy(), secondgroup=group)
    return agg.sort_values(group).reset_index(drop=True), group


def _assert_episodes(mine, expected, group):
    assert mine["episode"].tolist() == expected[group].tolist()
    assert mine["iteration"].tolist() == expected["iteration"].tolist()
    for col in EPISODE_FIGURES:
        np.testing.assert_allclose(mine[col].to_numpy(float), expected[col].to_numpy(float),
                                   rtol=1e-12, atol=1e-9, err_msg=col)
    assert mine["complete"].tolist() == expected["complete"].tolist()


def _assert_progress(iters, agg):
    """analyze_training_progress's groupings: mean/std of reward, time, progress per iteration,
    completion rate, completed laps' times."""
    g = agg.groupby("iteration")
    for mine, (col, how) in {"reward_mean": ("reward", "mean"), "reward_std": ("reward", "std"),
                             "time_mean": ("time", "mean"), "time_std": ("time", "std"),
                             "progress_mean": ("progress", "mean"),
                             "progress_std": ("progress", "std"),
                             "completion_rate": ("complete", "mean")}.items():
        expected = g[col].agg(how).to_numpy(float)
        np.testing.assert_allclose(iters[mine].to_numpy(float), expected, rtol=1e-12,
                                   equal_nan=True, err_msg=mine)
    laps = agg[agg["progress"] == 100.0].groupby("iteration")["time"].agg(["mean", "min", "max"])
    for it, row in laps.iterrows():
        got = iters[iters["iteration"] == it].iloc[0]
        assert (got["lap_time_mean"], got["lap_time_min"], got["lap_time_max"]) == \
            pytest.approx((row["mean"], row["min"], row["max"]))


@pytest.mark.parametrize("name", ["drfc-single", "drfc-multi"])
def test_drfc_folder_matches_deepracer_log(layouts, name):
    log = dr.DeepRacerLog(str(layouts[name]))
    log.load_training_trace(ignore_metadata=True)
    expected, group = _expected_episodes(log.dataframe())
    loaded = load(layouts[name])
    mine = tables.episodes(loaded.steps)
    _assert_episodes(mine, expected, group)
    _assert_progress(tables.iterations(loaded, mine), expected)


def test_droa_archive_matches_tar_file_handler(layouts):
    log = dr.DeepRacerLog(filehandler=dr.TarFileHandler(str(layouts["droa-archive"])))
    log.load_training_trace(ignore_metadata=True)
    expected, group = _expected_episodes(log.dataframe())
    _assert_episodes(tables.episodes(load(layouts["droa-archive"]).steps), expected, group)


@pytest.mark.parametrize("path", [DROA_LOG, CONSOLE_EVAL_LOG], ids=["droa", "console-lap"])
def test_simulation_log_matches_simulation_logs_io(path):
    df = dr.SimulationLogsIO.load_pandas(str(path))
    loaded = load(path)
    # the same records, column by column
    for col in ("episode", "steps", "x", "y", "yaw", "steering_angle", "speed", "action",
                "reward", "done", "on_track", "progress", "closest_waypoint", "track_len",
                "tstamp", "episode_status", "iteration"):
        assert loaded.steps[col].tolist() == df[col].tolist(), col
    expected = dr.AnalysisUtils.simulation_agg(df.copy())
    mine = tables.episodes(loaded.steps)
    _assert_episodes(mine, expected.rename(columns={"episode": "unique_episode"}),
                     "unique_episode")
    _assert_progress(tables.iterations(loaded, mine), expected)


def test_training_metrics_summary_matches(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # TrainingMetrics makes an S3 resource
    tm = dr.TrainingMetrics(None, fname=str(TRAINING_METRICS))
    tm.addRound(None, fname=str(TRAINING_METRICS_1), training_round=1, worker=1)
    summary = tm.getSummary(summary_index=["iteration"]).reset_index()
    import json

    from drtui.analysis.load import metrics_frame

    mine = tables.iterations_from_metrics(metrics_frame(
        [(0, json.loads(TRAINING_METRICS.read_text())),
         (1, json.loads(TRAINING_METRICS_1.read_text()))]))
    assert mine["iteration"].tolist() == summary["iteration"].tolist()
    for col in ("train_reward", "train_completion", "train_time", "train_completed",
                "train_episodes", "eval_reward", "eval_completion", "eval_time",
                "eval_completed", "eval_episodes"):
        np.testing.assert_allclose(mine[col].to_numpy(float), summary[col].to_numpy(float),
                                   rtol=1e-12, equal_nan=True, err_msg=col)


def test_action_breakdown_counts_match(layouts):
    """The per-waypoint action counts deepracer-utils' action_breakdown bars (one section per
    waypoint) equal drtui's action-by-section table with one section per waypoint."""
    log = dr.DeepRacerLog(str(layouts["drfc-single"]))
    log.load_training_trace(ignore_metadata=True)
    df = log.dataframe()
    loaded = load(layouts["drfc-single"])
    n = int(df["closest_waypoint"].max()) + 1
    table = tables.actions_by_section(loaded.steps, n, n)
    for action in sorted(df["action"].unique()):
        expected = [len(df[(df["action"] == action) & (df["closest_waypoint"] == wp)])
                    for wp in range(n)]
        row = [label for label in table.index if label.startswith(f"{action}:")]
        assert table.loc[row[0]].tolist() == expected
    assert int(table.to_numpy().sum()) == len(df)
    assert isinstance(table, pd.DataFrame)


def test_evaluation_simtraces_match_load_evaluation_trace(layouts):
    log = dr.DeepRacerLog(str(layouts["drfc-multi"]))
    log.load_evaluation_trace(ignore_metadata=True)
    expected = dr.AnalysisUtils.simulation_agg(log.dataframe().copy(), firstgroup="stream",
                                               is_eval=True)
    mine = tables.evaluation(load(layouts["drfc-multi"]))
    assert mine["stream"].tolist() == expected["stream"].tolist()
    assert mine["episode"].tolist() == expected["episode"].tolist()
    for col in EPISODE_FIGURES[:-1]:  # an evaluation aggregate has no reward column
        np.testing.assert_allclose(mine[col].to_numpy(float), expected[col].to_numpy(float),
                                   rtol=1e-12, err_msg=col)
    assert mine["complete"].tolist() == expected["complete"].tolist()
