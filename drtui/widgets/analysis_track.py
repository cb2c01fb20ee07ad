"""The analysis screen's track view: the track with a reward heatmap of every step (braille
cells shaded by their mean reward) and the selected episode's path on top."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widget import Widget


class AnalysisTrack(Widget):
    DEFAULT_CSS = """
    AnalysisTrack { height: 1fr; min-height: 4; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.route: np.ndarray | None = None
        self.heat: tuple[np.ndarray, np.ndarray] | None = None
        self.path = np.zeros((0, 2))
        self.message = "loading..."

    def set_data(self, route, heat, message: str = "") -> None:
        self.route, self.heat, self.message = route, heat, message
        self.refresh()

    def set_path(self, path: np.ndarray) -> None:
        self.path = np.asarray(path, float).reshape(-1, 2)
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        if self.route is None:
            return Text(self.message, style="italic")
        if width < 8 or height < 4:
            return Text("")
        from drtui.plots.track_map import DEFAULT_STYLES, track_map
        from drtui.widgets.track_map import _LIGHT_STYLES

        marker = [(float(self.path[0, 0]), float(self.path[0, 1]), "")] if len(self.path) \
            else None
        canvas = track_map(self.route, width, height, heat=self.heat,
                           path=self.path if len(self.path) else None, markers=marker)
        light = not self.app.current_theme.dark
        return canvas.to_rich_text({**DEFAULT_STYLES, **_LIGHT_STYLES} if light
                                   else DEFAULT_STYLES)
