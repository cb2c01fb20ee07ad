"""Where and how training runs: a provider (the machine) and a runner (the training stack).

Only non-secret settings live here. Credentials come from the user's own AWS profile, SSH
agent or provider CLI login at run time and are never written to a session file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field, create_model

from drtui.session.base import EnvStr, Section
from drtui.session.providers import (
    ProviderSpec,
    allowed_runners,
    descriptions,
    generation,
    on_change,
    register,
    spec,
    specs,
    unregister,
)

__all__ = ["ProviderSpec", "allowed_runners", "descriptions", "generation", "on_change",
           "register", "spec", "specs", "unregister"]

Runner = Literal["embedded", "drfc", "deepracer-on-aws"]

RUNNERS: dict[str, str] = {
    "embedded": "drtui's own simulator and torch trainer (CPU or GPU).",
    "drfc": "deepracer-for-cloud: the real Gazebo simulator and SageMaker container in docker.",
    "deepracer-on-aws": "Managed training in a DeepRacer on AWS deployment.",
}

_SECRET_HINTS = ("AKIA", "ASIA", "-----BEGIN", "aws_secret", "ghp_")


def _no_secret(value: str) -> str:
    if any(h.lower() in value.lower() for h in _SECRET_HINTS):
        raise ValueError("looks like a credential; session files hold no secrets (use an AWS "
                         "profile, SSH agent or the provider's own login)")
    return value


Text = Annotated[str, AfterValidator(_no_secret)]


class SshSettings(Section):
    host: Text = ""
    port: int = Field(default=22, ge=1, le=65535)
    user: Text = ""
    identity_file: Text = ""  # a path to a key, never the key itself
    known_hosts: Text = "~/.ssh/known_hosts"
    workdir: Text = "~/drtui"
    # trust a host whose key is not yet in known_hosts (and record it); a changed key is
    # always refused
    accept_new_host_key: bool = False
    python: Text = "python3"  # the interpreter on the host that has drtui
    pip_install: Text = ""  # a pip requirement installed into <workdir>/venv if drtui is missing
    hourly_cost: float = Field(default=0.0, ge=0)  # what the machine costs you, for --max-cost


def _ssh_cidr(value: str) -> str:
    """SSH is opened to one address or a small network, never to the internet."""
    if not value:
        return value
    import ipaddress

    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an address block like 203.0.113.7/32") from None
    if net.prefixlen < (16 if net.version == 4 else 48):
        raise ValueError(f"{value} opens SSH to {net.num_addresses:,} addresses; use your own "
                         "address /32 (or leave it empty to detect it)")
    return str(net)


class AwsEc2Settings(Section):
    region: EnvStr = "us-east-1"
    profile: EnvStr = "default"
    instance_type: Text = "g4dn.2xlarge"
    spot: bool = True
    max_price_per_hour: float | None = Field(default=None, gt=0)
    ami: Text = ""  # empty: the newest Deep Learning AMI found at launch
    allowed_cidr: Annotated[Text, AfterValidator(_ssh_cidr)] = ""  # empty: your address /32
    volume_gb: int = Field(default=60, ge=20, le=2000)
    instance_profile: Text = ""  # an IAM instance profile name: AWS access without keys


def _matching(pattern: str, rule: str):
    """A validator that names the rule a value broke, not the regular expression."""
    import re

    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"{rule}; got {value!r}")
        return value
    return AfterValidator(check)


# brev's own rules: names as its ValidateNodeName, types as `brev search` lists them
BrevName = Annotated[Text, _matching(r"|[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}", (
    "empty (drtui-<run id>) or up to 63 letters, digits, '.', '_' or '-', starting with "
    "a letter or digit"))]
BrevTypes = Annotated[Text, _matching(r"[A-Za-z0-9._:-]+(,[A-Za-z0-9._:-]+)*", (
    "an instance type from `brev search` (e.g. g5.xlarge), or several separated by commas "
    "to try in order"))]
Word = Annotated[Text, _matching(r"[A-Za-z0-9._-]+", "letters, digits, '.', '_' or '-' only")]


class BrevSettings(Section):
    instance_type: BrevTypes = "g5.xlarge"
    workspace_name: BrevName = ""
    ready_timeout_minutes: int = Field(default=20, ge=1, le=180)
    # for the embedded runner on the instance (as in SshSettings)
    workdir: Text = "~/drtui"
    python: Text = "python3"
    pip_install: Text = ""  # a pip requirement for drtui, installed into <workdir>/venv


class ThunderSettings(Section):
    gpu: Word = "a6000"  # as Thunder names it: a6000, a100, h100 (see `tnr create --help`)
    num_gpus: int = Field(default=1, ge=1, le=8)
    mode: Literal["prototyping", "production"] = "prototyping"
    vcpus: int = Field(default=4, ge=1, le=128)  # above 4 billed per vCPU-hour
    template: Word = "base"
    disk_gb: int = Field(default=100, ge=10, le=2000)  # above 100 GB billed per GB-hour
    ready_timeout_minutes: int = Field(default=20, ge=1, le=180)
    workdir: Text = "~/drtui"
    python: Text = "python3"
    pip_install: Text = ""


class DeepRacerOnAwsSettings(Section):
    """A DeepRacer on AWS deployment: its API (apiEndpointUrl in the site's env.js), the
    region, the AWS profile holding credentials for it, and its upload bucket
    (uploadBucketName) for model imports."""

    api_url: Text = ""
    region: EnvStr = "us-east-1"
    profile: EnvStr = "default"
    upload_bucket: Text = ""
    poll_seconds: float = Field(default=15.0, gt=0, le=600)  # status and metrics

class OnTheSpot(Section):
    """deepracer-on-the-spot's own run.env keys, which its instance scripts read (DRfC does
    not): `[[ $KEY == False ]]` for the switches, so any text but False is on. Absent: not
    an on-the-spot run, and none of them is written."""

    regular_upload_minutes: int = Field(default=0, ge=0)  # DR_REGULAR_UPLOAD; 0: off
    # DR_REGULAR_PHYSICAL_MODEL_UPLOAD: the car's model every N minutes; 0: off
    regular_physical_model_upload_minutes: int = Field(default=0, ge=0)
    continue_on_spot_interruption: bool = True  # DR_CONTINUE_ON_SPOT_INTERRUPTION
    import_model_on_completion: bool = True  # DR_IMPORT_MODEL_ON_COMPLETION


class DrfcSettings(Section):
    """system.env settings of a deepracer-for-cloud install."""

    cloud: Literal["local", "remote", "aws", "azure"] = "local"
    region: EnvStr = "us-east-1"
    local_s3_bucket: EnvStr = "bucket"
    local_s3_profile: EnvStr = "minio"
    upload_s3_bucket: EnvStr = "not-defined"
    upload_s3_profile: EnvStr = "default"
    model_prefix: EnvStr = ""  # empty: the model name
    # continue training from another model's checkpoint (DR_LOCAL_S3_PRETRAINED, _PREFIX,
    # _CHECKPOINT: "last", "best" or a checkpoint number)
    pretrained: bool = False
    pretrained_prefix: EnvStr = "rl-sagemaker-pretrained"
    pretrained_checkpoint: EnvStr = "last"
    # container images: DR_SIMAPP_VERSION (DRfC since 2024, one image) or, before it,
    # DR_SAGEMAKER_IMAGE, DR_ROBOMAKER_IMAGE and DR_COACH_IMAGE; "" leaves the key out
    simapp_version: EnvStr = "6.0.4-cpu"
    sagemaker_image: EnvStr = ""
    robomaker_image: EnvStr = ""
    coach_image: EnvStr = ""
    docker_style: Literal["swarm", "compose"] = "compose"
    run_id: int = Field(default=0, ge=0, le=99)
    on_the_spot: OnTheSpot | None = None
    path: Text = "~/deepracer-for-cloud"  # the DRfC install on the training host


# The providers, in the order the session schema, `drtui list backends` and the studio list
# them (see session/providers.py: one entry here and the provider's class is all one needs).
for _spec in (
    ProviderSpec("local", "This machine: the embedded simulator (default) or a local DRfC "
                 "install.", ("embedded", "drfc"), "drtui.backends.local:LocalProvider"),
    ProviderSpec("ssh", "Any machine you can reach over SSH (asyncssh, known_hosts checked).",
                 ("embedded", "drfc"), "drtui.backends.ssh_provider:SshProvider", SshSettings,
                 required={"host": "the ssh provider needs a host"}),
    ProviderSpec("aws-ec2", "An EC2 instance drtui starts, tags, watches and terminates "
                 "(boto3).", ("embedded", "drfc"), "drtui.backends.aws_ec2:AwsEc2Provider",
                 AwsEc2Settings, studio_estimate=True),
    ProviderSpec("nvidia-brev", "An NVIDIA Brev GPU instance through the brev CLI, then SSH.",
                 ("embedded", "drfc"), "drtui.backends.brev:BrevProvider", BrevSettings),
    ProviderSpec("thunder-compute", "A Thunder Compute GPU instance through its API or tnr "
                 "CLI, then SSH.", ("embedded", "drfc"), "drtui.backends.thunder:ThunderProvider",
                 ThunderSettings),
    ProviderSpec("deepracer-on-aws", "The self-hosted DeepRacer on AWS solution through its "
                 "REST API.", ("deepracer-on-aws",), "drtui.backends.droa:DroaProvider",
                 DeepRacerOnAwsSettings, required={"api_url": "the deepracer-on-aws provider "
                                                             "needs the deployment's API URL"}),
):
    register(_spec)


class BackendBase(Section):
    """The [backend] table. Its fields are built from the provider descriptors (`backend_model`):
    `provider` (one of their names), `runner`, one settings table per provider that has
    settings, in descriptor order, and `drfc`. Declared here for the type checker only."""

    if TYPE_CHECKING:
        provider: str = "local"
        runner: Runner = "embedded"
        drfc: DrfcSettings = DrfcSettings()


def backend_model() -> type[BackendBase]:
    """The [backend] model for the providers registered now."""
    names = tuple(specs())
    fields: dict[str, Any] = {"provider": (Literal[names], "local"), "runner": (Runner, "embedded")}
    for found in specs().values():
        if found.settings is not None:
            fields[found.table] = (found.settings, found.settings())
    fields["drfc"] = (DrfcSettings, DrfcSettings())
    return create_model("Backend", __base__=BackendBase, __module__=__name__, **fields)


Backend = backend_model()


def _rebuild() -> None:
    global Backend
    Backend = backend_model()


on_change(_rebuild)  # first: the session model's own listener reads the new Backend
