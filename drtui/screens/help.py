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


def workflow_text(app) -> str:
    """WORKFLOW with the keys the user's keymap gives train and runs."""
    from textual.keys import format_key

    mine = getattr(app, "applied_keymap", {})
    text = WORKFLOW
    for binding_id, default in (("review-train", "f5"), ("runs", "f6")):
        if binding_id in mine:
            first = mine[binding_id].split(",")[0].strip()
            text = text.replace(f"{default} ", f"{format_key(first)} ")
    return text


def keys_table(screen: Screen) -> Table:
    """The screen's keys as they are now (the user's keymap applied: those marked *), each
    with the id a keymap names it by."""
    mine = getattr(screen.app, "applied_keymap", {})
    table = Table("key", "action", "what it does", "id", box=None, padding=(0, 1), expand=True)
    rows: dict[tuple, tuple[list[str], object]] = {}  # one row per binding, all its keys
    for key, active in screen.active_bindings.items():
        binding = active.binding
        # the screen's and the app's keys, and a focused widget's that drtui names (the code
        # editor's); its standard keys (scrolling, menus) would drown them
        if binding.system or (active.node not in (screen, screen.app) and not binding.id):
            continue
        if not binding.tooltip:  # Textual's own (focus, copy) are listed once below
            continue
        display = screen.app.get_key_display(binding)
        keys, _ = rows.setdefault((binding.id or binding.action, binding.description),
                                  ([], binding))
        if display not in keys:
            keys.append(display)
    for keys, binding in rows.values():
        table.add_row(Text(" ".join(keys) + (" *" if binding.id in mine else ""),
                           style="bold"), binding.description, binding.tooltip,
                      Text(binding.id or "", style="dim"))
    table.add_row(Text("tab ⇧tab", style="bold"), "Focus", "Next / previous field.", "")
    return table


def keymap_text(app) -> Text:
    """Where the user's keymap lives, what it changed, and the entries it could not use."""
    config = getattr(app, "user_config", None)
    if config is None:
        return Text("")
    where = app.show_path(config.path) if hasattr(app, "show_path") else str(config.path)
    mine = getattr(app, "applied_keymap", {})
    text = Text()
    if mine:
        text.append(f"* your keymap ({where}): ", style="bold")
        text.append(", ".join(f"{i} = {k}" for i, k in mine.items()))
    else:
        text.append("Keys can be changed: ", style="bold")
        text.append(f"in {where}, a [keymap] section of id = \"key\" lines "
                    "(ids in the last column), e.g. runs = \"f9\".")
    for problem in getattr(app, "keymap_problems", []):
        text.append(f"\n! {problem}", style="yellow")
    return text


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,f1", "dismiss", "Close", id="help-close",
                        tooltip="Close the help.")]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        workflow = workflow_text(self.app)
        explanation = getattr(self.below, "HELP", "") or workflow
        with VerticalScroll(classes="dialog", id="help") as box:
            box.border_title = "Help · esc closes"
            yield Static(Text(explanation), classes="help-text")
            yield Static(keys_table(self.below), id="help-keys")
            yield Static(keymap_text(self.app), id="help-keymap", classes="help-text")
            if explanation != workflow:
                yield Static(Text(workflow, style="italic"), classes="help-text")

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(result)
