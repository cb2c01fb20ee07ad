"""Meta-learning for fast adaptation to a new track: Reptile (Nichol et al., 2018), a
first-order method.

Outer loop: take the meta-weights theta, train a copy on one training track for k PPO
iterations (phi), move theta a step towards it: theta <- theta + eps (phi - theta). The
tracks take turns. Measured: greedy progress on a held-out track after K adaptation
iterations from theta, against K iterations from scratch (the same seed, the same K).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch


def reptile_step(theta: dict[str, torch.Tensor], phi: dict[str, torch.Tensor],
                 eps: float) -> dict[str, torch.Tensor]:
    """theta + eps (phi - theta) for every float tensor; other entries (counters) from phi."""
    return {k: theta[k] + eps * (phi[k] - theta[k]) if theta[k].is_floating_point() else phi[k]
            for k in theta}


def meta_train(lab, worlds: list[str], *, outer_steps: int, inner_iterations: int,
               eps: float) -> dict[str, torch.Tensor]:
    theta = lab.weights()
    for step in range(outer_steps):
        lab.load_weights(theta)
        lab.reset_optimizer()
        lab.use_world(worlds[step % len(worlds)])
        lab.train(inner_iterations)
        # the step size decays linearly, as in the paper
        theta = reptile_step(theta, lab.weights(), eps * (1.0 - step / outer_steps))
    return theta


@dataclass
class MetaResult:
    held_out: str
    adaptation_iterations: int
    scratch_progress: float
    meta_progress: float
    minutes: float


def benchmark(session, *, seed: int = 0, worlds=("reinvent_base", "reInvent2019_wide"),
              held_out: str = "2022_summit_speedway", outer_steps: int = 6,
              inner_iterations: int = 2, eps: float = 0.5, adaptation: int = 2,
              workspace: Path | None = None) -> MetaResult:
    from drtui.research.lab import Lab

    session = session.model_copy(deep=True)
    session.training.seed = seed
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(workspace or tmp)
        scratch = Lab(session, ws)
        scratch.use_world(held_out)
        scratch.train(adaptation)
        scratch_progress = scratch.progress_on(held_out)
        scratch.close()

        lab = Lab(session, ws)
        theta = meta_train(lab, list(worlds), outer_steps=outer_steps,
                           inner_iterations=inner_iterations, eps=eps)
        lab.load_weights(theta)
        lab.reset_optimizer()
        lab.use_world(held_out)
        lab.train(adaptation)
        result = MetaResult(held_out, adaptation, scratch_progress, lab.progress_on(held_out),
                            lab.minutes())
        lab.close()
    return result
