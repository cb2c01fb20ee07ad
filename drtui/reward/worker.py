"""The process that runs user reward code for drtui.reward.check (stdlib only, run with -I).

It reads one pickle from stdin: (source, samples, max_output_lines, max_text, memory_bytes,
cpu_seconds), limits its own address space and CPU time to those, then it writes
JSON lines to the file descriptor named in argv[1], one per event:
    {"ready": true}                                 before the user's code runs
    {"module": "ok" | "missing" | "<type name>"}    after the module body ran
    {"value": float} | {"type": name} | {"huge": sign}   one per reward_function call
    {"error": text, "line": n | null, "stage": "module" | "call"}   the first failure ends it
    {"print": text}                                 what the code print()ed
Nothing it writes is trusted by the parent: a message that does not parse is reported as such.
"""

from __future__ import annotations

import copy
import json
import numbers
import os
import pickle
import sys
import traceback
import types

FILENAME = "<reward_function.py>"


def _user_line(exc: BaseException) -> int | None:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == FILENAME]
    return frames[-1].lineno if frames else None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def main() -> None:
    out = os.fdopen(int(sys.argv[1]), "w", encoding="utf-8", errors="replace")
    source, samples, max_lines, max_text, memory, cpu = pickle.load(sys.stdin.buffer)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    except (ImportError, ValueError, OSError):  # no such limits here (Windows): the wall
        pass  # clock of the caller still holds
    printed = [0]

    def send(**event) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    def _print(*args, sep=" ", **_):  # print() must not reach a terminal, only the report
        if printed[0] < max_lines:
            printed[0] += 1
            send(print=(" " if sep is None else sep).join(map(str, args))[:max_text])

    send(ready=True)
    module = types.ModuleType("reward_function")
    module.__file__ = FILENAME
    module.__dict__["print"] = _print
    try:
        exec(compile(source, FILENAME, "exec"), module.__dict__)
    except BaseException as exc:  # noqa: BLE001 - SystemExit too: reported, not obeyed
        send(error=_describe(exc)[:max_text], line=_user_line(exc), stage="module")
        return
    fn = getattr(module, "reward_function", None)
    send(module="missing" if fn is None else "ok" if callable(fn) else type(fn).__name__)
    if not callable(fn):
        return
    for params in samples:
        try:
            value = fn(copy.deepcopy(params))
        except BaseException as exc:  # noqa: BLE001
            send(error=_describe(exc)[:max_text], line=_user_line(exc), stage="call")
            return
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            send(type=type(value).__name__[:max_text])
            continue
        try:
            send(value=float(value))
        except OverflowError:  # an int too large for a float
            send(huge=-1 if value < 0 else 1)


if __name__ == "__main__":
    main()
