"""The tune screen: an Optuna study over the open session, run in a thread worker (each trial
a short real training, as `drtui tune` runs it), its trials in a table as they finish, the
best so far, and ctrl+s to save the best trial's session as a new session file.

Reached from the command palette ("Tune hyperparameters") through `open_tune(app)`.
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Input, Label, Static

from drtui.screens.guard import GuardedScreen
from drtui.widgets.key_footer import KeyFooter

TITLE = "Tune hyperparameters"
HELP = "An Optuna study over this session: each trial a short real training (ctrl+r starts)"


def open_tune(app) -> None:
    """Push the tune screen for the app's session; refused while the session has problems."""
    session = app.checked_session("Cannot tune")
    if session is not None:
        app.push_screen(TuneScreen(session, app.draft.session_path, app.workspace))


class TuneScreen(GuardedScreen):
    HELP = (f"{HELP}. Set how many trials, the iterations and minutes each may train, and "
            "optionally a search-space TOML file (as `drtui tune --space`); trials appear "
            "as they finish and the study resumes from tune/<study>.db. f8 stops the "
            "running trial; ctrl+s writes the best trial's session to the file named below.")
    DEFAULT_CSS = """
    #tune { padding: 0 1; }
    #tune-form { height: auto; }
    #tune-form Label, #tune-save-row Label { padding: 1 1 0 0; }
    #tune-form Input { width: 9; }
    #tune-form #tune-space { width: 1fr; }
    #tune-trials { height: 1fr; min-height: 5; }
    #tune-save-row { height: auto; }
    #tune-save-row Input { width: 1fr; }
    #tune-status, #tune-best { height: auto; }
    """
    BINDINGS = [
        Binding("ctrl+r", "start", "Start", id="tune-start",
                tooltip="Run the trials: each one trains the session for real."),
        Binding("f8", "stop", "Stop", id="tune-stop",
                tooltip="Stop the running trial's trainer (it checkpoints) and the study."),
        Binding("ctrl+s", "save_best", "Save best", id="tune-save",
                tooltip="Write the best trial's session to the file named below."),
        Binding("escape", "back", "Back", id="tune-back",
                tooltip="Back to the previous screen (a running study is stopped)."),
    ]

    def __init__(self, session, session_path: Path, workspace: Path, *, trials: int = 10,
                 iterations: int = 5, minutes: float = 10.0, pruner: str = "median"):
        super().__init__()
        self.session, self.session_path = session, Path(session_path)
        self.workspace = Path(workspace)
        self.defaults = (trials, iterations, minutes)
        self.pruner = pruner
        self.study_name = session.model.name
        self.study = None
        self.stop_event = threading.Event()
        self.running = False
        self.gone = False

    def compose(self) -> ComposeResult:
        trials, iterations, minutes = self.defaults
        yield Header(show_clock=False, icon="◆")
        with Vertical(id="tune"):
            yield Static(f"Study {self.study_name} over "
                         f"{self.app.show_path(self.session_path)}: each trial trains the "
                         "session with sampled values on the embedded trainer.", id="tune-title",
                         markup=False)
            with Horizontal(id="tune-form"):
                yield Label("Trials")
                yield Input(str(trials), id="tune-trials-count", type="integer")
                yield Label("Iterations")
                yield Input(str(iterations), id="tune-iterations", type="integer")
                yield Label("Minutes")
                yield Input(f"{minutes:g}", id="tune-minutes", type="number")
                yield Label("Space file")
                yield Input("", id="tune-space", placeholder="(defaults)")
            yield Static("Press ctrl+r to start.", id="tune-status", markup=False)
            yield DataTable(id="tune-trials", cursor_type="row", zebra_stripes=True)
            yield Static("Best: no completed trial yet.", id="tune-best", markup=False)
            with Horizontal(id="tune-save-row"):
                yield Label("Save best as")
                yield Input(str(self._default_save_path()), id="tune-save-path")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = TITLE
        table = self.query_one("#tune-trials", DataTable)
        for key, label in (("number", "Trial"), ("state", "State"), ("value", "Score"),
                           ("seconds", "Seconds"), ("params", "Values")):
            table.add_column(label, key=key)

    def on_unmount(self) -> None:
        self.gone = True
        self.stop_event.set()  # a study left running would train on with nobody watching

    def _ui(self, method, *args) -> None:
        """Call a UI method from the worker thread; nothing once the screen (or app) is gone."""
        if self.gone:
            return
        try:
            self.app.call_from_thread(method, *args)
        except RuntimeError:  # the app has exited
            pass

    def _default_save_path(self) -> Path:
        path = self.session_path.with_name(f"{self.session_path.stem}-best.toml")
        return Path(self.app.show_path(path))

    # --- the study -------------------------------------------------------------------------

    def _read_form(self):
        """(trials, Limits, Space) from the inputs; notifies and returns None when wrong."""
        from drtui.errors import InvalidInput
        from drtui.tune.objective import Limits
        from drtui.tune.space import default_space, load_space

        values = {}
        for key, kind, low in (("tune-trials-count", int, 1), ("tune-iterations", int, 1),
                               ("tune-minutes", float, 0.01)):
            text = self.query_one(f"#{key}", Input).value.strip()
            try:
                values[key] = kind(text)
                if values[key] < low:
                    raise ValueError
            except ValueError:
                self.notify(f"{key.removeprefix('tune-').replace('-count', '')}: must be "
                            f"{'an integer' if kind is int else 'a number'} of at least "
                            f"{low:g} (got {text!r})", title="✗ Not started", severity="error")
                return None
        space_text = self.query_one("#tune-space", Input).value.strip()
        try:
            space = (load_space(self.workspace / space_text, self.session) if space_text
                     else default_space(self.session))
        except InvalidInput as exc:
            self.app._refuse("Not started", exc.problems)
            return None
        limits = Limits(values["tune-iterations"], values["tune-minutes"])
        return values["tune-trials-count"], limits, space

    def action_start(self) -> None:
        if self.running:
            self.notify("The study is already running (f8 stops it).", severity="warning")
            return
        form = self._read_form()
        if form is None:
            return
        self.stop_event = threading.Event()
        self.running = True
        self._status(f"Running {form[0]} trials of up to {form[1].iterations} iterations…")
        self._run_study(*form)

    def action_stop(self) -> None:
        if self.running:
            self.stop_event.set()
            self._status("Stopping: the running trial's trainer checkpoints and exits…")

    def action_back(self) -> None:
        self.stop_event.set()
        self.app.pop_screen()

    @work(thread=True, exclusive=True, group="tune", exit_on_error=False,
          description="Running the Optuna study.")
    def _run_study(self, trials: int, limits, space) -> None:
        from drtui.errors import DrtuiError
        from drtui.tune import study as studies
        from drtui.tune.objective import Interrupted, Objective

        message = "Finished."
        try:
            storage = studies.default_storage(self.workspace, self.study_name)
            study = studies.open_study(self.study_name, storage, pruner=self.pruner)
            self.study = study
            for t in study.get_trials(deepcopy=False):  # a resumed study: show what it has
                if t.state.is_finished():
                    self._ui(self._add_trial, studies.trial_row(t))
            objective = Objective(
                self.session, space, self.workspace, self.study_name, limits=limits,
                base_dir=self.session_path.parent, stop=self.stop_event,
                on_start=lambda n, _run: self._ui(self._status, f"Trial {n} training…"))
            studies.optimize(study, objective, trials, on_trial=lambda t: self._ui(
                self._add_trial, studies.trial_row(t), t.user_attrs.get("error")))
        except Interrupted:
            message = "Stopped: the running trial was marked failed."
            for t in study.get_trials(deepcopy=False):
                if t.number == objective.current:
                    self._ui(self._add_trial, studies.trial_row(t))
        except DrtuiError as exc:
            message = f"✗ {exc}"
        except Exception as exc:  # noqa: BLE001 - the user sees why, the app keeps running
            message = f"✗ {type(exc).__name__}: {exc}"
        self._ui(self._finished, message)

    # --- UI updates (on the app's thread) ------------------------------------------------------

    def _status(self, text: str) -> None:
        self.query_one("#tune-status", Static).update(text)

    def _add_trial(self, row: dict, error: str | None = None) -> None:
        from drtui.tune.study import params_text, value_text

        table = self.query_one("#tune-trials", DataTable)
        key = str(row["number"])
        cells = (key, row["state"], value_text(row["value"]),
                 "-" if row["seconds"] is None else f"{row['seconds']:.0f}",
                 params_text(row["params"]))
        if key in table.rows:
            for column, value in zip(("number", "state", "value", "seconds", "params"), cells):
                table.update_cell(key, column, value)
        else:
            table.add_row(*cells, key=key)
        if error:
            self.notify(error, title=f"✗ Trial {row['number']} failed", severity="error")
        self._show_best()

    def _show_best(self) -> None:
        from drtui.tune.study import params_text

        best = self._best()
        text = ("Best: no completed trial yet." if best is None else
                f"Best: trial {best.number}, score {best.value:.2f} — "
                f"{params_text(best.params)}")
        self.query_one("#tune-best", Static).update(text)

    def _best(self):
        if self.study is None:
            return None
        try:
            return self.study.best_trial
        except ValueError:
            return None

    def _finished(self, message: str) -> None:
        self.running = False
        self._status(message)
        self._show_best()

    # --- saving the best -------------------------------------------------------------------------

    @on(Input.Submitted, "#tune-save-path")
    def _save_submitted(self) -> None:
        self.action_save_best()

    def action_save_best(self) -> None:
        from drtui.errors import DrtuiError
        from drtui.tune.study import save_best

        if self._best() is None:
            self.notify("No completed trial yet.", title="✗ Not saved", severity="warning")
            return
        text = self.query_one("#tune-save-path", Input).value.strip()
        if not text:
            self.notify("Name the file to save the best session to.", title="✗ Not saved",
                        severity="error")
            return
        from drtui.workspace_paths import field_path, outside_problem

        path = field_path(text, self.workspace)
        if refused := outside_problem("the file", path, self.workspace):
            self.notify(refused, title="✗ Not saved", severity="error")
            return
        try:
            best, written = save_best(self.study, path, base_session=self.session_path)
        except DrtuiError as exc:
            self.notify(str(exc), title="✗ Not saved", severity="error")
            return
        except OSError as exc:
            self.notify(str(exc), title="✗ Not saved", severity="error")
            return
        self.notify(f"✓ Saved trial {best.number}'s session to {self.app.show_path(written)}")

