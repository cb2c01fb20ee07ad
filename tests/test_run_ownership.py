"""A run has exactly one trainer, and only that trainer is ever signalled: stale pids, pid 1
and -1 in state.json, two resumes at once, a dead trainer's run, concurrent run creation and
two followers. Real processes throughout: trainers, the drtui CLI, sleeping strangers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tiny_session import FAST, tiny_session

from drtui.backends import launch
from drtui.backends.local import LocalHost
from drtui.backends.watch import follow
from drtui.events import LogLine, Status
from drtui.files import render
from drtui.logs.parser import parse_lines
from drtui.runstore import owner, store
from drtui.session.starter import starter

LOG = Path(__file__).parent / "data" / "logs" / "console-sagemaker-training-excerpt.log"
_PROCS: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _reap():
    yield
    while _PROCS:
        proc = _PROCS.pop()
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait(30)


def spawn(argv, **kw) -> subprocess.Popen:
    proc = subprocess.Popen(argv, start_new_session=True, **kw)
    _PROCS.append(proc)
    return proc


def cli(workspace: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "drtui", "--workspace", str(workspace), *args]


def make_run(tmp_path: Path, session=None) -> store.Run:
    session = session or starter("own-test")
    return store.create(tmp_path, session, render.render(session), provider="local",
                        runner="embedded")


@pytest.fixture
def kill_spy(monkeypatch):
    """Every os.kill drtui makes, passed on to the real one except for pids <= 1 (which the
    test then fails on: such a signal would reach init or every process of the user)."""
    calls: list[tuple[int, int]] = []
    real = os.kill

    def spy(pid, sig):
        calls.append((pid, sig))
        if pid <= 1:
            raise AssertionError(f"drtui signalled pid {pid}")
        return real(pid, sig)

    monkeypatch.setattr(os, "kill", spy)
    return calls


@pytest.mark.parametrize("pid", [1, -1, 0, "1", True, 2.5, "abc", None])
def test_pid_one_minus_one_and_junk_are_never_signalled(tmp_path, kill_spy, pid):
    run = make_run(tmp_path)
    run.update(status="running", pid=pid, pid_start=owner.start_time(1) or "1")
    assert not asyncio.run(launch.is_alive(store.load(run.path)))
    asyncio.run(launch.stop(store.load(run.path), grace=1))
    assert kill_spy == []
    state = store.load(run.path).state
    assert state["status"] == "killed" and "without a last word" in state["error"]


def test_a_stale_pid_of_a_live_stranger_is_never_signalled(tmp_path, kill_spy):
    stranger = spawn([sys.executable, "-c", "import time; time.sleep(120)"])
    run = make_run(tmp_path)
    # the stranger got the dead trainer's pid number: no start time, or another one
    for start in (None, "12345"):
        run.update(status="running", pid=stranger.pid, pid_start=start, released=False)
        assert not asyncio.run(launch.is_alive(store.load(run.path)))
        asyncio.run(launch.stop(store.load(run.path), grace=1))
        assert stranger.poll() is None  # alive, untouched
        assert store.load(run.path).status == "killed"
    assert kill_spy == []
    # and with its real start time it would count as the run's trainer (the check can fail)
    run.update(status="running", pid_start=owner.start_time(stranger.pid))
    assert owner.trainer_pid(run.path, store.load(run.path).state) == stranger.pid


def test_a_dead_trainer_is_marked_killed_by_whoever_looks_and_cleaned(tmp_path):
    run = make_run(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    start = owner.start_time(gone.pid)
    run.update(status="running", pid=gone.pid, pid_start=start)
    assert store.list_runs(tmp_path)[0].status == "running"  # alive: left alone
    gone.kill()
    gone.wait()
    out = subprocess.run(cli(tmp_path, "runs", "list", "--json"), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert [r["status"] for r in json.loads(out.stdout)] == ["killed"]
    cleaned = subprocess.run(cli(tmp_path, "runs", "clean"), capture_output=True, text=True,
                             timeout=120)
    assert cleaned.returncode == 0 and f"removed {run.id}" in cleaned.stdout
    assert not run.path.exists()


def test_runs_created_at_once_never_clash(tmp_path):
    session, files = starter("clash"), None
    files = render.render(session)
    made, errors = [], []

    def create():
        try:
            made.append(store.create(tmp_path, session, files, provider="local",
                                     runner="embedded", now=1_700_000_000).id)
        except Exception as err:  # noqa: BLE001 - the test reports it
            errors.append(err)

    threads = [threading.Thread(target=create) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(made)) == 12
    assert all(store.load(tmp_path / "runs" / rid).status == "created" for rid in made)


def _trainer_env() -> dict[str, str]:
    return {**os.environ, **FAST, "PYTHONPATH": os.pathsep.join(sys.path)}


def _wait(predicate, timeout: float, what: str, proc=None, run=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.2)
    tail = run.log_path.read_text()[-3000:] if run is not None else ""
    raise AssertionError(f"{what} not seen in {timeout} s\n{tail}")


def test_two_resumes_at_once_start_one_trainer(tmp_path):
    run = make_run(tmp_path, tiny_session("two-resumes", iterations=1000))
    first = spawn([sys.executable, "-m", "drtui.train", str(run.path)], env=_trainer_env(),
                  stdout=open(run.log_path, "ab"),  # noqa: SIM115 - the child owns it
                  stderr=subprocess.STDOUT)
    _wait(lambda: store.load(run.path).state.get("iteration", 0) >= 1, 180, "iteration 1",
          first, run)
    # a direct second trainer is refused while the first holds the lock, naming it
    second = subprocess.run([sys.executable, "-m", "drtui.train", str(run.path), "--resume"],
                            env=_trainer_env(), capture_output=True, text=True, timeout=120)
    assert second.returncode == 3
    assert f"already has a trainer (pid {first.pid}" in second.stdout
    assert store.load(run.path).state["pid"] == first.pid  # its state untouched
    first.send_signal(signal.SIGINT)
    assert first.wait(60) == 0 and store.load(run.path).status == "stopped"

    argv = cli(tmp_path, "run", "--resume", run.id, "--detach")
    both = [spawn(argv, env=_trainer_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                  text=True) for _ in range(2)]
    results = [p.communicate(timeout=180) + (p.returncode,) for p in both]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2], results
    refused = next(r for r in results if r[2] == 2)
    trainer = store.load(run.path).state["pid"]
    said = refused[0] + refused[1]  # refused by the CLI's first look or under the launch lock
    assert "already has a trainer" in said or "is still running" in said
    assert owner.trainer_pid(run.path, store.load(run.path).state) == trainer
    _wait(lambda: run.log_path.read_text().count("Resuming from checkpoint") == 1 and
          owner.holder(run.path) is not None, 120, "the resumed trainer", run=run)
    time.sleep(2.0)  # a second trainer, had one started, would have printed by now
    assert run.log_path.read_text().count("Resuming from checkpoint") == 1
    stop = subprocess.run(cli(tmp_path, "runs", "stop", run.id), env=_trainer_env(),
                          capture_output=True, text=True, timeout=180)
    assert stop.returncode == 0 and "stopped" in stop.stdout, stop.stderr
    assert owner.holder(run.path) is None

    # two launches in one instant: the launch lock lets one through, the other is refused
    # naming the trainer the first started, and the first's state stands
    async def both_resume():
        return await asyncio.gather(*(launch.start(store.load(run.path), resume=True)
                                      for _ in range(2)), return_exceptions=True)

    os.environ.update(FAST)
    try:
        outcome = asyncio.run(both_resume())
    finally:
        for key in FAST:
            os.environ.pop(key, None)
    refusals = [o for o in outcome if isinstance(o, launch.RunUnusable)]
    hosts = [o for o in outcome if not isinstance(o, BaseException)]
    assert len(refusals) == 1 and len(hosts) == 1, outcome
    state = store.load(run.path).state
    assert f"pid {state['pid']}" in str(refusals[0]) and state["status"] == "running"
    assert asyncio.run(launch.is_alive(store.load(run.path)))
    asyncio.run(launch.stop(store.load(run.path), grace=60))
    assert store.load(run.path).status == "stopped"


WRITER = """
import sys, time
lines = open(sys.argv[1]).read().splitlines(True)
time.sleep(3)  # both followers are there before the first line
for i, line in enumerate(lines):
    sys.stdout.write(line)
    if i % 40 == 0:
        sys.stdout.flush(); time.sleep(0.01)
"""


async def test_two_followers_one_records_the_other_reads(tmp_path):
    run = make_run(tmp_path)
    host = LocalHost()
    pid = await host.start_detached([sys.executable, "-c", WRITER, str(LOG)],
                                    log_path=str(run.log_path))

    async def alive() -> bool:
        return await host.is_running(pid)

    async def collect():
        return [e async for e in follow(store.load(run.path), host, alive=alive, poll=0.02)]

    a, b = await asyncio.gather(collect(), collect())
    expected = [e.to_json() for e in parse_lines(LOG.read_text().splitlines(), source="embedded")]
    recorded = [json.loads(line) for line in run.events_path.read_text().splitlines()]
    assert recorded == expected  # once, whatever the two followers did
    notes = [e for e in a + b if isinstance(e, LogLine) and "only reads" in e.text]
    assert len(notes) == 1
    for events in (a, b):
        body = [e.to_json() for e in events if not (isinstance(e, LogLine) and
                                                     e.source == "drtui")][:-1]
        assert body == expected and isinstance(events[-1], Status)
    assert store.load(run.path).state["log_offset"] == LOG.stat().st_size
