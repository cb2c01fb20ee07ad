"""Compression of a trained policy: int8 variants run, are smaller and match the float
policy within tolerance; pruning zeroes the asked fraction; the CLI reports it."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")

from drtui.cli import main  # noqa: E402
from drtui.train import compress as C  # noqa: E402


def test_variants_are_smaller_and_close_to_the_float_policy(trained_run):
    variants = {v.name: v for v in C.compress(trained_run.path, laps=1, sparsity=0.5)}
    base = variants["float32"]
    assert base.max_abs_diff == 0.0 and base.action_agreement == 1.0
    for name in ("dynamic-int8", "static-int8"):
        v = variants[name]
        assert v.size_bytes and v.size_bytes < base.size_bytes / 2, (name, v)
        assert v.max_abs_diff < 0.05, (name, v)  # softmax probabilities
        assert v.eval_progress is not None and 0.0 <= v.eval_progress <= 100.0
        assert math.isfinite(v.latency_ms) and v.latency_ms > 0
    pruned = variants["prune-50"]
    assert pruned.zlib_bytes < base.zlib_bytes * 0.8  # zeros compress
    report = json.loads((trained_run.path / "compress" / "report.json").read_text())
    assert [r["name"] for r in report] == list(variants)


def test_pruning_zeroes_the_asked_fraction(trained_run):
    from drtui.train.checkpoint import load_policy

    policy, _ = load_policy(trained_run.path)
    pruned = C.pruned(policy, 0.3)
    weights = [m.weight for m in pruned.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    zeros = sum(int((w == 0).sum()) for w in weights)
    total = sum(w.numel() for w in weights)
    assert zeros / total == pytest.approx(0.3, abs=0.01)
    original = [m.weight for m in policy.modules()
                if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert all(int((w == 0).sum()) == 0 for w in original)  # the original is untouched


def test_cli_json_and_bad_input(trained_run, capsys):
    workspace = trained_run.path.parent.parent
    assert main(["--workspace", str(workspace), "compress", trained_run.id, "--laps", "0",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {v["name"] for v in out} >= {"float32", "dynamic-int8", "static-int8", "prune-50"}
    assert main(["--workspace", str(workspace), "compress", trained_run.id,
                 "--sparsity", "1.5"]) == 2
    assert "--sparsity" in capsys.readouterr().err


def test_cli_table_in_a_pipe_is_whole_and_says_where_it_wrote(trained_run, capsys):
    workspace = trained_run.path.parent.parent
    assert main(["--workspace", str(workspace), "compress", trained_run.id, "--laps",
                 "0"]) == 0
    out = capsys.readouterr().out  # not a terminal: every column whole, nothing cut
    assert "…" not in out
    for name in ("float32", "dynamic-int8", "static-int8", "prune-50", "eval progress",
                 "same action", "note"):
        assert name in out, name
    wrote = next(line for line in out.splitlines() if line.startswith("wrote "))
    folder = trained_run.path / "compress"
    assert str(folder / "report.json") in wrote and str(folder / "float32.pt") in wrote
    assert all((folder / f"{n}.pt").is_file() for n in ("float32", "dynamic-int8"))
