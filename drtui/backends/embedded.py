"""The embedded runner: drtui's own simulator and trainer, as a detached process on the host
(`python -m drtui.train RUN_DIR`) that writes DeepRacer-format log lines to the run's log."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

from drtui.backends.base import Host, Runner
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
        run.update(status="running", pid=pid, started=time.time())

    async def alive(self, run: Run, host: Host) -> bool:
        pid = run.state.get("pid")
        return bool(pid) and await host.is_running(int(pid))

    async def stop(self, run: Run, host: Host, *, grace: float = 30.0) -> None:
        """SIGINT asks the trainer to finish the step, checkpoint and exit; SIGKILL after
        the grace period."""
        pid = run.state.get("pid")
        if not pid:
            return
        # a trainer that already ended keeps the status it wrote (finished, failed), and its
        # pid, perhaps another process's by now, gets no signal
        if await host.is_running(int(pid)):
            run.update(status="stopping")
            await host.signal(int(pid), signal.SIGINT)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if not await host.is_running(int(pid)):
                    break
                await asyncio.sleep(0.1)
            else:
                await host.signal(int(pid), signal.SIGKILL)
        run.reload()
        if run.status in ("starting", "running", "stopping"):
            run.update(status="stopped")
