"""deepracer-log-guru's views as tables (figures.py draws them): per-step measures for heatmaps
(visits, speed, reward, future reward, re-scored reward, steering, slide), where episodes end
and why, time per track sector with the best lap those sectors allow, progress per starting
point, episode filters (complete laps, fast laps, a quarter of training, a track section) and
several runs side by side.

Sectors are equal waypoint ranges, as the action table's sections: sector k of n holds the
steps whose closest waypoint w has w * n // waypoints == k - 1. A lap's time in a sector is the
sum of its steps' time deltas there (tables.episodes' rule), so a lap that starts mid-sector
counts both of its passes through that sector and the sector times add up to the lap time.
"""

from __future__ import annotations

import math

from drtui.errors import InvalidInput

MEASURES = ("visits", "speed", "reward", "future", "new_reward", "steering", "slide")
ONLY = ("complete", "fast", "q1", "q2", "q3", "q4")
FAST_MARGIN = 0.05  # "fast laps": within 5 % of the fastest lap


def sector_of(waypoints, sections: int, n_waypoints: int):
    import numpy as np

    return np.minimum(np.asarray(waypoints) * sections // n_waypoints, sections - 1) + 1


def step_dt(steps):
    """Each step's time delta (0 where an episode's clock starts), as tables.episodes sums."""
    import numpy as np

    from drtui.analysis.tables import clock_starts

    dt = np.diff(steps["tstamp"].to_numpy(float), prepend=np.nan)
    dt[clock_starts(steps, dt)] = 0.0
    return dt


def measure(steps, name: str, *, discount: float = 0.999, new_reward=None):
    """Per-step values of a heatmap measure (numpy array aligned with `steps`)."""
    import numpy as np

    if name == "visits":
        return np.ones(len(steps))
    if name == "speed":
        return steps["speed"].to_numpy(float)
    if name == "reward":
        return steps["reward"].to_numpy(float)
    if name == "steering":
        return steps["steering_angle"].to_numpy(float)
    if name == "new_reward":
        if new_reward is None:
            raise InvalidInput(["--heatmap new_reward: needs --reward FILE to re-score with"])
        return np.asarray(new_reward, float)
    if name == "future":
        return future_rewards(steps, discount)
    if name == "slide":
        return slide(steps)
    raise InvalidInput([f"--heatmap: {name!r} is not a measure; one of {', '.join(MEASURES)}"])


def future_rewards(steps, discount: float):
    """The discounted sum of the rewards still to come in the episode, at each step (what PPO
    learns to expect there): G_t = r_t + discount * G_{t+1}."""
    import numpy as np

    r = steps["reward"].to_numpy(float)
    key = steps["unique_episode"].to_numpy()
    out = np.zeros(len(r))
    acc = 0.0
    for i in range(len(r) - 1, -1, -1):
        if i == len(r) - 1 or key[i + 1] != key[i]:
            acc = 0.0
        acc = r[i] + discount * acc
        out[i] = acc
    return out


def slide(steps):
    """Degrees between the car's heading and its direction of travel (log-guru's slide): 0 on
    a clean line, large when the car skids; 0 on an episode's first step."""
    import numpy as np

    x, y = steps["x"].to_numpy(float), steps["y"].to_numpy(float)
    key = steps["unique_episode"].to_numpy()
    travel = np.degrees(np.arctan2(np.diff(y, prepend=np.nan), np.diff(x, prepend=np.nan)))
    out = (steps["yaw"].to_numpy(float) - travel + 180.0) % 360.0 - 180.0
    moved = np.hypot(np.diff(x, prepend=np.nan), np.diff(y, prepend=np.nan)) > 1e-3
    first = np.r_[True, key[1:] != key[:-1]]
    return np.where(first | ~moved, 0.0, np.abs(out))


# -- filters -----------------------------------------------------------------------------------

def parse_section(raw: str | None, n_waypoints: int | None) -> tuple[int, int] | None:
    if raw is None:
        return None
    try:
        a, b = (int(v) for v in raw.split("-", 1))
    except ValueError:
        raise InvalidInput([f"--section: {raw!r} is not a waypoint range like 10-30"]) from None
    top = n_waypoints - 1 if n_waypoints else None
    if a < 0 or b < a or (top is not None and b > top):
        limit = f" (this track's waypoints are 0-{top})" if top is not None else ""
        raise InvalidInput([f"--section: {raw}: waypoints from A to B, 0 <= A <= B{limit}"])
    return a, b


def filter_episodes(eps, only: str | None):
    """The episodes `only` keeps: complete laps, fast laps (within 5 % of the fastest), or one
    quarter of training by episode number (q1 the first)."""
    if only is None:
        return eps
    if only not in ONLY:
        raise InvalidInput([f"--only: {only!r}; one of {', '.join(ONLY)}"])
    if only == "complete":
        return eps[eps["complete"] == 1]
    if only == "fast":
        laps = eps[eps["complete"] == 1]
        return laps[laps["lap_time"] <= laps["lap_time"].min() * (1 + FAST_MARGIN)] \
            if len(laps) else laps
    q = int(only[1])
    lo, hi = eps["episode"].min(), eps["episode"].max()
    span = (hi - lo + 1) / 4
    part = ((eps["episode"] - lo) // span).clip(upper=3) + 1
    return eps[part == q]


def apply_filters(steps, eps, only: str | None, section: tuple[int, int] | None):
    """(steps, episodes) kept by the filters; a section keeps the steps within its waypoints
    and the episodes that drove there."""
    eps = filter_episodes(eps, only)
    steps = steps[steps["unique_episode"].isin(eps["episode"])]
    if section is not None:
        wp = steps["closest_waypoint"]
        steps = steps[(wp >= section[0]) & (wp <= section[1])]
        eps = eps[eps["episode"].isin(steps["unique_episode"].unique())]
    return steps.reset_index(drop=True), eps.reset_index(drop=True)


# -- views -----------------------------------------------------------------------------------

def end_cause(status: str, progress: float, on_track: bool) -> str:
    if status and status not in ("in_progress", "prepare"):
        return status
    if progress >= 100:
        return "lap_complete"
    return "off_track" if not on_track else "ended"


def exits(steps, sections: int, n_waypoints: int):
    """Where each episode ended and why: its last step's position, waypoint, sector, cause."""
    import pandas as pd

    last = steps.groupby("unique_episode", sort=True).tail(1)
    causes = [end_cause(s, p, o) for s, p, o in
              zip(last["episode_status"], last["progress"], last["on_track"])]
    return pd.DataFrame({"episode": last["unique_episode"].to_numpy(),
                         "x": last["x"].to_numpy(float), "y": last["y"].to_numpy(float),
                         "waypoint": last["closest_waypoint"].to_numpy(),
                         "sector": sector_of(last["closest_waypoint"], sections, n_waypoints),
                         "progress": last["progress"].to_numpy(float), "cause": causes})


def exits_by_sector(ex, sections: int):
    import pandas as pd

    table = pd.crosstab(ex["cause"], ex["sector"]).reindex(columns=range(1, sections + 1),
                                                            fill_value=0)
    return table


def sector_times(steps, eps, sections: int, n_waypoints: int):
    """Time of every complete lap in each sector (rows: laps, columns 1..sections)."""
    import pandas as pd

    laps = eps[eps["complete"] == 1]["episode"]
    sel = steps["unique_episode"].isin(laps)
    part = steps[sel]
    dt = step_dt(steps)[sel.to_numpy()]
    sec = sector_of(part["closest_waypoint"], sections, n_waypoints)
    table = pd.DataFrame({"episode": part["unique_episode"].to_numpy(), "sector": sec,
                          "dt": dt}).pivot_table(index="episode", columns="sector", values="dt",
                                                 aggfunc="sum", fill_value=0.0)
    return table.reindex(columns=range(1, sections + 1), fill_value=0.0)


def best_possible(times):
    """Per sector: the fastest time, which lap made it, the median; and the lap of the fastest
    sectors put together."""
    import pandas as pd

    if times.empty:
        return pd.DataFrame(), math.nan
    out = pd.DataFrame({"sector": times.columns, "best": times.min().to_numpy(),
                        "best_episode": times.idxmin().to_numpy(),
                        "median": times.median().to_numpy()})
    return out, float(out["best"].sum())


def starts(eps):
    """Progress per starting waypoint: episodes, mean progress, completion rate, mean reward."""
    g = eps.groupby("start_at")
    import pandas as pd

    return pd.DataFrame({"episodes": g.size(), "progress_mean": g["progress"].mean(),
                         "completion_rate": g["complete"].mean(),
                         "reward_mean": g["reward"].mean()}).reset_index()


def compare(reports, names: list[str]):
    """One row per run: what racers compare."""
    import pandas as pd

    rows = []
    for name, r in zip(names, reports):
        eps = r.episodes
        laps = eps[eps["complete"] == 1] if len(eps) else eps
        rows.append({"run": name, "kind": r.loaded.kind, "world": r.loaded.world,
                     "episodes": len(eps),
                     "iterations": int(r.iterations["iteration"].nunique())
                     if len(r.iterations) else 0,
                     "progress_mean": float(eps["progress"].mean()) if len(eps) else math.nan,
                     "completion_rate": float(eps["complete"].mean()) if len(eps) else math.nan,
                     "best_lap": float(laps["lap_time"].min()) if len(laps) else math.nan,
                     "best_possible": r.best_possible})
    return pd.DataFrame(rows)
