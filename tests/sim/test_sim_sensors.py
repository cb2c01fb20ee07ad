"""Observations on known poses: cameras and lidars."""

from __future__ import annotations

import math

import pytest
import torch
from sim_helpers import sim_config

from drtui.sim.env import DeepRacerSim
from drtui.sim.objects import ObjectsConfig
from drtui.sim.sensors.lidar import beam_angles, sector_observation
from drtui.sim.sensors.texture import BORDER

ON_STRAIGHT = [[1.0, 0.0, 0.0]]  # oval: centre line of the first straight, facing along it
NEAR = slice(35, None)  # rows of ground within 3 m: the straight; farther, the oval turns left


def border_columns(row: torch.Tensor) -> tuple[int, int]:
    """Columns of the first white pixels left and right of the image centre."""
    white = (row.float() > 0.9 * 255 * BORDER).nonzero().flatten()
    mid = len(row) / 2
    return int(white[white < mid].max()), int(white[white > mid].min())


def test_camera_sees_both_borders_symmetrically(oval):
    sim = DeepRacerSim(sim_config(oval, sensors=("FRONT_FACING_CAMERA",)))
    sim.reset()
    img = sim.place(ON_STRAIGHT)["FRONT_FACING_CAMERA"]
    assert img.shape == (1, 1, 120, 160) and img.dtype == torch.uint8
    frame = img[0, 0]
    assert torch.equal(frame[NEAR], frame[NEAR].flip(-1))  # mirror-symmetric, pixel for pixel
    for r in (38, 41, 44):  # the borders come into view 0.8 m ahead
        left, right = border_columns(frame[r])
        assert left + right == 159  # symmetric about the centre column
    # lower rows are road: dark, with the light centre-line dashes in the middle
    assert frame[110, :40].float().mean() < 60 and frame[:20].float().std() == 0  # flat sky


def test_border_position_follows_geometry(oval):
    """The border's image column where the ground is 1 m ahead, from the pinhole model."""
    sim = DeepRacerSim(sim_config(oval, sensors=("FRONT_FACING_CAMERA",)))
    sim.reset()
    frame = sim.place(ON_STRAIGHT)["FRONT_FACING_CAMERA"][0, 0]
    h, cam_x, pitch = 0.13032555, 0.14529379, 0.2618
    f = 80 / math.tan(1.13 / 2)
    fwd = 1.0 - cam_x  # ground 1 m ahead of the origin
    depth = fwd * math.cos(pitch) + h * math.sin(pitch)
    vert = fwd * math.sin(pitch) - h * math.cos(pitch)
    row = int(60 - f * vert / depth)
    left, right = border_columns(frame[row])
    expect = f * 0.5 / depth  # the border is 0.5 m to the side
    assert (80 - left) == pytest.approx(expect, abs=3) and (right - 80) == pytest.approx(
        expect, abs=3
    )


def test_off_centre_car_sees_the_near_border_lower(oval):
    sim = DeepRacerSim(sim_config(oval, sensors=("FRONT_FACING_CAMERA",)))
    sim.reset()
    frame = sim.place([[2.0, 0.3, 0.0]])["FRONT_FACING_CAMERA"][0, 0]  # 0.3 m left of centre
    rows_left = (frame[:, :20].float() > 200).any(1).nonzero().flatten()
    rows_right = (frame[:, -20:].float() > 200).any(1).nonzero().flatten()
    assert rows_left.max() > rows_right.max()  # the near (left) border comes closer to the car


def test_stereo_and_left_camera(oval):
    sim = DeepRacerSim(sim_config(oval, sensors=("STEREO_CAMERAS", "LEFT_CAMERA")))
    sim.reset()
    obs = sim.place(ON_STRAIGHT)
    stereo, left = obs["STEREO_CAMERAS"], obs["LEFT_CAMERA"]
    assert stereo.shape == (1, 2, 120, 160)
    assert torch.equal(stereo[:, :1], left)  # LEFT_CAMERA is the stereo pair's left camera
    # the two cameras sit +-3 cm off the axis of symmetry
    assert torch.equal(stereo[0, 0, NEAR], stereo[0, 1, NEAR].flip(-1))
    assert not torch.equal(stereo[0, 0], stereo[0, 1])


def test_low_resolution_camera(oval):
    sim = DeepRacerSim(sim_config(oval, sensors=("FRONT_FACING_CAMERA",), camera_size=(80, 60)))
    sim.reset()
    assert sim.place(ON_STRAIGHT)["FRONT_FACING_CAMERA"].shape == (1, 1, 60, 80)
    assert sim.observation_shapes() == {"FRONT_FACING_CAMERA": (1, 60, 80)}


def test_camera_draws_a_box_ahead(oval):
    objects = ObjectsConfig("boxes", 1, positions=((0.2, 1),))  # inner lane (left), 4.28 m along
    sim = DeepRacerSim(sim_config(oval, sensors=("FRONT_FACING_CAMERA",), objects=objects))
    sim.reset()
    frame = sim.place([[2.5, 0.25, 0.0]])["FRONT_FACING_CAMERA"][0, 0]  # in the box's lane
    box = frame == round(0.88 * 255)
    cols = box.any(0).nonzero().flatten()
    assert len(cols) > 5 and abs(float(cols.float().mean()) - 80) < 4  # dead ahead
    assert box[:20].any()  # taller than the camera: it rises above the horizon


def test_lidar_range_to_a_box_behind(oval):
    """A box in the car's lane, its near face 1.0 m behind the lidar: the beams either side
    of straight back read ~1.0 m (the lidar sees sides and rear; the camera covers the front)."""
    objects = ObjectsConfig("boxes", 1, positions=((0.1, 1),))
    sim = DeepRacerSim(sim_config(oval, sensors=("LIDAR",), lidar_noise=0.0, objects=objects))
    sim.reset()
    box_x, box_y = float(sim.objects.x[0, 0]), float(sim.objects.y[0, 0])
    mount = 0.02913
    origin_x = box_x + 0.2 + 1.0 - mount  # box body: 0.4 m long
    raw = sim._lidar.ranges(
        torch.tensor([origin_x]), torch.tensor([box_y]), torch.tensor([0.0]), sim.objects
    )[0]
    angles = beam_angles()
    back = (angles.abs() - math.pi).abs() < 0.05  # the two beams around straight back
    assert back.sum() == 2
    assert raw[back].tolist() == pytest.approx([1.0 / math.cos(0.0416)] * 2, abs=2e-3)
    assert torch.isinf(raw[angles.abs() < math.pi / 2]).all()  # nothing to the front-sides
    obs = sim.place([[origin_x, box_y, 0.0]])["LIDAR"][0]
    assert (
        obs.shape == (64,)
        and float(obs.max()) == 1.0
        and float(obs.min()) == pytest.approx(1.0, abs=3e-3)
    )


def test_lidar_walls_are_the_borders(oval):
    sim = DeepRacerSim(sim_config(oval, sensors=("LIDAR",), lidar_walls=True))
    sim.reset()
    raw = sim._lidar.ranges(torch.tensor([2.0]), torch.tensor([0.0]), torch.tensor([0.0]))[0]
    angles = beam_angles()
    side = (angles.abs() - math.pi / 2).abs() < 0.05
    # perpendicular to a wall 0.5 m away: range 0.5 / cos(angle off the perpendicular)
    expect = 0.5 / torch.cos(angles[side].abs() - math.pi / 2)
    assert raw[side].tolist() == pytest.approx(expect.tolist(), abs=1e-4)
    assert (raw >= 0.5 - 1e-4).all()


def test_sector_lidars():
    ranges = torch.full((1, 64), math.inf)
    ranges[0, 8:16] = 0.4  # sector 1: something at 0.4 m
    ranges[0, 40] = 1.3  # sector 5: something at 1.3 m
    assert sector_observation(ranges).tolist() == [[0, 1, 0, 0, 0, 0, 0, 0]]  # SECTOR_LIDAR
    disc = sector_observation(ranges, num_sectors=8, num_values=4, clipping_dist=2.0).reshape(8, 4)
    assert disc[1].tolist() == [1, 0, 0, 0]  # 0.4 m: bin 0 of 0.5 m bins
    assert disc[5].tolist() == [0, 0, 1, 0]  # 1.3 m: bin 2
    assert disc[0].tolist() == [0, 0, 0, 0]  # nothing within 2 m: the dropped "far" bin


def test_sector_lidar_sees_a_bot_car(oval):
    objects = ObjectsConfig("bots", 1, min_distance=3.0, bot_speed=0.5)
    sim = DeepRacerSim(
        sim_config(
            oval,
            sensors=("SECTOR_LIDAR", "DISCRETIZED_SECTOR_LIDAR"),
            objects=objects,
            lidar_config=(4, 2, 1.0),
        )
    )
    obs = sim.reset()
    assert obs["SECTOR_LIDAR"].sum() == 0 and obs["DISCRETIZED_SECTOR_LIDAR"].shape == (1, 8)
    bx, by, yaw = (
        float(sim.objects.x[0, 0]),
        float(sim.objects.y[0, 0]),
        float(sim.objects.yaw[0, 0]),
    )
    # put the car 0.3 m to the bot's right, side by side
    obs = sim.place([[bx + 0.3 * math.sin(yaw), by - 0.3 * math.cos(yaw), yaw]])
    sectors = obs["SECTOR_LIDAR"][0]
    assert sectors.sum() >= 1 and sectors[:4].sum() >= 1  # beams 0..31 sweep the left side
