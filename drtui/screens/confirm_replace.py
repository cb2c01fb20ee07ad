"""Asks before drtui replaces files that exist and that this draft did not write."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from drtui.textsafe import printable


class ConfirmReplace(ModalScreen[bool]):
    """Dismisses with True (replace) or False (keep them)."""

    BINDINGS = [Binding("escape", "keep", "Keep", id="dialog-cancel",
                        tooltip="Replace nothing.")]

    def __init__(self, title: str, names: list[str]) -> None:
        super().__init__()
        self._title, self._names = title, names

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="replace-dialog") as box:
            box.border_title = self._title
            shown = [printable(n) for n in self._names[:8]]
            if len(self._names) > 8:
                shown.append(f"… and {len(self._names) - 8} more")
            yield Label("These exist and would be replaced:")
            yield Static("\n".join(f"  {n}" for n in shown), id="replace-names", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Replace", id="replace", variant="error", compact=True)
                yield Button("Keep them", id="keep", compact=True)

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()  # the safe answer is the default

    @on(Button.Pressed, "#replace")
    def _replace(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#keep")
    def action_keep(self) -> None:
        self.dismiss(False)


def files_to_replace(files: dict[str, str], out_dir, relative_path) -> list[str]:
    """The names of `files` that exist in `out_dir` with other content."""
    names = []
    for name, text in files.items():
        path = out_dir / relative_path(name)
        try:
            if path.exists() and path.read_text(encoding="utf-8") != text:
                names.append(str(relative_path(name)))
        except (OSError, UnicodeDecodeError):
            names.append(str(relative_path(name)))
    return names
