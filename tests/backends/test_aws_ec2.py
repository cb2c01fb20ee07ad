"""The EC2 provider, its prices and the orphan sweep, with boto3 talking to a real moto server
over HTTP; the user-data script run by bash against a loopback IMDSv2 server."""

from __future__ import annotations

import base64
import copy
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from imds_server import CHECKIP_ADDRESS, Imds
from moto_server import DUMMY_SECRET, aws, moto_server  # noqa: F401 - fixtures

from drtui.backends import aws_userdata
from drtui.backends.aws_ec2 import AwsEc2Provider, Ec2Error, estimate
from drtui.backends.base import HostGone
from drtui.runstore import store

CIDR = "203.0.113.7/32"


def make_session(**ec2):
    from drtui.session.starter import starter
    from drtui.session.store import to_data
    from drtui.session.validate import problems_in

    data = to_data(starter("ec2-model"))
    data["backend"] = {"provider": "aws-ec2", "runner": "embedded",
                       "aws_ec2": {"allowed_cidr": CIDR, **ec2}}
    data["training"]["time_limit_minutes"] = 45
    session, problems = problems_in(data)
    assert not problems, problems
    return session


def make_run(workspace: Path, session):
    from drtui.files import render

    return store.create(workspace, session, render.render(session), provider="aws-ec2",
                        runner="embedded")


def amazon_image(aws) -> str:
    """A Deep Learning AMI of those moto ships (by name: listing them all takes seconds)."""
    (image,) = aws.client("ec2").describe_images(Filters=[
        {"Name": "name", "Values": ["Deep Learning AMI Ubuntu Linux*"]}])["Images"]
    return image["ImageId"]


class Recorder:
    """boto3 sessions whose RunInstances parameters are kept, as the client sent them."""

    def __init__(self):
        self.run_instances: list[dict] = []

    def __call__(self, region: str, profile: str):
        import boto3

        session = boto3.session.Session(region_name=region)
        session.events.register("provide-client-params.ec2.RunInstances",
                                lambda params, **_: self.run_instances.append(
                                    copy.deepcopy(params)))
        return session


@pytest.fixture
def env(aws, tmp_path, monkeypatch):
    """Workspace and drtui state folder side by side, neither inside the other."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("DRTUI_STATE_DIR", raising=False)
    monkeypatch.delenv("DRTUI_EC2_SSH_ADDRESS", raising=False)
    (tmp_path / "ws").mkdir()
    return tmp_path


@pytest.fixture
async def sshd(env, monkeypatch):
    """The instances' sshd: a real asyncssh server on loopback that, like cloud-init on a
    fresh instance, lets in the launch's EC2 key pair (read from drtui's key folder at each
    login) and runs commands as local subprocesses."""
    import asyncssh
    from ssh_peer import _run_command

    keys = env / "state" / "drtui" / "keys"
    home = env / "home"  # the instance's /home/ubuntu
    home.mkdir()
    shell_env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}

    async def run_command(process):
        await _run_command(process, shell_env)  # as sshd: not this test's environment

    class Instance(asyncssh.SSHServer):
        def connection_made(self, conn):
            self.conn = conn

        def begin_auth(self, username):
            public = "".join(asyncssh.read_private_key(p).export_public_key().decode()
                             for p in sorted(keys.glob("*.pem")))
            self.conn.set_authorized_keys(asyncssh.import_authorized_keys(public))
            return True

    server = await asyncssh.create_server(
        Instance, "127.0.0.1", 0, server_host_keys=[asyncssh.generate_private_key(
            "ssh-ed25519")], process_factory=run_command, sftp_factory=True)
    monkeypatch.setenv("DRTUI_EC2_SSH_ADDRESS",
                       f"127.0.0.1:{server.sockets[0].getsockname()[1]}")
    server.home = home
    yield server
    server.close()


async def launch(p: AwsEc2Provider, run) -> None:
    host = await p.acquire(run)
    await host.close()


def provider(factory=None) -> AwsEc2Provider:
    p = AwsEc2Provider(factory) if factory else AwsEc2Provider()
    p.poll_seconds = 0.1  # moto changes states at once
    return p


def instances(aws, **filters) -> list[dict]:
    reply = aws.client("ec2").describe_instances(
        Filters=[{"Name": k, "Values": v} for k, v in filters.items()])
    return [i for r in reply["Reservations"] for i in r["Instances"]]


def nothing_left(aws, state: Path) -> None:
    ec2 = aws.client("ec2")
    live = [i["InstanceId"] for i in instances(aws) if i["State"]["Name"] != "terminated"]
    assert live == []
    assert [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] != "default"] == []
    assert ec2.describe_key_pairs()["KeyPairs"] == []
    assert list((state / "drtui" / "keys").glob("*")) == []


async def test_launch_makes_one_tagged_locked_down_spot_instance(env, aws, sshd):
    from drtui.backends.ssh import SshHost

    recorder = Recorder()
    run = make_run(env / "ws", make_session(ami=amazon_image(aws), max_price_per_hour=0.42))
    host = await provider(recorder).acquire(run)

    ec2 = aws.client("ec2")
    (inst,) = instances(aws)
    tags = {t["Key"]: t["Value"] for t in inst["Tags"]}
    assert tags == {"drtui:run": run.id, "drtui:managed": "true", "Name": f"drtui-{run.id}"}
    (volume,) = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                               "Values": [inst["InstanceId"]]}])["Volumes"]
    assert {t["Key"]: t["Value"] for t in volume["Tags"]}["drtui:run"] == run.id
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    assert inst["InstanceLifecycle"] == "spot"
    behaviour = ec2.describe_instance_attribute(
        InstanceId=inst["InstanceId"], Attribute="instanceInitiatedShutdownBehavior")
    assert behaviour["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"
    (sent,) = recorder.run_instances
    assert sent["InstanceMarketOptions"] == {"MarketType": "spot", "SpotOptions": {
        "SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate",
        "MaxPrice": "0.4200"}}
    assert "IamInstanceProfile" not in sent

    # ssh from the one address block only
    (group,) = ec2.describe_security_groups(GroupIds=[g["GroupId"] for g in
                                                      inst["SecurityGroups"]])["SecurityGroups"]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]],
             p["Ipv6Ranges"]) for p in group["IpPermissions"]] == [("tcp", 22, 22, [CIDR], [])]

    # a per-run key pair; its private half 0600 in the state folder, not in the workspace
    record = run.reload().state["ec2"]
    key_file = Path(record["key_file"])
    assert key_file.parent == env / "state" / "drtui" / "keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]] == [record["key_name"]]
    assert not list((env / "ws").rglob("*.pem"))

    # user data: the hard stop and the spot watcher, and no credential
    raw = ec2.describe_instance_attribute(InstanceId=inst["InstanceId"],
                                          Attribute="userData")["UserData"]["Value"]
    script = base64.b64decode(raw).decode()
    assert "shutdown -h \"+$DRTUI_SHUTDOWN_MINUTES\"" in script
    assert "DRTUI_SHUTDOWN_MINUTES=65" in script  # 45 min limit + 20 min margin
    assert "/latest/meta-data/spot/instance-action" in script and "api/token" in script
    assert DUMMY_SECRET not in script and os.environ["AWS_ACCESS_KEY_ID"] not in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0

    # what a later drtui needs, and the host it returns
    assert record["instance_id"] == inst["InstanceId"] and record["region"] == "us-east-1"
    assert record["public_ip"] == inst["PublicIpAddress"]
    assert record["security_group"] == group["GroupId"]
    assert "spot price history" in record["price_source"]
    assert run.state["workdir"] == "~/drtui" and run.state["pip_install"].startswith("drtui==")
    assert isinstance(host, SshHost)
    assert (host.target.host, host.target.port) == ("127.0.0.1", sshd.sockets[0].getsockname()[1])
    assert host.target.user == "ubuntu" and host.target.identity_file == str(key_file)
    assert host.target.known_hosts == str(run.path / "known_hosts")
    assert host.target.accept_new  # first use of this run's fresh instance only...
    assert "ssh-ed25519" in (run.path / "known_hosts").read_text()  # ...recorded for the run
    assert record["bootstrap"] == "ready"  # waited for the user data over that connection
    await host.close()
    again = await provider().acquire(run, create=False)
    assert not again.target.accept_new and len(instances(aws)) == 1
    assert (await again.run(["echo", "checked"])).stdout == "checked\n"
    await again.close()


async def test_release_terminates_and_deletes_group_and_key(env, aws, sshd):
    p = provider()
    run = make_run(env / "ws", make_session(ami=amazon_image(aws)))
    await launch(p, run)
    instance_id = run.state["ec2"]["instance_id"]
    await p.release(run)

    (inst,) = instances(aws)
    assert inst["InstanceId"] == instance_id and inst["State"]["Name"] == "terminated"
    nothing_left(aws, env / "state")
    assert run.reload().state["ec2"]["released"]
    await p.release(run)  # twice is fine
    with pytest.raises(HostGone, match="is terminated"):
        await p.acquire(run, create=False)
    fresh = make_run(env / "ws", make_session(ami=amazon_image(aws)))
    with pytest.raises(HostGone, match="has no EC2 instance"):
        await p.acquire(fresh, create=False)
    assert len(instances(aws)) == 1  # attaching never launches


async def test_attach_to_an_instance_that_ended_is_refused_and_resume_relaunches(env, aws, sshd):
    p = provider()
    run = make_run(env / "ws", make_session(ami=amazon_image(aws)))
    await launch(p, run)
    first = run.state["ec2"]["instance_id"]
    aws.client("ec2").terminate_instances(InstanceIds=[first])  # the shutdown timer fired
    with pytest.raises(HostGone, match=f"its instance {first} is (shutting-down|terminated)"):
        await p.acquire(run, create=False)
    # the old instance's host key must not be held against the new one
    import asyncssh

    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    port = sshd.sockets[0].getsockname()[1]
    (run.path / "known_hosts").write_text(f"[127.0.0.1]:{port} {other}")
    await launch(p, run)  # a resume: a new instance under the same names
    second = run.reload().state["ec2"]["instance_id"]
    assert second != first
    live = [i["InstanceId"] for i in instances(aws) if i["State"]["Name"] == "running"]
    assert live == [second]
    assert len(aws.client("ec2").describe_key_pairs()["KeyPairs"]) == 1
    await p.release(run)
    nothing_left(aws, env / "state")


async def test_on_demand_with_instance_profile_and_discovered_address(env, aws, sshd, monkeypatch):
    imds = Imds()
    try:
        monkeypatch.setenv("DRTUI_CHECKIP_URL", f"{imds.url}/checkip")
        aws.client("iam").create_instance_profile(InstanceProfileName="drtui-trainer")
        recorder = Recorder()
        session = make_session(ami=amazon_image(aws), spot=False, instance_type="c7i.4xlarge",
                               instance_profile="drtui-trainer", allowed_cidr="")
        run = make_run(env / "ws", session)
        await launch(provider(recorder), run)
    finally:
        imds.close()
    (sent,) = recorder.run_instances
    assert "InstanceMarketOptions" not in sent
    assert sent["IamInstanceProfile"] == {"Name": "drtui-trainer"}
    (inst,) = instances(aws)
    assert "InstanceLifecycle" not in inst
    (group,) = aws.client("ec2").describe_security_groups(
        GroupIds=[run.state["ec2"]["security_group"]])["SecurityGroups"]
    assert group["IpPermissions"][0]["IpRanges"][0]["CidrIp"] == f"{CHECKIP_ADDRESS}/32"
    assert provider().hourly_cost(run) == 0.714
    assert "on-demand list price" in run.state["ec2"]["price_source"]


async def test_failed_instance_launch_deletes_group_and_key(env, aws, monkeypatch):
    import moto.settings

    # moto then refuses unknown instance types, as AWS does: run_instances fails after the
    # security group and the key pair exist
    monkeypatch.setattr(moto.settings, "EC2_ENABLE_INSTANCE_TYPE_VALIDATION", True)
    run = make_run(env / "ws", make_session(ami=amazon_image(aws), instance_type="g4dn.huge"))
    with pytest.raises(Ec2Error) as failure:
        await provider().acquire(run)
    message = str(failure.value)
    assert "failed while launching the instance" in message and "g4dn.huge" in message
    assert "everything it created was deleted" in message
    assert instances(aws) == []
    nothing_left(aws, env / "state")
    assert "ec2" not in run.reload().state


async def test_failure_after_the_instance_started_terminates_it(env, aws):
    class BrokenWait(AwsEc2Provider):
        def _wait_running(self, ec2, instance_id):  # an injected failure after the launch
            raise RuntimeError("injected: no route to the instance")

    p = BrokenWait()
    p.poll_seconds = 0.1
    run = make_run(env / "ws", make_session(ami=amazon_image(aws)))
    with pytest.raises(Ec2Error, match="waiting for the instance: RuntimeError: injected"):
        await launch(p, run)
    (inst,) = instances(aws)
    assert inst["State"]["Name"] == "terminated"
    nothing_left(aws, env / "state")


async def test_instance_unreachable_over_ssh_is_terminated(env, aws, monkeypatch):
    import socket

    with socket.socket() as sock:  # a port nothing listens on: sshd never comes up
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("DRTUI_EC2_SSH_ADDRESS", f"127.0.0.1:{port}")
    p = provider()
    p.ssh_retries, p.ssh_backoff = 2, 0.01
    run = make_run(env / "ws", make_session(ami=amazon_image(aws)))
    with pytest.raises(Ec2Error, match="did not come up over SSH.*it was terminated"):
        await p.acquire(run)
    (inst,) = instances(aws)
    assert inst["State"]["Name"] == "terminated"
    nothing_left(aws, env / "state")


def drtui(*args: str, workspace: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drtui", "--workspace", str(workspace), *args],
                          capture_output=True, text=True, timeout=240)


async def test_sweep_finds_unowned_instances_and_terminates_them(env, aws, sshd):
    ws = env / "ws"
    p = provider()
    owned = make_run(ws, make_session(ami=amazon_image(aws)))
    await launch(p, owned)
    owned.update(status="running")
    dead = make_run(ws, make_session(ami=amazon_image(aws)))
    await launch(p, dead)
    dead.update(status="failed")  # drtui died; the instance did not
    stray = aws.client("ec2").run_instances(  # its run folder was deleted
        ImageId=amazon_image(aws), MinCount=1, MaxCount=1, InstanceType="g5.2xlarge",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "drtui:managed", "Value": "true"},
            {"Key": "drtui:run", "Value": "gone-20260101-000000"}]}])["Instances"][0]
    aws.client("ec2").run_instances(ImageId=amazon_image(aws), MinCount=1, MaxCount=1)  # not ours

    found = drtui("runs", "sweep", "--provider", "aws-ec2", "--json", workspace=ws)
    assert found.returncode == 1, found.stderr
    report = json.loads(found.stdout)
    assert sorted((o["id"], o["run_id"], o["state"], o["running"]) for o in report["orphans"]) \
        == sorted([(dead.state["ec2"]["instance_id"], dead.id, "running", True),
                   (stray["InstanceId"], "gone-20260101-000000", "running", True)])
    assert all(o["where"] == "us-east-1" and o["per_hour"] is not None
               for o in report["orphans"])

    ended = drtui("runs", "sweep", "--provider", "aws-ec2", "--terminate", workspace=ws)
    assert ended.returncode == 0, ended.stdout + ended.stderr
    assert "terminated 2 machines" in ended.stdout
    states = {i["InstanceId"]: i["State"]["Name"] for i in instances(aws)}
    assert states[dead.state["ec2"]["instance_id"]] == "terminated"
    assert states[stray["InstanceId"]] == "terminated"
    assert states[owned.state["ec2"]["instance_id"]] == "running"
    assert dead.reload().state["ec2"]["released"]
    groups = aws.client("ec2").describe_security_groups()["SecurityGroups"]
    assert {g["GroupName"] for g in groups} == {"default", f"drtui-{owned.id}"}
    assert [k["KeyName"] for k in aws.client("ec2").describe_key_pairs()["KeyPairs"]] == \
        [f"drtui-{owned.id}"]

    clean = drtui("runs", "sweep", "--provider", "aws-ec2", "--json", workspace=ws)
    assert clean.returncode == 0 and json.loads(clean.stdout)["orphans"] == []


def test_estimate_from_spot_price_history_and_list_prices(aws, tmp_path, capsys):
    history = aws.client("ec2").describe_spot_price_history(
        InstanceTypes=["g5.2xlarge"], ProductDescriptions=["Linux/UNIX"])["SpotPriceHistory"]
    market = max(float(h["SpotPrice"]) for h in history)
    per_hour, total, source = estimate(make_session(instance_type="g5.2xlarge"))
    assert per_hour == market and total == pytest.approx(market * 45 / 60)
    assert source.startswith("spot price history (us-east-1")

    per_hour, total, source = estimate(make_session(instance_type="g4dn.2xlarge", spot=False))
    assert (per_hour, total) == (0.752, pytest.approx(0.752 * 0.75))
    assert "on-demand list price" in source
    with pytest.raises(Ec2Error, match="no on-demand price for x9.mega"):
        estimate(make_session(instance_type="x9.mega", spot=False))

    from drtui.cli import main
    from drtui.session.store import save

    save(make_session(instance_type="g6.4xlarge", spot=False), tmp_path / "s.toml")
    assert main(["cost", str(tmp_path / "s.toml"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["per_hour"] == 1.3232 and out["minutes"] == 45


def test_cost_without_aws_credentials_gives_the_list_price_with_a_note(tmp_path, capsys,
                                                                       monkeypatch):
    from drtui.cli import main
    from drtui.session.store import save

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "DRTUI_AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    save(make_session(instance_type="g4dn.2xlarge", spot=True), tmp_path / "s.toml")
    assert main(["cost", str(tmp_path / "s.toml"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["per_hour"] == 0.752
    assert "spot prices need AWS (" in out["source"] and "credentials" in out["source"].lower()


def test_open_ssh_to_the_world_is_refused(tmp_path, capsys):
    from drtui.cli import main
    from drtui.session.store import save

    save(make_session(), tmp_path / "s.toml")
    text = (tmp_path / "s.toml").read_text().replace(CIDR, "0.0.0.0/0")
    (tmp_path / "s.toml").write_text(text)
    assert main(["validate", str(tmp_path / "s.toml")]) == 2
    err = capsys.readouterr().err
    assert "backend.aws_ec2.allowed_cidr" in err and "opens SSH to" in err


def watch_script(tmp_path: Path, runner: str) -> Path:
    script = tmp_path / "user-data.sh"
    script.write_text(aws_userdata.render("m-1", runner=runner, time_limit_minutes=30,
                                          package="drtui==0.1.0"))
    return script


@pytest.mark.parametrize("runner", ["embedded", "drfc"])
def test_user_data_is_valid_bash(tmp_path, runner):
    checked = subprocess.run(["bash", "-n", str(watch_script(tmp_path, runner))],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_spot_watcher_saves_when_imds_announces_an_interruption(tmp_path):
    script = watch_script(tmp_path, "embedded")
    marker = tmp_path / "saved"
    imds = Imds()
    proc = None
    try:
        proc = subprocess.Popen(
            ["bash", "-c", f'DRTUI_USERDATA_SOURCE_ONLY=1 source "{script}"; drtui_watch_spot'],
            env={**os.environ, "DRTUI_IMDS": imds.url, "DRTUI_POLL": "0.1",
                 "DRTUI_SAVE_CMD": f'echo "saved $DRTUI_RUN" > "{marker}"'},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # it polls and finds no notice (404) before the interruption is announced
        import time

        deadline = time.monotonic() + 120
        while not any(path.endswith("instance-action") for _, path, _ in imds.requests()):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        assert not marker.exists()
        imds.interrupt()
        out, _ = proc.communicate(timeout=120)
    finally:
        imds.close()
        if proc is not None and proc.poll() is None:  # no watcher left polling for ever
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert marker.read_text() == "saved m-1\n"
    assert "spot interruption notice" in out
    log = imds.requests()
    assert ("PUT", "/latest/api/token", True) in log
    assert all(ok for method, _, ok in log if method == "GET")  # IMDSv2: always with a token


async def test_wizard_backend_step_shows_the_estimate_for_aws_ec2_only(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "tui"))
    from textual.widgets import RadioSet, Static
    from tui_helpers import make_app, open_at_step, settle

    from drtui.session.store import save
    from drtui.widgets.form_field import field_id

    imds = Imds()  # stands in for the AWS endpoint: counts any API call, answers none
    monkeypatch.setenv("DRTUI_AWS_ENDPOINT_URL", imds.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    path = tmp_path / "ec2.toml"
    save(make_session(instance_type="c7i.4xlarge", spot=False), path)
    app = make_app(tmp_path, path, step=6)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await open_at_step(app, pilot, 6)
            line = app.screen.query_one("#cost-estimate", Static)
            assert line.display
            assert str(line.render()) == ("≈ $0.7140/h for c7i.4xlarge, $0.54 for the 45 min "
                                          "time limit (built-in on-demand list price "
                                          "(us-east-1 Linux))")
            assert imds.requests() == []  # a list price needs no AWS call

            app.screen.query_one(f"#{field_id('backend.aws_ec2.spot')}-editor").value = True
            await settle(app, pilot)
            assert app.draft.get("backend.aws_ec2.spot") is True
            # AWS does not answer: the list price, the most a spot hour costs, says so
            shown = str(line.render())
            assert shown.startswith("≈ $0.7140/h for c7i.4xlarge"), shown
            assert "spot prices need AWS (" in shown
            asked = len(imds.requests())
            assert asked >= 1

            radios = app.screen.query_one("#provider", RadioSet)
            local = next(b for b in radios.query("RadioButton") if b.name == "local")
            local.value = True
            await settle(app, pilot)
            assert app.draft.get("backend.provider") == "local"
            assert not line.display
            runners = app.screen.query_one("#runner", RadioSet)
            next(b for b in runners.query("RadioButton") if b.name == "drfc").value = True
            await settle(app, pilot)
            assert app.draft.get("backend.runner") == "drfc"
            assert not line.display and len(imds.requests()) == asked  # no call for local
    finally:
        imds.close()


async def test_training_on_the_instance_end_to_end(env, aws, sshd, monkeypatch):
    """launch -> EC2 instance (moto) -> its sshd (loopback) -> the embedded trainer there ->
    events here -> files collected -> instance terminated, group and key deleted."""
    pytest.importorskip("torch")
    from drtui.backends import launch
    from drtui.events import Cost, IterationEnd, Status
    from drtui.session import store as sessions

    for key, value in {"DRTUI_CARS": "4", "DRTUI_CAMERA_SIZE": "48x36",
                       "DRTUI_TEACHER": "off", "DRTUI_THREADS": "1"}.items():
        monkeypatch.setenv(key, value)
    # what the user data leaves on a real instance: drtui in ~/drtui/venv
    venv_python = sshd.home / "drtui" / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    venv_python.chmod(0o755)

    session = make_session(ami=amazon_image(aws))
    session.track.world = "reinvent_base"
    session.car.sensors = ["FRONT_FACING_CAMERA", "LIDAR"]
    session.training.seed, session.training.min_eval_trials = 3, 2
    session.evaluation.max_resets = 2
    h = session.hyperparameters
    h.num_episodes_between_training, h.num_epochs, h.term_cond_max_episodes = 4, 2, 2
    sessions.save(session, env / "ec2.toml")
    run = launch.create_run(env / "ws", env / "ec2.toml")

    host = await launch.start(run)
    instance_id = run.state["ec2"]["instance_id"]
    assert run.state["remote_dir"] == f"{sshd.home}/drtui/runs/{run.id}"
    seen = [event async for event in launch.events(run, host, poll=0.1, cost_every=0.5)]

    run.reload()
    assert run.status == "finished" and run.state["released"]
    assert isinstance(seen[-1], Status) and seen[-1].state == "finished"
    assert [e.iteration for e in seen if isinstance(e, IterationEnd)] == [1, 2]
    costs = [e for e in seen if isinstance(e, Cost)]
    assert costs and all(c.per_hour == run.state["ec2"]["per_hour"] > 0 for c in costs)
    assert (run.path / "checkpoints" / "last.pt").is_file()  # collected from the instance
    (inst,) = instances(aws)
    assert inst["InstanceId"] == instance_id and inst["State"]["Name"] == "terminated"
    nothing_left(aws, env / "state")


def test_spot_notice_interrupts_the_trainer_so_it_saves(tmp_path):
    """The default save command against a real process: what RemoteEmbeddedRunner leaves
    on the instance (<runs>/<run>/trainer.pid) gets one SIGINT, and the watcher waits for
    it to finish saving."""
    script = watch_script(tmp_path, "embedded")
    run_dir = tmp_path / "runs" / "m-1"
    run_dir.mkdir(parents=True)
    saved = run_dir / "saved"
    trainer = subprocess.Popen([sys.executable, "-c", (
        "import signal, sys, time, pathlib\n"
        "def save(*_):\n"
        f"    pathlib.Path({str(saved)!r}).write_text('checkpoint')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGINT, save)\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    imds = Imds()
    try:
        assert trainer.stdout.readline() == "ready\n"  # its handler is installed
        (run_dir / "trainer.pid").write_text(f"{trainer.pid}\n")
        imds.interrupt()
        watcher = subprocess.run(
            ["bash", "-c", f'DRTUI_USERDATA_SOURCE_ONLY=1 source "{script}"; drtui_watch_spot'],
            env={**os.environ, "DRTUI_IMDS": imds.url, "DRTUI_POLL": "0.1",
                 "DRTUI_RUNS": str(tmp_path / "runs")},
            capture_output=True, text=True, timeout=180)
        assert watcher.returncode == 0, watcher.stdout + watcher.stderr
        assert trainer.wait(timeout=60) == 0  # it exited through its SIGINT handler...
        assert saved.read_text() == "checkpoint"  # ...having saved, before the watcher ended
        assert "saved (exit 0)" in watcher.stdout
    finally:
        imds.close()
        if trainer.poll() is None:
            trainer.kill()
        trainer.communicate()
