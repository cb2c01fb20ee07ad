import math

import numpy as np
import pytest

from drtui.catalog.tracks import load_waypoints, sanitize, worlds_with_waypoints
from drtui.reward import params as rp
from drtui.reward.params import PARAM_KEYS, sample_params, track_geometry

WORLDS = worlds_with_waypoints()

TYPES = {
    "all_wheels_on_track": bool, "x": float, "y": float, "heading": float,
    "distance_from_center": float, "is_left_of_center": bool, "is_reversed": bool,
    "is_offtrack": bool, "is_crashed": bool, "progress": float, "speed": float,
    "steering_angle": float, "steps": int, "track_length": float, "track_width": float,
    "waypoints": list, "closest_waypoints": list, "projection_distance": float,
    "sim_time": float, "closest_objects": list, "objects_location": list,
    "objects_left_of_center": list, "objects_heading": list, "objects_speed": list,
    "objects_distance": list, "objects_distance_from_center": list, "object_in_camera": bool,
}


def test_param_keys_are_the_27_simulator_keys():
    assert len(PARAM_KEYS) == 27 and set(PARAM_KEYS) == set(TYPES)


@pytest.mark.parametrize("objects,bots", [(0, False), (3, False), (4, True)])
def test_params_have_exactly_the_keys_with_their_types(objects, bots):
    samples = sample_params("reInvent2019_track", n=40, seed=3, objects=objects, bots=bots)
    assert len(samples) == 40
    for p in samples:
        assert list(p) == list(PARAM_KEYS)
        for key, kind in TYPES.items():
            assert type(p[key]) is kind, key  # exact: no numpy scalars, bool is not int
        assert all(type(pt) is tuple and len(pt) == 2 and all(type(c) is float for c in pt)
                   for pt in p["waypoints"])
        assert all(type(i) is int for i in p["closest_waypoints"] + p["closest_objects"])
        for key in ("objects_location", "objects_left_of_center", "objects_heading",
                    "objects_speed", "objects_distance", "objects_distance_from_center"):
            assert len(p[key]) == objects, key


def test_no_objects_gives_simulator_defaults():
    p = sample_params("reinvent_base", n=1)[0]
    assert p["closest_objects"] == [0, 0] and p["objects_location"] == []
    assert p["object_in_camera"] is False and p["is_crashed"] is False


@pytest.mark.parametrize("world", WORLDS)
def test_geometry_is_consistent_with_the_track(world):
    samples = sample_params(world, n=64, seed=1)
    geo = track_geometry(world)
    wp = sanitize(load_waypoints(world))  # as simapp 6.0.2 on: duplicate rows dropped
    n_wp = len(wp)
    length = np.linalg.norm(np.diff(wp[:, :2], axis=0), axis=1).sum()
    for p in samples:
        assert p["track_length"] == pytest.approx(length)
        assert p["waypoints"] == [tuple(r) for r in wp[:, :2].tolist()]
        assert 0.0 <= p["progress"] <= 100.0
        assert p["steps"] >= 1 and p["sim_time"] > 0
        assert 0.5 <= p["speed"] <= 4.0 and -30.0 <= p["steering_angle"] <= 30.0
        assert -180.0 <= p["heading"] <= 180.0
        assert 0.0 <= p["projection_distance"] <= p["track_length"]
        prev_i, next_i = p["closest_waypoints"]
        assert 0 <= prev_i < n_wp and 0 <= next_i < n_wp
        assert next_i == prev_i + 1 or (prev_i == n_wp - 1 and next_i == 0)
        # the car's projection lies between its two closest waypoints
        along_prev = geo.ndists[prev_i] * p["track_length"]
        along_next = geo.ndists[next_i] * p["track_length"] if next_i else p["track_length"]
        assert along_prev - 1e-9 <= p["projection_distance"] <= along_next + 1e-9
        # the border-to-border width here: 0.61..1.45 m on simapp tracks
        assert 0.6 < p["track_width"] < 1.5
        if p["all_wheels_on_track"]:
            # the front point may overhang the border a little with all wheels on
            assert p["distance_from_center"] <= p["track_width"] / 2 + 0.1
            assert not p["is_offtrack"]
    kinds = {(p["all_wheels_on_track"], p["is_offtrack"]) for p in samples}
    assert (True, False) in kinds and (False, True) in kinds  # on track and fully off it
    assert any(p["distance_from_center"] < 0.05 for p in samples)  # some on the centre line
    assert {p["is_left_of_center"] for p in samples} == {True, False}


@pytest.mark.parametrize("world", WORLDS)
def test_is_left_of_center_matches_the_side_of_travel(world):
    # Simapp derives the side from the nearest border (XOR direction); away from the centre
    # line it must agree with the geometric side of the direction of travel.
    geo = track_geometry(world)
    samples = [p for p in sample_params(world, n=64, seed=2) if p["distance_from_center"] > 0.05]
    side = rp.signed_side([(p["x"], p["y"]) for p in samples], geo.centre)
    assert [p["is_left_of_center"] for p in samples] == [bool(s > 0) for s in side]


def test_front_point_is_ahead_of_the_car_origin_along_heading():
    origin = np.array([[1.0, 2.0], [0.0, 0.0]])
    front = rp.front_point(origin, [90.0, -45.0])
    assert np.allclose(front[0], [1.0, 2.14])
    assert np.allclose(front[1], [0.14 / math.sqrt(2), -0.14 / math.sqrt(2)])
    assert np.allclose(np.linalg.norm(front - origin, axis=1), rp.FRONT_OFFSET_M)


@pytest.mark.parametrize("world", ["reInvent2019_track", "2022_reinvent_champ_cw"])
def test_x_y_are_the_front_point_of_a_car_whose_wheels_give_the_track_flags(world):
    # Walk back 0.14 m from x,y against the heading to the car origin; the wheels placed
    # around that origin must reproduce all_wheels_on_track and is_offtrack exactly.
    geo = track_geometry(world)
    for p in sample_params(world, n=64, seed=5):
        h = math.radians(p["heading"])
        origin = np.array([p["x"] - 0.14 * math.cos(h), p["y"] - 0.14 * math.sin(h)])
        assert np.allclose(rp.front_point(origin, p["heading"]), [p["x"], p["y"]])
        on = geo.on_road(rp.wheel_points(origin, p["heading"]))
        assert p["all_wheels_on_track"] == bool(on.all())
        assert p["is_offtrack"] == (not on.any())


def test_progress_follows_the_position_from_a_round_robin_start():
    for p in sample_params("reInvent2019_wide", n=64, seed=4):
        lap = p["projection_distance"] / p["track_length"]
        start = (lap - p["progress"] / 100.0) % 1.0
        # every episode starts on a multiple of ROUND_ROBIN_ADVANCE_DIST of the lap
        steps = start / rp.ROUND_ROBIN_ADVANCE_DIST
        assert abs(steps - round(steps)) < 1e-6 or abs(steps - 20) < 1e-6


def test_sampling_is_deterministic_per_seed():
    a = sample_params("reinvent_base", n=8, seed=7, objects=2, bots=True)
    assert a == sample_params("reinvent_base", n=8, seed=7, objects=2, bots=True)
    assert a != sample_params("reinvent_base", n=8, seed=8, objects=2, bots=True)


@pytest.mark.parametrize("world", ["reInvent2019_track", "2024_reinvent_champ_cw"])
def test_objects_sit_in_lanes_with_consistent_keys(world):
    geo = track_geometry(world)
    for p in sample_params(world, n=32, seed=6, objects=4):
        locs = np.array(p["objects_location"])
        _, along, _, dist = rp.project(locs, geo.centre)
        assert np.allclose(along, p["objects_distance"])
        assert np.allclose(dist, p["objects_distance_from_center"])
        # lane centres are a quarter of the width from the centre line
        assert all(0.15 < d < 0.4 for d in p["objects_distance_from_center"])
        # alternate lanes: both sides are used
        assert set(p["objects_left_of_center"]) == {True, False}
        # left of centre agrees with the geometric side for objects too
        side = rp.signed_side(locs, geo.centre)
        assert p["objects_left_of_center"] == [bool(s > 0) for s in side]
        # closest_objects: the object behind and the one ahead along the track
        prev_i, next_i = p["closest_objects"]
        here = p["projection_distance"]
        ahead = [(d - here) % p["track_length"] for d in p["objects_distance"]]
        assert next_i == int(np.argmin(ahead))
        behind = [(here - d) % p["track_length"] for d in p["objects_distance"]]
        assert prev_i == int(np.argmin(behind))
        assert p["objects_speed"] == [0.0] * 4 and p["objects_heading"] == [0.0] * 4


def test_static_objects_stay_put_and_bots_move():
    static = sample_params("reinvent_base", n=6, seed=9, objects=3)
    assert all(p["objects_location"] == static[0]["objects_location"] for p in static)
    bots = sample_params("reinvent_base", n=6, seed=9, objects=3, bots=True)
    assert len({tuple(map(tuple, p["objects_location"])) for p in bots}) == 6
    for p in bots:
        assert p["objects_speed"] == [rp.BOT_CAR_SPEED] * 3 and rp.BOT_CAR_SPEED > 0
        assert any(h != 0.0 for h in p["objects_heading"])
        assert all(-math.pi <= h <= math.pi for h in p["objects_heading"])


def test_crashes_and_camera_occur_with_many_objects():
    samples = sample_params("reInvent2019_track", n=200, seed=0, objects=6, bots=True)
    crashed = [p for p in samples if p["is_crashed"]]
    assert crashed and len(crashed) < len(samples) / 2
    for p in crashed:  # a crash needs an object within a car length or so
        assert min(math.dist((p["x"], p["y"]), o) for o in p["objects_location"]) < 0.6
    assert {p["object_in_camera"] for p in samples} == {True, False}


def test_project_matches_hand_computed_values():
    square = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [0.0, 0.0]])
    seg, along, near, dist = rp.project([[1.0, -0.5], [2.5, 1.0], [0.0, 0.0]], square)
    assert seg.tolist() == [0, 2, 0]  # the duplicate vertex makes an empty segment 1
    assert np.allclose(along, [1.0, 3.0, 0.0]) and np.allclose(dist, [0.5, 0.5, 0.0])
    assert np.allclose(near, [[1.0, 0.0], [2.0, 1.0], [0.0, 0.0]])
    assert rp.signed_side([[1.0, 0.5], [1.0, -0.5]], square).tolist() == [1.0, -1.0]
    assert rp.points_in_polygon([[1.0, 1.0], [3.0, 1.0]], square).tolist() == [True, False]


def test_unknown_world_and_bad_n_are_rejected():
    with pytest.raises(FileNotFoundError):
        sample_params("no_such_track")
    with pytest.raises(ValueError):
        sample_params("reinvent_base", n=0)


def test_a_session_route_file_gives_its_own_geometry(tmp_path):
    """A session's [track] route: sample_params and track_geometry measure on that file; a
    waypoint array works the same; the plain call still uses the world's route."""
    from drtui.catalog.tracks import RouteError

    own = load_waypoints("reInvent2019_wide_cw")
    np.save(tmp_path / "mine.npy", own)
    by_file = sample_params("mine", n=16, seed=2, route=tmp_path / "mine.npy")
    by_array = sample_params("mine", n=16, seed=2, route=own)
    assert by_file == by_array
    assert by_file == sample_params("reInvent2019_wide_cw", n=16, seed=2)
    assert by_file[0]["waypoints"] == [tuple(r) for r in sanitize(own)[:, :2].tolist()]
    assert track_geometry("mine", route=tmp_path / "mine.npy").length == pytest.approx(
        np.linalg.norm(np.diff(own[:, :2], axis=0), axis=1).sum())
    assert sample_params("reinvent_base", n=4)[0]["track_length"] == pytest.approx(17.709, abs=1e-3)
    # an edited file is read again, a broken one is a RouteError naming it
    np.save(tmp_path / "mine.npy", load_waypoints("reinvent_base"))
    assert track_geometry("mine", route=tmp_path / "mine.npy").length == pytest.approx(
        17.709, abs=1e-3)
    np.save(tmp_path / "bad.npy", np.zeros((5, 3)))
    with pytest.raises(RouteError, match=r"bad\.npy: the route must have shape \(N, 6\)"):
        sample_params("bad", route=tmp_path / "bad.npy")


def test_reverse_drives_the_route_backwards():
    """REVERSE_DIR: the waypoints run the other way and params say is_reversed."""
    fwd, back = track_geometry("reinvent_base"), track_geometry("reinvent_base", reverse=True)
    assert np.array_equal(back.centre, fwd.centre[::-1]) and back.is_ccw != fwd.is_ccw
    for p in sample_params("reinvent_base", n=8, seed=3, reverse=True):
        assert p["is_reversed"] is True and p["waypoints"][0] == tuple(back.centre[0])
