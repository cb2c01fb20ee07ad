"""The run's track with its racing line (dashed), the paths of its last episodes (from
SIM_TRACE_LOG steps, solid) and the car's latest position."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.text import Text
from textual.widget import Widget

from drtui.widgets.track_map import _LIGHT_STYLES


@lru_cache(maxsize=8)
def _waypoints(world: str):
    from drtui.catalog.tracks import waypoints_of

    return waypoints_of(world)  # a world name, or the run's route.npy


class RunTrack(Widget):
    DEFAULT_CSS = """
    RunTrack { height: 1fr; min-height: 4; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.world: str | None = None
        self.path = np.zeros((0, 2))
        self.line: np.ndarray | None = None  # the racing line's points

    def set_world(self, world: str | None, line: np.ndarray | None = None) -> None:
        self.world, self.line = world, line
        self.refresh()

    def set_path(self, path: np.ndarray) -> None:
        self.path = path
        self.refresh()

    @property
    def points(self) -> int:
        return int(np.isfinite(self.path[:, 0]).sum()) if len(self.path) else 0

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        if self.world is None:
            return Text("")
        if width < 8 or height < 4:
            return Text("")
        from drtui.plots.track_map import DEFAULT_STYLES, track_map

        try:
            waypoints = _waypoints(self.world)
        except (KeyError, FileNotFoundError, ValueError):
            return Text(f"no waypoints for {self.world}: no map", style="italic")
        finite = self.path[np.isfinite(self.path[:, 0])] if len(self.path) else self.path
        markers = [(float(finite[-1, 0]), float(finite[-1, 1]), "")] if len(finite) else None
        canvas = track_map(waypoints, width, height, path=self.path if len(finite) else None,
                           markers=markers, line=self.line)
        light = not self.app.current_theme.dark
        return canvas.to_rich_text({**DEFAULT_STYLES, **_LIGHT_STYLES} if light else
                                   DEFAULT_STYLES)
