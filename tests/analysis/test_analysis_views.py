"""deepracer-log-guru's views on a real log (deepracer-utils' DeepRacer on AWS archive, 300
episodes on reInvent2019_wide_cw): heatmap measures, exits by cause, sector times and the best
possible lap, progress per start, episode filters, runs compared; tables, CLI and figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from analysis_helpers import DROA_ARCHIVE
from test_analysis_figures import check

from drtui.analysis import figures, tables, views
from drtui.analysis.load import load
from drtui.analysis.report import build
from drtui.cli import main

ROUTE = "reInvent2019_wide_cw"  # simapp's own route, shipped with drtui


@pytest.fixture(scope="module")
def loaded():
    return load(DROA_ARCHIVE, world=ROUTE)


@pytest.fixture(scope="module")
def report(loaded):
    return build(loaded, sections=5, heatmaps=("visits", "future", "slide", "steering"))


def test_heatmap_measures(report):
    steps = report.steps
    assert report.heatmaps["visits"].sum() == len(steps)
    cells = figures.grid(steps, report.heatmaps["visits"], (-5, -4, 5, 4), 0.1, "count")
    assert np.nansum(cells) == len(steps)  # every step lands in one cell
    # future reward with no discount: an episode's first step holds its whole reward
    g = views.future_rewards(steps, 1.0)
    first = np.r_[True, steps["unique_episode"].to_numpy()[1:] !=
                  steps["unique_episode"].to_numpy()[:-1]]
    np.testing.assert_allclose(g[first], report.episodes["reward"].to_numpy(), rtol=1e-9)
    last = np.r_[first[1:], True]
    np.testing.assert_allclose(report.heatmaps["future"][last], steps["reward"].to_numpy()[last])
    s = report.heatmaps["slide"]
    assert (s >= 0).all() and (s <= 180).all() and np.median(s) < 20 < s.max()
    for name in ("visits", "future", "slide", "steering"):
        check(figures.heatmap(steps, report.route, name, values=report.heatmaps[name]), name)


def test_exits_by_cause(report):
    ex = report.exits
    assert len(ex) == len(report.episodes) == 300
    last = report.steps.groupby("unique_episode").tail(1)
    assert ex["cause"].value_counts().to_dict() == last["episode_status"].value_counts().to_dict()
    assert (ex["cause"] == "lap_complete").sum() == report.episodes["complete"].sum() == 2
    assert int(report.exits_table.to_numpy().sum()) == 300
    check(figures.exits(ex, report.route), "exits")


def test_sector_times_add_up_to_lap_times_and_the_best_possible_lap(report):
    times = report.sector_times
    laps = report.laps.set_index("episode")["lap_time"]
    assert sorted(times.index) == sorted(laps.index)
    np.testing.assert_allclose(times.sum(axis=1).to_numpy(), laps.loc[times.index].to_numpy(),
                               atol=1e-9)
    assert report.best_possible == pytest.approx(times.min().sum())
    assert report.best_possible <= laps.min()
    check(figures.sector_times(report.sectors, report.best_possible, len(times)), "sectors")


def test_progress_per_start(report):
    st = report.starts
    eps = report.episodes
    assert st["episodes"].sum() == len(eps)
    w = int(st["start_at"].iloc[0])
    assert st["progress_mean"].iloc[0] == pytest.approx(eps[eps["start_at"] == w]
                                                        ["progress"].mean())
    check(figures.starts(st), "starts")


def test_filters(loaded, report):
    eps = report.episodes
    quarters = [build(loaded, only=f"q{q}").episodes["episode"] for q in range(1, 5)]
    assert sum(len(q) for q in quarters) == len(eps)
    assert len(set().union(*map(set, quarters))) == len(eps)
    assert quarters[0].max() < quarters[1].min()
    complete = build(loaded, only="complete")
    assert complete.episodes["complete"].all() and len(complete.episodes) == 2
    fast = build(loaded, only="fast").episodes
    assert (fast["lap_time"] <= report.laps["lap_time"].min() * 1.05).all() and len(fast) >= 1
    part = build(loaded, section="10-20")
    wp = part.steps["closest_waypoint"]
    assert wp.between(10, 20).all() and len(part.steps) < len(report.steps)
    assert "--section 10-20" in " ".join(loaded.notes)
    with pytest.raises(Exception, match="--section"):
        build(loaded, section="20-10")


def test_cli_views_and_runs_compared(layouts, tmp_path, capsys):
    assert main(["analyze", str(DROA_ARCHIVE), "--world", ROUTE, "--sections", "5"]) == 0
    out = capsys.readouterr().out
    assert "Where episodes end" in out and "best possible lap" in out
    assert "Progress per starting waypoint" in out
    plots = tmp_path / "cmp"
    assert main(["analyze", str(DROA_ARCHIVE), str(layouts["drfc-single"]), "--json",
                 "--plots", str(plots)]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = data["comparison"]
    assert [r["run"] for r in rows] == [DROA_ARCHIVE.name, "drfc-single"]
    for row, run in zip(rows, data["runs"]):
        laps = [lap["lap_time"] for lap in run["laps"]]
        assert row["best_lap"] == (min(laps) if laps else None)
        assert row["episodes"] == len(run["episodes"])
    assert (plots / "compare.png").exists()
    reports = [build(load(DROA_ARCHIVE)), build(load(layouts["drfc-single"]))]
    check(figures.compare(reports, ["a", "b"]), "compare")
    assert tables.records(views.compare(reports, ["a", "b"]))[0]["episodes"] == 300


def test_filters_need_a_step_trace(capsys):
    from analysis_helpers import TRAINING_METRICS

    assert main(["analyze", str(TRAINING_METRICS), "--only", "complete"]) == 2
    assert "no per-step trace to filter" in capsys.readouterr().err
