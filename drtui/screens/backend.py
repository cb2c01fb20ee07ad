"""Step 7: where training runs (provider) and what runs it (runner), with each provider's
settings. The embedded simulator on this machine is the default. No secrets: credentials come
from the user's AWS profile, SSH agent or the provider's own login at run time."""

from __future__ import annotations

from functools import partial

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, RadioButton, RadioSet, Static

from drtui.screens.step import WizardStep
from drtui.session import backend
from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.fields import model_field
from drtui.widgets.form_field import FormScroll
from drtui.widgets.lazy_section import LazySection
from drtui.widgets.toggles import Radio


class BackendStep(WizardStep):
    INDEX = 6
    AUTO_FOCUS = "#provider"
    EXPLANATION = ("Where training runs and what runs it. The embedded simulator needs no "
                   "setup. No secrets are stored: drtui uses your AWS profile, SSH agent or CLI "
                   "login.")
    HELP = ("Where training runs and what runs it. The embedded simulator trains on this "
            "machine with no setup; deepracer-for-cloud runs the real simulator in docker; "
            "cloud providers rent a GPU. No secrets are stored: drtui uses your AWS profile, "
            "SSH agent or the provider's own login.")

    def compose_body(self) -> ComposeResult:
        provider = self.draft.get("backend.provider")
        runner = self.draft.get("backend.runner")
        with Horizontal(classes="columns stack", id="step-body"):
            with FormScroll(classes="col-main"):
                yield Label("Provider: the machine", classes="section-title")
                with RadioSet(id="provider"):
                    for name in backend.specs():
                        yield Radio(name, value=provider == name, name=name)
                yield Static("", id="provider-note", classes="note", markup=False)
                estimate = Static("", id="cost-estimate", classes="note", markup=False)
                # providers that price in the studio only (aws-ec2): no line, and no
                # call, otherwise
                estimate.display = False
                yield estimate
                yield FieldProblem("backend.provider")
                yield Label("Runner: the training stack", classes="section-title")
                with RadioSet(id="runner", classes="horizontal"):
                    for name in backend.RUNNERS:
                        yield Radio(name, value=runner == name, name=name)
                yield Static("", id="runner-note", classes="note", markup=False)
                yield FieldProblem("backend.runner")
            with FormScroll(classes="col-side"):
                for spec in backend.specs().values():
                    if spec.settings is not None:
                        yield LazySection(partial(self._settings, f"{spec.name} settings",
                                                  spec.table, spec.settings),
                                          id=f"settings-{spec.table}")
                yield LazySection(partial(self._settings, "deepracer-for-cloud settings "
                                          "(system.env)", "drfc", backend.DrfcSettings),
                                  id="settings-drfc")
                yield Static("", id="local-note", classes="note", markup=False)

    def _settings(self, title: str, table: str, model) -> list:
        return [Label(title, classes="section-title"),
                *[model_field(model, f"backend.{table}", key,
                              self.draft.get(f"backend.{table}.{key}"))
                  for key in model.model_fields],
                FieldProblem(f"backend.{table}")]

    def on_mount(self) -> None:
        self._show()

    @on(RadioSet.Changed, "#provider")
    def _provider(self, event: RadioSet.Changed) -> None:
        provider = event.pressed.name
        self.edit("backend.provider", provider)
        allowed = backend.allowed_runners(provider)
        if allowed and self.draft.get("backend.runner") not in allowed:
            self.edit("backend.runner", allowed[0])
            with self.prevent(RadioSet.Changed):
                for button in self.query("#runner RadioButton").results(RadioButton):
                    button.value = button.name == allowed[0]
        self._show()

    @on(RadioSet.Changed, "#runner")
    def _runner(self, event: RadioSet.Changed) -> None:
        self.edit("backend.runner", event.pressed.name)
        self._show()

    def draft_changed(self, path: str) -> None:
        spec = self._priced()
        if spec is not None and (path.startswith(f"backend.{spec.table}.")
                                 or path == "training.time_limit_minutes"):
            self._estimate()

    def _priced(self) -> backend.ProviderSpec | None:
        """The chosen provider, if it prices in the studio."""
        spec = backend.spec(self.draft.get("backend.provider"))
        return spec if spec is not None and spec.studio_estimate else None

    def _estimate(self) -> None:
        """Money before launch: $/h and the total for the time limit, priced off the UI
        thread (a spot price is an AWS call)."""
        line = self.query_one("#cost-estimate", Static)
        line.display = self._priced() is not None
        if not line.display:
            return
        session = self.draft.session()
        if session is None:
            line.update("no estimate: fix the settings marked first")
            return
        line.update("… estimating the cost")
        self._price(session, self._price_key())

    @work(thread=True, exclusive=True, group="cost-estimate", exit_on_error=False,
          description="Pricing the EC2 instance.")
    def _price(self, session, key: str) -> None:
        from drtui.backends.cost import quote

        try:
            found = quote(session)
            text = (f"≈ ${found.per_hour:.4f}/h for {found.machine}, ${found.total:.2f} for "
                    f"the {session.training.time_limit_minutes} min time limit "
                    f"({found.source})")
        except Exception as exc:  # noqa: BLE001 - any failure is shown, never raised
            text = f"no estimate: {exc}"
        self.app.call_from_thread(self._show_price, text, key)

    def _price_key(self) -> str:
        """What the price depends on: a result for other settings is stale."""
        spec = self._priced()
        return repr((self.draft.get("backend.provider"),
                     self.draft.get(f"backend.{spec.table}") if spec else None,
                     self.draft.get("training.time_limit_minutes")))

    def _show_price(self, text: str, key: str) -> None:
        if key != self._price_key():
            return  # a newer edit is being priced, or the provider changed
        self.query_one("#cost-estimate", Static).update(text)

    def _show(self) -> None:
        provider = self.draft.get("backend.provider")
        runner = self.draft.get("backend.runner")
        spec = backend.spec(provider)
        allowed = spec.runners if spec else ()
        self.query_one("#provider-note", Static).update(spec.description if spec else "")
        self.query_one("#runner-note", Static).update(
            backend.RUNNERS.get(runner, "") + f"  ({provider} runs: {', '.join(allowed)})")
        for button in self.query("#runner RadioButton").results(RadioButton):
            button.disabled = button.name not in allowed and button.name != runner
        for each in backend.specs().values():
            if each.settings is not None:
                self.query_one(f"#settings-{each.table}", LazySection).show(each is spec)
        self.query_one("#settings-drfc", LazySection).show(runner == "drfc")
        self.query_one("#local-note", Static).update(
            "Local: nothing to set up. The embedded trainer uses this machine's CPU or GPU."
            if provider == "local" and runner == "embedded" else "")
        self._estimate()
