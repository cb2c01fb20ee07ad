"""Multi-task training: the session's [[workers]] become tasks driven side by side by one
policy, with per-task metrics; MultiSim steps exactly as its tasks' own simulators."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from research_helpers import create_run, tiny_session, train  # noqa: E402

from drtui.cli import main  # noqa: E402
from drtui.events import TaskIteration  # noqa: E402
from drtui.logs.parser import parse_lines  # noqa: E402
from drtui.session import store  # noqa: E402
from drtui.sim.env import DeepRacerSim, SimConfig  # noqa: E402
from drtui.sim.multi import MultiSim, task_sessions  # noqa: E402
from drtui.sim.track import load_track  # noqa: E402


def cfg(world, n, seed):
    return SimConfig(world=world, num_cars=n, sensors=("LIDAR",), actions=((0.0, 1.0),
                     (10.0, 1.0)), seed=seed, lidar_noise=0.0)


def test_multisim_steps_exactly_as_its_tasks():
    worlds = [("reinvent_base", 2, 0), ("reInvent2019_track", 3, 1)]
    multi = MultiSim([DeepRacerSim(cfg(*w)) for w in worlds], ["a", "b"])
    alone = [DeepRacerSim(cfg(*w)) for w in worlds]
    obs = multi.reset()
    parts = [s.reset() for s in alone]
    assert torch.equal(obs["LIDAR"], torch.cat([p["LIDAR"] for p in parts]))
    for t in range(40):
        actions = torch.tensor([t % 2] * 5)
        o, r, term, trunc, info = multi.step(actions)
        outs = [alone[0].step(actions[:2]), alone[1].step(actions[2:])]
        assert torch.equal(r, torch.cat([outs[0][1], outs[1][1]]))
        assert torch.equal(term | trunc, torch.cat([outs[0][2] | outs[0][3],
                                                    outs[1][2] | outs[1][3]]))
        cars = sorted(e.car for e in info["episodes"])
        assert cars == sorted([e.car for e in outs[0][4]["episodes"]] +
                              [e.car + 2 for e in outs[1][4]["episodes"]])
    lengths = multi.last.track_length
    assert lengths[:2] == [alone[0].track.length] * 2
    assert lengths[2:] == [alone[1].track.length] * 3
    assert [multi.task(i) for i in range(5)] == [0, 0, 1, 1, 1]


def test_workers_become_tasks_and_report_per_task_metrics(tmp_path):
    path = tmp_path / "mt.toml"
    store.save(tiny_session("multitask"), path)
    assert main(["method", str(path), "multitask", "track=reInvent2019_track"]) == 0
    s = store.load(path)
    assert [name for name, _ in task_sessions(s)] == ["1:reinvent_base", "2:reInvent2019_track"]
    run = create_run(tmp_path, s)
    train(run, "--trace-all")
    lines = run.log_path.read_text().splitlines()
    tasks = [e for e in parse_lines(lines) if isinstance(e, TaskIteration)]
    assert [(e.iteration, e.task, e.name) for e in tasks] == [
        (1, 1, "1:reinvent_base"), (1, 2, "2:reInvent2019_track")]
    assert sum(e.episodes for e in tasks) >= 4
    # cars 0-1 drive the first world, cars 2-3 the second: their traces say so
    lengths = {round(float(line.split(",")[13]), 2) for line in lines
               if line.startswith("SIM_TRACE_LOG:")}
    assert lengths == {round(load_track(w).length, 2)
                       for w in ("reinvent_base", "reInvent2019_track")}


def test_a_worker_on_any_simapp_world_trains(tmp_path):
    """Every simapp route ships with drtui: a worker on 2022_april_open (a track the embedded
    trainer refused before) gets its own simulator on that world's route."""
    import io

    from drtui.train.trainer import Trainer

    path = tmp_path / "mt.toml"
    store.save(tiny_session("multitask-april"), path)
    assert main(["method", str(path), "multitask", "track=2022_april_open"]) == 0
    run = create_run(tmp_path, store.load(path))
    trainer = Trainer(run.path, out=io.StringIO(), env={"DRTUI_CARS": "2",
                                                         "DRTUI_TEACHER": "off",
                                                         "DRTUI_THREADS": "1"})
    trainer._setup()
    lengths = {round(s.track.length, 2) for s in trainer.sim.sims}
    assert round(load_track("2022_april_open").length, 2) in lengths


def test_drtui_run_refuses_an_unknown_track_before_making_a_run(tmp_path, capsys):
    path = tmp_path / "nowp.toml"
    s = tiny_session("nowp")
    s.track.world = "Nowhere_track"
    store.save(s, path)
    assert main(["--workspace", str(tmp_path), "run", str(path)]) == 2
    assert "track.world: unknown track 'Nowhere_track'" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
