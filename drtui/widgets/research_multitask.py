"""The multi-task editor: one row per extra worker (2, 3, ...), each on its own world and
race, as DRfC's multi-config workers. It writes what `drtui method multitask` writes: the
[[workers]] overrides and training.workers = 1 + rows."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Label, Select, Static

from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.form_field import EMPTY
from drtui.widgets.research_edit import ResearchEdited
from drtui.widgets.research_rows import RowsEditor, RowTable

RACES = ("TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT")
NESTED = {"world": ("track", "world"), "race": ("race", "type")}  # edit row -> override keys


class WorkerTable(RowTable):
    COLUMNS = (("Worker", 6), ("World", 28), ("Race", 18))
    BINDINGS = [
        Binding("a,insert", "add", "Add", id="multitask-add",
                tooltip="Add a worker that trains on the world and race below."),
        Binding("d,delete", "remove", "Remove", id="multitask-remove",
                tooltip="Remove the highlighted worker."),
    ]


class MultitaskEditor(RowsEditor):
    TABLE = WorkerTable

    def __init__(self, get: Callable[..., Any], worlds: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self._get, self._worlds = get, worlds
        self._items = self._from_draft()

    def _from_draft(self) -> list[dict[str, Any]]:
        """Workers 2..training.workers, with their overrides; overrides of workers that do
        not exist come last, so nothing in the file disappears from view."""
        n = self._get("training.workers")
        n = n if isinstance(n, int) and not isinstance(n, bool) else 1
        given = self._get("workers", fallback=[])
        given = [o for o in given if isinstance(o, dict)] if isinstance(given, list) else []
        by_number = {o.get("worker"): o for o in given}
        items = [copy.deepcopy(by_number.get(k, {"worker": k})) for k in range(2, n + 1)]
        return items + [copy.deepcopy(o) for o in given if o not in items]

    def compose(self):
        yield Static("a adds a worker on the world and race below, d removes one; worker 1 "
                     "drives the session's track.", classes="note", markup=False)
        yield from self.compose_rows()
        yield FieldProblem("workers")

    def editors(self) -> list[Widget]:
        return [Label("world"),
                Select([(w, w) for w in self._worlds], prompt="world…", compact=True,
                       name="world", id="worker-world"),
                Label("race"),
                Select([(r, r) for r in RACES], prompt="session's", compact=True,
                       name="race", id="worker-race")]

    def read(self, item: dict[str, Any], key: str) -> Any:
        table, name = NESTED[key]
        sub = item.get(table)
        return sub.get(name) if isinstance(sub, dict) else None

    def write(self, item: dict[str, Any], key: str, value: Any) -> None:
        table, name = NESTED[key]
        sub = item.get(table) if isinstance(item.get(table), dict) else {}
        if value is EMPTY:
            sub.pop(name, None)
        else:
            sub[name] = value
        if sub:
            item[table] = sub
        else:
            item.pop(table, None)

    def items(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._items)

    def cells(self, index: int, item: dict[str, Any]) -> tuple[str, ...]:
        return (str(item.get("worker", index + 2)), self.read(item, "world") or "(session's)",
                self.read(item, "race") or "(session's)")

    def changed(self, items: list[dict[str, Any]]) -> None:
        for i, item in enumerate(items):
            item["worker"] = i + 2
        self._items = items
        overrides = [o for o in items if set(o) != {"worker"}]
        self.post_message(ResearchEdited("workers", copy.deepcopy(overrides)))
        self.post_message(ResearchEdited("training.workers", 1 + len(items)))
        self.redraw()

    def reload(self) -> None:
        """training.workers was edited in its own field: show the workers it now has."""
        self._items = self._from_draft()
        self.redraw()
