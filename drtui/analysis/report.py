"""Every table of `drtui analyze` for one loaded input, built once and shown three ways: rich
tables, JSON (`--json`: the same tables as data) and the TUI's analysis screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from drtui.analysis import tables
from drtui.analysis.load import Loaded
from drtui.errors import InvalidInput


@dataclass
class Report:
    loaded: Loaded
    episodes: object  # DataFrame
    iterations: object
    laps: object
    evaluation: object
    actions: object  # actions x sections counts
    histogram: tuple  # (edges, counts) of completed lap times
    route: object | None = None  # (N, 6) waypoints of the track, when known
    heat: tables.Heatmap | None = None
    best: dict = field(default_factory=dict)  # episode -> (n, 2) path
    rescored: object | None = None  # episodes with new_reward
    steps: object | None = None  # the steps the filters keep (loaded.steps without filters)
    filters: list = field(default_factory=list)  # what --only / --section kept, in words
    exits: object | None = None  # views.exits: where and why each episode ended
    exits_table: object | None = None  # causes x sectors
    sector_times: object | None = None  # complete laps x sectors, seconds
    sectors: object | None = None  # per sector: best, best_episode, median
    best_possible: float = float("nan")  # the lap of the fastest sectors
    starts: object | None = None  # progress per starting waypoint
    heatmaps: dict = field(default_factory=dict)  # measure -> per-step values (of `steps`)


def route_of(world: str | None):
    """Waypoints of a world name or a route .npy file, or None if unknown."""
    from drtui.catalog.tracks import RouteError, waypoints_of

    if not world:
        return None
    try:
        return waypoints_of(world)
    except (RouteError, FileNotFoundError) as exc:
        raise InvalidInput([f"--world: {exc}"]) from None


def build(loaded: Loaded, *, sections: int = 10, best_n: int = 3, bins: int = 10,
          reward: str | Path | None = None, only: str | None = None,
          section: str | None = None, heatmaps: tuple[str, ...] = (),
          discount: float = 0.999) -> Report:
    import pandas as pd

    from drtui.analysis import views

    if sections < 1:
        raise InvalidInput(["--sections: must be at least 1"])
    try:
        route = route_of(loaded.world)
    except InvalidInput:
        if loaded.world_given:
            raise
        route = None  # a world named by the log that drtui has no waypoints for
        loaded.notes.append(f"no waypoints for {loaded.world}: no track pictures "
                            "(--world ROUTE.npy gives them)")
    steps = loaded.steps if loaded.has_steps else None
    n_wp = len(route) if route is not None else (
        int(steps["closest_waypoint"].max()) + 1 if steps is not None else None)
    eps = tables.episodes(steps) if steps is not None else pd.DataFrame(
        columns=list(tables.EPISODE_COLUMNS))
    rescored = per_step = None
    if reward is not None:
        if steps is None:
            raise InvalidInput([f"--reward: {loaded.path} has no per-step trace to re-score"])
        if loaded.world is None:
            raise InvalidInput(["--world: the track is unknown; name it to re-score "
                                "(a world name or a route .npy)"])
        from drtui.analysis.rescore import rescore

        rescored, per_step = rescore(steps, eps, loaded.world, reward)
        steps = steps.assign(new_reward=per_step)
    if (only or section) and steps is None:
        raise InvalidInput([f"--only/--section: {loaded.path} has no per-step trace to filter "
                            "(a simtrace CSV, a simulation log or an archive with them has)"])
    span = views.parse_section(section, n_wp)
    filters = []
    if steps is not None and (only or span):
        before = len(eps)
        steps, eps = views.apply_filters(steps, eps, only, span)
        filters = [f for f in (f"--only {only}" if only else "",
                               f"--section {span[0]}-{span[1]}" if span else "") if f]
        loaded.notes.append(f"{' '.join(filters)}: {len(eps)} of {before} episodes, "
                            f"{len(steps)} steps")
        if rescored is not None:
            rescored = rescored[rescored["episode"].isin(eps["episode"])]
    iters = tables.iterations(loaded, eps) if not filters else \
        tables.iterations_from_episodes(eps)
    lap_times = eps["lap_time"] if len(eps) else []
    if not len(eps) and loaded.metrics is not None:
        tr = loaded.metrics[loaded.metrics["phase"] == "training"]
        lap_times = tr[tr["complete"] == 1]["time"]
    has = steps is not None and len(steps) > 0
    report = Report(loaded, eps, iters, tables.laps(eps) if len(eps) else pd.DataFrame(),
                    tables.evaluation(loaded),
                    tables.actions_by_section(steps, sections, n_wp) if has
                    else pd.DataFrame(),
                    tables.lap_histogram(lap_times, bins), route, rescored=rescored,
                    steps=steps, filters=filters)
    if has:
        bounds = None
        if route is not None:
            xy = route[:, :6].reshape(-1, 2)
            bounds = (*xy.min(0), *xy.max(0))
        report.heat = tables.reward_heatmap(steps, bounds=bounds)
        report.best = tables.episode_paths(steps, tables.best_episodes(eps, best_n))
        report.exits = views.exits(steps, sections, n_wp)
        report.exits_table = views.exits_by_sector(report.exits, sections)
        report.sector_times = views.sector_times(steps, eps, sections, n_wp)
        report.sectors, report.best_possible = views.best_possible(report.sector_times)
        report.starts = views.starts(eps)
        for name in heatmaps:
            report.heatmaps[name] = views.measure(
                steps, name, discount=discount,
                new_reward=steps["new_reward"].to_numpy() if "new_reward" in steps else None)
    elif heatmaps:
        raise InvalidInput([f"--heatmap: {loaded.path} has no per-step trace"])
    return report


def to_json(report: Report, episodes_limit: int | None = None) -> dict:
    rec = tables.records
    eps = report.episodes
    edges, counts = report.histogram
    out = {
        "source": {"path": str(report.loaded.path), "kind": report.loaded.kind,
                   "world": report.loaded.world,
                   "steps": int(len(report.loaded.steps)) if report.loaded.has_steps else 0,
                   "trace_lines": report.loaded.trace_lines,
                   "garbled_lines": report.loaded.garbled, "notes": report.loaded.notes},
        "iterations": rec(report.iterations),
        "episodes": rec(eps.tail(episodes_limit) if episodes_limit else eps),
        "laps": rec(report.laps),
        "evaluation": rec(report.evaluation),
        "lap_time_histogram": {"edges": [float(e) for e in edges],
                               "counts": [int(c) for c in counts]},
        "actions_by_section": {
            "sections": [int(c) for c in report.actions.columns],
            "actions": {str(a): [int(v) for v in row]
                        for a, row in zip(report.actions.index, report.actions.to_numpy())},
        } if len(report.actions) else {"sections": [], "actions": {}},
    }
    if report.rescored is not None:
        out["rescored"] = rec(report.rescored)
    if report.exits is not None:
        out["filters"] = report.filters
        out["exits"] = rec(report.exits)
        out["exits_by_sector"] = {str(c): [int(v) for v in row] for c, row in
                                  zip(report.exits_table.index, report.exits_table.to_numpy())}
        out["sectors"] = rec(report.sectors)
        out["best_possible_lap"] = None if report.best_possible != report.best_possible \
            else report.best_possible
        out["starts"] = rec(report.starts)
    return out
