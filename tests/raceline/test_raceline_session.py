"""Racing-line reward templates as a session's [reward]: rendered for the session's own track
(world or route file) and speed range, passing the one session check on every shipped track,
and written self-contained into the generated reward_function.py."""

import ast
import json

import numpy as np
import pytest

from drtui.catalog.tracks import load_waypoints, worlds_with_waypoints
from drtui.files.render import render as render_files
from drtui.problem import errors
from drtui.reward.check import load_reward_function
from drtui.session.actions import ActionSpace, Generator
from drtui.session.check import check_session
from drtui.session.model import Reward
from drtui.session.raceline import reward_code, session_line, speed_range, track_line
from drtui.session.starter import starter

WORLDS = worlds_with_waypoints()
SAMPLED = set(WORLDS[:: max(1, len(WORLDS) // 10)])
TEMPLATES = ("raceline_time_trial", "raceline_object_avoidance")


def line_session(template: str, world: str = "reInvent2019_track"):
    s = starter("line-session")
    s.track.world = world
    s.reward = Reward(template=template)
    if template == "raceline_object_avoidance":
        s.race.type = "OBJECT_AVOIDANCE"
    return s


def cases():
    for template in TEMPLATES:
        for world in WORLDS:
            yield pytest.param(template, world, id=f"{template}-{world}",
                               marks=[] if world in SAMPLED else [pytest.mark.slow])


@pytest.mark.parametrize(("template", "world"), list(cases()))
def test_the_session_check_passes_a_racing_line_reward_on_every_track(template, world):
    s = line_session(template, world)
    problems = check_session(s)
    assert not errors(problems), problems
    code = reward_code(s)
    assert f"Racing line: {world}, k1999 method" in code
    # the first row is the line's first point, on this world's road
    tree = ast.parse(code)
    line = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                and n.targets[0].id == "RACING_LINE")
    assert np.allclose(line[0][:2], session_line(s).points[0], atol=1e-3)


def test_the_line_is_planned_for_the_sessions_speed_range():
    s = line_session("raceline_time_trial")
    s.action_space = ActionSpace(generator=Generator(steering_levels=5, max_steering=30.0,
                                                     speed_levels=3, min_speed=0.8,
                                                     max_speed=2.5))
    assert speed_range(s.action_space) == (0.8, 2.5)
    line = session_line(s)
    assert line.speed.max() <= 2.5 and line.speed.min() >= 0.8
    assert "speeds 0.8..2.5 m/s" in reward_code(s)
    assert session_line(s) is line  # computed once per track and range
    fast = track_line("reInvent2019_track")
    assert fast.lap_time_s < line.lap_time_s


def test_a_reversed_track_embeds_the_line_driven_the_other_way():
    s = line_session("raceline_time_trial")
    forward = session_line(s)
    s.track.reverse = True
    backward = session_line(s)
    assert "reInvent2019_track (reversed)" in reward_code(s)
    # the same road: the reversed line's length within a few percent of the forward one's
    assert backward.length_m == pytest.approx(forward.length_m, rel=0.05)
    assert not np.allclose(backward.points[1], forward.points[1])


def test_a_session_route_file_gets_its_own_line_and_generated_files(tmp_path):
    np.save(tmp_path / "own.npy", load_waypoints("reinvent_base"))
    s = line_session("raceline_time_trial")
    s.track.route = "own.npy"
    problems = check_session(s, tmp_path)
    assert not errors(problems), problems
    files = render_files(s, tmp_path)
    code = files["reward_function.py"]
    assert "Racing line: own.npy, k1999 method" in code
    imported = [a.name for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Import)
                for a in n.names]
    assert imported == ["math"]
    assert not any(isinstance(n, ast.ImportFrom) for n in ast.walk(ast.parse(code)))
    base = track_line("reinvent_base")
    assert session_line(s, tmp_path).length_m == pytest.approx(base.length_m, rel=1e-9)
    assert callable(load_reward_function(code))


def test_an_unreadable_route_is_named_not_a_crash(tmp_path):
    s = line_session("raceline_time_trial")
    s.track.route = "missing.npy"
    problems = check_session(s, tmp_path)
    assert any(p.path == "track.route" for p in errors(problems)), problems
    with pytest.raises(ValueError, match="needs the racing line of the session's track"):
        reward_code(s, tmp_path)


def test_a_bad_parameter_is_named_at_its_key():
    s = line_session("raceline_time_trial")
    s.reward = Reward(template="raceline_time_trial", params={"distance_scale": 0.0})
    problems = errors(check_session(s))
    assert any(p.path == "reward.params.distance_scale" and "0.05 .. 2" in p.message
               for p in problems), problems


def test_cli_lists_the_templates_and_writes_one_for_a_track(tmp_path, capsys):
    from drtui.cli import main

    assert main(["list", "rewards", "--json"]) == 0
    listed = {row["template"] for row in json.loads(capsys.readouterr().out)}
    assert set(TEMPLATES) <= listed
    assert main(["rewards", "create", "raceline_object_avoidance", "-o", str(tmp_path),
                 "--track", "Tokyo_Training_track", "--param", "safe_distance=1.2"]) == 0
    code = (tmp_path / "reward_function.py").read_text()
    assert "Racing line: Tokyo_Training_track" in code and "SAFE_DISTANCE = 1.2" in code
    assert main(["rewards", "create", "raceline_time_trial", "-o", str(tmp_path),
                 "--track", "no_such_track"]) == 2
    assert "--track: no route for track 'no_such_track'" in capsys.readouterr().err


def test_the_action_space_picture_draws_the_lines_plan_under_the_actions():
    from drtui.plots.action_space import action_space_canvas, action_space_rows

    actions = [(-30.0, 1.0), (30.0, 1.0)]
    plan = [(0.0, 3.0), (10.0, 3.0)]  # above every action: the y axis grows to hold it
    bare = action_space_rows(actions, None, 40, 12)
    drawn = action_space_rows(actions, None, 40, 12, plan)
    assert bare != drawn and drawn[0].startswith("3.0")
    canvas = action_space_canvas(actions, None, 40, 12, plan)
    assert canvas.layer_id("line") in set(canvas._tags.ravel())


def test_map_lines_are_cached_on_disk_and_a_damaged_file_is_recomputed(tmp_path):
    from drtui.raceline import cache
    from drtui.session.raceline import map_line

    first = map_line("reinvent_base", False, tmp_path)
    [stored] = cache.cache_folder(tmp_path).glob("*.npy")
    assert np.array_equal(np.load(stored), first)
    cache._memory.clear()
    stored.write_bytes(b"not a numpy file")
    again = map_line("reinvent_base", False, tmp_path)
    assert np.array_equal(again, first) and np.array_equal(np.load(stored), first)
    cache._memory.clear()
    assert np.array_equal(map_line("reinvent_base", False, tmp_path), first)  # read back
    assert len(list(cache.cache_folder(tmp_path).glob("*.npy"))) == 1
