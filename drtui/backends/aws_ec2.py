# Over 450 lines: one launch's create-and-undo sequence (security group, key pair, instance,
# release), readable as one sequence.
"""AWS EC2 as a provider: one fresh, tagged instance per run, reached over SSH, terminated
when the run ends. boto3 is imported only inside the functions that call AWS.

What a launch creates, all tagged drtui:run=<run id> and drtui:managed=true (which is how
`drtui runs sweep` finds forgotten ones):
- a security group allowing tcp/22 from one address block only (the session's allowed_cidr,
  else the caller's public address /32), never from the internet;
- an ed25519 key pair made by EC2, its private key saved 0600 in drtui's state folder
  (drtui.backends.statedir: $XDG_STATE_HOME/drtui/keys, else ~/.local/state/drtui/keys),
  never in the workspace;
- the instance (spot with the user's maximum price, or on-demand), IMDSv2 required, root
  volume tagged and encrypted, an instance profile instead of copied credentials, and user
  data (drtui.backends.aws_userdata) that halts = terminates it after the time limit and
  saves the model on a spot interruption notice.
A launch that fails at any step deletes what it had created. Everything is recorded in
run.state["ec2"], so a later drtui can attach, release or sweep it.

Tests point boto3 at a moto server with DRTUI_AWS_ENDPOINT_URL, and at a loopback SSH
server with DRTUI_EC2_SSH_ADDRESS=host:port.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

from drtui.backends.aws_errors import aws_error
from drtui.backends.base import Host, HostGone, HostUnreachable, Provider
from drtui.errors import DrtuiError, InvalidInput
from drtui.problem import Problem
from drtui.runstore.store import Run

ENDPOINT_ENV = "DRTUI_AWS_ENDPOINT_URL"
SSH_ADDRESS_ENV = "DRTUI_EC2_SSH_ADDRESS"
CHECKIP_ENV = "DRTUI_CHECKIP_URL"
CHECKIP_URL = "https://checkip.amazonaws.com"
TAG_RUN, TAG_MANAGED = "drtui:run", "drtui:managed"
SSH_USER = "ubuntu"  # the Deep Learning AMIs are Ubuntu
WORKDIR = "~/drtui"  # on the instance: runs/ and the venv with drtui
# The newest of these (Amazon's own) is used when the session names no AMI.
DLAMI_NAME = "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04)*"
LIVE_STATES = ("pending", "running", "stopping", "stopped")


class Ec2Error(DrtuiError):
    pass


class InstanceGone(HostGone):
    """The run's instance was terminated (time limit, spot, release) or never launched."""


# cloud-init runs the user data; where it is absent there is nothing to wait for
BOOTSTRAP_WAIT = ("command -v cloud-init >/dev/null 2>&1 || exit 0; "
                  "cloud-init status --wait >/dev/null 2>&1; "
                  "cat /var/lib/drtui/failed 2>/dev/null; exit 0")
BOOTSTRAP_TIMEOUT_S = 45 * 60  # DRfC's prepare and init scripts pull gigabytes


def keys_dir() -> Path:
    from drtui.backends.statedir import private_dir, state_dir

    return private_dir(state_dir() / "keys")


def aws_session(region: str, profile: str = "default"):
    """A boto3 session for the user's own profile ("default": the standard credential chain,
    which is also how environment credentials are used)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.session.Session(
            profile_name=None if profile in ("", "default") else profile, region_name=region)
    except ProfileNotFound:
        raise InvalidInput([Problem("backend.aws_ec2.profile",
                                    f"no AWS profile named {profile!r} in ~/.aws")]) from None


def ec2_client(session):
    return session.client("ec2", endpoint_url=os.environ.get(ENDPOINT_ENV) or None)


def _tags(run_id: str, name: str) -> list[dict]:
    return [{"Key": TAG_RUN, "Value": run_id}, {"Key": TAG_MANAGED, "Value": "true"},
            {"Key": "Name", "Value": name}]


def estimate(session) -> tuple[float, float, str]:
    """(dollars per hour, dollars for the session's time limit, where the price came from),
    before anything is launched. Spot prices ask AWS; on-demand prices are built in."""
    from drtui.backends import aws_pricing

    cfg = session.backend.aws_ec2
    try:
        ec2 = ec2_client(aws_session(cfg.region, cfg.profile)) if cfg.spot else None
        found = aws_pricing.price(ec2, cfg.instance_type, cfg.region, use_spot=cfg.spot,
                                  max_price=cfg.max_price_per_hour)
    except aws_pricing.NoPrice as exc:
        raise Ec2Error(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - no credentials, no network: the list price
        try:
            listed = aws_pricing.on_demand(cfg.instance_type, cfg.region)
        except aws_pricing.NoPrice:
            raise Ec2Error(f"spot price for {cfg.instance_type} in {cfg.region}: "
                           f"{aws_error(exc)}") from None
        found = aws_pricing.Price(listed.per_hour, f"{listed.source}; spot prices need AWS "
                                                   f"({aws_error(exc)}), so this is the most "
                                                   "a spot hour costs")
    hours = session.training.time_limit_minutes / 60.0
    return found.per_hour, found.per_hour * hours, found.source


def caller_cidr(configured: str) -> str:
    """The address block SSH is opened to: the configured one, else this machine's public
    address /32 as AWS sees it."""
    if configured:
        return configured
    import ipaddress
    import urllib.request

    url = os.environ.get(CHECKIP_ENV, CHECKIP_URL)
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            address = ipaddress.ip_address(reply.read().decode().strip())
    except (OSError, ValueError) as exc:
        raise Ec2Error(f"cannot find your public address at {url} ({exc}); set "
                       "backend.aws_ec2.allowed_cidr to your address /32") from None
    return f"{address}/{32 if address.version == 4 else 128}"


class _Created:
    """What a launch has made so far, undone in reverse if a later step fails."""

    def __init__(self):
        self.security_group = self.key_name = self.instance_id = None
        self.key_file: Path | None = None


class AwsEc2Provider(Provider):
    name = "aws-ec2"
    poll_seconds = 5.0  # waiters' delay; AWS changes states in seconds, not milliseconds
    # an instance takes a minute or two to boot sshd: retry for ~4 minutes
    ssh_retries, ssh_backoff = 12, 2.0

    def __init__(self, session_factory: Callable | None = None):
        # session_factory(region, profile) -> boto3 session: lets a caller share a session
        self.session_factory = session_factory or aws_session

    async def estimate(self, session):
        """As `estimate`, off the loop (a spot price is an AWS call)."""
        import asyncio

        from drtui.backends.cloud import estimate_of

        cfg = session.backend.aws_ec2
        per_hour, _, source = await asyncio.to_thread(estimate, session)
        return estimate_of(self.name, cfg.instance_type + " spot" * cfg.spot, per_hour,
                           session, source)

    # -- plumbing ----------------------------------------------------------------------------
    def _client(self, region: str, profile: str):
        return ec2_client(self.session_factory(region, profile))

    @staticmethod
    def _session_of(run: Run):
        from drtui.session import store

        return store.load(run.session_path, check=False)

    # -- Provider ----------------------------------------------------------------------------
    async def acquire(self, run: Run, *, create: bool = True) -> Host:
        """The run's instance as an SshHost. create=False (attach, stop): the recorded one,
        checked with AWS, else HostGone. create=True: the recorded one if it still runs,
        else a new one (a resume after the first instance ended)."""
        record = run.state.get("ec2") or {}
        held = bool(record.get("instance_id")) and not record.get("released")
        if held:
            state = await asyncio.to_thread(self._instance_state, record)
            if state in ("pending", "running"):
                return self._host(run, record)
        if not create:
            what = (f"its instance {record['instance_id']} is "
                    f"{state if held else 'terminated'}" if record.get("instance_id")
                    else "it has no EC2 instance")
            raise InstanceGone(f"run {run.id}: {what}")
        if held:  # free the old group and key pair names before launching under them again
            await self.release(run)
        record = await asyncio.to_thread(self._launch, run)
        (run.path / "known_hosts").unlink(missing_ok=True)  # a new instance, a new host key
        host = self._host(run, record)
        try:
            await self._wait_bootstrap(run, host)
        except BaseException as exc:  # unreachable over SSH: the instance is of no use
            await host.close()
            await self.release(run)
            if isinstance(exc, Exception):
                raise Ec2Error(f"run {run.id}: instance {record['instance_id']} did not come "
                               f"up over SSH ({exc}); it was terminated") from None
            raise
        return host

    def _instance_state(self, record: dict) -> str:
        """pending/running/stopping/stopped/shutting-down/terminated, or "gone"."""
        ec2 = self._client(record["region"], record.get("profile", "default"))
        try:
            reply = ec2.describe_instances(InstanceIds=[record["instance_id"]])
        except Exception as exc:  # noqa: BLE001
            if _gone(exc):
                return "gone"
            raise HostUnreachable(f"EC2 {record['instance_id']}: {aws_error(exc)}") from None
        found = [i for r in reply["Reservations"] for i in r["Instances"]]
        return found[0]["State"]["Name"] if found else "gone"

    async def _wait_bootstrap(self, run: Run, host: Host) -> None:
        """Wait until the user data finished (cloud-init) so the runner finds drtui or DRfC
        installed; a failed install is recorded, and the runner then says what is missing."""
        result = await host.run(["sh", "-c", BOOTSTRAP_WAIT], timeout=BOOTSTRAP_TIMEOUT_S)
        note = (result.stdout.strip() or "ready") if result.returncode == 0 else \
            f"cloud-init status: exit {result.returncode}"
        run.update(ec2={**run.state["ec2"], "bootstrap": note})

    async def release(self, run: Run) -> None:
        record = run.state.get("ec2") or {}
        if not record.get("instance_id") or record.get("released"):
            return
        def teardown() -> None:  # a boto3 client takes a while to build: off the loop too
            ec2 = self._client(record["region"], record.get("profile", "default"))
            self._teardown(ec2, record.get("instance_id"), record.get("security_group"),
                           record.get("key_name"), record.get("key_file"))

        try:
            await asyncio.to_thread(teardown)
        except _Leftovers as left:
            raise Ec2Error(f"run {run.id}: could not delete {', '.join(left.names)}; "
                           "`drtui runs sweep --terminate` retries") from None
        run.update(ec2={**record, "released": time.time()})

    def hourly_cost(self, run: Run) -> float:
        """The price recorded at launch (spot market or list price; its source is in
        run.state["ec2"]["price_source"])."""
        return float((run.state.get("ec2") or {}).get("per_hour") or 0.0)

    # -- launch ------------------------------------------------------------------------------
    def _launch(self, run: Run) -> dict:
        from drtui import __version__
        from drtui.backends import aws_pricing, aws_userdata
        from drtui.backends.statedir import write_private

        session = self._session_of(run)
        cfg = session.backend.aws_ec2
        ec2 = self._client(cfg.region, cfg.profile)
        name = f"drtui-{run.id}"
        made, step = _Created(), "finding the AMI"
        try:
            image_id, root_device = self._image(ec2, cfg.ami)
            step = "finding your address"
            cidr = caller_cidr(cfg.allowed_cidr)
            step = "creating the security group"
            made.security_group = ec2.create_security_group(
                GroupName=name, Description=f"drtui run {run.id}: ssh from {cidr}",
                TagSpecifications=[{"ResourceType": "security-group",
                                    "Tags": _tags(run.id, name)}])["GroupId"]
            ranges = ({"Ipv6Ranges": [{"CidrIpv6": cidr, "Description": "drtui ssh"}]}
                      if ":" in cidr else
                      {"IpRanges": [{"CidrIp": cidr, "Description": "drtui ssh"}]})
            ec2.authorize_security_group_ingress(
                GroupId=made.security_group, IpPermissions=[{
                    "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, **ranges}])
            step = "creating the key pair"
            made.key_file = keys_dir() / f"{name}.pem"
            reply = ec2.create_key_pair(
                KeyName=name, KeyType="ed25519", KeyFormat="pem",
                TagSpecifications=[{"ResourceType": "key-pair", "Tags": _tags(run.id, name)}])
            made.key_name = reply["KeyName"]
            material = reply["KeyMaterial"]
            write_private(made.key_file, material if material.endswith("\n") else material + "\n")
            step = "launching the instance"
            user_data = aws_userdata.render(
                run.id, runner=session.backend.runner,
                time_limit_minutes=session.training.time_limit_minutes,
                package=f"drtui=={__version__}")
            params = dict(
                ImageId=image_id, InstanceType=cfg.instance_type, MinCount=1, MaxCount=1,
                KeyName=made.key_name, SecurityGroupIds=[made.security_group],
                UserData=user_data, InstanceInitiatedShutdownBehavior="terminate",
                # IMDSv2 only; hop limit 2 so containers on the instance reach it too
                MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled",
                                 "HttpPutResponseHopLimit": 2},
                BlockDeviceMappings=[{"DeviceName": root_device, "Ebs": {
                    "VolumeSize": cfg.volume_gb, "VolumeType": "gp3",
                    "DeleteOnTermination": True, "Encrypted": True}}],
                TagSpecifications=[{"ResourceType": kind, "Tags": _tags(run.id, name)}
                                   for kind in ("instance", "volume")])
            if cfg.instance_profile:
                params["IamInstanceProfile"] = {"Name": cfg.instance_profile}
            if cfg.spot:
                spot = {"SpotInstanceType": "one-time", "InstanceInterruptionBehavior":
                        "terminate"}
                if cfg.max_price_per_hour:
                    spot["MaxPrice"] = f"{cfg.max_price_per_hour:.4f}"
                params["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": spot}
            made.instance_id = ec2.run_instances(**params)["Instances"][0]["InstanceId"]
            step = "waiting for the instance"
            instance = self._wait_running(ec2, made.instance_id)
            public_ip = instance.get("PublicIpAddress")
            if not public_ip:
                raise Ec2Error("the instance has no public address (a subnet without public "
                               "IPs?): drtui reaches instances over SSH")
        except Exception as exc:  # noqa: BLE001 - undone, then raised as one Ec2Error
            leftovers = self._undo(ec2, made)
            why = exc if isinstance(exc, DrtuiError) else aws_error(exc)
            tail = (f"; could not delete: {', '.join(leftovers)}" if leftovers
                    else "; everything it created was deleted")
            raise Ec2Error(f"EC2 launch for run {run.id} failed while {step}: {why}{tail}"
                           ) from None
        try:
            found = aws_pricing.price(ec2, cfg.instance_type, cfg.region, use_spot=cfg.spot,
                                      max_price=cfg.max_price_per_hour)
            per_hour, source = found.per_hour, found.source
        except Exception as exc:  # noqa: BLE001 - no price is no reason to waste the instance
            per_hour, source = 0.0, f"no price: {exc}"
        record = dict(instance_id=made.instance_id, security_group=made.security_group,
                      key_name=made.key_name, key_file=str(made.key_file),
                      region=cfg.region, profile=cfg.profile, public_ip=public_ip,
                      instance_type=cfg.instance_type, spot=cfg.spot, per_hour=per_hour,
                      price_source=source, launched=time.time(),
                      shutdown_minutes=aws_userdata.shutdown_minutes(
                          session.training.time_limit_minutes))
        # what RemoteEmbeddedRunner reads: the user data installs drtui into <workdir>/venv;
        # if that failed, the runner installs it from pip_install itself
        run.update(ec2=record, workdir=WORKDIR, pip_install=f"drtui=={__version__}")
        return record

    def _image(self, ec2, ami: str) -> tuple[str, str]:
        """(image id, root device name) of the session's AMI or the newest Deep Learning AMI."""
        if ami:
            images = ec2.describe_images(ImageIds=[ami])["Images"]
        else:
            images = ec2.describe_images(Owners=["amazon"], Filters=[
                {"Name": "name", "Values": [DLAMI_NAME]},
                {"Name": "state", "Values": ["available"]},
                {"Name": "architecture", "Values": ["x86_64"]}])["Images"]
        if not images:
            raise Ec2Error(f"no AMI {ami or DLAMI_NAME!r} in this region: set "
                           "backend.aws_ec2.ami")
        image = max(images, key=lambda i: i.get("CreationDate", ""))
        return image["ImageId"], image.get("RootDeviceName") or "/dev/sda1"

    def _wait_running(self, ec2, instance_id: str) -> dict:
        ec2.get_waiter("instance_running").wait(
            InstanceIds=[instance_id],
            WaiterConfig={"Delay": self.poll_seconds, "MaxAttempts": 120})
        return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
            "Instances"][0]

    def _undo(self, ec2, made: _Created) -> list[str]:
        """Delete what a failed launch made; the names of what could not be deleted."""
        try:
            self._teardown(ec2, made.instance_id, made.security_group, made.key_name,
                           made.key_file)
        except _Leftovers as left:
            return left.names
        return []

    def _teardown(self, ec2, instance_id, security_group, key_name, key_file) -> None:
        """Terminate the instance (and wait: its security group is in use until then), then
        delete the group, the key pair and the private key file. Already-gone is fine."""
        left = []
        if instance_id:
            try:
                ec2.terminate_instances(InstanceIds=[instance_id])
                ec2.get_waiter("instance_terminated").wait(
                    InstanceIds=[instance_id],
                    WaiterConfig={"Delay": self.poll_seconds, "MaxAttempts": 120})
            except Exception as exc:  # noqa: BLE001
                if not _gone(exc):
                    left.append(f"instance {instance_id} ({aws_error(exc)})")
        if security_group:
            from drtui.backends.retry import Backoff

            error, wait = None, Backoff(self.poll_seconds, factor=1.0)
            while wait.tries < 12:  # the group stays in use a little while after terminate
                try:
                    ec2.delete_security_group(GroupId=security_group)
                    error = None
                    break
                except Exception as exc:  # noqa: BLE001
                    error = None if _gone(exc) else exc
                    if error is None or "DependencyViolation" not in aws_error(exc):
                        break
                    wait.sleep_sync()
            if error is not None:
                left.append(f"security group {security_group} ({aws_error(error)})")
        if key_name:
            try:
                ec2.delete_key_pair(KeyName=key_name)
            except Exception as exc:  # noqa: BLE001
                if not _gone(exc):
                    left.append(f"key pair {key_name} ({aws_error(exc)})")
        if key_file:
            Path(key_file).unlink(missing_ok=True)
        if left:
            raise _Leftovers(left)

    # -- host --------------------------------------------------------------------------------
    def _host(self, run: Run, record: dict) -> Host:
        from drtui.backends.ssh import SshHost, SshTarget

        host, port = record["public_ip"], 22
        override = os.environ.get(SSH_ADDRESS_ENV)
        if override:  # tests: a loopback SSH server standing in for the instance's sshd
            address, _, port_text = override.rpartition(":")
            host, port = (address, int(port_text)) if address else (override, 22)
        # Trust on first use, for this run's own fresh instance only: its key is recorded
        # in the run folder and checked on every later connection.
        known = run.path / "known_hosts"
        target = SshTarget(host, port, user=SSH_USER, identity_file=record["key_file"],
                           known_hosts=str(known), accept_new=not known.exists())
        return SshHost(target, retries=self.ssh_retries, backoff=self.ssh_backoff)

    # -- sweep (see drtui.backends.sweep) ----------------------------------------------------
    async def sweep(self, workspace: Path):
        return await asyncio.to_thread(self._sweep, Path(workspace))

    def _sweep(self, workspace: Path):
        from drtui.backends import sweep

        runs = {r.id: r for r in sweep.workspace_runs(workspace)}
        regions = {(r.state.get("ec2") or {}).get("region") for r in runs.values()} - {None}
        regions.add(os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                    or "us-east-1")
        session = self.session_factory(sorted(regions)[0], "default")
        if session.get_credentials() is None:
            raise sweep.Skipped("no AWS credentials (aws configure or AWS_PROFILE)")
        found = []
        for region in sorted(regions):
            ec2 = self._client(region, "default")
            pages = ec2.get_paginator("describe_instances").paginate(Filters=[
                {"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]},
                {"Name": "instance-state-name", "Values": list(LIVE_STATES)}])
            for page in pages:
                for res in page["Reservations"]:
                    for inst in res["Instances"]:
                        tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
                        run_id = tags.get(TAG_RUN, "")
                        if sweep.owned(runs.get(run_id), "instance_id", inst["InstanceId"],
                                       section="ec2"):
                            continue
                        found.append(sweep.Orphan(
                            provider=self.name, id=inst["InstanceId"], where=region,
                            state=inst["State"]["Name"],
                            launched=inst["LaunchTime"].isoformat()
                            if inst.get("LaunchTime") else "",
                            run_id=run_id, per_hour=self._orphan_price(
                                ec2, inst, region, runs.get(run_id))))
        return found

    @staticmethod
    def _orphan_price(ec2, inst: dict, region: str, run: Run | None) -> float | None:
        from drtui.backends import aws_pricing

        if run is not None and (run.state.get("ec2") or {}).get("per_hour"):
            return float(run.state["ec2"]["per_hour"])
        try:
            return aws_pricing.price(ec2, inst["InstanceType"], region,
                                     use_spot=inst.get("InstanceLifecycle") == "spot").per_hour
        except Exception:  # noqa: BLE001 - an unknown price does not hide the orphan
            return None

    async def terminate(self, orphan, workspace: Path | None = None) -> None:
        """End an orphan found by sweep: the instance, then its run's group and key pair."""
        await asyncio.to_thread(self._terminate, orphan, workspace)

    def _terminate(self, orphan, workspace: Path | None) -> None:
        ec2 = self._client(orphan.where, "default")
        name = f"drtui-{orphan.run_id}"
        groups = ec2.describe_security_groups(Filters=[
            {"Name": f"tag:{TAG_RUN}", "Values": [orphan.run_id]},
            {"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]}])["SecurityGroups"]
        keys = ec2.describe_key_pairs(Filters=[
            {"Name": f"tag:{TAG_RUN}", "Values": [orphan.run_id]}])["KeyPairs"]
        try:
            self._teardown(ec2, orphan.id, groups[0]["GroupId"] if groups else None,
                           keys[0]["KeyName"] if keys else None,
                           keys_dir() / f"{name}.pem" if orphan.run_id else None)
        except _Leftovers as left:
            raise Ec2Error(f"{orphan.id}: could not delete {', '.join(left.names)}") from None
        if workspace is not None:
            from drtui.backends import sweep

            run = {r.id: r for r in sweep.workspace_runs(workspace)}.get(orphan.run_id)
            if run is not None and (run.state.get("ec2") or {}).get("instance_id") == orphan.id:
                run.update(ec2={**run.state["ec2"], "released": time.time()})


class _Leftovers(Exception):
    def __init__(self, names: list[str]):
        self.names = names
        super().__init__(", ".join(names))


def _gone(exc: BaseException) -> bool:
    return "NotFound" in aws_error(exc).split(":")[0]
