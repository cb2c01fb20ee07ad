"""`drtui analyze PATH` and `drtui logs tensorboard PATH -o DIR`. Registered through
drtui.cli.EXTENSIONS; nothing heavy is imported until a command runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _positive(name: str):
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {raw!r}") \
                from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        return value
    return parse


def register(command) -> None:
    sp = command("analyze", cmd_analyze,
                 "analyse a DeepRacer run: simtrace CSV, robomaker/simulation log, "
                 "TrainingMetrics JSON, DRfC model folder, console or DeepRacer on AWS log "
                 "archive, or a drtui run folder")
    sp.add_argument("path", nargs="+", help="file, folder or .tar.gz archive; several: the "
                    "runs compared side by side")
    sp.add_argument("--world", help="track: a world name (drtui list tracks) or a route .npy; "
                    "default: from the log, or guessed from the logged track length")
    sp.add_argument("--reward", metavar="FILE",
                    help="re-score every step with this reward_function.py")
    sp.add_argument("--episodes", type=_positive("--episodes"), default=20, metavar="N",
                    help="episodes shown (the last N; default 20; --json gives all)")
    sp.add_argument("--sections", type=_positive("--sections"), default=10, metavar="N",
                    help="track sections for the action histogram (default 10)")
    sp.add_argument("--only", choices=("complete", "fast", "q1", "q2", "q3", "q4"),
                    help="episodes kept: complete laps, fast laps (within 5%% of the fastest), "
                    "or a quarter of training (q1 the first)")
    sp.add_argument("--section", metavar="A-B",
                    help="only the steps between waypoints A and B (and the episodes there)")
    sp.add_argument("--heatmap", action="append", default=[], metavar="MEASURE",
                    choices=("visits", "speed", "reward", "future", "new_reward", "steering",
                             "slide"),
                    help="also a heatmap of MEASURE with --plots: visits, speed, reward, future "
                    "(discounted reward to come), new_reward (--reward), steering, slide "
                    "(heading against travel); repeatable")
    sp.add_argument("--discount", type=float, default=0.999,
                    help="discount factor of the future-reward heatmap (default 0.999)")
    sp.add_argument("--json", action="store_true", help="the tables as JSON")
    sp.add_argument("--plots", metavar="DIR", help="write PNG plots into DIR")

    logs = command("logs", lambda a: (logs.print_help(), 2)[1], "log tools")
    lsub = logs.add_subparsers(dest="logs_command", metavar="COMMAND")
    tb = lsub.add_parser("tensorboard", help="per-iteration and per-episode scalars of any "
                         "input `drtui analyze` reads, as TensorBoard event files")
    tb.add_argument("path")
    tb.add_argument("-o", "--output", required=True, metavar="DIR", help="TensorBoard log dir")
    tb.add_argument("--world", help="track (as for analyze)")
    tb.add_argument("--reward", metavar="FILE", help="also export re-scored episode rewards")
    tb.add_argument("--json", action="store_true")
    tb.set_defaults(func=cmd_tensorboard)


def _report(args, path=None):
    from drtui.analysis.load import load
    from drtui.analysis.report import build

    loaded = load(path or args.path, world=args.world)
    return build(loaded, sections=getattr(args, "sections", 10), reward=args.reward,
                 only=getattr(args, "only", None), section=getattr(args, "section", None),
                 heatmaps=tuple(getattr(args, "heatmap", ())),
                 discount=getattr(args, "discount", 0.999))


def cmd_analyze(args: argparse.Namespace) -> int:
    if len(args.path) > 1:
        return _compare(args)
    args.path = args.path[0]
    from drtui.analysis.report import to_json

    report = _report(args)
    written = []
    if args.plots:
        from drtui.analysis.figures import write_all

        written = write_all(Path(args.plots), report)
    if args.json:
        data = to_json(report)
        if args.plots:
            data["plots"] = [str(p) for p in written]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    print_report(report, args.episodes)
    if written:
        from drtui.terminal import console

        con = console()
        for p in written:
            con.print(f"wrote {p}")
    return 0


def _compare(args) -> int:
    """Several runs: each one's report, and one table (and figure) of them side by side."""
    from drtui.analysis import views
    from drtui.analysis.report import to_json

    reports = [_report(args, p) for p in args.path]
    names = _short_names(args.path)
    table = views.compare(reports, names)
    written = []
    if args.plots:
        from drtui.analysis.figures import compare, save

        written = [save(compare(reports, names), Path(args.plots) / "compare.png")]
    if args.json:
        from drtui.analysis.tables import records

        data = {"comparison": records(table), "runs": [to_json(r) for r in reports]}
        if written:
            data["plots"] = [str(p) for p in written]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    from drtui.terminal import console

    con = console()
    con.print(table_of(table, f"{len(reports)} runs compared"))
    for p in written:
        con.print(f"wrote {p}")
    return 0


def _short_names(paths: list[str]) -> list[str]:
    """The runs' names: their file or folder names, made unique with their parents'."""
    names = [Path(p).name for p in paths]
    if len(set(names)) < len(names):
        names = [str(Path(p).parent.name + "/" + Path(p).name) for p in paths]
    return names


def cmd_tensorboard(args: argparse.Namespace) -> int:
    from drtui.analysis.tensorboard import export

    path, count = export(_report(args), Path(args.output))
    if args.json:
        sys.stdout.write(json.dumps({"events": str(path), "scalars": count}) + "\n")
    else:
        print(f"wrote {count} scalars to {path} (tensorboard --logdir {args.output})")
    return 0


# -- rich output -------------------------------------------------------------------------------

def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:
            return ""
        if v != 0 and abs(v) < 0.01:
            return f"{v:.1e}"
        # three significant places or so: the tables must fit an 80-column terminal
        return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


HEADERS = {  # short headers so the tables fit 80 columns
    "iteration": "iter", "episodes": "eps", "reward_mean": "reward", "reward_std": "±",
    "progress_mean": "progress", "progress_std": "±", "time_mean": "time s", "time_std": "±",
    "completion_rate": "lap rate", "lap_time_mean": "lap s", "lap_time_min": "best",
    "lap_time_max": "worst", "episode": "ep", "worker": "w", "start_at": "start",
    "complete": "lap", "lap_time": "lap s", "train_reward": "reward",
    "train_completion": "progress", "train_time": "time s", "train_completed": "lap rate",
    "train_episodes": "eps", "eval_reward": "eval reward", "eval_completion": "eval prog",
    "eval_time": "eval s", "eval_completed": "eval lap rate", "eval_episodes": "eval eps",
    "policy_loss": "loss", "kl_divergence": "KL", "new_reward": "new reward",
    "best_episode": "best ep", "median": "median", "best": "best s", "cause": "cause",
    "best_lap": "best lap", "best_possible": "best possible",
}


ID_COLUMNS = ("iteration", "episode", "worker")  # repeated in each part of a split table


def table_of(df, title: str, columns: list[str] | None = None, width: int | None = None):
    """The frame as one table, or as several that each fit the terminal, each repeating the
    row's ids (iteration, episode, worker); every cell whole (drtui.terminal.fitted)."""
    from rich import box

    from drtui.terminal import fitted

    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    headers = [HEADERS.get(str(c), str(c)) for c in cols]
    rows = [[_cell(v.item() if hasattr(v, "item") else v) for v in row]
            for row in df[cols].itertuples(index=False)]
    ids = tuple(HEADERS.get(c, c) for c in ID_COLUMNS if c in cols)
    return fitted(headers, rows, title=title, ids=ids, width=width, title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)


def print_report(report, shown: int = 20) -> None:
    from rich.table import Table

    from drtui.terminal import console

    con = console()
    lo = report.loaded
    steps = len(report.steps) if report.steps is not None else 0  # what the filters kept
    episodes = len(report.episodes)
    if not episodes and lo.log_episodes is not None:
        episodes = int((lo.log_episodes["phase"] == "training").sum())
    elif not episodes and lo.metrics is not None:
        episodes = int((lo.metrics["phase"] == "training").sum())
    con.print(f"[bold]{lo.path}[/]: {lo.kind}"
              + (f", track {lo.world}" if lo.world else "") + f", {steps} steps, "
              f"{episodes} training episodes", soft_wrap=True)
    for note in lo.notes:
        con.print(f"  note: {note}", soft_wrap=True)
    if len(report.iterations):  # two tables: 17 columns do not fit 80 (or 120) columns
        it = report.iterations
        train = [c for c in it.columns if not str(c).startswith("eval_")]
        con.print(table_of(it, "Training progress per iteration", train))
        evals = [c for c in it.columns if str(c).startswith("eval_")]
        if evals and it[evals].notna().any().any():
            con.print(table_of(it, "Evaluation after each iteration", ["iteration", *evals]))
    if len(report.episodes):
        con.print(table_of(report.episodes.tail(shown),
                           f"Episodes (last {min(shown, len(report.episodes))})"))
    if len(report.laps):
        con.print(table_of(report.laps.head(shown), "Completed laps, fastest first"))
    if len(report.evaluation):
        con.print(table_of(report.evaluation, "Evaluation"))
    edges, counts = report.histogram
    if len(counts):
        from rich import box

        t = Table("lap time s", "laps", "", title="Lap-time distribution", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
        top = max(int(counts.max()), 1)
        for a, b, c in zip(edges[:-1], edges[1:], counts):
            t.add_row(f"{a:.2f}-{b:.2f}", str(int(c)), "█" * int(round(20 * c / top)))
        con.print(t)
    if len(report.actions):
        df = report.actions.copy()
        df.columns = [f"s{c}" for c in df.columns]
        con.print(table_of(df.reset_index(), "Actions per track section (step counts)"))
    if report.rescored is not None:
        con.print(table_of(report.rescored.tail(shown), "Re-scored with --reward"))
    if report.exits_table is not None and len(report.exits_table):
        df = report.exits_table.copy()
        df.columns = [f"s{c}" for c in df.columns]
        con.print(table_of(df.reset_index(), "Where episodes end: cause per track section"))
    if report.sectors is not None and len(report.sectors):
        con.print(table_of(report.sectors, f"Sector times of {len(report.sector_times)} "
                           f"complete laps; best possible lap {report.best_possible:.3f} s"))
    if report.starts is not None and len(report.starts):
        con.print(table_of(report.starts, "Progress per starting waypoint"))
