# Over 450 lines: a space file's schema: parsing, checks and applying it to a session read the same
# key paths, kept together so they cannot drift.
"""What a study tunes: a search space over a session's hyperparameters, its action space's
speed limits and its reward template's numeric parameters.

Each dimension is named by its key path, which is also its Optuna parameter name:

    hyperparameters.<key>          any key the algorithm uses (catalog.algorithms)
    action_space.min_speed         the slowest / fastest speed of the action space
    action_space.max_speed         (continuous range, generator levels, or an action list
                                   whose speeds are spread linearly between the two)
    reward.params.<name>           a parameter of the session's reward template

A space file (TOML, `drtui tune --space FILE`) has one entry per dimension:

    [hyperparameters]
    lr = { low = 1e-5, high = 1e-3, log = true }
    batch_size = { choices = [64, 128] }
    num_epochs = { low = 3, high = 10 }
    [action_space]
    max_speed = { low = 1.5, high = 4.0 }
    [reward.params]
    marker_1 = { low = 0.05, high = 0.12 }

Every entry is checked against the rule of the key it tunes (its allowed range, the
algorithm, the template), and the ranges together must not be able to break a rule that
ties keys together (centre-line markers ascend, min_speed below max_speed): every session a
trial can sample validates.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drtui.errors import InvalidInput
from drtui.problem import Problem, errors

# The hyperparameters each embedded algorithm reads (train/ppo.py, train/sac.py PPOConfig /
# SACConfig.from_session): tuning any other key would spend trials on nothing.
USED_BY = {
    "clipped_ppo": ("lr", "batch_size", "num_epochs", "beta_entropy", "discount_factor",
                    "num_episodes_between_training", "exploration_type", "loss_type",
                    "e_greedy_value", "epsilon_steps"),
    "sac": ("lr", "batch_size", "discount_factor", "sac_alpha",
            "num_episodes_between_training", "loss_type"),
}
# keys a study sets itself, or that nothing reads
NOT_TUNABLE = {"term_cond_max_episodes": "set per trial by --iterations",
               "term_cond_avg_score": "the simulator parses it but never uses it",
               "stack_size": "the simulator fixes it at 1"}
SPEED_KEYS = ("min_speed", "max_speed")
ENTRY_KEYS = ("low", "high", "log", "step", "choices")
MAX_CORNERS = 4096  # corner checks enumerate every end of every coupled dimension


@dataclass(frozen=True)
class Dim:
    """One tuned key: a float or int range (optionally log-scaled or stepped), or choices."""

    key: str
    kind: str  # "float" | "int" | "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high),
                                   step=self.step, log=self.log)

    def ends(self) -> list[Any]:
        """The extreme values a trial can sample: what the corner checks try."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [float(self.low), float(self.high)]

    def describe(self) -> str:
        if self.kind == "categorical":
            return " | ".join(map(str, self.choices))
        text = f"{self.low:g} .. {self.high:g}"
        return text + (" (log)" if self.log else "") + (f" step {self.step:g}" if self.step else "")


@dataclass(frozen=True)
class Space:
    dims: tuple[Dim, ...]
    source: str  # "defaults" or the space file's name

    def sample(self, trial) -> dict[str, Any]:
        return {d.key: d.suggest(trial) for d in self.dims}

    def keys(self) -> list[str]:
        return [d.key for d in self.dims]


# --- what a key may take ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    """The rule of a tunable key: its type, its checker, whether ranges make sense."""

    type: type  # float | int | str | bool
    problem: Any  # value -> message | None
    ranged: bool = True  # False: choices only (strings, batch_size's fixed set)


def _target(session, key: str) -> tuple[_Target | None, str | None]:
    """The rule of a key path for this session, or (None, why it cannot be tuned)."""
    from drtui.catalog.algorithms import HYPERPARAMETERS
    from drtui.reward.templates import TEMPLATES
    from drtui.session.actions import MAX_SPEED, MIN_SPEED

    section, _, name = key.partition(".")
    algo = session.training.algorithm
    if section == "hyperparameters":
        spec = HYPERPARAMETERS.get(name)
        if spec is None:
            return None, f"unknown hyperparameter; known: {', '.join(HYPERPARAMETERS)}"
        if name in NOT_TUNABLE:
            return None, f"not tunable: {NOT_TUNABLE[name]}"
        if name not in USED_BY[algo]:
            users = [a for a, keys in USED_BY.items() if name in keys]
            return None, f"{algo} does not use it (only {', '.join(users)})"
        return _Target(spec.type, lambda v: spec.problem(v, algo),
                       ranged=spec.choices is None and spec.type is not str), None
    if section == "action_space":
        if name not in SPEED_KEYS:
            return None, f"unknown key; the action space tunes {' and '.join(SPEED_KEYS)}"
        if name == "min_speed" and _one_speed(session):
            return None, "this action space has a single speed: tune max_speed"

        def speed_problem(v):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return "must be a number"
            if not MIN_SPEED <= v <= MAX_SPEED:
                return f"must be within {MIN_SPEED:g} .. {MAX_SPEED:g} m/s (got {v:g})"
            return None

        return _Target(float, speed_problem), None
    if section == "reward" and name.startswith("params."):
        template = session.reward.template
        if template is None:
            return None, "the session's reward is not a template: it has no parameters"
        param = name[len("params."):]
        spec = TEMPLATES[template].params.get(param)
        if spec is None:
            return None, (f"unknown parameter of the {template} template; known: "
                          f"{', '.join(TEMPLATES[template].params)}")
        return _Target(spec.type, spec.problem, ranged=spec.type is not bool), None
    return None, "unknown key; tune hyperparameters.*, action_space.min_speed|max_speed " \
                 "or reward.params.*"


def _one_speed(session) -> bool:
    space = session.action_space
    if space.type == "continuous":
        return False
    if space.generator is not None:
        return space.generator.speed_levels == 1
    lo, hi = space.speed_bounds()
    return lo == hi


# --- defaults ----------------------------------------------------------------------------------

_PPO_DEFAULTS = (
    Dim("hyperparameters.lr", "float", 1e-5, 1e-3, log=True),
    Dim("hyperparameters.batch_size", "categorical", choices=(32, 64, 128, 256)),
    Dim("hyperparameters.num_epochs", "int", 3, 10),
    Dim("hyperparameters.beta_entropy", "float", 1e-4, 0.05, log=True),
    Dim("hyperparameters.discount_factor", "float", 0.9, 0.999),
    Dim("hyperparameters.num_episodes_between_training", "int", 5, 40),
)
_SAC_DEFAULTS = (
    Dim("hyperparameters.lr", "float", 1e-5, 1e-3, log=True),
    Dim("hyperparameters.batch_size", "categorical", choices=(32, 64, 128, 256)),
    Dim("hyperparameters.discount_factor", "float", 0.9, 0.999),
    Dim("hyperparameters.sac_alpha", "float", 0.05, 0.5),
    Dim("hyperparameters.num_episodes_between_training", "int", 1, 10),
)


def default_space(session) -> Space:
    """The algorithm's main hyperparameters, the top speed, and the reward template's numeric
    parameters between half and twice their value (those whose ranges could break a rule
    between parameters, such as ascending markers, are left out)."""
    from drtui.reward.templates import TEMPLATES, resolved_params

    dims = list(_SAC_DEFAULTS if session.training.algorithm == "sac" else _PPO_DEFAULTS)
    lo, hi = session.action_space.speed_bounds()
    low = round(hi * 0.75, 2) if _one_speed(session) else round(max(lo + 0.1, hi * 0.75), 2)
    if low < 4.0:
        dims.append(Dim("action_space.max_speed", "float", max(low, 0.1), 4.0))
    template = session.reward.template
    if template is not None:
        values = resolved_params(template, session.reward.params)
        kept: list[Dim] = []
        for name, spec in TEMPLATES[template].params.items():
            if spec.type is bool:
                continue
            value = values[name]
            a, b = max(spec.low, value / 2), min(spec.high, value * 2)
            if value == 0:
                a, b = spec.low, spec.low + (spec.high - spec.low) / 10
            if spec.type is int:
                a, b = math.ceil(a), math.floor(b)
            if a >= b:
                continue
            dim = Dim(f"reward.params.{name}", spec.type.__name__, a, b)
            if not _reward_corner_problems(session, kept + [dim]):
                kept.append(dim)
        dims += kept
    return Space(tuple(dims), "defaults")


# --- space files -------------------------------------------------------------------------------

def load_space(path: str | Path, session) -> Space:
    """A space file, every entry checked; InvalidInput names each broken rule's key path."""
    path = Path(path)
    label = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput([Problem("--space", f"{path}: no such space file")]) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput([Problem("--space", f"{path}: not valid TOML: {exc}")]) from None
    problems: list[Problem] = []
    dims: list[Dim] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(f"{label}:{key}", message))

    entries: list[tuple[str, Any]] = []
    for section, table in data.items():
        if section not in ("hyperparameters", "action_space", "reward"):
            bad(section, "unknown key; a space file has [hyperparameters], [action_space] "
                         "and [reward.params] tables")
            continue
        if not isinstance(table, dict):
            bad(section, "must be a table")
            continue
        if section == "reward":
            for key in table:
                if key != "params":
                    bad(f"reward.{key}", "unknown key; reward parameters go in [reward.params]")
            params = table.get("params", {})
            if not isinstance(params, dict):
                bad("reward.params", "must be a table")
                continue
            entries += [(f"reward.params.{k}", v) for k, v in params.items()]
        else:
            entries += [(f"{section}.{k}", v) for k, v in table.items()]
    for key, entry in entries:
        dim = _parse_entry(session, key, entry, bad)
        if dim is not None:
            dims.append(dim)
    if not entries and not problems:
        bad("", "the space tunes nothing: add at least one entry")
    space = Space(tuple(dims), label)
    if not problems:
        problems += check_space(space, session)
    if problems:
        raise InvalidInput(problems)
    return space


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_entry(session, key: str, entry: Any, bad) -> Dim | None:
    target, why = _target(session, key)
    if target is None:
        bad(key, why)
        return None
    if not isinstance(entry, dict):
        bad(key, "must be a table such as { low = 1, high = 2 } or { choices = [1, 2] }")
        return None
    ok = True
    for k in entry:
        if k not in ENTRY_KEYS:
            bad(f"{key}.{k}", f"unknown key; an entry has {', '.join(ENTRY_KEYS)}")
            ok = False
    if "choices" in entry:
        if any(k in entry for k in ("low", "high", "log", "step")):
            bad(key, "give either choices or low and high, not both")
            return None
        choices = entry["choices"]
        if not isinstance(choices, list) or not choices:
            bad(f"{key}.choices", "must be a non-empty list")
            return None
        for i, value in enumerate(choices):
            if target.type is float and _number(value):
                value = choices[i] = float(value)
            msg = target.problem(value)
            if msg:
                bad(f"{key}.choices[{i}]", msg)
                ok = False
        if len({repr(c) for c in choices}) != len(choices):
            bad(f"{key}.choices", "lists a value more than once")
            ok = False
        return Dim(key, "categorical", choices=tuple(choices)) if ok else None
    if not target.ranged:
        bad(key, "takes choices = [...] (its values are a fixed set)")
        return None
    if "low" not in entry or "high" not in entry:
        bad(key, "needs low and high, or choices")
        return None
    low, high = entry["low"], entry["high"]
    kind = "int" if target.type is int else "float"
    for end, value in (("low", low), ("high", high)):
        if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            bad(f"{key}.{end}", f"must be an integer (got {value!r})")
            ok = False
        elif not _number(value):
            bad(f"{key}.{end}", f"must be a number (got {value!r})")
            ok = False
        elif (msg := target.problem(float(value) if kind == "float" else value)):
            bad(f"{key}.{end}", msg)
            ok = False
    if not ok:
        return None
    if low >= high:
        bad(key, f"low ({low:g}) must be less than high ({high:g})")
        return None
    log = entry.get("log", False)
    if not isinstance(log, bool):
        bad(f"{key}.log", "must be true or false")
        return None
    if log and low <= 0:
        bad(f"{key}.log", f"a log scale needs low > 0 (got {low:g})")
        return None
    step = entry.get("step")
    if step is not None:
        if log:
            bad(f"{key}.step", "cannot be combined with log = true")
            return None
        if kind == "int" and (isinstance(step, bool) or not isinstance(step, int) or step < 1):
            bad(f"{key}.step", f"must be a positive integer (got {step!r})")
            return None
        if not _number(step) or step <= 0:
            bad(f"{key}.step", f"must be a positive number (got {step!r})")
            return None
        steps = (high - low) / step
        if abs(steps - round(steps)) > 1e-9:
            bad(f"{key}.step", f"high - low ({high - low:g}) must be a multiple of step "
                               f"({step:g})")
            return None
    if kind == "float":
        low, high = float(low), float(high)
        step = float(step) if step is not None else None
    return Dim(key, kind, low, high, log=log, step=step)


# --- whole-space checks ---------------------------------------------------------------------------

def _corners(dims: list[Dim]):
    if not dims or math.prod(len(d.ends()) for d in dims) > MAX_CORNERS:
        return []
    return [dict(zip((d.key for d in dims), values))
            for values in itertools.product(*(d.ends() for d in dims))]


def _reward_corner_problems(session, dims: list[Dim]) -> list[str]:
    from drtui.reward.templates import param_problems

    reward = [d for d in dims if d.key.startswith("reward.params.")]
    for corner in _corners(reward):
        params = dict(session.reward.params)
        params.update({k[len("reward.params."):]: v for k, v in corner.items()})
        problems = param_problems(session.reward.template, params)
        if problems:
            at = ", ".join(f"{k[len('reward.params.'):]}={v:g}" for k, v in corner.items())
            return [f"these ranges can sample {at}, where {problems[0][0]} "
                    f"{problems[0][1]}"]
    return []


def check_space(space: Space, session) -> list[Problem]:
    """Rules between dimensions: every corner of the coupled ranges must validate."""
    label = space.source
    out: list[Problem] = []
    for dim in space.dims:  # each end alone: rules such as e-greedy x continuous actions
        for value in dim.ends():
            try:
                apply(session, {dim.key: value})
            except InvalidInput as exc:
                out.append(Problem(f"{label}:{dim.key}", f"{value!r} breaks a session rule: "
                                                         f"{exc.problems[0]}"))
                break
    if out:
        return out
    out += [Problem(f"{label}:reward.params", m)
           for m in _reward_corner_problems(session, list(space.dims))]
    speed = [d for d in space.dims if d.key.startswith("action_space.")]
    for corner in _corners(speed):
        try:
            apply(session, corner)
        except InvalidInput as exc:
            at = ", ".join(f"{k.split('.')[-1]}={v:g}" for k, v in corner.items())
            out.append(Problem(f"{label}:action_space",
                               f"these ranges can sample {at}, where {exc.problems[0]}"))
            break
    return out


# --- applying a trial's values -------------------------------------------------------------------

def apply(session, params: dict[str, Any]):
    """A new Session: `session` with the sampled values; InvalidInput if it breaks a rule."""
    from drtui.session.store import to_data
    from drtui.session.validate import problems_in

    data = to_data(session)
    speeds: dict[str, float] = {}
    for key, value in params.items():
        section, _, name = key.partition(".")
        if section == "hyperparameters":
            data.setdefault("hyperparameters", {})[name] = value
        elif section == "action_space" and name in SPEED_KEYS:
            speeds[name] = float(value)
        elif section == "reward" and name.startswith("params."):
            data["reward"].setdefault("params", {})[name[len("params."):]] = value
        else:
            raise InvalidInput([Problem(key, "not a tunable key")])
    if speeds:
        _set_speeds(data["action_space"], session.action_space, speeds)
    tuned, problems = problems_in(data)
    if tuned is None or errors(problems):
        raise InvalidInput(problems)
    return tuned


def _set_speeds(data: dict, space, speeds: dict[str, float]) -> None:
    lo, hi = space.speed_bounds()
    new_lo, new_hi = speeds.get("min_speed", lo), speeds.get("max_speed", hi)
    if space.type == "continuous":
        data["speed"] = {"low": new_lo, "high": new_hi}
    elif space.generator is not None:
        data["generator"]["min_speed"], data["generator"]["max_speed"] = new_lo, new_hi
    else:  # an action list: spread its speeds linearly over the new range
        for action in data["actions"]:
            v = action["speed"]
            action["speed"] = round(new_hi if hi == lo else
                                    new_lo + (v - lo) * (new_hi - new_lo) / (hi - lo), 4)
