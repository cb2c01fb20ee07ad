"""The search space: defaults for every starter and SAC validate at every range end, space
files are checked entry by entry with their key paths, and the CLI refuses a bad space file
with exit 2 before it creates a study."""

from __future__ import annotations

import itertools

import pytest

from drtui.errors import InvalidInput
from drtui.session.starter import starter
from drtui.session.validate import session_problems
from drtui.tune.space import apply, check_space, default_space, load_space

optuna = pytest.importorskip("optuna")

STARTERS = [(scenario, "clipped_ppo") for scenario in
            ("centerline", "speed", "object_avoidance", "head_to_head", "time_trial")] + \
           [("time_trial", "sac"), ("head_to_head", "sac")]


@pytest.mark.parametrize("scenario,algorithm", STARTERS)
def test_default_space_validates_at_every_range_end(scenario, algorithm):
    session = starter("t", scenario, algorithm)
    space = default_space(session)
    keys = space.keys()
    assert "hyperparameters.lr" in keys and "hyperparameters.batch_size" in keys
    assert "action_space.max_speed" in keys
    assert any(k.startswith("reward.params.") for k in keys)
    if algorithm == "sac":
        assert "hyperparameters.sac_alpha" in keys and "hyperparameters.num_epochs" not in keys
    else:
        assert "hyperparameters.num_epochs" in keys and "hyperparameters.sac_alpha" not in keys
    assert check_space(space, session) == []
    # every combination of the ends of the coupled keys (speeds, reward parameters) and each
    # hyperparameter end, all at once low and all at once high
    coupled = [d for d in space.dims if not d.key.startswith("hyperparameters.")]
    for corner in itertools.product(*(d.ends() for d in coupled)):
        values = dict(zip((d.key for d in coupled), corner))
        for pick in (0, -1):
            values.update({d.key: d.ends()[pick] for d in space.dims
                           if d.key.startswith("hyperparameters.")})
            tuned = apply(session, values)
            assert session_problems(tuned) == []
    # and what a sampler draws in between, applied where the trainer reads it
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        trial = study.ask()
        params = space.sample(trial)
        tuned = apply(session, params)
        hp = tuned.effective_hyperparameters()
        for key, value in params.items():
            section, _, name = key.partition(".")
            if section == "hyperparameters":
                assert hp[name] == value
            elif key == "action_space.max_speed":
                assert tuned.action_space.speed_bounds()[1] == pytest.approx(value, abs=1e-4)
            else:
                assert tuned.reward.params[name.removeprefix("params.")] == value
        study.tell(trial, 0.0)


def test_an_action_list_is_spread_over_the_new_speed_range():
    session = starter("t", "speed")  # speeds 1.0 .. 4.0
    tuned = apply(session, {"action_space.min_speed": 0.5, "action_space.max_speed": 2.0})
    before = [a.speed for a in session.action_space.discrete_actions()]
    after = [a.speed for a in tuned.action_space.discrete_actions()]
    assert min(after) == 0.5 and max(after) == 2.0
    assert after == [round(0.5 + (v - 1.0) * 1.5 / 3.0, 4) for v in before]


def spec(tmp_path, text: str, session=None):
    path = tmp_path / "space.toml"
    path.write_text(text, encoding="utf-8")
    return load_space(path, session or starter("t"))


def problems_of(tmp_path, text: str, session=None) -> list[str]:
    with pytest.raises(InvalidInput) as exc:
        spec(tmp_path, text, session)
    return [str(p) for p in exc.value.problems]


def test_a_space_file_is_read_with_its_kinds(tmp_path):
    space = spec(tmp_path, """
[hyperparameters]
lr = { low = 1e-5, high = 1e-3, log = true }
num_epochs = { low = 2, high = 8, step = 2 }
batch_size = { choices = [64, 128] }
exploration_type = { choices = ["categorical", "e-greedy"] }
[action_space]
max_speed = { low = 1.5, high = 4 }
[reward.params]
marker_1 = { low = 0.05, high = 0.2 }
""")
    dims = {d.key: d for d in space.dims}
    assert dims["hyperparameters.lr"].log and dims["hyperparameters.lr"].kind == "float"
    assert (dims["hyperparameters.num_epochs"].kind, dims["hyperparameters.num_epochs"].step) \
        == ("int", 2)
    assert dims["hyperparameters.batch_size"].choices == (64, 128)
    assert dims["action_space.max_speed"].high == 4.0
    assert space.source == "space.toml"


@pytest.mark.parametrize("text,expected", [
    ("[hyperparameters]\nfoo = { low = 1, high = 2 }",
     "space.toml:hyperparameters.foo: unknown hyperparameter"),
    ("[hyperparameters]\nlr = { low = 1e-5, high = 0.01 }",
     "space.toml:hyperparameters.lr.high: must be within 1e-08 .. 0.001 (got 0.01)"),
    ("[hyperparameters]\nnum_epochs = { low = 5, high = 5 }",
     "space.toml:hyperparameters.num_epochs: low (5) must be less than high (5)"),
    ("[hyperparameters]\nnum_epochs = { low = 8, high = 3 }",
     "space.toml:hyperparameters.num_epochs: low (8) must be less than high (3)"),
    ("[hyperparameters]\nnum_epochs = { low = 1.5, high = 3 }",
     "space.toml:hyperparameters.num_epochs.low: must be an integer (got 1.5)"),
    ("[hyperparameters]\nlr = { lo = 1e-5, high = 1e-3 }",
     "space.toml:hyperparameters.lr.lo: unknown key"),
    ("[hyperparameters]\nbatch_size = { low = 32, high = 256 }",
     "space.toml:hyperparameters.batch_size: takes choices = [...]"),
    ("[hyperparameters]\nbatch_size = { choices = [64, 100] }",
     "space.toml:hyperparameters.batch_size.choices[1]: must be one of 32, 64, 128, 256, 512"),
    ("[hyperparameters]\nsac_alpha = { low = 0.1, high = 0.3 }",
     "space.toml:hyperparameters.sac_alpha: clipped_ppo does not use it (only sac)"),
    ("[hyperparameters]\nterm_cond_max_episodes = { low = 1, high = 9 }",
     "space.toml:hyperparameters.term_cond_max_episodes: not tunable: set per trial by "
     "--iterations"),
    ("[hyperparameters]\nexploration_type = { choices = [\"additive_noise\"] }",
     "space.toml:hyperparameters.exploration_type.choices[0]: must be categorical or "
     "e-greedy"),
    ("[hyperparameters]\nbeta_entropy = { low = 0.0, high = 0.1, log = true }",
     "space.toml:hyperparameters.beta_entropy.log: a log scale needs low > 0"),
    ("[hyperparameters]\nnum_epochs = { low = 3, high = 8, step = 2 }",
     "space.toml:hyperparameters.num_epochs.step: high - low (5) must be a multiple of step"),
    ("[action_space]\nmax_speed = { low = 1.0, high = 5.0 }",
     "space.toml:action_space.max_speed.high: must be within 0.1 .. 4 m/s (got 5)"),
    ("[action_space]\ntop_speed = { low = 1.0, high = 2.0 }",
     "space.toml:action_space.top_speed: unknown key"),
    ("[reward.params]\nmarker_9 = { low = 0.1, high = 0.2 }",
     "space.toml:reward.params.marker_9: unknown parameter of the centerline template"),
    ("[reward.params]\nmarker_1 = { low = 0.1, high = 0.9 }",
     "space.toml:reward.params.marker_1.high: must be within 0.01 .. 0.5 (got 0.9)"),
    ("[reward.params]\nmarker_1 = { low = 0.1, high = 0.3 }",
     "space.toml:reward.params.marker_1: 0.3 breaks a session rule: reward.params.marker_2: "
     "must be at least marker_1 (0.3)"),
    ("[reward.params]\nmarker_1 = { low = 0.1, high = 0.2 }\n"
     "marker_2 = { low = 0.15, high = 0.3 }",
     "space.toml:reward.params: these ranges can sample marker_1=0.2, marker_2=0.15, where "
     "marker_2 must be at least marker_1 (0.2)"),
    ("[action_space]\nmin_speed = { low = 0.2, high = 0.9 }\n"
     "max_speed = { low = 0.8, high = 2.0 }",
     "space.toml:action_space: these ranges can sample min_speed=0.9, max_speed=0.8, where "
     "action_space.generator: min_speed (0.9) must be less than max_speed (0.8)"),
    ("[training]\nseed = { low = 1, high = 2 }", "space.toml:training: unknown key"),
    ("", "space.toml:: the space tunes nothing"),
    ("[hyperparameters\n", "--space: "),
])
def test_a_bad_space_file_names_the_key_and_the_rule(tmp_path, text, expected):
    problems = problems_of(tmp_path, text)
    assert any(p.startswith(expected) for p in problems), problems


def test_space_rules_follow_the_session(tmp_path):
    sac = starter("t", "time_trial", "sac")
    assert problems_of(tmp_path, "[hyperparameters]\nnum_epochs = { low = 2, high = 4 }", sac) \
        == ["space.toml:hyperparameters.num_epochs: sac does not use it (only clipped_ppo)"]
    continuous_ppo = starter("t", "time_trial")
    problems = problems_of(tmp_path, '[hyperparameters]\nexploration_type = '
                                     '{ choices = ["categorical", "e-greedy"] }', continuous_ppo)
    assert problems[0].startswith("space.toml:hyperparameters.exploration_type: 'e-greedy' "
                                  "breaks a session rule: hyperparameters.exploration_type: "
                                  "e-greedy needs discrete actions")
    from drtui.session.model import Reward

    session = starter("t")
    session.reward = Reward(code="def reward_function(params):\n    return 1.0\n")
    assert problems_of(tmp_path, "[reward.params]\nmarker_1 = { low = 0.1, high = 0.2 }",
                       session) == ["space.toml:reward.params.marker_1: the session's reward "
                                    "is not a template: it has no parameters"]


def test_the_cli_refuses_a_bad_space_before_making_a_study(tmp_path, capsys):
    from drtui.cli import main
    from drtui.session import store

    store.save(starter("t"), tmp_path / "t.toml")
    (tmp_path / "space.toml").write_text("[hyperparameters]\nlr = { low = 1e-5, high = 1 }\n")
    code = main(["--workspace", str(tmp_path), "tune", str(tmp_path / "t.toml"),
                 "--space", str(tmp_path / "space.toml"), "--json"])
    assert code == 2
    out = capsys.readouterr().out
    assert '"path": "space.toml:hyperparameters.lr.high"' in out
    assert "must be within 1e-08 .. 0.001 (got 1)" in out
    assert not (tmp_path / "tune").exists()
    code = main(["--workspace", str(tmp_path), "tune", str(tmp_path / "t.toml"),
                 "--iterations", "0", "--study", "a b"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--iterations" in err and "must be 1 .. 10000 (got 0)" in err


def test_the_cli_refuses_what_validate_refuses_before_making_a_study(tmp_path, capsys):
    """tune runs the one session check: a reward that raises on sample params is exit 2
    with validate's own line, before any study exists."""
    from drtui.cli import main
    from drtui.session import store
    from drtui.session.model import Reward

    session = starter("t")
    session.reward = Reward(code="def reward_function(params):\n    return params['nope']\n")
    store.save(session, tmp_path / "t.toml")
    assert main(["validate", str(tmp_path / "t.toml")]) == 2
    said = capsys.readouterr().err
    code = main(["--workspace", str(tmp_path), "tune", str(tmp_path / "t.toml")])
    assert code == 2
    err = capsys.readouterr().err
    assert "reward.code: line 2: KeyError: 'nope' at sample 0" in err and err == said
    assert not list(tmp_path.glob("tune/*"))
