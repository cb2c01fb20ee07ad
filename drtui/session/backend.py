"""Where and how training runs: a provider (the machine) and a runner (the training stack).

Only non-secret settings live here. Credentials come from the user's own AWS profile, SSH
agent or provider CLI login at run time and are never written to a session file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from drtui.session.base import EnvStr, Section

Provider = Literal["local", "ssh", "aws-ec2", "nvidia-brev", "thunder-compute", "deepracer-on-aws"]
Runner = Literal["embedded", "drfc", "deepracer-on-aws"]

PROVIDERS: dict[str, str] = {
    "local": "This machine: the embedded simulator (default) or a local DRfC install.",
    "ssh": "Any machine you can reach over SSH (asyncssh, known_hosts checked).",
    "aws-ec2": "An EC2 instance drtui starts, tags, watches and terminates (boto3).",
    "nvidia-brev": "An NVIDIA Brev GPU instance through the brev CLI, then SSH.",
    "thunder-compute": "A Thunder Compute GPU instance through its API or tnr CLI, then SSH.",
    "deepracer-on-aws": "The self-hosted DeepRacer on AWS solution through its REST API.",
}
RUNNERS: dict[str, str] = {
    "embedded": "drtui's own simulator and torch trainer (CPU or GPU).",
    "drfc": "deepracer-for-cloud: the real Gazebo simulator and SageMaker container in docker.",
    "deepracer-on-aws": "Managed training in a DeepRacer on AWS deployment.",
}
# Which runners each provider can host.
ALLOWED_RUNNERS: dict[str, tuple[str, ...]] = {
    "local": ("embedded", "drfc"),
    "ssh": ("embedded", "drfc"),
    "aws-ec2": ("embedded", "drfc"),
    "nvidia-brev": ("embedded", "drfc"),
    "thunder-compute": ("embedded", "drfc"),
    "deepracer-on-aws": ("deepracer-on-aws",),
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


class AwsEc2Settings(Section):
    region: EnvStr = "us-east-1"
    profile: EnvStr = "default"
    instance_type: Text = "g4dn.2xlarge"
    spot: bool = True
    max_price_per_hour: float | None = Field(default=None, gt=0)
    ami: Text = ""  # empty: the newest Deep Learning AMI found at launch
    allowed_cidr: Text = ""  # empty: the caller's public address /32 at launch
    volume_gb: int = Field(default=60, ge=20, le=2000)

class BrevSettings(Section):
    instance_type: Text = "g5.xlarge"
    workspace_name: Text = ""


class ThunderSettings(Section):
    gpu: Text = "t4"
    num_gpus: int = Field(default=1, ge=1, le=8)
    mode: Literal["prototyping", "production"] = "prototyping"


class DeepRacerOnAwsSettings(Section):
    api_url: Text = ""
    region: EnvStr = "us-east-1"
    profile: EnvStr = "default"

class DrfcSettings(Section):
    """system.env settings of a deepracer-for-cloud install."""

    cloud: Literal["local", "remote", "aws", "azure"] = "local"
    region: EnvStr = "us-east-1"
    local_s3_bucket: EnvStr = "bucket"
    local_s3_profile: EnvStr = "minio"
    upload_s3_bucket: EnvStr = "not-defined"
    upload_s3_profile: EnvStr = "default"
    model_prefix: EnvStr = ""  # empty: the model name
    simapp_version: EnvStr = "6.0.4-cpu"
    docker_style: Literal["swarm", "compose"] = "compose"
    run_id: int = Field(default=0, ge=0, le=99)


class Backend(Section):
    provider: Provider = "local"
    runner: Runner = "embedded"
    ssh: SshSettings = SshSettings()
    aws_ec2: AwsEc2Settings = AwsEc2Settings()
    nvidia_brev: BrevSettings = BrevSettings()
    thunder_compute: ThunderSettings = ThunderSettings()
    deepracer_on_aws: DeepRacerOnAwsSettings = DeepRacerOnAwsSettings()
    drfc: DrfcSettings = DrfcSettings()
