"""PPO and SAC on the embedded simulator: they learn (seeded, small, one CPU thread), and their
DeepRacer hyperparameters mean what simapp means by them."""

from __future__ import annotations

import statistics

import pytest

torch = pytest.importorskip("torch")

from drtui.files.render import reward_function_py  # noqa: E402
from drtui.reward.check import load_reward_function  # noqa: E402
from drtui.session.actions import ActionSpace, Range  # noqa: E402
from drtui.session.starter import starter  # noqa: E402
from drtui.sim.env import DeepRacerSim, SimConfig  # noqa: E402
from drtui.train.networks import factory  # noqa: E402
from drtui.train.networks.base import VectorMLP, make_encoder  # noqa: E402
from drtui.train.networks.heads import SquashedGaussianActor, TwinQCritic  # noqa: E402
from drtui.train.networks.spec import continuous, discrete  # noqa: E402
from drtui.train.obs import ObsAdapter, obs_spec  # noqa: E402
from drtui.train.ppo import PPO, PPOConfig  # noqa: E402
from drtui.train.rollout import TrainEnv  # noqa: E402
from drtui.train.sac import SAC, SACConfig  # noqa: E402

SHALLOW = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_env(session, cars: int, seed: int, *, walls: bool = True) -> tuple[TrainEnv, list]:
    """The short reinvent_base track; a lidar that sees the borders as walls (DeepRacer's sees
    only objects) gives a small, fast observation that a policy can learn from in seconds."""
    reward = load_reward_function(reward_function_py(session))
    cfg = SimConfig.from_session(session, cars, lidar_walls=walls, seed=seed)
    cfg.max_steps = 600
    sim = DeepRacerSim(cfg, reward)
    ends: list = []
    env = TrainEnv(sim, ObsAdapter(sim.observation_shapes()), on_episode=ends.append)
    env.reset()
    return env, ends


def session_for(algorithm: str = "clipped_ppo", **hp):
    s = starter("learn-test", algorithm=algorithm)
    s.track.world = "reinvent_base"
    s.car.sensors = ["LIDAR"]
    if algorithm == "sac":
        s.action_space = ActionSpace(type="continuous", steering_angle=Range(low=-30, high=30),
                                     speed=Range(low=0.5, high=1.0))
    for key, value in hp.items():
        setattr(s.hyperparameters, key, value)
    return s


def small_encoder(spec_obs):
    return make_encoder(spec_obs, image=None, vector=lambda n: VectorMLP(n, (64, 64)),
                        middleware=())


def progress_per_iteration(algo, env, ends: list, iterations: int) -> list[float]:
    out = []
    for _ in range(iterations):
        ends.clear()
        algo.update(algo.collect(env))
        out.append(statistics.fmean(e.progress for e in ends))
    return out


def test_ppo_improves_mean_progress():
    torch.manual_seed(0)
    session = session_for(num_episodes_between_training=8, num_epochs=3)
    env, ends = make_env(session, cars=8, seed=0)
    net = factory.build(SHALLOW, obs_spec(env.sim.observation_shapes()), discrete(10))
    ppo = PPO(net, PPOConfig.from_session(session))
    progress = progress_per_iteration(ppo, env, ends, 18)
    first, last = statistics.fmean(progress[:3]), statistics.fmean(progress[-3:])
    assert last >= first + 10.0, progress


def test_sac_improves_mean_progress():
    """SAC needs ~5k transitions, one gradient step each, before its policy lifts off here
    (~10 iterations); the loop stops as soon as it has."""
    torch.manual_seed(0)
    session = session_for("sac", num_episodes_between_training=8, lr=0.001)
    env, ends = make_env(session, cars=8, seed=0)
    spec_obs = obs_spec(env.sim.observation_shapes())
    spec = continuous((-30.0, 0.5), (30.0, 1.0))
    # a small actor and twin critic: SAC's gradient steps dominate on a CPU
    actor = SquashedGaussianActor(small_encoder(spec_obs), spec)
    critic = TwinQCritic(small_encoder(spec_obs), spec, hidden=(64, 64))
    cfg = SACConfig.from_session(session)
    cfg.learning_starts, cfg.updates_per_step = 500, 1.0
    shapes = env.adapter.store_shapes()
    sac = SAC(actor, critic, cfg, shapes, {k: torch.float32 for k in shapes},
              buffer_capacity=20_000)
    progress = progress_per_iteration(sac, env, ends, 3)
    first = statistics.fmean(progress)
    for _ in range(13):
        progress += progress_per_iteration(sac, env, ends, 1)
        if statistics.fmean(progress[-2:]) >= first + 10.0:
            break
    assert statistics.fmean(progress[-2:]) >= first + 10.0, progress


def test_hyperparameters_read_as_deepracer_means_them():
    session = session_for(batch_size=128, beta_entropy=0.05, discount_factor=0.9,
                          loss_type="mean squared error", exploration_type="e-greedy",
                          e_greedy_value=0.1, epsilon_steps=1000, num_epochs=4, lr=0.0001,
                          num_episodes_between_training=12)
    session.training.max_steps_per_iteration = 500
    cfg = PPOConfig.from_session(session)
    assert (cfg.batch_size, cfg.beta_entropy, cfg.gamma, cfg.loss_type, cfg.num_epochs) == \
        (128, 0.05, 0.9, "mean squared error", 4)
    assert (cfg.episodes_per_iteration, cfg.max_steps_per_iteration, cfg.lr) == (12, 500, 0.0001)
    net = factory.build(SHALLOW, {"lidar": (64,)}, discrete(10))
    ppo = PPO(net, cfg)
    assert ppo.optimizer.defaults["eps"] == 1e-5 and ppo.optimizer.defaults["lr"] == 0.0001
    # e-greedy: linear from 1.0 to e_greedy_value over epsilon_steps env steps
    assert ppo.epsilon() == 1.0
    ppo.env_steps = 500
    assert ppo.epsilon() == pytest.approx(0.55)
    ppo.env_steps = 5000
    assert ppo.epsilon() == pytest.approx(0.1)
    sac_cfg = SACConfig.from_session(session_for("sac", sac_alpha=0.3))
    assert sac_cfg.alpha == 0.3 and sac_cfg.loss_type == "mean squared error"


def test_an_iteration_collects_whole_episodes_up_to_the_step_cap():
    torch.manual_seed(1)
    session = session_for(num_episodes_between_training=5, num_epochs=1)
    env, ends = make_env(session, cars=4, seed=1, walls=False)
    net = factory.build(SHALLOW, {"lidar": (64,)}, discrete(10))
    ppo = PPO(net, PPOConfig.from_session(session))
    rollout = ppo.collect(env)
    assert len(ends) >= 5 and int(rollout.dones.sum()) == len(ends)
    ppo.cfg.max_steps_per_iteration, ppo.cfg.episodes_per_iteration = 100, 1000
    rollout = ppo.collect(env)
    assert rollout.rewards.numel() == 100  # 25 steps of 4 cars
    stats = ppo.update(rollout)
    assert [s["epoch"] for s in stats] == [0]
    assert all(k in stats[0] for k in ("loss", "kl", "entropy"))


def test_gae_matches_a_hand_computation():
    from drtui.train.ppo import GAE_LAMBDA, Rollout

    ppo = PPO(factory.build(SHALLOW, {"lidar": (8,)}, discrete(3)), PPOConfig(gamma=0.5))
    z = torch.zeros(3, 1)
    ro = Rollout([], z, z, values=torch.tensor([[1.0], [2.0], [3.0]]),
                 rewards=torch.tensor([[1.0], [1.0], [1.0]]),
                 dones=torch.tensor([[0.0], [1.0], [0.0]]),
                 last_value=torch.tensor([4.0]))
    adv, returns = ppo.advantages(ro)
    g, lam = 0.5, GAE_LAMBDA
    a2 = 1 + g * 4 - 3
    a1 = 1 - 2  # the episode ended at t=1: no bootstrap
    a0 = (1 + g * 2 - 1) + g * lam * a1
    assert adv.flatten().tolist() == pytest.approx([a0, a1, a2])
    assert returns.flatten().tolist() == pytest.approx([a0 + 1, a1 + 2, a2 + 3])


def test_continuous_ppo_squashes_into_the_session_ranges():
    torch.manual_seed(2)
    spec = continuous((-20.0, 0.5), (20.0, 2.0))
    ppo = PPO(factory.build(SHALLOW, {"lidar": (8,)}, spec), PPOConfig())
    with torch.no_grad():
        ppo.net.log_std.fill_(2.0)  # wide noise: samples far outside [-1, 1] before the tanh
    obs = {"lidar": torch.rand(256, 8)}
    action, _, _ = ppo._explore(obs)
    sent = ppo.net.to_env(action)
    assert sent[:, 0].abs().max() <= 20.0 and sent[:, 1].min() >= 0.5 and sent[:, 1].max() <= 2.0
    assert sent[:, 0].abs().max() > 15.0  # the range is used, not just its middle
    greedy = ppo.act(obs, greedy=True)
    assert greedy.shape == (256, 2) and greedy[:, 1].min() >= 0.5


def test_sac_refuses_discrete_actions():
    with pytest.raises(ValueError, match="continuous"):
        factory.build_actor("SAC_POLICY", {"lidar": (8,)}, discrete(5))


def test_privileged_state_sees_the_centre_line_ahead():
    from drtui.train.distill import PrivilegedState

    session = session_for()
    cfg = SimConfig.from_session(session, 2, sensors=())
    sim = DeepRacerSim(cfg, None)
    sim.reset()
    state = PrivilegedState(sim)()
    assert state.shape == (2, PrivilegedState.dim) and torch.isfinite(state).all()
    n = (PrivilegedState.dim - 2) // 2
    ahead_x = state[:, :n]
    # at the start line, facing down the track: the centre line lies ahead, in order
    assert (ahead_x[:, 1:] > ahead_x[:, :-1]).all()
    assert state[:, n:2 * n].abs().max() < 1.0  # and near the car's axis


def test_an_iteration_counts_exactly_its_quota_of_episodes():
    """Cars that end their episode on the step that fills the quota are held over: counted (and
    logged through on_episode) as the next iteration's first episodes, none lost or doubled."""
    env, ends = make_env(session_for(), cars=8, seed=3)
    env.sim.cfg.max_steps = 5  # every car's episode ends on the same step: 8 at once
    torch.manual_seed(0)
    seen = []
    for _ in range(5):
        env.begin_iteration(3)
        while not env.quota_met:
            env.step(torch.zeros(env.n, dtype=torch.long))
        seen.append(len(ends) - sum(seen))
    assert seen == [3, 3, 3, 3, 3]
    assert len(env.held) == 8 * 2 - 15  # two waves of 8 ended; 15 counted
    ids = [(e.car, e.episode) for e in ends]
    assert len(set(ids)) == len(ids)
