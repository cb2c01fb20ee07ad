"""The curriculum editor: a switch, a table of stages (world, max speed; a adds, d removes),
and the promotion rule. While the switch is off the stages wait here, out of the draft, so
turning it on again brings them back."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from textual import on
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.form_field import EMPTY, FormField
from drtui.widgets.research_edit import ResearchEdited
from drtui.widgets.research_rows import RowsEditor, RowTable
from drtui.widgets.toggles import Check

PATH = "research.curriculum"
PROMOTE = {"promote_progress": "progress % to move on",
           "promote_iterations": "... for this many iterations"}


class StageTable(RowTable):
    COLUMNS = (("#", 3), ("Stage", 12), ("World", 26), ("Max m/s", 8))
    BINDINGS = [
        Binding("a,insert", "add", "Add", id="curriculum-add",
                tooltip="Add a stage after this one: the world and speed below."),
        Binding("d,delete", "remove", "Remove", id="curriculum-remove",
                tooltip="Remove the highlighted stage."),
    ]


class CurriculumEditor(RowsEditor):
    TABLE = StageTable

    def __init__(self, get: Callable[..., Any], worlds: list[str], world: str, **kwargs) -> None:
        super().__init__(**kwargs)
        current = get(PATH, fallback=None)
        self.enabled = isinstance(current, dict)
        current = current if self.enabled else {}
        stages = current.get("stages")
        self._stages = [dict(s) if isinstance(s, dict) else {} for s in stages] \
            if isinstance(stages, list) else []
        self._promote = {k: current[k] for k in PROMOTE if k in current}
        self._worlds, self._world = worlds, world

    def compose(self):
        from drtui.session.research import Curriculum
        from drtui.widgets.fields import describe

        yield Check("train in stages", self.enabled, id="curriculum-on", compact=True)
        yield Static("a adds a stage after the highlighted one, d removes it; the world and "
                     "max speed below edit the highlighted stage.", classes="note",
                     markup=False)
        yield from self.compose_rows()
        yield FieldProblem(f"{PATH}.stages")
        for name, text in PROMOTE.items():
            kind, _, _, hint = describe(Curriculum, name)
            yield FormField(f"{PATH}.{name}", name.replace("_", " "),
                            self._promote.get(name, Curriculum.model_fields[name].default),
                            kind=kind, hint=f"{hint} · {text}")
        yield FieldProblem(PATH)

    def editors(self) -> list[Widget]:
        return [Label("world"),
                Select([(w, w) for w in self._worlds], value=self._world, prompt="world…",
                       compact=True, name="world", id="stage-world"),
                Label("max m/s"),
                Input(placeholder="none", compact=True, name="max_speed",
                      id="stage-speed", select_on_focus=True)]

    def items(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._stages)

    def cells(self, index: int, item: dict[str, Any]) -> tuple[str, ...]:
        speed = item.get("max_speed")
        return (str(index), str(item.get("name") or f"stage-{index + 1}"),
                str(item.get("world") or "(session's)"), "—" if speed is None else str(speed))

    def changed(self, items: list[dict[str, Any]]) -> None:
        self._stages = items
        if self.enabled:
            self.post_message(ResearchEdited(f"{PATH}.stages", copy.deepcopy(items)))
        self.redraw()

    @on(Checkbox.Changed, "#curriculum-on")
    def _switch(self, event: Checkbox.Changed) -> None:
        event.stop()
        if bool(event.value) == self.enabled:
            return
        self.enabled = bool(event.value)
        table = {"stages": copy.deepcopy(self._stages), **self._promote}
        self.post_message(ResearchEdited(PATH, table if self.enabled else EMPTY))

    @on(FormField.Changed)
    def _promote_changed(self, event: FormField.Changed) -> None:
        key = event.path.rsplit(".", 1)[1]
        if event.value is EMPTY:
            self._promote.pop(key, None)
        else:
            self._promote[key] = event.value
        if not self.enabled:
            event.stop()  # kept for when the switch turns on; the draft has no curriculum
