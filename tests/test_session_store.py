"""Session files: TOML round trips, and a crash mid-save never leaves a broken file."""

from __future__ import annotations

import os

import pytest

from drtui.errors import InvalidInput
from drtui.session import store
from drtui.session.starter import starter


def test_save_load_round_trip(tmp_path):
    s = starter("round-trip", "object_avoidance")
    store.save(s, tmp_path / "s.toml")
    assert store.load(tmp_path / "s.toml") == s
    text = (tmp_path / "s.toml").read_text()
    assert text.startswith("# drtui session")
    assert "[backend.aws_ec2]" not in text  # settings of unused providers stay out


def test_inline_reward_code_is_readable_multiline_toml(tmp_path):
    s = starter("m")
    code = "def reward_function(params):\n    return 1.0\n"
    s = s.model_copy(update={"reward": s.reward.model_validate({"code": code})})
    store.save(s, tmp_path / "s.toml")
    assert '"""' in (tmp_path / "s.toml").read_text()
    assert store.load(tmp_path / "s.toml").reward.code == code


def test_crash_during_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "s.toml"
    store.save(starter("old-model"), path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.save(starter("new-model"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.toml"]  # no temp file left behind


def test_save_is_durable_before_rename(tmp_path, monkeypatch):
    """fsync runs on the data before the rename makes it visible."""
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace",
                        lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    store.save(starter("m"), tmp_path / "s.toml")
    assert calls[:2] == ["fsync", "replace"]


def test_load_reports_problems_with_paths(tmp_path):
    (tmp_path / "s.toml").write_text('schema_version = 1\n[model]\nname = "ok"\n'
                                     '[car]\nsensors = ["LIDAR"]\ncolour = "Red"\n')
    with pytest.raises(InvalidInput) as exc:
        store.load(tmp_path / "s.toml")
    paths = [p.path for p in exc.value.problems]
    assert paths == ["car.colour", "car.sensors"]


def test_minimal_session_file_takes_defaults(tmp_path):
    (tmp_path / "s.toml").write_text('[model]\nname = "tiny"\n')
    s = store.load(tmp_path / "s.toml")
    assert s.reward.template == "centerline" and s.training.algorithm == "clipped_ppo"


def _with_comments(path) -> str:
    """The saved file with a racer's notes: one under every table header, one on top and one
    at the end of a line."""
    lines = []
    for line in path.read_text().splitlines():
        lines.append(line)
        if line.startswith("["):
            lines.append(f"# note on {line}")
    lines.insert(2, "# my own notes about this model")
    text = "\n".join(lines).replace('world = "reInvent2019_track"',
                                    'world = "reInvent2019_track"  # the 2019 final') + "\n"
    path.write_text(text)
    return text


def test_a_hand_edited_session_keeps_its_comments_and_order_when_saved(tmp_path):
    path = tmp_path / "s.toml"
    store.save(starter("notes"), path)
    before = _with_comments(path)
    s = store.load(path)
    s.hyperparameters.lr = 0.0007
    s.hyperparameters.batch_size = 128
    code = 'def reward_function(params):\n    return 1.0  # """ and \\ kept\n'
    s = s.model_copy(update={"reward": s.reward.model_validate({"code": code})})
    store.save(s, path)
    after = path.read_text()
    notes = [ln for ln in before.splitlines() if "#" in ln and "note" in ln or "2019 final" in ln]
    assert len(notes) > 10 and all(ln in after.splitlines() for ln in notes)
    assert store.load(path) == s  # every value as saved, the code's quotes included
    # only what changed was rewritten: the other lines are where they were
    headers = [ln for ln in before.splitlines() if ln.startswith("[")]
    assert [ln for ln in after.splitlines() if ln.startswith("[")] == headers


def test_a_file_that_is_not_toml_is_written_afresh(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("this is [not toml\n")
    s = starter("fresh")
    store.save(s, path)
    assert path.read_text().startswith("# drtui session") and store.load(path) == s
