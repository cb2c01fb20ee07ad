"""Step 3: the action space. Discrete: a table of (steering, speed) actions to add, remove and
edit, or generated from steering levels x speed levels (actions.Generator); continuous: steering
and speed ranges. Presets fill either, and "from the racing line" fills the list with the
actions the track's racing line needs (drtui.raceline.actions); the picture shows what the car
can do, with the line's planned (steering, speed) once it is computed."""

from __future__ import annotations

import copy
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from drtui.screens.draft import REMOVE
from drtui.screens.step import WizardStep
from drtui.widgets.action_plot import ActionSpacePlot
from drtui.widgets.action_table import ActionTable
from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.fields import model_field
from drtui.widgets.form_field import EMPTY, FormField, FormScroll, format_value, parse_value
from drtui.widgets.toggles import Radio

GEN = "action_space.generator"
CONTINUOUS_DEFAULT = {"type": "continuous", "steering_angle": {"low": -30.0, "high": 30.0},
                      "speed": {"low": 1.0, "high": 4.0}}


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


class ActionSpaceStep(WizardStep):
    INDEX = 2
    AUTO_FOCUS = "#space-type"
    EXPLANATION = ("What the car may do 15 times a second. Discrete: 2-30 fixed actions, "
                   "quicker to learn. Continuous: any value in the ranges, smoother; sac needs "
                   "it.")
    HELP = ("What the car may do each step (15 per second). Discrete: the policy picks one of "
            "2-30 actions; fewer actions learn faster. Continuous: any steering and speed in "
            "the ranges; smoother and faster, needed by sac, harder to learn. The car you race "
            "must use this same action space.")

    def __init__(self) -> None:
        super().__init__()
        self._generator: dict[str, Any] = {}  # the generator fields while actions are explicit
        self._generated: list[dict] = []  # the last valid generator's actions
        self._stale = False  # the generator's fields are not valid now: those are shown
        self._other: dict[str, dict] = {}  # the other type's last space, to switch back to
        self._line_points: list[tuple[float, float]] | None = None  # the racing line's plan

    def compose_body(self) -> ComposeResult:
        from drtui.raceline.actions import DEFAULT_ACTIONS
        from drtui.session.actions import PRESETS, Generator

        space_type = self.draft.get("action_space.type")
        generator = self.draft.get(GEN, fallback=None)
        self._generator = dict(generator) if isinstance(generator, dict) else \
            Generator().model_dump()
        with Horizontal(classes="columns", id="step-body"):
            with FormScroll(classes="col-main"):
                with Horizontal(classes="edit-row"):
                    with RadioSet(id="space-type", classes="horizontal"):
                        yield Radio("discrete", value=space_type == "discrete",
                                          name="discrete")
                        yield Radio("continuous", value=space_type == "continuous",
                                          name="continuous")
                yield Select([(f"{name}: {desc}", name) for name, (desc, _) in PRESETS.items()],
                             prompt="Apply a preset…", id="preset", compact=True)
                yield FieldProblem("action_space")
                with Vertical(id="discrete-editor"):
                    yield Static("", id="discrete-note", classes="note", markup=False)
                    yield ActionTable(id="action-table")
                    yield FieldProblem("action_space.actions")
                    with Horizontal(classes="edit-row"):
                        yield Label("steering")
                        yield Input(placeholder="-30..30", id="edit-steer", compact=True)
                        yield Label("speed")
                        yield Input(placeholder="0.1..4", id="edit-speed", compact=True)
                    with Horizontal(classes="edit-row"):
                        yield Button("Update", id="row-update", compact=True)
                        yield Button("Add", id="row-add", compact=True)
                        yield Button("Remove", id="row-remove", compact=True)
                    yield Label("Generate: steering levels x speed levels",
                                classes="section-title")
                    for name in Generator.model_fields:
                        yield model_field(Generator, GEN, name, self._generator.get(name))
                    yield FieldProblem(GEN)
                    yield Button("Generate actions", id="generate", compact=True)
                    yield Label("From the racing line of the track", classes="section-title")
                    with Horizontal(classes="edit-row"):
                        yield Label("actions")
                        yield Input(str(DEFAULT_ACTIONS), placeholder="2..30", id="line-count",
                                    compact=True)
                        yield Button("From the racing line", id="from-line", compact=True)
                    yield Static("", id="line-note", classes="note", markup=False)
                with Vertical(id="continuous-editor"):
                    for table, label, unit in (("steering_angle", "steering", "°"),
                                               ("speed", "speed", "m/s")):
                        for end in ("low", "high"):
                            path = f"action_space.{table}.{end}"
                            yield FormField(path, f"{label} {end} {unit}",
                                            self.draft.get(path, fallback=None), kind=float,
                                            hint="-30 .. 30" if table == "steering_angle"
                                            else "0.1 .. 4")
                        yield FieldProblem(f"action_space.{table}")
            with Vertical(classes="col-side"):
                yield ActionSpacePlot(id="action-plot")

    def on_mount(self) -> None:
        self.query_one("#action-plot").border_title = "Action space"
        self._show_space()

    # --- the draft ------------------------------------------------------------------------

    def _space(self) -> dict[str, Any]:
        space = self.draft.get("action_space")
        return space if isinstance(space, dict) else {}

    def _actions(self) -> list[dict]:
        """The discrete actions as dicts: the explicit list, or the generator's output."""
        space = self._space()
        if isinstance(space.get("actions"), list):
            return [a if isinstance(a, dict) else {} for a in space["actions"]]
        if isinstance(space.get("generator"), dict):
            from pydantic import ValidationError

            from drtui.session.actions import Generator

            try:
                self._generated = [a.model_dump()
                                   for a in Generator(**space["generator"]).actions()]
                self._stale = False
            except (ValidationError, TypeError):
                # a value half typed (or cleared): the last valid generator's actions stay
                # shown, never a flash of 0 actions; the field says what is wrong
                self._stale = bool(self._generated)
            return list(self._generated)
        return []

    def edit(self, path: str, value: Any) -> None:
        # generator fields edit the draft only while the space is generated; otherwise they
        # wait for the Generate button (the explicit list stays as the user made it)
        if path.startswith(GEN + "."):
            key = path.rsplit(".", 1)[1]
            if value is EMPTY or value is REMOVE:
                self._generator.pop(key, None)
            else:
                self._generator[key] = value
            if not isinstance(self._space().get("generator"), dict):
                return
        super().edit(path, value)

    def draft_changed(self, path: str) -> None:
        self._show_space()

    def _replace_space(self, space: dict[str, Any]) -> None:
        old = self._space()
        if old.get("write_index"):
            space = {**space, "write_index": True}
        self.draft.replace("action_space", space)
        self._show_space()
        self.show_problems()
        for field in self.query(FormField):  # show the new values in the fields
            if field.path.startswith("action_space.") and not field.path.startswith(GEN):
                field.set_value(self.draft.get(field.path, fallback=None))

    def _show_space(self) -> None:
        space = self._space()
        discrete = space.get("type") != "continuous"
        self.query_one("#discrete-editor").set_class(discrete, "-shown")
        self.query_one("#continuous-editor").set_class(not discrete, "-shown")
        plot = self.query_one(ActionSpacePlot)
        if discrete:
            actions = self._actions()
            broken = {i for i, a in enumerate(actions)
                      if not (isinstance(_float(a.get("steering_angle")), float)
                              and -30 <= a["steering_angle"] <= 30
                              and isinstance(_float(a.get("speed")), float)
                              and 0.1 <= a["speed"] <= 4)}
            generated = isinstance(space.get("generator"), dict)
            table = self.query_one(ActionTable)
            table.show(actions, broken)
            self._fill_edit_row(table.cursor_row, actions)
            self.query_one("#discrete-note", Static).update(
                (f"{len(actions)} actions from the generator below"
                 + (" (its last valid values, until the field being edited is valid)"
                    if self._stale else "")) if generated else
                f"{len(actions)} actions · a add · d remove · e edit")
            points = [(float(a["steering_angle"]), float(a["speed"]))
                      for i, a in enumerate(actions) if i not in broken]
            plot.show(discrete=points or None, line=self._line_points)
        else:
            s, v = space.get("steering_angle") or {}, space.get("speed") or {}
            ends = [_float(s.get("low")), _float(s.get("high")), _float(v.get("low")),
                    _float(v.get("high"))]
            ok = None not in ends and ends[0] < ends[1] and ends[2] < ends[3]
            plot.show(continuous=((ends[0], ends[1]), (ends[2], ends[3])) if ok else None)

    # --- type and presets -----------------------------------------------------------------

    @on(RadioSet.Changed, "#space-type")
    def _type_changed(self, event: RadioSet.Changed) -> None:
        new = event.pressed.name
        old = self._space()
        if old.get("type", "discrete") == new:
            return
        self._other[old.get("type", "discrete")] = copy.deepcopy(old)
        if new == "continuous":
            space = self._other.get("continuous", CONTINUOUS_DEFAULT)
        else:
            space = self._other.get("discrete", {"type": "discrete",
                                                 "generator": dict(self._generator)})
        self._replace_space(copy.deepcopy(space))

    @on(Select.Changed, "#preset")
    def _preset(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        from drtui.session.actions import preset

        space = preset(event.value).model_dump(mode="json", exclude_none=True)
        space.pop("write_index", None)
        if isinstance(space.get("generator"), dict):
            self._generator = dict(space["generator"])
            for field in self.query(FormField):
                if field.path.startswith(GEN + "."):
                    field.set_value(self._generator.get(field.path.rsplit(".", 1)[1]))
        self._show_type(space["type"])
        self._replace_space(space)
        self.notify(f"Preset {event.value}: {len(self._actions()) or 'continuous'}"
                    f"{' actions' if space['type'] == 'discrete' else ''}", timeout=3)

    def _show_type(self, space_type: str) -> None:
        with self.prevent(RadioSet.Changed):
            for button in self.query("#space-type RadioButton").results(RadioButton):
                if button.name == space_type:
                    button.value = True

    # --- from the racing line -------------------------------------------------------------

    @on(Button.Pressed, "#from-line")
    @on(Input.Submitted, "#line-count")
    def _from_line(self) -> None:
        raw = self.query_one("#line-count", Input).value.strip()
        n = int(raw) if raw.isdigit() else None
        if n is None or not 2 <= n <= 30:
            self.notify(f"actions from the racing line: must be a whole number within 2 .. 30 "
                        f"(got {raw!r})", severity="error", timeout=6)
            return
        parsed = self.draft.parsed()
        subject = parsed.session or parsed.stand_in
        if subject is None or parsed.is_broken("track"):
            self.notify("actions from the racing line: the track step has a problem to fix "
                        "first", severity="error", timeout=6)
            return
        from drtui.session.raceline import track_label

        old = (f"{len(self._actions())} actions" if self._space().get("type") != "continuous"
               else "a continuous space")
        label = track_label(subject)
        self.query_one("#line-note", Static).update(f"computing the racing line of {label} ...")
        base = self.draft.session_path.parent

        def work() -> None:
            from drtui.catalog.tracks import RouteError
            from drtui.raceline.actions import line_actions
            from drtui.session.raceline import session_line

            try:
                line = session_line(subject, base)
                actions = line_actions(line, n)
            except (RouteError, OSError, ValueError) as exc:
                self.app.call_from_thread(self._line_note, f"no racing line for {label}: {exc}")
                return
            self.app.call_from_thread(self._line_applied, label, line, actions, old)

        self.run_worker(work, thread=True, exclusive=True, group="line-actions")

    def _line_note(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#line-note", Static).update(text)

    def _line_applied(self, label: str, line, actions: list[dict], old: str) -> None:
        if not self.is_attached:
            return
        self._line_points = [(float(s), float(v)) for s, v in zip(line.steering, line.speed)]
        self._show_type("discrete")
        self._set_actions(actions)
        lo, hi = line.limits.min_speed, line.limits.max_speed
        self._line_note(f"{len(actions)} actions from the racing line of {label} replace "
                        f"{old} (planned for {lo:g}..{hi:g} m/s: lap {line.lap_time_s:.2f} s)")

    # --- rows -----------------------------------------------------------------------------

    def _edit_values(self) -> dict[str, Any]:
        steer = parse_value(self.query_one("#edit-steer", Input).value, float)
        speed = parse_value(self.query_one("#edit-speed", Input).value, float)
        return {"steering_angle": 0.0 if steer is EMPTY else steer,
                "speed": 1.0 if speed is EMPTY else speed}

    def _set_actions(self, actions: list[dict]) -> None:
        space = {k: v for k, v in self._space().items() if k not in ("generator", "actions")}
        space.update(type="discrete", actions=actions)
        self._replace_space(space)

    @on(ActionTable.RowHighlighted, "#action-table")
    def _row_highlighted(self, event: ActionTable.RowHighlighted) -> None:
        self._fill_edit_row(event.cursor_row, self._actions())

    def _fill_edit_row(self, row: int, actions: list[dict]) -> None:
        if 0 <= row < len(actions):
            action = actions[row]
            self.query_one("#edit-steer", Input).value = format_value(action.get("steering_angle"))
            self.query_one("#edit-speed", Input).value = format_value(action.get("speed"))

    @on(ActionTable.Requested)
    def _requested(self, event: ActionTable.Requested) -> None:
        {"add": self._add_row, "remove": self._remove_row,
         "edit": lambda: self.query_one("#edit-steer", Input).focus()}[event.what]()

    @on(Button.Pressed, "#row-update")
    def _update_row(self) -> None:
        actions = self._actions()
        row = self.query_one(ActionTable).cursor_row
        if not actions:
            return self._add_row()
        actions[min(row, len(actions) - 1)] = self._edit_values()
        self._set_actions(actions)

    @on(Button.Pressed, "#row-add")
    def _add_row(self) -> None:
        actions = self._actions()
        row = self.query_one(ActionTable).cursor_row
        actions.insert(min(row + 1, len(actions)), self._edit_values())
        self._set_actions(actions)
        self.query_one(ActionTable).move_cursor(row=min(row + 1, len(actions) - 1))

    @on(Button.Pressed, "#row-remove")
    def _remove_row(self) -> None:
        actions = self._actions()
        if actions:
            del actions[min(self.query_one(ActionTable).cursor_row, len(actions) - 1)]
            self._set_actions(actions)

    @on(Input.Submitted, "#edit-steer, #edit-speed")
    def _submitted(self) -> None:
        self._update_row()
        self.query_one(ActionTable).focus()

    @on(Button.Pressed, "#generate")
    def _generate(self) -> None:
        space = {k: v for k, v in self._space().items() if k not in ("generator", "actions")}
        space.update(type="discrete", generator=dict(self._generator))
        self._replace_space(space)
