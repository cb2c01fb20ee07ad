"""Provider descriptors: the one place that says what each provider (the machine a run trains
on) is. Everything else is derived from them: the session schema's `backend.provider` choices
and `[backend.<table>]` settings tables (session/backend.py), the runner rule (validate.py),
`drtui list backends`, the studio's backend step, and the classes launch and the orphan sweep
load (backends/registry.py).

Adding a provider is its class in a new module of drtui/backends (what it can do beyond
acquire/release, such as sweep, terminate or estimate, is read off the class through the
protocols in drtui/backends/capabilities.py) plus one `ProviderSpec` entry in
session/backend.py, with its settings model beside it. `register` does the same at run time
(the tests' own provider): the schema is rebuilt, so a session naming it validates.

Standard library only: the core and the UI import it freely; the class is named by a
"module:Class" string, so describing a provider imports nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProviderSpec:
    name: str  # as a session names it: backend.provider = "aws-ec2"
    description: str  # one line: `drtui list backends`, the studio's note
    runners: tuple[str, ...]  # the runners it can host, the first its default
    provider_class: str | type  # "module:Class" (imported when a run starts), or the class
    settings: type | None = None  # its [backend.<table>] model (a Section), None: no settings
    # keys of its settings a session must set: {key: why}
    required: dict[str, str] = field(default_factory=dict)
    # the studio prices the backend as it is edited (needs an `estimate` that is quick and
    # free of side effects: a price list call, not a machine)
    studio_estimate: bool = False

    @property
    def table(self) -> str:
        """Its settings table: backend.aws_ec2 for aws-ec2."""
        return self.name.replace("-", "_")

    def problems(self, settings: Any) -> list[tuple[str, str]]:
        """(key path, message) for each required setting left empty."""
        return [(f"backend.{self.table}.{key}", why) for key, why in self.required.items()
                if not getattr(settings, key, None)]


_SPECS: dict[str, ProviderSpec] = {}
_LISTENERS: list[Callable[[], None]] = []
_generation = 0


def register(spec: ProviderSpec) -> ProviderSpec:
    """Add (or replace) a provider; the schemas that derive from the descriptors rebuild."""
    _SPECS[spec.name] = spec
    _changed()
    return spec


def unregister(name: str) -> None:
    if _SPECS.pop(name, None) is not None:
        _changed()


def _changed() -> None:
    global _generation
    _generation += 1
    for listener in list(_LISTENERS):
        listener()


def on_change(listener: Callable[[], None]) -> None:
    """Call `listener` after every register/unregister (a model that embeds the schema)."""
    _LISTENERS.append(listener)


def generation() -> int:
    """Bumped by every change: a cache of anything derived keys on it."""
    return _generation


def specs() -> dict[str, ProviderSpec]:
    return dict(_SPECS)


def spec(name: str) -> ProviderSpec | None:
    return _SPECS.get(name)


def descriptions() -> dict[str, str]:
    return {name: s.description for name, s in _SPECS.items()}


def allowed_runners(name: str) -> tuple[str, ...]:
    found = _SPECS.get(name)
    return found.runners if found else ()
