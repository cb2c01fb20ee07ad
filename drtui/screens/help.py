"""F1: the keys active on the screen below, and what that screen is for."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

WORKFLOW = (
    "drtui builds one DeepRacer model as a session file (TOML). The wizard's eight steps "
    "each edit part of it; problems show beside the field they concern (✗) and on the step "
    "bar. Review shows the files that will be written and how they differ from the files "
    "already on disk. Nothing is saved or written while the session has problems. The files "
    "are exactly what `drtui generate SESSION -o DIR` writes. f5 on the review trains the "
    "saved session and opens the monitor; f6 lists the workspace's runs."
)


def keys_table(screen: Screen) -> Table:
    table = Table("key", "action", "what it does", box=None, padding=(0, 1), expand=True)
    seen = set()
    for key, active in screen.active_bindings.items():
        binding = active.binding
        # the screen's and the app's keys; a focused widget's own keys (scrolling, menus)
        # are standard and would drown them
        if active.node not in (screen, screen.app) or binding.system or \
                (binding.action, key) in seen:
            continue
        seen.add((binding.action, key))
        if not binding.tooltip:  # Textual's own (focus, copy) are listed once below
            continue
        display = screen.app.get_key_display(binding)
        table.add_row(Text(display, style="bold"), binding.description, binding.tooltip)
    table.add_row(Text("tab / shift+tab", style="bold"), "Focus", "Next / previous field.")
    return table


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,f1", "dismiss", "Close", id="help-close",
                        tooltip="Close the help.")]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        explanation = getattr(self.below, "HELP", "") or WORKFLOW
        with VerticalScroll(classes="dialog", id="help") as box:
            box.border_title = "Help · esc closes"
            yield Static(Text(explanation), classes="help-text")
            yield Static(keys_table(self.below), id="help-keys")
            if explanation != WORKFLOW:
                yield Static(Text(WORKFLOW, style="italic"), classes="help-text")

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(result)
