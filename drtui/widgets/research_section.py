"""The wizard's "Research methods" section: domain randomisation, transfer, curriculum and
multi-task training, collapsed under one title so the step it sits in keeps its layout.

Its widgets are built the first time it opens. Every change reaches the draft as a
ResearchEdited (or a FormField.Changed) that the step applies with its own edit(), so the
core's rules (validate.research_problems) show beside these fields like any other."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on
from textual.widgets import Collapsible, Label, Static

from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.form_field import FormField
from drtui.widgets.lazy_section import LazySection

RANDOMIZATION = {  # field -> what it does, beside its range
    "enabled": "randomise the simulator every episode",
    "strength": "scales every amount",
    "lighting": "brightness, contrast, grey levels",
    "camera_noise": "pixel noise and blur",
    "camera_pose": "camera position and angle jitter",
    "actuation": "steering bias, speed scale, noise",
    "latency_steps": "actions act k steps late",
}
TITLE = "Research methods"


def active_methods(get: Callable[..., Any]) -> list[str]:
    """The methods the draft turns on, as the CLI names them."""
    names = ["randomization"] if get("research.randomization.enabled") is True else []
    names += [k for k in ("transfer", "curriculum") if get(f"research.{k}", fallback=None)
              is not None]
    if get("workers", fallback=None):
        names.append("multitask")
    return names


class ResearchSection(Collapsible):
    DEFAULT_CSS = """
    ResearchSection { margin-top: 1; }
    ResearchSection FormField { margin: 0; grid-columns: 20 14 1fr; }
    ResearchSection #f-research-transfer-from-run { grid-columns: 20 1fr 22; }
    ResearchSection .section-title { margin-top: 1; }
    """

    def __init__(self, get: Callable[..., Any], *, runner: str, world: str, workspace: Path,
                 **kwargs) -> None:
        self._get, self._runner, self._world, self._workspace = get, runner, world, workspace
        active = active_methods(get)
        super().__init__(LazySection(self._build, id="research-body"), title=self._heading(active),
                         collapsed=not active, **kwargs)

    @staticmethod
    def _heading(active: list[str]) -> str:
        return f"{TITLE} on: {', '.join(active)}" if active else \
            f"{TITLE} (drtui's embedded trainer): all off"

    def summarize(self) -> None:
        """The title names what is on, so a collapsed section still says it."""
        self.title = self._heading(active_methods(self._get))

    def on_mount(self) -> None:
        if not self.collapsed:
            self.query_one(LazySection).show(True)

    @on(Collapsible.Expanded)
    def _expanded(self, event: Collapsible.Expanded) -> None:
        if event.collapsible is self:
            self.query_one(LazySection).show(True)

    def open(self) -> None:
        """Expand and put the keyboard on the title (ctrl+r on the step)."""
        self.collapsed = False
        self.query_one("CollapsibleTitle").focus()

    def _build(self) -> list:
        from drtui.catalog.tracks import catalogue, worlds_with_waypoints
        from drtui.session.research import Randomization
        from drtui.widgets.fields import describe
        from drtui.widgets.research_curriculum import CurriculumEditor
        from drtui.widgets.research_multitask import MultitaskEditor
        from drtui.widgets.research_transfer import TransferEditor

        get = self._get
        embedded = self._runner == "embedded"
        driven = worlds_with_waypoints()
        note = ("What `drtui method` sets. Only drtui's embedded trainer runs them; multi-task "
                "also runs on deepracer-for-cloud.")
        if not embedded:
            note += f" backend.runner is {self._runner!r}: only multi-task applies."
        fields = []
        for name, text in RANDOMIZATION.items():
            kind, _, _, hint = describe(Randomization, name)
            fields.append(FormField(f"research.randomization.{name}", name.replace("_", " "),
                                    get(f"research.randomization.{name}"), kind=kind,
                                    hint=f"{hint} · {text}" if hint else text))
        return [
            Static(note, classes="note", markup=False),
            FieldProblem("research"),
            Label("Domain randomisation", classes="section-title"),
            *fields,
            FieldProblem("research.randomization"),
            Label("Transfer: clone a trained model", classes="section-title"),
            TransferEditor(get, self._workspace, id="research-transfer"),
            Label("Curriculum: stages promoted by progress", classes="section-title"),
            CurriculumEditor(get, driven, self._world if self._world in driven else driven[0],
                             id="research-curriculum"),
            Label("Multi-task: extra workers on other worlds", classes="section-title"),
            MultitaskEditor(get, driven if embedded else list(catalogue()),
                            id="research-multitask"),
        ]
