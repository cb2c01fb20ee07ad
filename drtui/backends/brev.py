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

import json
import re
import time
from pathlib import Path
from typing import Any

from drtui.backends.cloud import (
    NotAuthorized,
    ProviderError,
    ToolMissing,
    estimate_of,
    find_tool,
    forget_host,
    instance_name,
    known_hosts_for,
    orphan,
    owner_of,
    run_owning,
    run_tool,
    skipped_unless_set_up,
)
from drtui.backends.rented import RentedInstance
from drtui.runstore.store import ACTIVE, Run

NAME = "nvidia-brev"
KEY = "brev"  # the run.state key
PREFIX = "drtui-"
_LOGIN_HINTS = ("logged out", "log in", "login", "credentials file not found",
                "not authenticated", "unauthorized")
_GONE_HINTS = ("not found", "no workspace", "no instance")
_DEAD = ("FAILURE", "STOPPED", "STOPPING", "DELETING")


class BrevProvider(RentedInstance):
    name, KEY, TABLE = NAME, KEY, "nvidia_brev"
    TITLE, DELETE_HINT = "Brev instance", "`brev delete {label}`"

    def __init__(self, *, poll: float = 1.0, max_poll: float = 10.0,
                 ready_timeout: float | None = None, unhealthy_polls: int = 3,
                 cli_timeout: float = 120.0):
        super().__init__(poll=poll, max_poll=max_poll, ready_timeout=ready_timeout)
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

    # -- RentedInstance --------------------------------------------------------------------
    async def lookup(self, instance_id: str) -> dict[str, Any] | None:
        return await self._find(id=instance_id)

    def ready(self, inst: dict[str, Any]) -> bool:
        return _usable(inst)

    def reusable(self, inst: dict[str, Any]) -> bool:
        # UNHEALTHY is Brev's health check: SSH may well work, and training go on
        return _usable(inst) or (_status(inst) == "UNHEALTHY"
                                 and inst.get("build_status") == "COMPLETED")

    def dead(self, inst: dict[str, Any]) -> bool:
        return _status(inst) in _DEAD

    def describe(self, inst: dict[str, Any]) -> str:
        return f"status {_status(inst)}, build {inst.get('build_status') or '?'}"

    def start_check(self, label: str):
        unhealthy = 0

        def check(ws: dict[str, Any]) -> None:
            nonlocal unhealthy
            if self.dead(ws) or ws.get("build_status") == "CREATE_FAILED":
                raise ProviderError(f"Brev instance {label} failed to start: "
                                    f"{self.describe(ws)}")
            unhealthy = unhealthy + 1 if _status(ws) == "UNHEALTHY" else 0
            if unhealthy >= self.unhealthy_polls:
                raise ProviderError(f"Brev instance {label} stays UNHEALTHY (the known Brev "
                                    "lock-out, brev-cli issue 448)")
        return check

    async def plan(self, run: Run, settings) -> dict[str, Any]:
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
        self.ledger().add(name, run=run.id, run_path=str(run.path), per_hour=per_hour)
        return {"name": name, "type": settings.instance_type, "per_hour": per_hour,
                "requested": time.time()}

    async def make(self, run: Run, settings, record: dict[str, Any]) -> str:
        name = record["name"]
        result = await self._brev("create", name, "--type", settings.instance_type,
                                  "--detached", check=False)
        ws = await self._find(name=name)
        if ws is not None:
            record["id"] = ws["id"]  # made, even if brev says otherwise: deleted on failure
        if result.returncode != 0:
            raise ProviderError(f"`brev create {name}` failed (exit {result.returncode}): "
                                f"{_last_line(result.stderr or result.stdout)}")
        if ws is None:
            raise ProviderError(f"`brev create {name}` succeeded but `brev ls` does not "
                                "list the instance")
        record.update(created=time.time())
        run.update(**{KEY: record})
        self.ledger().add(name, id=ws["id"], created=record["created"])
        return str(ws["id"])

    async def leftover(self, record: dict[str, Any]) -> str | None:
        found = await self._find(name=record["name"])
        return found.get("id") if found else None

    def forget(self, record: dict[str, Any]) -> None:
        self.ledger().remove(record["name"])

    async def ssh_target(self, run: Run, inst: dict[str, Any], record: dict[str, Any]):
        from drtui.backends.ssh import SshTarget

        await self._brev("refresh")
        entry = _ssh_entry(ssh_config_path(), inst["name"])
        known, learn = known_hosts_for(NAME, inst["id"])
        target = SshTarget(entry["hostname"], int(entry.get("port", 22)), entry.get("user"),
                           entry.get("identityfile"), known_hosts=known, accept_new=learn)
        ssh = {"host": target.host, "port": target.port, "user": target.user,
               "alias": entry["alias"]}
        return target, ssh, {"id": inst["id"], "name": inst["name"]}

    async def delete(self, instance_id: str, record: dict[str, Any] | None = None) -> None:
        name = (record or {}).get("name")
        result = await self._brev("delete", instance_id, check=False)
        said = f"{result.stdout}\n{result.stderr}".lower()
        if result.returncode != 0 and not any(h in said for h in _GONE_HINTS):
            raise ProviderError(f"`brev delete {instance_id}` failed (exit "
                                f"{result.returncode}): "
                                f"{_last_line(result.stderr or result.stdout)}")
        forget_host(NAME, instance_id)
        ledger = self.ledger()
        for key, entry in ledger.entries().items():
            if key == name or entry.get("id") == instance_id:
                ledger.remove(key)

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
