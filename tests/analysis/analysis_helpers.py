"""Paths of the real sample files the analysis tests read (tests/data)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parents[1] / "data"
SIMTRACE = DATA / "simtrace"
LOGS = DATA / "logs"
METRICS = DATA / "metrics"
DRFC_CSV = SIMTRACE / "drfc-training-0-iteration.csv"
DROA_CSV = SIMTRACE / "droa-training-0-iteration-first3episodes.csv"
DROA_LOG = LOGS / "droa-simapp6-simulation-training-start-excerpt.log"
CONSOLE_EVAL_LOG = LOGS / "console-robomaker-evaluation-lap1-excerpt.log"
SAGEMAKER_LOG = LOGS / "droa-simapp6-sagemaker-training-continuous-ppo.log"
TRAINING_METRICS = LOGS / "drfc-3workers-TrainingMetrics.json"
TRAINING_METRICS_1 = METRICS / "drfc-3workers-TrainingMetrics_1.json"
EVAL_METRICS = METRICS / "drfc-EvaluationMetrics-20220709200242.json"
EVALUATION = DATA / "evaluation"
DROA_ARCHIVE = DATA / "archives" / "droa-continuous-30wm3cccH9SOOML-logs.tar.gz"
