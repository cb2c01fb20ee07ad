"""The embedded runner: drtui's own simulator and trainer, as a detached process on the host
(`python -m drtui.train RUN_DIR`) that writes DeepRacer-format log lines to the run's log."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

from drtui.backends.base import Host, Runner
from drtui.runstore import owner
from drtui.runstore.store import Run


class EmbeddedRunner(Runner):
    name = "embedded"

    def __init__(self, python: str | None = None):
        self.python = python or sys.executable

    def command(self, run: Run, *, resume: bool = False) -> list[str]:
        argv = [self.python, "-m", "drtui.train", str(run.path)]
        return argv + (["--resume"] if resume else [])

    async def launch(self, run: Run, host: Host, *, resume: bool = False) -> None:
        run.update(status="starting", host=host.name)
        pid = await host.start_detached(self.command(run, resume=resume),
                                        log_path=str(run.log_path))
        # pid and start time together name the trainer: a recycled pid never matches
        run.update(status="running", pid=pid, pid_start=owner.start_time(pid),
                   started=time.time())

    async def alive(self, run: Run, host: Host) -> bool:
        return owner.trainer_pid(run.path, run.reload().state) is not None

    async def stop(self, run: Run, host: Host, *, grace: float = 30.0) -> None:
        """SIGINT asks the trainer to finish the step, checkpoint and exit; SIGKILL after
        the grace period. Only this run's trainer, checked by its lock or its pid and start
        time, gets a signal: a stale pid, 1 or -1 in state.json never does."""
        pid = owner.trainer_pid(run.path, run.reload().state)
        if pid is not None:
            run.update(status="stopping")
            await host.signal(pid, signal.SIGINT)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if owner.trainer_pid(run.path, run.state) != pid:
                    break
                await asyncio.sleep(0.1)
            else:
                if owner.trainer_pid(run.path, run.state) == pid:
                    await host.signal(pid, signal.SIGKILL)
        run.reload()
        if run.status in ("starting", "running", "stopping"):
            if pid is None:  # nothing to stop: its trainer had died unseen
                from drtui.runstore.store import KILLED_MESSAGE

                run.update(status="killed", error=KILLED_MESSAGE, ended=time.time())
            else:
                run.update(status="stopped")
