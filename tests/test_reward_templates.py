import ast
import math
from functools import cache

import pytest

from drtui.catalog.tracks import load_waypoints, worlds_with_waypoints
from drtui.raceline.line import racing_line
from drtui.raceline.rewards import line_context
from drtui.reward.check import check_reward_code, load_reward_function
from drtui.reward.params import sample_params
from drtui.reward.templates import TEMPLATES, param_problems, render, resolved_params

WORLDS = worlds_with_waypoints()
# a template built from the track renders a racing line per world: about ten worlds in a
# normal run, every world under -m slow
SAMPLED = set(WORLDS[:: max(1, len(WORLDS) // 10)])
TRACK_TEMPLATES = sorted(n for n, t in TEMPLATES.items() if t.track)


@cache
def line_of(world: str) -> dict:
    return line_context(racing_line(load_waypoints(world), iterations=60), world)


def rendered(name: str, params: dict | None = None, world: str = "reInvent2019_track") -> str:
    """render(), with the world's racing line for a template built from the track."""
    return render(name, params, line_of(world) if TEMPLATES[name].track else None)


def name_world_cases():
    for name in sorted(TEMPLATES):
        for world in WORLDS:
            slow = TEMPLATES[name].track and world not in SAMPLED
            yield pytest.param(name, world, marks=[pytest.mark.slow] if slow else [],
                               id=f"{name}-{world}")


@cache
def samples_for(world: str) -> list[dict]:
    """Time-trial cars, cars among boxes, and cars among bot cars on one world."""
    return (sample_params(world, n=48, seed=11) + sample_params(world, n=48, seed=12, objects=3)
            + sample_params(world, n=48, seed=13, objects=4, bots=True))


def bound_params(name: str, which: str) -> dict:
    """Every parameter at its low or high bound (False / True for bools)."""
    out = {}
    for key, spec in TEMPLATES[name].params.items():
        if spec.type is bool:
            out[key] = which == "high"
        else:
            out[key] = spec.type(spec.low if which == "low" else spec.high)
    return out


def test_templates_and_specs_are_documented():
    assert set(TEMPLATES) == {"centerline", "speed", "object_avoidance", "head_to_head",
                              "time_trial", "raceline_time_trial", "raceline_object_avoidance"}
    assert TRACK_TEMPLATES == ["raceline_object_avoidance", "raceline_time_trial"]
    for name, t in TEMPLATES.items():
        assert t.name == name and t.title and t.description and t.params
        for key, spec in t.params.items():
            assert key.isidentifier() and spec.help and '"""' not in spec.help
            assert spec.type in (float, int, bool) and type(spec.default) is spec.type
            if spec.type is not bool:
                assert spec.low <= spec.default <= spec.high, key
        assert param_problems(name, {}) == []  # defaults are valid


@pytest.mark.parametrize("bounds", ["default", "low", "high"])
@pytest.mark.parametrize(("name", "world"), list(name_world_cases()))
def test_generated_reward_is_finite_and_in_range_on_every_track(name, world, bounds):
    params = {} if bounds == "default" else bound_params(name, bounds)
    assert param_problems(name, params) == []
    reward_function = load_reward_function(rendered(name, params, world))
    rewards = [reward_function(dict(p)) for p in samples_for(world)]
    assert all(type(r) is float and math.isfinite(r) and abs(r) <= 1e5 for r in rewards)
    assert min(rewards) >= 0.0  # every template rewards, never punishes below zero


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_generated_code_imports_only_math_and_documents_itself(name):
    source = rendered(name)
    tree = ast.parse(source)
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import)]
    imported = [alias.name for node in imports for alias in node.names]
    assert imported == ["math"]
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))
    doc = ast.get_docstring(tree)
    assert f'"{name}"' in doc
    for key, value in resolved_params(name, {}).items():
        assert f"{key} = {value!r}" in doc
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    # one reward_function, last; a template built from the track has helpers before it
    assert [f.name for f in functions][-1:] == ["reward_function"]
    assert len(functions) == (3 if TEMPLATES[name].track else 1)
    assert [a.arg for a in functions[-1].args.args] == ["params"]
    returns = [n for n in ast.walk(functions[-1]) if isinstance(n, ast.Return)]
    assert returns
    assert all(isinstance(r.value, ast.Call) and r.value.func.id == "float" for r in returns)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_generated_code_passes_the_reward_check(name):
    check = check_reward_code(rendered(name), samples_for("reInvent2019_track"))
    assert check.ok, check.error
    assert check.calls == len(samples_for("reInvent2019_track"))


def test_floats_render_with_repr_and_round_trip_exactly():
    value = 0.1 + 0.2  # 0.30000000000000004: str() of a rounded form would lose it
    source = render("centerline", {"marker_2": value, "reward_1": 3})
    assert "MARKER_2 = 0.30000000000000004" in source
    assert "REWARD_1 = 3.0" in source  # int given for a float renders as a float
    namespace = {}
    exec(compile(source, "<t>", "exec"), namespace)
    assert namespace["MARKER_2"] == value and namespace["REWARD_1"] == 3.0


def test_rendered_parameters_change_behaviour():
    p = dict(sample_params("reInvent2019_track", n=1)[0], all_wheels_on_track=True,
             distance_from_center=0.0, track_width=1.0)
    assert load_reward_function(render("centerline"))(p) == 1.0
    assert load_reward_function(render("centerline", {"reward_1": 2.5}))(p) == 2.5
    slow = dict(p, speed=1.0, is_offtrack=False)
    assert load_reward_function(render("speed", {"speed_threshold": 2.0}))(slow) == 0.5


def test_a_template_built_from_the_track_needs_one():
    with pytest.raises(ValueError, match="raceline_time_trial is built from a track's racing "
                                         "line"):
        render("raceline_time_trial")
    assert param_problems("raceline_object_avoidance", {"danger_distance": 1.0}) == [
        ("danger_distance", "must be less than safe_distance (0.8) (got 1)")]


def test_unknown_template():
    [(key, message)] = param_problems("nope", {"marker_1": 0.1})
    assert key == "template"
    assert message.startswith("unknown reward template 'nope'; known: centerline")
    with pytest.raises(ValueError, match="unknown reward template"):
        render("nope")


def test_param_problems_report_key_and_rule():
    problems = dict(param_problems("speed", {"speed_treshold": 2.0, "speed_weight": "fast",
                                             "steering_penalty": 2, "steering_threshold": True}))
    assert problems["speed_treshold"].startswith("unknown parameter for speed")
    assert problems["speed_weight"] == "must be a number"
    assert problems["steering_penalty"] == "must be within 0 .. 1 (got 2)"
    assert problems["steering_threshold"] == "must be a number"  # bool is not a number
    assert len(problems) == 4


def test_param_type_rules_per_kind():
    assert param_problems("time_trial", {"min_steps": 2.5}) == [("min_steps", "must be an integer")]
    assert param_problems("time_trial", {"min_steps": 0}) == [
        ("min_steps", "must be within 1 .. 150 (got 0)")]
    assert param_problems("time_trial", {"target_lap_time": math.nan}) == [
        ("target_lap_time", "must be a finite number")]
    assert param_problems("centerline", {"require_all_wheels": 1}) == [
        ("require_all_wheels", "must be true or false")]
    assert param_problems("time_trial", {"target_lap_time": 20}) == []  # int accepted for float


def test_cross_field_rules():
    assert param_problems("centerline", {"marker_1": 0.3}) == [
        ("marker_2", "must be at least marker_1 (0.3): markers ascend (got 0.25)")]
    # equal markers are allowed: the band between them is empty
    assert param_problems("centerline", {"marker_1": 0.2, "marker_2": 0.2}) == []
    assert param_problems("object_avoidance", {"danger_distance": 1.0}) == [
        ("danger_distance", "must be less than safe_distance (0.8) (got 1)")]


def test_render_rejects_invalid_params_with_every_problem():
    with pytest.raises(ValueError) as err:
        render("centerline", {"marker_1": 2.0, "bogus": 1})
    assert "marker_1: must be within 0.01 .. 0.5 (got 2)" in str(err.value)
    assert "bogus: unknown parameter" in str(err.value)


def test_resolved_params_fill_defaults_in_spec_order():
    resolved = resolved_params("time_trial", {"target_lap_time": 9.5})
    assert list(resolved) == list(TEMPLATES["time_trial"].params)
    assert resolved["target_lap_time"] == 9.5 and resolved["min_steps"] == 5
