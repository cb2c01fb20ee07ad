"""Racing-line reward functions: a reward_function.py with the line embedded as a plain list
(RACING_LINE = [[x, y, speed], ...]), importing only `math`, so it runs unchanged in
DRfC, DeepRacer on AWS and drtui's simulator. Templates assets/rewards/raceline_*.py.j2."""

from __future__ import annotations

from typing import Any

from drtui.raceline.line import RacingLine

TITLES = {
    "raceline_time_trial": (
        "Drive the racing line",
        "Rewards closeness to the racing line and the speed planned there, near zero when "
        "heading well off the line, and a bonus for a lap faster than the line's own lap "
        "time; any wheel off the track gives 0.001."),
    "raceline_object_avoidance": (
        "Racing line, around objects",
        "The racing line's reward while the lane ahead is clear; when the next object is in "
        "the car's lane and closer than safe_distance, a reward ramping up with the distance "
        "to it instead (the minimum within danger_distance or after a crash)."),
}
DEFAULTS: dict[str, dict[str, float]] = {
    "raceline_time_trial": {"line_weight": 1.0, "speed_weight": 1.0, "distance_scale": 0.3,
                            "heading_limit": 30.0, "lap_bonus": 10.0},
}
DEFAULTS["raceline_object_avoidance"] = {**DEFAULTS["raceline_time_trial"],
                                         "safe_distance": 0.8, "danger_distance": 0.3}


def render_line_reward(name: str, line: RacingLine, track: str = "",
                       params: dict[str, Any] | None = None) -> str:
    """reward_function.py source of racing-line template `name` for `line`."""
    from drtui.reward.templates import _environment

    if name not in TITLES:
        raise ValueError(f"unknown racing-line reward {name!r}; known: {', '.join(TITLES)}")
    unknown = set(params or {}) - set(DEFAULTS[name])
    if unknown:
        raise ValueError(f"unknown parameters for {name}: {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(DEFAULTS[name])}")
    values = {k: float((params or {}).get(k, v)) for k, v in DEFAULTS[name].items()}
    rows = [[round(float(x), 4), round(float(y), 4), round(float(v), 3)]
            for (x, y), v in zip(line.points, line.speed)]
    title, description = TITLES[name]
    return _environment().get_template(f"{name}.py.j2").render(
        name=name, title=title, description=description, values=values, line=rows,
        track=track or "a route", method=line.method, points=len(rows),
        length=f"{line.length_m:.2f}", lap_time=round(line.lap_time_s, 3),
        speed_range=f"{line.limits.min_speed:g}..{line.limits.max_speed:g}",
        margin=f"{line.margin_m:g}")
