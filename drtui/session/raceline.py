"""A session's racing line: the K1999 line of its own track (its world's route or its
`[track] route` file, driven the way `reverse` says) planned for its action space's speed
range, computed once per track and range and kept in memory. The racing-line reward
templates and the action space "from the racing line" are built on it.

    line = session_line(session, base_dir)
    code = reward_code(session, base_dir)   # any [reward]: template, file or code
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from drtui.catalog.tracks import route_path
from drtui.problem import Problem


def speed_range(action_space) -> tuple[float, float]:
    """The (min, max) speed a line may plan for an action space; the car's whole range where
    the space has no usable one (a single speed plans from the car's slowest)."""
    from drtui.sim.car_spec import MAX_SPEED, MIN_SPEED

    try:
        lo, hi = action_space.speed_bounds()
    except (ValueError, AttributeError, TypeError):
        return MIN_SPEED, MAX_SPEED
    hi = min(max(float(hi), MIN_SPEED), MAX_SPEED)
    lo = min(max(float(lo), MIN_SPEED), hi)
    if hi <= MIN_SPEED:
        return MIN_SPEED, MAX_SPEED
    return (lo if lo < hi else MIN_SPEED), hi


@lru_cache(maxsize=32)
def _line(source: str, stamp: tuple, reverse: bool, lo: float, hi: float):
    from drtui.catalog.tracks import waypoints_of
    from drtui.raceline.line import racing_line
    from drtui.raceline.speed import CarLimits

    waypoints = waypoints_of(source)
    if reverse:
        waypoints = waypoints[::-1].copy()
    return racing_line(waypoints, limits=CarLimits(lo, hi))


def track_line(world: str, route: str | Path | None = None, reverse: bool = False,
               speeds: tuple[float, float] | None = None, base_dir: Path | None = None):
    """The racing line (drtui.raceline.line.RacingLine) of a world or a route file, for a
    speed range (default the car's); cached while the route file is unchanged."""
    from drtui.sim.car_spec import MAX_SPEED, MIN_SPEED

    lo, hi = speeds or (MIN_SPEED, MAX_SPEED)
    if route:
        path = route_path(route, base_dir).resolve()
        st = path.stat()  # FileNotFoundError: the route's own problem (track.route)
        return _line(str(path), (st.st_mtime_ns, st.st_size), bool(reverse), lo, hi)
    return _line(world, (), bool(reverse), lo, hi)


def session_line(session, base_dir: Path | None = None):
    """The racing line of a session's track for its action space's speed range."""
    t = session.track
    return track_line(t.world, t.route, t.reverse, speed_range(session.action_space), base_dir)


def track_label(session) -> str:
    t = session.track
    return (t.route or t.world) + (" (reversed)" if t.reverse else "")


def reward_code(session, base_dir: Path | None = None) -> str:
    """The reward_function.py a session's [reward] template renders to; a template built from
    the track embeds the racing line of the session's own track. ValueError names the
    problem (an unknown template, a parameter's rule, a route that cannot be read)."""
    from drtui.reward import templates

    r = session.reward
    template = templates.TEMPLATES.get(r.template)
    if template is None or not template.track or templates.param_problems(r.template, r.params):
        return templates.render(r.template, r.params)  # raises with every problem
    from drtui.catalog.tracks import RouteError
    from drtui.raceline.rewards import line_context

    try:
        line = session_line(session, base_dir)
    except (RouteError, OSError, ValueError) as exc:
        raise ValueError(f"{r.template} needs the racing line of the session's track, which "
                         f"cannot be computed: {exc}") from None
    return templates.render(r.template, r.params, line_context(line, track_label(session)))


def reward_problem(session, base_dir: Path | None = None) -> tuple[str | None, Problem | None]:
    """(code, None) or (None, the problem at reward.template)."""
    try:
        return reward_code(session, base_dir), None
    except Exception as exc:  # noqa: BLE001 - the template rules name the key already
        return None, Problem("reward.template", str(exc))


def line_action_space(line, n: int | None = None, seed: int = 0):
    """A discrete ActionSpace of `n` actions from a racing line (drtui.raceline.actions)."""
    from drtui.raceline.actions import DEFAULT_ACTIONS, line_actions
    from drtui.session.actions import Action, ActionSpace

    return ActionSpace(type="discrete", actions=[
        Action(**a) for a in line_actions(line, n or DEFAULT_ACTIONS, seed)])


def map_line(source: str, reverse: bool = False, workspace: Path | None = None):
    """The racing line's points (M, 2) to draw on a map of `source` (a world name or a
    route .npy, as catalog.tracks.route_source gives), cached under the workspace."""
    from drtui.catalog.tracks import waypoints_of
    from drtui.raceline.cache import cache_folder, line_points

    waypoints = waypoints_of(source)
    if reverse:
        waypoints = waypoints[::-1].copy()
    return line_points(waypoints, None if workspace is None else cache_folder(workspace))
