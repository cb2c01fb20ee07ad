"""Reptile's outer step, and continual learning's mechanisms (Fisher, EWC penalty, replay
cars) on an in-process lab trainer."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from research_helpers import tiny_session  # noqa: E402

from drtui.research.continual import EWC, fisher_diagonal  # noqa: E402
from drtui.research.lab import Lab  # noqa: E402
from drtui.research.meta import meta_train, reptile_step  # noqa: E402
from drtui.sim.multi import MultiSim  # noqa: E402


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tiny_session("lab"), tmp_path_factory.mktemp("lab"), cars=4)
    yield lab
    lab.close()


def test_reptile_step_moves_theta_towards_phi():
    theta = {"w": torch.tensor([0.0, 2.0]), "steps": torch.tensor(3)}
    phi = {"w": torch.tensor([1.0, 0.0]), "steps": torch.tensor(9)}
    out = reptile_step(theta, phi, 0.25)
    assert torch.equal(out["w"], torch.tensor([0.25, 1.5])) and int(out["steps"]) == 9


def test_meta_train_one_outer_step_is_theta_plus_eps_phi_minus_theta(lab):
    theta0 = lab.weights()
    theta = meta_train(lab, ["reinvent_base"], outer_steps=1, inner_iterations=1, eps=0.3)
    phi = lab.weights()  # the inner loop's result is what the lab holds now
    moved = [k for k in theta0 if not torch.equal(theta0[k], phi[k])]
    assert moved  # the inner loop really trained
    for k in theta0:
        assert torch.allclose(theta[k], theta0[k] + 0.3 * (phi[k] - theta0[k]), atol=1e-6)


def test_fisher_and_the_ewc_penalty(lab):
    lab.use_world("reinvent_base")
    logged = lab.run.log_path.read_text().count("Training>")
    fisher = fisher_diagonal(lab.trainer.algo, lab.trainer.env, samples=32)
    # a measurement: it works before any iteration and logs no training episodes
    assert lab.run.log_path.read_text().count("Training>") == logged
    assert all(bool((f >= 0).all()) for f in fisher.values())
    assert sum(float(f.sum()) for f in fisher.values()) > 0
    ewc = EWC(lab.net, fisher, lam=10.0)
    assert float(ewc.penalty().detach()) == 0.0  # at the anchor
    anchor = lab.weights()
    with torch.no_grad():
        for p in lab.net.parameters():
            p.add_(0.01)
    penalty = ewc.penalty()
    assert float(penalty.detach()) > 0
    penalty.backward()  # its gradient points back to the anchor: F (theta - anchor) > 0
    grads = [p.grad for p in lab.net.parameters() if p.grad is not None]
    assert grads and all(bool((g >= 0).all()) for g in grads)
    lab.net.zero_grad(set_to_none=True)
    lab.load_weights(anchor)


def test_ewc_keeps_the_important_weights_closer_than_fine_tuning(lab):
    lab.use_world("reinvent_base")
    lab.train(1)
    theta_a = lab.weights()
    fisher = fisher_diagonal(lab.trainer.algo, lab.trainer.env, samples=64)
    drifts = {}
    for lam in (0.0, 1e6):
        lab.load_weights(theta_a)
        lab.reset_optimizer()
        torch.manual_seed(11)
        ewc = EWC(lab.net, fisher, lam=max(lam, 1.0))
        lab.trainer.algo.extra_loss = ewc.penalty if lam else None
        lab.use_world("reInvent2019_wide")
        lab.train(1)
        lab.trainer.algo.extra_loss = None
        drifts[lam] = ewc.drift()
    assert drifts[1e6] < drifts[0.0] / 2, drifts


def test_replay_keeps_a_share_of_the_cars_on_the_first_track(lab):
    lab.use_world("reInvent2019_wide", replay=[("reinvent_base", 0.25)])
    sim = lab.trainer.sim
    assert isinstance(sim, MultiSim) and sim.sizes == [3, 1]
    from drtui.sim.track import load_track

    assert [s.track.length for s in sim.sims] == [load_track("reInvent2019_wide").length,
                                                  load_track("reinvent_base").length]
    assert sim.names == ["1:reInvent2019_wide", "2:reinvent_base"]
    lab.train(1)  # trains on both, with per-task lines in the log
    assert "## drtui: task 2/2 2:reinvent_base" in lab.run.log_path.read_text()
    lab.use_world("reinvent_base")
    assert not isinstance(lab.trainer.sim, MultiSim)
    assert 0.0 <= lab.progress_on("reinvent_base", trials=2) <= 100.0
