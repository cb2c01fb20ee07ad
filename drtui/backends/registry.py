"""Which classes serve each provider and runner.

A provider's class comes from its descriptor (drtui/session/providers.py, the built-ins in
session/backend.py), named by a "module:Class" string, so naming a backend imports nothing
heavy (boto3 and asyncssh load only when a run on that backend starts). A runner is looked
up for its (provider, runner) pair first, then for ("*", runner): the embedded trainer on
this machine and on a remote host are different classes.
"""

from __future__ import annotations

from importlib import import_module

from drtui.session.backend import spec, specs

RUNNERS: dict[tuple[str, str], str] = {
    ("local", "embedded"): "drtui.backends.embedded:EmbeddedRunner",
    ("*", "embedded"): "drtui.backends.remote_embedded:RemoteEmbeddedRunner",
    ("deepracer-on-aws", "deepracer-on-aws"): "drtui.backends.droa:DroaRunner",
    ("*", "drfc"): "drtui.backends.drfc:DrfcRunner",
}


def _load(ref: str | type):
    if isinstance(ref, type):
        return ref
    module, _, name = ref.partition(":")
    return getattr(import_module(module), name)


def provider_names() -> list[str]:
    return list(specs())


def provider_class(provider: str):
    found = spec(provider)
    return _load(found.provider_class) if found else None


def runner_class(provider: str, runner: str):
    ref = RUNNERS.get((provider, runner)) or RUNNERS.get(("*", runner))
    return _load(ref) if ref else None
