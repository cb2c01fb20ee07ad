"""Domain randomisation (drtui.sim.randomize): per-car draws within their bounds, seeded,
redrawn per episode; strength 0 is exactly the clean simulator; latency delays actions by
exactly k steps; evaluation stays clean."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from drtui.sim import randomize as R  # noqa: E402
from drtui.sim.env import DeepRacerSim, SimConfig  # noqa: E402
from drtui.sim.randomize import RandomizationConfig, Randomizer  # noqa: E402

WORLD = "reinvent_base"


def sim(randomization=None, n=4, seed=0):
    cfg = SimConfig(world=WORLD, num_cars=n, sensors=("FRONT_FACING_CAMERA",),
                    camera_size=(40, 30), actions=None, speed_range=(0.5, 1.5), seed=seed,
                    randomization=randomization)
    return DeepRacerSim(cfg)


def drive(s: DeepRacerSim, steps: int = 12):
    obs = [s.reset()["FRONT_FACING_CAMERA"]]
    poses = []
    for t in range(steps):
        actions = torch.tensor([[10.0 * ((t % 3) - 1), 1.0]] * s.n)
        o, *_ = s.step(actions)
        obs.append(o["FRONT_FACING_CAMERA"])
        poses.append(torch.stack([s.car.x, s.car.y, s.car.yaw], 1).clone())
    return torch.stack(obs), torch.stack(poses)


def test_strength_zero_is_exactly_the_clean_simulator():
    clean_obs, clean_poses = drive(sim())
    off_obs, off_poses = drive(sim(RandomizationConfig(strength=0.0)))
    assert torch.equal(clean_obs, off_obs)
    assert torch.equal(clean_poses, off_poses)


def test_full_strength_changes_images_and_driving_within_bounds():
    clean_obs, clean_poses = drive(sim())
    rnd_obs, rnd_poses = drive(sim(RandomizationConfig(strength=1.0)))
    assert not torch.equal(clean_obs, rnd_obs)
    assert not torch.equal(clean_poses, rnd_poses)
    assert rnd_obs.dtype == torch.uint8
    s = sim(RandomizationConfig(strength=1.0), n=64)
    d = s.randomizer.draws
    assert (d["brightness"] - 1).abs().max() <= R.BRIGHTNESS
    assert (d["contrast"] - 1).abs().max() <= R.CONTRAST
    assert d["road_shift"].abs().max() <= R.SHIFT and d["background_shift"].abs().max() <= R.SHIFT
    assert 0 <= d["blur"].min() and d["blur"].max() <= R.BLUR_SIGMA
    assert d["dx"].abs().max() <= R.POSE_M and d["dyaw"].abs().max() <= R.POSE_RAD
    assert d["steer_bias"].abs().max() <= R.STEER_BIAS_DEG
    assert (d["speed_scale"] - 1).abs().max() <= R.SPEED_SCALE
    # 64 cars really are spread over the range, not all at one draw
    assert d["brightness"].std() > R.BRIGHTNESS / 4


def test_half_strength_halves_every_amount():
    half = Randomizer(RandomizationConfig(strength=0.5), 256, torch.Generator().manual_seed(1))
    assert half.amount["brightness"] == pytest.approx(R.BRIGHTNESS / 2)
    assert (half.draws["steer_bias"].abs().max()) <= R.STEER_BIAS_DEG / 2
    assert half.draws["steer_bias"].abs().max() > R.STEER_BIAS_DEG / 4


def test_groups_switch_off_on_their_own():
    r = Randomizer(RandomizationConfig(strength=1.0, lighting=False, camera_noise=False),
                   8, torch.Generator().manual_seed(2))
    img = torch.randint(0, 256, (8, 1, 30, 40), dtype=torch.uint8)
    assert torch.equal(r.image(img), img)  # no lighting, blur or noise: pixels untouched
    assert r.draws["steer_bias"].abs().max() > 0  # actuation still drawn


def test_same_seed_same_draws_and_new_draws_each_episode():
    a = Randomizer(RandomizationConfig(strength=1.0), 6, torch.Generator().manual_seed(5))
    b = Randomizer(RandomizationConfig(strength=1.0), 6, torch.Generator().manual_seed(5))
    assert all(torch.equal(a.draws[k], b.draws[k]) for k in a.draws)
    before = {k: v.clone() for k, v in a.draws.items()}
    mask = torch.tensor([True, False, True, False, False, False])
    a.new_episodes(mask)
    assert not torch.equal(a.draws["brightness"][mask], before["brightness"][mask])
    assert torch.equal(a.draws["brightness"][~mask], before["brightness"][~mask])


def test_blur_matches_torchvision_per_car():
    from torchvision.transforms.functional import gaussian_blur

    r = Randomizer(RandomizationConfig(strength=1.0, lighting=False), 3,
                   torch.Generator().manual_seed(3))
    img = torch.rand(3, 1, 30, 40) * 255
    sigmas = torch.tensor([0.0, 0.7, 1.5])
    out = R._blur(img, sigmas)
    assert torch.equal(out[0], img[0])
    for i in (1, 2):
        size = 2 * max(1, round(3 * float(sigmas[i]))) + 1
        assert torch.allclose(out[i], gaussian_blur(img[i], [size, size], [float(sigmas[i])] * 2))
    assert r.amount["blur"] == R.BLUR_SIGMA


@pytest.mark.parametrize("k", [1, 3])
def test_latency_delays_every_action_by_exactly_k_steps(k):
    r = Randomizer(RandomizationConfig(strength=0.0, latency_steps=k), 2,
                   torch.Generator().manual_seed(0))
    sent = [(torch.tensor([float(t), -float(t)]), torch.tensor([1.0 + t, 2.0 + t]))
            for t in range(8)]
    got = [r.actuate(s, v) for s, v in sent]
    for t in range(k):
        assert torch.equal(got[t][0], torch.zeros(2)) and torch.equal(got[t][1], torch.zeros(2))
    for t in range(k, 8):
        assert torch.equal(got[t][0], sent[t - k][0]) and torch.equal(got[t][1], sent[t - k][1])


def test_the_trainer_randomizes_training_cars_only(tmp_path):
    from drtui.session.starter import starter

    s = starter("dr-test")
    s.research.randomization.enabled = True
    s.research.randomization.strength = 0.7
    cfg = SimConfig.from_session(s, 2, randomization=RandomizationConfig.from_session(s))
    assert cfg.randomization.strength == 0.7
    assert SimConfig.from_session(s, 2).randomization is None  # evaluation and teacher: clean
    s.research.randomization.enabled = False
    assert RandomizationConfig.from_session(s) is None
    # and the trainer itself: its training simulator is randomised, its evaluation one clean
    import io

    from research_helpers import create_run, tiny_session

    from drtui.train.trainer import Trainer

    s = tiny_session("randomized")
    s.research.randomization.enabled = True
    s.research.randomization.strength = 0.7
    trainer = Trainer(create_run(tmp_path, s).path, out=io.StringIO(),
                      env={"DRTUI_CARS": "2", "DRTUI_CAMERA_SIZE": "48x36",
                           "DRTUI_TEACHER": "off", "DRTUI_THREADS": "1"})
    threads = torch.get_num_threads()
    trainer._setup()
    try:
        assert trainer.sim.randomizer is not None
        assert trainer.sim.randomizer.cfg.strength == 0.7
        assert trainer.eval_sim.randomizer is None
    finally:
        trainer._close()
        torch.set_num_threads(threads)
