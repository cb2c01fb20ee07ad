"""A list of session-file tables shown as rows (curriculum stages, extra workers), with keys
to add and remove rows and an edit row of selects below that edits the highlighted row.

The editor shows `items()` and answers every change with `changed(items)`, the whole new
list; subclasses say where the list lives, what a row looks like and which item key each
control of the edit row edits."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select
from textual.widgets.select import InvalidSelectValueError

from drtui.widgets.form_field import EMPTY, parse_value

CONTROLS = ".rows-edit > Select, .rows-edit > Input"  # named by the item key they edit


class RowTable(DataTable):
    """Rows of one list; a/d ask the owning editor to add or remove one."""

    COLUMNS: ClassVar[tuple[tuple[str, int], ...]] = ()

    @dataclass
    class Requested(Message):
        table: RowTable
        what: str  # "add" | "remove"
        row: int

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, show_cursor=True, **kwargs)
        # inline: the app's `DataTable { height: 1fr }` would stretch a table in a form
        self.styles.height = "auto"
        self.styles.max_height = 8
        self.styles.min_height = 2

    def on_mount(self) -> None:
        for label, width in self.COLUMNS:
            self.add_column(label, width=width)

    def show(self, rows: list[tuple[str, ...]]) -> None:
        """Replace the rows, keeping the cursor where it was."""
        row = self.cursor_row
        with self.prevent(DataTable.RowHighlighted):
            self.clear()
            for cells in rows:
                self.add_row(*cells)
            if rows:
                self.move_cursor(row=min(max(row, 0), len(rows) - 1), animate=False)

    def action_add(self) -> None:
        self.post_message(self.Requested(self, "add", self.cursor_row))

    def action_remove(self) -> None:
        self.post_message(self.Requested(self, "remove", self.cursor_row))


class RowsEditor(Vertical):
    DEFAULT_CSS = """
    RowsEditor { height: auto; }
    RowsEditor > .rows-edit { height: auto; margin-top: 1; }
    RowsEditor > .rows-edit > Select { width: 1fr; margin-right: 1; }
    RowsEditor > .rows-edit > Input { width: 10; margin-right: 1; }
    RowsEditor > .rows-edit > Label { padding: 0 1 0 0; }
    """

    TABLE: ClassVar[type[RowTable]] = RowTable

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._row = 0

    # --- what subclasses say ------------------------------------------------------------

    def items(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def changed(self, items: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def cells(self, index: int, item: dict[str, Any]) -> tuple[str, ...]:
        raise NotImplementedError

    def editors(self) -> list[Widget]:
        """The edit row: labels, and controls each named by the item key it edits."""
        raise NotImplementedError

    def read(self, item: dict[str, Any], key: str) -> Any:
        return item.get(key)

    def write(self, item: dict[str, Any], key: str, value: Any) -> None:
        if value is EMPTY:
            item.pop(key, None)
        else:
            item[key] = value

    # --- the widget ---------------------------------------------------------------------

    def compose_rows(self):
        yield self.TABLE(classes="rows-table")
        with Horizontal(classes="rows-edit"):
            yield from self.editors()

    @property
    def table(self) -> RowTable:
        return self.query_one(RowTable)

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        items = self.items()
        self.table.show([self.cells(i, item) for i, item in enumerate(items)])
        self._fill(self.table.cursor_row, items)

    def _fill(self, row: int, items: list[dict[str, Any]]) -> None:
        """Show the highlighted row in the edit row (no edit: the values are the row's)."""
        self._row = row
        if not 0 <= row < len(items):
            return
        for control in self.query(CONTROLS).results():
            value = self.read(items[row], control.name)
            with self.prevent(Select.Changed, Input.Changed):
                if isinstance(control, Select):
                    try:
                        control.value = Select.NULL if value is None else value
                    except InvalidSelectValueError:  # e.g. a world without waypoints
                        control.value = Select.NULL
                elif isinstance(control, Input):
                    control.value = "" if value is None else str(value)

    def _value(self, control: Select | Input) -> Any:
        if isinstance(control, Select):
            return EMPTY if control.value is Select.NULL else control.value
        return parse_value(control.value, float)

    def new_item(self) -> dict[str, Any]:
        """A copy of the edit row's values."""
        item: dict[str, Any] = {}
        for control in self.query(CONTROLS).results():
            self.write(item, control.name, self._value(control))
        return item

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._fill(event.cursor_row, self.items())

    @on(RowTable.Requested)
    def _requested(self, event: RowTable.Requested) -> None:
        event.stop()
        items = self.items()
        if event.what == "add":
            at = min(event.row + 1, len(items)) if items else 0
            items.insert(at, self.new_item())
            self.changed(items)
            self.table.move_cursor(row=at, animate=False)
            self._fill(at, self.items())
        elif items:
            del items[min(event.row, len(items) - 1)]
            self.changed(items)

    @on(Select.Changed, ".rows-edit > Select")
    @on(Input.Changed, ".rows-edit > Input")
    def _edited(self, event: Select.Changed | Input.Changed) -> None:
        event.stop()
        items = self.items()
        if not 0 <= self._row < len(items):
            return  # nothing to edit yet: the values wait for `a`
        item = copy.deepcopy(items[self._row])
        self.write(item, event.control.name, self._value(event.control))
        if item != items[self._row]:
            items[self._row] = item
            self.changed(items)
