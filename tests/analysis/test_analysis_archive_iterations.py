"""Every iteration of a log archive is kept or named: the real DeepRacer on AWS archive of
deepracer-utils (continuous actions, 15 iterations of simtraces, a simulation log and the
SageMaker training log, whose iteration 15 has 2 episodes and no simtrace)."""

from __future__ import annotations

import re
import tarfile

import numpy as np
import pytest
from analysis_helpers import DROA_ARCHIVE, SAGEMAKER_LOG

from drtui.analysis import tables
from drtui.analysis.load import load

dr = pytest.importorskip("deepracer.logs")


@pytest.fixture(scope="module")
def archive_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("droa-cont")
    with tarfile.open(DROA_ARCHIVE) as tar:
        tar.extractall(root, filter="data")
    return root / "30wm3cccH9SOOML"


def test_archive_matches_deepracer_utils_and_names_the_untraced_iteration():
    log = dr.DeepRacerLog(filehandler=dr.TarFileHandler(str(DROA_ARCHIVE)))
    log.load_training_trace(ignore_metadata=True)
    expected = dr.AnalysisUtils.simulation_agg(log.dataframe().copy(),
                                               secondgroup="unique_episode")
    loaded = load(DROA_ARCHIVE)
    mine = tables.episodes(loaded.steps)
    assert mine["episode"].tolist() == expected["unique_episode"].tolist()
    for col in ("time", "progress", "reward", "steps"):
        np.testing.assert_allclose(mine[col].to_numpy(float), expected[col].to_numpy(float),
                                   rtol=1e-12, err_msg=col)
    # the training log's iteration 15 (episodes 301-302) is in no simtrace: said so
    note = [n for n in loaded.notes if "iteration(s) 15 (2 episodes)" in n]
    assert note and "-training.log" in note[0]


def test_policy_loss_and_entropy_per_iteration_from_the_training_log():
    it = tables.iterations(load(DROA_ARCHIVE))
    assert it["iteration"].tolist() == list(range(15))
    assert it["policy_loss"].notna().all() and it["entropy"].notna().all()
    text = SAGEMAKER_LOG.read_text()  # the archive's training log, also in tests/data/logs
    first = text[:text.index("1_Step-")]
    losses = [float(v) for v in re.findall(r"Surrogate loss=([^,]+)", first)]
    assert len(losses) == 3 and it.loc[0, "policy_loss"] == pytest.approx(np.mean(losses))


def test_an_iteration_missing_from_the_csvs_is_read_from_the_simulation_log(archive_folder):
    """Iteration 7's CSV gone (an upload that failed): its episodes come from the simulation
    log, equal to what its CSV gave, and a note says so."""
    full = tables.episodes(load(archive_folder).steps)
    csv = next(archive_folder.glob("sim-trace/training/*/training-simtrace/7-iteration.csv"))
    csv.unlink()
    loaded = load(archive_folder)
    mine = tables.episodes(loaded.steps)
    assert mine["episode"].tolist() == full["episode"].tolist()
    sel = full["iteration"] == 7
    assert sel.sum() == 20
    # the log prints 4 decimals where the CSV has 16: the same episodes, to the log's precision
    for col, tol in (("steps", 0), ("progress", 1e-3), ("time", 1e-3), ("reward", 1e-2)):
        np.testing.assert_allclose(mine.loc[sel, col].to_numpy(float),
                                   full.loc[sel, col].to_numpy(float), atol=tol, err_msg=col)
    assert any("iteration(s) 7 are in this log but in no simtrace CSV" in n
               for n in loaded.notes), loaded.notes


def test_cloned_models_checkpoint_numbers_do_not_split_iterations(tmp_path):
    """A cloned model's checkpoints go on from its parent's (here +1345: the real log with its
    checkpoint numbers moved as a clone of a 1345-checkpoint model would write them): the
    iterations stay the log's own `Training iteration=K`, one row each."""
    text = re.sub(r"agent/(\d+)_Step-", lambda m: f"agent/{int(m.group(1)) + 1345}_Step-",
                  SAGEMAKER_LOG.read_text())
    cloned = tmp_path / "cloned-training.log"
    cloned.write_text(text)
    for path in (SAGEMAKER_LOG, cloned):
        loaded = load(path)
        tr = loaded.log_episodes[loaded.log_episodes["phase"] == "training"]
        assert sorted(tr["iteration"].unique()) == list(range(16))
        assert [e.iteration for e in loaded.iteration_events] == list(range(15))
        it = tables.iterations(loaded)
        assert it["iteration"].tolist() == list(range(16))
        assert it["episodes"].iloc[:15].tolist() == [20] * 15
