"""Racing lines on the shipped tracks: inside the borders less the margin, shorter and faster
than the centre line, with speeds from the simulator's car model."""

import json
import math

import numpy as np
import pytest

from drtui.catalog.tracks import load_waypoints, worlds_with_waypoints
from drtui.cli import main
from drtui.raceline.actions import line_actions
from drtui.raceline.geometry import polyline_distance
from drtui.raceline.line import DEFAULT_MARGIN_M, racing_line
from drtui.raceline.speed import CarLimits, cornering_speed, max_curvature
from drtui.reward.params import points_in_polygon
from drtui.session.raceline import line_action_space
from drtui.sim.car_spec import CAR_FOOTPRINT_M, MAX_SPEED, MIN_SPEED

WORLD = "reInvent2019_track"
def densified(line, per_segment: int = 5) -> np.ndarray:
    """Points along the line's segments too, not only its vertices."""
    pts = np.vstack([line.points, line.points[:1]]) if line.is_loop else line.points
    f = np.arange(per_segment)[:, None, None] / per_segment
    return (pts[:-1][None] * (1 - f) + pts[1:][None] * f).reshape(-1, 2)


def assert_inside(line, wp: np.ndarray, margin: float, tol: float) -> None:
    pts = densified(line)
    room = np.minimum(polyline_distance(pts, wp[:, 2:4]), polyline_distance(pts, wp[:, 4:6]))
    assert room.min() >= margin - tol, f"{room.min():.4f} m from a border"
    if line.is_loop:  # on the road: inside the outer ring and outside the inner one
        on_road = (points_in_polygon(pts, wp[:, 4:6]) != points_in_polygon(pts, wp[:, 2:4]))
        assert on_road.all(), f"{(~on_road).sum()} points off the road"


def test_default_margin_is_half_the_car_plus_a_safety_band():
    assert CAR_FOOTPRINT_M[0] / 2 < DEFAULT_MARGIN_M < CAR_FOOTPRINT_M[0]


def test_k1999_on_reinvent2019_is_inside_the_margin_and_shorter_than_21_5_m():
    wp = load_waypoints(WORLD)
    line = racing_line(wp)
    centre = racing_line(wp, method="centre")
    assert centre.length_m == pytest.approx(23.12, abs=0.05)
    assert line.length_m < 21.5
    # the chords between line points may cut a curved border by a few millimetres
    assert_inside(line, wp, DEFAULT_MARGIN_M, tol=0.003)
    # it uses the road: apexes come close to the margin somewhere
    room = np.minimum(polyline_distance(line.points, wp[:, 2:4]),
                      polyline_distance(line.points, wp[:, 4:6]))
    assert room.min() < DEFAULT_MARGIN_M + 0.03


def test_a_wider_margin_keeps_the_line_further_in():
    wp = load_waypoints(WORLD)
    line = racing_line(wp, margin=0.3, iterations=200)
    assert_inside(line, wp, 0.3, tol=0.003)
    assert line.length_m > racing_line(wp, iterations=200).length_m


def test_every_shipped_track_has_a_line_inside_its_borders(quick_line):
    for world in worlds_with_waypoints():
        line = quick_line(world)
        assert len(line.points) >= 20, world
        try:
            assert_inside(line, load_waypoints(world), DEFAULT_MARGIN_M, tol=0.01)
        except AssertionError as exc:
            raise AssertionError(f"{world}: {exc}") from None


def test_lap_time_is_positive_and_faster_than_the_centre_line():
    wp = load_waypoints(WORLD)
    line, centre = racing_line(wp), racing_line(wp, method="centre")
    assert 0 < line.flying_lap_time_s < line.lap_time_s < centre.lap_time_s
    # a lap can be no faster than the line at top speed, nor slower than at the slowest
    # speed the plan reaches
    assert line.length_m / MAX_SPEED < line.lap_time_s < line.length_m / line.speed.min() + 1
    assert np.all((line.speed >= MIN_SPEED) & (line.speed <= MAX_SPEED))
    assert np.all(np.abs(line.steering) <= 30.0)


def test_slower_top_speed_gives_a_slower_lap():
    wp = load_waypoints(WORLD)
    fast = racing_line(wp, iterations=200)
    slow = racing_line(wp, iterations=200, limits=CarLimits(0.5, 2.0))
    assert slow.speed.max() <= 2.0 and slow.lap_time_s > fast.lap_time_s
    assert slow.lap_time_s > fast.length_m / 2.0


def test_the_cornering_limit_is_the_simulators_car_at_full_lock():
    """Drive drtui's simulator car (torch) at full lock and a steady speed: the circle it
    settles on is the tightest the plan lets it take at that speed."""
    import torch

    from drtui.sim.car import CarState, drive

    for speed in (1.0, 2.5):
        state = CarState.zeros(1, dtype=torch.float64)
        state.speed = torch.tensor([speed], dtype=torch.float64)
        steer, v = torch.tensor([30.0], dtype=torch.float64), torch.tensor([speed])
        for _ in range(60):  # the lags settle
            drive(state, steer, v.double(), torch.ones(1, dtype=torch.bool))
        turn, path = 0.0, 0.0
        for _ in range(20):  # under a full circle either way
            yaw, x, y = float(state.yaw), float(state.x), float(state.y)
            drive(state, steer, v.double(), torch.ones(1, dtype=torch.bool))
            turn += (float(state.yaw) - yaw) % (2 * math.pi)
            path += math.hypot(float(state.x) - x, float(state.y) - y)
        assert turn / path == pytest.approx(float(max_curvature(speed)), rel=0.02)
        assert float(cornering_speed(turn / path)) == pytest.approx(speed, rel=0.03)


def test_action_space_from_the_line_covers_it_and_can_recover():
    line = racing_line(load_waypoints(WORLD), iterations=300)
    actions = line_actions(line, 10)
    assert 8 <= len(actions) <= 10
    pairs = [(a["steering_angle"], a["speed"]) for a in actions]
    assert (-30.0, 1.0) in pairs and (30.0, 1.0) in pairs  # recovery at full lock
    assert all(-30 <= s <= 30 and 0.1 <= v <= 4 for s, v in pairs)
    # every point of the line has an action within 10 degrees and 0.5 m/s of its plan
    grid = np.array(pairs)
    plan = np.column_stack([line.steering, line.speed])
    near = (np.abs(plan[:, None, 0] - grid[None, :, 0]) <= 10) & (
        np.abs(plan[:, None, 1] - grid[None, :, 1]) <= 0.5)
    assert near.any(1).mean() > 0.95
    space = line_action_space(line, 10)
    assert space.limit_problems() == [] and len(space.discrete_actions()) == len(actions)
    assert line_actions(line, 10) == actions  # seeded: the same space every time


def test_cli_prints_the_line_and_writes_json_png_and_a_reward(tmp_path, capsys):
    assert main(["raceline", WORLD, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["length_m"] < 21.5 and data["lap_time_s"] < data["centre_line"]["lap_time_s"]
    assert data["columns"][:3] == ["x", "y", "speed"] and len(data["line"]) == data["points"]

    assert main(["raceline", WORLD, "--actions", "8"]) == 0
    out = capsys.readouterr().out
    assert "lap time" in out and "action space from the line" in out
    assert any(0x2800 < ord(ch) <= 0x28FF for ch in out)  # the braille picture

    from drtui.sim.png import read_png_header

    png = tmp_path / "line.png"
    assert main(["raceline", WORLD, "-o", str(png)]) == 0
    header = read_png_header(png.read_bytes())
    assert header["width"] > 100 and header["colour_type"] == 2

    reward = tmp_path / "reward_function.py"
    assert main(["raceline", WORLD, "--reverse", "-o", str(reward)]) == 0
    assert "RACING_LINE = [" in reward.read_text()

    assert main(["raceline", WORLD, "--margin", "2"]) == 2
    assert "--margin" in capsys.readouterr().err
    assert main(["raceline", "no_such_track"]) == 2


def _crossing(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """Whether each section crosses the next one (a loop's last crosses the first)."""
    a1, d1 = inner, outer - inner
    a2, d2 = np.roll(inner, -1, 0), np.roll(outer, -1, 0) - np.roll(inner, -1, 0)
    den = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    ok = np.abs(den) > 1e-12
    den = np.where(ok, den, 1.0)
    r = a2 - a1
    s = (r[:, 0] * d2[:, 1] - r[:, 1] * d2[:, 0]) / den
    u = (r[:, 0] * d1[:, 1] - r[:, 1] * d1[:, 0]) / den
    return ok & (0 <= s) & (s <= 1) & (0 <= u) & (u <= 1)


def test_cross_sections_are_square_to_the_road_and_do_not_cross_their_neighbours():
    from drtui.raceline.geometry import sections

    # Tokyo's own inner-outer pairs lean along the road and 25 neighbours cross
    wp = load_waypoints("Tokyo_Training_track")
    route_rows = wp[:-1]
    assert _crossing(route_rows[:, 2:4], route_rows[:, 4:6]).sum() >= 3
    crossings = {}
    for world in worlds_with_waypoints():
        sec = sections(load_waypoints(world), DEFAULT_MARGIN_M)
        if sec.is_loop and (n := int(_crossing(sec.inner, sec.outer).sum())):
            crossings[world] = n
    # a coarse route's sharp vertex may still fan two sections into each other, no more
    assert sum(crossings.values()) <= 3 and "Tokyo_Training_track" not in crossings, crossings


@pytest.mark.parametrize("world", ["Tokyo_Training_track", "reInvent2019_track",
                                   "hamption_pro", "China_track", "2022_reinvent_champ"])
def test_the_lines_curvature_is_bounded_on_tokyo_like_on_the_other_tracks(world):
    """Slanted cross sections gave Tokyo_Training_track's line a kink of 12.7 1/m (a radius
    of 8 cm) where every other track's line stays under 2.5 1/m."""
    line = racing_line(load_waypoints(world))
    assert np.abs(line.curvature).max() < 3.0
    if world == "Tokyo_Training_track":
        assert np.abs(line.curvature).max() < 2.0 and line.length_m < 21.5
