"""The NVIDIA Brev provider against a fake `brev` executable (tests/backends/fakes/fake_brev.py)
that keeps instance state in a file, and a real asyncssh server standing in for the instance."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ssh_peer import start_peer

from drtui.backends.brev import BrevProvider
from drtui.backends.cloud import InstanceGone, NotAuthorized, ProviderError, ToolMissing
from drtui.files import render
from drtui.runstore import store
from drtui.session.starter import starter

FAKES = Path(__file__).parent / "fakes"


@pytest.fixture
def brev(tmp_path, monkeypatch):
    """A logged-in fake brev on PATH; returns a helper to read its calls and state."""
    home, bin_dir = tmp_path / "home", tmp_path / "bin"
    (home / ".brev").mkdir(parents=True)
    (home / ".brev" / "credentials.json").write_text('{"access_token": "x"}')
    bin_dir.mkdir()
    exe = bin_dir / "brev"
    exe.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{FAKES / 'fake_brev.py'}' \"$@\"\n")
    exe.chmod(0o755)
    state = tmp_path / "brev-state.json"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.delenv("DRTUI_BREV", raising=False)
    monkeypatch.setenv("FAKE_BREV_STATE", str(state))
    monkeypatch.setenv("DRTUI_STATE_DIR", str(tmp_path / "drtui-state"))

    class Fake:
        path = exe

        @staticmethod
        def calls() -> list[list[str]]:
            log = Path(str(state) + ".calls")
            return [json.loads(ln) for ln in log.read_text().splitlines()] if log.exists() else []

        @staticmethod
        def instances() -> list[dict]:
            return json.loads(state.read_text())["instances"] if state.exists() else []

    return Fake


def make_run(workspace: Path, now: float | None = None, **settings) -> store.Run:
    session = starter("brev-model")
    session.backend.provider = "nvidia-brev"
    for key, value in settings.items():
        setattr(session.backend.nvidia_brev, key, value)
    return store.create(workspace, session, render.render(session), provider="nvidia-brev",
                        runner="embedded", now=now)


def provider() -> BrevProvider:
    return BrevProvider(poll=0.05, max_poll=0.1, ready_timeout=60, cli_timeout=60)


async def test_create_ready_ssh_then_release_deletes(brev, tmp_path, monkeypatch):
    peer = await start_peer(tmp_path)
    try:
        # the instance's SSH is the loopback peer; brev.pem is the key brev login made
        monkeypatch.setenv("FAKE_BREV_SSH_PORT", str(peer.port))
        (tmp_path / "home" / ".brev" / "brev.pem").write_bytes(peer.client_key.read_bytes())
        (tmp_path / "home" / ".brev" / "brev.pem").chmod(0o600)
        run = make_run(tmp_path / "ws")
        p = provider()
        host = await p.acquire(run)

        record = run.reload().state["brev"]
        assert record["name"].startswith(f"drtui-{run.id}-") and len(record["name"]) <= 63
        assert [i["id"] for i in brev.instances()] == [record["id"]]
        assert (host.target.host, host.target.port, host.target.user) == \
            ("127.0.0.1", peer.port, "ubuntu")
        assert host.target.identity_file.endswith(".brev/brev.pem")
        assert host.target.accept_new  # a new machine: its host key is learned once
        assert p.hourly_cost(run) == pytest.approx(1.006)  # g5.xlarge in `brev search --json`
        assert p.ledger().entries()[record["name"]]["id"] == record["id"]
        assert run.state["workdir"] == "~/drtui" and run.state["host"] == host.name
        creates = [c for c in brev.calls() if c[0] == "create"]
        assert creates == [["create", record["name"], "--type", "g5.xlarge", "--detached"]]

        result = await host.run(["sh", "-c", "echo on-brev"])
        assert (result.returncode, result.stdout) == (0, "on-brev\n")
        await host.close()
        known = Path(host.target.known_hosts)
        assert known.read_text().startswith(f"[127.0.0.1]:{peer.port} ssh-ed25519 ")

        # a second drtui (attach, stop) finds the same instance and checks its key now
        again = await p.acquire(run, create=False)
        assert not again.target.accept_new and again.target.known_hosts == str(known)
        assert (await again.run(["true"])).returncode == 0
        await again.close()
        assert len([c for c in brev.calls() if c[0] == "create"]) == 1

        await p.release(run)
        assert ["delete", record["id"]] in brev.calls()
        assert not any(c[0] == "stop" for c in brev.calls())  # stop keeps billing the disk
        assert [w["status"] for w in await p.instances()] == ["DELETING"]
        assert await p.instances() == []  # then gone
        assert p.hourly_cost(run) == 0.0 and not known.exists()
        assert p.ledger().entries() == {}
        await p.release(run)  # twice is harmless
        with pytest.raises(InstanceGone, match="no Brev instance"):
            await p.acquire(run, create=False)
    finally:
        peer.close()


@pytest.mark.parametrize("mode, message", [
    ("unhealthy", "stays UNHEALTHY"),
    ("failure", "failed to start: status FAILURE, build CREATE_FAILED"),
    ("create", "context deadline exceeded"),
    ("proxy", "only through a ProxyCommand"),
])
async def test_failed_create_deletes_the_instance(brev, tmp_path, monkeypatch, mode, message):
    monkeypatch.setenv("FAKE_BREV_FAIL", mode)
    run = make_run(tmp_path / "ws")
    with pytest.raises(ProviderError, match=message) as info:
        await provider().acquire(run)
    assert "was deleted" in str(info.value)
    created = run.reload().state["brev"]
    assert created["deleted"] and ["delete", created["id"]] in brev.calls()
    assert all(i["status"] == "DELETING" for i in brev.instances())
    assert BrevProvider.ledger().entries() == {}


async def test_no_capacity_creates_nothing_and_says_why(brev, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_BREV_FAIL", "nocapacity")
    run = make_run(tmp_path / "ws", instance_type="hyperstack_A6000,g4dn.xlarge",
                   workspace_name="my-racer")
    with pytest.raises(ProviderError, match="no capacity for any of: hyperstack_A6000,g4dn"):
        await provider().acquire(run)
    assert brev.instances() == [] and not any(c[0] == "delete" for c in brev.calls())
    assert ["create", "my-racer", "--type", "hyperstack_A6000,g4dn.xlarge", "--detached"] \
        in brev.calls()


async def test_not_logged_in_or_missing_cli_are_clear(brev, tmp_path, monkeypatch):
    (tmp_path / "home" / ".brev" / "credentials.json").unlink()
    run = make_run(tmp_path / "ws")
    with pytest.raises(NotAuthorized, match="run `brev login`") as info:
        await provider().acquire(run)
    assert info.value.exit_code == 2
    assert not any(c[0] == "create" for c in brev.calls())

    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))  # whatever this machine has
    with pytest.raises(ToolMissing, match="brev CLI was not found"):
        await provider().acquire(run)
    monkeypatch.setenv("DRTUI_BREV", str(brev.path))  # the override finds it off PATH
    with pytest.raises(NotAuthorized):
        await provider().acquire(run)


async def test_a_cli_that_never_answers_times_out(brev, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_BREV_FAIL", "hang")
    p = BrevProvider(poll=0.05, cli_timeout=2.0)
    with pytest.raises(ProviderError, match="`brev ls --json` gave no answer in 2 s"):
        await p.acquire(make_run(tmp_path / "ws"))


async def test_estimate_and_sweep(brev, tmp_path):
    p = provider()
    session = starter("brev-model")
    session.backend.nvidia_brev.instance_type = "g4dn.xlarge"
    session.training.time_limit_minutes = 90
    quote = await p.estimate(session)
    assert (quote.per_hour, quote.hours, quote.total) == (0.526, 1.5, pytest.approx(0.789))
    session.backend.nvidia_brev.instance_type = "nope.large"
    with pytest.raises(ProviderError, match="backend.nvidia_brev.instance_type"):
        await p.estimate(session)

    workspace = tmp_path / "ws"
    running = make_run(workspace, now=1_765_000_000.0)
    await p.acquire(running)
    running.update(status="running")
    finished = make_run(workspace, workspace_name="left-behind")
    await p.acquire(finished)
    finished.update(status="finished")  # its instance was never released
    # running from another workspace, with the very same run id: its own instance
    elsewhere = make_run(tmp_path / "other-ws", now=1_765_000_000.0)
    assert elsewhere.id == running.id
    await p.acquire(elsewhere)
    elsewhere.update(status="running")
    assert elsewhere.state["brev"]["name"] != running.state["brev"]["name"]
    await p._brev("create", "drtui-from-a-crash", "--type", "g4dn.xlarge", "--detached")
    await p._brev("create", "someone-elses", "--type", "g5.xlarge", "--detached")

    # a name already taken is refused, and that instance is left alone
    with pytest.raises(ProviderError, match="named someone-elses already exists"):
        await p.acquire(make_run(workspace, workspace_name="someone-elses"))
    assert not any(c[0] == "delete" for c in brev.calls())

    from drtui.backends import sweep

    result = await sweep.sweep(workspace, providers=["nvidia-brev"])
    assert (result.skipped, result.failed) == ({}, {})
    orphans = {o.where.split()[0]: o for o in result.orphans}
    assert set(orphans) == {"left-behind", "drtui-from-a-crash"}
    left = orphans["left-behind"]
    assert (left.provider, left.run_id, left.id, left.state, left.per_hour) == \
        ("nvidia-brev", finished.id, finished.state["brev"]["id"], "RUNNING", 1.006)
    assert left.launched.startswith("20")  # when drtui created it, from the run's state
    assert (orphans["drtui-from-a-crash"].run_id, orphans["drtui-from-a-crash"].per_hour) == \
        ("", 0.526)

    assert await sweep.terminate([left], workspace) == {}
    assert ["delete", left.id] in brev.calls()
    assert finished.reload().state["released"] and finished.state["brev"]["deleted"]
    assert p.hourly_cost(finished) == 0.0
    remaining = await p.sweep(workspace)
    assert [o.where.split()[0] for o in remaining] == ["drtui-from-a-crash"]

    (tmp_path / "home" / ".brev" / "credentials.json").unlink()  # logged out: skipped
    result = await sweep.sweep(workspace, providers=["nvidia-brev"])
    assert "brev login" in result.skipped["nvidia-brev"] and result.orphans == []


def test_cli_run_when_not_logged_in_exits_2(brev, tmp_path):
    import subprocess

    from drtui.session import store as sessions

    (tmp_path / "home" / ".brev" / "credentials.json").unlink()
    session = starter("brev-model")
    session.backend.provider = "nvidia-brev"
    sessions.save(session, tmp_path / "s.toml")
    done = subprocess.run([sys.executable, "-m", "drtui", "--workspace", str(tmp_path / "ws"),
                           "run", str(tmp_path / "s.toml")], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 2, done.stderr
    assert "brev login" in done.stderr and "Traceback" not in done.stderr
    (run,) = store.list_runs(tmp_path / "ws")
    assert run.status == "failed" and brev.instances() == []


def test_module_estimate_has_the_shape_of_the_ec2_one(brev):
    from drtui.backends.cost import estimate

    session = starter("brev-model")
    session.backend.provider = "nvidia-brev"
    session.training.time_limit_minutes = 120
    assert estimate(session) == (1.006, 2.012, "brev search --json (price_per_hour)")
