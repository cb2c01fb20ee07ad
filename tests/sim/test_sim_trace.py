"""Fidelity: `drtui sim trace` recomputes, from every row of real simtraces, the closest
waypoint and progress the DeepRacer simulator logged."""

from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

pytest.importorskip("torch")

from drtui.sim.trace import main, trace

DATA = Path(__file__).parents[1] / "data" / "simtrace"

# (track, simtrace, keep_duplicates): reinvent_base ships with drtui; the other two tracks are
# simapp routes kept in tests/data (the logs' track lengths: 60.00 m and 16.60 m).
SAMPLES = [
    ("reinvent_base", "drfc-training-0-iteration.csv", False),
    (str(DATA / "Spain_track.npy"), "droa-training-0-iteration-first3episodes.csv", True),
    (
        str(DATA / "reInvent2019_wide_cw.npy"),
        "droa-continuous-training-0-iteration-first2episodes.csv",
        False,
    ),
]


def _rows(name: str) -> list[dict]:
    with open(DATA / name, newline="") as fh:
        return list(csv.DictReader(fh))


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
    records = [r for r in trace("reInvent2019_track", tmp_path / "0-iteration.csv") if r["steps"] > 1]
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
