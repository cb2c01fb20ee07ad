"""The Import dialog: build a session from a deepracer-for-cloud folder (drtui.files.importer)."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ImportDialog(ModalScreen):
    """Dismisses with a Draft of the imported session (not saved yet), or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog-cancel",
                        tooltip="Close without importing.")]

    def __init__(self, workspace: Path) -> None:
        super().__init__()
        self.workspace = workspace
        self._imported = None  # the Draft, held while its notes are shown


    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="import-dialog") as box:
            box.border_title = "Import a DRfC folder"
            yield Label("Folder with custom_files/ and run.env (or custom_files itself)")
            yield Input(placeholder="~/deepracer-for-cloud", id="import-folder", compact=True)
            yield Label("Model name (empty: the folder's name)")
            yield Input(placeholder="", id="import-name", compact=True)
            yield Static("", id="import-problem", classes="dialog-problem", markup=False)
            with VerticalScroll(id="import-notes-box", classes="import-notes") as notes:
                notes.display = False
                yield Static("", id="import-notes", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import", id="do-import", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @on(Input.Changed)
    def _edited(self) -> None:
        """Another folder or name: import again rather than open what was shown."""
        if self._imported is not None:
            self._imported = None
            self.query_one("#import-notes-box").display = False
            self.query_one("#do-import", Button).label = "Import"

    @on(Input.Submitted)
    @on(Button.Pressed, "#do-import")
    def do_import(self) -> None:
        if self._imported is not None:  # the notes were read: open the session
            self.dismiss(self._imported)
            return
        from drtui.errors import InvalidInput
        from drtui.files.importer import import_folder
        from drtui.screens.draft import Draft
        from drtui.workspace_paths import outside_problem

        text = self.query_one("#import-folder", Input).value.strip()
        name = self.query_one("#import-name", Input).value.strip() or None
        problem = self.query_one("#import-problem", Static)
        if not text or text == ".":
            problem.update("✗ give the folder to import")
            return
        folder = Path(text).expanduser()
        if refused := outside_problem("the folder", folder, self.workspace):
            problem.update(f"✗ {refused}")
            return
        try:
            session, notes = import_folder(folder, name)
        except InvalidInput as exc:
            problem.update("\n".join(f"✗ {p}" for p in exc.problems))
            return
        except OSError as exc:
            problem.update(f"✗ {exc}")
            return
        problem.update("")
        path = self.workspace / f"{session.model.name}.toml"
        if path.exists():
            self.app.notify(f"{path.name} exists: ctrl+s will overwrite it", severity="warning")
        draft = Draft.from_session(session, path)
        if not notes:
            self.dismiss(draft)
            return
        # what drtui changed or could not read, before the racer trains it (also kept in
        # the session's [imported] notes)
        self._imported = draft
        self.query_one("#import-notes", Static).update(
            f"Imported with {len(notes)} note{'s' if len(notes) > 1 else ''}:\n"
            + "\n".join(f"• {n}" for n in notes))
        self.query_one("#import-notes-box").display = True
        button = self.query_one("#do-import", Button)
        button.label = "Continue"
        button.focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
