"""A track drawn in braille at the widget's size (drtui.plots.track_map), redrawn on resize;
with its racing line once the screen has it (set_line: computed off the UI thread)."""

from __future__ import annotations

from functools import lru_cache

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

# The plot's default colours (yellow centre line, grey70 borders) assume a dark background.
_LIGHT_STYLES = {"border": "grey35", "centre": "dark_orange3", "start": "bold green4",
                 "path": "bold blue", "marker": "bold magenta", "raceline": "red3"}
_LINES: dict[str, object] = {}  # line key -> the racing line's points (M, 2)


@lru_cache(maxsize=32)
def _map(world: str, width: int, height: int, light: bool, line: str = "") -> Text:
    from drtui.plots.track_map import DEFAULT_STYLES, track_map_text

    styles = {**DEFAULT_STYLES, **_LIGHT_STYLES} if light else None
    return track_map_text(world, width, height, styles=styles, line=_LINES.get(line))


class TrackMap(Widget):
    DEFAULT_CSS = """
    TrackMap { height: 1fr; min-height: 6; }
    """

    world: reactive[str | None] = reactive(None)
    line_key: reactive[str] = reactive("")  # "" draws no racing line

    def set_line(self, key: str, points) -> None:
        """Draw `points`, the racing line of the map's track (key: its track and direction)."""
        _LINES[key] = points
        self.line_key = key

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def render(self) -> Text:
        from drtui.catalog.tracks import catalogue

        width, height = self.content_size.width, self.content_size.height
        if (self.world or "").endswith(".npy"):  # a session's own route file
            if width < 8 or height < 4:
                return Text("")
            try:
                return _map(self.world, width, height, not self.app.current_theme.dark,
                            self._line())
            except (OSError, ValueError) as exc:  # RouteError: what simapp would refuse
                return Text(str(exc), style="italic")
        track = catalogue().get(self.world or "")
        if track is None:
            return Text(f"unknown track {self.world!r}")
        if width < 8 or height < 4:
            return Text("")
        return _map(track.world, width, height, not self.app.current_theme.dark, self._line())

    def _line(self) -> str:
        """The racing line's key when it belongs to the world shown now, else ""."""
        key = self.line_key
        return key if key.split("|", 1)[0] == (self.world or "") else ""
