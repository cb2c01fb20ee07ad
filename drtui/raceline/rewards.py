"""Racing-line reward functions: a reward_function.py with the line embedded as a plain list
(RACING_LINE = [[x, y, speed], ...]), importing only `math`, so it runs unchanged in
DRfC, DeepRacer on AWS and drtui's simulator. Templates assets/rewards/raceline_*.py.j2;
their parameters are drtui.reward.templates' (track=True), checked like every template's."""

from __future__ import annotations

from typing import Any

from drtui.raceline.line import RacingLine
from drtui.reward.templates import TEMPLATES, render

TITLES = {name: (t.title, t.description) for name, t in TEMPLATES.items() if t.track}


def line_context(line: RacingLine, track: str = "") -> dict[str, Any]:
    """What a racing-line template embeds: the line's rows [x, y, planned speed] and figures."""
    rows = [[round(float(x), 4), round(float(y), 4), round(float(v), 3)]
            for (x, y), v in zip(line.points, line.speed)]
    return dict(line=rows, track=track or "a route", method=line.method, points=len(rows),
                length=f"{line.length_m:.2f}", lap_time=round(line.lap_time_s, 3),
                speed_range=f"{line.limits.min_speed:g}..{line.limits.max_speed:g}",
                margin=f"{line.margin_m:g}")


def render_line_reward(name: str, line: RacingLine, track: str = "",
                       params: dict[str, Any] | None = None) -> str:
    """reward_function.py source of racing-line template `name` for `line`."""
    if name not in TITLES:
        raise ValueError(f"unknown racing-line reward {name!r}; known: {', '.join(TITLES)}")
    return render(name, params, line_context(line, track))
