"""A list of sensors to tick: one Check per sensor, ↑/↓ to move, space to toggle, each sensor
marked ✓ when chosen and ✗ when it is part of a combination the simulator refuses."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Checkbox

from drtui.widgets.toggles import Check


class SensorPicker(Vertical, can_focus=False):
    DEFAULT_CSS = """
    SensorPicker { height: auto; }
    SensorPicker > Check { width: 1fr; }
    """
    BINDINGS = [
        Binding("down", "move(1)", "Next sensor", id="sensors-down", show=False,
                tooltip="Move to the next sensor."),
        Binding("up", "move(-1)", "Previous sensor", id="sensors-up", show=False,
                tooltip="Move to the previous sensor."),
    ]

    @dataclass
    class Changed(Message):
        picker: SensorPicker
        selected: list[str]  # in the order they were ticked

        @property
        def control(self) -> SensorPicker:
            return self.picker

    @dataclass
    class Highlighted(Message):
        picker: SensorPicker
        name: str

        @property
        def control(self) -> SensorPicker:
            return self.picker

    def __init__(self, sensors: dict[str, str], selected: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.sensors = sensors  # name -> one-line summary
        self.selected = [s for s in selected]

    def compose(self) -> ComposeResult:
        for name in self.sensors:
            yield Check(self._label(name, set()), name in self.selected, name=name,
                        compact=True, id=f"sensor-{name.lower().replace('_', '-')}")

    def _label(self, name: str, broken: set[str]) -> Text:
        mark = ("✗ " if name in broken else "✓ ") if name in self.selected else "  "
        return Text.assemble((mark, "bold"), (f"{name:<25}", "bold" if name in self.selected
                                              else ""), f" {self.sensors[name]}")

    def mark(self, broken: set[str]) -> None:
        for check in self.query(Check):
            check.label = self._label(check.name, broken)

    @on(Checkbox.Changed)
    def _toggled(self, event: Checkbox.Changed) -> None:
        event.stop()
        name = event.checkbox.name
        if event.value and name not in self.selected:
            self.selected.append(name)
        elif not event.value and name in self.selected:
            self.selected.remove(name)
        self.post_message(self.Changed(self, list(self.selected)))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, Check):
            self.post_message(self.Highlighted(self, event.widget.name))

    def action_move(self, step: int) -> None:
        checks = list(self.query(Check))
        focused = self.screen.focused
        index = checks.index(focused) if focused in checks else -1
        checks[(index + step) % len(checks)].focus()
