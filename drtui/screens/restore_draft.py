"""Offers back work the studio kept when it last stopped without saving (a crash, a kill,
a closed terminal): restore it, or keep the file as it is."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from drtui.textsafe import printable


class RestoreDraft(ModalScreen[bool]):
    """Dismisses with True (restore the kept draft) or False (discard it)."""

    BINDINGS = [Binding("escape", "discard", "Discard", id="dialog-cancel",
                        tooltip="Open the file as saved; the kept work is discarded.")]

    def __init__(self, session: str, when: str) -> None:
        super().__init__()
        self._session, self._when = session, when

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="restore-dialog") as box:
            box.border_title = "Unsaved work was kept"
            yield Label(f"{printable(self._session)} has changes from {self._when} that were "
                        "never saved (drtui stopped before ctrl+s).")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Restore them", id="restore", variant="primary", compact=True)
                yield Button("Discard", id="discard", compact=True)

    def on_mount(self) -> None:
        self.query_one("#restore", Button).focus()

    @on(Button.Pressed, "#restore")
    def _restore(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#discard")
    def action_discard(self) -> None:
        self.dismiss(False)
