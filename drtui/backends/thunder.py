"""Thunder Compute: a GPU instance made through its REST API (or the `tnr` CLI), reached over
SSH with a key the API issues.

- REST: base $DRTUI_THUNDER_API, else $TNR_API_URL, else https://api.thundercompute.com:8443;
  `Authorization: Bearer $TNR_API_TOKEN`. The token is read from the environment when a
  request is made and goes nowhere else: not into run.state, logs, errors or files.
  401 means the token was rejected: a clear error, exit 2.
- Without TNR_API_TOKEN, a logged-in `tnr` on PATH (or at $DRTUI_TNR) is driven instead:
  `tnr --json create|status|connect|delete`, where connect reports tnr's own key file.
- create: POST /v1/instances/create {mode, gpu_type, num_gpus, cpu_cores, template,
  disk_size_gb} -> {uuid, key, identifier}; the list (GET /v1/instances/list, a map id ->
  instance) is polled until RUNNING with an ip. POST /v1/instances/{id}/add_key returns a
  private key, saved 0600 in drtui's state folder (never the workspace). Failure or a time
  limit deletes the instance.
- Thunder has no stop worth using (and no tags): release deletes, and every instance drtui
  creates goes into a ledger in the state folder, which is how sweep finds forgotten ones.
- price: GET /v1/pricing {"pricing": {"<gpu>_x<n>_<mode>": $/h, "additional_vcpus",
  "disk_gb", ...}}, the same sum `tnr create` shows.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from drtui.backends.base import Host
from drtui.backends.cloud import (
    NotAuthorized,
    ProviderError,
    estimate_of,
    find_tool,
    forget_host,
    known_hosts_for,
    orphan,
    run_owning,
    run_tool,
    skipped_unless_set_up,
)
from drtui.backends.rented import RentedInstance
from drtui.runstore.store import ACTIVE, Run

NAME = "thunder-compute"
KEY = "thunder"  # the run.state key
DEFAULT_API = "https://api.thundercompute.com:8443"
INCLUDED_VCPUS = 4
INCLUDED_DISK_GB = 100
_FAILED = ("STOPPED", "STOPPING")


def api_base() -> str:
    return (os.environ.get("DRTUI_THUNDER_API") or os.environ.get("TNR_API_URL")
            or DEFAULT_API).rstrip("/")


def gpu_type(settings) -> str:
    """The API's name for the GPU: tnr accepts `a100` for `a100xl`, and so does drtui."""
    gpu = settings.gpu.lower()
    return {"a100": "a100xl"}.get(gpu, gpu)


def hourly_price(pricing: dict[str, float], settings) -> float | None:
    """$/h of an instance as `tnr create` computes it: the GPU rate for the mode and count,
    plus vCPUs beyond the included 4 and primary disk beyond 100 GB."""
    rate = pricing.get(f"{gpu_type(settings)}_x{settings.num_gpus}_{settings.mode}")
    if rate is None:
        return None
    extra_cpu = 0.0
    if settings.mode == "prototyping":  # production sizes the vCPUs with the GPUs
        extra_cpu = max(0, settings.vcpus - INCLUDED_VCPUS) * pricing.get("additional_vcpus", 0.0)
    extra_disk = max(0, settings.disk_gb - INCLUDED_DISK_GB) * pricing.get("disk_gb", 0.0)
    return round(rate + extra_cpu + extra_disk, 6)


class RestApi:
    """The Thunder Compute REST API over urllib (run in a thread: no extra dependency)."""

    def __init__(self, base: str, timeout: float = 30.0):
        self.base, self.timeout = base, timeout

    def _token(self) -> str:
        return os.environ.get("TNR_API_TOKEN", "")

    async def request(self, method: str, path: str, body: dict | None = None, *,
                      auth: bool = True) -> Any:
        return await asyncio.to_thread(self._request, method, path, body, auth)

    def _request(self, method: str, path: str, body: dict | None, auth: bool) -> Any:
        import urllib.error
        import urllib.request

        token = self._token()
        headers = {"Content-Type": "application/json", "Thunder-Client": "drtui"}
        if auth and token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = _scrub(_message(exc.read()), token)
            if exc.code == 401:
                raise NotAuthorized("TNR_API_TOKEN rejected by Thunder Compute (401): create "
                                    "a new token in the console (Settings > API tokens) and "
                                    "export it as TNR_API_TOKEN") from None
            raise ProviderError(f"Thunder Compute {method} {path.split('?')[0]}: HTTP "
                                f"{exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ProviderError(f"cannot reach the Thunder Compute API at {self.base}: "
                                f"{_scrub(str(reason), token)}") from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise ProviderError(f"Thunder Compute {method} {path}: not JSON: "
                                f"{_scrub(raw[:200].decode(errors='replace'), token)}") from None

    async def create(self, settings) -> tuple[str, str]:
        reply = await self.request("POST", "/v1/instances/create", {
            "mode": settings.mode, "gpu_type": gpu_type(settings), "num_gpus": settings.num_gpus,
            "cpu_cores": settings.vcpus, "template": settings.template,
            "disk_size_gb": settings.disk_gb})
        return str(reply["identifier"]), str(reply.get("uuid") or "")

    async def instances(self) -> dict[str, dict[str, Any]]:
        reply = await self.request("GET", "/v1/instances/list") or {}
        return {str(k): v for k, v in reply.items()}

    async def delete(self, instance_id: str) -> None:
        try:
            await self.request("POST", f"/v1/instances/{instance_id}/delete")
        except ProviderError as exc:
            if "HTTP 404" not in str(exc):
                raise

    async def ssh_key(self, instance_id: str, uuid: str) -> str:
        """A fresh server-issued private key, saved 0600 in the state folder; its path."""
        from drtui.backends.statedir import state_dir, write_private

        reply = await self.request("POST", f"/v1/instances/{instance_id}/add_key") or {}
        key = reply.get("key")
        if not key:
            raise ProviderError(f"Thunder Compute issued no SSH key for instance {instance_id}"
                                f": {reply.get('message') or 'empty reply'}")
        path = state_dir() / "keys" / f"thunder-{uuid or instance_id}"
        write_private(path, key if key.endswith("\n") else key + "\n")
        return str(path)

    async def pricing(self) -> dict[str, float]:
        reply = await self.request("GET", "/v1/pricing") or {}
        return {k: float(v) for k, v in (reply.get("pricing") or {}).items()}


class TnrCli:
    """The same operations through a logged-in `tnr` (no token in drtui's environment)."""

    def __init__(self, tool: str, timeout: float = 180.0):
        self.tool, self.timeout = tool, timeout

    async def _tnr(self, *args: str) -> Any:
        result = await run_tool([self.tool, "--json", *args], timeout=self.timeout)
        said = f"{result.stdout}\n{result.stderr}".lower()
        if result.returncode != 0:
            if "tnr login" in said or "not authenticated" in said or "invalid token" in said:
                raise NotAuthorized("tnr is not logged in and TNR_API_TOKEN is not set: run "
                                    "`tnr login`, or export TNR_API_TOKEN")
            raise ProviderError(f"`tnr {args[0]}` failed (exit {result.returncode}): "
                                f"{_last_line(result.stderr or result.stdout)}")
        return _last_json(result.stdout, f"tnr {args[0]}")

    async def create(self, settings) -> tuple[str, str]:
        reply = await self._tnr("create", "--mode", settings.mode, "--gpu", gpu_type(settings),
                                "--num-gpus", str(settings.num_gpus), "--vcpus",
                                str(settings.vcpus), "--template", settings.template,
                                "--primary-disk", str(settings.disk_gb))
        return str(reply["identifier"]), str(reply.get("uuid") or "")

    async def instances(self) -> dict[str, dict[str, Any]]:
        return {str(i.get("id")): i for i in await self._tnr("status", "--no-wait") or []}

    async def delete(self, instance_id: str) -> None:
        try:
            await self._tnr("delete", instance_id, "--yes")
        except ProviderError as exc:
            if "not found" not in str(exc):
                raise

    async def ssh_key(self, instance_id: str, uuid: str) -> str:
        reply = await self._tnr("connect", instance_id)  # with --json: details, no session
        if not reply.get("key_file"):
            raise ProviderError(f"`tnr connect {instance_id}` reported no key file")
        return str(reply["key_file"])

    async def pricing(self) -> dict[str, float]:
        return await RestApi(api_base()).pricing()  # public; tnr has no price command


class ThunderProvider(RentedInstance):
    name, KEY, TABLE = NAME, KEY, "thunder_compute"
    TITLE, DELETE_HINT = "Thunder Compute instance", "`tnr delete {label}`"

    def __init__(self, *, poll: float = 2.0, max_poll: float = 15.0,
                 ready_timeout: float | None = None):
        super().__init__(poll=poll, max_poll=max_poll, ready_timeout=ready_timeout)

    def client(self) -> RestApi | TnrCli:
        if os.environ.get("TNR_API_TOKEN"):
            return RestApi(api_base())
        tool = find_tool("tnr", "DRTUI_TNR")
        if tool:
            return TnrCli(tool)
        raise NotAuthorized("Thunder Compute needs TNR_API_TOKEN in the environment (create "
                            "a token in the console) or a logged-in `tnr` CLI on PATH")

    async def acquire(self, run: Run, *, create: bool = True) -> Host:
        self.client()  # no token and no tnr: said before anything else
        return await super().acquire(run, create=create)

    # -- RentedInstance --------------------------------------------------------------------
    async def lookup(self, instance_id: str) -> dict[str, Any] | None:
        return (await self.client().instances()).get(instance_id)

    def ready(self, inst: dict[str, Any]) -> bool:
        return _ready(inst)

    def dead(self, inst: dict[str, Any]) -> bool:
        return self.status(inst) in _FAILED

    async def plan(self, run: Run, settings) -> dict[str, Any]:
        per_hour = None
        try:
            per_hour = hourly_price(await self.client().pricing(), settings)
        except ProviderError:
            pass  # the price is for the meter; the instance is what the user asked for
        return {"gpu": settings.gpu, "num_gpus": settings.num_gpus, "mode": settings.mode,
                "per_hour": per_hour, "requested": time.time()}

    async def make(self, run: Run, settings, record: dict[str, Any]) -> str:
        instance_id, uuid = await self.client().create(settings)
        record.update(id=instance_id, uuid=uuid, created=time.time())
        self.ledger().add(instance_id, uuid=uuid, run=run.id, run_path=str(run.path),
                          per_hour=record["per_hour"], created=time.time())
        run.update(**{KEY: record})
        return instance_id

    async def ssh_target(self, run: Run, inst: dict[str, Any], record: dict[str, Any]):
        from drtui.backends.ssh import SshTarget

        instance_id = record["id"]
        key_file = record.get("key_file")
        if not key_file or not Path(key_file).is_file():
            key_file = await self.client().ssh_key(instance_id, record.get("uuid") or "")
        known, learn = known_hosts_for(NAME, instance_id)
        target = SshTarget(str(inst["ip"]), int(inst.get("port") or 22), "ubuntu", key_file,
                           known_hosts=known, accept_new=learn)
        return target, {"host": target.host, "port": target.port, "user": target.user}, \
            {"key_file": key_file}

    async def delete(self, instance_id: str, record: dict[str, Any] | None = None) -> None:
        await self.client().delete(instance_id)
        self.ledger().remove(instance_id)
        forget_host(NAME, instance_id)

    def deleted(self, record: dict[str, Any]) -> None:
        key_file = record.get("key_file")
        if key_file and _is_ours(Path(key_file)):
            Path(key_file).unlink(missing_ok=True)  # the instance is gone: so is its key's use

    async def estimate(self, session):
        settings = session.backend.thunder_compute
        pricing = await RestApi(api_base()).pricing()  # sends the token only if there is one
        per_hour = hourly_price(pricing, settings)
        if per_hour is None:
            known = sorted(k for k in pricing if "_x" in k)
            raise ProviderError(f"Thunder Compute has no price for {settings.gpu} x"
                                f"{settings.num_gpus} in {settings.mode} mode "
                                f"(backend.thunder_compute.gpu); priced: {', '.join(known)}")
        machine = f"{settings.gpu} x{settings.num_gpus} {settings.mode}, {settings.vcpus} vCPU"
        return estimate_of(NAME, machine, per_hour, session, "GET /v1/pricing")

    async def sweep(self, workspace: Path | None = None) -> list:
        """Instances in drtui's ledger whose run is no longer starting/running/stopping.
        Entries for instances Thunder no longer lists are dropped from the ledger."""
        ledger = self.ledger()
        entries = ledger.entries()
        if not entries:
            return []
        with skipped_unless_set_up():
            live = await self.client().instances()
        found = []
        for instance_id, entry in sorted(entries.items()):
            inst = live.get(instance_id)
            if inst is None:
                ledger.remove(instance_id)
                continue
            owner = run_owning(KEY, instance_id, workspace, entry.get("run"),
                               entry.get("run_path"))
            if owner is not None and owner.status in ACTIVE:
                continue
            where = (f"{inst.get('gpuType') or '?'} x{inst.get('numGpus') or '?'} "
                     f"{inst.get('mode') or ''} {inst.get('ip') or ''}").strip()
            found.append(orphan(NAME, instance_id, where, str(inst.get("status")),
                                entry.get("run"), entry.get("per_hour"),
                                inst.get("createdAt") or entry.get("created")))
        return found


def _ready(inst: dict[str, Any]) -> bool:
    return str(inst.get("status")).upper() == "RUNNING" and bool(inst.get("ip"))


def _is_ours(path: Path) -> bool:
    from drtui.backends.statedir import state_dir

    try:
        path.resolve().relative_to(state_dir().resolve())
    except ValueError:
        return False  # tnr's own key: tnr removes it
    return True


def _message(raw: bytes) -> str:
    try:
        data = json.loads(raw)
        if isinstance(data, dict) and data.get("message"):
            return str(data["message"])
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    return raw[:200].decode(errors="replace").strip() or "(empty reply)"


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def _last_json(text: str, what: str) -> Any:
    """The JSON document at the end of a CLI's output (tnr prints notes before it)."""
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "[{":
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                continue
            if not text[end:].strip():
                return value
    raise ProviderError(f"`{what}` printed no JSON: {_last_line(text)}")
