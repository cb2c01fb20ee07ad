"""DRfC folder -> session -> files gives back what was imported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from drtui.errors import InvalidInput
from drtui.files import envfile, render
from drtui.files.importer import import_folder

REWARD = "def reward_function(params):\n    return float(params['progress']) / 100.0\n"
PAIRS = [  # (model_metadata sample, hyperparameters sample) as they belong together
    ("drfc/model_metadata.json", "drfc/hyperparameters.json"),
    ("drfc/model_metadata_cont.json", "drfc/hyperparameters.json"),
    ("model_metadata/drfc-discrete-14-actions-indexed-v4.json",
     "hyperparameters/drfc-effective-ppo-ip-hyperparameters.json"),
    ("model_metadata/discrete-12-actions-v3.json", "hyperparameters/ppo-on-the-spot.json"),
    ("model_metadata/sac-continuous-stereo-v5.json", "hyperparameters/sac-example.json"),
    ("drfc/model_metadata_sac.json", "hyperparameters/sac-example.json"),
]


def drfc_folder(root: Path, data_dir: Path, metadata: str, hyper: str, *, envs: bool) -> Path:
    custom = root / "custom_files"
    custom.mkdir(parents=True)
    shutil.copy(data_dir / metadata, custom / "model_metadata.json")
    shutil.copy(data_dir / hyper, custom / "hyperparameters.json")
    (custom / "reward_function.py").write_text(REWARD)
    if envs:
        shutil.copy(data_dir / "drfc/template-run.env", root / "run.env")
        shutil.copy(data_dir / "drfc/template-system.env", root / "system.env")
    return root


@pytest.mark.parametrize("metadata,hyper", PAIRS)
def test_import_then_generate_gives_equivalent_json(tmp_path, data_dir, metadata, hyper):
    folder = drfc_folder(tmp_path / "drfc", data_dir, metadata, hyper, envs=False)
    session, notes = import_folder(folder, name="imported")
    files = render.render(session)

    source_meta = json.loads((data_dir / metadata).read_text())
    assert json.loads(files["model_metadata.json"]) == source_meta

    source_hp = json.loads((data_dir / hyper).read_text())
    ours = json.loads(files["hyperparameters.json"])
    assert {k: ours[k] for k in source_hp} == source_hp
    # keys the source left out are written with the algorithm's defaults (simapp's own
    # defaults differ from DRfC's, so every key is always written)
    assert set(ours) >= set(source_hp)
    assert files["reward_function.py"] == REWARD
    assert any("run.env" in n for n in notes)


def test_drfc_defaults_round_trip_exactly(tmp_path, data_dir):
    """DRfC's own default files come back with the same keys and values."""
    folder = drfc_folder(tmp_path / "drfc", data_dir, "drfc/model_metadata.json",
                         "drfc/hyperparameters.json", envs=True)
    session, notes = import_folder(folder)
    files = render.render(session)
    for name, sample in [("hyperparameters.json", "drfc/hyperparameters.json"),
                         ("model_metadata.json", "drfc/model_metadata.json")]:
        assert json.loads(files[name]) == json.loads((data_dir / sample).read_text()), name
    # run.env: every line of DRfC's template comes back as written ($VAR references too)
    template = dict(envfile.env_words((data_dir / "drfc/template-run.env").read_text()))
    ours = dict(envfile.env_words(files["run.env"]))
    assert {k: ours[k] for k in template} == template
    # system.env: the unfilled placeholders (<CLOUD_REPLACE>) are kept and named
    template = dict(envfile.env_words((data_dir / "drfc/template-system.env").read_text()))
    ours = dict(envfile.env_words(files["system.env"]))
    assert {k: ours[k] for k in template} == template
    assert any("DR_CLOUD: drtui cannot evaluate" in n for n in notes)
    assert ours_exported(files)["DR_DISPLAY_NAME"] == "FastCar"
    assert session.model.name == "rl-deepracer-sagemaker"  # DRfC's model prefix
    assert session.track.world == "reinvent_base"
    assert session.backend.runner == "drfc"


def ours_exported(files: dict[str, str]) -> dict[str, str]:
    env: dict[str, str] = {}
    envfile.evaluate(envfile.env_words(files["system.env"] + files["run.env"]), env)
    return env


def test_import_reads_worker_files(tmp_path, data_dir):
    folder = drfc_folder(tmp_path / "drfc", data_dir, "drfc/model_metadata.json",
                         "drfc/hyperparameters.json", envs=True)
    (folder / "system.env").write_text(
        (folder / "system.env").read_text().replace("DR_WORKERS=1", "DR_WORKERS=2"))
    shutil.copy(data_dir / "drfc/template-worker.env", folder / "worker-2.env")
    # DRfC reads worker files only in multi-config training
    session, notes = import_folder(folder)
    assert session.workers == [] and "worker-2.env" not in render.render(session)
    assert any(n.startswith("worker-2.env: not imported") and "DR_TRAIN_MULTI_CONFIG" in n
               for n in notes)
    (folder / "run.env").write_text((folder / "run.env").read_text().replace(
        "DR_TRAIN_MULTI_CONFIG=False", "DR_TRAIN_MULTI_CONFIG=True"))
    session, _ = import_folder(folder)
    assert session.training.workers == 2
    files = render.render(session)
    ours = envfile.read_worker_env(files["worker-2.env"])
    template = envfile.read_worker_env((data_dir / "drfc/template-worker.env").read_text())
    assert {k: ours[k] for k in template} == template


def test_import_refuses_what_the_simulator_refuses(tmp_path, data_dir):
    folder = drfc_folder(tmp_path / "drfc", data_dir, "drfc/model_metadata.json",
                         "drfc/hyperparameters.json", envs=False)
    meta = json.loads((folder / "custom_files/model_metadata.json").read_text())
    meta["sensor"] = ["LIDAR", "SECTOR_LIDAR"]
    meta["training_algorithm"] = "sac"
    (folder / "custom_files/model_metadata.json").write_text(json.dumps(meta))
    with pytest.raises(InvalidInput) as exc:
        import_folder(folder, name="x")
    text = str(exc.value)
    assert "model_metadata.json: sensor ['LIDAR', 'SECTOR_LIDAR']: simapp allows at most one " \
           "lidar (simapp would stop)" in text
    assert "model_metadata.json: sac needs a continuous action space" in text


def test_import_of_a_folder_without_metadata(tmp_path):
    with pytest.raises(InvalidInput, match="no model_metadata.json"):
        import_folder(tmp_path)


# -- DRfC's reading of env files ---------------------------------------------------------------
CORPUS = Path(__file__).parent / "data" / "import_corpus"
SHELL_TEXTS = ["plain", "$A", "${A}-1", "x/$A/y", "$UNSET", '"quoted"', "'$A'", '"$A"z',
               "a$", "a$/b", "1.0", "", "a=b", "\\$A", "$A$B", "${A}${B}", "<CLOUD_REPLACE>",
               "$(echo hi)", "`echo hi`", "${A:-d}", "$1", "*", "~"]


def test_expand_agrees_with_bash_or_declines():
    """Every text drtui evaluates, bash's `eval "export K=TEXT"` gives the same value; the
    ones it declines are shell syntax it must not run."""
    import shlex
    import subprocess

    env = {"A": "alpha", "B": "beta"}
    # what cut -f2 -d= leaves of the text is what activate.sh evals
    script = "".join(f"eval {shlex.quote(f'export K{i}=' + t.split('=')[0])}\n"
                     for i, t in enumerate(SHELL_TEXTS)) + "env -0\n"
    done = subprocess.run(["bash", "--noprofile", "--norc", "-c", script],
                          env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, check=True)
    bash = dict(item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    declined = []
    for i, text in enumerate(SHELL_TEXTS):
        ours = envfile.expand(text, env)
        if ours is None:
            declined.append(text)
        else:
            assert ours == bash[f"K{i}"], text
    assert declined == ["<CLOUD_REPLACE>", "$(echo hi)", "`echo hi`", "${A:-d}", "$1", "*", "~"]


def copy_corpus(name: str, to: Path) -> Path:
    shutil.copytree(CORPUS / name, to)
    return to


def test_pretrained_continuation_and_image_pins_are_modelled():
    session, _ = import_folder(CORPUS / "pabloin-webx-kf3-pretrained")
    d = session.backend.drfc
    assert (d.pretrained, d.pretrained_prefix, d.pretrained_checkpoint) == \
        (True, "WebX-mKF3-v00a/Web-KF3-v00a", "last")
    assert d.model_prefix == "WebX-mKF3-v00a/Web-KF3-v00b"
    session, _ = import_folder(CORPUS / "jackycct-drfc-images")
    d = session.backend.drfc
    assert (d.sagemaker_image, d.robomaker_image, d.coach_image, d.simapp_version) == \
        ("5.1.0-gpu", "5.1.0-gpu", "5.1.0", "")
    assert "DR_SIMAPP_VERSION" not in render.render(session)["system.env"]
    session, _ = import_folder(CORPUS / "dots-multitrack")
    assert session.backend.drfc.simapp_version == "5.3.3-gpu"
    assert session.backend.drfc.sagemaker_image == ""


def test_a_change_in_drtui_changes_that_value_only():
    session, _ = import_folder(CORPUS / "dots-multitrack")
    before = ours_exported(render.render(session))
    session.car.color = "Purple"
    session.backend.drfc.pretrained = True
    files = render.render(session)
    after = ours_exported(files)
    assert {k for k in before if after.get(k) != before[k]} == \
        {"DR_CAR_COLOR", "DR_LOCAL_S3_PRETRAINED"}
    assert after["DR_CAR_COLOR"] == "Purple" and after["DR_LOCAL_S3_PRETRAINED"] == "True"
    # the worker file names its own colour, and keeps it
    assert envfile.read_worker_env(files["worker-2.env"])["DR_CAR_COLOR"] == "Black"
    # the user's references are still references
    assert "DR_LOCAL_S3_MODEL_METADATA_KEY=$DR_LOCAL_S3_CUSTOM_FILES_PREFIX/model_metadata.json" \
        in files["run.env"]


def test_a_new_action_space_replaces_the_imported_one_and_nothing_else():
    from drtui.session.actions import preset

    session, _ = import_folder(CORPUS / "pabloin-webx-kf3-pretrained")
    session.action_space = preset("centerline")
    written = json.loads(render.render(session)["model_metadata.json"])
    original = json.loads((CORPUS / "pabloin-webx-kf3-pretrained/model_metadata.json").read_text())
    assert {k for k in original if written.get(k) != original[k]} == \
        {"action_space", "action_space_type"}
    assert written["preprocess_type"] == "GREY_SCALE"
    assert written["regional_parameters"] == ["0", "0", "0", "0"]


def test_a_2019_file_keeps_having_no_version():
    session, _ = import_folder(CORPUS / "workshops-reinvent2019-no-version")
    assert session.metadata_version == ""
    written = json.loads(render.render(session)["model_metadata.json"])
    assert "version" not in written and "sensor" not in written
    session.training.algorithm = "clipped_ppo"
    session.network.architecture = "DEEP_CONVOLUTIONAL_NETWORK"  # a change: written
    written = json.loads(render.render(session)["model_metadata.json"])
    assert written["neural_network"] == "DEEP_CONVOLUTIONAL_NETWORK" and "version" not in written


def test_what_simapp_accepts_imports_with_warnings(tmp_path):
    from drtui.session.validate import session_problems

    session, notes = import_folder(CORPUS / "ctspeedsters-4-workers")
    assert len(session.action_space.actions) == 62
    found = session_problems(session)
    assert [p.severity for p in found if p.path == "action_space"] == ["warning"]
    assert any(n.startswith("warning: action_space: 62 discrete actions") for n in notes)
    # speed beyond what simapp clips, lidar_config beside a camera only (the console writes it)
    folder = copy_corpus("dots-default", tmp_path / "f")
    meta = json.loads((folder / "model_metadata.json").read_text())
    meta["action_space"][0]["speed"] = 5
    meta["lidar_config"] = {"num_sectors": 8, "num_values_per_sector": 8, "clipping_dist": 2.0}
    (folder / "model_metadata.json").write_text(json.dumps(meta))
    session, notes = import_folder(folder)
    by_path = {p.path: p for p in session_problems(session)}
    assert by_path["action_space.actions[0].speed"].severity == "warning"
    assert "simapp clips it" in by_path["action_space.actions[0].speed"].message
    assert by_path["car.lidar_config"].severity == "warning"
    # the same in a session made in drtui stays an error
    from drtui.session.model import Session

    new = Session.model_validate({**session.model_dump(), "imported": {}})
    assert {p.path: p.severity for p in session_problems(new)}["action_space.actions[0].speed"] \
        == "error"


def test_hyperparameters_outside_drtuis_ranges_import_as_warnings(tmp_path):
    """simapp trains lr 0.01 and batch_size 100; drtui advises against them, and refuses
    them in a model made in drtui."""
    from drtui.session.model import Session
    from drtui.session.validate import session_problems

    folder = copy_corpus("dots-default", tmp_path / "f")
    hp = json.loads((folder / "hyperparameters.json").read_text())
    hp.update(lr=0.01, batch_size=100)
    (folder / "hyperparameters.json").write_text(json.dumps(hp))
    session, notes = import_folder(folder)
    found = {p.path: p for p in session_problems(session)}
    assert found["hyperparameters.lr"].severity == "warning"
    assert found["hyperparameters.lr"].message == ("must be within 1e-08 .. 0.001 (got 0.01) "
                                                   "(simapp trains it as imported)")
    assert found["hyperparameters.batch_size"].severity == "warning"
    new = Session.model_validate({**session.model_dump(), "imported": {}})
    assert {p.path: p.severity for p in session_problems(new)}["hyperparameters.lr"] == "error"


@pytest.mark.parametrize("change,reason", [
    ({"version": "2.5"}, "simapp knows versions 1, 2 and 3 or later"),
    ({"version": "five"}, "simapp reads version as a number"),
    ({"action_space_type": "box"}, "simapp knows discrete and continuous"),
    ({"training_algorithm": "dqn"}, "simapp knows clipped_ppo and sac"),
    ({"action_space": []}, "a non-empty list of actions"),
    ({"sensor": ["LIDAR"]}, "simapp needs exactly one camera"),
    ({"lidar_config": {"num_sectors": 6}}, "must divide the lidar's 64 beams"),
])
def test_import_refuses_what_stops_simapp_with_its_reason(tmp_path, change, reason):
    folder = copy_corpus("bradmy609-custom-files", tmp_path / "f")
    meta = json.loads((folder / "model_metadata.json").read_text())
    meta.update(change)
    (folder / "model_metadata.json").write_text(json.dumps(meta))
    with pytest.raises(InvalidInput) as exc:
        import_folder(folder)
    assert reason in str(exc.value) and "model_metadata.json" in str(exc.value)


def test_what_drtui_must_adjust_is_a_note_kept_in_the_session(tmp_path):
    from drtui.session import store

    folder = copy_corpus("dots-default", tmp_path / "f")
    run_env = (folder / "run.env").read_text()
    assert "DR_TRAIN_MULTI_CONFIG=False" in run_env
    # multi-config with one worker: drtui derives the switch from its workers
    (folder / "run.env").write_text(run_env.replace("DR_TRAIN_MULTI_CONFIG=False",
                                                    "DR_TRAIN_MULTI_CONFIG=True"))
    session, notes = import_folder(folder)
    assert "run.env DR_TRAIN_MULTI_CONFIG: 'True' -> 'False'" in notes
    store.save(session, tmp_path / "s.toml")
    assert store.load(tmp_path / "s.toml").imported.notes == notes


def test_worker_file_prepare_config_cannot_read_is_refused(tmp_path):
    folder = copy_corpus("dots-multitrack", tmp_path / "f")
    with open(folder / "worker-2.env", "a") as fh:
        fh.write("\nDR_EXTRA=a=b\n")
    with pytest.raises(InvalidInput, match="worker-2.env line .*prepare-config reads KEY=VALUE"):
        import_folder(folder)


def test_cli_import_prints_the_notes(tmp_path, capsys):
    from drtui.cli import main

    code = main(["import", str(CORPUS / "ctspeedsters-4-workers"), "-o", str(tmp_path / "s.toml")])
    out = capsys.readouterr().out
    assert code == 0
    assert "note: warning: action_space: 62 discrete actions" in out
    assert "note: no reward_function.py" in out


def test_on_the_spot_keys_are_read_as_its_scripts_read_them(tmp_path):
    session, _ = import_folder(CORPUS / "dots-multitrack")
    spot = session.backend.drfc.on_the_spot
    assert (spot.regular_upload_minutes, spot.continue_on_spot_interruption,
            spot.import_model_on_completion) == (0, True, True)
    # its scripts test `[[ $DR_CONTINUE_ON_SPOT_INTERRUPTION == False ]]`: "false" is on
    folder = copy_corpus("dots-multitrack", tmp_path / "f")
    text = (folder / "run.env").read_text().replace("DR_CONTINUE_ON_SPOT_INTERRUPTION=True",
                                                    "DR_CONTINUE_ON_SPOT_INTERRUPTION=false")
    (folder / "run.env").write_text(text.replace("DR_REGULAR_UPLOAD=0", "DR_REGULAR_UPLOAD=60"))
    session, notes = import_folder(folder)
    spot = session.backend.drfc.on_the_spot
    assert spot.continue_on_spot_interruption is True and spot.regular_upload_minutes == 60
    assert "DR_CONTINUE_ON_SPOT_INTERRUPTION=false" in render.render(session)["run.env"]
    spot.continue_on_spot_interruption = False
    assert "DR_CONTINUE_ON_SPOT_INTERRUPTION=False" in render.render(session)["run.env"]
    # a session made in drtui has none of them
    from drtui.session.starter import starter

    assert "DR_REGULAR_UPLOAD" not in render.render(starter("x"))["run.env"]


def test_windows_line_ends_are_named(tmp_path):
    folder = copy_corpus("dots-default", tmp_path / "f")
    (folder / "run.env").write_bytes((folder / "run.env").read_bytes().replace(b"\n", b"\r\n"))
    session, notes = import_folder(folder)
    assert any(n.startswith("run.env has Windows line ends") for n in notes)
    assert session.track.world == "reInvent2019_track"
