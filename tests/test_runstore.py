"""Run folders and following a run's log across a restart, with a real detached process."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

from drtui.backends.local import LocalHost, read_lines_from
from drtui.backends.watch import follow
from drtui.events import IterationEnd, Status
from drtui.files import render
from drtui.logs.parser import parse_lines
from drtui.runstore import store
from drtui.session.starter import starter

LOG = Path(__file__).parent / "data" / "logs" / "console-sagemaker-training-excerpt.log"

# A stand-in training process: writes a real SageMaker log a few lines at a time. It holds
# back from line HOLD (past the first iteration's end, before the second's) until the GATE
# file exists, so the first reader stops mid-log however slow the machine is.
HOLD = 120
WRITER = """
import os, sys, time
lines = open(sys.argv[1]).read().splitlines(True)
gate, hold, deadline = sys.argv[2], int(sys.argv[3]), time.monotonic() + 120
for i, line in enumerate(lines):
    if i == hold:
        sys.stdout.flush()
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.01)
    sys.stdout.write(line)
    if i % 20 == 0:
        sys.stdout.flush(); time.sleep(0.01)
sys.stdout.flush()
"""


def make_run(tmp_path: Path) -> store.Run:
    session = starter("follow-test")
    return store.create(tmp_path, session, render.render(session), provider="local",
                        runner="embedded", now=1_700_000_000)


def test_run_folder_layout_and_state(tmp_path):
    run = make_run(tmp_path)
    assert run.id == "follow-test-20231114-221320"
    for sub in ("logs", "checkpoints", "metrics", "tb", "files/custom_files"):
        assert (run.path / sub).is_dir()
    assert (run.path / "session.toml").is_file() and (run.path / "files/run.env").is_file()
    state = json.loads((run.path / "state.json").read_text())
    assert state["status"] == "created" and state["log_offset"] == 0
    again = make_run(tmp_path)  # same second: a distinct folder, never a clash
    assert again.id == run.id + "-2"
    assert [r.id for r in store.list_runs(tmp_path)] == [run.id, again.id]
    assert store.find(tmp_path, run.id).id == run.id
    with pytest.raises(Exception, match="2 runs matching"):
        store.find(tmp_path, "follow-test")


def test_partial_lines_wait_for_their_newline(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"one\ntwo\nthr")
    chunk = read_lines_from(path, 0)
    assert chunk.lines == ["one", "two"] and chunk.offset == 8
    with open(path, "ab") as fh:
        fh.write(b"ee\n")
    assert read_lines_from(path, chunk.offset).lines == ["three"]


async def test_follow_survives_a_restart_without_gap_or_duplicate(tmp_path):
    run = make_run(tmp_path)
    host = LocalHost()
    gate = tmp_path / "go-on"
    pid = await host.start_detached([sys.executable, "-c", WRITER, str(LOG), str(gate),
                                     str(HOLD)], log_path=str(run.log_path))
    run.update(pid=pid, status="running")

    async def alive() -> bool:
        return await host.is_running(pid)

    first = []
    async for event in follow(run, host, alive=alive, poll=0.02):
        first.append(event)
        if sum(isinstance(e, IterationEnd) for e in first) == 1:
            break  # drtui "dies" here: the generator is dropped mid-stream
    saved = store.load(run.path).state["log_offset"]
    assert 0 < saved < LOG.stat().st_size
    gate.touch()  # the trainer goes on writing while no drtui reads

    resumed = store.load(run.path)  # a new drtui process reads the state back
    second = [e async for e in follow(resumed, host, alive=alive, poll=0.02)]
    assert isinstance(second[-1], Status)
    recorded = [json.loads(line) for line in run.events_path.read_text().splitlines()]
    expected = [e.to_json() for e in parse_lines(LOG.read_text().splitlines(), source="embedded")]
    assert recorded == expected  # the event record: every line once, in order
    seen = [e.iteration for e in first + second if isinstance(e, IterationEnd)]
    assert seen == sorted(set(seen)) and seen[0] == 1  # nothing repeated after the restart
    assert store.load(run.path).state["log_offset"] == LOG.stat().st_size


async def test_stopping_a_run_that_already_ended_changes_nothing(tmp_path, monkeypatch):
    """`drtui runs stop` on a run whose trainer ended (never attached since) keeps the
    status the trainer wrote and signals nobody: its pid may belong to another process."""
    from drtui.backends import launch

    run = make_run(tmp_path)
    host = LocalHost()
    pid = await host.start_detached([sys.executable, "-c", "pass"], log_path=str(run.log_path))
    run.update(pid=pid, status="running", started=time.time())
    deadline = time.monotonic() + 60
    while await host.is_running(pid):
        assert time.monotonic() < deadline, "the stand-in trainer did not end"
        await asyncio.sleep(0.02)
    run.update(status="finished")  # as the trainer records it at its end
    sent = []

    async def record(self, pid, sig=None):
        sent.append((pid, sig))

    monkeypatch.setattr(LocalHost, "signal", record)
    await launch.stop(run, grace=5)
    assert sent == []
    assert run.reload().status == "finished" and run.state["released"]
