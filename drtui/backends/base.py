"""The backend interface: Provider (where) -> Host (a machine) -> Runner (what trains).

A Provider gives a Host for a run (this machine, an SSH host, a fresh cloud instance) and
takes it back. A Host runs commands and streams their output lines, moves files, and tails a
file from a byte offset, which is how a run is followed and, after a restart or a dropped
connection, picked up again with no line lost or repeated. A Runner launches training on a
Host, detached so the run outlives drtui, yields its log lines, and stops it.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from drtui.runstore.store import Run


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Chunk:
    """Complete lines read from a file, and the offset just past the last one."""

    lines: list[str]
    offset: int


class Host(abc.ABC):
    name: str = "host"

    @abc.abstractmethod
    async def run(self, argv: Sequence[str], *, cwd: str | None = None,
                  env: dict[str, str] | None = None, timeout: float | None = None
                  ) -> CommandResult: ...

    @abc.abstractmethod
    def stream(self, argv: Sequence[str], *, cwd: str | None = None,
               env: dict[str, str] | None = None) -> AsyncIterator[str]:
        """Output lines (stdout and stderr merged) of a command as they come."""

    @abc.abstractmethod
    async def start_detached(self, argv: Sequence[str], *, log_path: str,
                             cwd: str | None = None, env: dict[str, str] | None = None) -> int:
        """Start a command that outlives this connection; its output goes to log_path.
        Returns its process id on the host."""

    @abc.abstractmethod
    async def is_running(self, pid: int) -> bool: ...

    @abc.abstractmethod
    async def signal(self, pid: int, sig: int) -> None: ...

    @abc.abstractmethod
    async def read_from(self, path: str, offset: int, limit: int = 1 << 20) -> Chunk:
        """Complete lines of a file from byte offset (a partial last line is left for later)."""

    @abc.abstractmethod
    async def put(self, local: Path, remote: str) -> None: ...

    @abc.abstractmethod
    async def get(self, remote: str, local: Path) -> None: ...

    async def close(self) -> None:
        return None


class Provider(abc.ABC):
    name: str

    @abc.abstractmethod
    async def acquire(self, run: Run) -> Host:
        """A host for this run: reuse the one recorded in run.state, or create one."""

    async def release(self, run: Run) -> None:
        """Give the host back (terminate a cloud instance); nothing for local and ssh."""
        return None

    def hourly_cost(self, run: Run) -> float:
        return 0.0


class Runner(abc.ABC):
    name: str

    @abc.abstractmethod
    async def launch(self, run: Run, host: Host) -> None:
        """Start training on the host, detached; record what is needed to follow it."""

    @abc.abstractmethod
    def follow(self, run: Run, host: Host, *, poll: float = 0.25) -> AsyncIterator[str]:
        """The run's log lines from where the run store last read, until it ends."""

    @abc.abstractmethod
    async def stop(self, run: Run, host: Host) -> None:
        """Stop cleanly: save the model first, then end training."""
