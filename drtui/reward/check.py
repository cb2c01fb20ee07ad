"""Run user reward code against sample params, as the simulator would, for a live editor.

The code runs in a separate worker process (drtui/reward/worker.py, started with `python -I`
and a clean environment, in a temporary folder), so a loop, a crash, `os._exit` or a huge
allocation in the user's code never freezes or ends the caller. The worker is limited to
MEMORY_LIMIT_BYTES of address space and CPU time; the caller waits CALL_TIMEOUT_S for the
module body and for each call, then kills the worker's whole process group. It compiles the
code as `<reward_function.py>`, executes it in a fresh module namespace and calls
`reward_function` with a deep copy of each params dict, as simapp does. Each return value must
be a real number, finite and within +-1e5 (simapp raises RewardFunctionError otherwise).
What the worker sends back is JSON, read with size limits and never trusted further.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FILENAME = "<reward_function.py>"
CALL_TIMEOUT_S = 2.0
START_TIMEOUT_S = 15.0  # a fresh interpreter on a loaded machine, before any user code runs
MEMORY_LIMIT_BYTES = 1 << 30
REWARD_LIMIT = 1e5
DEFAULT_WORLD = "reInvent2019_track"
MAX_OUTPUT_LINES = 200
MAX_TEXT = 500  # characters kept of one printed line or one error message
_MAX_REPLY_BYTES = 4 << 20  # all the worker may send; more is a problem, not a hang
WORKER = Path(__file__).with_name("worker.py")


@dataclass
class RewardCheck:
    ok: bool
    error: str | None = None
    line: int | None = None  # 1-based line in the user's source, where known
    rewards: list[float] = field(default_factory=list)
    calls: int = 0  # calls to reward_function that returned or raised
    output: list[str] = field(default_factory=list)  # what the code print()ed, first lines


def _module(code: types.CodeType) -> types.ModuleType:
    module = types.ModuleType("reward_function")
    module.__file__ = FILENAME
    exec(code, module.__dict__)
    return module


def load_reward_function(path_or_source: str | os.PathLike) -> Callable[[dict], float]:
    """The `reward_function` defined by a file (a Path, or a str naming an existing file) or
    by source text, in this process (for the trainer, which is itself a separate process).
    Raises SyntaxError / the module's own error, or ValueError when it defines no callable
    reward_function."""
    source = path_or_source
    if isinstance(source, os.PathLike) or ("\n" not in source and os.path.isfile(source)):
        source = Path(source).read_text(encoding="utf-8")
    fn = getattr(_module(compile(source, FILENAME, "exec")), "reward_function", None)
    if not callable(fn):
        raise ValueError("the code defines no callable reward_function(params)")
    return fn


def _reward_problem(event: dict, index: int) -> tuple[str | None, float | None]:
    """(problem, reward) for one call's reply from the worker."""
    if "type" in event:
        return (f"reward_function returned {event['type']} at sample {index}; "
                "it must return a number (bool is not a number)"), None
    if "huge" in event:
        return (f"reward at sample {index} is an integer too large for a float, outside "
                "±1e5"), None
    value = event.get("value")
    if not isinstance(value, float):
        return "the reward check sent an unreadable reply", None
    if not math.isfinite(value):
        return f"reward {value} at sample {index} is not finite", None
    if not -REWARD_LIMIT <= value <= REWARD_LIMIT:
        return f"reward {value:g} at sample {index} is outside ±1e5", None
    return None, value


def _worker_env() -> dict[str, str]:
    """Nothing of the caller's environment (no keys, no tokens): what Python needs, one thread
    per numeric library."""
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if "SYSTEMROOT" in os.environ:  # Windows cannot start Python without it
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    return env


class _Replies:
    """JSON lines from the worker's report pipe, each awaited until a deadline."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""
        self._total = 0
        self._selector = selectors.DefaultSelector()
        self._selector.register(fd, selectors.EVENT_READ)
        self.closed = False

    def next(self, deadline: float) -> dict | None:
        """The next event; None at the deadline or once the worker closed the pipe (see
        `closed`). Raises ValueError for a reply that is not one JSON object or too large."""
        while b"\n" not in self._buffer:
            if self.closed:
                return None
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                return None
            chunk = os.read(self._fd, 65536)
            self._total += len(chunk)
            if self._total > _MAX_REPLY_BYTES:
                raise ValueError("the reward check sent more than 4 MiB")
            if not chunk:
                self.closed = True
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        event = json.loads(line)
        if not isinstance(event, dict):
            raise ValueError("not a JSON object")
        return event

    def close(self) -> None:
        self._selector.close()
        os.close(self._fd)


def _ended(proc: subprocess.Popen, where: str) -> str:
    """Why the worker stopped by itself: its exit status or signal."""
    try:
        code = proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        return f"the reward check stopped answering {where}"
    if code < 0:
        name = signal.Signals(-code).name
        why = " (its CPU time limit)" if name == "SIGXCPU" else ""
        return f"the reward code was killed by {name}{why} {where}"
    return (f"the reward code ended the check process (exit status {code}) {where}: a reward "
            "function must return a number, not exit")


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its group: whatever the code forked goes too
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def check_reward_code(source: str, samples: list[dict] | None = None,
                      world: str | None = None) -> RewardCheck:
    """Compile `source`, then call its reward_function on each sample (by default 32 params
    dicts sampled on `world`, or DEFAULT_WORLD), in a worker process. Stops at the first
    problem."""
    try:
        compile(source, FILENAME, "exec")  # syntax errors here, without a process
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return RewardCheck(False, f"{type(exc).__name__}: {exc.msg}{where}", exc.lineno)
    except ValueError as exc:  # e.g. null bytes in the source
        return RewardCheck(False, f"cannot compile: {exc}")
    if samples is None:
        from drtui.reward.params import sample_params

        samples = sample_params(world or DEFAULT_WORLD, n=32)
    cpu_s = math.ceil(CALL_TIMEOUT_S * (len(samples) + 1)) + 5  # a backstop to the wall clock
    job = pickle.dumps((source, list(samples), MAX_OUTPUT_LINES, MAX_TEXT,
                        MEMORY_LIMIT_BYTES, cpu_s))
    check = RewardCheck(ok=False)
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryDirectory(prefix="drtui-reward-") as scratch:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", str(WORKER), str(write_fd)], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,),
                cwd=scratch, env=_worker_env(), start_new_session=True)
        except OSError as exc:
            os.close(read_fd)
            os.close(write_fd)
            check.error = f"cannot start the reward check: {exc}"
            return check
        os.close(write_fd)
        replies = _Replies(read_fd)
        try:
            _converse(proc, job, replies, len(samples), check)
        finally:
            _kill(proc)
            replies.close()
    return check


def _converse(proc: subprocess.Popen, job: bytes, replies: _Replies, n: int,
              check: RewardCheck) -> None:
    """Feed the worker its job and fill `check` from its replies, stage by stage."""
    try:
        if proc.stdin is not None:  # started with stdin=PIPE
            proc.stdin.write(job)
            proc.stdin.close()
    except OSError:
        pass  # it died at once: the replies say so

    def stage(timeout: float, what: str, where: str, during: str = "") -> dict | None:
        """The next reply that is not a print; None (check.error set) when the worker timed
        out, stopped or sent nonsense."""
        deadline = time.monotonic() + timeout
        try:
            while (event := replies.next(deadline)) is not None and "print" in event:
                if len(check.output) < MAX_OUTPUT_LINES:
                    check.output.append(str(event["print"])[:MAX_TEXT])
        except (ValueError, UnicodeDecodeError) as exc:
            check.error = f"the reward check sent an unreadable reply {during or where} ({exc})"
            return None
        if event is None:
            check.error = (_ended(proc, during or where) if replies.closed else
                           f"{what} took longer than {CALL_TIMEOUT_S:g} s {where}")
        return event

    def user_error(event: dict, where: str) -> bool:
        """The user's code raised: say what, where, and at which line."""
        if "error" not in event:
            return False
        check.error = f"{str(event['error'])[:MAX_TEXT]} {where}"
        if check.error.startswith("MemoryError"):
            check.error += f" (the reward check may use {MEMORY_LIMIT_BYTES >> 20} MiB)"
        line = event.get("line")
        check.line = line if isinstance(line, int) and not isinstance(line, bool) else None
        return True

    if stage(START_TIMEOUT_S, "starting the reward check", "before loading the module") is None:
        return
    if (event := stage(CALL_TIMEOUT_S, "the module", "to load",
                       "while loading the module")) is None:
        return
    if user_error(event, "(while loading the module)"):
        return
    module = event.get("module")
    if module == "missing":
        check.error = "the code does not define reward_function(params)"
        return
    if module != "ok":
        check.error = f"reward_function must be a function, not {str(module)[:40]}"
        return
    for index in range(n):
        if (event := stage(CALL_TIMEOUT_S, "reward_function", f"at sample {index}")) is None:
            return
        check.calls += 1
        if user_error(event, f"at sample {index}"):
            return
        problem, value = _reward_problem(event, index)
        if problem is not None or value is None:
            check.error = problem or "the reward check sent an unreadable reply"
            return
        check.rewards.append(value)
    check.ok = True
