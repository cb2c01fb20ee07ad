"""NVIDIA Brev: a GPU instance made and deleted through the `brev` CLI, reached over SSH.

- The CLI is found on PATH or at $DRTUI_BREV. drtui never passes a token to it: the user logs
  in once with `brev login` (or `brev login --api-key ... --org-id ...` on a headless box).
- create: `brev create <name> --type <type> --detached`, then `brev ls --json` is polled until
  the instance is RUNNING with its build COMPLETED (shell READY). FAILURE, CREATE_FAILED, a
  stop or a lasting UNHEALTHY, or the time limit, deletes it and says why.
- SSH: `brev refresh` writes ~/.brev/ssh_config with a `Host <name>` block (and `<name>-host`
  for the VM); drtui reads HostName/Port/User/IdentityFile from it. Blocks that only work
  through a cloudflared ProxyCommand are refused with a clear message.
- release is `brev delete`, never `brev stop`: a stopped instance keeps billing its disk.
- price: `price_per_hour` of the instance type in `brev search --json`.
The run's state keeps {"brev": {id, name, type, per_hour, ...}}; sweep lists `drtui-*`
instances (and any recorded by a run) that no active run owns.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

from drtui.backends.base import Host, HostUnreachable, Provider
from drtui.backends.cloud import (
    InstanceGone,
    NotAuthorized,
    ProviderError,
    ToolMissing,
    estimate_of,
    find_tool,
    forget_host,
    instance_name,
    known_hosts_for,
    mark_released,
    orphan,
    owner_of,
    recorded_hourly_cost,
    run_owning,
    run_tool,
    session_of,
    skipped_unless_set_up,
)
from drtui.runstore.store import ACTIVE, Run

NAME = "nvidia-brev"
KEY = "brev"  # the run.state key
PREFIX = "drtui-"
_LOGIN_HINTS = ("logged out", "log in", "login", "credentials file not found",
                "not authenticated", "unauthorized")
_GONE_HINTS = ("not found", "no workspace", "no instance")
_DEAD = ("FAILURE", "STOPPED", "STOPPING", "DELETING")


class BrevProvider(Provider):
    name = NAME

    def __init__(self, *, poll: float = 1.0, max_poll: float = 10.0,
                 ready_timeout: float | None = None, unhealthy_polls: int = 3,
                 cli_timeout: float = 120.0):
        self.poll, self.max_poll = poll, max_poll
        self.ready_timeout = ready_timeout
        self.unhealthy_polls = unhealthy_polls
        self.cli_timeout = cli_timeout

    # -- the CLI ---------------------------------------------------------------------------
    def _tool(self) -> str:
        tool = find_tool("brev", "DRTUI_BREV")
        if tool is None:
            raise ToolMissing("the brev CLI was not found on PATH or at $DRTUI_BREV (install "
                              "it from https://docs.nvidia.com/brev, or set DRTUI_BREV to "
                              "its path)")
        return tool

    async def _brev(self, *args: str, check: bool = True):
        result = await run_tool([self._tool(), *args], timeout=self.cli_timeout)
        said = f"{result.stdout}\n{result.stderr}".lower()
        if result.returncode != 0 and any(h in said for h in _LOGIN_HINTS):
            raise NotAuthorized("brev is not logged in: run `brev login` (or `brev login "
                                "--api-key <key> --org-id <org>` on a machine without a "
                                "browser), then try again")
        if check and result.returncode != 0:
            raise ProviderError(f"`brev {args[0]}` failed (exit {result.returncode}): "
                                f"{_last_line(result.stderr or result.stdout)}")
        return result

    async def instances(self) -> list[dict[str, Any]]:
        result = await self._brev("ls", "--json")
        try:
            data = json.loads(result.stdout)
        except json.JSONDecodeError:
            raise ProviderError("`brev ls --json` did not print JSON: "
                                f"{_last_line(result.stdout)}") from None
        return list((data or {}).get("workspaces") or [])  # Go writes an empty list as null

    async def _find(self, *, id: str | None = None, name: str | None = None
                    ) -> dict[str, Any] | None:
        for ws in await self.instances():
            if (id and ws.get("id") == id) or (not id and name and ws.get("name") == name):
                return ws
        return None

    async def price(self, instance_type: str) -> float | None:
        """$/h of the first type in a fallback chain, from `brev search --json`."""
        first = instance_type.split(",")[0].strip()
        result = await self._brev("search", "--json")
        try:
            offers = json.loads(result.stdout) or []
        except json.JSONDecodeError:
            return None
        prices = [float(o["price_per_hour"]) for o in offers
                  if o.get("type") == first and o.get("price_per_hour") is not None]
        return min(prices) if prices else None

    # -- Provider --------------------------------------------------------------------------
    async def acquire(self, run: Run, *, create: bool = True) -> Host:
        settings = session_of(run).backend.nvidia_brev
        record = dict(run.state.get(KEY) or {})
        ws = None
        if record.get("id") and not record.get("deleted"):
            ws = await self._find(id=record["id"])
        if ws is not None:
            status = _status(ws)
            if _usable(ws) or (status == "UNHEALTHY" and ws.get("build_status") == "COMPLETED"):
                # UNHEALTHY is Brev's health check: SSH may well work, and training go on
                return await self._host(run, ws, record)
            if status not in _DEAD:  # still starting: wait, or let the caller retry
                if not create:
                    raise HostUnreachable(f"run {run.id}: Brev instance {record['name']} is "
                                          f"{status}; try again shortly")
                limit = self.ready_timeout or settings.ready_timeout_minutes * 60.0
                return await self._host(run, await self._wait_ready(
                    record["id"], record["name"], limit), record)
            if not create:
                raise InstanceGone(f"run {run.id}: Brev instance {record['name']} is "
                                   f"{status}, not running")
            await self._delete(record["id"], record.get("name"))  # replace it, not pay twice
        if not create:
            raise InstanceGone(f"run {run.id} has no Brev instance any more "
                               f"({record.get('name') or 'none was created'}); "
                               "start the run again to create one")
        return await self._create(run, settings)

    @staticmethod
    def ledger():
        from drtui.backends.statedir import Ledger

        return Ledger(NAME)

    async def _create(self, run: Run, settings) -> Host:
        name = settings.workspace_name or instance_name(run.id, run.path)
        taken = await self._find(name=name)
        if taken is not None and _status(taken) != "DELETING":  # never adopt or delete theirs
            raise ProviderError(f"a Brev instance named {name} already exists: set another "
                                "backend.nvidia_brev.workspace_name, or delete it with "
                                f"`brev delete {name}`")
        per_hour = None
        try:
            per_hour = await self.price(settings.instance_type)
        except ProviderError:
            pass  # a price is nice to have; the instance is what the user asked for
        record = {"name": name, "type": settings.instance_type, "per_hour": per_hour,
                  "requested": time.time()}
        # before create: a crash in between still leaves a trace for the sweep
        run.update(**{KEY: record})
        self.ledger().add(name, run=run.id, run_path=str(run.path), per_hour=per_hour)
        ws = None
        try:
            result = await self._brev("create", name, "--type", settings.instance_type,
                                      "--detached", check=False)
            ws = await self._find(name=name)
            if result.returncode != 0:
                raise ProviderError(f"`brev create {name}` failed (exit {result.returncode}): "
                                    f"{_last_line(result.stderr or result.stdout)}")
            if ws is None:
                raise ProviderError(f"`brev create {name}` succeeded but `brev ls` does not "
                                    "list the instance")
            record.update(id=ws["id"], created=time.time())
            run.update(**{KEY: record})
            self.ledger().add(name, id=ws["id"], created=record["created"])
            limit = self.ready_timeout or settings.ready_timeout_minutes * 60.0
            ws = await self._wait_ready(ws["id"], name, limit)
            return await self._host(run, ws, record)
        except BaseException as exc:
            cleanup = await asyncio.shield(self._cleanup(run, record, ws))
            if isinstance(exc, ProviderError) and cleanup:
                raise ProviderError(f"{exc}; {cleanup}") from None
            raise

    async def _cleanup(self, run: Run, record: dict, ws: dict | None) -> str:
        """Delete whatever a failed create left behind (it did not exist before: checked);
        say what happened to it."""
        name = record["name"]
        target = (ws or {}).get("id") or record.get("id")
        if target is None:
            try:
                found = await self._find(name=name)
            except Exception:  # noqa: BLE001 - the original failure is the one to report
                found = None
            target = found and found.get("id")
        if target is None:
            self.ledger().remove(name)
            return ""
        try:
            await self._delete(target, name)
        except Exception as exc:  # noqa: BLE001
            return (f"could not delete instance {name} ({exc}): delete it with "
                    f"`brev delete {name}`, it bills until then")
        run.update(**{KEY: {**record, "id": target, "deleted": time.time()}})
        return f"instance {name} was deleted"

    async def _wait_ready(self, ws_id: str, name: str, limit: float) -> dict[str, Any]:
        deadline = time.monotonic() + limit
        delay, unhealthy, ws = self.poll, 0, None
        while True:
            ws = await self._find(id=ws_id)
            if ws is None:
                raise ProviderError(f"Brev instance {name} disappeared while starting")
            status = _status(ws)
            if status in _DEAD or ws.get("build_status") == "CREATE_FAILED":
                raise ProviderError(f"Brev instance {name} failed to start: status {status}, "
                                    f"build {ws.get('build_status') or '?'}")
            unhealthy = unhealthy + 1 if status == "UNHEALTHY" else 0
            if unhealthy >= self.unhealthy_polls:
                raise ProviderError(f"Brev instance {name} stays UNHEALTHY (the known Brev "
                                    "lock-out, brev-cli issue 448)")
            if _usable(ws):
                return ws
            if time.monotonic() >= deadline:
                raise ProviderError(f"Brev instance {name} was not ready after {limit:.0f} s "
                                    f"(status {status}, build {ws.get('build_status') or '?'})")
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, self.max_poll)

    async def _host(self, run: Run, ws: dict[str, Any], record: dict) -> Host:
        from drtui.backends.ssh import SshHost, SshTarget

        await self._brev("refresh")
        entry = _ssh_entry(ssh_config_path(), ws["name"])
        known, learn = known_hosts_for(NAME, ws["id"])
        target = SshTarget(entry["hostname"], int(entry.get("port", 22)), entry.get("user"),
                           entry.get("identityfile"), known_hosts=known, accept_new=learn)
        host = SshHost(target)
        ssh = {"host": target.host, "port": target.port, "user": target.user,
               "alias": entry["alias"]}
        if record.get("ssh") != ssh or record.get("id") != ws["id"]:
            settings = session_of(run).backend.nvidia_brev
            record = {**record, "id": ws["id"], "name": ws["name"], "ssh": ssh}
            # where the embedded runner works on the instance, as the ssh provider records it
            run.update(host=host.name, workdir=settings.workdir, python=settings.python,
                       pip_install=settings.pip_install, **{KEY: record})
        return host

    async def _delete(self, ws_id: str, name: str | None = None) -> None:
        result = await self._brev("delete", ws_id, check=False)
        said = f"{result.stdout}\n{result.stderr}".lower()
        if result.returncode != 0 and not any(h in said for h in _GONE_HINTS):
            raise ProviderError(f"`brev delete {ws_id}` failed (exit {result.returncode}): "
                                f"{_last_line(result.stderr or result.stdout)}")
        forget_host(NAME, ws_id)
        ledger = self.ledger()
        for key, entry in ledger.entries().items():
            if key == name or entry.get("id") == ws_id:
                ledger.remove(key)

    async def release(self, run: Run) -> None:
        record = dict(run.state.get(KEY) or {})
        if not record.get("id") or record.get("deleted"):
            return
        await self._delete(record["id"], record.get("name"))
        run.update(**{KEY: {**record, "deleted": time.time()}})

    def hourly_cost(self, run: Run) -> float:
        return recorded_hourly_cost(run, KEY)

    async def estimate(self, session):
        settings = session.backend.nvidia_brev
        per_hour = await self.price(settings.instance_type)
        if per_hour is None:
            raise ProviderError(f"`brev search --json` lists no instance type "
                                f"{settings.instance_type!r} (backend.nvidia_brev.instance_type)")
        return estimate_of(NAME, settings.instance_type, per_hour, session,
                           "brev search --json (price_per_hour)")

    async def sweep(self, workspace: Path) -> list:
        """Instances drtui made (in its ledger, recorded by a run of the workspace, or named
        drtui-*) that no active run (starting, running, stopping) owns: they bill for
        nothing. A run in another workspace is found through the ledger's run folder."""
        with skipped_unless_set_up():
            listed = await self.instances()
        ledger = self.ledger().entries()
        by_id = {str(e["id"]): e for e in ledger.values() if e.get("id")}
        owners = owner_of(workspace, KEY)
        prices: dict[str, float | None] = {}
        found = []
        for ws in listed:
            ws_id, name, status = str(ws.get("id")), str(ws.get("name") or ""), _status(ws)
            entry = by_id.get(ws_id) or ledger.get(name) or {}
            ours = entry or ws_id in owners or name.startswith(PREFIX)
            if not ours or status == "DELETING":
                continue
            run = run_owning(KEY, ws_id, workspace, owners.get(ws_id), entry.get("run_path"))
            if run is not None and run.status in ACTIVE:
                continue
            kind = ws.get("instance_type") or ""
            if kind not in prices:
                try:
                    prices[kind] = await self.price(kind) if kind else None
                except ProviderError:
                    prices[kind] = None
            launched = (run.state[KEY].get("created") if run is not None
                        else entry.get("created"))
            found.append(orphan(NAME, ws_id, f"{name} ({kind or '?'})", status,
                                run.id if run is not None else entry.get("run"),
                                prices[kind], launched))
        return found

    async def terminate(self, found, workspace: Path | None = None) -> None:
        """Delete an orphan the sweep found; its run, if still there, is marked released."""
        await self._delete(found.id)
        mark_released(workspace, found, KEY)



def _status(ws: dict[str, Any]) -> str:
    return str(ws.get("status") or "UNKNOWN").upper()


def _usable(ws: dict[str, Any]) -> bool:
    return _status(ws) == "RUNNING" and (ws.get("shell_status") or "").upper() == "READY"


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def ssh_config_path() -> Path:
    return Path.home() / ".brev" / "ssh_config"


def _ssh_entry(path: Path, name: str) -> dict[str, str]:
    """The direct-SSH block for an instance: `<name>`, else `<name>-host` (the VM)."""
    try:
        blocks = _parse_ssh_config(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProviderError(f"`brev refresh` wrote no {path}; run `brev refresh` and check "
                            "`brev ls`") from None
    proxied = []
    for alias in (name, f"{name}-host"):
        entry = blocks.get(alias)
        if entry is None:
            continue
        if "proxycommand" in entry or "hostname" not in entry:
            proxied.append(alias)
            continue
        return {**entry, "alias": alias}
    if proxied:
        raise ProviderError(f"Brev instance {name} is reachable only through a ProxyCommand "
                            f"({', '.join(proxied)} in {path}), which drtui's SSH does not "
                            "run; choose an instance type with direct SSH")
    raise ProviderError(f"no `Host {name}` entry in {path} after `brev refresh`")


def _parse_ssh_config(text: str) -> dict[str, dict[str, str]]:
    blocks: dict[str, dict[str, str]] = {}
    current: list[dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = re.split(r"(\s+|=)", line, maxsplit=1) if re.search(r"[\s=]", line) \
            else (line, "", "")
        key, value = key.lower(), value.strip().strip("=").strip().strip('"')
        if key == "host":
            current = []
            for alias in value.split():
                current.append(blocks.setdefault(alias, {}))
        else:
            for block in current:
                block.setdefault(key, value)
    return blocks
