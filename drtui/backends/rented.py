"""A rented GPU instance reached over SSH (NVIDIA Brev, Thunder Compute): the lifecycle they
share, with the provider's own API behind a few hooks.

- acquire: the run's recorded instance (run.state[KEY]) is reused when ready, waited for when
  still starting, and replaced (deleted first: never pay twice) when dead; with create=False
  (attach, stop) nothing is ever made.
- create: `plan` (the record kept before the call, so a crash still leaves a trace for the
  sweep), `make` (the provider's create call; sets record["id"]), then wait until `ready`,
  polling with a growing delay (retry.Backoff) up to the settings' ready_timeout_minutes.
  Any failure deletes what was made and says so.
- the host: `ssh_target` gives the SSH target; where the embedded runner works on the
  instance (workdir, python, pip_install) is recorded as the ssh provider records it.
- release and terminate delete the instance (never stop: a stopped one bills its disk) and
  mark the record deleted; the sweep stays each provider's own (what it can list differs).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from drtui.backends.base import Host, HostUnreachable, Provider
from drtui.backends.cloud import (
    InstanceGone,
    ProviderError,
    mark_released,
    recorded_hourly_cost,
    session_of,
)
from drtui.backends.retry import Backoff
from drtui.runstore.store import Run

Instance = dict[str, Any]


class RentedInstance(Provider):
    name = ""  # the provider's descriptor name
    KEY = ""  # the run.state key of its record
    TABLE = ""  # its session settings table (backend.<TABLE>)
    TITLE = ""  # as messages name one: "Brev instance"
    DELETE_HINT = ""  # the user's own command: "`brev delete {label}`"

    def __init__(self, *, poll: float, max_poll: float, ready_timeout: float | None = None):
        self.poll, self.max_poll, self.ready_timeout = poll, max_poll, ready_timeout

    # -- the provider's API --------------------------------------------------------------------
    async def lookup(self, instance_id: str) -> Instance | None:
        raise NotImplementedError

    def status(self, inst: Instance) -> str:
        return str(inst.get("status") or "UNKNOWN").upper()

    def ready(self, inst: Instance) -> bool:
        raise NotImplementedError

    def reusable(self, inst: Instance) -> bool:
        """Good enough to go on with a run already on it."""
        return self.ready(inst)

    def dead(self, inst: Instance) -> bool:
        raise NotImplementedError

    def describe(self, inst: Instance) -> str:
        return f"status {self.status(inst)}"

    def start_check(self, label: str) -> Callable[[Instance], None]:
        """A check for each poll while the instance starts: raises ProviderError when it
        will not come up."""
        def check(inst: Instance) -> None:
            if self.dead(inst):
                raise ProviderError(f"{self.TITLE} {label} failed to start: "
                                    f"{self.describe(inst)}")
        return check

    async def plan(self, run: Run, settings: Any) -> dict[str, Any]:
        """The record of the instance about to be made (before any call that makes one)."""
        raise NotImplementedError

    async def make(self, run: Run, settings: Any, record: dict[str, Any]) -> str:
        """Create the instance; set record["id"] as soon as it is known; its id."""
        raise NotImplementedError

    async def leftover(self, record: dict[str, Any]) -> str | None:
        """The id of an instance a failed `make` left without telling its id."""
        return None

    def forget(self, record: dict[str, Any]) -> None:
        """A failed create made nothing: drop what `plan` noted (a ledger entry)."""

    async def delete(self, instance_id: str, record: dict[str, Any] | None = None) -> None:
        raise NotImplementedError

    def deleted(self, record: dict[str, Any]) -> None:
        """After a release: remove what was made for the instance here (a key file)."""

    async def ssh_target(self, run: Run, inst: Instance, record: dict[str, Any]
                         ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        """(SshTarget, the record's "ssh" entry, other record keys to keep)."""
        raise NotImplementedError

    # -- the lifecycle -------------------------------------------------------------------------
    @classmethod
    def ledger(cls):
        from drtui.backends.statedir import Ledger

        return Ledger(cls.name)

    def settings(self, run: Run) -> Any:
        return getattr(session_of(run).backend, self.TABLE)

    def _limit(self, settings: Any) -> float:
        return self.ready_timeout or settings.ready_timeout_minutes * 60.0

    @staticmethod
    def label(record: dict[str, Any]) -> str:
        return str(record.get("name") or record.get("id") or "")

    async def acquire(self, run: Run, *, create: bool = True) -> Host:
        settings = self.settings(run)
        record = dict(run.state.get(self.KEY) or {})
        label = self.label(record)
        inst = None
        if record.get("id") and not record.get("deleted"):
            inst = await self.lookup(record["id"])
        if inst is not None:
            status = self.status(inst)
            if self.reusable(inst):
                return await self._host(run, inst, record)
            if not self.dead(inst):  # still starting: wait, or let the caller retry
                if not create:
                    raise HostUnreachable(f"run {run.id}: {self.TITLE} {label} is {status}; "
                                          "try again shortly")
                inst = await self.wait_ready(record["id"], label, self._limit(settings))
                return await self._host(run, inst, record)
            if not create:
                raise InstanceGone(f"run {run.id}: {self.TITLE} {label} is {status}, not "
                                   "running")
            await self.delete(record["id"], record)  # replace it rather than pay for both
        if not create:
            raise InstanceGone(f"run {run.id} has no {self.TITLE} any more "
                               f"({label or 'none was created'}); start the run again to "
                               "create one")
        return await self._create(run, settings)

    async def _create(self, run: Run, settings: Any) -> Host:
        record = await self.plan(run, settings)
        run.update(**{self.KEY: record})
        try:
            instance_id = await self.make(run, settings, record)
            inst = await self.wait_ready(instance_id, self.label(record),
                                         self._limit(settings))
            return await self._host(run, inst, record)
        except BaseException as exc:
            cleanup = await asyncio.shield(self._cleanup(run, record))
            if isinstance(exc, ProviderError) and cleanup:
                raise ProviderError(f"{exc}; {cleanup}") from None
            raise

    async def _cleanup(self, run: Run, record: dict[str, Any]) -> str:
        """Delete whatever a failed create left behind; say what happened to it."""
        label = self.label(record)
        target = record.get("id")
        if target is None:
            try:
                target = await self.leftover(record)
            except Exception:  # noqa: BLE001 - the original failure is the one to report
                target = None
        if target is None:
            self.forget(record)
            return ""
        try:
            await self.delete(target, record)
        except Exception as exc:  # noqa: BLE001
            return (f"could not delete instance {label} ({exc}): delete it with "
                    f"{self.DELETE_HINT.format(label=label)}, it bills until then")
        run.update(**{self.KEY: {**record, "id": target, "deleted": time.time()}})
        return f"instance {label} was deleted"

    async def wait_ready(self, instance_id: str, label: str, limit: float) -> Instance:
        wait = Backoff(self.poll, self.max_poll, limit=limit)
        check = self.start_check(label)
        while True:
            inst = await self.lookup(instance_id)
            if inst is None:
                raise ProviderError(f"{self.TITLE} {label} disappeared while starting")
            check(inst)
            if self.ready(inst):
                return inst
            if wait.expired:
                raise ProviderError(f"{self.TITLE} {label} was not ready after {limit:.0f} s "
                                    f"({self.describe(inst)})")
            await wait.sleep()

    async def _host(self, run: Run, inst: Instance, record: dict[str, Any]) -> Host:
        from drtui.backends.ssh import SshHost

        target, ssh, keep = await self.ssh_target(run, inst, record)
        host = SshHost(target)
        if record.get("ssh") != ssh or any(record.get(k) != v for k, v in keep.items()):
            settings = self.settings(run)
            # where the embedded runner works on the instance, as the ssh provider records it
            run.update(host=host.name, workdir=settings.workdir, python=settings.python,
                       pip_install=settings.pip_install,
                       **{self.KEY: {**record, **keep, "ssh": ssh}})
        return host

    async def release(self, run: Run) -> None:
        record = dict(run.state.get(self.KEY) or {})
        if not record.get("id") or record.get("deleted"):
            return
        await self.delete(record["id"], record)
        self.deleted(record)
        run.update(**{self.KEY: {**record, "deleted": time.time()}})

    def hourly_cost(self, run: Run) -> float:
        return recorded_hourly_cost(run, self.KEY)

    async def terminate(self, found, workspace=None) -> None:
        """Delete an orphan the sweep found; its run, if still there, is marked released."""
        await self.delete(found.id)
        mark_released(workspace, found, self.KEY)
