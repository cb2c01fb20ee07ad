"""`drtui evaluate` and `drtui export` on one tiny trained run (two iterations, trained once
for the module): DeepRacer evaluation metrics and a picture in the run, ONNX checked against
torch, and clear refusals (exit 2) for an unknown run, bad --laps and a run not trained yet.

Tiny settings as in test_trainer_process: reinvent_base, 4 cars, a 48x36 camera, no teacher."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tiny_session import tiny_session  # noqa: E402
from train_helpers import train_in_process  # noqa: E402

from drtui.cli import main  # noqa: E402
from drtui.files import render  # noqa: E402
from drtui.runstore import store  # noqa: E402


def tiny_run(workspace: Path, name: str = "cli-test", iterations: int = 2) -> store.Run:
    s = tiny_session(name, iterations)
    return store.create(workspace, s, render.render(s), provider="local", runner="embedded")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A workspace with one run trained for two iterations, in this process."""
    workspace = tmp_path_factory.mktemp("ws")
    run = tiny_run(workspace)
    train_in_process(run.path)
    return workspace, store.load(run.path)


def cli(capsys, workspace: Path, *args) -> tuple[int, str, str]:
    code = main(["--workspace", str(workspace), *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_json_writes_deepracer_metrics_and_a_picture(trained, capsys):
    workspace, run = trained
    code, out, err = cli(capsys, workspace, "evaluate", run.id[:8], "--laps", 2, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["run"] == run.id and data["laps"] == 2 and len(data["trials"]) == 2
    assert data["checkpoint"].endswith(".ckpt")
    metrics = Path(data["metrics"])
    assert metrics.parent == run.path / "metrics" / "evaluation"
    recorded = json.loads(metrics.read_text())["metrics"]
    assert [m["trial"] for m in recorded] == [1, 2]
    assert [m["completion_percentage"] for m in recorded] == \
        [int(t["progress"]) for t in data["trials"]]
    assert data["mean_progress"] == pytest.approx(
        sum(t["progress"] for t in data["trials"]) / 2, abs=0.01)
    assert Path(data["picture"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_summary_and_last_checkpoint(trained, capsys):
    workspace, run = trained
    code, out, err = cli(capsys, workspace, "evaluate", run.id, "--laps", 1,
                         "--checkpoint", "last")
    assert code == 0, err
    assert f"evaluation of {run.id}" in out and ", last)" in out
    assert "laps completed" in out and "/1" in out
    last = json.loads((run.path / "checkpoints" / "deepracer_checkpoints.json").read_text())
    assert last["last_checkpoint"]["name"] in out


def test_evaluate_three_trials_start_at_three_points(trained, capsys):
    """--trials 3: trial k starts k/3 of the lap along, so the three are three different
    drives (their first points metres apart), each recorded as DeepRacer records a trial."""
    from drtui.train.evaluate import evaluate

    workspace, run = trained
    code, out, err = cli(capsys, workspace, "evaluate", run.id, "--trials", 3, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [t["start_pct"] for t in data["trials"]] == [0.0, 33.33, 66.67]
    assert (data["start"], data["world"], data["reverse"]) == ("spread", "reinvent_base", False)
    recorded = json.loads(Path(data["metrics"]).read_text())["metrics"]
    assert [m["trial"] for m in recorded] == [1, 2, 3]
    assert [m["start_time"] for m in recorded[1:]] == [m["metric_time"] for m in recorded[:2]]

    result = evaluate(run.path, laps=3)
    firsts = [t.path[0] for t in result.trials]
    apart = [math.dist(a, b) for a, b in itertools.combinations(firsts, 2)]
    assert min(apart) > 3.0, firsts  # reinvent_base's lap is 17.7 m: a third is ~5.9 m
    assert [round(t.start_ndist, 4) for t in result.trials] == [0.0, 0.3333, 0.6667]
    assert len({tuple(t.path[:5]) for t in result.trials}) == 3


def test_evaluate_start_line_another_world_reversed(trained, capsys):
    workspace, run = trained
    code, out, err = cli(capsys, workspace, "evaluate", run.id, "--trials", 2, "--start", "line",
                         "--world", "reInvent2019_wide", "--reverse")
    assert code == 0, err
    assert "reInvent2019_wide, reversed, trials from the start line" in out
    code, out, err = cli(capsys, workspace, "evaluate", run.id, "--trials", 2, "--start", "line",
                         "--json")
    trials = json.loads(out)["trials"]
    assert [t["start_pct"] for t in trials] == [0.0, 0.0]
    # the same start, no noise and a greedy policy: DeepRacer's line start drives one lap twice
    assert trials[0] | {"trial": 0} == trials[1] | {"trial": 0}


def test_evaluate_a_checkpoint_by_name_or_iteration(trained, capsys):
    workspace, run = trained
    index = json.loads((run.path / "checkpoints" / "deepracer_checkpoints.json").read_text())
    last = index["last_checkpoint"]
    for name in (last["name"], str(last["iteration"])):
        code, out, err = cli(capsys, workspace, "evaluate", run.id, "--trials", 1,
                             "--checkpoint", name, "--json")
        assert code == 0, err
        assert json.loads(out)["checkpoint"] in (last["name"], index["best_checkpoint"]["name"])
    code, out, err = cli(capsys, workspace, "evaluate", run.id, "--checkpoint", "7_Step-1.ckpt")
    assert code == 2
    assert "--checkpoint: no checkpoint '7_Step-1.ckpt' in this run: it keeps best and last" in err
    assert last["name"] in err


def test_export_onnx_matches_torch(trained, capsys, tmp_path):
    workspace, run = trained
    out_dir = tmp_path / "model"
    code, out, err = cli(capsys, workspace, "export", run.id, "-o", out_dir, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert Path(data["onnx"]) == out_dir / "model.onnx"
    assert (out_dir / "model.onnx").stat().st_size > 1000
    assert data["verified_with"] == "onnxruntime"
    assert data["max_abs_diff"] is not None and data["max_abs_diff"] <= 1e-4
    assert (out_dir / "model_metadata.json").read_text() == \
        (run.path / "files" / "custom_files" / "model_metadata.json").read_text()
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(out_dir / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    feeds = {i.name: np.zeros([2 if d == "batch" else d for d in i.shape], dtype=np.float32)
             for i in session.get_inputs()}
    probs = session.run(None, feeds)[0]
    assert probs.shape == (2, 10) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_export_summary_from_a_real_process(trained, tmp_path):
    """The installed command end to end: its own process, the rich summary."""
    workspace, run = trained
    proc = subprocess.run([sys.executable, "-m", "drtui", "--workspace", str(workspace), "export",
                           run.id, "-o", str(tmp_path / "m"), "--checkpoint", "last"],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert f"exported {run.id}" in proc.stdout
    assert "✓ checked with onnxruntime: max abs diff vs torch" in proc.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("evaluate", "no-such-run"), "run: no run matching 'no-such-run'"),
    (("export", "no-such-run", "-o", "x"), "run: no run matching 'no-such-run'"),
    (("evaluate", "{run}", "--laps", "0"), "--trials: must be at least 1 (got 0)"),
    (("evaluate", "{run}", "--laps", "-3", "--json"), "must be at least 1 (got -3)"),
    (("evaluate", "{run}", "--world", "moon_base"),
     "--world: no shipped track 'moon_base': `drtui list tracks` shows the world names"),
])
def test_bad_input_is_refused_with_exit_2(trained, capsys, args, message):
    workspace, run = trained
    code, out, err = cli(capsys, workspace, *(a.format(run=run.id) for a in args))
    assert code == 2
    assert message in (err + out)
    assert "Traceback" not in err + out


def test_a_run_without_a_checkpoint_is_refused(tmp_path, capsys):
    run = tiny_run(tmp_path, name="untrained")
    for args in (("evaluate", run.id), ("export", run.id, "-o", tmp_path / "x")):
        code, out, err = cli(capsys, tmp_path, *args)
        assert code == 2
        assert f"--checkpoint: no checkpoint yet in {run.id} (status created)" in err
    assert not (tmp_path / "x").exists()
    assert not (run.path / "metrics" / "evaluation").exists()


def test_attach_to_an_ended_run_shows_its_final_summary_and_time(tmp_path, capsys):
    """`runs attach` on a finished run: its last iteration, episodes and the time it ran
    (state.json's start to end), the same on a second attach (whose follower has nothing left
    to read: what the first one recorded is shown) and later, not iteration 0 and a clock that
    keeps going."""
    import re
    import time

    from drtui.headless import _clock

    run = tiny_run(tmp_path, "attach-test")
    log = train_in_process(run.path)
    run.log_path.write_text(log)  # what a launched trainer writes there
    trainer = subprocess.Popen([sys.executable, "-c", "pass"])
    trainer.wait()  # trained in this process: the run's trainer is a process that has ended
    store.load(run.path).update(pid=trainer.pid)
    state = store.load(run.path).state
    ran = _clock(float(state["ended"]) - float(state.get("started") or state["created"]))
    for attach in range(2):
        code, out, err = cli(capsys, tmp_path, "runs", "attach", run.id)
        assert code == 0, err
        table = out.split("status")[-1]  # the last (final) table
        assert table.split()[0] == "finished", out
        assert re.search(r"iteration\s+2\b", table), table  # iterations done
        assert re.search(r"episodes\s+[1-9]", table), table
        assert re.search(rf"elapsed\s+{ran}", table), (ran, table)
        assert re.search(r"ETA\s+—", table), table
        assert not re.search(r"mean reward\s+—", table), table
        if not attach:
            assert run.events_path.stat().st_size > 0  # the first attach recorded the events
            time.sleep(1.1)  # a clock that kept going would show another time
