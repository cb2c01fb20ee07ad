"""The Thunder Compute provider against a local HTTP server speaking its REST API
(tests/backends/fakes/thunder_api.py), a fake `tnr` executable that is a client of that same
server, and a real asyncssh server standing in for the instance."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
from pathlib import Path

import asyncssh
import pytest
from ssh_peer import start_peer

from drtui.backends.base import HostGone, HostUnreachable
from drtui.backends.cloud import InstanceGone, NotAuthorized, ProviderError
from drtui.backends.thunder import ThunderProvider
from drtui.files import render
from drtui.runstore import store
from drtui.session.starter import starter

sys.path.insert(0, str(Path(__file__).parent / "fakes"))
from thunder_api import ThunderApi, ThunderState  # noqa: E402

FAKES = Path(__file__).parent / "fakes"
TOKEN = "tnr-test-token-5f1d0c9a"


@pytest.fixture
async def peer(tmp_path):
    p = await start_peer(tmp_path)
    yield p
    p.close()


@pytest.fixture
def api(tmp_path, monkeypatch, peer):
    """The REST API on loopback; its instances' SSH is the peer, add_key hands out its key."""
    state = ThunderState(token=TOKEN, ssh_port=peer.port, ready_after=2,
                         private_key=peer.client_key.read_text())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DRTUI_STATE_DIR", str(tmp_path / "drtui-state"))
    monkeypatch.setenv("TNR_API_TOKEN", TOKEN)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("TNR_API_URL", raising=False)
    monkeypatch.delenv("DRTUI_TNR", raising=False)
    with ThunderApi(state) as server:
        monkeypatch.setenv("DRTUI_THUNDER_API", server.url)
        yield server


def make_run(workspace: Path, **settings) -> store.Run:
    session = starter("tnr-model")
    session.backend.provider = "thunder-compute"
    for key, value in settings.items():
        setattr(session.backend.thunder_compute, key, value)
    return store.create(workspace, session, render.render(session), provider="thunder-compute",
                        runner="embedded")


def provider() -> ThunderProvider:
    return ThunderProvider(poll=0.05, max_poll=0.1, ready_timeout=60)


def files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


async def test_rest_create_ssh_cost_release(api, tmp_path, peer):
    workspace = tmp_path / "ws"
    run = make_run(workspace, vcpus=8, disk_gb=200)
    p = provider()
    host = await p.acquire(run)

    record = run.reload().state["thunder"]
    assert list(api.state.instances) == [record["id"]]
    created = api.state.instances[record["id"]]
    assert (created["gpuType"], created["numGpus"], created["mode"], created["cpuCores"],
            created["storage"], created["template"]) == \
        ("a6000", "1", "prototyping", "8", 200, "base")
    assert (host.target.host, host.target.port, host.target.user) == \
        ("127.0.0.1", peer.port, "ubuntu")
    # the issued key: 0600, in drtui's state folder, not in the workspace
    key = Path(host.target.identity_file)
    assert key.parent == tmp_path / "drtui-state" / "keys"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert asyncssh.import_private_key(key.read_bytes())
    assert not files_holding(workspace, "PRIVATE KEY")
    # a6000 x1 prototyping 0.35 + 4 extra vCPUs x 0.06 + 100 extra GB x 0.0003
    assert p.hourly_cost(run) == pytest.approx(0.35 + 0.24 + 0.03)
    assert p.ledger().entries()[record["id"]]["run"] == run.id

    result = await host.run(["sh", "-c", "echo on-thunder"])
    assert (result.returncode, result.stdout) == (0, "on-thunder\n")
    await host.close()
    again = await p.acquire(run, create=False)  # reuses the instance and its key
    assert again.target.identity_file == str(key) and not again.target.accept_new
    assert [c for c in api.state.calls if c[1] == "/v1/instances/create"] == \
        [("POST", "/v1/instances/create", True)]
    assert sum(c[1].endswith("/add_key") for c in api.state.calls) == 1

    api.state.instances[record["id"]]["status"] = "RESTORING"  # e.g. after an OOM restart
    with pytest.raises(HostUnreachable, match="RESTORING; try again"):
        await p.acquire(run, create=False)  # not gone: the run is not failed for this
    api.state.instances[record["id"]]["status"] = "STOPPED"
    with pytest.raises(InstanceGone, match="STOPPED, not running"):
        await p.acquire(run, create=False)
    api.state.instances[record["id"]]["status"] = "RUNNING"

    await p.release(run)
    assert api.state.instances == {} and p.ledger().entries() == {}
    assert not key.exists() and p.hourly_cost(run) == 0.0
    with pytest.raises(HostGone):  # what launch's attach/stop/is_alive expect
        await p.acquire(run, create=False)
    # the token went only into Authorization headers
    assert files_holding(workspace, TOKEN) == []
    assert files_holding(tmp_path / "drtui-state", TOKEN) == []
    assert TOKEN not in json.dumps(run.reload().state)


async def test_rejected_token_is_a_clear_error(api, tmp_path, monkeypatch):
    monkeypatch.setenv("TNR_API_TOKEN", "tnr-wrong-token")
    run = make_run(tmp_path / "ws")
    with pytest.raises(NotAuthorized, match="TNR_API_TOKEN rejected") as info:
        await provider().acquire(run)
    assert info.value.exit_code == 2 and "tnr-wrong-token" not in str(info.value)
    assert api.state.instances == {}
    assert not files_holding(tmp_path / "ws", "tnr-wrong-token")

    monkeypatch.delenv("TNR_API_TOKEN")  # no token and no tnr
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(NotAuthorized, match="TNR_API_TOKEN in the environment.*logged-in `tnr`"):
        await provider().acquire(run)


@pytest.mark.parametrize("fail, message", [("stopped", "failed to start: status STOPPED"),
                                           ("nokey", "issued no SSH key")])
async def test_failure_while_starting_deletes_the_instance(api, tmp_path, fail, message):
    api.state.fail = fail
    run = make_run(tmp_path / "ws")
    p = provider()
    with pytest.raises(ProviderError, match=message) as info:
        await p.acquire(run)
    assert "was deleted" in str(info.value)
    assert api.state.instances == {} and p.ledger().entries() == {}
    assert run.reload().state["thunder"]["deleted"]


async def test_bad_settings_are_refused_by_the_api(api, tmp_path):
    run = make_run(tmp_path / "ws", gpu="t4")
    with pytest.raises(ProviderError, match="HTTP 400: unknown gpu_type t4"):
        await provider().acquire(run)
    assert api.state.instances == {}


async def test_tnr_cli_when_there_is_no_token(api, tmp_path, monkeypatch, peer):
    monkeypatch.delenv("TNR_API_TOKEN")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "tnr"
    exe.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{FAKES / 'fake_tnr.py'}' \"$@\"\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("TNR_API_URL", api.url)
    calls = tmp_path / "tnr-calls"
    monkeypatch.setenv("FAKE_TNR_CALLS", str(calls))
    run = make_run(tmp_path / "ws")
    p = provider()
    with pytest.raises(NotAuthorized, match="`tnr login`"):
        await p.acquire(run)

    config = tmp_path / "home" / ".thunder" / "cli_config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"token": TOKEN}))  # what `tnr login` leaves
    host = await p.acquire(run)
    record = run.reload().state["thunder"]
    assert host.target.identity_file == str(tmp_path / "home" / ".thunder" / "keys" /
                                            record["uuid"])
    assert (host.target.host, host.target.port) == ("127.0.0.1", peer.port)
    assert p.hourly_cost(run) == pytest.approx(0.35)
    assert (await host.run(["true"])).returncode == 0
    await host.close()

    await p.release(run)
    argv = [json.loads(ln) for ln in calls.read_text().splitlines()]
    assert ["--json", "delete", record["id"], "--yes"] in argv
    assert argv[0][:3] == ["--json", "create", "--mode"]
    assert api.state.instances == {} and p.ledger().entries() == {}


async def test_estimate_and_sweep(api, tmp_path, monkeypatch):
    p = provider()
    session = starter("tnr-model")
    session.backend.thunder_compute.gpu = "h100"
    session.backend.thunder_compute.mode = "production"
    session.backend.thunder_compute.num_gpus = 4
    session.training.time_limit_minutes = 30
    quote = await p.estimate(session)
    assert (quote.per_hour, quote.hours, quote.total) == (9.96, 0.5, 4.98)
    session.backend.thunder_compute.num_gpus = 3
    with pytest.raises(ProviderError, match="no price for h100 x3 in production mode"):
        await p.estimate(session)
    session.backend.thunder_compute.gpu = "a100"  # tnr's alias of a100xl
    session.backend.thunder_compute.num_gpus = 1
    assert (await p.estimate(session)).per_hour == 1.79

    workspace = tmp_path / "ws"
    active = make_run(workspace)
    await p.acquire(active)
    active.update(status="running")
    done = make_run(workspace)
    await p.acquire(done)
    done.update(status="finished")
    lost = make_run(workspace)
    await p.acquire(lost)
    lost_id = lost.state["thunder"]["id"]
    del api.state.instances[lost_id]  # deleted in the console: the ledger forgets it

    from drtui.backends import sweep

    result = await sweep.sweep(workspace, providers=["thunder-compute"])
    assert (result.skipped, result.failed) == ({}, {})
    done_id = done.state["thunder"]["id"]
    assert [(o.id, o.run_id, o.state) for o in result.orphans] == [(done_id, done.id, "RUNNING")]
    found = result.orphans[0]
    assert found.provider == "thunder-compute" and found.per_hour == pytest.approx(0.35)
    assert found.where.startswith("a6000 x1 prototyping") and found.launched
    assert set(p.ledger().entries()) == {active.state["thunder"]["id"], done_id}

    assert await sweep.terminate([found], workspace) == {}
    assert done_id not in api.state.instances and done.reload().state["released"]
    assert set(p.ledger().entries()) == {active.state["thunder"]["id"]}
    assert await p.sweep(workspace) == []

    monkeypatch.delenv("TNR_API_TOKEN")  # not set up here: skipped, not failed
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    result = await sweep.sweep(workspace, providers=["thunder-compute"])
    assert "TNR_API_TOKEN" in result.skipped["thunder-compute"]


def test_cli_run_with_a_rejected_token_exits_2(api, tmp_path, monkeypatch):
    """`drtui run` on Thunder with a bad token: exit 2, the reason, no traceback, no token."""
    import subprocess

    from drtui.session import store as sessions

    session = starter("tnr-model")
    session.backend.provider = "thunder-compute"
    sessions.save(session, tmp_path / "s.toml")
    monkeypatch.setenv("TNR_API_TOKEN", "tnr-wrong-token")
    done = subprocess.run([sys.executable, "-m", "drtui", "--workspace", str(tmp_path / "ws"),
                           "run", str(tmp_path / "s.toml")], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 2, done.stderr
    assert "TNR_API_TOKEN rejected" in done.stderr and "Traceback" not in done.stderr
    assert "tnr-wrong-token" not in done.stdout + done.stderr
    (run,) = store.list_runs(tmp_path / "ws")
    assert run.status == "failed" and "TNR_API_TOKEN rejected" in run.state["error"]
    assert files_holding(tmp_path / "ws", "tnr-wrong-token") == []
    assert api.state.instances == {}


async def test_training_on_a_thunder_instance_end_to_end(api, tmp_path, monkeypatch):
    """launch.start creates the instance, the embedded trainer runs on it over SSH (the
    loopback peer), and when training ends the run is collected and the instance deleted."""
    pytest.importorskip("torch")
    from drtui.backends import launch
    from drtui.events import Cost, IterationEnd, Status
    from drtui.session import store as sessions

    for key, value in {"DRTUI_CARS": "4", "DRTUI_CAMERA_SIZE": "48x36",
                       "DRTUI_TEACHER": "off", "DRTUI_THREADS": "1"}.items():
        monkeypatch.setenv(key, value)
    api.state.ready_after = 1
    s = starter("tnr-e2e")
    s.track.world = "reinvent_base"
    s.car.sensors = ["FRONT_FACING_CAMERA", "LIDAR"]
    s.training.seed, s.training.min_eval_trials, s.evaluation.max_resets = 3, 2, 2
    h = s.hyperparameters
    h.num_episodes_between_training, h.num_epochs, h.term_cond_max_episodes = 4, 2, 1
    s.backend.provider = "thunder-compute"
    s.backend.thunder_compute.python = sys.executable
    s.backend.thunder_compute.workdir = str(tmp_path / "remote")
    sessions.save(s, tmp_path / "e2e.toml")
    run = launch.create_run(tmp_path / "ws", tmp_path / "e2e.toml")

    await (await launch.start(run)).close()
    instance_id = run.state["thunder"]["id"]
    assert run.state["workdir"] == str(tmp_path / "remote")
    assert instance_id in api.state.instances
    async with asyncio.timeout(240):  # generous under load; a hang fails, never blocks CI
        seen = [event async for event in launch.events(run, cost_every=0.5)]

    run.reload()
    assert run.status == "finished" and run.state["released"]
    assert [e.iteration for e in seen if isinstance(e, IterationEnd)] == [1]
    assert [e.state for e in seen if isinstance(e, Status)][-1] == "finished"
    assert (run.path / "checkpoints" / "last.pt").is_file()  # collected before the delete
    costs = [e for e in seen if isinstance(e, Cost)]
    assert costs and all(c.per_hour == pytest.approx(0.35) for c in costs)
    assert api.state.instances == {} and run.state["thunder"]["deleted"]
    assert ThunderProvider.ledger().entries() == {}
    assert files_holding(tmp_path / "ws", TOKEN) == []
    assert files_holding(tmp_path / "remote", TOKEN) == []


def test_module_estimate_has_the_shape_of_the_ec2_one(api):
    from drtui.backends.cost import estimate

    session = starter("tnr-model")
    session.backend.provider = "thunder-compute"
    session.backend.thunder_compute.disk_gb = 300  # 200 GB over the included 100
    assert estimate(session) == (pytest.approx(0.35 + 0.06), pytest.approx(0.41),
                                 "GET /v1/pricing")
