"""The discrete action list as a table: one row per (steering, speed) action, with keys to add,
remove and edit rows. The table only asks; the step owns the draft and answers."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else str(value)


class ActionTable(DataTable):
    BINDINGS = [
        Binding("a,insert", "add", "Add row", id="actions-add",
                tooltip="Add an action after this row (a copy of the edit fields)."),
        Binding("d,delete", "remove", "Remove row", id="actions-remove",
                tooltip="Remove the highlighted action."),
        Binding("e", "edit", "Edit row", id="actions-edit",
                tooltip="Edit the highlighted action in the fields below."),
    ]

    @dataclass
    class Requested(Message):
        table: ActionTable
        what: str  # "add" | "remove" | "edit"
        row: int

        @property
        def control(self) -> ActionTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)

    def on_mount(self) -> None:
        self.add_column("#", key="index", width=3)
        self.add_column("Steering °", key="steer", width=11)
        self.add_column("Speed m/s", key="speed", width=10)
        self.add_column("", key="mark", width=2)

    def show(self, actions: list[dict], broken: set[int] | None = None,
             editable: bool = True) -> None:
        """Replace the rows, keeping the cursor where it was."""
        row = self.cursor_row
        broken = broken or set()
        with self.prevent(DataTable.RowHighlighted):
            self.clear()
            for i, action in enumerate(actions):
                self.add_row(str(i), _number(action.get("steering_angle", "?")),
                             _number(action.get("speed", "?")), "✗" if i in broken else "")
            if actions:
                self.move_cursor(row=min(row, len(actions) - 1), animate=False)
        self.editable = editable

    def _request(self, what: str) -> None:
        self.post_message(self.Requested(self, what, self.cursor_row))

    def action_add(self) -> None:
        self._request("add")

    def action_remove(self) -> None:
        self._request("remove")

    def action_edit(self) -> None:
        self._request("edit")
