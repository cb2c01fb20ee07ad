"""Per-iteration braille line charts of a run: reward; progress, completion and evaluation
progress; policy loss; entropy (drtui.plots.lines). Each chart redraws only when its data or
its size changes."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Grid
from textual.widget import Widget

CHARTS = (("reward", "mean reward"), ("progress", "progress %"), ("loss", "policy loss"),
          ("entropy", "entropy"))
# the legend's names where the full ones do not fit (80 columns)
SHORT = {"progress %": "progress", "completion %": "laps", "eval %": "eval"}


class Chart(Widget):
    DEFAULT_CSS = """
    Chart { height: 1fr; width: 1fr; }
    """

    def __init__(self, empty: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.empty = empty
        self.series: dict[str, list[float]] = {}
        self.x: list[int] = []

    def set_data(self, series: dict[str, list[float]], x: list[int]) -> None:
        self.series, self.x = series, list(x)
        self.refresh()

    @property
    def points(self) -> int:
        return len(self.x)

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        if not self.x:
            return Text(f"{self.empty}: no iteration yet", style="italic", no_wrap=True,
                        overflow="ellipsis")
        if width < 4 or height < 2:
            return Text("")
        from drtui.plots.lines import line_chart

        return line_chart(self.series, width, height, x=self.x, short=SHORT)


class RunCharts(Grid):
    DEFAULT_CSS = """
    RunCharts { grid-size: 2 2; grid-gutter: 0 1; height: 1fr; }
    """

    def compose(self):
        for key, title in CHARTS:
            yield Chart(title, id=f"chart-{key}")

    def update_from(self, model) -> None:
        series = model.chart_series()
        for key, _ in CHARTS:
            self.query_one(f"#chart-{key}", Chart).set_data(series[key], model.iterations)
