"""One labelled field of a session table: an editor, its valid range, a one-line explanation
and the core's problem for its key path. Emits FormField.Changed with a parsed value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from drtui.widgets.field_problem import FieldProblem, field_id
from drtui.widgets.toggles import Check

EMPTY = object()  # the field was cleared: the caller decides (remove the key, or keep "")


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # exact: 0.0003 stays 0.0003, 1e-08 stays 1e-08
    return str(value)


def parse_value(text: str, kind: type) -> Any:
    """The typed value, or the text itself when it does not parse: validation then reports
    the key path, e.g. "input should be a valid number"."""
    text = text.strip()
    if not text:
        return EMPTY
    if kind is int:
        try:
            return int(text)
        except ValueError:
            return text
    if kind is float:
        try:
            return float(text)
        except ValueError:
            return text
    return text


class FormField(Widget):
    """label  [editor]  hint / help / ✗ problem, on a three-column grid (one container, not
    nested rows: forms have dozens of these, and every node costs when a step opens)."""

    DEFAULT_CSS = """
    FormField {
        layout: grid; grid-size: 3; grid-columns: 26 22 1fr; grid-rows: auto;
        height: auto; margin: 0 0 1 0;
    }
    FormField > .form-label { padding: 0 1 0 0; }
    FormField > Input, FormField > Select { width: 1fr; }
    FormField > Checkbox { width: 5; }
    FormField > .form-hint { padding: 0 0 0 1; color: $text-muted; }
    FormField > .form-help { column-span: 3; color: $text-muted; padding: 0 0 0 1; }
    FormField > FieldProblem { column-span: 3; }
    """

    @dataclass
    class Changed(Message):
        form_field: FormField
        path: str
        value: Any  # parsed value, raw text when unparsable, or EMPTY

        @property
        def control(self) -> FormField:
            return self.form_field

    def __init__(self, path: str, label: str, value: Any, *, kind: type = str,
                 choices: tuple[Any, ...] | None = None, hint: str = "", help: str = "",
                 placeholder: str = "", optional: bool = False, id: str | None = None) -> None:
        super().__init__(id=id or field_id(path))
        self.path, self.label, self.value, self.kind = path, label, value, kind
        self.choices, self.hint, self.help_text, self.placeholder = choices, hint, help, placeholder
        self.optional = optional  # cleared: EMPTY (the key is removed) instead of ""

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="form-label")
        yield self._editor()
        yield Static(self.hint, classes="form-hint", markup=False)
        if self.help_text:
            yield Static(self.help_text, classes="form-help", markup=False)
        yield FieldProblem(self.path)

    def _editor(self):
        editor_id = f"{self.id}-editor"
        if self.kind is bool:
            return Check("", bool(self.value), compact=True, id=editor_id)
        if self.choices is not None:
            options = [(format_value(c), c) for c in self.choices]
            value = self.value if self.value in self.choices else Select.NULL
            return Select(options, value=value, allow_blank=value is Select.NULL,
                          compact=True, id=editor_id)
        return Input(format_value(self.value), placeholder=self.placeholder, compact=True,
                     id=editor_id, select_on_focus=True)

    @property
    def editor(self):
        return self.query_one(f"#{self.id}-editor")

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        value = parse_value(event.value, self.kind)
        self._emit("" if value is EMPTY and not self.optional else value)

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._emit(bool(event.value))

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is not Select.NULL:
            self._emit(event.value)

    def _emit(self, value: Any) -> None:
        if value is self.value or (value == self.value and type(value) is type(self.value)):
            return  # widgets announce their initial value on mount: not an edit
        self.value = value
        self.post_message(self.Changed(self, self.path, value))

    def set_value(self, value: Any) -> None:
        """Show a value set from outside (a reset), without announcing it as an edit."""
        self.value = value
        editor = self.editor
        if isinstance(editor, Checkbox):
            editor.value = bool(value)
        elif isinstance(editor, Select):
            editor.value = value if value in (self.choices or ()) else Select.NULL
        else:
            editor.value = format_value(value)


class FormScroll(VerticalScroll, can_focus=False):
    """A scrolling column of fields. Not a tab stop itself: focusing a field scrolls to it,
    so keyboard users step from field to field without an extra stop on the container."""
