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
          reward: str | Path | None = None) -> Report:
    import pandas as pd

    if sections < 1:
        raise InvalidInput(["--sections: must be at least 1"])
    eps = tables.episodes(loaded.steps) if loaded.has_steps else pd.DataFrame(
        columns=list(tables.EPISODE_COLUMNS))
    iters = tables.iterations(loaded, eps)
    lap_times = eps["lap_time"] if len(eps) else []
    if not len(eps) and loaded.metrics is not None:
        tr = loaded.metrics[loaded.metrics["phase"] == "training"]
        lap_times = tr[tr["complete"] == 1]["time"]
    try:
        route = route_of(loaded.world)
    except InvalidInput:
        if loaded.world_given:
            raise
        route = None  # a world named by the log that drtui has no waypoints for
        loaded.notes.append(f"no waypoints for {loaded.world}: no track pictures "
                            "(--world ROUTE.npy gives them)")
    n_wp = None if route is None else len(route)
    report = Report(loaded, eps, iters, tables.laps(eps) if len(eps) else pd.DataFrame(),
                    tables.evaluation(loaded),
                    tables.actions_by_section(loaded.steps, sections, n_wp)
                    if loaded.has_steps else pd.DataFrame(),
                    tables.lap_histogram(lap_times, bins), route)
    if loaded.has_steps:
        bounds = None
        if route is not None:
            xy = route[:, :6].reshape(-1, 2)
            bounds = (*xy.min(0), *xy.max(0))
        report.heat = tables.reward_heatmap(loaded.steps, bounds=bounds)
        report.best = tables.episode_paths(loaded.steps, tables.best_episodes(eps, best_n))
    if reward is not None:
        if not loaded.has_steps:
            raise InvalidInput([f"--reward: {loaded.path} has no per-step trace to re-score"])
        if loaded.world is None:
            raise InvalidInput(["--world: the track is unknown; name it to re-score "
                                "(a world name or a route .npy)"])
        from drtui.analysis.rescore import rescore

        report.rescored, _ = rescore(loaded.steps, eps, loaded.world, reward)
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
    return out
