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
