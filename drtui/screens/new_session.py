"""The New session dialog: a model name, a starter scenario and an algorithm."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static


class NewSessionDialog(ModalScreen):
    """Dismisses with a Draft of the starter session, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog-cancel",
                        tooltip="Close without creating a session.")]

    def __init__(self, workspace: Path) -> None:
        super().__init__()
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        from drtui.catalog.scenarios import SCENARIOS

        with Vertical(classes="dialog", id="new-dialog") as box:
            box.border_title = "New session"
            yield Label("Model name (letters, digits and '-'; also the output folder's name)")
            yield Input(placeholder="my-first-model", id="new-name", compact=True)
            yield Label("Starter scenario")
            yield Select([(f"{k}: {v}", k) for k, v in SCENARIOS.items()], value="centerline",
                         allow_blank=False, id="new-scenario", compact=True)
            yield Label("Algorithm")
            yield Select([("clipped_ppo: discrete or continuous actions", "clipped_ppo"),
                          ("sac: continuous actions only", "sac")], value="clipped_ppo",
                         allow_blank=False, id="new-algorithm", compact=True)
            yield Static("", id="new-problem", classes="dialog-problem", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create", id="create", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def create(self) -> None:
        from drtui.screens.draft import Draft
        from drtui.session.model import ModelInfo
        from drtui.session.starter import starter

        name = self.query_one("#new-name", Input).value.strip() or "my-first-model"
        problem = self.query_one("#new-problem", Static)
        try:
            ModelInfo(name=name)
        except ValueError as exc:
            problem.update(f"✗ model name {exc.errors()[0]['msg'].removeprefix('Value error, ')}")
            return
        path = self.workspace / f"{name}.toml"
        if path.exists():
            problem.update(f"✗ {path.name} already exists: open it from the list, or pick "
                           "another name")
            return
        scenario = self.query_one("#new-scenario", Select).value
        algorithm = self.query_one("#new-algorithm", Select).value
        if algorithm == "sac" and scenario in ("centerline", "speed", "object_avoidance"):
            # these starters have discrete actions, which sac refuses; keep the scenario's
            # reward and race, and give sac the continuous time-trial ranges
            session = starter(name, scenario, algorithm)
            from drtui.session import actions

            session.action_space = actions.preset("time_trial")
        else:
            session = starter(name, scenario, algorithm)
        self.dismiss(Draft.from_session(session, path))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
