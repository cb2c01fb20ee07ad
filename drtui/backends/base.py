"""The backend interface: Provider (where) -> Host (a machine) -> Runner (what trains).

A Provider gives a Host for a run (this machine, an SSH host, a fresh cloud instance) and
takes it back. A Host runs commands and streams their output lines, moves files, and tails a
file from a byte offset, which is how a run is followed and, after a restart or a dropped
connection, picked up again with no line lost or repeated. A Runner launches training on a
Host, detached so the run outlives drtui, yields its log lines, and stops it.

The lifecycle (drtui/backends/launch.py drives it; the CLI and the TUI only call launch):

    provider.acquire(run)            a host, creating a machine if the provider does that
    runner.launch(run, host)         start training, detached; record pids/paths in run.state
    runner.alive / runner.log_path   followed by byte offset until the process ends
    runner.stop(run, host)           on request: save the model first, then end training
    runner.collect(run, host)        bring logs, checkpoints, metrics, tb into the run folder
    provider.release(run)            give the machine back (a cloud instance is terminated)

attach, stop and "is it alive" call provider.acquire(run, create=False), which never creates
a machine: it raises HostGone (or a subclass) when the run's machine no longer exists. A launch
that fails releases what acquire created, so release must be safe to call after a partial acquire.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from drtui.errors import DrtuiError
from drtui.runstore.store import Run


class HostGone(DrtuiError):
    """The run's machine no longer exists (terminated or released): nothing to follow."""


class HostUnreachable(DrtuiError):
    """The host cannot be reached just now; training on it may well go on (retry later)."""


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


LONG_MARK = " [drtui: line cut, longer than {n} bytes]"


def read_span(offset: int, limit: int) -> tuple[int, int]:
    """Where a read for `read_from(path, offset, limit)` starts and how much it takes: one
    byte before the offset too, which tells `chunk_from` whether the offset is mid-line."""
    if offset < 0:
        raise ValueError(f"a log offset is a byte position from 0, not {offset}")
    return (offset - 1, limit + 1) if offset else (0, limit)


def chunk_from(raw: bytes, offset: int, limit: int) -> Chunk:
    """The complete lines of `raw` (read at read_span(offset, limit)). A line longer than a
    whole read is cut there and marked, and the rest of it, up to its newline, is skipped on
    the next reads: a follower never waits on a line megabytes long. Lines are cut at
    drtui.logs.bounded.LINE_MAX too."""
    from drtui.logs.bounded import LINE_MAX, cut

    if offset:
        mid_line, data = raw[:1] not in (b"\n", b""), raw[1:]
    else:
        mid_line, data = False, raw
    start = 0
    if mid_line:  # the rest of a line an earlier read cut: skip it
        newline = data.find(b"\n")
        if newline < 0:
            return Chunk([], offset + len(data))
        start = newline + 1
    body = data[start:]
    end = body.rfind(b"\n")
    if end < 0:
        if body and len(data) >= limit:  # a whole read and no newline: cut the line here
            head = body[:LINE_MAX].decode("utf-8", errors="ignore")
            return Chunk([head + LONG_MARK.format(n=len(body))], offset + len(data))
        return Chunk([], offset + start)
    text = body[: end + 1].decode("utf-8", errors="replace")
    return Chunk([cut(line) for line in text.splitlines()], offset + start + end + 1)


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
        """Complete lines of a file from byte offset (a partial last line is left for later);
        read with read_span and split with chunk_from, so overlong lines are cut alike on
        every host. A negative offset raises ValueError."""

    async def size(self, path: str) -> int | None:
        """The file's size in bytes, None when it does not exist."""
        try:
            result = await self.run(["wc", "-c", path], timeout=60)
            return int(result.stdout.split()[0]) if result.returncode == 0 else None
        except (DrtuiError, OSError, NotImplementedError, IndexError, ValueError):
            return None  # unknown: the offset is taken as it is

    @abc.abstractmethod
    async def put(self, local: Path, remote: str) -> None: ...

    @abc.abstractmethod
    async def get(self, remote: str, local: Path) -> None: ...

    async def list_files(self, directory: str) -> list[str]:
        """Paths of the regular files under a directory, relative to it (none if missing)."""
        result = await self.run(["find", directory, "-type", "f"], timeout=120)
        prefix = directory.rstrip("/") + "/"
        return sorted(line[len(prefix):] for line in result.stdout.splitlines()
                      if line.startswith(prefix))

    async def close(self) -> None:
        return None


class Provider(abc.ABC):
    """Where a run trains. Record in run.state what finds the machine again (instance id,
    address) so another drtui process can attach to it. A provider whose hosts run the
    embedded trainer remotely (RemoteEmbeddedRunner) also records `workdir` (a folder on
    the host for drtui's runs; `~/` is the remote home) and may record `python` (the
    interpreter with drtui, default python3) and `pip_install` (a pip requirement to install
    into <workdir>/venv when the host has no drtui; empty: never install)."""

    name: str

    @abc.abstractmethod
    async def acquire(self, run: Run, *, create: bool = True) -> Host:
        """A host for this run: reuse the one recorded in run.state, or create one.
        create=False (attach, stop, is-alive): never create a machine; raise HostGone if the
        run's machine no longer exists."""

    async def release(self, run: Run) -> None:
        """Give the host back (terminate a cloud instance); nothing for local and ssh.
        Called once a run has ended and its files were collected, and after a failed
        launch; it must be safe to call again or when acquire created nothing."""
        return None

    def hourly_cost(self, run: Run) -> float:
        """Dollars per hour while the run holds its machine (0: free or unknown). Followers
        emit Cost events from it, counted from run.state["started"]."""
        return 0.0


class Runner(abc.ABC):
    name: str

    @abc.abstractmethod
    async def launch(self, run: Run, host: Host, *, resume: bool = False) -> None:
        """Start training on the host, detached; record what is needed to follow it.
        resume: continue from the run's last checkpoint."""

    async def alive(self, run: Run, host: Host) -> bool:
        """Whether the training process still runs on the host."""
        raise NotImplementedError

    def log_path(self, run: Run) -> str:
        """Where the training log is on the host (followed by byte offset)."""
        return str(run.log_path)

    def session_problems(self, session) -> list:
        """Why this runner cannot train the session (one Problem each): its rules in
        drtui.session.runner_rules, which the session check applies too."""
        from drtui.session.runner_rules import runner_problems

        return runner_problems(session, self.name)

    def log_parser(self, run: Run, *, emit_steps: bool = True):
        """A fresh parser for this runner's log (drtui.logs.parser.LogParser; DRfC's merged
        container log needs one per container)."""
        from drtui.logs.parser import LogParser

        return LogParser(source=run.state.get("runner", ""), emit_steps=emit_steps)

    async def collect(self, run: Run, host: Host) -> None:
        """Bring the run's files (log, checkpoints, metrics, tb, final status) from the host
        into the local run folder. Nothing to do when training wrote there directly."""
        return None

    async def follow(self, run: Run, host: Host, *, poll: float = 0.25) -> AsyncIterator[str]:
        """The run's log lines from where the run store last read, until it ends."""
        import asyncio

        offset = int(run.state.get("log_offset", 0))
        while True:
            chunk = await host.read_from(self.log_path(run), offset)
            for line in chunk.lines:
                yield line
            offset = chunk.offset
            if not chunk.lines:
                if not await self.alive(run, host):
                    # one last read: the process (or alive's poll) may have written its
                    # final lines after the read above
                    final = await host.read_from(self.log_path(run), offset)
                    for line in final.lines:
                        yield line
                    return
                await asyncio.sleep(poll)

    @abc.abstractmethod
    async def stop(self, run: Run, host: Host, *, grace: float = 30.0) -> None:
        """Stop cleanly: save the model first, then end training (forcibly after grace s)."""
