"""The figures of the deepracer-analysis notebooks, drawn with matplotlib (imported only here,
inside the functions, on the Agg canvas: no display, no pyplot state): training progress per
iteration, the episodes by quintile of training, reward and progress per iteration (training
and evaluation), reward / speed / action heatmaps on the track with a colour bar, the fastest
complete laps' paths with their times, the lap-time histogram, actions per track section and
the evaluation laps coloured by speed.

Every figure has a title, labelled axes and a legend or a labelled colour bar, and stays
readable in monochrome: series differ by line style and marker as well as colour, bars by
hatching, and the colour maps (cividis) rise steadily in lightness.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drtui.fsio import atomic_write

STYLES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1, 1, 1)), "v"),
          ((0, (1, 1)), "P")]
HATCHES = ["", "//", "\\\\", "xx", "..", "oo", "++", "--", "||", "**"]
CMAP = "cividis"


def _figure(w: float, h: float, title: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    fig.suptitle(title, fontweight="bold")
    return fig


def _line(ax, x, y, i: int, label: str, **kw):
    ls, marker = STYLES[i % len(STYLES)]
    return ax.plot(x, y, linestyle=ls, marker=marker, markersize=4, label=label,
                   color=f"C{i}", **kw)


def _label(ax, title: str, xlabel: str, ylabel: str, legend: bool = True) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(fontsize="small")


def _band(ax, it, col: str, i: int, label: str) -> None:
    """Mean per iteration with a ±1 standard deviation band (hatched, for monochrome)."""
    x, m = it["iteration"].to_numpy(), it[f"{col}_mean"].to_numpy(float)
    _line(ax, x, m, i, f"{label} (mean)")
    std = f"{col}_std"
    if std in it:
        s = np.nan_to_num(it[std].to_numpy(float))
        ax.fill_between(x, m - s, m + s, alpha=0.2, color=f"C{i}", hatch="//",
                        label="±1 standard deviation")


# -- training --------------------------------------------------------------------------------

def training_progress(iters, eps):
    """analyze_training_progress: reward, time, progress, completed laps and completion rate per
    iteration, and every episode's reward."""
    fig = _figure(15, 10, "Training progress per iteration")
    axes = fig.subplots(2, 3)
    _band(axes[0, 0], iters, "reward", 0, "reward")
    _label(axes[0, 0], "Reward per iteration", "Iteration", "Episode reward")
    _band(axes[0, 1], iters, "time", 1, "time")
    _label(axes[0, 1], "Episode time per iteration", "Iteration", "Time (s)")
    _band(axes[0, 2], iters, "progress", 2, "progress")
    _label(axes[0, 2], "Progress per iteration", "Iteration", "Progress (%)")
    ax = axes[1, 0]
    x = iters["iteration"].to_numpy()
    for i, (col, name) in enumerate((("lap_time_mean", "mean"), ("lap_time_min", "fastest"),
                                     ("lap_time_max", "slowest"))):
        _line(ax, x, iters[col].to_numpy(float), i, f"{name} complete lap")
    _label(ax, "Complete laps' times per iteration", "Iteration", "Lap time (s)")
    ax = axes[1, 1]
    _line(ax, x, 100 * iters["completion_rate"].to_numpy(float), 3, "episodes completing a lap")
    ax.set_ylim(-2, 102)
    _label(ax, "Completion rate per iteration", "Iteration", "Laps completed (%)")
    ax = axes[1, 2]
    ax.scatter(eps["episode"], eps["reward"], s=6, color="C0", marker=".", label="episode")
    if len(eps) >= 5:
        k = max(5, len(eps) // 20)
        roll = eps["reward"].rolling(k, min_periods=1).mean()
        ax.plot(eps["episode"], roll, color="black", linestyle="--",
                label=f"mean of {k} episodes")
    _label(ax, "Reward of every episode", "Episode", "Episode reward")
    return fig


def quintiles(eps):
    """scatter_by_groups: the episodes in five equal parts of training (quintiles by episode
    number, as deepracer-utils cuts them): reward against time, time and progress histograms."""
    import pandas as pd

    q = pd.cut(eps["episode"], 5, labels=["1st", "2nd", "3rd", "4th", "5th"])
    fig = _figure(15, 16, "Training by quintile of episodes")
    axes = fig.subplots(5, 3, squeeze=False)
    for row, name in enumerate(["1st", "2nd", "3rd", "4th", "5th"]):
        part = eps[q == name]
        span = f"episodes {int(part['episode'].min())}-{int(part['episode'].max())}" \
            if len(part) else "no episodes"
        ax = axes[row, 0]
        ax.scatter(part["time"], part["reward"], s=10, marker=STYLES[row][1], color=f"C{row}",
                   label=span)
        _label(ax, f"{name} quintile: reward against time", "Episode time (s)", "Reward")
        ax = axes[row, 1]
        ax.hist(part["time"], bins=20, color=f"C{row}", hatch=HATCHES[row + 1],
                edgecolor="black", label=span)
        _label(ax, f"{name} quintile: episode times", "Episode time (s)", "Episodes")
        ax = axes[row, 2]
        ax.hist(part["progress"], bins=20, range=(0, 100), color=f"C{row}",
                hatch=HATCHES[row + 1], edgecolor="black", label=span)
        _label(ax, f"{name} quintile: progress", "Progress (%)", "Episodes")
    return fig


def reward_and_progress(iters):
    """TrainingMetrics.plotProgress: mean reward and progress per iteration, training and the
    in-training evaluation where there is one."""
    fig = _figure(12, 5, "Reward and progress per iteration")
    ax_r, ax_p = fig.subplots(1, 2)
    x = iters["iteration"].to_numpy()
    pairs = ((ax_r, "Reward per iteration", "Mean reward",
              (("reward_mean", "training"), ("train_reward", "training"),
               ("eval_reward", "evaluation"))),
             (ax_p, "Progress per iteration", "Mean progress (%)",
              (("progress_mean", "training"), ("train_completion", "training"),
               ("eval_completion", "evaluation"))))
    for ax, title, ylabel, cols in pairs:
        shown = set()
        for i, (col, label) in enumerate(cols):
            if col in iters and iters[col].notna().any() and label not in shown:
                _line(ax, x, iters[col].to_numpy(float), i, label)
                shown.add(label)
        _label(ax, title, "Iteration", ylabel)
    return fig


# -- on the track ----------------------------------------------------------------------------

def _track(ax, route) -> None:
    """The track's borders and centre line, equal axes in metres."""
    r = np.asarray(route, float)
    ax.plot(r[:, 2], r[:, 3], color="0.35", linewidth=1.2, label="track border")
    ax.plot(r[:, 4], r[:, 5], color="0.35", linewidth=1.2)
    ax.plot(r[:, 0], r[:, 1], color="0.6", linewidth=0.8, linestyle=":", label="centre line")
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")


MEASURES = {  # column of the steps, colour bar label, statistic per cell
    "visits": (None, "Steps in the cell", "count"),
    "reward": ("reward", "Mean reward of the cell's steps", "mean"),
    "speed": ("speed", "Mean commanded speed (m/s)", "mean"),
    "steering": ("steering_angle", "Mean steering angle (degrees)", "mean"),
    "action": ("action", "Most frequent action (index)", "mode"),
    "future": (None, "Mean discounted future reward", "mean"),
    "new_reward": (None, "Mean re-scored reward (--reward)", "mean"),
    "slide": (None, "Mean slide: heading against travel (degrees)", "mean"),
}


def grid(steps, values, bounds, cell: float, how: str):
    """A statistic of `values` per square cell of (x, y): count, mean or mode."""
    x0, y0, x1, y1 = bounds
    nx, ny = int(np.ceil((x1 - x0) / cell)) + 1, int(np.ceil((y1 - y0) / cell)) + 1
    ix = np.clip(((steps["x"].to_numpy(float) - x0) / cell).astype(int), 0, nx - 1)
    iy = np.clip(((steps["y"].to_numpy(float) - y0) / cell).astype(int), 0, ny - 1)
    flat = iy * nx + ix
    count = np.bincount(flat, minlength=nx * ny)
    with np.errstate(invalid="ignore", divide="ignore"):
        if how == "count":
            out = count.astype(float)
        elif how == "mean":
            out = np.bincount(flat, weights=values, minlength=nx * ny) / count
        else:  # mode: the most frequent integer value per cell
            v = values.astype(int)
            v = v - v.min()
            table = np.zeros((nx * ny, int(v.max()) + 1))
            np.add.at(table, (flat, v), 1)
            out = table.argmax(1).astype(float) + values.astype(int).min()
    out[count == 0] = np.nan
    return out.reshape(ny, nx)


def heatmap(steps, route, measure: str = "reward", cell: float = 0.1, values=None,
            title: str | None = None):
    """plot_track: a measure of the steps per cell of the track, with a colour bar."""
    column, label, how = MEASURES.get(measure, (measure, measure, "mean"))
    if values is None:
        values = np.zeros(len(steps)) if column is None else steps[column].to_numpy(float)
    r = np.asarray(route, float)[:, :6].reshape(-1, 2)
    lo, hi = np.minimum(r.min(0), [steps["x"].min(), steps["y"].min()]), \
        np.maximum(r.max(0), [steps["x"].max(), steps["y"].max()])
    bounds = (lo[0] - cell, lo[1] - cell, hi[0] + cell, hi[1] + cell)
    data = grid(steps, np.asarray(values, float), bounds, cell, how)
    fig = _figure(10, 7, title or f"{measure.capitalize()} heatmap on the track")
    ax = fig.subplots()
    extent = (bounds[0], bounds[0] + data.shape[1] * cell, bounds[1],
              bounds[1] + data.shape[0] * cell)
    im = ax.imshow(data, origin="lower", extent=extent, cmap=CMAP, interpolation="nearest")
    _track(ax, route)
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    ax.set_title(f"{len(steps)} steps in {cell:g} m cells")
    ax.legend(fontsize="small", loc="upper right")
    return fig


def best_laps(steps, route, eps, n: int = 3):
    """plot_selected_laps: the fastest complete laps' paths, each with its time (else the
    episodes that got furthest, with their progress)."""
    from drtui.analysis.tables import best_episodes, episode_paths

    picks = best_episodes(eps, n)
    paths = episode_paths(steps, picks)
    done = eps[eps["complete"] == 1]
    fig = _figure(10, 7, "Fastest complete laps" if len(done) else
                  "Furthest episodes (no complete lap)")
    ax = fig.subplots()
    _track(ax, route)
    by_ep = eps.set_index("episode")
    for i, (e, xy) in enumerate(paths.items()):
        row = by_ep.loc[e]
        what = f"{row['lap_time']:.3f} s" if row["complete"] == 1 else \
            f"{row['progress']:.1f} % in {row['time']:.2f} s"
        ls, marker = STYLES[i % len(STYLES)]
        ax.plot(xy[:, 0], xy[:, 1], linestyle=ls, color=f"C{i}", linewidth=1.8,
                label=f"episode {e} (iteration {int(row['iteration'])}): {what}")
        ax.plot(xy[:1, 0], xy[:1, 1], marker=marker, color=f"C{i}", markersize=7)
    ax.set_title("paths of the car's front point; markers at the start")
    ax.legend(fontsize="small", loc="upper right")
    return fig


def lap_times(lap_time_values, bins: int = 10):
    """The complete laps' times: a histogram with its mean and the fastest lap marked."""
    t = np.asarray([v for v in lap_time_values if v == v], float)
    fig = _figure(9, 5, "Lap-time distribution of complete laps")
    ax = fig.subplots()
    ax.hist(t, bins=bins, color="C0", edgecolor="black", hatch="//",
            label=f"{len(t)} complete laps")
    ax.axvline(t.min(), color="black", linestyle="--", label=f"fastest {t.min():.3f} s")
    ax.axvline(t.mean(), color="C1", linestyle=":", linewidth=2, label=f"mean {t.mean():.3f} s")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _label(ax, "", "Lap time (s)", "Laps")
    return fig


def actions_per_section(table, n_waypoints: int | None = None):
    """action_breakdown: how often each action was taken in each track section, stacked bars
    with a hatch per action."""
    fig = _figure(12, 6, "Actions per track section")
    ax = fig.subplots()
    sections = list(table.columns)
    x = np.arange(len(sections))
    bottom = np.zeros(len(sections))
    for i, (label, row) in enumerate(table.iterrows()):
        v = row.to_numpy(float)
        ax.bar(x, v, bottom=bottom, color=f"C{i % 10}", hatch=HATCHES[i % len(HATCHES)],
               edgecolor="black", linewidth=0.4, label=str(label))
        bottom += v
    ax.set_xticks(x, [str(s) for s in sections])
    span = f" ({n_waypoints} waypoints in {len(sections)} equal parts)" if n_waypoints else ""
    _label(ax, "", f"Track section{span}", "Steps", legend=False)
    ax.legend(title="action: steering, speed", fontsize="small", loc="center left",
              bbox_to_anchor=(1.0, 0.5))
    return fig


def evaluation_laps(eval_steps, route, eval_eps, limit: int = 6):
    """plot_evaluations: each evaluation episode's path coloured by speed, with its time."""
    keys = list(eval_eps[["stream", "episode"]].itertuples(index=False, name=None))[:limit]
    cols = min(3, len(keys))
    rows = int(np.ceil(len(keys) / cols))
    fig = _figure(5 * cols + 1, 4.5 * rows, "Evaluation laps coloured by speed")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    lo, hi = float(eval_steps["speed"].min()), float(eval_steps["speed"].max())
    sc = None
    for ax, (stream, e), (_, row) in zip(axes, keys, eval_eps.head(limit).iterrows()):
        part = eval_steps[(eval_steps["stream"] == stream) & (eval_steps["episode"] == e)]
        _track(ax, route)
        sc = ax.scatter(part["x"], part["y"], c=part["speed"], cmap=CMAP, vmin=lo,
                        vmax=max(hi, lo + 1e-6), s=8, label="car (front point)")
        ax.set_title(f"{stream} lap {e + 1}: {row['progress']:.0f} % in {row['time']:.3f} s",
                     fontsize="medium")
        ax.legend(fontsize="x-small", loc="upper right")
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    if sc is not None:
        fig.colorbar(sc, ax=axes[:len(keys)].tolist(), label="Commanded speed (m/s)",
                     shrink=0.8)
    return fig


# -- log-guru's views --------------------------------------------------------------------------

def exits(ex, route):
    """Where episodes ended, a marker per cause."""
    fig = _figure(10, 7, "Where episodes end, by cause")
    ax = fig.subplots()
    _track(ax, route)
    for i, (cause, part) in enumerate(ex.groupby("cause", sort=True)):
        ax.scatter(part["x"], part["y"], marker=STYLES[i % len(STYLES)][1], s=30,
                   color=f"C{i}", edgecolor="black", linewidth=0.4,
                   label=f"{cause.replace('_', ' ')} ({len(part)})")
    ax.set_title(f"last step of {len(ex)} episodes")
    ax.legend(fontsize="small", loc="upper right")
    return fig


def sector_times(sectors, best_possible: float, laps: int):
    """Per sector: the fastest time of any complete lap and the median, and the lap the fastest
    sectors make together."""
    fig = _figure(11, 5, f"Sector times of {laps} complete laps: best possible lap "
                         f"{best_possible:.3f} s")
    ax = fig.subplots()
    x = sectors["sector"].to_numpy()
    ax.bar(x - 0.2, sectors["best"], width=0.4, color="C0", hatch="//", edgecolor="black",
           label="fastest")
    ax.bar(x + 0.2, sectors["median"], width=0.4, color="C1", hatch="..", edgecolor="black",
           label="median")
    for xi, b, e in zip(x, sectors["best"], sectors["best_episode"]):
        ax.annotate(f"ep {int(e)}", (xi - 0.2, b), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x)
    _label(ax, "the fastest sector's episode above its bar", "Track sector",
           "Time in the sector (s)")
    return fig


def starts(table):
    """Progress and completion per starting waypoint (training starts rotate round the track)."""
    fig = _figure(11, 7, "Progress per starting point")
    ax, ax2 = fig.subplots(2, 1, sharex=True)
    ax.bar(table["start_at"], table["progress_mean"], color="C0", hatch="//",
           edgecolor="black", label="mean progress of the episodes starting there")
    ax.set_ylim(0, 105)
    _label(ax, "", "Starting waypoint", "Mean progress (%)")
    ax2.bar(table["start_at"], 100 * table["completion_rate"], color="C1", hatch="..",
            edgecolor="black", label="episodes completing a lap")
    ax2.set_ylim(0, 105)
    _label(ax2, "", "Starting waypoint", "Laps completed (%)")
    return fig


def compare(reports, names: list[str]):
    """Several runs side by side: progress, completion rate and best lap per iteration."""
    fig = _figure(15, 5, f"{len(reports)} runs compared")
    axes = fig.subplots(1, 3)
    for i, (name, r) in enumerate(zip(names, reports)):
        it = r.iterations
        if not len(it):
            continue
        x = it["iteration"].to_numpy()
        for ax, col, scale in ((axes[0], "progress_mean", 1), (axes[1], "completion_rate", 100),
                               (axes[2], "lap_time_min", 1)):
            if col in it:
                _line(ax, x, scale * it[col].to_numpy(float), i, name)
    _label(axes[0], "Mean progress per iteration", "Iteration", "Progress (%)")
    _label(axes[1], "Completion rate per iteration", "Iteration", "Laps completed (%)")
    _label(axes[2], "Fastest lap per iteration", "Iteration", "Lap time (s)")
    return fig


# -- all of them -----------------------------------------------------------------------------

def figures(report) -> dict[str, object]:
    """{file name: Figure} of every figure the report's data allows."""
    r = report
    lo = r.loaded
    out = {}
    it = r.iterations
    if len(it) and "reward_mean" in it and len(r.episodes):
        out["training-progress.png"] = training_progress(it, r.episodes)
        out["training-quintiles.png"] = quintiles(r.episodes)
    if len(it) and any(c in it for c in ("reward_mean", "train_reward")):
        out["reward-progress.png"] = reward_and_progress(it)
    lap_values = r.episodes["lap_time"] if len(r.episodes) else []
    if not len(r.episodes) and lo.metrics is not None:
        tr = lo.metrics[lo.metrics["phase"] == "training"]
        lap_values = tr[tr["complete"] == 1]["time"]
    if len(r.histogram[1]):
        out["lap-times.png"] = lap_times(lap_values)
    steps = r.steps
    if steps is not None and len(steps) and r.route is not None:
        for measure in ("reward", "speed", "action"):
            if measure == "action" and (steps["action"] < 0).any():
                continue  # continuous actions have no index
            out[f"{measure}-heatmap.png"] = heatmap(steps, r.route, measure)
        for measure, values in r.heatmaps.items():
            out[f"{measure}-heatmap.png"] = heatmap(steps, r.route, measure, values=values)
        out["best-laps.png"] = best_laps(steps, r.route, r.episodes)
        out["exits.png"] = exits(r.exits, r.route)
    if r.sectors is not None and len(r.sectors):
        out["sector-times.png"] = sector_times(r.sectors, r.best_possible,
                                               len(r.sector_times))
    if r.starts is not None and len(r.starts):
        out["starts.png"] = starts(r.starts)
    if len(r.actions):
        out["actions-per-section.png"] = actions_per_section(
            r.actions, None if r.route is None else len(r.route))
    if lo.eval_steps is not None and len(lo.eval_steps) and r.route is not None:
        from drtui.analysis.tables import evaluation_episodes

        out["evaluation-laps.png"] = evaluation_laps(lo.eval_steps, r.route,
                                                     evaluation_episodes(lo.eval_steps))
    return out


def save(fig, path: Path) -> Path:
    """A figure as PNG, written atomically."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, buf.getvalue())
    return path


def write_all(out: Path, report) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [save(fig, out / name) for name, fig in figures(report).items()]
