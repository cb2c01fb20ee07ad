"""The track catalogue: all of simapp's routes, each world its own file, and a session's
own route file checked as simapp reads it."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from drtui.catalog import tracks
from drtui.catalog.tracks import (
    RouteError,
    catalogue,
    load_waypoints,
    read_route,
    route_problems,
    sanitize,
    session_waypoints,
)

TRACKS_JSON = {e["trackId"]: e for e in json.loads(resources.files("drtui.assets.tracks")
                                                   .joinpath("deepracer-on-aws-tracks.json")
                                                   .read_text(encoding="utf-8"))["tracks"]}


def _length(wp: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(wp[:, :2], axis=0), axis=1).sum())


def test_every_simapp_route_is_a_world():
    """simapp 6.0.5's 127 routes and the plain 2022_reinvent_champ (removed from simapp but
    named by real 2023 console logs)."""
    worlds = catalogue()
    assert len(worlds) == 128
    for name in ("2022_reinvent_champ", "2022_reinvent_champ_ccw", "2022_reinvent_champ_cw",
                 "Straight_track", "AWS_track", "reInvent2019_wide_mirrored", "Spain_track_f1"):
        assert name in worlds
    assert worlds["2022_reinvent_champ"].track_id == "2022_reinvent_champ"
    assert worlds["2022_reinvent_champ"].variants == (
        "2022_reinvent_champ", "2022_reinvent_champ_ccw", "2022_reinvent_champ_cw")
    for t in worlds.values():
        wp = load_waypoints(t.world)
        assert wp.dtype == np.float64 and wp.ndim == 2 and wp.shape[1] == 6, t.world
        problems = route_problems(str(resources.files("drtui.assets.tracks") / f"{t.world}.npy"))
        assert [p.severity for p in problems] == ([] if t.is_loop else ["warning"]), t.world
    assert [w for w, t in worlds.items() if not t.is_loop] == ["Straight_track"]


def test_cw_and_ccw_worlds_drive_their_own_files():
    """simapp's _cw routes are not the _ccw ones reversed (they start elsewhere): each world
    reads its own file, winding the way its name says."""
    pairs = [w[:-4] for w in catalogue() if w.endswith("_ccw")]
    assert len(pairs) == 29
    for base in pairs:
        ccw, cw = load_waypoints(f"{base}_ccw"), load_waypoints(f"{base}_cw")
        assert catalogue()[f"{base}_ccw"].direction == "counterclockwise", base
        assert catalogue()[f"{base}_cw"].direction == "clockwise", base
        assert not np.allclose(ccw[0, :2], cw[-1, :2], atol=1e-3), base  # not a reversal
        assert _length(ccw) == pytest.approx(_length(cw), rel=1e-9)
    wide_cw = load_waypoints("reInvent2019_wide_cw")
    assert len(wide_cw) == 57 and len(load_waypoints("reInvent2019_wide")) == 112


def test_names_lengths_and_widths_come_from_tracks_json_where_listed():
    for t in catalogue().values():
        entry = TRACKS_JSON.get(t.track_id)
        wp = load_waypoints(t.world)
        if entry is not None:
            assert t.name.startswith(entry["name"]) and t.length_m == float(entry["length"])
            width = entry["width"] / 100 if entry["width"] > 5 else entry["width"]
            assert t.width_m == pytest.approx(width, abs=1e-3), t.world
        else:  # measured on the route
            assert t.length_m == pytest.approx(_length(wp), abs=0.01), t.world
            widths = np.linalg.norm(wp[:, 2:4] - wp[:, 4:6], axis=1)
            assert t.width_m == pytest.approx(float(np.median(widths)), abs=1e-3), t.world
    assert catalogue()["2022_reinvent_champ_cw"].name == "2022 re:Invent Championship (clockwise)"
    assert catalogue()["Straight_track"].length_m == pytest.approx(5.71, abs=0.01)
    assert catalogue()["Albert"].direction == "clockwise"  # a plain route wound clockwise


def test_an_unknown_world_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="no route for track 'Nowhere'"):
        load_waypoints("Nowhere")
    with pytest.raises(FileNotFoundError):
        load_waypoints("../tracks/reinvent_base")
    assert tracks.get_or_none("Nowhere") is None


# -- a session's own route file ---------------------------------------------------------------

def _square(n: int = 40, closed: bool = True, gap: float = 0.0) -> np.ndarray:
    """A 4 m square loop, 1 m wide, counter-clockwise."""
    t = np.linspace(0, 4, n, endpoint=False)
    side = np.floor(t).astype(int)
    f = t - side
    corners = np.array([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], dtype=float)
    c = corners[side] + f[:, None] * (corners[side + 1] - corners[side])
    normal = np.array([[0, 1], [-1, 0], [0, -1], [1, 0]], dtype=float)[side]
    wp = np.hstack([c, c + 0.5 * normal, c - 0.5 * normal])
    if closed:
        last = wp[:1].copy()
        last[0, 0] += gap
        wp = np.vstack([wp, last])
    return wp


def test_a_good_route_file_has_no_problems(tmp_path):
    np.save(tmp_path / "mine.npy", _square())
    assert route_problems("mine.npy", tmp_path) == []
    wp = read_route(tmp_path / "mine.npy")
    assert wp.shape == (41, 6) and wp.dtype == np.float64


@pytest.mark.parametrize("array, rule", [
    (np.zeros((10, 4)), "must have shape (N, 6)"),
    (np.zeros(12), "must have shape (N, 6)"),
    (np.array([["a"] * 6] * 5), "must be an array of numbers"),
    (np.vstack([_square()[:5], [[0, 0, np.nan, 0, 0, 0]], _square()[5:]]),
     "row 5 column 2 is not a finite number"),
    (np.vstack([_square()[:1]] * 3), "at least 4 distinct centre points"),
])
def test_a_bad_route_file_is_one_clear_problem(tmp_path, array, rule):
    np.save(tmp_path / "bad.npy", array)
    problems = route_problems("bad.npy", tmp_path)
    assert len(problems) == 1 and problems[0].severity == "error"
    assert problems[0].path == "track.route" and rule in problems[0].message
    assert problems[0].message.startswith("bad.npy: ")  # as the session names it


def test_missing_pickled_and_wrong_kind_files_are_refused(tmp_path):
    assert "no such route file" in route_problems("none.npy", tmp_path)[0].message
    (tmp_path / "route.csv").write_text("0,0,0,1,0,-1\n")
    assert ".npy file" in route_problems("route.csv", tmp_path)[0].message
    np.save(tmp_path / "obj.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    assert "not a readable .npy array" in route_problems("obj.npy", tmp_path)[0].message
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    assert "not a readable .npy array" in route_problems("junk.npy", tmp_path)[0].message


def test_closure_a_near_miss_is_an_error_an_open_road_a_warning(tmp_path):
    np.save(tmp_path / "near.npy", _square(gap=0.003))
    [near] = route_problems("near.npy", tmp_path)
    assert near.severity == "error" and "0.3 cm from the first" in near.message
    assert "repeat the first row as the last row" in near.message
    # a loop without its closing row: its ends are one waypoint apart
    np.save(tmp_path / "unclosed.npy", _square(closed=False))
    [unclosed] = route_problems("unclosed.npy", tmp_path)
    assert unclosed.severity == "error" and "40.0 cm from the first" in unclosed.message
    # a road whose ends are far apart, like simapp's Straight_track
    x = np.linspace(0, 5, 20)
    strip = np.stack([x, 0 * x, x, 0 * x + 0.3, x, 0 * x - 0.3], 1)
    np.save(tmp_path / "open.npy", strip)
    [open_] = route_problems("open.npy", tmp_path)
    assert open_.severity == "warning" and "open route" in open_.message


def test_session_waypoints_read_the_route_relative_to_the_session(tmp_path):
    from drtui.session.model import Track

    np.save(tmp_path / "mine.npy", _square())
    own = Track(world="reinvent_base", route="mine.npy")
    assert np.array_equal(session_waypoints(own, tmp_path), _square())
    assert tracks.route_source(own, tmp_path) == str((tmp_path / "mine.npy").resolve())
    plain = Track(world="reinvent_base")
    assert np.array_equal(session_waypoints(plain, tmp_path), load_waypoints("reinvent_base"))
    assert tracks.route_source(plain, tmp_path) == "reinvent_base"
    with pytest.raises(RouteError, match="no such route file"):
        session_waypoints(Track(world="reinvent_base", route="gone.npy"), tmp_path)


def test_the_session_file_keeps_its_route(tmp_path):
    from drtui.session import store
    from drtui.session.starter import starter

    s = starter("own-route")
    s.track.route = "routes/mine.npy"
    store.save(s, tmp_path / "s.toml")
    assert 'route = "routes/mine.npy"' in (tmp_path / "s.toml").read_text()
    assert store.load(tmp_path / "s.toml").track.route == "routes/mine.npy"


def test_sanitize_is_simapps():
    """simapp 6.0.2 on drops a repeated centre row but keeps the closing row."""
    wp = load_waypoints("reInvent2019_track")
    out = sanitize(wp)
    assert len(out) == len(wp) - 1 and np.array_equal(out[0], out[-1])
