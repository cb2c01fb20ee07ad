"""The transfer editor: start training from another run's weights. A switch, the run (picked
from the workspace's runs that have a checkpoint, or typed: an id or a folder) and which
checkpoint. While the switch is off the values wait here, out of the draft."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on
from textual.containers import Vertical
from textual.widgets import Checkbox, Select, Static

from drtui.widgets.field_problem import FieldProblem, field_id
from drtui.widgets.form_field import EMPTY, FormField
from drtui.widgets.research_edit import ResearchEdited
from drtui.widgets.toggles import Check

PATH = "research.transfer"


def runs_with_checkpoints(workspace: Path) -> list[tuple[str, str]]:
    """(run id, label) of the workspace's runs that have a checkpoint to start from."""
    from drtui.runstore.store import list_runs

    out = []
    for run in reversed(list_runs(workspace)):  # newest first: ids end with their start time
        have = [w for w in ("best", "last") if (run.path / "checkpoints" / f"{w}.pt").is_file()]
        if have:
            out.append((run.id, f"{run.id} ({' + '.join(have)}, {run.status})"))
    return out


class TransferEditor(Vertical):
    DEFAULT_CSS = """
    TransferEditor { height: auto; }
    TransferEditor > #transfer-pick { margin: 0 0 1 0; }
    """

    def __init__(self, get: Callable[..., Any], workspace: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        current = get(PATH, fallback=None)
        self.enabled = isinstance(current, dict)
        self._values = dict(current) if self.enabled else {}
        self._workspace = workspace

    def compose(self):
        from drtui.session.research import Transfer
        from drtui.widgets.fields import describe

        yield Check("start from another run's weights", self.enabled, id="transfer-on",
                    compact=True)
        runs = runs_with_checkpoints(self._workspace)
        if runs:
            yield Select([(label, run_id) for run_id, label in runs], compact=True,
                         prompt=f"Pick one of {len(runs)} runs with checkpoints…",
                         id="transfer-pick")
        else:
            yield Static("No run in runs/ has a checkpoint yet: type a run id or folder.",
                         classes="note", markup=False)
        yield FormField(f"{PATH}.from_run", "from run", self._values.get("from_run"),
                        hint="run id, or folder in the workspace")
        kind, choices, _, _ = describe(Transfer, "checkpoint")
        yield FormField(f"{PATH}.checkpoint", "checkpoint",
                        self._values.get("checkpoint", Transfer.model_fields["checkpoint"].default),
                        kind=kind, choices=choices, hint="best falls back to last")
        yield FieldProblem(PATH)

    @on(Checkbox.Changed, "#transfer-on")
    def _switch(self, event: Checkbox.Changed) -> None:
        event.stop()
        if bool(event.value) == self.enabled:
            return
        self.enabled = bool(event.value)
        self.post_message(ResearchEdited(PATH, dict(self._values) if self.enabled else EMPTY))

    @on(Select.Changed, "#transfer-pick")
    def _pick(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.NULL:
            return
        field = self.query_one(f"#{field_id(f'{PATH}.from_run')}", FormField)
        field.set_value(event.value)  # shown in the field, and edited as if typed there
        if self._remember(field.path, event.value):
            self.post_message(ResearchEdited(field.path, event.value))

    @on(FormField.Changed)
    def _field(self, event: FormField.Changed) -> None:
        if not self._remember(event.path, event.value):
            event.stop()  # kept for when the switch turns on; the draft has no transfer

    def _remember(self, path: str, value: Any) -> bool:
        """Keep a value; True when the method is on, so it belongs in the draft too."""
        key = path.rsplit(".", 1)[1]
        if value is EMPTY:
            self._values.pop(key, None)
        else:
            self._values[key] = value
        return self.enabled
