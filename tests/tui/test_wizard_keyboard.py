"""Walk the whole wizard by keyboard, save and write from the review, and check the files are
byte-identical to `drtui generate` on the saved session."""

from __future__ import annotations

import tomllib

from tui_helpers import files_under, keys, make_app, new_session, screen_name, settle

from drtui.cli import main as cli_main


async def _type_into_focused(pilot, text: str) -> None:
    await pilot.press(*keys(text))


async def test_discrete_clipped_ppo_with_sector_lidar(workspace, tmp_path):
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await new_session(app, pilot, "lidar-model")
        assert screen_name(app) == "TrackStep"

        # 1. track: two rows down the table, time trial
        assert app.focused.id == "track-table"
        start = app.draft.get("track.world")
        await pilot.press("down", "down")
        world = app.draft.get("track.world")
        assert world != start
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 2. sensors: keep the front camera, tick SECTOR_LIDAR (4 rows down)
        assert screen_name(app) == "SensorsStep"
        assert app.focused.name == "FRONT_FACING_CAMERA"
        await pilot.press("down", "down", "down", "down")
        assert app.focused.name == "SECTOR_LIDAR"
        await pilot.press("space")
        assert app.draft.get("car.sensors") == ["FRONT_FACING_CAMERA", "SECTOR_LIDAR"]
        assert "the simulator accepts" in str(app.screen.query_one("#sensor-verdict").render())
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 3. action space: discrete; remove row 1, then edit row 0 in the fields below
        assert screen_name(app) == "ActionSpaceStep"
        await pilot.press("tab", "tab")  # type radio -> preset -> table
        assert app.focused.id == "action-table"
        await pilot.press("down", "d")
        assert len(app.draft.get("action_space.actions")) == 9
        await pilot.press("up", "e")
        assert app.focused.id == "edit-steer"
        await _type_into_focused(pilot, "-27.5")
        await pilot.press("tab")
        await _type_into_focused(pilot, "0.7\n")
        await settle(app, pilot)
        actions = app.draft.get("action_space.actions")
        assert actions[0] == {"steering_angle": -27.5, "speed": 0.7}
        assert app.draft.get("action_space.generator", fallback=None) is None
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 4. network: the 4-layer CNN, clipped_ppo
        assert screen_name(app) == "NetworkStep"
        assert app.focused.id == "network-table"
        await pilot.press("down")
        assert app.draft.get("network.architecture") == "DEEP_CONVOLUTIONAL_NETWORK"
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 5. hyperparameters: lr is the 8th field
        assert screen_name(app) == "HyperparametersStep"
        await pilot.press(*["tab"] * 7)
        assert app.focused.id == "f-hyperparameters-lr-editor"
        await _type_into_focused(pilot, "0.0001")
        assert app.draft.get("hyperparameters.lr") == 0.0001
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 6. reward: centerline template, marker_1 = 0.05
        assert screen_name(app) == "RewardStep"
        await pilot.press("tab", "tab")  # source radio -> template select -> marker_1
        assert app.focused.id == "f-reward-params-marker-1-editor"
        await _type_into_focused(pilot, "0.05")
        assert app.draft.get("reward.params") == {"marker_1": 0.05}
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 7. backend: the default, embedded on this machine
        assert screen_name(app) == "BackendStep"
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 8. review: save, then write
        assert screen_name(app) == "ReviewStep"
        assert app.draft.problems() == []
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await settle(app, pilot)

    saved = workspace / "lidar-model.toml"
    data = tomllib.loads(saved.read_text())
    assert data["track"]["world"] == world
    assert data["car"]["sensors"] == ["FRONT_FACING_CAMERA", "SECTOR_LIDAR"]
    assert data["action_space"]["actions"][0] == {"steering_angle": -27.5, "speed": 0.7}
    assert data["network"]["architecture"] == "DEEP_CONVOLUTIONAL_NETWORK"
    assert data["hyperparameters"]["lr"] == 0.0001
    assert data["reward"] == {"template": "centerline", "params": {"marker_1": 0.05}}
    written = workspace / "lidar-model"
    headless = tmp_path / "headless"
    assert cli_main(["generate", str(saved), "-o", str(headless)]) == 0
    assert files_under(written) == files_under(headless)
    assert '"SECTOR_LIDAR"' in (written / "custom_files" / "model_metadata.json").read_text()


async def test_continuous_sac_with_stereo_cameras(workspace, tmp_path):
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await new_session(app, pilot, "stereo-sac")

        # 1. track: keep it; object avoidance with 4 obstacles
        await pilot.press("tab", "tab")  # table -> reverse -> race type
        assert app.focused.id == "race-type"
        await pilot.press("right", "enter")
        assert app.draft.get("race.type") == "OBJECT_AVOIDANCE"
        await pilot.press("tab")
        assert app.focused.id == "f-race-object-avoidance-number-of-obstacles-editor"
        await pilot.press(*keys("4"))
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 2. sensors: front camera off, stereo cameras on
        await pilot.press("space", "down", "down", "space")
        assert app.draft.get("car.sensors") == ["STEREO_CAMERAS"]
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 3. action space: continuous, steering +-25, speed 0.8..3.5
        assert app.focused.id == "space-type"
        await pilot.press("right", "enter")
        assert app.draft.get("action_space.type") == "continuous"
        await pilot.press("tab", "tab")  # preset -> steering low
        assert app.focused.id == "f-action-space-steering-angle-low-editor"
        for value in ("-25", "25", "0.8", "3.5"):
            await pilot.press(*keys(value), "tab")
        assert app.draft.get("action_space") == {
            "type": "continuous", "steering_angle": {"low": -25.0, "high": 25.0},
            "speed": {"low": 0.8, "high": 3.5}}
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 4. network: keep the shallow CNN; sac
        assert app.focused.id == "network-table"
        await pilot.press("tab")
        assert app.focused.id == "algorithm"
        await pilot.press("right", "enter")
        assert app.draft.get("training.algorithm") == "sac"
        # hyperparameters that were at clipped_ppo's defaults follow sac's
        assert app.draft.get("hyperparameters.loss_type") == "mean squared error"
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 5. hyperparameters: sac_alpha is the last field
        await pilot.press("shift+tab", "shift+tab")  # from the first field, back past the button
        assert app.focused.id == "f-hyperparameters-sac-alpha-editor"
        await pilot.press(*keys("0.1"))
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 6. reward: switch to code, add a line at the top
        assert app.focused.id == "reward-source"
        await pilot.press("right", "enter")
        assert app.draft.get("reward.template", fallback=None) is None
        await pilot.press("tab")
        assert app.focused.id == "reward-editor"
        await pilot.press(*keys("# tuned in drtui\n"))
        await pilot.pause(0.4)  # the check runs 0.3 s after the last key
        await settle(app, pilot)
        assert app.draft.get("reward.code").startswith("# tuned in drtui\n")
        check = str(app.screen.query_one("#reward-check").render())
        assert check.startswith("✓ ran on"), check
        await pilot.press("escape")  # leave the editor; ctrl+n works from anywhere anyway
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 7. backend: ssh to a host
        assert app.focused.id == "provider"
        await pilot.press("down", "enter")
        assert app.draft.get("backend.provider") == "ssh"
        await pilot.press("tab", "tab")  # runner -> ssh host
        assert app.focused.id == "f-backend-ssh-host-editor"
        await pilot.press(*keys("gpu.example.com"))
        await pilot.press("ctrl+n")
        await settle(app, pilot)

        # 8. review: save and write
        assert app.draft.problems() == []
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await settle(app, pilot)

    saved = workspace / "stereo-sac.toml"
    data = tomllib.loads(saved.read_text())
    assert data["race"]["type"] == "OBJECT_AVOIDANCE"
    assert data["race"]["object_avoidance"]["number_of_obstacles"] == 4
    assert data["training"]["algorithm"] == "sac"
    assert data["hyperparameters"]["sac_alpha"] == 0.1
    assert data["backend"]["provider"] == "ssh"
    assert data["backend"]["ssh"]["host"] == "gpu.example.com"
    assert data["reward"]["code"].startswith("# tuned in drtui\n")
    headless = tmp_path / "headless"
    assert cli_main(["generate", str(saved), "-o", str(headless)]) == 0
    assert files_under(workspace / "stereo-sac") == files_under(headless)
