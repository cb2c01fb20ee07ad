"""Step 6: the reward function. Pick a template and set its parameters, or write the code in a
highlighted editor; the code is compiled at once and, once edits pause, run by the app's worker
on reward params sampled on the chosen track and race (session.check, as `drtui validate`
does). Its failures show beside the editor like any other problem."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, RadioSet, Select, Static, TextArea

from drtui.screens.draft import REMOVE
from drtui.screens.step import WizardStep
from drtui.widgets.code_area import CodeArea
from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.form_field import FormField, FormScroll
from drtui.widgets.toggles import Radio


class RewardStep(WizardStep):
    INDEX = 5
    AUTO_FOCUS = "#reward-source"
    EXPLANATION = ("What good driving is, to the car: your strongest lever. Tune a template, or "
                   "write reward_function(params); code is checked on your track as you type.")
    HELP = ("The reward tells the car what good driving is; it is the strongest lever you have. "
            "Start from a template and tune its parameters, or write your own "
            "reward_function(params). Code is checked on sample positions of your track as you "
            "type.")

    def __init__(self) -> None:
        super().__init__()
        self._last_template: dict[str, Any] = {}

    def _source(self) -> str:
        reward = self.draft.get("reward")
        reward = reward if isinstance(reward, dict) else {}
        for kind in ("code", "file", "template"):
            if reward.get(kind) is not None:
                return kind
        return "template"

    def compose_body(self) -> ComposeResult:
        from drtui.reward.templates import TEMPLATES

        source = self._source()
        template = self.draft.get("reward.template", fallback=None)
        if template is None:
            template = "centerline"
        with Vertical(id="step-body"):
            with RadioSet(id="reward-source", classes="horizontal"):
                for kind, label in (("template", "template"), ("code", "code"),
                                    ("file", "file")):
                    yield Radio(label, value=source == kind, name=kind)
            yield FieldProblem("reward")
            with FormScroll(id="reward-template-box"):
                yield Select([(f"{t.name}: {t.title}", t.name) for t in TEMPLATES.values()],
                             value=template if template in TEMPLATES else Select.NULL,
                             allow_blank=template not in TEMPLATES, id="reward-template",
                             compact=True)
                yield FieldProblem("reward.template")
                yield Static("", id="template-description", classes="note", markup=False)
                yield Vertical(id="reward-params")
                yield Label("reward_function.py (switch to code to edit it)",
                            classes="section-title")
                yield CodeArea("", language="python", read_only=True, id="template-preview")
            with Vertical(id="reward-code-box"):
                yield CodeArea(self._code_text(), language="python", id="reward-editor")
                yield FieldProblem("reward.code")
                yield Static("", id="reward-check", classes="verdict", markup=False)
            with Vertical(id="reward-file-box"):
                yield Label("reward_function.py file, relative to the session file")
                yield Input(str(self.draft.get("reward.file", fallback="") or ""),
                            placeholder="reward_function.py", id="reward-file", compact=True)
                yield FieldProblem("reward.file")
                yield Static("", id="reward-file-check", classes="verdict", markup=False)

    def _code_text(self) -> str:
        code = self.draft.get("reward.code", fallback=None)
        return code if isinstance(code, str) else ""

    async def on_mount(self) -> None:
        self.query_one("#reward-editor").border_title = "reward_function.py"
        self._show_source(self._source())
        await self._build_params()

    # --- source ---------------------------------------------------------------------------

    def _show_source(self, source: str) -> None:
        for kind in ("template", "code", "file"):
            self.query_one(f"#reward-{kind}-box").set_class(kind == source, "-shown")
        self._show_verdict()

    @on(RadioSet.Changed, "#reward-source")
    async def _source_changed(self, event: RadioSet.Changed) -> None:
        new, old = event.pressed.name, self._source()
        if new == old:
            return
        reward = self.draft.get("reward")
        reward = dict(reward) if isinstance(reward, dict) else {}
        if old == "template":
            self._last_template = {k: reward[k] for k in ("template", "params") if k in reward}
        if new == "code":
            code = (self._code_text() or self._template_code()
                    or "def reward_function(params):\n    return 1.0\n")
            self.draft.replace("reward", {"code": code})
            editor = self.query_one("#reward-editor", CodeArea)
            with self.prevent(TextArea.Changed):
                editor.set_code(code)
        elif new == "file":
            path = self.query_one("#reward-file", Input).value.strip() or "reward_function.py"
            self.draft.replace("reward", {"file": path})
        else:
            self.draft.replace("reward", self._last_template or {"template": "centerline"})
            await self._build_params()
        self.show_problems()
        self._show_source(new)

    def _template_code(self) -> str | None:
        from drtui.reward.templates import TEMPLATES, render

        reward = self._last_template or {}
        name = reward.get("template", "centerline")
        try:
            if name in TEMPLATES and TEMPLATES[name].track:  # the line of the draft's track
                subject = self._subject()
                if subject is None:
                    return None
                from drtui.session.raceline import reward_code

                subject = subject.model_copy(update={"reward": subject.reward.model_copy(
                    update={"template": name, "params": reward.get("params") or {},
                            "code": None, "file": None})})
                return reward_code(subject, self.draft.session_path.parent)
            return render(name, reward.get("params") or {})
        except (ValueError, KeyError):
            return None

    def _subject(self):
        """The draft as a session (its stand-in while some key is broken), or None."""
        parsed = self.draft.parsed()
        return parsed.session or parsed.stand_in

    # --- template -------------------------------------------------------------------------

    @on(Select.Changed, "#reward-template")
    async def _template_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or event.value == self.draft.get("reward.template",
                                                                      fallback=None):
            return
        if self._source() != "template":  # the Select's first Changed, on mount: not a pick
            return
        self.draft.replace("reward", {"template": event.value})
        await self._build_params()
        self.show_problems()

    async def _build_params(self) -> None:
        from drtui.reward.templates import TEMPLATES

        name = self.draft.get("reward.template", fallback=None)
        box = self.query_one("#reward-params", Vertical)
        await box.remove_children()  # awaited: the new fields reuse the old fields' ids
        template = TEMPLATES.get(name)
        self.query_one("#template-description", Static).update(
            template.description if template else "")
        if template is not None:
            params = self.draft.get("reward.params", fallback=None) or {}
            fields = []
            for key, spec in template.params.items():
                hint = "" if spec.type is bool else f"{spec.low:g} .. {spec.high:g}"
                fields.append(FormField(f"reward.params.{key}", key, params.get(key, spec.default),
                                        kind=spec.type, hint=hint, help=spec.help,
                                        optional=True, placeholder=str(spec.default)))
            await box.mount_all(fields)
        self._show_preview()
        self.call_after_refresh(self.show_problems)

    def _show_preview(self) -> None:
        from drtui.reward.templates import TEMPLATES, param_problems, render

        name = self.draft.get("reward.template", fallback=None)
        params = self.draft.get("reward.params", fallback=None) or {}
        preview = self.query_one("#template-preview", CodeArea)
        try:
            if name in TEMPLATES and TEMPLATES[name].track:
                subject = self._subject()
                if param_problems(name, params) or subject is None:
                    raise ValueError(name)
                self._preview_line(subject)
                return
            code = render(name, params)
        except (ValueError, KeyError, TypeError):
            code = "# fix the parameters above to see the code"
        preview.set_code(code)

    def _preview_line(self, subject) -> None:
        """A racing-line template's code, rendered off the UI thread: the line of the draft's
        track takes a fraction of a second the first time (then it is cached)."""
        from drtui.session.raceline import reward_code, track_label

        self.query_one("#template-preview", CodeArea).set_code(
            f"# computing the racing line of {track_label(subject)} ...")
        base = self.draft.session_path.parent

        def work() -> None:
            try:
                code = reward_code(subject, base)
            except ValueError as exc:
                code = "\n".join(f"# {line}" for line in str(exc).splitlines())
            self.app.call_from_thread(self._set_preview, code)

        self.run_worker(work, thread=True, exclusive=True, group="reward-preview")

    def _set_preview(self, code: str) -> None:
        if self.is_attached:
            self.query_one("#template-preview", CodeArea).set_code(code)

    def draft_changed(self, path: str) -> None:
        if path.startswith("reward.params."):
            params = self.draft.get("reward.params", fallback=None)
            if isinstance(params, dict) and not params:
                self.draft.set("reward.params", REMOVE)
            self._show_preview()

    # --- code -------------------------------------------------------------------------------

    @on(TextArea.Changed, "#reward-editor")
    def _code_changed(self, event: TextArea.Changed) -> None:
        if self._source() == "code":
            self.edit("reward.code", event.text_area.text)

    @on(Input.Changed, "#reward-file")
    def _file_changed(self, event: Input.Changed) -> None:
        if self._source() == "file":
            self.edit("reward.file", event.value.strip() or "reward_function.py")

    # --- the run on sample params -----------------------------------------------------------

    def show_problems(self) -> None:
        super().show_problems()
        self._show_verdict()

    def reward_checked(self) -> None:
        """Hook: the app's reward run came back (show_problems follows)."""
        self._show_verdict()

    def _show_verdict(self) -> None:
        """Under the editor or the file field: the run's summary, or "checking" while one is
        due. Failures are problems, shown by the field above like any other."""
        source = self._source()
        if source == "template":
            return
        draft = self.draft
        summary = draft.reward_summary()
        failed = any(p.is_error and p.path.startswith("reward") for p in draft.problems())
        text = ("" if failed else f"✓ {summary}" if summary else
                "… checking" if draft.pending_reward_check() else "")
        widget = self.query_one("#reward-check" if source == "code" else "#reward-file-check",
                                Static)
        if str(widget.render()) != text:
            widget.update(text)
        widget.set_class(text.startswith("✓"), "-ok")
