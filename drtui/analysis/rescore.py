"""Re-score a log with another reward_function.py: the params of every step are rebuilt from
the logged position and heading with the simulator's geometry (drtui.sim.trace), the user's
function is called on each, and the new episode totals are set beside the logged ones.

As in DeepRacer, the first step of an episode (`prepare`) is not scored: its reward is 0.
Whatever the function prints (at import or per step) goes to stderr, as the simulator's log
would hold it, so `--json` on stdout stays one JSON document.
"""

from __future__ import annotations

import contextlib
import csv
import math
import numbers
import sys
import tempfile
from pathlib import Path

from drtui.errors import InvalidInput

_TRACE_COLUMNS = ("episode", "steps", "X", "Y", "yaw", "steer", "throttle", "tstamp",
                  "episode_status")


def _write_trace_csv(steps, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(_TRACE_COLUMNS)
        cols = [steps[c].tolist() for c in ("unique_episode", "steps", "x", "y", "yaw",
                                             "steering_angle", "speed", "tstamp",
                                             "episode_status")]
        w.writerows(zip(*cols))


def _reward_problem(value) -> str | None:
    """The rule a returned reward breaks (drtui.reward.check's rules), or None."""
    from drtui.reward.check import REWARD_LIMIT

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return f"it must return a number, not {type(value).__name__}"
    if not math.isfinite(value):
        return "a reward must be finite"
    if not -REWARD_LIMIT <= value <= REWARD_LIMIT:
        return "a reward must be within ±1e5"
    return None


def new_rewards(steps, world: str, reward_file: str | Path, *, reverse: bool = False):
    """The reward `reward_file` gives every step (numpy array aligned with `steps`)."""
    with contextlib.redirect_stdout(sys.stderr):  # the user's prints: not into --json
        return _new_rewards(steps, world, reward_file, reverse)


def _new_rewards(steps, world: str, reward_file: str | Path, reverse: bool):
    import numpy as np

    from drtui.reward.check import load_reward_function
    from drtui.sim.trace import trace

    try:
        fn = load_reward_function(Path(reward_file))
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput([f"--reward: {reward_file}: {exc}"]) from None
    except Exception as exc:  # noqa: BLE001 - the module's own code failed at import
        raise InvalidInput([f"--reward: {reward_file}: {type(exc).__name__}: {exc}"]) from None
    out = np.zeros(len(steps))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace.csv"
        _write_trace_csv(steps, path)
        try:
            records = trace(world, path, reverse=reverse, waypoints=True)
            for i, rec in enumerate(records):
                if rec["episode_status"] == "prepare":
                    continue
                try:
                    value = fn(rec["params"])
                except Exception as exc:  # noqa: BLE001 - the user's code
                    raise InvalidInput([f"--reward: reward_function failed at episode "
                                        f"{rec['episode']} step {rec['steps']}: "
                                        f"{type(exc).__name__}: {exc}"]) from None
                problem = _reward_problem(value)
                if problem:
                    raise InvalidInput([f"--reward: reward_function returned {value!r} at "
                                        f"episode {rec['episode']} step {rec['steps']}: "
                                        f"{problem}"])
                out[i] = float(value)
        except FileNotFoundError as exc:
            raise InvalidInput([f"--world: {exc}"]) from None
    return out


def rescore(steps, eps, world: str, reward_file: str | Path, *, reverse: bool = False):
    """Episodes table with `new_reward` (the sum per episode) beside `reward`, and the
    per-step rewards."""
    import pandas as pd

    per_step = new_rewards(steps, world, reward_file, reverse=reverse)
    sums = pd.Series(per_step).groupby(steps["unique_episode"].to_numpy()).sum()
    out = eps[["episode", "iteration", "progress", "reward"]].copy()
    out["new_reward"] = out["episode"].map(sums).to_numpy()
    return out, per_step
