"""The home screen: the session files of the workspace, and New / Open / Import."""

from __future__ import annotations

import tomllib
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Header, Label, OptionList, Static
from textual.widgets.option_list import Option

from drtui.screens.guard import GuardedScreen
from drtui.textsafe import printable
from drtui.widgets.key_footer import KeyFooter

RESUME = "__resume__"


MAX_SESSION_BYTES = 1 << 20  # a session file is a page of TOML; a bigger file is not one


def session_summary(path: Path) -> str | None:
    """'model · track · algorithm' from a session file, without importing pydantic; None
    for a TOML file that is not a session (pyproject.toml and other tools' files)."""
    try:
        if path.stat().st_size > MAX_SESSION_BYTES:
            return "✗ larger than 1 MiB: not a session file"
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "✗ not a readable TOML file"
    if not isinstance(data.get("model"), dict):
        if "schema_version" not in data:
            return None  # another tool's TOML file: not listed
        return "! no [model] table: not a drtui session?"
    parts = [str(data["model"].get("name", "?")),
             str(data.get("track", {}).get("world", "reInvent2019_track")),
             str(data.get("training", {}).get("algorithm", "clipped_ppo"))]
    return printable(" · ".join(parts))


class HomeScreen(GuardedScreen):
    BINDINGS = [
        Binding("ctrl+n", "new", "New", id="home-new", tooltip="Create a session from a starter."),
        Binding("ctrl+o", "open", "Open", id="home-open",
                tooltip="Open the highlighted session in the wizard."),
        Binding("ctrl+r", "import", "Import", id="home-import",
                tooltip="Build a session from a deepracer-for-cloud folder."),
        Binding("f6", "app.runs", "Runs", id="home-runs",
                tooltip="The workspace's training runs: open, resume or stop one."),
    ]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with Vertical(id="home"):
            yield Static("drtui", id="home-title")
            yield Static("Configure a DeepRacer model step by step, check it, and write the "
                         "files deepracer-for-cloud and drtui's trainer read.",
                         id="home-tagline", markup=False)
            yield Label("Sessions", id="sessions-title")
            yield Static("", id="workspace", markup=False)
            yield OptionList(id="sessions")
            yield Static("", id="sessions-empty", markup=False)
            with Horizontal(id="home-buttons"):
                yield Button("New", id="new", variant="primary", compact=True)
                yield Button("Open", id="open", compact=True)
                yield Button("Import DRfC folder", id="import", compact=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.refresh_sessions()

    def on_screen_resume(self) -> None:
        self.refresh_sessions()

    def refresh_sessions(self) -> None:
        app = self.app
        found = sorted(p for p in app.workspace.glob("*.toml") if p.is_file())
        summaries = {p: summary for p in found if (summary := session_summary(p)) is not None}
        files = list(summaries)
        self.query_one("#workspace", Static).update(f"in {app.show_path(app.workspace)}/")
        options: list[Option] = []
        draft = app.draft
        if draft is not None:
            state = "unsaved changes" if draft.dirty else "saved"
            options.append(Option(Text.assemble(("↩ Resume ", "bold"),
                                                printable(draft.model_name), f"  ({state})"),
                                  id=RESUME))
        width = max((len(printable(p.name)) for p in files), default=0) + 2
        for path in files:
            options.append(Option(Text.assemble((f"{printable(path.name):<{width}}", "bold"),
                                                summaries[path]), id=path.name))
        sessions = self.query_one("#sessions", OptionList)
        sessions.clear_options()
        sessions.add_options(options)
        sessions.display = bool(options)
        empty = self.query_one("#sessions-empty", Static)
        empty.display = not options
        empty.update("No session files (*.toml) here yet. Press ctrl+n for a new one, or "
                     "ctrl+r to import a deepracer-for-cloud folder.")
        if options:
            sessions.highlighted = 0
            sessions.focus()

    # --- actions ------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#sessions")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option.id)

    def action_open(self) -> None:
        sessions = self.query_one("#sessions", OptionList)
        if sessions.highlighted is None:
            self.notify("No session to open: ctrl+n creates one.", severity="warning")
            return
        self._open(sessions.get_option_at_index(sessions.highlighted).id)

    def _open(self, option_id: str | None) -> None:
        if option_id == RESUME:
            self.app.goto_step(0)
        elif option_id:
            self.app.open_session(self.app.workspace / option_id)

    @on(Button.Pressed, "#open")
    def _open_pressed(self) -> None:
        self.action_open()

    @on(Button.Pressed, "#new")
    def action_new(self) -> None:
        from drtui.screens.new_session import NewSessionDialog

        self.app.push_screen(NewSessionDialog(self.app.workspace), self._start)

    @on(Button.Pressed, "#import")
    def action_import(self) -> None:
        from drtui.screens.import_folder import ImportDialog

        self.app.push_screen(ImportDialog(self.app.workspace), self._start)

    def _start(self, draft) -> None:
        if draft is not None:
            self.app.start_draft(draft)
