"""The frame every wizard step shares: progress bar, title and explanation, the step's body,
its problems, and the keys to move between steps, save and write.

A step edits the app's draft through `edit(path, value)`; after each edit the whole draft is
validated by the core and every problem is shown beside the field whose key path it names
(the FieldProblem with the longest matching path), else in the step's summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from drtui.screens.draft import REMOVE
from drtui.screens.guard import GuardedScreen
from drtui.screens.steps import STEPS, step_of
from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.form_field import EMPTY, FormField
from drtui.widgets.key_footer import KeyFooter
from drtui.widgets.step_bar import StepBar

if TYPE_CHECKING:
    from drtui.screens.draft import Draft


def matches(field_path: str, problem_path: str) -> bool:
    return problem_path == field_path or problem_path.startswith((field_path + ".",
                                                                  field_path + "["))


class StepProblems(Static):
    """Problems of this step that no field claims, and a count of the other steps'."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)

    _text: str | None = None

    def show(self, own: list, elsewhere: dict[int, int]) -> None:
        # a warning's str() already starts "warning: "; it does not stop a save or a write
        lines = [f"✗ {p}" if p.is_error else f"! {p}" for p in own]
        if elsewhere:
            where = ", ".join(f"{STEPS[i].short} ({n})" for i, n in sorted(elsewhere.items()))
            lines.append(f"! problems on other steps: {where}")
        text = "\n".join(lines)
        if text == self._text:
            return  # an update re-lays out the screen: skip it on every unchanged keystroke
        self._text = text
        self.update(text)
        self.set_class(any(p.is_error for p in own), "-error")
        self.display = bool(lines)


class WizardStep(GuardedScreen):
    INDEX: ClassVar[int] = 0
    EXPLANATION: ClassVar[str] = ""  # two lines at 80 columns
    HELP: ClassVar[str] = ""  # the longer story, on f1
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("ctrl+b", "back", "Back", id="step-back", priority=True,
                tooltip="Previous step; every value is kept."),
        Binding("ctrl+n", "next", "Next", id="step-next", priority=True,
                tooltip="Next step; every value is kept."),
        Binding("ctrl+s", "app.save", "Save", id="save", priority=True,
                tooltip="Save the session file (refused while it has problems)."),
        Binding("ctrl+g", "app.write_files", "Write", id="write-files", priority=True,
                tooltip="Write the DRfC files to the output folder (refused with problems)."),
        Binding("escape", "home", "Home", id="step-home",
                tooltip="Back to the sessions list; the draft is kept."),
    ]

    def __init__(self) -> None:
        # the breakpoint class from the start: set after mount, it would restyle every widget
        width = self.app.size.width
        super().__init__(classes=next(name for low, name in reversed(self.HORIZONTAL_BREAKPOINTS)
                                      if width >= low))

    def compose(self) -> ComposeResult:
        info = STEPS[self.INDEX]
        yield StepBar([s.short for s in STEPS], self.INDEX, id="step-bar")
        with Vertical(id="step-head"):
            with Horizontal(id="step-title-row"):
                yield Static(f"Step {self.INDEX + 1} of {len(STEPS)} · {info.title}",
                             id="step-title", markup=False)
                yield Static("", id="step-status", markup=False)
            yield Static(self.EXPLANATION, id="step-explanation", markup=False)
        yield from self.compose_body()
        yield StepProblems(id="step-problems")
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.sub_title = self.draft.model_name
        self.show_problems()

    @property
    def draft(self) -> Draft:
        return self.app.draft

    # --- editing ----------------------------------------------------------------------

    def edit(self, path: str, value: Any) -> None:
        """Write one value into the draft and revalidate; EMPTY (a cleared optional field)
        removes the key so the core's default applies."""
        if value is EMPTY:
            value = REMOVE
        if self.draft.set(path, value):
            self.draft_changed(path)
            self.show_problems()

    def draft_changed(self, path: str) -> None:
        """Hook: a step redraws what depends on the value (a map, a plot)."""

    @on(FormField.Changed)
    def _form_field_changed(self, event: FormField.Changed) -> None:
        self.edit(event.path, event.value)

    # --- problems -----------------------------------------------------------------------

    def show_problems(self) -> None:
        problems = self.draft.problems()
        fields = list(self.query(FieldProblem))
        claimed: dict[FieldProblem, list[str]] = {f: [] for f in fields}
        own, elsewhere = [], {}
        states = [False] * len(STEPS)
        for problem in problems:
            step = step_of(problem.path)
            if not problem.is_error:  # shown where it belongs, not counted as broken
                if step == self.INDEX:
                    own.append(problem)
                continue
            states[step] = True
            if step != self.INDEX:
                elsewhere[step] = elsewhere.get(step, 0) + 1
                continue
            candidates = [f for f in fields if f.path and matches(f.path, problem.path)]
            if candidates:
                best = max(candidates, key=lambda f: len(f.path))
                label = problem.path[len(best.path):].lstrip(".")
                claimed[best].append(f"{label}: {problem.message}" if label else problem.message)
            else:
                own.append(problem)
        for widget, messages in claimed.items():
            widget.show(messages)
        mine = sum(1 for p in problems if p.is_error and step_of(p.path) == self.INDEX)
        noted = sum(1 for p in problems if not p.is_error and step_of(p.path) == self.INDEX)
        status = (f"✗ {mine} problem{'s' * (mine != 1)}" if mine else
                  f"! {noted} warning{'s' * (noted != 1)}" if noted else "✓ no problems")
        widget = self.query_one("#step-status", Static)
        if str(widget.content) != status:
            widget.update(status)
            widget.set_class(bool(mine), "-error")
        self.query_one(StepProblems).show(own, elsewhere)
        self.query_one(StepBar).states = tuple(states)
        if self.draft.pending_reward_check() is not None:
            self.app.check_reward_soon()  # its result comes back through show_problems
        if self.draft.dirty:
            self.app.autosave_soon()  # shown problems follow every edit: so does the autosave

    # --- navigation ---------------------------------------------------------------------

    def action_next(self) -> None:
        if self.app.step_index < len(STEPS) - 1:
            self.app.goto_step(self.app.step_index + 1)

    def action_back(self) -> None:
        if self.app.step_index > 0:
            self.app.goto_step(self.app.step_index - 1)

    def action_home(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next" and self.INDEX == len(STEPS) - 1:
            return None  # shown greyed out on the last step
        if action == "back" and self.INDEX == 0:
            return None
        return True
