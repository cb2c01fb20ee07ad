"""The embedded trainer on another machine (any non-local provider: ssh, cloud instances).

launch: find drtui on the host (`python3 -m drtui --version`; when it is missing and the
provider recorded a `pip_install` requirement, install it into <workdir>/venv and say so),
upload the run folder to <workdir>/runs/<id>, and start `python -m drtui.train` detached under
`timeout --signal=INT <time limit + grace>`, so the limit holds even when drtui is gone.
The trainer writes the same run folder layout there as it does here; the local run folder
keeps the remote pid, folder and log path. The log is followed over the connection by byte
offset (drtui/backends/watch.py), and when training ends or is stopped `collect` brings the
log, checkpoints, metrics, TensorBoard files and final status back, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import time
from pathlib import Path

from drtui.backends.base import Host, Runner
from drtui.errors import DrtuiError
from drtui.runstore.store import ACTIVE, Run
from drtui.train import TRAINER_SETTINGS

GRACE_S = 300.0  # past the time limit before `timeout` interrupts a trainer that overran it
KILL_AFTER_S = 60  # after that interrupt, before `timeout` kills it
COLLECTED = ("logs", "checkpoints", "metrics", "tb")  # what comes back from the host
TRAINER_KEYS = ("status", "iteration", "total_steps", "last", "best", "error", "error_detail",
                "ended")  # state.json keys the trainer owns
PIDFILE = "trainer.pid"  # the pid of `timeout`, whose child is the trainer
PARALLEL = 8  # concurrent file transfers


class RemoteSetupError(DrtuiError):
    """The host cannot run drtui's trainer as it is; the message says what to change."""


class RemoteEmbeddedRunner(Runner):
    name = "embedded"

    # -- launch ----------------------------------------------------------------------------
    async def launch(self, run: Run, host: Host, *, resume: bool = False) -> None:
        run.update(status="starting", host=host.name, error=None)
        workdir = await self._workdir(run, host)
        remote_dir = f"{workdir}/runs/{run.id}"
        python, note = await self._drtui_python(run, host, workdir)
        await self._upload(run, host, remote_dir, resume)
        env = self.trainer_env(run)
        log = f"{remote_dir}/logs/trainer.log"
        argv = ["sh", "-c", f'echo $$ > {PIDFILE} && exec "$@"', "drtui-trainer",
                "timeout", "--signal=INT", f"--kill-after={KILL_AFTER_S}s",
                f"{self.hard_limit_s(run)}s", python, "-m", "drtui.train", remote_dir]
        pid = await host.start_detached(argv + (["--resume"] if resume else []),
                                        log_path=log, cwd=remote_dir, env=env)
        run.update(status="running", remote_pid=pid, remote_dir=remote_dir, remote_log=log,
                   remote_python=python, trainer_env=env, started=time.time(),
                   setup_note=note)

    @staticmethod
    def trainer_env(run: Run) -> dict[str, str]:
        """The trainer's settings (drtui.train.TRAINER_SETTINGS): those it was launched with (a
        resume must see the same camera size), overridden by this environment's."""
        env = {k: v for k, v in (run.state.get("trainer_env") or {}).items()
               if k in TRAINER_SETTINGS}
        env.update({k: os.environ[k] for k in TRAINER_SETTINGS if k in os.environ})
        return env

    @staticmethod
    def hard_limit_s(run: Run) -> int:
        from drtui.session import store as sessions

        minutes = sessions.load(run.session_path, check=False).training.time_limit_minutes
        limit = minutes * 60.0
        return int(math.ceil(limit + max(GRACE_S, 0.1 * limit)))

    async def _workdir(self, run: Run, host: Host) -> str:
        workdir = str(run.state.get("workdir") or "~/drtui")
        if workdir == "~" or workdir.startswith("~/"):
            home = (await host.run(["sh", "-c", 'printf %s "$HOME"'], timeout=60)).stdout.strip()
            workdir = home + workdir[1:]
        if not workdir.startswith("/"):
            raise RemoteSetupError(f"workdir {workdir!r}: give an absolute folder on the host "
                                   "or one under ~/")
        workdir = workdir.rstrip("/") or "/"
        made = await host.run(["mkdir", "-p", f"{workdir}/runs"], timeout=60)
        if made.returncode != 0:
            raise RemoteSetupError(f"{host.name}: cannot create the work folder {workdir}: "
                                   f"{made.stderr.strip()}")
        return workdir

    async def _drtui_python(self, run: Run, host: Host, workdir: str) -> tuple[str, str | None]:
        """The interpreter on the host that runs drtui, installing drtui if it is missing and
        the provider allows it; and a note of what was done, if anything."""
        python = str(run.state.get("python") or "python3")
        venv_python = f"{workdir}/venv/bin/python"
        version, why = await _drtui_version(host, python, workdir)
        if version:
            return python, _version_note(host, version)
        if (found := (await _drtui_version(host, venv_python, workdir))[0]):
            return venv_python, _version_note(host, found)  # installed by an earlier run
        spec = str(run.state.get("pip_install") or "")
        if not spec:
            raise RemoteSetupError(
                f"{host.name}: `{python} -m drtui --version` failed ({why}): drtui is not "
                f"installed there. Install it on the host (pip install drtui), point the "
                f"provider's `python` setting at an interpreter that has it, or set "
                f"`pip_install` to a pip requirement for drtui to install it into "
                f"{workdir}/venv")
        venv = await host.run([python, "-m", "venv", f"{workdir}/venv"], cwd=workdir,
                              timeout=600)
        if venv.returncode != 0:
            raise RemoteSetupError(f"{host.name}: `{python} -m venv {workdir}/venv` failed: "
                                   f"{_tail(venv)}")
        pip = await host.run([venv_python, "-m", "pip", "install", spec], cwd=workdir,
                             timeout=3600)
        if pip.returncode != 0:
            raise RemoteSetupError(f"{host.name}: `pip install {spec}` into {workdir}/venv "
                                   f"failed: {_tail(pip)}")
        version, why = await _drtui_version(host, venv_python, workdir)
        if not version:
            raise RemoteSetupError(f"{host.name}: installed {spec} into {workdir}/venv, but "
                                   f"`{venv_python} -m drtui --version` fails: {why}")
        return venv_python, (f"installed drtui {version} on {host.name}: created "
                             f"{workdir}/venv and ran pip install {spec}")

    async def _upload(self, run: Run, host: Host, remote_dir: str, resume: bool) -> None:
        """The session, its files and the state; on a resume where the host lost the run
        (a new machine), everything the trainer continues from as well."""
        names = ["session.toml"] + _files_under(run.path, "files")
        existing = await host.list_files(remote_dir)
        if "state.json" not in existing:  # never roll back a trainer's newer state
            names.append("state.json")
        if resume and "checkpoints/last.pt" not in existing:
            names += [n for sub in COLLECTED for n in _files_under(run.path, sub)]
        await _parallel(host.put(run.path / name, f"{remote_dir}/{name}") for name in names)

    # -- follow ----------------------------------------------------------------------------
    def log_path(self, run: Run) -> str:
        return str(run.state.get("remote_log") or run.log_path)

    async def alive(self, run: Run, host: Host) -> bool:
        pid = run.state.get("remote_pid")
        return bool(pid) and await host.is_running(int(pid))

    # -- stop and collect ------------------------------------------------------------------
    async def stop(self, run: Run, host: Host, *, grace: float = 30.0) -> None:
        """SIGINT once the trainer is up (it then finishes the step, checkpoints and exits);
        SIGKILL to `timeout` and the trainer after the grace period."""
        if not run.state.get("remote_pid"):
            return
        run.update(status="stopping")
        deadline = time.monotonic() + grace
        trainer = None
        while time.monotonic() < deadline and await self.alive(run, host):
            # its pid in state.json means its signal handlers are installed
            if (trainer := await self._trainer_pid(run, host)) is not None:
                await host.signal(trainer, signal.SIGINT)
                break
            await asyncio.sleep(0.2)
        while time.monotonic() < deadline:
            if not await self.alive(run, host):
                return
            await asyncio.sleep(0.2)
        group = await self._timeout_pid(run, host)
        if group:
            await host.signal(-group, signal.SIGKILL)  # timeout's process group
        if trainer:
            await host.signal(trainer, signal.SIGKILL)

    async def collect(self, run: Run, host: Host) -> None:
        remote_dir = run.state.get("remote_dir")
        if not remote_dir:
            return
        names = [n for n in await host.list_files(remote_dir)
                 if n.split("/", 1)[0] in COLLECTED]
        await _parallel(_fetch(host, f"{remote_dir}/{n}", run.path / n) for n in names)
        state = await self._remote_state(run, host)
        changes = {k: state[k] for k in TRAINER_KEYS if k in state}
        if changes.get("status", run.status) in ACTIVE and not await self.alive(run, host):
            if run.status == "stopping":
                changes["status"] = "stopped"
            else:
                last = _last_line(run.log_path)
                changes.update(status="failed", ended=time.time(),
                               error="the trainer ended without a final status (killed, out "
                                     "of memory or past its hard time limit?)"
                                     + (f"; its last log line: {last}" if last else ""))
        run.update(**changes, collected=time.time())

    async def _remote_state(self, run: Run, host: Host) -> dict:
        result = await host.run(["cat", f"{run.state['remote_dir']}/state.json"], timeout=60)
        try:
            return json.loads(result.stdout) if result.returncode == 0 else {}
        except json.JSONDecodeError:
            return {}  # never torn (atomic writes); unreadable means not written yet

    async def _timeout_pid(self, run: Run, host: Host) -> int | None:
        result = await host.run(["cat", f"{run.state['remote_dir']}/{PIDFILE}"], timeout=60)
        text = result.stdout.strip()
        return int(text) if result.returncode == 0 and text.isdigit() else None

    async def _trainer_pid(self, run: Run, host: Host) -> int | None:
        """The trainer's pid once it has recorded it, checked to be the child of this
        launch's `timeout` (state.json may still hold an earlier trainer's pid)."""
        pid = (await self._remote_state(run, host)).get("pid")
        parent = await self._timeout_pid(run, host)
        if not pid or not parent:
            return None
        ppid = await host.run(["ps", "-o", "ppid=", "-p", str(int(pid))], timeout=60)
        return int(pid) if ppid.stdout.strip() == str(parent) else None


async def _drtui_version(host: Host, python: str, cwd: str) -> tuple[str | None, str]:
    """drtui's version under that interpreter, or None and why not."""
    try:
        result = await host.run([python, "-m", "drtui", "--version"], cwd=cwd, timeout=120)
    except TimeoutError:
        return None, "no answer in 120 s"
    words = result.stdout.split()
    if result.returncode == 0 and len(words) == 2 and words[0] == "drtui":
        return words[1], ""
    return None, _tail(result) or f"exit status {result.returncode}"


def _version_note(host: Host, version: str) -> str | None:
    from drtui import __version__

    if version == __version__:
        return None
    return (f"{host.name} has drtui {version}, this drtui is {__version__}: if training "
            "fails to start, install the same version there")


def _tail(result, lines: int = 3) -> str:
    text = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return " | ".join(text[-lines:])


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def _files_under(root: Path, sub: str) -> list[str]:
    base = root / sub
    if not base.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file())


async def _fetch(host: Host, remote: str, local: Path) -> None:
    """Download next to the target, then rename: a reader never sees half a file."""
    part = local.with_name(f".{local.name}.part")
    await host.get(remote, part)
    os.replace(part, local)


async def _parallel(coros) -> None:
    gate = asyncio.Semaphore(PARALLEL)

    async def gated(coro):
        async with gate:
            await coro

    await asyncio.gather(*(gated(c) for c in coros))

