"""Racing-line reward templates: checked like every template, on every shipped track."""

import ast
import math

import pytest

from drtui.catalog.tracks import worlds_with_waypoints
from drtui.raceline.rewards import TITLES, render_line_reward
from drtui.reward.check import check_reward_code, load_reward_function
from drtui.reward.params import sample_params

WORLD = "reInvent2019_track"


@pytest.mark.parametrize("name", sorted(TITLES))
def test_line_rewards_are_finite_and_non_negative_on_every_track(name, quick_line):
    for world in worlds_with_waypoints():
        reward_function = load_reward_function(render_line_reward(name, quick_line(world)))
        samples = sample_params(world, n=12, seed=3) + sample_params(world, n=12, seed=4,
                                                                      objects=3)
        rewards = [reward_function(dict(p)) for p in samples]
        assert all(type(r) is float and math.isfinite(r) and 0 <= r <= 1e5
                   for r in rewards), world


@pytest.mark.parametrize("name", sorted(TITLES))
def test_line_reward_passes_the_reward_check_and_imports_only_math(name, quick_line):
    source = render_line_reward(name, quick_line(WORLD), WORLD)
    imported = [a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import)
                for a in n.names]
    assert imported == ["math"]
    samples = sample_params(WORLD, n=32, seed=11) + sample_params(WORLD, n=16, seed=12,
                                                                  objects=3)
    check = check_reward_code(source, samples)
    assert check.ok, check.error


def test_on_the_line_at_its_speed_pays_more_than_off_it(quick_line):
    line = quick_line(WORLD)
    reward_function = load_reward_function(render_line_reward("raceline_time_trial", line))
    base = sample_params(WORLD, n=1, seed=5)[0]
    (x, y), (nx, ny), v = line.points[40], line.points[41], float(line.speed[40])
    heading = math.degrees(math.atan2(ny - y, nx - x))
    on = dict(base, x=float(x), y=float(y), speed=v, heading=heading, progress=20.0,
              all_wheels_on_track=True, is_offtrack=False)
    assert reward_function(on) > reward_function(dict(on, speed=1.0))
    assert reward_function(on) > reward_function(dict(on, x=float(x) + 0.25))
    assert reward_function(dict(on, heading=heading + 90)) < 0.05 * reward_function(on)
