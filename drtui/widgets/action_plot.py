"""A picture of the action space (drtui.plots.action_space) at the widget's size."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class ActionSpacePlot(Widget):
    DEFAULT_CSS = """
    ActionSpacePlot { height: 1fr; min-height: 6; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.discrete: list[tuple[float, float]] | None = None
        self.continuous: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.line: list[tuple[float, float]] | None = None  # a racing line's (steering, speed)

    def show(self, discrete=None, continuous=None, line=None) -> None:
        self.discrete, self.continuous, self.line = discrete, continuous, line
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        if width < 10 or height < 4:
            return Text("")
        if not self.discrete and not self.continuous:
            return Text("(no valid actions to draw)", style="italic")
        try:
            from drtui.plots.action_space import action_space_plot
        except ImportError:  # the plot module lands separately; the editor works without it
            return Text("(action-space picture not available)", style="italic")
        try:
            return action_space_plot(self.discrete, self.continuous, width, height,
                                     line=self.line)
        except ValueError as exc:  # values out of the plot's range while being typed
            return Text(f"(cannot draw: {exc})", style="italic")
