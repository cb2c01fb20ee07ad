"""Who trains a run: exactly one trainer process per run folder, and a process identity that a
recycled pid cannot fake.

The trainer holds an exclusive flock on RUN_DIR/trainer.lock for its whole life and writes
its pid and process start time into it; the kernel drops the lock when the process dies,
however it dies, so "the lock is held" means "a trainer of this run is alive". A second
trainer finds the lock held and refuses, naming the holder.

A process is named by (pid, start time): state.json records both, and a signal goes only to a
live process whose start time still matches (a pid reused by an unrelated process after a
reboot or a long wait has another start time). Pids <= 1 are never a trainer: 0 and -1 mean
"my process group" and "every process I may signal" to kill(2), 1 is init.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

LOCK = "trainer.lock"
LAUNCH_LOCK = "launch.lock"
FOLLOWER_LOCK = "follower.lock"


class TrainerBusy(Exception):
    """The run already has a live trainer (the message names it)."""


@dataclass(frozen=True)
class Holder:
    pid: int
    start: str | None
    host: str = ""
    since: float | None = None

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since)) \
            if self.since else "an unknown time"
        where = f" on {self.host}" if self.host else ""
        return f"pid {self.pid}{where}, training since {when}"


def valid_pid(value) -> int | None:
    """A pid that may name one ordinary process: a whole number above 1, else None."""
    if isinstance(value, bool):
        return None
    try:
        pid = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(value, float) and value != pid:
        return None
    return pid if 1 < pid < 1 << 22 else None


def start_time(pid: int) -> str | None:
    """The process's start time as the kernel tells it (clock ticks since boot on Linux),
    None when no such live (non-zombie) process exists. Equal strings: the same process."""
    if valid_pid(pid) is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return None if fields[0] == b"Z" else fields[19].decode()
    except FileNotFoundError:
        return None
    except (OSError, IndexError):
        pass
    if Path("/proc/self/stat").exists():
        return None  # Linux, and the process is gone
    try:  # macOS and other systems without /proc
        out = subprocess.run(["ps", "-o", "stat=,lstart=", "-p", str(pid)], capture_output=True,
                             text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    if not out or out.startswith("Z"):
        return None
    return out.split(None, 1)[1] if " " in out else None


def same_process(pid, start) -> bool:
    """Whether (pid, start) names a process alive now."""
    pid = valid_pid(pid)
    return pid is not None and start is not None and start_time(pid) == str(start)


def acquire(run_dir: Path) -> int:
    """Take the run's trainer lock for this process (an open fd that holds it until the
    process ends; pass it to a child with pass_fds to share it). Raises TrainerBusy naming
    the holder when another process has it."""
    fd = os.open(Path(run_dir) / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + 2.0
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            # a probe (holder()) holds a shared lock for a moment: only a live holder that
            # wrote its name, or one that keeps the lock, counts as a trainer
            found = _read_holder(fd)
            if (found and same_process(found.pid, found.start)) or \
                    time.monotonic() > deadline:
                os.close(fd)
                who = found.describe() if found else "another process"
                raise TrainerBusy(f"run {Path(run_dir).name} already has a trainer ({who}); "
                                  "`drtui runs attach` follows it, `drtui runs stop` ends "
                                  "it") from None
            time.sleep(0.05)
    me = Holder(os.getpid(), start_time(os.getpid()), socket.gethostname(), time.time())
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(me.__dict__).encode(), 0)
    return fd


def holder(run_dir: Path) -> Holder | None:
    """The live process holding the run's trainer lock, None when nobody holds it."""
    path = Path(run_dir) / LOCK
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or Holder(0, None)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> Holder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
        return Holder(int(data["pid"]), data.get("start"), str(data.get("host", "")),
                      data.get("since"))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def trainer_pid(run_dir: Path, state: dict) -> int | None:
    """The pid of this run's live trainer, checked, or None. The lock's holder first (it
    wrote its own pid and start time); else state.json's pid, only with the start time the
    launcher recorded beside it. A bare pid is never trusted."""
    held = holder(run_dir)
    if held is not None and same_process(held.pid, held.start):
        return held.pid
    pid, start = valid_pid(state.get("pid")), state.get("pid_start")
    if pid is not None and start is not None and same_process(pid, start):
        return pid
    return None


def busy(run_dir: Path, state: dict) -> str | None:
    """Why a new trainer must not start on this run now (its live trainer), else None."""
    held = holder(run_dir)
    if held is not None and same_process(held.pid, held.start):
        return f"run {Path(run_dir).name} already has a trainer ({held.describe()})"
    pid = trainer_pid(run_dir, state)
    if pid is not None:
        return f"run {Path(run_dir).name} already has a trainer (pid {pid}, starting)"
    return None


def try_lock(path: Path) -> int | None:
    """A non-blocking exclusive flock on path: its fd (close it to release), or None when
    another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
