"""What the rented-GPU providers (NVIDIA Brev, Thunder Compute) share: their errors, running a
vendor CLI without a terminal, naming instances after runs, per-instance known_hosts files,
cost estimates and orphan records.

Vendor CLIs are run with stdin from /dev/null (brev reads instance types from a piped stdin
and prompts for a login on a terminal) and always under a timeout, so a prompt or a hung
control plane becomes a clear error instead of a frozen drtui.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import signal
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from drtui.backends.base import CommandResult, HostGone
from drtui.errors import DrtuiError


class ProviderError(DrtuiError):
    """The provider refused or failed: the message says what, and what drtui cleaned up."""


class NotAuthorized(DrtuiError):
    """No login or a rejected token: the user has to act (exit 2)."""

    exit_code = 2


class ToolMissing(DrtuiError):
    exit_code = 2


class InstanceGone(HostGone):
    """The run's machine no longer exists and drtui was told not to create one."""


def find_tool(name: str, override_env: str) -> str | None:
    """The vendor CLI: the path in override_env if set, else the first on PATH."""
    chosen = os.environ.get(override_env)
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    return shutil.which(name)


async def run_tool(argv: Sequence[str], *, timeout: float,
                   env: dict[str, str] | None = None) -> CommandResult:
    try:
        # its own process group: a timeout kills whatever it started too (they would hold
        # its pipes open)
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True)
    except OSError as exc:
        raise ToolMissing(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await proc.communicate()  # reap it and drain its pipes
        if asyncio.current_task().cancelling():
            raise
        raise ProviderError(f"`{Path(argv[0]).name} {' '.join(argv[1:3])}` gave no answer in "
                            f"{timeout:.0f} s (is it waiting for a login or a prompt?)") from None
    return CommandResult(proc.returncode, out.decode(errors="replace"),
                         err.decode(errors="replace"))


def instance_name(run_id: str, run_path: Path | str) -> str:
    """A provider-safe instance name: `drtui-<run id>-<6 hex of the run folder's path>`, at
    most 63 characters of [a-z0-9-]. Run ids are unique within a workspace only (two
    workspaces can start the same model in the same second): the path tells them apart."""
    clean = re.sub(r"[^A-Za-z0-9-]+", "-", run_id).strip("-").lower()
    digest = hashlib.sha1(str(Path(run_path).resolve()).encode()).hexdigest()[:6]
    return f"drtui-{clean[:49].rstrip('-')}-{digest}"


def known_hosts_for(provider: str, instance_id: str) -> tuple[str, bool]:
    """A known_hosts file for one instance, and whether its key is still to be learned.

    A new cloud machine's host key cannot be known in advance, so it is trusted on the first
    connection and recorded in a file of its own; every later connection (a resumed drtui,
    a stop) is checked against it."""
    from drtui.backends.statedir import private_dir, state_dir

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{provider}-{instance_id}")
    path = private_dir(state_dir() / "known_hosts") / safe
    learned = path.is_file() and path.stat().st_size > 0
    return str(path), not learned


def forget_host(provider: str, instance_id: str) -> None:
    path, _ = known_hosts_for(provider, instance_id)
    Path(path).unlink(missing_ok=True)


def recorded_hourly_cost(run, key: str) -> float:
    """The price recorded at launch in run.state[key]; 0 once the instance is deleted."""
    record = run.state.get(key) or {}
    if record.get("deleted") or not record.get("id"):
        return 0.0
    return float(record.get("per_hour") or 0.0)


def session_of(run):
    from drtui.session import store as sessions

    return sessions.load(run.session_path, check=False)


@dataclass(frozen=True)
class Estimate:
    """What a session would cost on a provider: price per hour times its time limit."""

    provider: str
    machine: str
    per_hour: float
    hours: float
    total: float
    source: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_of(provider: str, machine: str, per_hour: float, session, source: str) -> Estimate:
    hours = session.training.time_limit_minutes / 60.0
    return Estimate(provider, machine, per_hour, hours, round(per_hour * hours, 4), source)


def own_machine(provider: str, session) -> Estimate:
    """The estimate of a machine the user already has (local, ssh): nothing to rent."""
    return estimate_of(provider, "your own machine", 0.0, session, "your own machine")


def orphan(provider: str, id: str, where: str, state: str, run: str | None,
           per_hour: float | None, launched: float | str | None = None):
    """An instance that bills with no active run behind it, as the sweep reports it."""
    from drtui.backends.sweep import Orphan

    if isinstance(launched, (int, float)):
        launched = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(launched))
    return Orphan(provider=provider, id=id, where=where, state=state,
                  launched=launched or "", run_id=run or "", per_hour=per_hour)


@contextmanager
def skipped_unless_set_up():
    """A provider that is not installed or logged in here has nothing to sweep: say so."""
    from drtui.backends.sweep import Skipped

    try:
        yield
    except (ToolMissing, NotAuthorized) as exc:
        raise Skipped(str(exc)) from None


def mark_released(workspace: Path | None, found, key: str) -> None:
    """After an orphan's machine was deleted: its run, if its folder is still there and
    it recorded this very machine, knows."""
    run = run_owning(key, found.id, workspace, found.run_id, None)
    if run is not None:
        run.update(released=True, **{key: {**run.state[key], "deleted": time.time()}})


def run_owning(key: str, instance_id: str, workspace: Path | None, run_id: str | None,
               run_path: str | None):
    """The run that recorded this instance under run.state[key]: by id in the workspace,
    else at the folder a ledger noted (a run of another workspace); None if neither holds
    it any more (deleted folder, or the run moved on to another instance)."""
    from drtui.runstore import store

    paths = []
    if workspace is not None and run_id:
        paths.append(store.runs_dir(Path(workspace)) / run_id)
    if run_path:
        paths.append(Path(run_path))
    for path in paths:
        try:
            run = store.load(path)
        except (OSError, ValueError):
            continue
        if str((run.state.get(key) or {}).get("id")) == str(instance_id):
            return run
    return None


def owner_of(workspace: Path, key: str) -> dict[str, str]:
    """instance id -> run id for every run that ever recorded an instance under `key`."""
    from drtui.runstore import store

    return {str(r.state[key]["id"]): r.id for r in store.list_runs(workspace)
            if isinstance(r.state.get(key), dict) and r.state[key].get("id")}
