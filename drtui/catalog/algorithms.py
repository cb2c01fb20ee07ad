"""Training algorithms and every hyperparameter DeepRacer reads, with per-algorithm
defaults, valid ranges and what each one does.

Key names, types and meanings follow deepracer-simapp's get_updated_hyper_parameters
(bundle/markov/sagemaker_graph_manager.py). Defaults are DRfC's defaults/hyperparameters.json
for clipped_ppo and DeepRacer on AWS's SAC defaults for sac. Ranges are the DeepRacer on AWS
console limits where it has them and the simulator's hard limits otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALGORITHMS = {
    "clipped_ppo": "Clipped PPO: on-policy, discrete or continuous actions, the DeepRacer default.",
    "sac": "Soft actor-critic: off-policy, continuous actions only, one worker.",
}
EXPLORATION_TYPES = ("categorical", "e-greedy", "additive_noise")
LOSS_TYPES = ("huber", "mean squared error")


@dataclass(frozen=True)
class HyperparameterSpec:
    key: str
    type: type
    defaults: dict[str, Any]  # algorithm -> default
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    used_by: tuple[str, ...] = ("clipped_ppo", "sac")

    def describe_range(self) -> str:
        if self.choices is not None:
            return " | ".join(str(c) for c in self.choices)
        return f"{self.low:g} .. {self.high:g}"

    def problem(self, value: Any, algorithm: str | None) -> str | None:
        """Why value is invalid for this key (for this algorithm, when given), or None."""
        return self.simapp_problem(value, algorithm) or self.range_problem(value)

    def simapp_problem(self, value: Any, algorithm: str | None) -> str | None:
        """Why the simulator or its trainer would fail on this value, or None."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.type) or isinstance(value, bool):
            kind = {int: "an integer", float: "a number"}.get(self.type, "a string")
            return f"must be {kind}"
        if self.choices is not None and self.type is str and value not in self.choices:
            allowed = self.choices
            if self.key == "exploration_type" and algorithm == "clipped_ppo":
                allowed = ("categorical", "e-greedy")
            return f"must be one of {', '.join(map(str, allowed))}"
        if (self.key == "exploration_type" and algorithm == "clipped_ppo"
                and value == "additive_noise"):
            return "must be categorical or e-greedy for clipped_ppo (the simulator exits otherwise)"
        return None

    def range_problem(self, value: Any) -> str | None:
        """Why drtui advises against this value (it trains, but outside the range that
        makes sense), or None."""
        if self.choices is not None and self.type is not str and value not in self.choices:
            return f"must be one of {', '.join(map(str, self.choices))}"
        if self.low is not None and not (self.low <= value <= self.high):
            return f"must be within {self.low:g} .. {self.high:g} (got {value:g})"
        return None


def _both(value: Any) -> dict[str, Any]:
    return {"clipped_ppo": value, "sac": value}


HYPERPARAMETERS: dict[str, HyperparameterSpec] = {s.key: s for s in [
    HyperparameterSpec("batch_size", int, _both(64),
                       "Experiences per gradient step; larger is steadier but slower to react.",
                       choices=(32, 64, 128, 256, 512)),
    HyperparameterSpec("beta_entropy", float, _both(0.01),
                       "Entropy bonus: higher keeps the policy exploring longer.", 0.0, 1.0),
    HyperparameterSpec("discount_factor", float, _both(0.99),
                       "How far ahead rewards count: 0.99 looks ~100 steps (~7 s) ahead.",
                       0.0, 1.0),
    HyperparameterSpec("e_greedy_value", float, _both(0.05),
                       "Final chance of a random action with e-greedy exploration.", 0.0, 1.0),
    HyperparameterSpec("epsilon_steps", int, _both(10000),
                       "Steps over which e-greedy decays from 1.0 to its final value.",
                       1, 10_000_000),
    HyperparameterSpec("exploration_type", str,
                       {"clipped_ppo": "categorical", "sac": "categorical"},
                       "categorical samples the policy; e-greedy takes random actions sometimes.",
                       choices=EXPLORATION_TYPES),
    HyperparameterSpec("loss_type", str, {"clipped_ppo": "huber", "sac": "mean squared error"},
                       "Value loss: huber is robust to outliers; anything else means squared "
                       "error.",
                       choices=LOSS_TYPES),
    HyperparameterSpec("lr", float, _both(0.0003),
                       "Adam learning rate: too high diverges, too low learns slowly.", 1e-8, 1e-3),
    HyperparameterSpec("num_episodes_between_training", int, {"clipped_ppo": 20, "sac": 1},
                       "Episodes collected per iteration (PPO); SAC: env steps between updates.",
                       1, 1000),
    HyperparameterSpec("num_epochs", int, _both(5),
                       "Passes over each iteration's experience; more fits harder, risks overfit.",
                       1, 100),
    HyperparameterSpec("stack_size", int, _both(1),
                       "Frames stacked per observation; the simulator fixes it at 1.", 1, 1),
    HyperparameterSpec("term_cond_avg_score", float, _both(350.0),
                       "Average score at which training may stop (parsed, not used by simapp).",
                       0.0, 1e7),
    HyperparameterSpec("term_cond_max_episodes", int, _both(1000),
                       "Maximum training episodes before training stops.", 1, 10_000_000),
    HyperparameterSpec("sac_alpha", float, _both(0.2),
                       "SAC entropy temperature: higher explores more.", 0.0, 1.0,
                       used_by=("sac",)),
]}


def defaults(algorithm: str) -> dict[str, Any]:
    return {k: s.defaults[algorithm] for k, s in HYPERPARAMETERS.items()}
