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
from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.fields import model_field
from drtui.widgets.form_field import FormScroll
from drtui.widgets.lazy_section import LazySection
from drtui.widgets.toggles import Radio

SETTINGS = {  # provider -> (session table, settings model name)
    "ssh": ("ssh", "SshSettings"),
    "aws-ec2": ("aws_ec2", "AwsEc2Settings"),
    "nvidia-brev": ("nvidia_brev", "BrevSettings"),
    "thunder-compute": ("thunder_compute", "ThunderSettings"),
    "deepracer-on-aws": ("deepracer_on_aws", "DeepRacerOnAwsSettings"),
}


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
        from drtui.session import backend

        provider = self.draft.get("backend.provider")
        runner = self.draft.get("backend.runner")
        with Horizontal(classes="columns stack", id="step-body"):
            with FormScroll(classes="col-main"):
                yield Label("Provider: the machine", classes="section-title")
                with RadioSet(id="provider"):
                    for name in backend.PROVIDERS:
                        yield Radio(name, value=provider == name, name=name)
                yield Static("", id="provider-note", classes="note", markup=False)
                estimate = Static("", id="cost-estimate", classes="note", markup=False)
                estimate.display = False  # aws-ec2 only: no line, and no AWS call, otherwise
                yield estimate
                yield FieldProblem("backend.provider")
                yield Label("Runner: the training stack", classes="section-title")
                with RadioSet(id="runner", classes="horizontal"):
                    for name in backend.RUNNERS:
                        yield Radio(name, value=runner == name, name=name)
                yield Static("", id="runner-note", classes="note", markup=False)
                yield FieldProblem("backend.runner")
            with FormScroll(classes="col-side"):
                for name, (table, model_name) in SETTINGS.items():
                    yield LazySection(partial(self._settings, f"{name} settings", table,
                                              getattr(backend, model_name)),
                                      id=f"settings-{table}")
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
        from drtui.session.backend import ALLOWED_RUNNERS

        provider = event.pressed.name
        self.edit("backend.provider", provider)
        allowed = ALLOWED_RUNNERS.get(provider, ())
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
        if path.startswith("backend.aws_ec2.") or path == "training.time_limit_minutes":
            self._estimate()

    def _estimate(self) -> None:
        """Money before launch: $/h and the total for the time limit, priced off the UI
        thread (a spot price is an AWS call)."""
        line = self.query_one("#cost-estimate", Static)
        line.display = self.draft.get("backend.provider") == "aws-ec2"
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
        from drtui.backends.aws_ec2 import estimate

        cfg = session.backend.aws_ec2
        try:
            per_hour, total, source = estimate(session)
            text = (f"≈ ${per_hour:.4f}/h for {cfg.instance_type}"
                    f"{' spot' if cfg.spot else ''}, ${total:.2f} for the "
                    f"{session.training.time_limit_minutes} min time limit ({source})")
        except Exception as exc:  # noqa: BLE001 - any failure is shown, never raised
            text = f"no estimate: {exc}"
        self.app.call_from_thread(self._show_price, text, key)

    def _price_key(self) -> str:
        """What the price depends on: a result for other settings is stale."""
        return repr((self.draft.get("backend.provider"), self.draft.get("backend.aws_ec2"),
                     self.draft.get("training.time_limit_minutes")))

    def _show_price(self, text: str, key: str) -> None:
        if key != self._price_key():
            return  # a newer edit is being priced, or the provider changed
        self.query_one("#cost-estimate", Static).update(text)

    def _show(self) -> None:
        from drtui.session.backend import ALLOWED_RUNNERS, PROVIDERS, RUNNERS

        provider = self.draft.get("backend.provider")
        runner = self.draft.get("backend.runner")
        allowed = ALLOWED_RUNNERS.get(provider, ())
        self.query_one("#provider-note", Static).update(PROVIDERS.get(provider, ""))
        self.query_one("#runner-note", Static).update(
            RUNNERS.get(runner, "") + f"  ({provider} runs: {', '.join(allowed)})")
        for button in self.query("#runner RadioButton").results(RadioButton):
            button.disabled = button.name not in allowed and button.name != runner
        chosen = SETTINGS.get(provider, (None,))[0]
        for table, _ in SETTINGS.values():
            self.query_one(f"#settings-{table}", LazySection).show(table == chosen)
        self.query_one("#settings-drfc", LazySection).show(runner == "drfc")
        self.query_one("#local-note", Static).update(
            "Local: nothing to set up. The embedded trainer uses this machine's CPU or GPU."
            if provider == "local" and runner == "embedded" else "")
        self._estimate()
