"""The wizard's progress line: every step with ✓ or ✗, the current one in brackets.

Brackets, ✓ and ✗ carry the state so it reads the same in a monochrome terminal."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class StepBar(Widget):
    COMPONENT_CLASSES = {"stepbar--title", "stepbar--current", "stepbar--bad", "stepbar--ok"}
    DEFAULT_CSS = """
    StepBar { height: 1; background: $panel; color: $text; }
    StepBar > .stepbar--title { text-style: bold reverse; }
    StepBar > .stepbar--current { text-style: bold reverse; }
    StepBar > .stepbar--bad { color: $text-error; text-style: bold; }
    StepBar > .stepbar--ok { color: $text-muted; }
    """

    current: reactive[int] = reactive(0)
    states: reactive[tuple[bool, ...]] = reactive(tuple)  # True: the step has problems

    def __init__(self, names: list[str], current: int, title: str = "drtui", **kwargs) -> None:
        super().__init__(**kwargs)
        self.names = names
        self.title = title
        self.set_reactive(StepBar.current, current)

    def render(self) -> Text:
        width = self.size.width or 80
        for compact in (False, True):
            text = self._line(compact)
            if text.cell_len <= width:
                return text
        return text

    def _line(self, compact: bool) -> Text:
        style = self.get_component_rich_style
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.title} ", style=style("stepbar--title"))
        text.append(" ")
        for index, name in enumerate(self.names):
            bad = index < len(self.states) and self.states[index]
            mark = "✗" if bad else ("✓" if index < len(self.states) else " ")
            if index == self.current:
                text.append(f"[{index + 1} {name} {mark}]", style=style("stepbar--current"))
            else:
                label = f"{index + 1}{mark}" if compact else f"{index + 1} {name} {mark}"
                text.append(label, style=style("stepbar--bad" if bad else "stepbar--ok"))
            text.append(" ")
        return text
