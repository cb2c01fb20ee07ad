"""The ssh provider and the embedded trainer on a remote host, against a real asyncssh server
on loopback (tests/ssh_peer.py): the "remote" is this machine, its work folder in tmp_path,
and its commands run with a fixed environment as sshd gives them, so the DRTUI_* settings
reach the trainer only if drtui carries them.

Tiny runs, as tests/train/test_trainer_process.py makes them: the short reinvent_base track,
4 cars, a 48x36 camera with lidar, 4 episodes per iteration, no teacher warm start."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

from ssh_peer import start_peer  # noqa: E402
from tiny_session import FAST, tiny_session  # noqa: E402

from drtui.backends import launch  # noqa: E402
from drtui.backends.ssh import SshError, SshHost, SshTarget  # noqa: E402
from drtui.events import Cost, IterationEnd, LogLine, Status, Step  # noqa: E402
from drtui.logs.parser import LogParser, parse_lines  # noqa: E402
from drtui.runstore import store  # noqa: E402
from drtui.session import store as sessions  # noqa: E402

COLLECTED = ("logs", "checkpoints", "metrics", "tb")


@pytest.fixture
async def peer(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    # what sshd hands a command: no DRTUI_* from this test process
    p = await start_peer(tmp_path, env={"PATH": os.environ["PATH"], "HOME": str(home),
                                        "LANG": "C.UTF-8"})
    yield p
    p.close()


@pytest.fixture
def fast(monkeypatch):
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)


def write_session(tmp: Path, peer, *, iterations: int = 3, name: str = "remote-test",
                  **ssh) -> Path:
    s = tiny_session(name, iterations)
    s.backend.provider = "ssh"
    settings = dict(host="127.0.0.1", port=peer.port, user="racer",
                    identity_file=str(peer.client_key), known_hosts=str(peer.known_hosts),
                    workdir="~/drtui", python=sys.executable)
    settings.update(ssh)
    for key, value in settings.items():
        setattr(s.backend.ssh, key, value)
    path = tmp / f"{name}.toml"
    sessions.save(s, path)
    return path


def make_run(tmp: Path, peer, **kw) -> store.Run:
    return launch.create_run(tmp / "ws", write_session(tmp, peer, **kw))


def remote_state(run: store.Run) -> dict:
    try:
        return json.loads(Path(run.state["remote_dir"], "state.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


async def wait_until(check, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for sub in COLLECTED
            for p in sorted((root / sub).rglob("*")) if p.is_file()}


def comparable(events) -> list[str]:
    """Events that come from log lines (not drtui's own notes, costs or the final status),
    as JSON (NaN compares equal that way)."""
    return [json.dumps(e.to_json()) for e in events if not isinstance(e, (Cost, Status))
            and not (isinstance(e, LogLine) and e.source == "drtui")]


def iterations(events) -> list[int]:
    return [e.iteration for e in events if isinstance(e, IterationEnd)]


async def test_training_over_ssh_end_to_end_through_a_dropped_connection(peer, fast, tmp_path):
    run = make_run(tmp_path, peer, iterations=3, hourly_cost=36.0)
    started = await launch.start(run)
    await started.close()
    remote_dir = Path(run.state["remote_dir"])
    assert remote_dir == tmp_path / "home" / "drtui" / "runs" / run.id  # ~/ is the remote home
    assert run.state["ssh"] == {"host": "127.0.0.1", "port": peer.port, "user": "racer"}
    assert run.state["trainer_env"] == FAST

    # follow with a host that gives up quickly, so launch's own reconnecting is what rides
    # out the server being down
    host = SshHost(SshTarget("127.0.0.1", peer.port, user="racer",
                             identity_file=str(peer.client_key),
                             known_hosts=str(peer.known_hosts)), retries=2, backoff=0.05)
    seen, restarts = [], []

    def lost() -> bool:
        return any(isinstance(e, LogLine) and e.source == "drtui" and "reconnecting" in e.text
                   for e in seen)

    async def back_once_lost():
        await wait_until(lost, "the follower to notice")
        await peer.restart()

    async for event in launch.events(run, host, cost_every=0.5):
        seen.append(event)
        if isinstance(event, IterationEnd) and event.iteration == 1:
            peer.drop()  # every connection cut mid-stream
        if isinstance(event, IterationEnd) and event.iteration == 2:
            peer.close()  # the server goes away until the follower has noticed
            restarts.append(asyncio.create_task(back_once_lost()))
    await restarts[0]

    run.reload()
    assert run.status == "finished" and run.state["iteration"] == 3 and run.state["released"]
    assert isinstance(seen[-1], Status) and seen[-1].state == "finished"
    assert lost()

    # every collected file is byte for byte the remote one
    local, remote = files_under(run.path), files_under(remote_dir)
    assert local == remote and "checkpoints/last.pt" in local and "logs/trainer.log" in local
    assert any(name.startswith("tb/") for name in local)

    # the followed events, through the cut and the outage, are those of the final log
    lines = run.log_path.read_text(encoding="utf-8").splitlines()
    direct = parse_lines(lines, source="embedded")
    assert comparable(seen) == comparable(direct)
    assert iterations(seen) == [1, 2, 3]
    assert sum(isinstance(e, Step) for e in seen) > 10

    costs = [e for e in seen if isinstance(e, Cost)]
    assert costs and all(c.per_hour == 36.0 for c in costs)
    assert [c.dollars for c in costs] == sorted(c.dollars for c in costs)
    assert costs[0].dollars < 0.1 and costs[-1].dollars > 0

    # evaluation drives the collected checkpoint here; the DRTUI_* settings reached the
    # trainer over there (its network saw the 48x36 camera)
    import torch

    from drtui.train.evaluate import evaluate

    payload = torch.load(run.path / "checkpoints" / "last.pt", weights_only=False)
    assert tuple(payload["build"]["camera_size"]) == (48, 36)
    result = evaluate(run.path, laps=1, checkpoint="best")
    assert len(result.trials) == 1
    assert list((run.path / "metrics" / "evaluation").glob("evaluation-*.json"))


async def test_stop_over_ssh_then_resume_on_a_fresh_machine(peer, fast, tmp_path):
    run = make_run(tmp_path, peer, iterations=1000)
    await (await launch.start(run)).close()
    await wait_until(lambda: remote_state(run).get("iteration", 0) >= 1, "iteration 1")
    # the trainer runs under `timeout`, so its time limit holds with no drtui watching
    guard = Path(run.state["remote_dir"], "trainer.pid").read_text().strip()
    limit = launch.backend_for("ssh", "embedded")[1].hard_limit_s(run)
    args = Path(f"/proc/{guard}/cmdline").read_bytes().decode().split("\0")[:-1]
    assert args[:4] == ["timeout", "--signal=INT", "--kill-after=60s", f"{limit}s"]
    assert args[4:] == [sys.executable, "-m", "drtui.train", run.state["remote_dir"]]
    await launch.stop(run, grace=90)

    run.reload()
    assert run.status == "stopped" and run.state["released"]
    stopped_at = run.state["iteration"]
    assert stopped_at >= 1
    index = json.loads((run.path / "checkpoints" / "deepracer_checkpoints.json").read_text())
    assert index["last_checkpoint"]["iteration"] == stopped_at  # the final checkpoint, here
    assert (run.path / "checkpoints" / "last.pt").is_file()
    assert "Training ended (stop requested)" in run.log_path.read_text()
    host = SshHost(SshTarget("127.0.0.1", peer.port, user="racer",
                             identity_file=str(peer.client_key),
                             known_hosts=str(peer.known_hosts)))
    assert not await host.is_running(run.state["remote_pid"])
    await host.close()
    assert not await launch.is_alive(run)

    # the machine lost everything: resuming uploads the collected run and continues it
    shutil.rmtree(run.state["remote_dir"])
    await (await launch.start(run, resume=True)).close()
    assert not run.state["released"]
    await wait_until(lambda: remote_state(run).get("iteration", 0) >= stopped_at + 1 and
                     remote_state(run).get("status") == "running", "an iteration after resume")
    await launch.stop(run, grace=90)
    run.reload()
    assert run.status == "stopped"
    last = run.state["iteration"]
    lines = run.log_path.read_text(encoding="utf-8").splitlines()
    assert any(ln.startswith(f"Resuming from checkpoint {stopped_at}_Step-") for ln in lines)
    assert iterations(parse_lines(lines)) == list(range(1, last + 1))  # no gap, no repeat


async def test_unknown_host_key_is_refused_until_accepted(peer, tmp_path):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    run = make_run(tmp_path, peer, name="strict", known_hosts=str(empty))
    with pytest.raises(SshError, match="host key not in"):
        await launch.start(run)
    assert run.reload().status == "failed" and "host key" in run.state["error"]

    from drtui.backends.ssh_provider import SshProvider

    trusting = make_run(tmp_path, peer, name="trusting", known_hosts=str(empty),
                        accept_new_host_key=True)
    host = await SshProvider().acquire(trusting)
    await host.close()
    assert f"[127.0.0.1]:{peer.port} ssh-ed25519 " in empty.read_text()
    again = await SshProvider().acquire(run)  # the key is known now
    assert again.name == f"ssh://racer@127.0.0.1:{peer.port}"
    await again.close()

    # a host whose key changed is refused even when new hosts are trusted
    import asyncssh

    await peer.restart(host_key=asyncssh.generate_private_key("ssh-ed25519"))
    with pytest.raises(SshError, match="differs from the one recorded"):
        await SshProvider().acquire(trusting)


async def test_a_host_without_drtui_is_refused_or_gets_it_installed(peer, tmp_path):
    # an interpreter that cannot import drtui: no site-packages, no current folder
    bare = tmp_path / "python-without-drtui"
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S \"$@\"\n")
    bare.chmod(0o755)
    run = make_run(tmp_path, peer, name="bare", python=str(bare))
    with pytest.raises(launch.DrtuiError, match="drtui is not installed there") as err:
        await launch.start(run)
    assert "pip_install" in str(err.value) and "No module named drtui" in str(err.value)
    assert run.reload().status == "failed"

    # allowed to install: a venv is made under the work folder and pip's refusal reported
    missing = tmp_path / "no-such-drtui"
    run = make_run(tmp_path, peer, name="install", python=str(bare), pip_install=str(missing))
    with pytest.raises(launch.DrtuiError, match=r"pip install .*no-such-drtui.* failed"):
        await launch.start(run)
    assert (tmp_path / "home" / "drtui" / "venv" / "bin" / "python").exists()
    assert run.reload().status == "failed"


def drtui_cmd(workspace: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "drtui", "--workspace", str(workspace), *args]


async def test_killed_app_then_attach_picks_the_run_up(peer, tmp_path):
    session = write_session(tmp_path, peer, iterations=10)
    ws = tmp_path / "ws"
    env = {**os.environ, **FAST}
    first_out = tmp_path / "first.jsonl"
    with open(first_out, "wb") as out:
        first = await asyncio.create_subprocess_exec(
            *drtui_cmd(ws, "run", str(session), "--json"), env=env, stdout=out,
            stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)
    try:
        await wait_until(lambda: [r for r in store.list_runs(ws)
                                  if r.state.get("iteration", 0) >= 1], "iteration 1 here")
    finally:
        first.kill()  # the app dies; training goes on over there
        await first.wait()
    (run,) = store.list_runs(ws)
    assert run.status == "running"
    offset, followed = run.state["log_offset"], run.state["iteration"]

    second = await asyncio.create_subprocess_exec(
        *drtui_cmd(ws, "runs", "attach", run.id, "--json"), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL)
    out, err = await asyncio.wait_for(second.communicate(), 240)
    assert second.returncode == 0, err.decode()
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    printed = [json.loads(line) for line in lines]

    run.reload()
    assert run.status == "finished" and run.state["released"]
    last = run.state["iteration"]
    assert last == 10
    assert printed[-1] == {"event": "Status", "state": "finished", "message": "log ended"}
    assert [e["iteration"] for e in printed if e["event"] == "IterationEnd"] == \
        list(range(followed + 1, last + 1))

    # exactly the events of the log past the offset the killed app had saved
    log = run.log_path.read_bytes()
    parser = LogParser(source="embedded", emit_steps=False)
    for line in log[:offset].decode().splitlines():
        parser.feed(line)
    expected = [json.dumps(e.to_json()) for line in log[offset:].decode().splitlines()
                for e in parser.feed(line) if not isinstance(e, (Step, LogLine))]
    assert lines[:-1] == expected
    recorded = [json.loads(line) for line in run.events_path.read_text().splitlines()]
    assert {e["iteration"] for e in recorded if e["event"] == "IterationEnd"} == \
        set(range(1, last + 1))


async def test_max_cost_stops_the_run(peer, tmp_path):
    session = write_session(tmp_path, peer, iterations=1000, hourly_cost=3600.0)
    ws = tmp_path / "ws"
    proc = await asyncio.create_subprocess_exec(
        *drtui_cmd(ws, "run", str(session), "--json", "--max-cost", "0.0001"),
        env={**os.environ, **FAST}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode == 0, err.decode()
    assert "reached --max-cost $0.0001: stopping" in err.decode()
    printed = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    assert printed[0]["event"] == "Cost" and printed[0]["per_hour"] == 3600.0
    assert printed[-1]["event"] == "Status" and printed[-1]["state"] == "stopped"
    (run,) = store.list_runs(ws)
    assert run.status == "stopped" and run.state["released"]
    assert (run.path / "checkpoints" / "last.pt").is_file()
    assert "Training ended (stop requested)" in run.log_path.read_text()
