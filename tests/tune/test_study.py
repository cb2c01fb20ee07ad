"""Real studies: every trial a real (tiny) training by `python -m drtui.train`.

A 2-trial study whose values are the trainer's own evaluation figures; resuming it adds a
trial and saves the best session; a pruned trial's trainer is stopped and gone; two worker
processes share one sqlite study; SIGTERM to a worker stops its trainer."""

from __future__ import annotations

import json
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("torch")

from tune_helpers import FAST, alive, fast_environ, write_tiny  # noqa: E402

from drtui.tune.objective import fastest_lap_s, score  # noqa: E402

ITERATIONS = 2


def storage_of(ws: Path, name: str = "tiny") -> str:
    return f"sqlite:///{(ws / 'tune' / f'{name}.db').resolve()}"


@pytest.fixture(scope="module")
def two_trials(tmp_path_factory):
    """A study of two trials, run through the library as the CLI runs it."""
    from drtui.session import store
    from drtui.tune import study as studies
    from drtui.tune.objective import Limits, Objective
    from drtui.tune.space import load_space

    ws = tmp_path_factory.mktemp("ws")
    session_path, space_path = write_tiny(ws)
    session = store.load(session_path)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FAST.items():
            mp.setenv(key, value)
        study = studies.open_study("tiny", studies.default_storage(ws, "tiny"), pruner="none")
        objective = Objective(session, load_space(space_path, session), ws, "tiny",
                              limits=Limits(iterations=ITERATIONS, minutes=5),
                              base_dir=session_path.parent)
        t0 = time.monotonic()
        studies.optimize(study, objective, 2)
        seconds = time.monotonic() - t0
    print(f"\n2 tiny trials in {seconds:.1f} s ({seconds / 2:.1f} s per trial)")
    return ws, session_path, space_path


def evaluation_figures(run: Path) -> dict[int, float]:
    """iteration -> score, recomputed from the trainer's own log and TrainingMetrics.json."""
    log = (run / "logs" / "trainer.log").read_text(encoding="utf-8")
    progress = [json.loads(f"[{m}]") for m in
                re.findall(r"^\[BestModelSelection\] Number of evaluations: \d+ Evaluation "
                           r"episode progress: \[(.*)\]$", log, re.M)]
    metrics = json.loads((run / "metrics" / "TrainingMetrics.json").read_text())["metrics"]
    fastest = fastest_lap_s("reinvent_base")
    out = {}
    for it, values in enumerate(progress, 1):
        laps = [m["elapsed_time_in_milliseconds"] / 1000 for m in metrics
                if m["phase"] == "evaluation" and m["iteration"] == it and
                m["episode_status"] == "Lap complete"]
        out[it] = statistics.fmean(values) + 100 * sum(min(1, fastest / t) for t in laps) / \
            len(values)
    return out


def test_the_score_is_progress_plus_a_lap_time_bonus():
    # two episodes: one lap at twice the fastest lap time, one stopped at half the lap
    assert score([100.0, 50.0], [20.0], 10.0) == pytest.approx(75.0 + 100 * 0.5 / 2)
    assert score([30.0, 10.0], [], 10.0) == pytest.approx(20.0)
    from drtui.catalog import tracks

    # the centre line at 4 m/s: the catalogue's length agrees with the waypoints
    length = tracks.get("reInvent2019_track").length_m
    assert fastest_lap_s("reInvent2019_track") == pytest.approx(length / 4.0, rel=0.05)


def test_trial_values_are_the_trainers_own_evaluation_figures(two_trials):
    ws, _, _ = two_trials
    study = optuna.load_study(study_name="tiny", storage=storage_of(ws))
    trials = sorted(study.trials, key=lambda t: t.number)[:2]
    assert [t.number for t in trials] == [0, 1]
    for t in trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        run = ws / t.user_attrs["run"]
        assert run.parent == ws / "tune" / "tiny" / "runs"
        figures = evaluation_figures(run)
        assert sorted(figures) == list(range(1, ITERATIONS + 1))
        assert t.intermediate_values == pytest.approx(figures)
        assert t.value == pytest.approx(figures[ITERATIONS])
        state = json.loads((run / "state.json").read_text())
        assert state["status"] == "finished" and state["iteration"] == ITERATIONS
        assert state["log_offset"] == (run / "logs" / "trainer.log").stat().st_size
        # the trainer's own record of its last evaluation (no lap: the bonus is 0)
        laps = [e["lap_times"] for e in t.user_attrs["evaluations"]]
        if not any(laps):
            assert t.value == pytest.approx(state["eval_progress"])
        # the run trained the sampled values, for the study's number of iterations
        from drtui.session import store

        trained = store.load(run / "session.toml").effective_hyperparameters()
        assert trained["lr"] == t.params["hyperparameters.lr"]
        assert trained["batch_size"] == t.params["hyperparameters.batch_size"]
        assert trained["term_cond_max_episodes"] == ITERATIONS
        events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
        assert [e["iteration"] for e in events if e["event"] == "IterationEnd"] == [1, 2]
        means = [e["mean_progress"] for e in events
                 if e["event"] == "EvaluationEnd" and e["mean_progress"] is not None]
        assert len(means) == ITERATIONS


def test_running_again_resumes_the_study_and_saves_the_best(two_trials, capsys, monkeypatch):
    from drtui.cli import main
    from drtui.session import store

    ws, session_path, space_path = two_trials
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    before = len(optuna.load_study(study_name="tiny", storage=storage_of(ws)).trials)
    best_path = ws / "best.toml"
    code = main(["--workspace", str(ws), "tune", str(session_path), "--trials", "1",
                 "--iterations", "1", "--space", str(space_path), "--pruner", "none",
                 "--save-best", str(best_path), "--json"])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert out[0]["event"] == "study" and out[0]["existing_trials"] == before
    assert [o["number"] for o in out if o["event"] == "trial"] == [before]
    study = optuna.load_study(study_name="tiny", storage=storage_of(ws))
    assert sorted(t.number for t in study.trials) == list(range(before + 1))
    best = study.best_trial
    assert out[-1]["event"] == "best" and out[-1]["trial"]["number"] == best.number
    saved = store.load(best_path)  # validates
    hp = saved.effective_hyperparameters()
    from drtui.tune.study import rounded_value

    # rounded as a person writes them: the step's multiple, else three significant digits
    lr = best.params["hyperparameters.lr"]
    assert hp["lr"] == rounded_value(lr, best.distributions["hyperparameters.lr"])
    assert hp["lr"] == pytest.approx(lr, rel=5e-3) and hp["lr"] == float(f"{hp['lr']:.3g}")
    assert saved.reward.params["marker_1"] == rounded_value(
        best.params["reward.params.marker_1"], best.distributions["reward.params.marker_1"])
    assert saved.model.name == "tiny"  # named after the study, not the trial's run copy
    assert hp["term_cond_max_episodes"] == store.load(session_path).effective_hyperparameters()[
        "term_cond_max_episodes"]
    assert f"trial {best.number}" in saved.model.description
    # refusing to overwrite the session being tuned
    code = main(["--workspace", str(ws), "tune", str(session_path), "--trials", "1",
                 "--iterations", "1", "--space", str(space_path),
                 "--save-best", str(session_path)])
    assert code == 2
    assert "is the session being tuned" in capsys.readouterr().err


def test_a_pruned_trials_trainer_is_stopped_and_gone(tmp_path, fast_env):
    from drtui.session import store
    from drtui.tune import study as studies
    from drtui.tune.objective import Limits, Objective
    from drtui.tune.space import load_space

    session_path, space_path = write_tiny(tmp_path)
    session = store.load(session_path)
    pruner = optuna.pruners.ThresholdPruner(lower=1e9)  # every report is below: prune at once
    study = studies.open_study("p", studies.default_storage(tmp_path, "p"), pruner=pruner)
    # many iterations: the trainer is surely still training when the pruner decides
    objective = Objective(session, load_space(space_path, session), tmp_path, "p",
                          limits=Limits(iterations=200, minutes=5))
    studies.optimize(study, objective, 1)
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [1]
    run = tmp_path / trial.user_attrs["run"]
    state = json.loads((run / "state.json").read_text())
    assert state["status"] == "stopped" and state["tune"] == "pruned"
    assert not alive(state["pid"])
    assert "Training ended (stop requested)" in (run / "logs" / "trainer.log").read_text()


def worker(ws: Path, session_path: Path, space_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "drtui.tune", str(session_path), "--workspace", str(ws),
         "--space", str(space_path), "--pruner", "none", "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env=fast_environ(), text=True)


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"worker timed out:\n{out[-2000:]}\n{err[-2000:]}") from None


def test_two_workers_share_one_sqlite_study(tmp_path):
    session_path, space_path = write_tiny(tmp_path)
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    args = ("--trials", "2", "--iterations", "1", "--study", "shared", "--storage", storage)
    procs = [worker(tmp_path, session_path, space_path, *args) for _ in range(2)]
    outputs = [finish(p) for p in procs]
    numbers = []
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-3000:]
        assert "Traceback" not in err
        lines = [json.loads(line) for line in out.splitlines()]
        mine = [o for o in lines if o["event"] == "trial"]
        assert len(mine) == 2 and all(o["state"] == "COMPLETE" for o in mine)
        numbers += [o["number"] for o in mine]
    assert sorted(numbers) == [0, 1, 2, 3]  # no duplicate, no gap
    study = optuna.load_study(study_name="shared", storage=storage)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    runs = {t.user_attrs["run"] for t in study.trials}
    assert len(runs) == 4 and all((tmp_path / r / "state.json").is_file() for r in runs)


def test_sigterm_stops_the_workers_trainer_and_fails_its_trial(tmp_path):
    session_path, space_path = write_tiny(tmp_path)
    proc = worker(tmp_path, session_path, space_path, "--trials", "3", "--iterations", "500")
    runs = tmp_path / "tune" / "tiny" / "runs"
    pid = None
    try:
        # wait until the trial's trainer is in its training loop (a Training> line logged)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            states = list(runs.glob("*/state.json"))
            if states:
                pid = json.loads(states[0].read_text()).get("pid")
                log = states[0].parent / "logs" / "trainer.log"
                if pid and log.is_file() and "Training>" in log.read_text():
                    break
            time.sleep(0.2)
        assert proc.poll() is None, finish(proc)
        assert pid and alive(pid), "the trainer did not start in time"
        proc.send_signal(signal.SIGTERM)
        out, err = finish(proc, timeout=240)
        assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
        assert "Traceback" not in err
        assert not alive(pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if pid and alive(pid):
            import os

            os.kill(pid, signal.SIGKILL)
    (run,) = [p.parent for p in runs.glob("*/state.json")]  # the study went no further
    state = json.loads((run / "state.json").read_text())
    assert state["status"] == "stopped" and state["tune"] == "interrupted"
    assert "Training ended (stop requested)" in (run / "logs" / "trainer.log").read_text()
    study = optuna.load_study(study_name="tiny", storage=storage_of(tmp_path))
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.FAIL and trial.user_attrs["interrupted"]
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(o["number"], o["state"]) for o in lines if o["event"] == "trial"] == [(0, "FAIL")]


def test_a_trial_without_an_evaluation_in_its_minutes_fails_and_leaves_no_trainer(tmp_path,
                                                                                  fast_env):
    from drtui.session import store
    from drtui.tune import study as studies
    from drtui.tune.objective import Limits, Objective
    from drtui.tune.space import load_space

    session_path, space_path = write_tiny(tmp_path)
    session = store.load(session_path)
    study = studies.open_study("m", studies.default_storage(tmp_path, "m"), pruner="none")
    # 0.06 s: far less than the trainer needs to start, so it surely has not evaluated
    objective = Objective(session, load_space(space_path, session), tmp_path, "m",
                          limits=Limits(iterations=5, minutes=0.001))
    studies.optimize(study, objective, 1)
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.user_attrs["error"] == "trial 0: no evaluation within --minutes 0.001"
    state = json.loads((tmp_path / trial.user_attrs["run"] / "state.json").read_text())
    assert state["status"] == "stopped" and not alive(state["pid"])


def test_pruners_and_study_names():
    from drtui.errors import InvalidInput
    from drtui.tune.study import check_name, make_pruner

    assert isinstance(make_pruner("median"), optuna.pruners.MedianPruner)
    assert isinstance(make_pruner("halving"), optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(make_pruner("none"), optuna.pruners.NopPruner)
    with pytest.raises(InvalidInput) as exc:
        check_name("../x")
    assert str(exc.value.problems[0]).startswith("--study: '../x': a study name is 1-64")


def test_rounded_value_follows_the_step_or_three_digits():
    from optuna.distributions import FloatDistribution, IntDistribution

    from drtui.tune.study import rounded_value

    assert rounded_value(0.000312345678, FloatDistribution(1e-5, 1e-3, log=True)) == 0.000312
    assert rounded_value(0.30000000000000004, FloatDistribution(0.1, 0.9, step=0.05)) == 0.3
    assert rounded_value(0.7249999, FloatDistribution(0.1, 0.9, step=0.05)) == 0.7
    assert rounded_value(64, IntDistribution(32, 512, step=32)) == 64
    assert rounded_value(2.5, None) == 2.5
