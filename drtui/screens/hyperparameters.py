"""Step 5: hyperparameters. Every key simapp reads, with the algorithm's default, its valid
range and a one-line explanation (catalog.algorithms.HYPERPARAMETERS); an out-of-range value
shows the core's message beside the field."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button

from drtui.screens.step import WizardStep
from drtui.widgets.form_field import FormField, FormScroll


class HyperparametersStep(WizardStep):
    INDEX = 4
    AUTO_FOCUS = "FormField Input, FormField Select"
    EXPLANATION = ("How the learner updates the policy. The defaults train a first model well; "
                   "change one at a time. A cleared field means the algorithm's default.")
    HELP = ("How the learner updates the policy. The defaults train a first model well; change "
            "one thing at a time. A cleared field means the algorithm's default. Learning rate, "
            "batch size and epochs matter most.")

    def compose_body(self) -> ComposeResult:
        from drtui.catalog.algorithms import HYPERPARAMETERS

        algorithm = self.draft.get("training.algorithm")
        if algorithm not in ("clipped_ppo", "sac"):
            algorithm = "clipped_ppo"
        with FormScroll(id="step-body"):
            for key, spec in HYPERPARAMETERS.items():
                if algorithm not in spec.used_by:
                    continue
                choices = spec.choices
                if key == "exploration_type" and algorithm == "clipped_ppo":
                    choices = ("categorical", "e-greedy")
                default = spec.defaults[algorithm]
                yield FormField(f"hyperparameters.{key}", key,
                                self.draft.get(f"hyperparameters.{key}", fallback=None),
                                kind=spec.type, choices=choices, optional=True,
                                hint=f"{spec.describe_range()} · default {default:g}"
                                if isinstance(default, float) else
                                f"{spec.describe_range() if choices is None else ''}"
                                f"{' · ' if choices is None else ''}default {default}",
                                placeholder=f"{default}", help=spec.help)
            with Horizontal(classes="edit-row"):
                yield Button(f"Reset to {algorithm} defaults", id="hp-reset", compact=True)

    @on(Button.Pressed, "#hp-reset")
    def _reset(self) -> None:
        from drtui.catalog.algorithms import defaults

        values = defaults(self.draft.get("training.algorithm"))
        for key, value in values.items():
            self.draft.set(f"hyperparameters.{key}", value)
        for field in self.query(FormField):
            field.set_value(values.get(field.path.rsplit(".", 1)[1]))
        self.show_problems()
