"""Run user reward code against sample params, as the simulator would, for a live editor.

The code runs in this process (no sandbox): it is compiled as `<reward_function.py>`, executed
in a fresh module namespace, and `reward_function` is called with a deep copy of each params
dict, as simapp does. Each return value must be a real number, finite and within +-1e5
(simapp raises RewardFunctionError otherwise). A worker thread runs the code so that a call
taking longer than CALL_TIMEOUT_S can be reported; Python cannot kill a thread, so a runaway
call keeps running in the background (a daemon thread, and later results are discarded).
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import queue
import threading
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FILENAME = "<reward_function.py>"
CALL_TIMEOUT_S = 2.0
REWARD_LIMIT = 1e5
DEFAULT_WORLD = "reInvent2019_track"
MAX_OUTPUT_LINES = 200


@dataclass
class RewardCheck:
    ok: bool
    error: str | None = None
    line: int | None = None  # 1-based line in the user's source, where known
    rewards: list[float] = field(default_factory=list)
    calls: int = 0  # calls to reward_function that returned or raised
    output: list[str] = field(default_factory=list)  # what the code print()ed, first lines


def _user_line(exc: BaseException) -> int | None:
    """The line of the innermost traceback frame that runs the user's code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == FILENAME]
    return frames[-1].lineno if frames else None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _module(code: types.CodeType, output: list[str] | None = None) -> types.ModuleType:
    module = types.ModuleType("reward_function")
    module.__file__ = FILENAME
    if output is not None:
        # print() in the user's code must not write over a full-screen terminal
        def _print(*args, sep=" ", **_):
            if len(output) < MAX_OUTPUT_LINES:
                output.append((" " if sep is None else sep).join(map(str, args)))
        module.print = _print
    exec(code, module.__dict__)
    return module


def load_reward_function(path_or_source: str | os.PathLike) -> Callable[[dict], float]:
    """The `reward_function` defined by a file (a Path, or a str naming an existing file) or
    by source text. Raises SyntaxError / the module's own error, or ValueError when it defines
    no callable reward_function."""
    source = path_or_source
    if isinstance(source, os.PathLike) or ("\n" not in source and os.path.isfile(source)):
        source = Path(source).read_text(encoding="utf-8")
    fn = getattr(_module(compile(source, FILENAME, "exec")), "reward_function", None)
    if not callable(fn):
        raise ValueError("the code defines no callable reward_function(params)")
    return fn


def _reward_problem(value, index: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return (f"reward_function returned {type(value).__name__} at sample {index}; "
                "it must return a number (bool is not a number)")
    if not math.isfinite(value):
        return f"reward {value} at sample {index} is not finite"
    if not -REWARD_LIMIT <= value <= REWARD_LIMIT:
        return f"reward {value:g} at sample {index} is outside ±1e5"
    return None


def _worker(code, samples, results: queue.Queue, stop: threading.Event, output: list[str]) -> None:
    """Exec the module, then call reward_function on a copy of each sample. Posts ("module",
    reward_function or None) or ("error", exc) first, then ("value", reward) or ("error", exc)
    per call; stops at the first error or once `stop` is set."""
    try:
        fn = getattr(_module(code, output), "reward_function", None)
    except BaseException as exc:  # noqa: BLE001 - any failure of user code is reported
        results.put(("error", exc))
        return
    results.put(("module", fn))
    if not callable(fn):
        return
    for params in samples:
        if stop.is_set():
            return
        try:
            results.put(("value", fn(copy.deepcopy(params))))
        except BaseException as exc:  # noqa: BLE001
            results.put(("error", exc))
            return


def check_reward_code(source: str, samples: list[dict] | None = None,
                      world: str | None = None) -> RewardCheck:
    """Compile `source`, then call its reward_function on each sample (by default 32 params
    dicts sampled on `world`, or DEFAULT_WORLD). Stops at the first problem."""
    try:
        code = compile(source, FILENAME, "exec")
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return RewardCheck(False, f"{type(exc).__name__}: {exc.msg}{where}", exc.lineno)
    except ValueError as exc:  # e.g. null bytes in the source
        return RewardCheck(False, f"cannot compile: {exc}")
    if samples is None:
        from drtui.reward.params import sample_params

        samples = sample_params(world or DEFAULT_WORLD, n=32)

    results: queue.Queue = queue.Queue()
    stop = threading.Event()
    output: list[str] = []
    worker = threading.Thread(target=_worker, args=(code, samples, results, stop, output),
                              name="reward-check", daemon=True)
    worker.start()
    check = RewardCheck(ok=False, output=output)

    def timeout(what: str, where: str) -> RewardCheck:
        stop.set()  # the thread itself cannot be stopped; it exits after this call returns
        check.error = f"{what} took longer than {CALL_TIMEOUT_S:g} s {where}"
        return check

    try:
        kind, value = results.get(timeout=CALL_TIMEOUT_S)
    except queue.Empty:
        return timeout("the module", "to load")
    if kind == "error":
        check.error = f"{_describe(value)} (while loading the module)"
        check.line = _user_line(value)
        return check
    if value is None:
        check.error = "the code does not define reward_function(params)"
        return check
    if not callable(value):
        check.error = f"reward_function must be a function, not {type(value).__name__}"
        return check
    for index in range(len(samples)):
        try:
            kind, value = results.get(timeout=CALL_TIMEOUT_S)
        except queue.Empty:
            return timeout("reward_function", f"at sample {index}")
        check.calls += 1
        if kind == "error":
            check.error, check.line = f"{_describe(value)} at sample {index}", _user_line(value)
            return check
        if (problem := _reward_problem(value, index)) is not None:
            stop.set()
            check.error = problem
            return check
        check.rewards.append(float(value))
    check.ok = True
    return check
