"""Transfer (weights from another run, a new action head when the action space differs) and
curriculum (a stage promotion happens, the new stage's world is driven, the stage survives in
the checkpoint) on the real trainer."""

from __future__ import annotations

import io
import json

import pytest

torch = pytest.importorskip("torch")

from research_helpers import create_run, tiny_session, train  # noqa: E402

from drtui.events import StageChange  # noqa: E402
from drtui.logs.parser import parse_lines  # noqa: E402
from drtui.session.research import Curriculum as CurriculumSpec  # noqa: E402
from drtui.session.research import CurriculumStage, Transfer  # noqa: E402
from drtui.train import checkpoint as ckpt  # noqa: E402
from drtui.train.curriculum import Curriculum, capped_speeds  # noqa: E402
from drtui.train.trainer import Trainer  # noqa: E402


def _setup(run):
    trainer = Trainer(run.path, out=io.StringIO(), env={"DRTUI_CARS": "2",
                                                         "DRTUI_CAMERA_SIZE": "48x36",
                                                         "DRTUI_TEACHER": "off",
                                                         "DRTUI_THREADS": "1"})
    trainer._setup()
    return trainer


def test_transfer_copies_the_trunk_and_gives_a_new_action_head(trained_run):
    source = ckpt.load(trained_run.path, "last")["policy"]
    s = tiny_session("transfer-target")
    s.track.world = "reInvent2019_track"  # another track
    s.action_space.generator.speed_levels = 3  # another action count: a new head
    s.research.transfer = Transfer(from_run=trained_run.id, checkpoint="last")
    run = create_run(trained_run.path.parent.parent, s)
    trainer = _setup(run)
    state = trainer.algo.net.state_dict()
    assert state["policy_head.weight"].shape[0] != source["policy_head.weight"].shape[0]
    copied = [k for k in state if k.startswith("encoder.")]
    assert copied and all(torch.equal(state[k], source[k]) for k in copied)
    assert torch.equal(state["value_head.weight"], source["value_head.weight"])
    log = trainer.out.getvalue()
    assert "## drtui: transfer from " + trained_run.id in log and "fresh: policy_head" in log
    saved = json.loads((run.path / "state.json").read_text())["transfer"]
    assert saved["fresh"] == ["policy_head"] and saved["copied"] == len(state) - 2
    # the 0_Step-0 checkpoint holds the transferred weights: a resume keeps them
    assert torch.equal(ckpt.load(run.path, "last")["policy"]["encoder.middleware.0.weight"],
                       source["encoder.middleware.0.weight"])


def test_transfer_from_a_missing_run_or_another_network_is_refused(trained_run):
    from drtui.train.trainer import UserError

    s = tiny_session("transfer-bad")
    s.research.transfer = Transfer(from_run="no-such-run")
    with pytest.raises(UserError, match="not a drtui run folder"):
        _setup(create_run(trained_run.path.parent.parent, s))
    s.research.transfer = Transfer(from_run=trained_run.id)
    s.network.architecture = "DEEP_CONVOLUTIONAL_NETWORK"
    with pytest.raises(UserError, match="same architecture"):
        _setup(create_run(trained_run.path.parent.parent, s))


def test_promotion_rule_counts_a_streak():
    spec = CurriculumSpec(stages=[CurriculumStage(world="reinvent_base"),
                                  CurriculumStage(world="reInvent2019_track", max_speed=1.0)],
                          promote_progress=50.0, promote_iterations=2)
    c = Curriculum(spec, tiny_session())
    assert [c.observe(p) for p in (60, 40, 60)] == [False, False, False]  # streak broken
    assert c.observe(70) is True and c.state.index == 1
    assert c.observe(100) is False and c.state.index == 1  # the last stage stays
    assert c.session().track.world == "reInvent2019_track"
    assert spec.stages[0].name == "stage-1"


def test_max_speed_caps_every_action():
    from drtui.sim.env import SimConfig

    cfg = capped_speeds(SimConfig(actions=((-30.0, 1.0), (0.0, 2.5)), speed_range=(1.0, 2.5)),
                        1.5)
    assert cfg.actions == ((-30.0, 1.0), (0.0, 1.5)) and cfg.speed_range == (1.0, 1.5)


def test_a_stage_promotion_happens_in_training(tmp_path):
    s = tiny_session("curriculum", iterations=2)
    s.research.curriculum = CurriculumSpec(
        stages=[CurriculumStage(name="short", world="reinvent_base", max_speed=1.0),
                CurriculumStage(name="big", world="reInvent2019_track")],
        promote_progress=0.01, promote_iterations=1)  # any progress at all promotes
    run = create_run(tmp_path, s)
    train(run)
    lines = run.log_path.read_text().splitlines()
    stages = [e for e in parse_lines(lines) if isinstance(e, StageChange)]
    assert [(e.index, e.total, e.name) for e in stages] == [(1, 2, "short"), (2, 2, "big")]
    assert "max speed 1 m/s" in stages[0].description
    assert "world reInvent2019_track" in stages[1].description
    # the steps after the promotion are on the other track: its length in SIM_TRACE_LOG
    from drtui.sim.track import load_track

    after = lines[next(i for i, line in enumerate(lines) if '"big"' in line):]
    lengths = {round(float(line.split(",")[13]), 2) for line in after
               if line.startswith("SIM_TRACE_LOG:")}
    assert lengths == {round(load_track("reInvent2019_track").length, 2)}
    state = json.loads((run.path / "state.json").read_text())
    assert state["stage"] == {"index": 2, "total": 2, "name": "big"}
    assert ckpt.load(run.path, "last")["curriculum"] == {"index": 1, "streak": 0}
    # the best checkpoint is the final stage's (iteration 2), whatever the first stage's
    # evaluation on its easier world scored
    index = json.loads((run.path / "checkpoints" / "deepracer_checkpoints.json").read_text())
    assert index["best_checkpoint"]["iteration"] == 2


def test_the_headless_summary_shows_the_stage_and_tasks():
    from rich.console import Console

    from drtui.events import TaskIteration
    from drtui.headless import Progress, summary_table

    p = Progress(started=0.0)
    p.fold(StageChange(2, 3, "wide", "world reInvent2019_wide"))
    p.fold(TaskIteration(4, 2, 2, "2:reInvent2019_wide", 3, 41.5, 0.0, 2.0))
    console = Console(width=100, record=True)
    console.print(summary_table(p, "run"))
    text = console.export_text()
    assert "stage" in text and "2/3 wide" in text
    assert "task 2:reInvent2019_wide" in text and "41.5%" in text
