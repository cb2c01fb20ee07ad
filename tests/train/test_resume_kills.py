"""Resume stays exact under repeated kill -9: ten kills at chosen moments (mid-iteration,
mid-checkpoint, mid-evaluation; the supervisor or the training worker), each followed by
--resume, then training to its iteration limit. The log, the metrics and the run folder must
read as one clean run: iterations 1..N once each with exactly the configured episodes, episode
numbers never repeated, every evaluation done, no temporary file left.

Also: a truncated TrainingMetrics.json is restored from the checkpoint's own copy, and an
unreadable one without a copy is refused with a message."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tiny_session import FAST, tiny_session  # noqa: E402

from drtui.events import IterationEnd  # noqa: E402
from drtui.files import render  # noqa: E402
from drtui.logs.parser import parse_lines  # noqa: E402
from drtui.runstore import owner, store  # noqa: E402

EPISODES, ITERATIONS, TRIALS = 4, 14, 2
_PROCS: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _reap():
    yield
    while _PROCS:
        proc = _PROCS.pop()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def make_run(workspace: Path, iterations: int = ITERATIONS) -> store.Run:
    s = tiny_session("kills", iterations, EPISODES)
    return store.create(workspace, s, render.render(s), provider="local", runner="embedded")


def start(run: store.Run, resume: bool) -> subprocess.Popen:
    with open(run.log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "drtui.train", str(run.path)] +
                                (["--resume"] if resume else []), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **FAST}, start_new_session=True)
    _PROCS.append(proc)
    return proc


def _iteration(run: store.Run) -> int:
    try:
        return int(store.load(run.path).state.get("iteration", 0))
    except (store.StateError, ValueError):
        return 0


def _tmp_files(run: store.Run) -> list[Path]:
    return [p for p in run.path.rglob("*.tmp")]


def wait_moment(run: store.Run, proc: subprocess.Popen, moment: str, rng: random.Random,
                timeout: float = 240) -> bool:
    """Until the moment comes; whether it was caught exactly (a temp file present for
    mid-checkpoint; an evaluation started and not finished for mid-evaluation)."""
    deadline = time.monotonic() + timeout
    base = _iteration(run)
    if moment == "iteration":  # some way into the next iteration's episodes
        while _iteration(run) <= base or \
                run.log_path.read_text().rsplit("Checkpoint> Saving", 1)[-1].count(
                    "Training>") < rng.randint(1, EPISODES - 1):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        return True
    if moment == "checkpoint":  # a checkpoint being written: its temp file exists
        folder = run.path / "checkpoints"
        while time.monotonic() < deadline and proc.poll() is None:
            if any(name.endswith(".tmp") for name in os.listdir(folder)):
                return True
            if _iteration(run) >= base + 3:
                return False  # not caught in three checkpoints: kill now anyway
        raise AssertionError("trainer ended or timed out")
    # evaluation: the phase started in this attempt, not finished
    while time.monotonic() < deadline:
        assert proc.poll() is None
        text = run.log_path.read_text()
        tail = text.rsplit("## agent: Starting evaluation phase", 1)
        if len(tail) == 2 and _iteration(run) > base and "Finished evaluation" not in tail[1]:
            return True
        time.sleep(0.005)
    raise AssertionError("no evaluation seen")


@pytest.mark.slow
def test_ten_kills_then_resume_give_one_clean_run(tmp_path):
    rng = random.Random(13)
    run = make_run(tmp_path)
    moments = ["iteration", "checkpoint", "evaluation"] * 4
    caught = []
    for k in range(10):
        proc = start(run, resume=k > 0)
        if k == 0:  # the first checkpoint of a trained iteration exists before any kill
            while _iteration(run) < 1:
                assert proc.poll() is None, run.log_path.read_text()[-3000:]
                time.sleep(0.05)
        caught.append(wait_moment(run, proc, moments[k], rng))
        state = store.load(run.path).state
        victim = state["pid"] if k % 2 == 0 else state["worker_pid"]  # supervisor / worker
        os.kill(victim, signal.SIGKILL)
        proc.wait(60)
        while owner.holder(run.path) is not None:  # the worker dies with its supervisor
            time.sleep(0.05)
        looked = store.find(tmp_path, run.id)  # whoever looks: a dead trainer's run ends
        assert looked.status in ("killed", "failed"), looked.state
    proc = start(run, resume=True)
    assert proc.wait(600) == 0, run.log_path.read_text()[-3000:]
    state = store.load(run.path).state
    assert state["status"] == "finished" and state["iteration"] == ITERATIONS
    assert sum(caught) >= 6, caught  # most kills landed where they were aimed

    lines = run.log_path.read_text().splitlines()
    assert sum(ln.startswith("Resuming from checkpoint") for ln in lines) == 10
    ends = [e for e in parse_lines(lines) if isinstance(e, IterationEnd)]
    keep = Path(os.environ.get("DRTUI_KEEP_KILLED_LOG", os.devnull))
    if keep != Path(os.devnull):
        shutil.copy(run.log_path, keep)
    assert [e.iteration for e in ends] == list(range(1, ITERATIONS + 1))
    # exactly the configured episodes (cars that end on the same step as the last one needed
    # are counted in the next iteration), never a killed attempt's episodes on top
    trained = {int(m.group(1)): int(m.group(2)) for ln in lines
               if (m := re.match(r"## drtui: iteration (\d+): (\d+) episodes", ln))}
    assert [e.episodes for e in ends] == [EPISODES] * ITERATIONS
    # (the summary line follows the checkpoint: a kill between the two leaves that iteration
    # without one, complete as the events above show, so it is not trained again)
    assert set(trained.values()) == {EPISODES} and set(trained) <= set(range(1, ITERATIONS + 1))
    assert len(trained) >= ITERATIONS - 2, trained
    numbers = [int(m.group(1)) for ln in lines
               if (m := re.match(r"Training> .*?, Episode=(\d+),", ln))]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)  # never repeated

    metrics = json.loads((run.path / "metrics" / "TrainingMetrics.json").read_text())["metrics"]
    training = [m for m in metrics if m["phase"] == "training"]
    assert [m["episode"] for m in training] == list(range(1, EPISODES * ITERATIONS + 1))
    for it in range(1, ITERATIONS + 1):
        assert sum(m["iteration"] == it for m in training) == EPISODES
        evals = [m for m in metrics if m["phase"] == "evaluation" and m["iteration"] == it]
        assert len(evals) == TRIALS, (it, evals)  # an interrupted evaluation was redone
    assert _tmp_files(run) == []
    index = json.loads((run.path / "checkpoints" / "deepracer_checkpoints.json").read_text())
    assert index["last_checkpoint"]["iteration"] == ITERATIONS


def _train_until(run: store.Run, iteration: int) -> None:
    proc = start(run, resume=(run.path / "checkpoints" / "last.pt").exists())
    while _iteration(run) < iteration or \
            not (run.path / "metrics" / "TrainingMetrics.json").exists():
        assert proc.poll() is None, run.log_path.read_text()[-3000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(120) == 0


def test_a_truncated_metrics_file_is_restored_from_the_checkpoint(tmp_path):
    run = make_run(tmp_path, iterations=1000)
    _train_until(run, 2)
    path = run.path / "metrics" / "TrainingMetrics.json"
    whole = path.read_bytes()
    before = [m for m in json.loads(whole)["metrics"] if m["phase"] == "training"]
    path.write_bytes(whole[: len(whole) // 3])  # torn by hand, by a full disk, ...
    _train_until(run, store.load(run.path).state["iteration"] + 1)
    text = run.log_path.read_text()
    assert "TrainingMetrics.json is not valid JSON" in text and "from the checkpoint" in text
    after = [m for m in json.loads(path.read_text())["metrics"] if m["phase"] == "training"]
    assert after[: len(before)] == before  # nothing lost
    assert [m["episode"] for m in after] == list(range(1, len(after) + 1))
    kept = list(path.parent.glob("TrainingMetrics.json.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == whole[: len(whole) // 3]


def test_an_unreadable_metrics_file_without_a_copy_is_refused(tmp_path):
    run = make_run(tmp_path, iterations=1000)
    _train_until(run, 1)
    # a checkpoint from before checkpoints held the copy
    payload = torch.load(run.path / "checkpoints" / "last.pt", weights_only=True)
    del payload["metrics"]
    torch.save(payload, run.path / "checkpoints" / "last.pt")
    (run.path / "metrics" / "TrainingMetrics.json").write_text('{"metrics": [')
    proc = start(run, resume=True)
    assert proc.wait(120) == 1
    state = store.load(run.path).state
    assert state["status"] == "failed"
    assert "TrainingMetrics.json is not valid JSON" in state["error"]
    assert "move the file away" in state["error"]
    assert (run.path / "metrics" / "TrainingMetrics.json").read_text() == '{"metrics": ['
