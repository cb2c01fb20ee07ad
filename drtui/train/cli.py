"""`drtui evaluate RUN` and `drtui export RUN -o DIR`: evaluation laps and ONNX export of a
run's checkpoint (drtui.train.evaluate / drtui.train.export). torch loads only when a command
runs, so registering them keeps `drtui --help` fast."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CHECKPOINTS = ("best", "last")


def register(command) -> None:
    sp = command("evaluate", cmd_evaluate,
                 "drive evaluation laps with a run's checkpoint: DeepRacer evaluation metrics "
                 "JSON and a lap picture in the run's metrics/evaluation/")
    sp.add_argument("run", help="run id, id prefix or folder")
    sp.add_argument("--laps", type=int, default=None,
                    help="evaluation trials (default: the session's evaluation.number_of_trials)")
    sp.add_argument("--checkpoint", choices=CHECKPOINTS, default="best",
                    help="best (highest evaluation so far, the default) or last")
    sp.add_argument("--json", action="store_true", help="print the result as JSON")

    sp = command("export", cmd_export,
                 "export a run's policy as ONNX with its model_metadata.json, checked against "
                 "torch")
    sp.add_argument("run", help="run id, id prefix or folder")
    sp.add_argument("-o", "--output", required=True, help="output folder")
    sp.add_argument("--checkpoint", choices=CHECKPOINTS, default="best",
                    help="best (the default) or last")
    sp.add_argument("--json", action="store_true", help="print the result as JSON")


def _run_with_checkpoint(args: argparse.Namespace):
    """The run named on the command line, refusing (exit 2) when it has no such checkpoint."""
    from drtui.errors import InvalidInput
    from drtui.runstore import store
    from drtui.session.validate import Problem

    run = store.find(Path(getattr(args, "workspace", None) or "."), args.run)
    folder = run.path / "checkpoints"
    if not (folder / f"{args.checkpoint}.pt").is_file():
        if args.checkpoint == "best" and (folder / "last.pt").is_file():
            why = ("no best checkpoint yet: one is kept after the first in-training "
                   "evaluation; --checkpoint last uses the latest")
        else:
            why = (f"no checkpoint yet in {run.id} (status {run.status}): train it first "
                   f"(`drtui run --resume {run.id}`)")
        raise InvalidInput([Problem("--checkpoint", why)])
    return run


def cmd_evaluate(args: argparse.Namespace) -> int:
    from drtui.errors import InvalidInput
    from drtui.session.validate import Problem

    if args.laps is not None and args.laps < 1:
        raise InvalidInput([Problem("--laps", f"must be at least 1 (got {args.laps})")])
    run = _run_with_checkpoint(args)
    from drtui.train.evaluate import evaluate

    result = evaluate(run.path, laps=args.laps, checkpoint=args.checkpoint)
    trials = [{"trial": t.trial, "status": t.status, "progress": round(t.progress, 2),
               "time_s": round(t.elapsed_s, 3), "resets": t.resets,
               "off_track": t.counts["off_track"], "crashed": t.counts["crashed"]}
              for t in result.trials]
    data = {"run": run.id, "checkpoint": result.checkpoint, "laps": len(trials),
            "laps_completed": result.laps_completed,
            "mean_progress": round(result.mean_progress, 2),
            "best_lap_s": None if result.best_lap_s is None else round(result.best_lap_s, 3),
            "metrics": str(result.metrics_path),
            "picture": None if result.picture_path is None else str(result.picture_path),
            "trials": trials}
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("trial", "status", "progress", "time", "resets",
                  title=f"evaluation of {run.id} ({result.checkpoint}, {args.checkpoint})",
                  title_justify="left")
    for t in trials:
        mark = "✓" if t["status"] == "lap_complete" else "✗"
        table.add_row(str(t["trial"]), f"{mark} {t['status']}", f"{t['progress']:.1f}%",
                      f"{t['time_s']:.3f} s", str(t["resets"]))
    con = Console(highlight=False, soft_wrap=True)
    con.print(table)
    best = "—" if data["best_lap_s"] is None else f"{data['best_lap_s']:.3f} s"
    con.print(f"laps completed [bold]{data['laps_completed']}/{data['laps']}[/], mean progress "
              f"[bold]{data['mean_progress']:.1f}%[/], best lap [bold]{best}[/]")
    con.print(f"metrics  {data['metrics']}")
    if data["picture"]:
        con.print(f"picture  {data['picture']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from drtui.errors import DrtuiError

    run = _run_with_checkpoint(args)
    from drtui.train.export import export

    try:
        result = export(run.path, Path(args.output), checkpoint=args.checkpoint)
    except ValueError as exc:  # the ONNX file does not reproduce torch: not a usable export
        raise DrtuiError(f"export of {run.id} failed its check: {exc}") from exc
    data = {"run": run.id, "checkpoint": result.checkpoint, "onnx": str(result.onnx_path),
            "metadata": str(result.metadata_path),
            "info": str(Path(args.output) / "export.json"),
            "verified_with": result.verified_with, "max_abs_diff": result.max_abs_diff}
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    from rich.console import Console

    con = Console(highlight=False, soft_wrap=True)
    con.print(f"exported [bold]{run.id}[/] ({result.checkpoint}, {args.checkpoint})")
    con.print(f"  {data['onnx']}\n  {data['metadata']}\n  {data['info']}")
    if result.max_abs_diff is None:
        con.print(f"[yellow]! not run[/]: {result.verified_with}")
    else:
        con.print(f"✓ checked with {result.verified_with}: max abs diff vs torch "
                  f"[bold]{result.max_abs_diff:.2e}[/]")
    return 0
