"""Reward-function scenario templates: documented, validated parameters rendered through
jinja2 (assets/rewards/<name>.py.j2) into a reward_function.py that imports only `math`.

Each template's code is written to return a finite float within the simulator's +-1e5 at
any parameter values its ranges and cross-field rules allow (no division by a value that can
reach zero, capped ratios); the tests check it on sampled params of every shipped track.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class RewardParamSpec:
    type: type  # float | int | bool
    default: Any
    help: str
    low: float | None = None  # inclusive bounds; None for bool
    high: float | None = None

    def problem(self, value: Any) -> str | None:
        """Why value breaks this spec's type or range rule, or None."""
        if self.type is bool:
            return None if isinstance(value, bool) else "must be true or false"
        allowed = (int, float) if self.type is float else int
        if isinstance(value, bool) or not isinstance(value, allowed):
            return "must be an integer" if self.type is int else "must be a number"
        if value != value or value in (float("inf"), float("-inf")):
            return "must be a finite number"
        if self.low is not None and self.high is not None and \
                not self.low <= value <= self.high:
            return f"must be within {self.low:g} .. {self.high:g} (got {value:g})"
        return None


@dataclass(frozen=True)
class RewardTemplate:
    name: str
    title: str
    description: str
    params: dict[str, RewardParamSpec]
    # built from the track: rendered with its racing line (drtui.session.raceline), so the
    # session's own track (world or route file) and speed range are part of the code
    track: bool = False


def _f(default: float, low: float, high: float, help: str) -> RewardParamSpec:
    return RewardParamSpec(float, default, help, low, high)


_LINE_PARAMS = {
    "line_weight": _f(1.0, 0.0, 10.0, "weight of closeness to the racing line"),
    "speed_weight": _f(1.0, 0.0, 10.0, "weight of driving the speed planned at that point"),
    "distance_scale": _f(0.3, 0.05, 2.0, "distance (m) from the line at which closeness "
                         "reaches 0"),
    "heading_limit": _f(30.0, 1.0, 180.0, "heading off the line's direction (degrees) beyond "
                        "which the reward is cut to 1%"),
    "lap_bonus": _f(10.0, 0.0, 100.0, "bonus on completing the lap, times the line's lap "
                    "time over the lap's (up to 3x)"),
}

TEMPLATES: dict[str, RewardTemplate] = {t.name: t for t in [
    RewardTemplate(
        "centerline", "Follow the centre line",
        "Rewards staying close to the centre line: the reward steps down through three bands "
        "whose edges are fractions of the track width measured from the centre.",
        {
            "marker_1": _f(0.1, 0.01, 0.5, "edge of the best band, as a fraction of track width"),
            "marker_2": _f(0.25, 0.01, 0.5, "edge of the second band, as a fraction of width"),
            "marker_3": _f(0.5, 0.01, 0.5, "edge of the third band (0.5 is the border)"),
            "reward_1": _f(1.0, 0.0, 10.0, "reward inside the first band"),
            "reward_2": _f(0.5, 0.0, 10.0, "reward inside the second band"),
            "reward_3": _f(0.1, 0.0, 10.0, "reward inside the third band"),
            "offtrack_reward": _f(1e-3, 0.0, 1.0, "reward beyond the third band or off track"),
            "require_all_wheels": RewardParamSpec(
                bool, True, "give offtrack_reward whenever a wheel leaves the track"),
        }),
    RewardTemplate(
        "speed", "Go fast on the straights",
        "Rewards commanded speed above a threshold and scales the reward down when the car "
        "steers hard at that speed; below the threshold the reward grows with speed up to 1.",
        {
            "speed_threshold": _f(2.0, 0.1, 4.0, "speed (m/s) from which speed earns a bonus"),
            "speed_weight": _f(1.0, 0.0, 10.0, "bonus at 4 m/s, scaled linearly with speed"),
            "steering_threshold": _f(15.0, 0.0, 30.0, "steering (degrees) that counts as hard"),
            "steering_penalty": _f(0.5, 0.0, 1.0, "multiplier for hard steering at speed"),
            "offtrack_reward": _f(1e-3, 0.0, 1.0, "reward when a wheel is off the track"),
        }),
    RewardTemplate(
        "object_avoidance", "Avoid objects",
        "Rewards staying on the track and out of the lane of the next object ahead: closer than "
        "safe_distance in its lane the avoidance reward ramps down, and it is minimal within "
        "danger_distance or after a crash.",
        {
            "safe_distance": _f(0.8, 0.2, 5.0, "distance (m) to the next object below which "
                                "sharing its lane is penalised"),
            "danger_distance": _f(0.3, 0.05, 2.0, "distance (m) to the next object within which "
                                  "sharing its lane earns the minimum"),
            "avoid_weight": _f(4.0, 0.0, 10.0, "weight of the avoidance reward"),
            "lane_weight": _f(1.0, 0.0, 10.0, "weight of the stay-on-track reward"),
        }),
    RewardTemplate(
        "head_to_head", "Race bot cars",
        "Rewards speed while keeping a gap to the bot car ahead in the same lane, and adds a "
        "bonus while passing a bot car in the other lane; a crash earns the minimum.",
        {
            "safe_gap": _f(1.0, 0.1, 5.0, "gap (m, along the track) to a bot ahead in the same "
                           "lane below which the reward shrinks"),
            "overtake_window": _f(1.5, 0.1, 5.0, "distance (m, along the track) of a bot in the "
                                  "other lane that counts as passing it"),
            "overtake_bonus": _f(0.5, 0.0, 5.0, "bonus while passing a bot in the other lane"),
            "speed_weight": _f(1.0, 0.0, 5.0, "bonus at 4 m/s, scaled linearly with speed"),
        }),
    RewardTemplate(
        "time_trial", "Lap-time pace",
        "Rewards progress per step against the pace of a target lap time, with a bonus for "
        "finishing the lap faster; any wheel off the track gives offtrack_reward.",
        {
            "target_lap_time": _f(15.0, 5.0, 300.0, "lap time (s) whose pace earns pace_weight"),
            "pace_weight": _f(1.0, 0.0, 10.0, "reward for running exactly at the target pace "
                              "(pace counts up to 3x)"),
            "lap_bonus": _f(10.0, 0.0, 100.0, "bonus on completing the lap, times target/actual "
                            "lap time (up to 3x)"),
            "min_steps": RewardParamSpec(int, 5, "steps before pace is judged (early pace is "
                                         "noisy)", 1, 150),
            "offtrack_reward": _f(1e-3, 0.0, 1.0, "reward when a wheel is off the track"),
        }),
    RewardTemplate(
        "raceline_time_trial", "Drive the racing line",
        "Rewards closeness to the track's racing line and the speed planned there, near zero "
        "when heading well off the line, and a bonus for a lap faster than the line's own lap "
        "time; any wheel off the track gives 0.001. The line of the session's track is "
        "embedded in the code.",
        _LINE_PARAMS, track=True),
    RewardTemplate(
        "raceline_object_avoidance", "Racing line, around objects",
        "The racing line's reward while the lane ahead is clear; when the next object is in "
        "the car's lane and closer than safe_distance, a reward ramping up with the distance "
        "to it instead (the minimum within danger_distance or after a crash). The line of the "
        "session's track is embedded in the code.",
        {**_LINE_PARAMS,
         "safe_distance": _f(0.8, 0.2, 5.0, "distance (m) to the next object below which "
                             "sharing its lane gives the avoidance reward"),
         "danger_distance": _f(0.3, 0.05, 2.0, "distance (m) to the next object within which "
                               "sharing its lane earns the minimum")},
        track=True),
]}


def _cross_problems(name: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    """Rules between parameters; `values` are resolved and individually valid."""
    out = []
    if name == "centerline":
        for a, b in (("marker_1", "marker_2"), ("marker_2", "marker_3")):
            if values[a] > values[b]:
                out.append((b, f"must be at least {a} ({values[a]:g}): markers ascend "
                               f"(got {values[b]:g})"))
    if name in ("object_avoidance", "raceline_object_avoidance"):
        danger, safe = values["danger_distance"], values["safe_distance"]
        if danger >= safe:
            out.append(("danger_distance",
                        f"must be less than safe_distance ({safe:g}) (got {danger:g})"))
    return out


def param_problems(name: str, params: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(param key, message) for every broken rule; empty when `params` render as they are."""
    template = TEMPLATES.get(name)
    if template is None:
        return [("template", f"unknown reward template {name!r}; known: {', '.join(TEMPLATES)}")]
    params = params or {}
    problems = [(k, f"unknown parameter for {name}; known: {', '.join(template.params)}")
                for k in params if k not in template.params]
    for key, spec in template.params.items():
        if key in params and (msg := spec.problem(params[key])) is not None:
            problems.append((key, msg))
    if not problems:
        problems += _cross_problems(name, resolved_params(name, params))
    return problems


def resolved_params(name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every parameter of template `name`, in spec order: the given value or the default.
    Unknown keys are dropped; values are not validated (see param_problems)."""
    params = params or {}
    return {k: params.get(k, spec.default) for k, spec in TEMPLATES[name].params.items()}


def _py(value: Any) -> str:
    """A Python literal that reads back as exactly this value (repr round-trips floats)."""
    if not isinstance(value, (bool, int, float)):
        raise TypeError(f"cannot render {value!r}")
    return repr(value)


@cache
def _environment():
    from importlib import resources

    import jinja2  # imported on first render: keeps this module cheap to import

    def load(filename: str) -> str:
        folder = resources.files("drtui.assets.rewards")
        return folder.joinpath(filename).read_text(encoding="utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["py"] = _py
    return env


def render(name: str, params: dict[str, Any] | None = None,
           track: dict[str, Any] | None = None) -> str:
    """reward_function.py source for template `name`; ValueError listing every problem.
    A template built from the track takes `track`, what its code embeds (the racing line's
    rows and figures, see drtui.raceline.rewards.line_context)."""
    problems = param_problems(name, params)
    if not problems and TEMPLATES[name].track and track is None:
        problems = [("template", f"{name} is built from a track's racing line: render it for a "
                                 "session (its [track]) or with `drtui raceline TRACK -o "
                                 "reward_function.py`")]
    if problems:
        lines = "\n".join(f"  {key}: {message}" for key, message in problems)
        raise ValueError(f"invalid reward parameters:\n{lines}")
    specs = TEMPLATES[name].params
    # an int given for a float parameter renders as a float literal (2 -> 2.0)
    values = {k: float(v) if specs[k].type is float else v
              for k, v in resolved_params(name, params).items()}
    template = _environment().get_template(f"{name}.py.j2")
    return template.render(template=TEMPLATES[name], values=values, **(track or {}))
