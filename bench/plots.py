"""Time the terminal plots: track maps at 80x24 and 200x60 for each shipped track, the action
space picture and a line chart. Each figure is the mean over REPS renders to rich Text, in ms.

Run: .venv/bin/python bench/plots.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from drtui.catalog.tracks import catalogue, load_waypoints
from drtui.plots.action_space import action_space_plot
from drtui.plots.lines import line_chart
from drtui.plots.track_map import DEFAULT_STYLES, track_map

REPS = 50
SIZES = ((80, 24), (200, 60))


def mean_ms(fn: Callable[[], object], reps: int = REPS) -> float:
    fn()  # warm caches (waypoint files, numpy dispatch) outside the timing
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps * 1000


def shipped_tracks() -> list[str]:
    """One world per track with waypoints: its _ccw/_cw variants draw the same picture."""
    seen: set[str] = set()
    worlds = []
    for world, track in catalogue().items():
        if track.has_waypoints and track.track_id not in seen:
            seen.add(track.track_id)
            worlds.append(world)
    return worlds


def main() -> None:
    print(f"track map, mean of {REPS} renders to rich Text (ms)")
    print(f"{'world':<28}" + "".join(f"{f'{w}x{h}':>10}" for w, h in SIZES))
    for world in shipped_tracks():
        wp = load_waypoints(world)
        times = [mean_ms(lambda: track_map(wp, w, h).to_rich_text(DEFAULT_STYLES))
                 for w, h in SIZES]
        print(f"{world:<28}" + "".join(f"{t:>10.2f}" for t in times))

    wp = load_waypoints("reInvent2019_track")
    rng = np.random.default_rng(0)
    path = wp[:, 0:2] + rng.normal(0, 0.05, size=(len(wp), 2))
    heat = (np.repeat(wp[:, 0:2], 20, axis=0) + rng.normal(0, 0.2, (20 * len(wp), 2)),
            rng.random(20 * len(wp)))
    t = mean_ms(lambda: track_map(wp, 120, 40, path=path, heat=heat,
                                  markers=[(*wp[50, 0:2], "C")]).to_rich_text(DEFAULT_STYLES))
    print(f"{'reInvent2019_track +path,heat(3100 pts),marker at 120x40':<60}{t:>8.2f}")

    discrete = [(s, v) for v in (1.0, 2.0, 3.0) for s in (-30, -15, 0, 15, 30)]
    for label, args in (("action space, 15 discrete", (discrete, None)),
                        ("action space, continuous", (None, ((-30, 30), (0.5, 4.0))))):
        for w, h in ((40, 12), (80, 24)):
            t = mean_ms(lambda: action_space_plot(*args, w, h))
            print(f"{f'{label} at {w}x{h}':<60}{t:>8.2f}")

    series = {"reward": rng.random(500).cumsum(), "progress": rng.random(500) * 100}
    t = mean_ms(lambda: line_chart(series, 100, 20))
    print(f"{'line chart, 2 series x 500 points at 100x20':<60}{t:>8.2f}")


if __name__ == "__main__":
    main()
