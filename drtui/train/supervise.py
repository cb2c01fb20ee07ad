"""The trainer's supervisor: `python -m drtui.train RUN_DIR` is this small process; the
training itself (torch, the simulator, the user's reward function) runs in its child.

Why a parent: user code runs in the trainer, and user code can loop forever, call
os._exit, or die in C. The supervisor, which runs no user code,
- holds the run's trainer lock (drtui.runstore.owner) and shares it with the child, so a
  second trainer of the run is refused whatever it was started by;
- enforces training.time_limit_minutes from outside: a child still alive DRTUI_LIMIT_GRACE_S
  (default 60) past its limit is killed and the run marked failed with the reason;
- marks the run failed when the child ends without writing its final status (os._exit, a
  SystemExit the child could not catch, a crash, the OOM killer), naming the exit code;
- forwards SIGINT/SIGTERM (`drtui runs stop`) to the child, and its own death kills the child
  (PR_SET_PDEATHSIG): kill -9 of the supervisor ends the run as a whole.

state.json's pid and pid_start name the supervisor; worker_pid the child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from drtui.runstore import owner
from drtui.runstore.store import ACTIVE, Run, StateError

GRACE_ENV = "DRTUI_LIMIT_GRACE_S"
DEFAULT_GRACE_S = 60.0
LOCK_FD_ENV = "DRTUI_TRAINER_LOCK_FD"
BUSY_EXIT = 3


def supervise(run_dir: str, *, resume: bool, trace_all: bool) -> int:
    path = Path(run_dir).resolve()
    try:
        lock = owner.acquire(path)
    except owner.TrainerBusy as busy:
        print(f"ERROR: not started: {busy}", flush=True)
        return BUSY_EXIT  # the live trainer's state is left as it wrote it
    except OSError as err:
        print(f"ERROR: {path}: not a run folder drtui can use ({err.strerror or err})",
              flush=True)
        return 2
    pending: list[int] = []  # signals that came before the child could handle them
    ready = [False]
    children: list[subprocess.Popen] = []

    def forward(signum, _frame):
        if ready[0]:
            children[0].send_signal(signum)
        else:
            pending.append(signum)

    # in before our pid is in state.json: `runs stop` signals as soon as it reads the pid
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    run = Run(path)
    run.update(pid=os.getpid(), pid_start=owner.start_time(os.getpid()))
    _end_torn_line(run.log_path)
    grace = _grace()
    limit_s = _limit_s(path)
    argv = [sys.executable, "-m", "drtui.train", str(path), "--worker"]
    argv += (["--resume"] if resume else []) + (["--trace-all"] if trace_all else [])
    child = subprocess.Popen(argv, pass_fds=(lock,), env={**os.environ, LOCK_FD_ENV: str(lock)},
                             preexec_fn=_die_with_parent)
    children.append(child)
    started = time.monotonic()
    over = None
    while True:
        try:
            code = child.wait(timeout=0.25)
            break
        except subprocess.TimeoutExpired:
            pass
        if not ready[0] and _child_ready(run, child.pid):
            ready[0] = True  # its handlers are installed: a stop now saves a checkpoint
            for signum in pending:
                child.send_signal(signum)
        if time.monotonic() > _deadline(run, started, limit_s) + grace:
            over = time.monotonic() - started
            child.kill()
    _conclude(run, code, over, limit_s, grace)
    return code if code >= 0 else 1


def _conclude(run: Run, code: int, over: float | None, limit_s: float, grace: float) -> None:
    """The child ended: if it said nothing of how (status still active), say it."""
    try:
        status = run.reload().status
    except StateError:
        status = "running"
    if status not in ACTIVE:
        return
    if over is not None:
        message = (f"the time limit ({limit_s / 60:g} min) passed and the trainer had not "
                   f"stopped {grace:g} s later (a reward_function that never returns?): ended "
                   f"after {over:.0f} s; the checkpoint of its last complete iteration stands")
    elif code < 0:
        message = (f"the trainer was killed by signal {-code} "
                   f"({_signal_name(-code)}; out of memory?); the checkpoint of its last "
                   "complete iteration stands")
    else:
        message = (f"the trainer exited with code {code} without finishing (a reward_function "
                   "that calls os._exit or exit, or a crash); the checkpoint of its last "
                   "complete iteration stands")
    print(f"ERROR: training failed: {message}", flush=True)
    run.update(status="failed", error=message, ended=time.time())


def _end_torn_line(log: Path) -> None:
    """A trainer killed mid-line left its last log line without a newline: end it, so the
    new trainer's first line is not glued to it."""
    try:
        with open(log, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            torn = fh.read(1) != b"\n"
    except OSError:  # missing or empty
        return
    if torn:
        print(flush=True)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


def _grace() -> float:
    try:
        return max(1.0, float(os.environ.get(GRACE_ENV, DEFAULT_GRACE_S)))
    except ValueError:
        return DEFAULT_GRACE_S


def _limit_s(path: Path) -> float:
    """training.time_limit_minutes in seconds (the longest allowed when the session cannot
    be read: the child reports that problem itself)."""
    try:
        from drtui.session import store as sessions

        return sessions.load(path / "session.toml", check=False).training.time_limit_minutes * 60.0
    except Exception:  # noqa: BLE001 - any unreadable session: the child names it
        return 7 * 24 * 3600.0


def _child_ready(run: Run, pid: int) -> bool:
    """The child recorded its pid, which it does once its signal handlers are installed."""
    try:
        return run.reload().state.get("worker_pid") == pid
    except StateError:
        return False


def _deadline(run: Run, started: float, limit_s: float) -> float:
    """When the time limit falls (monotonic clock): the limit from the supervisor's start, or
    sooner when the child recorded its own (a resumed run has used some of it already)."""
    deadline = started + limit_s
    try:
        at = run.reload().state.get("limit_at")
    except StateError:
        at = None
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        deadline = min(deadline, time.monotonic() + (at - time.time()))
    return deadline


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the supervisor dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the supervisor died before the line above
        os._exit(1)
