"""Step 8: review. The files that will be written (highlighted, with their diff against the
output folder), every problem of the session grouped by step, and Save / Write. Nothing is
saved or written while there are problems (app.action_save / action_write_files refuse)."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from drtui.screens.messages import FilesWritten, SessionSaved
from drtui.screens.step import StepProblems, WizardStep
from drtui.screens.steps import STEPS, step_of
from drtui.widgets.file_preview import FilePreview
from drtui.widgets.form_field import FormField


class ReviewStep(WizardStep):
    INDEX = len(STEPS) - 1
    AUTO_FOCUS = "#save"
    EXPLANATION = ("The files training reads, exactly as `drtui generate` writes them: + new, ~ "
                   "changed, = unchanged on disk. f4 diff, ctrl+s save, ctrl+g write, f5 train.")
    HELP = ("These are the files training reads, exactly as `drtui generate` writes them. "
            "ctrl+s saves the session file; ctrl+g writes the files (+ new, ~ changed, = "
            "unchanged on disk; f4 shows the diff). f5 trains the saved session on its backend "
            "and opens the monitor; with unsaved changes it asks you to save first, so a run "
            "always trains exactly the file on disk.")
    BINDINGS = [
        Binding("f4", "toggle_diff", "Diff", id="review-diff",
                tooltip="Show each file, or its diff against the output folder."),
        Binding("f5", "app.train", "Train", id="review-train",
                tooltip="Train the saved session on its backend and watch it in the monitor "
                        "(refused with problems or unsaved changes)."),
    ]

    def compose_body(self) -> ComposeResult:
        d = self.draft
        files, on_disk, where, legend = self._files()
        with Vertical(id="step-body"):
            with Vertical(id="review-paths"):
                yield FormField("model.name", "model name", d.get("model.name"),
                                hint="A-Z a-z 0-9 -, up to 64")
                with Horizontal(classes="edit-row"):
                    yield Label("session file", classes="form-label")
                    yield Input(self.app.show_path(d.session_path), id="session-path",
                                compact=True)
                with Horizontal(classes="edit-row"):
                    yield Label("output folder", classes="form-label")
                    yield Input(self.app.show_path(d.out_dir), id="output-dir", compact=True)
                with Horizontal(classes="edit-row"):
                    yield Button("Save session  ctrl+s", id="save", compact=True)
                    yield Button("Write files  ctrl+g", id="write", compact=True,
                                 variant="primary")
            yield Static("", id="review-summary", markup=False)
            yield FilePreview(files, on_disk, where, legend, id="review-files")

    def on_mount(self) -> None:
        self._summary()

    # --- files ------------------------------------------------------------------------------

    def _files(self):
        """(files, text on disk or None, display path, legend) for the draft as it stands."""
        from drtui.errors import InvalidInput
        from drtui.files.render import relative_path, render

        d = self.draft
        session = d.session()
        if session is None:
            note = ("# The session does not parse yet: fix the problems listed above,\n"
                    "# then the files appear here.\n")
            return {"problems": note}, {"problems": note}, {"problems": ""}, \
                "files appear once the session parses"
        try:
            files = render(session, base_dir=d.session_path.parent, check=False)
        except (InvalidInput, ValueError, KeyError) as exc:
            text = f"# cannot render the files: {exc}\n"
            return {"problems": text}, {"problems": text}, {"problems": ""}, ""
        out = d.out_dir
        on_disk, where = {}, {}
        for name in files:
            path = out / relative_path(name)
            where[name] = self.app.show_path(path)
            try:
                on_disk[name] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                on_disk[name] = None
        legend = (f"{len(files)} files for {self.app.show_path(out)}/  "
                  "+ new  ~ changed  = unchanged")
        return files, on_disk, where, legend

    async def refresh_files(self) -> None:
        await self.query_one(FilePreview).update_files(*self._files())
        self._summary()

    def draft_changed(self, path: str) -> None:
        if path == "model.name" and self.draft.output_dir is None:
            out = self.app.show_path(self.draft.out_dir)
            self.query_one("#output-dir", Input).value = out
        self.run_worker(self.refresh_files(), exclusive=True, group="review-refresh")

    @on(FilesWritten)
    async def _written(self, event: FilesWritten) -> None:
        await self.refresh_files()

    @on(SessionSaved)
    def _saved(self) -> None:  # ctrl+s or the palette: "Unsaved changes." no longer holds
        self._summary()

    def action_toggle_diff(self) -> None:
        self.query_one(FilePreview).toggle_diff()

    # --- problems -----------------------------------------------------------------------------

    def _summary(self) -> None:
        problems = self.draft.problems()
        bad = [p for p in problems if p.is_error]
        summary = self.query_one("#review-summary", Static)
        if not bad:
            lines = [f"✓ no problems: ready to save and write. "
                     f"{'Unsaved changes.' if self.draft.dirty else 'Saved.'}"]
        else:
            lines = [f"✗ {len(bad)} problem{'s' * (len(bad) != 1)}: nothing is "
                     "saved or written until they are fixed"]
        for problem in sorted(problems, key=lambda p: not p.is_error):
            step = step_of(problem.path)
            lines.append(f"  {'✗' if problem.is_error else '!'} {step + 1} "
                         f"{STEPS[step].short}: {problem}")
        summary.update("\n".join(lines))
        summary.set_class(bool(bad), "-error")
        summary.set_class(not bad, "-ok")

    def show_problems(self) -> None:
        super().show_problems()
        self.query_one(StepProblems).display = False  # the summary lists every problem
        self._summary()

    # --- paths and buttons ------------------------------------------------------------------

    def _path(self, text: str) -> Path:
        from drtui.workspace_paths import field_path

        return field_path(text, self.app.workspace)  # served: outside is a draft problem

    @on(Input.Changed, "#session-path")
    def _session_path(self, event: Input.Changed) -> None:
        path = self._path(event.value)
        if event.value.strip() and path != self.draft.session_path:
            self.draft.session_path = path
            self.draft.saved_version = None  # a new file: not saved there yet
            self._summary()

    @on(Input.Changed, "#output-dir")
    def _output_dir(self, event: Input.Changed) -> None:
        if event.value.strip():
            out = self._path(event.value)
            self.draft.output_dir = None if out == self.draft.default_output_dir() else out
            self.draft_changed("output_dir")

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.app.action_save()

    @on(Button.Pressed, "#write")
    def _write(self) -> None:
        self.app.action_write_files()
