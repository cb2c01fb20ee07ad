"""Step 4: the neural network (DeepRacer's three, plus research architectures only drtui's
embedded trainer builds) and the training algorithm the action space allows, with the
training run's settings and, collapsed below them (ctrl+r), the research methods:
randomisation, transfer, curriculum and multi-task training."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Label, RadioButton, RadioSet, Static

from drtui.screens.step import WizardStep
from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.fields import model_field
from drtui.widgets.form_field import FormField, FormScroll
from drtui.widgets.research_edit import ResearchEdited
from drtui.widgets.research_section import ResearchSection
from drtui.widgets.toggles import Radio

TRAINING_FIELDS = {
    "workers": "Parallel simulators feeding one learner: more experience per minute.",
    "time_limit_minutes": "Training stops after this long.",
    "best_model_metric": "Which evaluation score picks the best checkpoint.",
    "change_start_position": "Start episodes at different places around the lap.",
    "round_robin_advance_dist": "How far (fraction of the lap) each new start moves on.",
    "start_position_offset": "Where (fraction of the lap) the first episode starts.",
    "alternate_direction": "Drive alternate episodes the other way round.",
    "domain_randomization": "Randomise lighting and colours: more robust on a real track.",
    "min_eval_trials": "Evaluation laps per checkpoint.",
    "max_steps_per_iteration": "Cap on experience steps per training iteration.",
    "seed": "Random seed for a repeatable run (embedded trainer).",
}


def param_count(name: str) -> str:
    """Trainable parameters, once the catalogue can count them (another issue adds it)."""
    from drtui.catalog import networks

    counter = getattr(networks, "parameter_count", None)
    if counter is None:
        return "—"
    try:
        return f"{counter(name):,}"
    except Exception:  # noqa: BLE001 - a count is a nicety; never break the step for it
        return "—"


class NetworkStep(WizardStep):
    INDEX = 3
    AUTO_FOCUS = "#network-table"
    EXPLANATION = ("DeepRacer's three CNNs run everywhere; research networks only in drtui's "
                   "trainer. clipped_ppo takes any action space, sac only a continuous one.")
    HELP = ("The network turns camera and lidar input into actions. DeepRacer's three CNNs run "
            "everywhere (the shallow one is fast and robust); research architectures train only "
            "in drtui's embedded trainer. clipped_ppo handles discrete or continuous actions; "
            "sac needs continuous ones and one worker. ctrl+r opens the research methods "
            "(what `drtui method` sets): domain randomisation, transfer from another run, a "
            "curriculum of stages (a adds, d removes) and multi-task workers on other worlds.")
    BINDINGS = [
        Binding("ctrl+r", "research", "Research", id="network-research",
                tooltip="Open the research methods below the training run's settings."),
    ]

    def compose_body(self) -> ComposeResult:
        from drtui.catalog.algorithms import ALGORITHMS
        from drtui.session.model import Training

        algorithm = self.draft.get("training.algorithm")
        with FormScroll(id="step-body"):
            with Vertical(id="network-main"):
                yield DataTable(id="network-table", cursor_type="row", zebra_stripes=True)
                yield FieldProblem("network.architecture")
                yield Static("", id="network-description", markup=False)
                yield Label("Algorithm", classes="section-title")
                with RadioSet(id="algorithm", classes="horizontal"):
                    for name in ALGORITHMS:
                        yield Radio(name, value=algorithm == name, name=name)
                yield Static("", id="algorithm-note", markup=False)
                yield FieldProblem("training.algorithm")
            with Vertical(id="training-run"):
                yield Label("Training run", classes="section-title")
                for name, help in TRAINING_FIELDS.items():
                    yield model_field(Training, "training", name,
                                      self.draft.get(f"training.{name}"), help=help)
            yield ResearchSection(self.draft.get, runner=self.draft.get("backend.runner"),
                                  world=self.draft.get("track.world"),
                                  workspace=self.app.workspace, id="research")

    def on_mount(self) -> None:
        from drtui.catalog.networks import NETWORKS

        table = self.query_one("#network-table", DataTable)
        for key, label in (("name", "Network"), ("runs", "Runs on"), ("params", "Params"),
                           ("title", "Title")):
            table.add_column(label, key=key)
        current = self.draft.get("network.architecture")
        with self.prevent(DataTable.RowHighlighted):
            for net in NETWORKS.values():
                table.add_row(net.name, "DeepRacer+drtui" if net.deepracer else "drtui only",
                              param_count(net.name), net.title, key=net.name)
            if current in NETWORKS:
                table.move_cursor(row=table.get_row_index(current), animate=False)
        self._describe(current)
        self._algorithm_note()

    @on(DataTable.RowHighlighted, "#network-table")
    def _network(self, event: DataTable.RowHighlighted) -> None:
        self.edit("network.architecture", event.row_key.value)
        self._describe(event.row_key.value)

    def _describe(self, name: str) -> None:
        from drtui.catalog.networks import NETWORKS

        net = NETWORKS.get(name)
        text = f"{net.title}: {net.description}" if net else f"unknown network {name!r}"
        self.query_one("#network-description", Static).update(text)

    @on(RadioSet.Changed, "#algorithm")
    def _algorithm(self, event: RadioSet.Changed) -> None:
        from drtui.catalog.algorithms import HYPERPARAMETERS

        new, old = event.pressed.name, self.draft.get("training.algorithm")
        if new == old:
            return
        # hyperparameters still at the old algorithm's default follow the new one's;
        # values the user changed stay
        for key, spec in HYPERPARAMETERS.items():
            value = self.draft.get(f"hyperparameters.{key}", fallback=None)
            if old in spec.defaults and value == spec.defaults[old]:
                self.draft.set(f"hyperparameters.{key}", spec.defaults[new])
        self.edit("training.algorithm", new)
        self._algorithm_note()

    def _algorithm_note(self) -> None:
        from drtui.catalog.algorithms import ALGORITHMS

        algorithm = self.draft.get("training.algorithm")
        continuous = self.draft.get("action_space.type") == "continuous"
        note = ALGORITHMS.get(algorithm, "")
        if not continuous:
            note += " sac is unavailable: the action space is discrete (step 3)."
        self.query_one("#algorithm-note", Static).update(note)
        for button in self.query("#algorithm RadioButton").results(RadioButton):
            button.disabled = button.name == "sac" and not continuous and algorithm != "sac"

    # --- research methods -----------------------------------------------------------------

    def action_research(self) -> None:
        self.query_one(ResearchSection).open()

    @on(ResearchEdited)
    def _research_edited(self, event: ResearchEdited) -> None:
        self.edit(event.path, event.value)
        if event.path == "training.workers":  # multi-task sets it: show the new count
            self.query_one("#f-training-workers", FormField).set_value(event.value)

    def draft_changed(self, path: str) -> None:
        if path == "training.workers" or path.startswith(("research", "workers")):
            self.query_one(ResearchSection).summarize()
        if path == "training.workers":
            from drtui.widgets.research_multitask import MultitaskEditor

            for editor in self.query(MultitaskEditor).results(MultitaskEditor):
                editor.reload()
