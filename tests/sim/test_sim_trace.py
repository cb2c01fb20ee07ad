"""Fidelity: `drtui sim trace` recomputes, from every row of real simtraces, the closest
waypoint and progress the DeepRacer simulator logged."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

pytest.importorskip("torch")

from drtui.sim.trace import main, trace

DATA = Path(__file__).parents[1] / "data" / "simtrace"

# (world, simtrace, keep_duplicates): every world's own simapp route ships with drtui.
SAMPLES = [
    ("reinvent_base", "drfc-training-0-iteration.csv", False),
    ("Spain_track", "droa-training-0-iteration-first3episodes.csv", True),
    ("reInvent2019_wide_cw", "droa-continuous-training-0-iteration-first2episodes.csv", False),
]

# Real simtraces (CSV or a log's SIM_TRACE_LOG lines) of a _cw world, the plain
# 2022_reinvent_champ of 2023 logs and other plain routes (PROVENANCE.md): (world, file,
# keep_duplicates as simapp < 6.0.2 indexed waypoints, logged track_len decimals).
AGREEMENT = [
    ("reInvent2019_wide_cw", "droa-continuous-reInvent2019_wide_cw-training-14-iteration.csv",
     False, 1e-6),
    ("reInvent2019_wide_cw", "droa-continuous-training-0-iteration-first2episodes.csv", False,
     1e-6),
    ("2022_reinvent_champ", "drfc-simapp5-2022_reinvent_champ-robomaker.log", True, 0.01),
    ("2022_reinvent_champ", "console-sac-2022_reinvent_champ-training-0-iteration.csv", True,
     1e-6),
    ("FS_June2020", "drfc-simapp5-FS_June2020-robomaker-lines1-4500.log", True, 0.01),
    ("2022_august_open", "console-2022_august_open-training-0-iteration.csv", True, 1e-6),
    ("Spain_track", "droa-training-0-iteration-first3episodes.csv", True, 1e-6),
    ("reinvent_base", "drfc-training-0-iteration.csv", False, 1e-6),
]


def _rows(name: str) -> list[dict]:
    from drtui.sim.trace import _read

    return _read(DATA / name)


@pytest.mark.parametrize("world, name, keep, len_tol", AGREEMENT,
                         ids=[f"{w}:{n.split('-')[0]}" for w, n, *_ in AGREEMENT])
def test_trace_agrees_with_real_simtraces(world, name, keep, len_tol):
    """Closest waypoint within 1 and progress within 0.5 points on 99% of the rows, on the
    world's own route (a _cw world's file is not its _ccw one reversed)."""
    rows = _rows(name)
    records = list(trace(world, DATA / name, keep_duplicates=keep))
    assert len(records) == len(rows) > 30
    import torch

    from drtui.sim.track import load_track

    n_wp = len(load_track(world, torch.float64, keep).route)
    agree = 0
    for row, rec in zip(rows, records):
        logged, mine = int(row["closest_waypoint"]), rec["closest_waypoint"]
        near = min((mine - logged) % n_wp, (logged - mine) % n_wp) <= 1  # 0 and n-1 are near
        agree += near and abs(rec["params"]["progress"] - float(row["progress"])) <= 0.5
    assert agree >= 0.99 * len(rows), f"{agree} of {len(rows)} rows agree"
    assert records[0]["params"]["track_length"] == pytest.approx(float(rows[0]["track_len"]),
                                                                 abs=len_tol)


def test_stale_first_rows_take_the_round_robin_start_line():
    """Iteration 14 of the DeepRacer on AWS run has three episodes whose first row still
    holds the pose before the reset: their start line comes from simapp's round-robin rule
    (offset + k * advance), fitted on the other episodes."""
    from drtui.sim.trace import start_lines

    spawn = [(0.05 * k + 1e-4 * (k % 3)) % 1.0 for k in range(280, 300)]
    spawn[7] = 0.6  # stale
    lines = start_lines(list(range(280, 300)), spawn)
    assert lines[7] == pytest.approx((0.05 * 287) % 1.0, abs=1e-3)
    assert lines[:7] == spawn[:7]  # the others keep their own spawn point
    assert start_lines([3, 4], [0.1, 0.9]) == [0.1, 0.9]  # too few episodes to fit


@pytest.mark.parametrize("track, name, keep", SAMPLES, ids=["reinvent_base", "Spain", "A-to-Z-cw"])
def test_every_row_matches_the_logged_waypoint_and_progress(track, name, keep):
    rows = _rows(name)
    records = list(trace(track, DATA / name, keep_duplicates=keep))
    assert len(records) == len(rows)
    wheel_mismatches = 0
    for row, rec in zip(rows, records):
        where = f"episode {row['episode']} step {row['steps']}"
        assert rec["episode"] == int(row["episode"]) and rec["steps"] == int(float(row["steps"]))
        logged = int(row["closest_waypoint"])
        prev_wp, next_wp = rec["params"]["closest_waypoints"]
        # exact, or the other end of the same segment when the car is halfway (a tie)
        assert rec["closest_waypoint"] == logged or logged in (prev_wp, next_wp), where
        assert abs(rec["params"]["progress"] - float(row["progress"])) < 0.5, where
        assert rec["params"]["track_length"] == pytest.approx(float(row["track_len"]), abs=1e-6)
        wheel_mismatches += rec["params"]["all_wheels_on_track"] != (
            row["all_wheels_on_track"] == "True"
        )
    assert wheel_mismatches <= max(1, len(rows) // 100)  # Gazebo's wheel links vs the URDF's


def test_reinvent_base_is_exact():
    """On the shipped track every closest waypoint is the logged one and progress is within
    0.01 points (the start is estimated from the first row's pose)."""
    rows = _rows("drfc-training-0-iteration.csv")
    records = trace("reinvent_base", DATA / "drfc-training-0-iteration.csv")
    for row, rec in zip(rows, records):
        assert rec["closest_waypoint"] == int(row["closest_waypoint"])
        assert rec["params"]["progress"] == pytest.approx(float(row["progress"]), abs=0.01)


def test_params_are_complete_and_from_the_log():
    rec = next(trace("reinvent_base", DATA / "drfc-training-0-iteration.csv", waypoints=True))
    from drtui.sim.params import PARAM_KEYS

    assert set(rec["params"]) == set(PARAM_KEYS)
    p = rec["params"]
    assert (p["x"], p["y"], p["heading"]) == (
        3.1999032745384617,
        0.6830977174476494,
        0.18402830554025268,
    )
    assert (p["speed"], p["steering_angle"], p["steps"]) == (1.0, 20.0, 1)
    assert p["waypoints"][0] == p["waypoints"][-1] and len(p["waypoints"]) == 119
    assert p["distance_from_center"] < 0.01 and p["is_offtrack"] is False
    assert rec["episode_status"] == "prepare"


def test_a_csv_that_is_not_a_simtrace_is_refused(tmp_path):
    from drtui.errors import InvalidInput

    bad = tmp_path / "bad.csv"
    bad.write_text("episode,steps,x,y\n0,1,0,0\n")
    with pytest.raises(InvalidInput, match="no X, Y, yaw"):
        list(trace("reinvent_base", bad))


def test_cli_prints_one_json_line_per_row():
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["reinvent_base", str(DATA / "drfc-training-0-iteration.csv")]) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 529
    first = json.loads(lines[0])
    assert first["episode"] == 0 and first["steps"] == 1 and "waypoints" not in first["params"]


def test_the_simulators_own_log_traces_back_to_its_params(tmp_path):
    """Round trip: the simulator's fast float32 geometry, logged as a simtrace, recomputed by
    the exact float64 trace, gives the same progress, waypoints and distances."""
    from drtui.sim.env import DeepRacerSim, SimConfig
    from drtui.sim.logs import SimTraceCsv

    seen = []
    actions = ((-15.0, 1.0), (0.0, 1.5), (15.0, 1.0))
    cfg = SimConfig(world="reInvent2019_track", num_cars=1, actions=actions, sensors=(), seed=0)
    sim = DeepRacerSim(cfg, lambda p: seen.append(p) or 1.0)
    sim.reset()
    with SimTraceCsv(tmp_path) as log:
        log.start_iteration(0)
        for t in range(150):
            sim.step([(t // 10) % 3])
            log.write(sim.last)
    records = [r for r in trace("reInvent2019_track", tmp_path / "0-iteration.csv")
               if r["steps"] > 1]
    n_waypoints = len(sim.track.forward.waypoints)
    assert len(records) == len(seen) > 100
    for rec, p in zip(records, seen):
        q = rec["params"]
        # equal, or one waypoint apart when the car is on a waypoint (float32 vs float64 tie)
        shift = (q["closest_waypoints"][0] - p["closest_waypoints"][0]) % n_waypoints
        assert shift in (0, 1, n_waypoints - 1)
        assert q["progress"] == pytest.approx(p["progress"], abs=0.01)
        assert q["distance_from_center"] == pytest.approx(p["distance_from_center"], abs=2e-3)
        assert q["track_width"] == pytest.approx(p["track_width"], abs=3e-3)
        assert q["is_left_of_center"] == p["is_left_of_center"] or p["distance_from_center"] < 0.01
        assert q["all_wheels_on_track"] == p["all_wheels_on_track"]


def test_an_unknown_world_or_bad_route_is_a_clear_error(tmp_path):
    import numpy as np

    from drtui.errors import InvalidInput

    with pytest.raises(InvalidInput, match="track: no route for track 'Nowhere'"):
        list(trace("Nowhere", DATA / "drfc-training-0-iteration.csv"))
    np.save(tmp_path / "flat.npy", np.zeros((10, 4)))
    with pytest.raises(InvalidInput, match=r"track: .*flat\.npy: the route must have shape"):
        list(trace(str(tmp_path / "flat.npy"), DATA / "drfc-training-0-iteration.csv"))
