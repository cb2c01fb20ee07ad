"""Which classes serve each provider and runner.

Entries are "module:Class" strings, so naming a backend imports nothing heavy (boto3 and
asyncssh load only when a run on that backend starts). A runner is looked up for its
(provider, runner) pair first, then for ("*", runner): the embedded trainer on this machine
and on a remote host are different classes.
"""

from __future__ import annotations

from importlib import import_module

PROVIDERS: dict[str, str] = {
    "local": "drtui.backends.local:LocalProvider",
    "ssh": "drtui.backends.ssh_provider:SshProvider",
    "aws-ec2": "drtui.backends.aws_ec2:AwsEc2Provider",
    "deepracer-on-aws": "drtui.backends.droa:DroaProvider",
    "nvidia-brev": "drtui.backends.brev:BrevProvider",
    "thunder-compute": "drtui.backends.thunder:ThunderProvider",
}

RUNNERS: dict[tuple[str, str], str] = {
    ("local", "embedded"): "drtui.backends.embedded:EmbeddedRunner",
    ("*", "embedded"): "drtui.backends.remote_embedded:RemoteEmbeddedRunner",
    ("deepracer-on-aws", "deepracer-on-aws"): "drtui.backends.droa:DroaRunner",
    ("*", "drfc"): "drtui.backends.drfc:DrfcRunner",
}


def _load(ref: str):
    module, _, name = ref.partition(":")
    return getattr(import_module(module), name)


def provider_class(provider: str):
    ref = PROVIDERS.get(provider)
    return _load(ref) if ref else None


def runner_class(provider: str, runner: str):
    ref = RUNNERS.get((provider, runner)) or RUNNERS.get(("*", runner))
    return _load(ref) if ref else None
