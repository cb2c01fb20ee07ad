"""The headless command line: real commands, real files, exit codes 0 / 2 / 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drtui.cli import main


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_new_generate_import_generate_gives_identical_files(tmp_path, capsys):
    session = tmp_path / "my-model.toml"
    assert run(["new", session], capsys)[0] == 0
    assert run(["validate", session], capsys)[0] == 0
    assert run(["generate", session, "-o", tmp_path / "first"], capsys)[0] == 0
    assert run(["import", tmp_path / "first", "-o", tmp_path / "back.toml"], capsys)[0] == 0
    assert run(["generate", tmp_path / "back.toml", "-o", tmp_path / "second"], capsys)[0] == 0
    first, second = tree(tmp_path / "first"), tree(tmp_path / "second")
    assert list(first) == ["custom_files/hyperparameters.json", "custom_files/model_metadata.json",
                           "custom_files/reward_function.py", "run.env", "system.env"]
    assert first == second


@pytest.mark.parametrize("scenario", ["centerline", "speed", "object_avoidance", "head_to_head",
                                      "time_trial"])
def test_every_starter_scenario_is_valid_and_generates(tmp_path, capsys, scenario):
    session = tmp_path / "s.toml"
    assert run(["new", session, "--scenario", scenario, "--name", "m1"], capsys)[0] == 0
    code, out, _ = run(["generate", session, "-o", tmp_path / "out", "--json"], capsys)
    assert code == 0 and len(json.loads(out)["written"]) == 5


def test_new_starter_defaults(tmp_path, capsys):
    from drtui.session import store

    run(["new", tmp_path / "s.toml"], capsys)
    s = store.load(tmp_path / "s.toml")
    assert (s.race.type, s.track.world, s.car.sensors, s.training.algorithm, s.reward.template,
            s.backend.runner) == ("TIME_TRIAL", "reInvent2019_track", ["FRONT_FACING_CAMERA"],
                                  "clipped_ppo", "centerline", "embedded")


def test_new_refuses_to_overwrite(tmp_path, capsys):
    (tmp_path / "s.toml").write_text("keep me")
    code, _, err = run(["new", tmp_path / "s.toml"], capsys)
    assert code == 2 and "--force" in err
    assert (tmp_path / "s.toml").read_text() == "keep me"


def test_validate_lists_every_problem_and_exits_2(tmp_path, capsys):
    run(["new", tmp_path / "s.toml"], capsys)
    text = (tmp_path / "s.toml").read_text()
    text = text.replace("lr = 0.0003", "lr = 0.5").replace('"FRONT_FACING_CAMERA",',
                                                          '"LIDAR", "SECTOR_LIDAR",')
    (tmp_path / "s.toml").write_text(text)
    code, out, err = run(["validate", tmp_path / "s.toml", "--json"], capsys)
    assert code == 2
    problems = {p["path"]: p["message"] for p in json.loads(out)["problems"]}
    assert problems["hyperparameters.lr"] == "must be within 1e-08 .. 0.001 (got 0.5)"
    assert "car.sensors" in problems
    code, _, err = run(["validate", tmp_path / "s.toml"], capsys)
    assert code == 2 and "hyperparameters.lr" in err and "Traceback" not in err


def test_generate_writes_nothing_for_an_invalid_session(tmp_path, capsys):
    run(["new", tmp_path / "s.toml"], capsys)
    text = (tmp_path / "s.toml").read_text().replace('name = "FastCar"', 'name = "Fast Car"')
    (tmp_path / "s.toml").write_text(text)
    code, _, err = run(["generate", tmp_path / "s.toml", "-o", tmp_path / "out"], capsys)
    assert code == 2 and "car.name" in err
    assert not (tmp_path / "out").exists()


def test_broken_toml_and_missing_file(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("[model\nname=")
    code, _, err = run(["validate", tmp_path / "bad.toml"], capsys)
    assert code == 2 and "not valid TOML" in err
    code, _, err = run(["validate", tmp_path / "nope.toml"], capsys)
    assert code == 2 and "no such session file" in err


@pytest.mark.parametrize("kind", ["tracks", "sensors", "networks", "algorithms", "rewards",
                                  "backends"])
def test_list(kind, capsys):
    code, out, _ = run(["list", kind, "--json"], capsys)
    rows = json.loads(out)
    assert code == 0 and rows
    code, text, _ = run(["list", kind], capsys)
    assert code == 0 and f"drtui {kind}" in text


def test_list_tracks_has_catalogue_facts(capsys):
    rows = {r["world"]: r for r in json.loads(run(["list", "tracks", "--json"], capsys)[1])}
    smile = rows["reInvent2019_track"]
    assert smile["name"] == "Smile Speedway" and smile["length m"] == "23.12"
    assert smile["width m"] == "1.07" and smile["waypoints"] == "yes"
    # the plain world real 2023 logs name, beside simapp 6's _cw/_ccw routes
    assert rows["2022_reinvent_champ"]["direction"] == "counterclockwise"
    assert rows["2022_reinvent_champ_cw"]["direction"] == "clockwise"
    assert len(rows) == 128 and all(r["waypoints"] == "yes" for r in rows.values())


@pytest.mark.parametrize("sensors,code", [("SECTOR_LIDAR,FRONT_FACING_CAMERA", 0),
                                          ("LIDAR,SECTOR_LIDAR", 2),
                                          ("STEREO_CAMERAS,FRONT_FACING_CAMERA", 2),
                                          ("SECTOR_LIDAR", 2)])
def test_sensors_check(sensors, code, capsys):
    got, out, _ = run(["sensors", "check", sensors, "--json"], capsys)
    assert got == code and json.loads(out)["valid"] is (code == 0)


def test_rewards_create(tmp_path, capsys):
    code, _, _ = run(["rewards", "create", "speed", "-o", tmp_path], capsys)
    assert code == 0
    source = (tmp_path / "reward_function.py").read_text()
    compile(source, "reward_function.py", "exec")
    code, _, err = run(["rewards", "create", "nope", "-o", tmp_path / "x"], capsys)
    assert code == 2 and "nope" in err


def test_import_refuses_missing_folder(tmp_path, capsys):
    code, _, err = run(["import", tmp_path / "missing", "-o", tmp_path / "s.toml"], capsys)
    assert code == 2 and "not a folder" in err


def _imports_of(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                         text=True, check=True, env={**os.environ, "NO_COLOR": "1"})
    return {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def test_help_path_imports_nothing_heavy():
    mods = _imports_of("import sys; from drtui.cli import build_parser; build_parser()")
    assert not mods & {"textual", "torch", "boto3", "asyncssh", "optuna", "pydantic", "rich",
                       "numpy", "pandas", "jinja2"}


def test_core_never_imports_textual():
    """The Textual-free core: importing every core module pulls in no textual (harlequin's rule)."""
    root = Path(__file__).parent.parent / "drtui"
    ui = {"app", "screens", "widgets", "serve", "tui"}
    core = sorted(
        ".".join(p.relative_to(root.parent).with_suffix("").parts)
        for p in root.rglob("*.py")
        if p.relative_to(root).parts[0].removesuffix(".py") not in ui and p.name != "__main__.py")
    code = ("import importlib, sys\n"
            f"for m in {core!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
    assert len(core) > 10


def test_drtui_help_runs_as_a_console_script():
    out = subprocess.run([sys.executable, "-m", "drtui", "--help"], capture_output=True,
                         text=True, check=True)
    assert "generate" in out.stdout and "import" in out.stdout


def test_list_tracks_in_a_pipe_prints_every_world_and_column_whole():
    from drtui.catalog import tracks

    out = subprocess.run([sys.executable, "-m", "drtui", "list", "tracks"], capture_output=True,
                         text=True, check=True, env={**os.environ, "COLUMNS": "80"}).stdout
    cells = {c.strip() for line in out.splitlines() for c in line.split("│")}
    assert set(tracks.catalogue()) <= cells
    assert all(t.name in cells for t in tracks.catalogue().values())


def test_tables_on_a_narrow_terminal_fold_instead_of_cutting():
    import io

    from rich.console import Console

    from drtui.terminal import table

    t = table("world", "name")
    t.add_row("2022_reinvent_champ_ccw", "2022 re:Invent Championship (counter-clockwise)")
    buffer = io.StringIO()
    Console(file=buffer, width=40).print(t)
    text = buffer.getvalue()
    assert "…" not in text
    joined = "".join(c.strip() for line in text.splitlines() for c in line.split("│")[1:2])
    assert "2022_reinvent_champ_ccw" in joined


def test_a_wide_table_on_80_columns_splits_into_parts_that_repeat_the_key_column():
    import io

    from rich.console import Console

    from drtui.catalog import tracks
    from drtui.cli import _rows
    from drtui.terminal import fitted

    header, rows = _rows("tracks", False)
    rows = [[str(v) for v in row] for row in rows]
    buffer = io.StringIO()
    Console(file=buffer, width=80).print(fitted(header, rows, title="drtui tracks",
                                                ids=("world",), width=80))
    text = buffer.getvalue()
    assert "…" not in text and all(len(line) <= 80 for line in text.splitlines())
    cells = [c.strip() for line in text.splitlines() for c in line.split("│")]
    for world, track in tracks.catalogue().items():  # whole in every part
        assert cells.count(world) >= 2 and track.name in cells
    assert {"length m", "width m", "direction", "waypoints"} <= {
        c.strip() for line in text.splitlines() for c in line.split("┃")}


def test_analyze_in_a_pipe_prints_every_column_whole():
    log = Path(__file__).parent / "data" / "logs" / "console-robomaker-evaluation-lap1-excerpt.log"
    out = subprocess.run([sys.executable, "-m", "drtui", "analyze", str(log)],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "COLUMNS": "80"}).stdout
    assert "…" not in out and "(continued)" not in out  # one table each, however wide
    episodes = out[out.index("Episodes (last 1)"):].splitlines()
    assert episodes[2].split() == ["ep", "iter", "w", "start", "steps", "progress", "time",
                                   "dist", "speed", "reward", "lap", "lap", "s", "status"]
    assert episodes[4].split()[-1] == "lap_complete"
