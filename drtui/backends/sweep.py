"""The orphan sweep: find cloud machines drtui started that no active run still owns (drtui
or the laptop died, a run folder was deleted), so nobody pays for a forgotten GPU.

Contract for providers (the descriptors in drtui/session/providers.py): a provider class MAY
implement (capabilities.Sweeps and capabilities.Terminates)

    async def sweep(self, workspace: Path) -> list[Orphan]   (or dicts with Orphan's keys)
        Every machine this provider manages for drtui (found by the provider's own tag or
        label, e.g. EC2 tag drtui:managed=true with drtui:run=<run id>) that is still alive
        (running, starting, stopping or stopped-but-billing) and NOT owned by an active run of
        the workspace: use `owned(run, key, machine_id)` with `workspace_runs(workspace)`.
        Raise `Skipped(why)` when the provider is not set up on this machine (no credentials,
        CLI not installed): the sweep reports it and goes on. Other exceptions are reported
        as failures of that provider's sweep.

    async def terminate(self, orphan: Orphan, workspace: Path | None = None) -> None
        End the machine and what was made with it (firewall, keys), and mark the run, if its
        folder still exists, as released. Raise a DrtuiError naming anything left behind.

The provider is built with no arguments (`cls()`); heavy imports stay inside the methods.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from drtui.backends.aws_errors import aws_error
from drtui.runstore.store import ACTIVE, Run


class Skipped(Exception):
    """This provider is not set up here; the message says why."""


@dataclass(frozen=True)
class Orphan:
    provider: str
    id: str  # the provider's machine id (EC2 instance id, Brev workspace name, ...)
    where: str  # region or zone
    state: str  # the provider's own word: running, pending, stopped, ...
    launched: str  # ISO 8601, "" if unknown
    run_id: str  # from the machine's tag; "" if it has none
    per_hour: float | None  # dollars, None if unknown

    @property
    def running(self) -> bool:
        """Still billing for compute (a stopped machine bills for its disk only)."""
        return self.state.lower() not in ("stopped", "terminated", "deleted")

    def to_json(self) -> dict:
        return {**asdict(self), "running": self.running}


def as_orphan(provider: str, found: Orphan | dict) -> Orphan:
    """An Orphan from a provider's record; a plain dict (keys as Orphan's, `run` accepted
    for run_id) is accepted too."""
    if isinstance(found, Orphan):
        return found
    per_hour = found.get("per_hour")
    return Orphan(provider=str(found.get("provider") or provider), id=str(found["id"]),
                  where=str(found.get("where") or ""), state=str(found.get("state") or "?"),
                  launched=str(found.get("launched") or ""),
                  run_id=str(found.get("run_id") or found.get("run") or ""),
                  per_hour=None if per_hour is None else float(per_hour))


@dataclass
class SweepResult:
    orphans: list[Orphan]
    skipped: dict[str, str]  # provider -> why it was not swept
    failed: dict[str, str]  # provider -> error


def workspace_runs(workspace: Path) -> list[Run]:
    from drtui.runstore import store

    return store.list_runs(Path(workspace))


def owned(run: Run | None, key: str, machine_id: str, *, section: str | None = None) -> bool:
    """Whether an active run records this machine as its own (run.state[section][key])."""
    if run is None or run.status not in ACTIVE:
        return False
    record = run.state.get(section) if section else run.state
    return isinstance(record, dict) and record.get(key) == machine_id and \
        not record.get("released")


def _sweepers(failed: dict[str, str] | None = None) -> dict[str, Any]:
    """An instance of every registered provider that can sweep; a provider that cannot even
    be loaded is reported in `failed` rather than hiding the others."""
    from drtui.backends import registry
    from drtui.backends.capabilities import Sweeps

    found = {}
    for name in registry.provider_names():
        try:
            cls = registry.provider_class(name)
            if cls is not None and issubclass(cls, Sweeps):
                found[name] = cls()
        except Exception as exc:  # noqa: BLE001
            if failed is not None:
                failed[name] = f"cannot load: {type(exc).__name__}: {exc}"
    return found


async def sweep(workspace: Path, providers: list[str] | None = None) -> SweepResult:
    """Ask every provider that can sweep (or those named), concurrently; one provider's
    failure does not hide another's orphans."""
    result = SweepResult([], {}, {})
    found = _sweepers(result.failed)
    if providers:
        unknown = set(providers) - set(found)
        if unknown:
            from drtui.errors import InvalidInput

            raise InvalidInput([f"--provider: {', '.join(sorted(unknown))} cannot sweep "
                                f"(these can: {', '.join(found) or 'none'})"])
        found = {name: found[name] for name in providers}
    outcomes = await asyncio.gather(*(p.sweep(Path(workspace)) for p in found.values()),
                                    return_exceptions=True)
    for name, outcome in zip(found, outcomes):
        if isinstance(outcome, Skipped):
            result.skipped[name] = str(outcome)
        elif isinstance(outcome, BaseException):
            result.failed[name] = _describe(outcome)
        else:
            result.orphans.extend(as_orphan(name, o) for o in outcome)
    result.orphans.sort(key=lambda o: (o.provider, o.where, o.launched, o.id))
    return result


async def startup_check(workspace: Path) -> SweepResult | None:
    """The sweep the studio runs as it starts: only the providers the workspace's runs have
    used (someone who never trained in a cloud gets no cloud call); None when there are none."""
    used = {str(r.state.get("provider")) for r in workspace_runs(workspace)} - {"local", "ssh"}
    if not used:  # nothing loaded, nobody asked
        return None
    used = sorted(used & set(_sweepers()))
    return await sweep(Path(workspace), used) if used else None


def running_orphans_text(result: SweepResult) -> str:
    """One line per running orphan, for a notification."""
    rows = [o for o in result.orphans if o.running]
    return "\n".join(f"{o.provider} {o.id} ({o.state}"
                     + (f", ${o.per_hour:.2f}/h" if o.per_hour else "")
                     + (f", run {o.run_id}" if o.run_id else "") + ")" for o in rows)


def _describe(exc: BaseException) -> str:
    from drtui.errors import DrtuiError

    if isinstance(exc, DrtuiError):
        return str(exc)
    try:
        return aws_error(exc)
    except Exception:  # noqa: BLE001 - botocore missing: say what happened anyway
        return f"{type(exc).__name__}: {exc}"


async def terminate(orphans: list[Orphan], workspace: Path | None = None) -> dict[str, str]:
    """End each orphan; {machine id: error} for those that could not be ended."""
    from drtui.backends.capabilities import Terminates

    providers = _sweepers()
    errors: dict[str, str] = {}
    for orphan in orphans:
        provider = providers.get(orphan.provider)
        if not isinstance(provider, Terminates):
            errors[orphan.id] = f"{orphan.provider} cannot terminate machines"
            continue
        try:
            await provider.terminate(orphan, workspace)
        except Exception as exc:  # noqa: BLE001 - reported per machine
            errors[orphan.id] = _describe(exc)
    return errors
