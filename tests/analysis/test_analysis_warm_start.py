"""An evaluation before any training episode (drtui's warm start: a teacher distilled or
weights transferred, then evaluated) is named as such in the evaluation table, not
"iteration -1" (deepracer-utils' floor((episode - 1) / trials) of its episode 0)."""

from __future__ import annotations

import json
from pathlib import Path

from drtui.analysis import tables
from drtui.analysis.load import Loaded, metrics_frame

REAL = Path(__file__).parents[1] / "data" / "metrics" / "drfc-3workers-TrainingMetrics_1.json"


def _with_evaluations(doc: dict, episodes: list[int]) -> dict:
    doc = json.loads(json.dumps(doc))
    first = doc["metrics"][0]
    for k, episode in enumerate(episodes, 1):
        doc["metrics"].append({**first, "phase": "evaluation", "episode": episode, "trial": k,
                               "completion_percentage": 40 + k})
    return doc


def test_a_warm_start_evaluation_is_named_not_minus_one():
    real = json.loads(REAL.read_text())
    epi = max(m["trial"] for m in real["metrics"])  # episodes per iteration
    doc = _with_evaluations(real, [0, 0, epi])
    frame = metrics_frame([(0, doc)])
    assert sorted(frame[frame["phase"] == "evaluation"]["iteration"]) == [-1, -1, 0]
    loaded = Loaded(path=REAL, kind="metrics")
    loaded.metrics = frame
    table = tables.evaluation(loaded)
    assert list(table["iteration"]) == ["warm start", "warm start", 0]
    assert list(table["progress"]) == [41, 42, 43]


def test_without_a_warm_start_the_iterations_stay_numbers():
    real = json.loads(REAL.read_text())
    epi = max(m["trial"] for m in real["metrics"])
    doc = _with_evaluations(real, [epi, 2 * epi])
    loaded = Loaded(path=REAL, kind="metrics")
    loaded.metrics = metrics_frame([(0, doc)])
    assert list(tables.evaluation(loaded)["iteration"]) == [0, 1]
