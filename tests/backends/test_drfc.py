"""The DRfC runner against a DRfC host played by drfc_peer: a real asyncssh server on
loopback, a DRfC folder whose activate.sh defines the dr-* functions, and a `docker` that
replays the real sample robomaker and SageMaker logs at a pace the test controls."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from drfc_peer import DrfcPeer, FakeDocker, make_drfc, robomaker_lines, sagemaker_lines

from drtui.backends import launch, registry
from drtui.backends.drfc import (
    DrfcError,
    DrfcRunner,
    TaggedLogParser,
    next_prefix,
    resumed_run_env,
    split_source,
)
from drtui.backends.local import LocalHost
from drtui.backends.ssh import SshHost, SshTarget
from drtui.events import Step
from drtui.files import envfile, render
from drtui.logs.parser import LogParser
from drtui.runstore import store
from drtui.session.model import WorkerOverride
from drtui.session.starter import starter

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzDrtuiTestSecret"  # a dummy the host must never see


@pytest.fixture(autouse=True)
def reap_collectors(tmp_path):
    """A failed test leaves no collector behind: every process started from this test's
    folder (collectors, their `docker logs` pipes) is killed; nothing else is touched."""
    made: list[store.Run] = []
    _MADE.append(made)
    yield
    _MADE.remove(made)
    if not made:
        return
    me = str(tmp_path).encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if me in (proc / "cmdline").read_bytes():
                    os.kill(int(proc.name), 9)
            except (OSError, ProcessLookupError):
                pass


_MADE: list[list[store.Run]] = []


def make_run(workspace: Path, provider: str, drfc_path: str, *, workers: int = 1,
             peer: DrfcPeer | None = None) -> store.Run:
    session = starter("drfc-model")
    session.backend.provider, session.backend.runner = provider, "drfc"
    session.backend.drfc.path = drfc_path
    session.backend.ssh.host = "127.0.0.1"
    if peer is not None:
        ssh = session.backend.ssh
        ssh.port, ssh.user = peer.port, "racer"
        ssh.identity_file, ssh.known_hosts = str(peer.client_key), str(peer.known_hosts)
    if workers > 1:
        session.training.workers = workers
        session.workers = [WorkerOverride(worker=2, car_color="Blue")]
    run = store.create(workspace, session, render.render(session), provider=provider,
                       runner="drfc")
    _MADE[-1].append(run)
    return run


async def until(condition, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def calls(drfc: Path) -> list[str]:
    """The dr-* functions called, in order, each with its arguments."""
    path = drfc / "calls.log"
    return [ln.split(" | ")[0] for ln in path.read_text().splitlines()] if path.exists() else []


def call_env(drfc: Path, name: str) -> dict[str, str]:
    """The DR_* variables the last call of `name` saw."""
    line = [ln for ln in (drfc / "calls.log").read_text().splitlines() if ln.startswith(name)][-1]
    return dict(kv.split("=", 1) for kv in line.split(" | ")[1].split())


def by_source(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"robomaker": [], "sagemaker": [], "drtui": []}
    for line in lines:
        source, text = split_source(line)
        out[source].append(text)
    return out


def count(log: Path, source: str) -> int:
    """Lines of a container in a collected log (none while the collector has not begun)."""
    return len(by_source(log.read_text().splitlines())[source]) if log.exists() else 0


def tagged_events(lines: list[str]) -> dict[str, list[dict]]:
    """Events of the collected lines through TaggedLogParser, grouped by container."""
    parser, out = TaggedLogParser(), {"robomaker": [], "sagemaker": []}
    for line in lines:
        source = split_source(line)[0]
        out.setdefault(source, []).extend(e.to_json() for e in parser.feed(line))
    return out


def direct(source: str, lines: list[str]) -> list[dict]:
    return [e.to_json() for e in LogParser(source=source).feed_all(lines)]


def assert_uploaded(run: store.Run, drfc: Path) -> None:
    """Every file of the run is in the DRfC folder, byte for byte, where DRfC reads it."""
    files = sorted(p for p in (run.path / "files").rglob("*") if p.is_file())
    assert files
    for local in files:
        remote = drfc / render.relative_path(local.name)
        assert remote.read_bytes() == local.read_bytes(), local.name


def assert_no_secret(*folders: Path) -> None:
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path


# -- pure pieces ----------------------------------------------------------------------------------

def test_prefix_increment_and_resumed_run_env():
    assert [next_prefix(p) for p in ("m", "m-1", "m-9", "a-b", "-3")] == \
        ["m-1", "m-2", "m-10", "a-b-1", "-3-1"]
    session = starter("drfc-model")
    text = render.render(session)["run.env"]
    env = envfile.read_env(resumed_run_env(text, "drfc-model-1", "drfc-model"))
    assert (env["DR_LOCAL_S3_PRETRAINED"], env["DR_LOCAL_S3_PRETRAINED_PREFIX"],
            env["DR_LOCAL_S3_MODEL_PREFIX"], env["DR_LOCAL_S3_METRICS_PREFIX"],
            env["DR_UPLOAD_S3_PREFIX"]) == ("True", "drfc-model", "drfc-model-1",
                                            "drfc-model-1/metrics", "drfc-model-1-1")
    # every other line is kept as it was
    before, after = envfile.read_env(text), env
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"DR_LOCAL_S3_PRETRAINED", "DR_LOCAL_S3_PRETRAINED_PREFIX",
                       "DR_LOCAL_S3_MODEL_PREFIX", "DR_LOCAL_S3_METRICS_PREFIX",
                       "DR_UPLOAD_S3_PREFIX"}


# -- provider local + runner drfc ----------------------------------------------------------------

@pytest.fixture
def local_drfc(tmp_path, monkeypatch):
    drfc, docker_dir, bin_dir = make_drfc(tmp_path / "host")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_DIR", str(docker_dir))
    monkeypatch.setenv("HOME", str(tmp_path / "host" / "home"))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    fake = FakeDocker(docker_dir)
    fake.reset()
    return drfc, fake


async def test_local_drfc_run_follow_end_and_resume(tmp_path, local_drfc):
    drfc, fake = local_drfc
    run = make_run(tmp_path / "ws", "local", str(drfc))
    assert registry.runner_class("local", "drfc") is DrfcRunner
    host = LocalHost()
    await DrfcRunner(poll=0.25).launch(run, host)
    assert_uploaded(run, drfc)
    assert calls(drfc) == ["dr-upload-custom-files", "dr-start-training -q -w"]
    assert run.reload().status == "running"

    async def events() -> list:
        # the user's path: launch.events follows the log the collector writes in the run
        return [e async for e in launch.events(run, LocalHost(), poll=0.05)]

    robo, sage = robomaker_lines(), sagemaker_lines()
    for generation in (1, 2):
        follower = asyncio.create_task(events())
        before = {"robomaker": len(robo) * (generation - 1),
                  "sagemaker": len(sage) * (generation - 1)}

        def collected(source: str) -> int:
            text = run.log_path.read_text() if run.log_path.exists() else ""
            return len(by_source(text.splitlines())[source]) - before[source]

        fake.release("robomaker", 120)
        await until(lambda: collected("robomaker") >= 120, "the first robomaker lines")
        fake.show("sagemaker")  # SageMaker starts after the simulation
        fake.release("sagemaker", 10)
        await until(lambda: collected("sagemaker") >= 10, "the first SageMaker lines")
        fake.release("sagemaker", len(sage))
        fake.release("robomaker", len(robo))
        got = await asyncio.wait_for(follower, 180)
        lines = by_source(run.log_path.read_text().splitlines())
        assert lines["robomaker"] == robo * generation
        assert lines["sagemaker"] == sage * generation
        assert lines["drtui"] == []
        steps = [e.to_json() for e in got if isinstance(e, Step)]
        assert steps == [e.to_json() for e in LogParser().feed_all(robo) if isinstance(e, Step)]
        assert run.reload().status == "finished"
        if generation == 1:  # resume: a new model prefix trained from the last one
            fake.reset()
            await launch.start(run, resume=True)  # the user's path, as `drtui run --resume`
            assert calls(drfc)[2:] == ["dr-upload-custom-files", "dr-start-training -q -w"]
            seen = call_env(drfc, "dr-start-training")
            assert seen == {"DR_LOCAL_S3_MODEL_PREFIX": "drfc-model-1",
                            "DR_LOCAL_S3_PRETRAINED": "True",
                            "DR_LOCAL_S3_PRETRAINED_PREFIX": "drfc-model",
                            "DR_UPLOAD_S3_PREFIX": "drfc-model-1-1"}
            assert_uploaded(run, drfc)  # the resumed run.env is the run folder's too
            assert run.state["drfc_generation"] == 2
    assert_no_secret(drfc, run.path)


async def test_time_limit_is_kept_on_the_host(tmp_path, local_drfc, monkeypatch):
    """drtui may be gone when the time is up: the host saves the model and stops training."""
    drfc, fake = local_drfc
    monkeypatch.setenv("FAKE_DOCKER_AUTO_EXIT", "0")  # training would go on for ever
    run = make_run(tmp_path / "ws", "local", str(drfc))
    # the collector, started first, finds the container at once; the limit leaves it seconds
    # (enough for a loaded 2-core CI machine to start it and copy the 50 lines)
    runner = DrfcRunner(poll=0.25, time_limit_s=8)
    fake.release("robomaker", 50)
    await runner.launch(run, LocalHost())
    lines = [ln async for ln in runner.follow(run, LocalHost(), poll=0.05)]
    assert by_source(lines)["robomaker"] == robomaker_lines()[:50]
    assert calls(drfc) == ["dr-upload-custom-files", "dr-start-training -q -w",
                           "dr-upload-model -b -f", "dr-stop-training"]
    assert run.reload().status == "finished"


async def test_missing_drfc_install_is_a_clear_error(tmp_path, local_drfc):
    run = make_run(tmp_path / "ws", "local", str(tmp_path / "no-drfc-here"))
    with pytest.raises(DrfcError, match="backend.drfc.path: no deepracer-for-cloud install"):
        await DrfcRunner().launch(run, LocalHost())
    assert run.reload().status == "failed"


async def test_failed_dr_start_training_is_reported(tmp_path, local_drfc, monkeypatch):
    drfc, fake = local_drfc
    monkeypatch.setenv("FAKE_DRFC_START_FAILS", "1")
    run = make_run(tmp_path / "ws", "local", str(drfc))
    with pytest.raises(DrfcError, match=r"dr-start-training failed on local \(exit 1\): "
                                        r".*Training aborted"):
        await DrfcRunner().launch(run, LocalHost())
    assert run.reload().status == "failed"
    assert "Training aborted" in (run.path / "logs" / "drfc-commands.log").read_text()
    assert "collector_pid" not in run.state  # nothing left running on the host


# -- over SSH: cut connections, sshd restart, collector killed -----------------------------------

async def test_ssh_drfc_survives_cuts_restart_and_killed_collector(tmp_path):
    drfc, docker_dir, bin_dir = make_drfc(tmp_path / "host")
    fake = FakeDocker(docker_dir)
    fake.reset()
    peer = await DrfcPeer(tmp_path, {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_DOCKER_DIR": str(docker_dir),
        "HOME": str(tmp_path / "host" / "home"),
        "FAKE_DOCKER_AUTO_EXIT": "0",  # containers run until dr-stop-training
        "AWS_SECRET_ACCESS_KEY": SECRET,  # in the host's environment, never in its files
    }).start()
    host = SshHost(SshTarget("127.0.0.1", peer.port, user="racer",
                             identity_file=str(peer.client_key),
                             known_hosts=str(peer.known_hosts)), backoff=0.05)
    runner = DrfcRunner(poll=0.25)
    # ~ is the host user's home, expanded on the host
    run = make_run(tmp_path / "ws", "ssh", "~/../deepracer-for-cloud", workers=2)
    robo, sage = robomaker_lines(), sagemaker_lines()
    got: list[str] = []
    try:
        await runner.launch(run, host)
        assert (run.path / "files" / "worker-2.env").is_file()
        assert_uploaded(run, drfc)
        assert calls(drfc) == ["dr-upload-custom-files", "dr-start-training -q -w"]
        remote_log = Path(runner.log_path(run))
        assert remote_log == drfc / "tmp" / "drtui" / run.id / "training.log"

        async def consume():
            async for line in runner.follow(run, host, poll=0.05):
                got.append(line)
        follower = asyncio.create_task(consume())

        async def reach(n: int, what: str) -> None:
            await until(lambda: len(got) >= n or follower.done(), what)
            assert not follower.done(), follower

        fake.release("robomaker", 100)
        await reach(100, "100 lines")
        assert peer.cut() >= 1  # 1st cut

        fake.show("sagemaker")
        fake.release("sagemaker", 150)
        fake.release("robomaker", 200)
        await reach(350, "350 lines")
        assert peer.cut() >= 1  # 2nd cut

        # the collector and its `docker logs` pipes all killed: restarted, nothing repeated
        first = run.state["collector_pid"]
        os.killpg(first, 9)
        fake.release("sagemaker", 300)
        await reach(500, "lines after the collector was killed")
        assert run.reload().state["collector_pid"] != first

        await peer.restart()  # sshd goes away and comes back
        # only the collector's main process killed, its `docker logs` pipes live on: still no
        # duplicate (the pipes are ended before a new collector counts what was copied)
        second = run.reload().state["collector_pid"]
        pid_file = remote_log.parent / "state" / "gen-1" / "pid"
        await until(pid_file.exists, "the collector's pid file")
        main, group = map(int, pid_file.read_text().split())
        assert group == second
        os.kill(main, 9)
        fake.release("robomaker", 320)
        await reach(620, "lines after the sshd restart")
        fake.release("robomaker", len(robo))
        fake.release("sagemaker", len(sage))
        await reach(len(robo) + len(sage), "every line")
        assert run.reload().state["collector_pid"] != second

        await runner.stop(run, host, grace=60)
        assert calls(drfc)[2:] == ["dr-upload-model -b -f", "dr-stop-training"]
        assert run.reload().status == "stopped"
        await asyncio.wait_for(follower, 180)
    finally:
        await host.close()
        await peer.stop()

    lines = by_source(got)
    assert lines["robomaker"] == robo
    assert lines["sagemaker"] == sage
    assert lines["drtui"] == []
    events = tagged_events(got)
    assert events["robomaker"] == direct("robomaker", robo)
    assert events["sagemaker"] == direct("sagemaker", sage)
    assert remote_log.read_text().splitlines() == got  # what the file holds, once each
    assert_no_secret(drfc, run.path)

    # collect: the host's log, byte-identical, into the run folder
    host2 = SshHost(SshTarget("127.0.0.1", (await peer.start()).port, user="racer",
                              identity_file=str(peer.client_key),
                              known_hosts=str(peer.known_hosts)), backoff=0.05)
    try:
        await runner.collect(run, host2)
    finally:
        await host2.close()
        await peer.stop()
    assert run.log_path.read_bytes() == remote_log.read_bytes()


async def test_ssh_provider_with_drfc_through_launch(tmp_path):
    """The user's path: `drtui run` on an ssh host with DRfC (launch.start / events), the
    log collected into the run folder when the training ends."""
    drfc, docker_dir, bin_dir = make_drfc(tmp_path / "host")
    fake = FakeDocker(docker_dir)
    fake.reset()
    peer = await DrfcPeer(tmp_path, {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                                     "FAKE_DOCKER_DIR": str(docker_dir),
                                     "HOME": str(tmp_path / "host" / "home")}).start()
    run = make_run(tmp_path / "ws", "ssh", str(drfc), peer=peer)
    robo, sage = robomaker_lines(), sagemaker_lines()
    try:
        host = await launch.start(run)
        follower = asyncio.create_task(_events(launch.events(run, host, poll=0.05)))
        fake.release("robomaker", 100)
        remote_log = Path(run.reload().state["remote_log"])
        await until(lambda: count(remote_log, "robomaker") >= 100, "the first robomaker lines")
        fake.show("sagemaker")
        fake.release("sagemaker", 10)
        await until(lambda: count(remote_log, "sagemaker") >= 10, "the first SageMaker lines")
        fake.release("robomaker", len(robo))
        fake.release("sagemaker", len(sage))
        events = await asyncio.wait_for(follower, 180)
    finally:
        await peer.stop()
    assert run.reload().state["released"] is True
    assert run.status == "finished"
    assert run.log_path.read_bytes() == remote_log.read_bytes()  # collected
    lines = by_source(run.log_path.read_text().splitlines())
    assert (lines["robomaker"], lines["sagemaker"]) == (robo, sage)
    steps = [e.to_json() for e in events if isinstance(e, Step)]
    assert steps == [e.to_json() for e in LogParser().feed_all(robo) if isinstance(e, Step)]


async def _events(stream) -> list:
    return [e async for e in stream]
