"""This machine as a Host (asyncio subprocesses), and the local Provider."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from drtui.backends.base import Chunk, CommandResult, Host, Provider, chunk_from, read_span
from drtui.runstore.store import Run


def read_lines_from(path: str | Path, offset: int, limit: int = 1 << 20) -> Chunk:
    """Complete lines from a byte offset; a partial last line waits for its newline, an
    overlong one is cut (drtui.backends.base.chunk_from)."""
    start, size = read_span(offset, limit)
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read(size)
    except FileNotFoundError:
        return Chunk([], offset)
    return chunk_from(data, offset, limit)


class LocalHost(Host):
    name = "local"

    async def run(self, argv: Sequence[str], *, cwd: str | None = None,
                  env: dict[str, str] | None = None, timeout: float | None = None
                  ) -> CommandResult:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        return CommandResult(proc.returncode, out.decode(errors="replace"),
                             err.decode(errors="replace"))

    async def stream(self, argv: Sequence[str], *, cwd: str | None = None,
                     env: dict[str, str] | None = None) -> AsyncIterator[str]:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        try:
            assert proc.stdout is not None
            async for raw in proc.stdout:
                yield raw.decode(errors="replace").rstrip("\r\n")
        finally:
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()

    async def start_detached(self, argv: Sequence[str], *, log_path: str,
                             cwd: str | None = None, env: dict[str, str] | None = None) -> int:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            # a new session: the trainer survives drtui's exit and its terminal's hangup
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        _reap_later(proc)
        return proc.pid

    async def is_running(self, pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # a zombie is finished, whoever reaps it
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                return fh.read().split(b")")[-1].split()[0] != b"Z"
        except OSError:
            return True

    async def signal(self, pid: int, sig: int = signal.SIGTERM) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    async def read_from(self, path: str, offset: int, limit: int = 1 << 20) -> Chunk:
        return read_lines_from(path, offset, limit)

    async def size(self, path: str) -> int | None:
        try:
            return os.stat(path).st_size
        except FileNotFoundError:
            return None

    async def put(self, local: Path, remote: str) -> None:
        Path(remote).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(local, remote)

    async def get(self, remote: str, local: Path) -> None:
        Path(local).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(remote, local)


def _reap_later(proc: asyncio.subprocess.Process) -> None:
    """Wait for the child in the background so it does not linger as a zombie while this
    process lives; if drtui exits first, init adopts and reaps it."""
    task = asyncio.get_running_loop().create_task(proc.wait())
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


_BACKGROUND: set[asyncio.Task] = set()


class LocalProvider(Provider):
    name = "local"

    async def acquire(self, run: Run, *, create: bool = True) -> Host:
        return LocalHost()

    async def estimate(self, session):
        from drtui.backends.cloud import own_machine

        return own_machine(self.name, session)
