"""`drtui logs tensorboard PATH -o DIR`: per-iteration and per-episode scalars of any input
`drtui analyze` reads, as TensorBoard event files (drtui.runstore.tensorboard's writer)."""

from __future__ import annotations

import math
from pathlib import Path

from drtui.analysis.report import Report


def _finite(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def export(report: Report, out: Path) -> tuple[Path, int]:
    """Write the scalars; returns (events file, number of scalar values written)."""
    from drtui.runstore.tensorboard import ScalarWriter

    written = 0
    with ScalarWriter(out) as w:
        iters = report.iterations
        if len(iters):
            cols = [c for c in iters.columns if c != "iteration"]
            for row in iters.to_dict(orient="records"):
                values = {f"iteration/{c}": _finite(row[c]) for c in cols}
                w.add_scalars(int(row["iteration"]), values)
                written += sum(v is not None for v in values.values())
        eps = report.episodes
        for row in eps.to_dict(orient="records"):
            values = {f"episode/{c}": _finite(row[c]) for c in
                      ("reward", "progress", "time", "steps", "speed", "lap_time")}
            w.add_scalars(int(row["episode"]), values)
            written += sum(v is not None for v in values.values())
        if not len(eps) and report.loaded.metrics is not None:
            tr = report.loaded.metrics[report.loaded.metrics["phase"] == "training"]
            several = tr["worker"].nunique() > 1  # each worker counts its own episodes
            for row in tr.to_dict(orient="records"):
                tag = f"episode/worker{row['worker']}/" if several else "episode/"
                values = {tag + c: _finite(row[c]) for c in ("reward", "completion", "time")}
                w.add_scalars(int(row["episode"]), values)
                written += sum(v is not None for v in values.values())
        if report.rescored is not None:
            for row in report.rescored.to_dict(orient="records"):
                value = _finite(row["new_reward"])
                w.add_scalars(int(row["episode"]), {"episode/new_reward": value})
                written += value is not None
        return w.path, written
