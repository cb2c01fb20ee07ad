"""The tables racers read off deepracer-analysis notebooks, from a `Loaded` input.

Per-episode figures follow deepracer-utils' AnalysisUtils.simulation_agg (steps = last - first
+ 1, time = sum of tstamp steps, distance = sum of front-point moves, speed = mean commanded
speed, complete = progress == 100). As there and in the official metrics, only a `prepare` row
starts the clock afresh: a continuous evaluation's laps 2 and later have no `prepare` row, and
their first step counts the time since the previous lap's last one (start_time of trial k is
metric_time of trial k-1). Logs without episode_status (15 fields), or an episode whose first row
follows another worker's, start at their first row. Per-iteration
figures follow analyze_training_progress (pandas' sample std); TrainingMetrics summaries follow
TrainingMetrics.getSummary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EPISODE_COLUMNS = ("episode", "iteration", "worker", "start_at", "steps", "progress", "time",
                   "dist", "speed", "reward", "complete", "lap_time", "status")


def episodes(steps):
    """One row per episode (unique_episode across workers)."""
    import numpy as np
    import pandas as pd

    if steps is None or steps.empty:
        return pd.DataFrame(columns=list(EPISODE_COLUMNS))
    df = steps
    key = df["unique_episode"].to_numpy()
    dt = np.diff(df["tstamp"].to_numpy(float), prepend=np.nan)
    start = clock_starts(df, dt)
    dt[start] = 0.0
    x, y = df["x"].to_numpy(float), df["y"].to_numpy(float)
    dd = np.hypot(np.diff(x, prepend=np.nan), np.diff(y, prepend=np.nan))
    dd[start] = 0.0
    work = pd.DataFrame({"episode": key, "iteration": df["iteration"].to_numpy(),
                         "worker": df["worker"].to_numpy(), "steps": df["steps"].to_numpy(),
                         "wp": df["closest_waypoint"].to_numpy(),
                         "progress": df["progress"].to_numpy(), "dt": dt, "dd": dd,
                         "speed": df["speed"].to_numpy(), "reward": df["reward"].to_numpy(),
                         "status": df["episode_status"].to_numpy(object)})
    g = work.groupby("episode", sort=True)
    out = pd.DataFrame({
        "iteration": g["iteration"].first(), "worker": g["worker"].first(),
        "start_at": g["wp"].first(), "steps": g["steps"].max() - g["steps"].min() + 1,
        "progress": g["progress"].max(), "time": g["dt"].sum(), "dist": g["dd"].sum(),
        "speed": g["speed"].mean(), "reward": g["reward"].sum(), "status": g["status"].last(),
    }).reset_index()
    out["complete"] = (out["progress"] == 100).astype(int)
    out["lap_time"] = out["time"].where(out["complete"] == 1)
    return out[list(EPISODE_COLUMNS)]


def clock_starts(df, dt):
    """Rows where an episode's clock starts at 0 (see the module's docstring)."""
    import numpy as np

    key = df["unique_episode"].to_numpy()
    status = df["episode_status"].to_numpy(object)
    worker = df["worker"].to_numpy()
    first = np.r_[True, key[1:] != key[:-1]]
    start = status == "prepare"
    start[0] = True
    if not (status != "").any():  # a format without episode_status
        return start | first
    other = np.r_[True, worker[1:] != worker[:-1]]
    return start | (first & (other | ~(dt >= 0)))


def _agg(g, col: str, prefix: str, out) -> None:
    out[f"{prefix}_mean"] = g[col].mean()
    out[f"{prefix}_std"] = g[col].std()


def iterations_from_episodes(eps):
    """Per iteration: episodes, mean/std of reward, progress and time, completion rate, and
    the mean/min/max time of completed laps."""
    import pandas as pd

    if eps.empty:
        return pd.DataFrame()
    g = eps.groupby("iteration")
    out = pd.DataFrame({"episodes": g.size()})
    _agg(g, "reward", "reward", out)
    _agg(g, "progress", "progress", out)
    _agg(g, "time", "time", out)
    out["completion_rate"] = g["complete"].mean()
    laps = eps[eps["progress"] == 100.0].groupby("iteration")["time"]
    out["lap_time_mean"] = laps.mean()
    out["lap_time_min"] = laps.min()
    out["lap_time_max"] = laps.max()
    return out.reset_index()


def iterations_from_metrics(metrics):
    """TrainingMetrics.getSummary(method='mean') per iteration, training and evaluation."""
    import pandas as pd

    cols = ["reward", "completion", "time", "complete"]
    parts = []
    for phase, prefix in (("training", "train"), ("evaluation", "eval")):
        sel = metrics[metrics["phase"] == phase]
        if sel.empty:
            continue
        g = sel.groupby("iteration")[cols]
        agg = g.mean()
        agg.columns = [f"{prefix}_{c}" for c in ("reward", "completion", "time", "completed")]
        agg[f"{prefix}_episodes"] = g.count()["complete"]
        parts.append(agg)
    return pd.concat(parts, axis=1, sort=True).reset_index() if parts else pd.DataFrame()


def iterations_from_log(log_episodes, events):
    """A training log without a trace: Training> episodes, plus the parser's iteration
    summaries (policy loss, entropy) where the log has them."""
    import pandas as pd

    rows = {}
    if log_episodes is not None:
        tr = log_episodes[log_episodes["phase"] == "training"]
        g = tr.groupby("iteration")
        df = pd.DataFrame({"episodes": g.size()})
        _agg(g, "reward", "reward", df)
        if tr["progress"].notna().any():
            _agg(g, "progress", "progress", df)
        rows = df
    out = pd.DataFrame(rows)
    if events:
        ev = pd.DataFrame([{"iteration": e.iteration, "policy_loss": e.policy_loss,
                            "entropy": e.entropy, "kl_divergence": e.kl_divergence}
                           for e in events]).set_index("iteration")
        out = out.join(ev, how="outer") if len(out) else ev
    out.index.name = "iteration"
    return out.reset_index()


def iterations(loaded, eps=None):
    if loaded.has_steps:
        out = iterations_from_episodes(episodes(loaded.steps) if eps is None else eps)
        if loaded.metrics is not None and len(out):  # the in-training evaluations beside
            evals = iterations_from_metrics(loaded.metrics)
            cols = ["iteration"] + [c for c in evals.columns if str(c).startswith("eval_")]
            if len(cols) > 1:
                out = out.merge(evals[cols], on="iteration", how="left")
        if loaded.iteration_events and len(out):  # a training log's policy loss and entropy
            updates = iterations_from_log(None, loaded.iteration_events)
            out = out.merge(updates, on="iteration", how="left")
        return out
    if loaded.metrics is not None:
        return iterations_from_metrics(loaded.metrics)
    if loaded.log_episodes is not None or loaded.iteration_events:
        return iterations_from_log(loaded.log_episodes, loaded.iteration_events)
    import pandas as pd

    return pd.DataFrame()


def laps(eps, limit: int | None = None):
    """Completed laps, fastest first."""
    done = eps[eps["complete"] == 1].sort_values(["lap_time", "episode"], kind="stable")
    cols = ["episode", "iteration", "worker", "start_at", "lap_time", "steps", "speed", "reward"]
    done = done[cols].reset_index(drop=True)
    return done.head(limit) if limit else done


WARM_START = "warm start"  # the evaluation of a warm-started policy, before iteration 0


def evaluation_episodes(eval_steps):
    """The evaluation simtraces' episodes, per stream (one evaluation run each)."""
    import pandas as pd

    out = []
    for stream, part in eval_steps.groupby("stream", sort=True):
        part = part.copy()
        part["unique_episode"] = part["episode"]
        eps = episodes(part)
        eps.insert(0, "stream", stream)
        out.append(eps)
    return pd.concat(out, ignore_index=True)


def evaluation(loaded):
    """Evaluation laps: the metrics JSON trials (with `trace_time`, the simtrace's time of the
    same trial, where the evaluation's simtrace is there too), else the evaluation simtrace's
    episodes, else the TrainingMetrics evaluation phase."""
    import pandas as pd

    has_trace = loaded.eval_steps is not None and len(loaded.eval_steps)
    if loaded.eval_metrics is not None:
        df = loaded.eval_metrics
        cols = [c for c in ("stream", "trial", "completion_percentage", "time", "episode_status",
                            "off_track_count", "crash_count", "reset_count") if c in df]
        out = df[cols].rename(columns={"completion_percentage": "progress"})
        if has_trace:  # trial k is the trace's episode k-1 of the same stream
            eps = evaluation_episodes(loaded.eval_steps)
            times = {(s, int(e) + 1): t for s, e, t in
                     zip(eps["stream"], eps["episode"], eps["time"])}
            out = out.assign(trace_time=[times.get((s, int(t)), float("nan"))
                                         for s, t in zip(out["stream"], out["trial"])])
        return out
    if has_trace:
        return evaluation_episodes(loaded.eval_steps)
    if loaded.metrics is not None:
        ev = loaded.metrics[loaded.metrics["phase"] == "evaluation"]
        ev = ev[["iteration", "episode", "worker", "completion", "time", "complete",
                 "episode_status"]].rename(columns={"completion": "progress"})
        # deepracer-utils' floor((episode - 1) / trials) gives -1 to an evaluation made
        # before any training episode: drtui's warm start (teacher or transfer) evaluated
        if (ev["iteration"] < 0).any():
            ev = ev.astype({"iteration": object})
            ev.loc[ev["iteration"] < 0, "iteration"] = WARM_START
        return ev
    return pd.DataFrame()


def lap_histogram(lap_times, bins: int = 10):
    """(bin edges, counts) of completed lap times; empty when there are none."""
    import numpy as np

    t = np.asarray([v for v in lap_times if v == v], float)
    if not len(t):
        return np.array([]), np.array([], int)
    counts, edges = np.histogram(t, bins=bins)
    return edges, counts


def action_labels(steps):
    """A label per step: the discrete action's index with its steering and speed, or for
    continuous actions the (steering, speed) rounded to 10 degrees and 0.5 m/s."""
    import numpy as np

    act = steps["action"].to_numpy()
    steer = steps["steering_angle"].to_numpy(float)
    speed = steps["speed"].to_numpy(float)
    if (act >= 0).all():
        keys = act
        names = {}
        for a in np.unique(act):
            i = np.flatnonzero(act == a)[0]
            names[a] = f"{a}: {steer[i]:+.0f}° {speed[i]:.2f} m/s"
        return np.array([names[a] for a in keys], object)
    s = np.round(steer / 10.0) * 10.0 + 0.0  # + 0.0: no "-0°"
    v = np.round(speed * 2.0) / 2.0
    return np.char.add(np.char.add(np.char.mod("%+.0f° ", s), np.char.mod("%.1f", v)),
                       " m/s").astype(object)


def actions_by_section(steps, sections: int, n_waypoints: int | None = None):
    """Counts of each action in each of `sections` track sections (equal waypoint ranges);
    rows are actions, columns sections 1..N. Counts sum to the number of steps."""
    import numpy as np
    import pandas as pd

    if steps is None or steps.empty:
        return pd.DataFrame()
    wp = steps["closest_waypoint"].to_numpy()
    n = max(int(n_waypoints or 0), int(wp.max()) + 1)
    section = np.minimum(wp * sections // n, sections - 1) + 1
    table = pd.crosstab(pd.Series(action_labels(steps), name="action"),
                        pd.Series(section, name="section"))
    table = table.reindex(columns=range(1, sections + 1), fill_value=0)
    order = sorted(table.index, key=_action_sort_key)
    return table.loc[order]


def _action_sort_key(label: str):
    head = label.split(":")[0]
    return (0, int(head), label) if head.isdigit() else (1, 0, label)


@dataclass
class Heatmap:
    x0: float
    y0: float
    cell: float
    mean: object  # (ny, nx) float array, NaN where no step landed
    count: object  # (ny, nx) int array


def reward_heatmap(steps, cell: float = 0.2, bounds: tuple | None = None) -> Heatmap:
    """Mean reward per square cell of the track (x, y of the car's front point)."""
    import numpy as np

    x, y = steps["x"].to_numpy(float), steps["y"].to_numpy(float)
    r = steps["reward"].to_numpy(float)
    if bounds is None:
        bounds = (x.min(), y.min(), x.max(), y.max())
    x0, y0, x1, y1 = bounds
    nx = max(1, math.ceil((x1 - x0) / cell) + 1)
    ny = max(1, math.ceil((y1 - y0) / cell) + 1)
    ix = np.clip(((x - x0) / cell).astype(int), 0, nx - 1)
    iy = np.clip(((y - y0) / cell).astype(int), 0, ny - 1)
    flat = iy * nx + ix
    count = np.bincount(flat, minlength=nx * ny).reshape(ny, nx)
    total = np.bincount(flat, weights=r, minlength=nx * ny).reshape(ny, nx)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return Heatmap(float(x0), float(y0), float(cell), mean, count)


def episode_paths(steps, episode_ids) -> dict[int, object]:
    """(n, 2) front-point paths of the given episodes."""
    import numpy as np

    out = {}
    for e in episode_ids:
        sel = steps[steps["unique_episode"] == e]
        out[int(e)] = np.stack([sel["x"].to_numpy(float), sel["y"].to_numpy(float)], 1)
    return out


def best_episodes(eps, n: int = 3) -> list[int]:
    """The fastest completed laps, else the episodes that got furthest."""
    if eps.empty:
        return []
    done = eps[eps["complete"] == 1]
    pick = (done.sort_values(["lap_time", "episode"]) if len(done)
            else eps.sort_values(["progress", "episode"], ascending=[False, True]))
    return [int(e) for e in pick["episode"].head(n)]


def records(df) -> list[dict]:
    """DataFrame rows as JSON-ready dicts (NaN -> None, numpy scalars -> Python)."""
    import numpy as np

    out = []
    if df is None or len(df) == 0:
        return out
    for row in df.to_dict(orient="records"):
        clean = {}
        for k, v in row.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            clean[str(k)] = v
        out.append(clean)
    return out
