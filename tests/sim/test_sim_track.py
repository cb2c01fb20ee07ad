"""Track geometry: simapp's route sanitising, shapely-like projection, the road test."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from drtui.sim.track import Track, load_track, sanitize

SHIPPED = [
    "reInvent2019_track",
    "reinvent_base",
    "reInvent2019_wide",
    "2022_reinvent_champ_ccw",
    "2024_reinvent_champ_ccw",
    "2022_summit_speedway",
]


def test_sanitize_drops_duplicate_centre_rows_but_keeps_the_closing_row():
    wp = np.array(
        [
            [0, 0, 0, 1, 0, -1],
            [1, 0, 1, 1, 1, -1],
            [1, 0, 1, 1, 1, -1],
            [1, 1, 1, 2, 1, 0],
            [0, 0, 0, 1, 0, -1],
        ],
        dtype=float,
    )
    out = sanitize(wp)
    assert len(out) == 4 and np.array_equal(out[0], out[-1])
    assert len(Track("t", wp, keep_duplicates=True).route) == 5


def test_projection_matches_the_numpy_reference():
    """drtui.reward.params.project is the numpy (shapely-like) projection used for previews."""
    from drtui.reward.params import project

    track = load_track("reInvent2019_track", torch.float64)
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = track.bounds(0.5)
    pts = rng.uniform((x0, y0), (x1, y1), (500, 2))
    along, near = track.forward.centre.project(torch.from_numpy(pts))
    _, ref_along, ref_near, _ = project(pts, track.route[:, 0:2])
    assert np.allclose(along.numpy(), ref_along, atol=1e-9)
    assert np.allclose(near.numpy(), ref_near, atol=1e-9)


@pytest.mark.parametrize("world", SHIPPED)
def test_fast_road_test_equals_the_polygon_test(world):
    track = load_track(world)
    g = torch.Generator().manual_seed(1)
    x0, y0, x1, y1 = track.bounds(0.3)
    pts = torch.rand(5000, 2, generator=g) * torch.tensor([x1 - x0, y1 - y0]) + torch.tensor(
        [x0, y0]
    )
    borders = torch.cat([track.forward.inner.points, track.forward.outer.points])
    near = borders[torch.randint(len(borders), (5000,), generator=g)] + 0.02 * torch.randn(
        5000, 2, generator=g
    )
    pts = torch.cat([pts, near])
    fast = track.on_road(pts)
    assert torch.equal(fast, track._on_road_exact(pts))
    # and the numpy polygon test of drtui.reward.params agrees
    from drtui.reward.params import track_geometry

    assert np.array_equal(fast.numpy(), track_geometry(world).on_road(pts.double().numpy()))


def test_road_and_lines_of_the_oval(oval):
    track = load_track(oval, torch.float64)
    assert track.is_loop and track.forward.is_ccw and not track.backward.is_ccw
    assert track.length == pytest.approx(2 * 6.0 + 2 * math.pi * 1.5, rel=0.01)
    on = track.on_road(
        torch.tensor([[3.0, 0.0], [3.0, 0.49], [3.0, 0.51], [3.0, -0.6], [3.0, 1.5]])
    )
    assert on.tolist() == [True, True, False, False, False]
    # the reverse direction starts where the forward one ends and counts the other way
    fwd, back = track.forward, track.backward
    assert fwd.waypoints[0] == back.waypoints[0] and fwd.waypoints[1] == back.waypoints[-2]
    a_f, _ = fwd.centre.project(torch.tensor([[3.0, 0.2]], dtype=torch.float64))
    a_b, _ = back.centre.project(torch.tensor([[3.0, 0.2]], dtype=torch.float64))
    assert float(a_f + a_b) == pytest.approx(track.length)


def test_closest_waypoints_wrap_like_simapp(oval):
    lines = load_track(oval, torch.float64).forward
    n = len(lines.ndists)
    prev, nxt = lines.prev_next(torch.tensor([0.0, 0.5, 0.999999, 1.0], dtype=torch.float64))
    assert prev[0] == 0 and nxt[0] == 1
    assert prev[2] == n - 2 and nxt[2] == n - 1
    assert prev[3] == n - 1 and nxt[3] == 0  # bisect_right past the end wraps to 0


@pytest.mark.parametrize("world", ["reInvent2019_track", "2022_reinvent_champ_ccw"])
def test_indexed_projection_equals_the_full_search(world):
    """SegmentGrid only prunes segments that cannot be nearest: same results, far points too."""
    track = load_track(world, torch.float64)
    g = torch.Generator().manual_seed(2)
    x0, y0, x1, y1 = track.bounds(2.5)
    pts = torch.rand(4000, 2, generator=g, dtype=torch.float64) * torch.tensor(
        [x1 - x0, y1 - y0], dtype=torch.float64
    ) + torch.tensor([x0, y0], dtype=torch.float64)
    for lines in (track.forward, track.backward):
        a_full, n_full = lines.centre.project(pts)
        a_fast, n_fast = lines.centre.project_indexed(pts)
        assert torch.allclose(a_full, a_fast, atol=1e-9) and torch.allclose(
            n_full, n_fast, atol=1e-9
        )


def test_border_table_gives_the_same_width_and_distances():
    """The table holds exact nearest border points every millimetre; where the nearest point
    jumps (a border's inside corner) the sample may hold the other, equally near, one."""
    track = load_track("reInvent2019_track", torch.float64)
    lines = track.forward
    along = (
        torch.rand(5000, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
        * track.length
    )
    centre = lines.centre.interpolate(along)
    exact_in, exact_out = lines.nearest_on_borders(centre)
    table_in, table_out = lines.borders_at(along)
    def width(a, b):
        return (a - b).norm(dim=-1)

    assert (width(exact_in, exact_out) - width(table_in, table_out)).abs().max() < 2e-3
    assert (width(centre, exact_in) - width(centre, table_in)).abs().max() < 2e-3
    assert (width(centre, exact_out) - width(centre, table_out)).abs().max() < 2e-3
    assert ((exact_in - table_in).norm(dim=-1) < 1e-3).float().mean() > 0.99
