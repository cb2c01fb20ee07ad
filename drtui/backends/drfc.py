"""deepracer-for-cloud (DRfC) as a runner, on this machine or any SSH host with DRfC installed.

launch: the run's files go where DRfC reads them (custom_files/*, run.env, system.env,
worker-N.env in the DRfC folder), then ONE bash login shell runs
`source bin/activate.sh && dr-upload-custom-files && dr-start-training -q -w`. Resume trains a
new model prefix from the last one, as DRfC users do with dr-increment-training:
DR_LOCAL_S3_PRETRAINED=True, DR_LOCAL_S3_PRETRAINED_PREFIX=<old>, model prefix <old>-1, -2...

follow: a detached collector (drtui/assets/drfc/collect.sh) appends the robomaker container's
`docker logs -f` and, once SageMaker's container appears, its log to ONE file on the host,
each line tagged `[robomaker] ` or `[sagemaker] `. drtui reads that file by byte offset, so a
dropped connection or a restarted drtui resumes with no line lost or repeated; a collector
killed (even with -9) is restarted by the next follow/alive and skips what it already copied.

stop: `dr-upload-model -b -f` first (the best checkpoint is saved), then `dr-stop-training`.
No credential is ever written to the host: DRfC uses the host's own AWS profiles.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

from drtui.backends.base import Host, HostUnreachable, Runner
from drtui.backends.local import LocalHost
from drtui.errors import DrtuiError
from drtui.events import Event
from drtui.files import envfile
from drtui.fsio import atomic_write
from drtui.logs.parser import LogParser
from drtui.runstore.store import Run

SOURCES = ("robomaker", "sagemaker")
LAUNCH = "source bin/activate.sh && dr-upload-custom-files && dr-start-training -q -w"
# the model is saved before training ends, whether or not the upload worked
STOP = ("source bin/activate.sh && { dr-upload-model -b -f; up=$?; dr-stop-training; st=$?; "
        "echo \"drtui: dr-upload-model exit $up, dr-stop-training exit $st\"; "
        "[ $st -eq 0 ]; }")
# $1: the collector script; $2..: process groups. Kills each group that runs the script and
# prints its number.
_KILL_GROUPS = """s=$1; shift
for g in "$@"; do
  if ps -e -o pgid=,args= | awk -v g="$g" -v s="$s" '$1 == g && index($0, s) {f = 1}
                                                    END {exit !f}'; then
    kill -9 -- "-$g" 2>/dev/null && echo "$g"
  fi
done; true"""
# $1..: process groups; succeeds while any of them has a process that is not a zombie
_GROUPS_LEFT = """ps -e -o pgid=,stat= | awk -v gs="$*" 'BEGIN {split(gs, g, " ");
  for (i in g) want[g[i]] = 1} ($1 in want) && $2 !~ /^Z/ {n++} END {exit n ? 0 : 1}'"""
# the session's time limit, kept on the host so it holds when drtui is gone: $1 DRfC folder,
# $2 seconds, $3 the collector's done file (training already over: nothing to stop); the
# model is saved first, as on a stop from drtui
TIME_LIMIT = 'sleep "$2" && [ ! -e "$3" ] && cd "$1" && source bin/activate.sh && ' \
             '{ dr-upload-model -b -f; dr-stop-training; }'
T = TypeVar("T")


class DrfcError(DrtuiError):
    pass


# -- the tagged log ---------------------------------------------------------------------------
def split_source(line: str) -> tuple[str, str]:
    """(container, original line) of a collected line; the collector's own notes are 'drtui'."""
    for source in SOURCES:
        tag = f"[{source}] "
        if line.startswith(tag):
            return source, line[len(tag):]
    return "drtui", line


class TaggedLogParser:
    """One LogParser per container stream, so robomaker episodes and SageMaker updates are
    parsed exactly as in their own logs however the two interleave in the collected file."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self.parsers: dict[str, LogParser] = {}

    def feed(self, line: str) -> list[Event]:
        source, text = split_source(line)
        parser = self.parsers.get(source)
        if parser is None:
            parser = self.parsers[source] = LogParser(source=source, **self._kwargs)
        return parser.feed(text)

    @property
    def iteration(self) -> int:
        return max((p.iteration for p in self.parsers.values()), default=0)


# -- resume: DRfC's dr-increment-training ------------------------------------------------------
def next_prefix(prefix: str) -> str:
    """name -> name-1 -> name-2, the way dr-increment-training numbers models."""
    head, sep, tail = prefix.rpartition("-")
    if sep and head and tail.isdigit():
        return f"{head}-{int(tail) + 1}"
    return f"{prefix}-1"


def resumed_run_env(text: str, new_prefix: str, pretrained_prefix: str) -> str:
    """run.env training new_prefix from pretrained_prefix's last checkpoint. drtui writes
    literal values (no $VAR), so the prefixes derived from the model prefix change too."""
    values = {
        "DR_LOCAL_S3_MODEL_PREFIX": new_prefix,
        "DR_LOCAL_S3_PRETRAINED": True,
        "DR_LOCAL_S3_PRETRAINED_PREFIX": pretrained_prefix,
        "DR_LOCAL_S3_METRICS_PREFIX": f"{new_prefix}/metrics",
        "DR_UPLOAD_S3_PREFIX": f"{new_prefix}-1",
    }
    lines, seen = [], set()
    for line in text.splitlines():
        key = line.split("=", 1)[0]
        if not line.startswith("#") and key in values:
            line = envfile.format_line(key, values[key])
            seen.add(key)
        lines.append(line)
    lines += [envfile.format_line(k, v) for k, v in values.items() if k not in seen]
    return "\n".join(lines) + "\n"


# -- where things live on the host ------------------------------------------------------------
@dataclass(frozen=True)
class Paths:
    script: str   # the collector
    log: str      # the tagged log drtui follows
    state: str    # the collector's state folder
    out: str      # the collector's own stdout/stderr
    done: str     # written by a collector that saw its training end

    @classmethod
    def of(cls, run: Run, host: Host, drfc: str, generation: int) -> Paths:
        if isinstance(host, LocalHost):  # the run folder is on this machine: log in place
            base, log = str(run.path / "drfc"), str(run.log_path)
        else:
            base = f"{drfc}/tmp/drtui/{run.id}"
            log = f"{base}/training.log"
        return cls(f"{base}/collect.sh", log, f"{base}/state", f"{base}/collector.out",
                   f"{base}/state/gen-{generation}/done")


# asyncssh's errors for a dropped connection, by name: asyncssh is not imported here
_DROPPED = {"ConnectionLost", "DisconnectError", "ChannelOpenError", "SFTPConnectionLost",
            "SFTPNoConnection"}


def _transient(exc: BaseException) -> bool:
    """A dropped connection, worth retrying after reconnecting (not a slow command, not a
    refused key or a missing file)."""
    if isinstance(exc, (HostUnreachable, ConnectionError, EOFError)):
        return True
    return any(c.__name__ in _DROPPED and c.__module__.startswith("asyncssh")
               for c in type(exc).__mro__)


class DrfcRunner(Runner):
    name = "drfc"

    def log_parser(self, run: Run, *, emit_steps: bool = True) -> TaggedLogParser:
        """The collected file interleaves robomaker and SageMaker lines: one parser each."""
        return TaggedLogParser(emit_steps=emit_steps)

    def __init__(self, *, poll: float = 2.0, launch_timeout: float = 1800.0,
                 stop_timeout: float = 900.0, reconnect_for: float = 180.0,
                 start_timeout: float = 1800.0, time_limit_s: float | None = None):
        self.poll = poll                      # collector: seconds between container look-ups
        self.time_limit_s = time_limit_s      # None: the session's time limit
        self.launch_timeout = launch_timeout  # dr-start-training may pull images
        self.stop_timeout = stop_timeout
        self.reconnect_for = reconnect_for    # how long a dropped connection is retried
        self.start_timeout = start_timeout    # collector: wait this long for robomaker

    # -- settings of the run ----------------------------------------------------------------
    def _env(self, run: Run, name: str) -> dict[str, str]:
        path = run.path / "files" / name
        return envfile.read_env_file(path) if path.is_file() else {}

    def _session(self, run: Run):
        from drtui.session import store

        return store.load(run.session_path, check=False)

    def _paths(self, run: Run, host: Host) -> Paths:
        return Paths.of(run, host, run.state["drfc_dir"], int(run.state["drfc_generation"]))

    async def _io(self, op: Callable[[], Awaitable[T]], host: Host) -> T:
        """op(), retried on a fresh connection while the host is unreachable."""
        from drtui.backends.retry import Backoff, retry

        async def reconnect() -> None:  # drop the broken connection: the next op opens one
            try:
                await asyncio.wait_for(host.close(), 10)
            except Exception:  # noqa: BLE001 - it is broken already
                pass

        return await retry(op, Backoff(0.2, 3.0, limit=self.reconnect_for),
                           retry_if=_transient, between=reconnect)

    async def _sh(self, host: Host, script: str, *args: str, timeout: float = 120.0,
                  login: bool = False, retry: bool = True):
        """A bash script on the host; args are $1.. (never spliced into the script).
        login: a login shell, where DRfC users' PATH (docker, aws) is set. retry=False for
        commands that must not run twice (starting or stopping training)."""
        argv = ["bash", "-lc" if login else "-c", script, "drtui", *args]
        if not retry:
            return await host.run(argv, timeout=timeout)
        return await self._io(lambda: host.run(argv, timeout=timeout), host)

    async def _resolve(self, host: Host, path: str) -> str:
        """The DRfC folder as an absolute path on the host (~ expanded there)."""
        script = ('p=$1; case $p in "~") p=$HOME;; "~/"*) p=$HOME/${p#"~/"};; esac; '
                  'cd -- "$p" 2>/dev/null && test -f bin/activate.sh && pwd -P')
        result = await self._sh(host, script, path)
        if result.returncode != 0 or not result.stdout.strip():
            raise DrfcError(f"backend.drfc.path: no deepracer-for-cloud install at {path!r} on "
                            f"{host.name} (bin/activate.sh not found); install DRfC there or "
                            "set the path")
        return result.stdout.strip().splitlines()[-1]

    # -- launch -------------------------------------------------------------------------------
    async def launch(self, run: Run, host: Host, *, resume: bool = False) -> None:
        run.update(status="starting", host=host.name)
        try:
            await self._launch(run, host, resume)
        except BaseException as exc:
            run.update(status="failed", error=str(exc) or type(exc).__name__)
            raise

    async def _launch(self, run: Run, host: Host, resume: bool) -> None:
        from drtui.files.render import relative_path

        session = self._session(run)
        drfc = await self._resolve(host, session.backend.drfc.path)
        files = run.path / "files"
        prefix = self._env(run, "run.env").get("DR_LOCAL_S3_MODEL_PREFIX", "")
        pretrained = None
        if resume:
            if run.state.get("drfc_generation"):
                await self._kill_collector(run, host)
                await self._kill_time_limit(run, host)
            pretrained = run.state.get("model_prefix") or prefix
            prefix = next_prefix(pretrained)
            text = (files / "run.env").read_text(encoding="utf-8")
            atomic_write(files / "run.env", resumed_run_env(text, prefix, pretrained))
        generation = int(run.state.get("drfc_generation", 0)) + 1
        paths = Paths.of(run, host, drfc, generation)

        # the run's files, where DRfC reads them
        for local in sorted(p for p in files.rglob("*") if p.is_file()):
            remote = f"{drfc}/{relative_path(local.name)}"
            await self._io(lambda local=local, remote=remote: host.put(local, remote), host)
        script = Path(str(resources.files("drtui.assets.drfc").joinpath("collect.sh")))
        await self._io(lambda: host.put(script, paths.script), host)

        result = await self._sh(host, f'cd "$1" && {LAUNCH}', drfc,
                                timeout=self.launch_timeout, login=True, retry=False)
        self._keep_output(run, "launch", result)
        if result.returncode != 0:
            raise DrfcError(f"dr-start-training failed on {host.name} (exit "
                            f"{result.returncode}): {_tail(result)}")
        # recorded once training started: a failed resume is retried with the same prefix
        run.update(status="running", started=time.time(), remote_log=paths.log,
                   drfc_dir=drfc, drfc_generation=generation, model_prefix=prefix,
                   pretrained_prefix=pretrained)
        await self._start_collector(run, host)
        limit = self.time_limit_s or session.training.time_limit_minutes * 60
        pid = await self._io(lambda: host.start_detached(
            ["bash", "-lc", TIME_LIMIT, "drtui-time-limit", drfc, str(int(limit)), paths.done],
            log_path=f"{Path(paths.out).parent}/time-limit.out"), host)
        run.update(time_limit_pid=pid, time_limit_s=limit)

    def _keep_output(self, run: Run, what: str, result) -> None:
        """What DRfC printed, kept in the run folder for when something goes wrong."""
        with open(run.path / "logs" / "drfc-commands.log", "a", encoding="utf-8") as fh:
            fh.write(f"== {what}: exit {result.returncode}\n{result.stdout}{result.stderr}")

    # -- the collector --------------------------------------------------------------------------
    async def _start_collector(self, run: Run, host: Host) -> None:
        paths, env = self._paths(run, host), self._env(run, "run.env")
        style = self._env(run, "system.env").get("DR_DOCKER_STYLE", "compose")
        generation = run.state["drfc_generation"]
        # a dead collector's pid file must not be taken for the new one's
        await self._sh(host, 'rm -f "$1"', f"{paths.state}/gen-{generation}/pid")
        argv = ["bash", paths.script, paths.log, paths.state, str(generation),
                env.get("DR_RUN_ID", "0"), style, str(self.poll), str(int(self.start_timeout))]
        pid = await self._io(lambda: host.start_detached(argv, log_path=paths.out), host)
        run.update(collector_pid=pid)

    async def _kill_collector(self, run: Run, host: Host) -> None:
        """End the collector and the `docker logs` pipes it started (its process group).
        A group is killed only while it still runs our script: a long-dead collector's
        number may belong to another program by now."""
        groups = {int(g) for g in (run.state.get("collector_pid"),
                                   (await self._collector(run, host) or (0, 0))[1]) if g}
        if not groups:
            return
        killed = await self._sh(host, _KILL_GROUPS, self._paths(run, host).script,
                                *map(str, sorted(groups)))
        groups = {int(g) for g in killed.stdout.split()}
        deadline = time.monotonic() + 60
        while groups and time.monotonic() < deadline:
            left = await self._sh(host, _GROUPS_LEFT, *map(str, sorted(groups)))
            if left.returncode != 0:
                return
            await asyncio.sleep(0.1)
        if groups:
            raise DrfcError(f"the log collector (process groups {sorted(groups)}) on "
                            f"{host.name} did not end")

    async def _kill_time_limit(self, run: Run, host: Host) -> None:
        """Disarm the host-side time limit (a stop or a resume replaces it)."""
        pid = run.state.get("time_limit_pid")
        if pid:
            await self._sh(host, _KILL_GROUPS, "drtui-time-limit", str(int(pid)))

    async def _collector(self, run: Run, host: Host) -> tuple[int, int] | None:
        """(pid, process group) the running generation's collector wrote, if it did."""
        path = f"{self._paths(run, host).state}/gen-{run.state['drfc_generation']}/pid"
        chunk = await self._io(lambda: host.read_from(path, 0), host)
        try:
            pid, group = chunk.lines[-1].split()
            return int(pid), int(group)
        except (IndexError, ValueError):
            return None

    async def _ensure_collector(self, run: Run, host: Host) -> bool:
        """Whether the collector runs, restarting one that died before its training ended."""
        if not run.state.get("collector_pid") or not run.state.get("drfc_generation"):
            return False
        main = await self._collector(run, host)
        pid = main[0] if main else int(run.state["collector_pid"])  # not yet written: starting
        if await self._io(lambda: host.is_running(pid), host):
            return True
        paths = self._paths(run, host)
        if (await self._sh(host, 'test -e "$1"', paths.done)).returncode == 0:
            return False  # it saw the training end and copied everything
        await self._kill_collector(run, host)  # its `docker logs` pipes may outlive it
        await self._start_collector(run, host)
        return True

    async def _containers_running(self, run: Run, host: Host) -> bool:
        run_id = self._env(run, "run.env").get("DR_RUN_ID", "0")
        # compose and swarm names of the robomaker replicas (name filters are or-ed)
        result = await self._sh(host, 'docker ps -q --filter "name=deepracer-$1-robomaker-" '
                                '--filter "name=deepracer-$1_robomaker."', run_id)
        return result.returncode == 0 and bool(result.stdout.strip())

    # -- follow ---------------------------------------------------------------------------------
    async def alive(self, run: Run, host: Host) -> bool:
        """The collector still copies logs, or this training's containers still run."""
        if await self._ensure_collector(run, host):
            return True
        if run.state.get("drfc_generation") and await self._containers_running(run, host):
            return True
        await self._kill_time_limit(run, host)
        run.reload()
        if run.status == "running":  # ended by the time limit, or by itself
            run.update(status="finished", ended=time.time())
        return False

    def log_path(self, run: Run) -> str:
        """The tagged log on the host (the run's own log when the host is this machine)."""
        return run.state.get("remote_log") or str(run.log_path)

    async def follow(self, run: Run, host: Host, *, poll: float = 0.25,
                     offset: int | None = None) -> AsyncIterator[str]:
        """Tagged lines from `offset` (default: the run store's saved offset) until the
        training's containers are gone and the log is drained."""
        await self._ensure_collector(run, host)
        path = self.log_path(run)
        offset = int(run.state.get("log_offset", 0)) if offset is None else offset
        while True:
            chunk = await self._io(lambda: host.read_from(path, offset), host)
            for line in chunk.lines:
                yield line
            offset = chunk.offset
            if chunk.lines:
                continue
            if not await self.alive(run, host):
                final = await self._io(lambda: host.read_from(path, offset), host)
                for line in final.lines:
                    yield line
                if not final.lines:
                    return
                offset = final.offset
                continue
            await asyncio.sleep(poll)

    async def collect(self, run: Run, host: Host) -> None:
        """The tagged log into the run folder, byte-identical, so saved offsets stay valid.
        (Checkpoints and metrics stay in DRfC's bucket, where its own tools read them.)"""
        if isinstance(host, LocalHost) or not run.state.get("remote_log"):
            return
        await self._io(lambda: host.get(self.log_path(run), run.log_path), host)

    # -- stop -----------------------------------------------------------------------------------
    async def stop(self, run: Run, host: Host, *, grace: float = 30.0) -> None:
        """Upload the best model, stop training, then let the collector copy the last lines."""
        drfc = run.state.get("drfc_dir")
        if not drfc:
            return
        run.update(status="stopping")
        await self._kill_time_limit(run, host)
        result = await self._sh(host, f'cd "$1" && {STOP}', drfc, timeout=self.stop_timeout,
                                login=True, retry=False)
        self._keep_output(run, "stop", result)
        uploaded = re.search(r"dr-upload-model exit (\d+)", result.stdout)
        run.update(model_uploaded=bool(uploaded and uploaded.group(1) == "0"))
        if result.returncode != 0:
            run.update(status="failed", error=f"dr-stop-training failed: {_tail(result)}")
            raise DrfcError(f"dr-stop-training failed on {host.name} (exit "
                            f"{result.returncode}): {_tail(result)}")
        deadline = time.monotonic() + grace
        pid = run.state.get("collector_pid")
        while pid and time.monotonic() < deadline:
            if not await self._io(lambda: host.is_running(int(pid)), host):
                break
            await asyncio.sleep(0.2)
        else:
            if pid:
                await self._kill_collector(run, host)
        run.reload()
        if run.status in ("starting", "running", "stopping"):
            run.update(status="stopped")


def _tail(result, lines: int = 5) -> str:
    text = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return " | ".join(text[-lines:]) or "no output"
