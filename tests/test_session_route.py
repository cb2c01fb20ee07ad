"""A session's own route file (`[track] route`): a run folder keeps a copy of it and the
embedded trainer drives it; a broken one is refused before a run folder is made."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("torch")

from tiny_session import FAST, tiny_session  # noqa: E402

from drtui.backends.launch import create_run  # noqa: E402
from drtui.catalog.tracks import load_waypoints, sanitize  # noqa: E402
from drtui.errors import InvalidInput  # noqa: E402
from drtui.session import store  # noqa: E402


def _session_with_route(tmp_path, route: np.ndarray):
    (tmp_path / "routes").mkdir()
    np.save(tmp_path / "routes" / "own.npy", route)
    s = tiny_session("own-route")
    s.track.route = "routes/own.npy"
    store.save(s, tmp_path / "own.toml")
    return tmp_path / "own.toml"


def test_a_run_copies_the_route_and_trains_on_it(tmp_path):
    from drtui.train.trainer import Trainer

    own = load_waypoints("reInvent2019_wide_cw")
    path = _session_with_route(tmp_path, own)
    run = create_run(tmp_path / "ws", path)
    assert np.array_equal(np.load(run.path / "route.npy"), own)
    assert store.load(run.path / "session.toml").track.route == "route.npy"
    np.save(tmp_path / "routes" / "own.npy", load_waypoints("reinvent_base"))  # a later edit
    trainer = Trainer(run.path, out=io.StringIO(), env=FAST)
    trainer._setup()
    assert np.array_equal(trainer.sim.track.route, sanitize(own))
    assert trainer.sim.track.length == pytest.approx(16.598, abs=1e-3)


def test_a_broken_route_is_refused_before_a_run_is_made(tmp_path):
    path = _session_with_route(tmp_path, np.zeros((8, 4)))
    with pytest.raises(InvalidInput) as err:
        create_run(tmp_path / "ws", path)
    assert any(p.path == "track.route" and "shape (N, 6)" in p.message
               for p in err.value.problems)
    assert not (tmp_path / "ws" / "runs").exists()


def test_the_monitor_map_and_analysis_draw_the_runs_route(tmp_path):
    """The run monitor's track, the braille map and the analysis pictures read the run's
    route.npy, not the world's route."""
    from drtui.analysis.report import route_of
    from drtui.plots.track_map import track_map_text
    from drtui.widgets.run_model import RunModel

    own = load_waypoints("reInvent2019_wide_cw")
    run = create_run(tmp_path / "ws", _session_with_route(tmp_path, own))
    model = RunModel.for_run(run)
    assert model.world == str((run.path / "route.npy").resolve())
    assert np.array_equal(route_of(model.world), own)
    text = track_map_text(model.world, 60, 20)
    assert len(text.plain.split("\n")) == 20 and text.plain.strip()
    with pytest.raises(InvalidInput, match="--world: .*no such route file"):
        route_of(str(tmp_path / "gone.npy"))


def test_a_worker_route_is_refused_for_now(tmp_path):
    from drtui.catalog.tracks import session_route_problems
    from drtui.session.model import Track, WorkerOverride

    s = tiny_session("workers")
    s.training.workers = 2
    s.workers = [WorkerOverride(worker=2, track=Track(world="reinvent_base", route="w.npy"))]
    [p] = session_route_problems(s, tmp_path)
    assert p.path == "workers[worker=2].track.route" and "cannot drive a route file" in p.message


def test_another_runner_is_told_it_drives_simapps_route(tmp_path):
    from drtui.catalog.tracks import session_route_problems

    np.save(tmp_path / "own.npy", load_waypoints("reinvent_base"))
    s = tiny_session("drfc-route")
    s.track.route = "own.npy"
    assert session_route_problems(s, tmp_path) == []
    s.backend.runner = "drfc"
    [p] = session_route_problems(s, tmp_path)
    assert p.severity == "warning" and "drives simapp's own route of 'reinvent_base'" in p.message


def test_validate_runs_the_reward_on_the_sessions_route(tmp_path, capsys):
    """The one session check samples params on [track] route: a reward that needs that
    route's length passes with it and fails on the world's own route."""
    from drtui.cli import main
    from drtui.session.model import Reward

    own = load_waypoints("reInvent2019_wide_cw")  # 16.60 m; the world reinvent_base is 17.71 m
    path = _session_with_route(tmp_path, own)
    s = store.load(path, check=False)
    s.reward = Reward(code="def reward_function(params):\n"
                           "    assert abs(params['track_length'] - 16.598) < 0.01\n"
                           "    return 1.0\n")
    store.save(s, path)
    assert main(["validate", str(path)]) == 0
    s.track.route = None
    store.save(s, path)
    assert main(["validate", str(path)]) == 2
    assert "reward.code: line 2: AssertionError" in capsys.readouterr().err


def test_a_broken_route_still_lets_the_studio_run_the_reward(tmp_path):
    """The studio runs reward_report alone: a broken route file gives the world's samples
    and a warning naming the file, not a crash."""
    from drtui.session.check import reward_report

    path = _session_with_route(tmp_path, np.zeros((8, 4)))
    report = reward_report(store.load(path, check=False), tmp_path)
    [warning] = report.problems
    assert warning.severity == "warning" and "own.npy: the route must have shape" in \
        warning.message and "reinvent_base" in warning.message
    assert "reinvent_base" in report.summary
