"""`drtui tune SESSION`: an Optuna study over the session, each trial a short real training on
the embedded trainer. Also `python -m drtui.tune ...`, the same command as a worker process:
start several on one `--storage` and they share the study.

SIGINT/SIGTERM stop the running trial's trainer (it checkpoints and exits), mark the trial
failed and end with exit status 130/143 after printing the trials so far.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from drtui.problem import Problem

HELP = "tune hyperparameters with Optuna: each trial a short real training, resumable"


def add_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("session", help="session file to tune")
    sp.add_argument("--trials", type=int, default=10,
                    help="trials this process runs (default 10); run again to add more")
    sp.add_argument("--storage", metavar="URL",
                    help="Optuna RDB URL shared by workers, e.g. sqlite:///tune.db or "
                         "postgresql://user@host/db (default: tune/<study>.db in the workspace)")
    sp.add_argument("--study", metavar="NAME", help="study name (default: the model name)")
    sp.add_argument("--iterations", type=int, default=5, metavar="K",
                    help="policy updates per trial (default 5)")
    sp.add_argument("--minutes", type=float, default=10.0, metavar="M",
                    help="wall-clock cap per trial, start-up included (default 10)")
    sp.add_argument("--space", metavar="FILE",
                    help="TOML space file (default: the algorithm's main hyperparameters, the "
                         "top speed and the reward template's parameters)")
    sp.add_argument("--pruner", choices=("median", "halving", "none"), default="median",
                    help="stop unpromising trials after an iteration (default median)")
    sp.add_argument("--save-best", metavar="PATH",
                    help="write the best trial's session to this new session file")
    sp.add_argument("--json", action="store_true", help="print trials as JSON lines")
    # SUPPRESS: without it the subcommand's default would wipe `drtui --workspace X tune`
    sp.add_argument("--workspace", default=argparse.SUPPRESS,
                    help="folder for tune/ (default: the current folder)")


def register(command) -> None:
    add_arguments(command("tune", cmd_tune, HELP))


def _check_numbers(args) -> None:
    from drtui.errors import InvalidInput

    problems = []
    if not 1 <= args.trials <= 100_000:
        problems.append(Problem("--trials", f"must be 1 .. 100000 (got {args.trials})"))
    if not 1 <= args.iterations <= 10_000:
        problems.append(Problem("--iterations", f"must be 1 .. 10000 (got {args.iterations})"))
    if not 0 < args.minutes <= 7 * 24 * 60:
        problems.append(Problem("--minutes", f"must be above 0 and at most a week "
                                             f"(got {args.minutes:g})"))
    if problems:
        raise InvalidInput(problems)


class _Printer:
    """A line per finished trial as it finishes; the table and the best at the end."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        if not as_json:
            from drtui.terminal import console

            self.con = console()

    def json(self, obj: dict) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def header(self, study, storage: str, space, limits, trials: int) -> None:
        from drtui.tune.study import _redact

        done = len(study.get_trials(deepcopy=False))
        if self.as_json:
            self.json({"event": "study", "study": study.study_name, "storage": _redact(storage),
                       "existing_trials": done, "trials": trials, "space": space.keys(),
                       "iterations": limits.iterations, "minutes": limits.minutes})
            return
        self.con.print(f"study [bold]{study.study_name}[/] ({_redact(storage)}): {done} trials "
                       f"so far; {trials} more, each up to {limits.iterations} iterations or "
                       f"{limits.minutes:g} min")
        self.con.print("tuning (" + space.source + "): " +
                       ", ".join(f"{d.key.rsplit('.', 1)[-1]} {d.describe()}" for d in space.dims))

    def trial(self, t) -> None:
        from drtui.tune.study import params_text, trial_row, value_text

        row = trial_row(t)
        row["error"] = t.user_attrs.get("error")
        if self.as_json:
            self.json({"event": "trial", **row})
            return
        colour = {"COMPLETE": "green", "PRUNED": "yellow", "FAIL": "red"}.get(row["state"], "")
        seconds = f" ({row['seconds']:.0f} s)" if row["seconds"] is not None else ""
        line = (f"trial {row['number']:>3}  [{colour}]{row['state']:<8}[/]  "
                f"{value_text(row['value']):>7}  {params_text(row['params'])}{seconds}")
        if row["error"]:
            line += f"\n    {row['error']}"
        self.con.print(line)

    def summary(self, study, saved: Path | None) -> None:
        from drtui.tune.study import params_text, trial_rows, value_text

        rows = trial_rows(study)
        complete = [r for r in rows if r["state"] == "COMPLETE"]
        best = max(complete, key=lambda r: r["value"]) if complete else None
        if self.as_json:
            self.json({"event": "best", "trial": best, "saved": str(saved) if saved else None})
            return
        from rich.table import Table

        table = Table(title=f"study {study.study_name}: {len(rows)} trials")
        for col in ("trial", "state", "value", "params", "iterations", "seconds"):
            table.add_column(col, overflow="fold",
                             justify="right" if col in ("trial", "value", "seconds",
                                                        "iterations") else "left")
        for r in rows:
            mark = " ★" if best is not None and r["number"] == best["number"] else ""
            table.add_row(f"{r['number']}{mark}", r["state"], value_text(r["value"]),
                          params_text(r["params"]), str(r["iterations"]),
                          "-" if r["seconds"] is None else f"{r['seconds']:.0f}")
        self.con.print(table)
        if best is None:
            self.con.print("no completed trial yet")
        else:
            self.con.print(f"best: trial {best['number']}, score {best['value']:.2f}: "
                           f"{params_text(best['params'])}")
        if saved is not None:
            self.con.print(f"wrote the best session to [bold]{saved}[/]")


def _install_stop(stop: threading.Event, received: list[int]):
    """SIGINT/SIGTERM set `stop`; the previous handlers, to restore."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, _frame):
        received.append(signum)
        stop.set()

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def cmd_tune(args: argparse.Namespace) -> int:
    from drtui.session import check
    from drtui.tune import study as studies
    from drtui.tune.objective import Interrupted, Limits, Objective
    from drtui.tune.space import default_space, load_space

    _check_numbers(args)
    workspace = Path(getattr(args, "workspace", None) or ".")
    session_path = Path(args.session)
    session, _ = check.load(session_path)  # the one check: what `validate` says
    space = load_space(args.space, session) if args.space else default_space(session)
    name = studies.check_name(args.study or session.model.name)
    storage = args.storage or studies.default_storage(workspace, name)
    limits = Limits(args.iterations, args.minutes)
    if args.save_best and Path(args.save_best).resolve() == session_path.resolve():
        from drtui.errors import InvalidInput

        raise InvalidInput([Problem("--save-best", f"{args.save_best} is the session being "
                                                   "tuned: save the best as a new file")])
    printer = _Printer(args.json)

    stop, received = threading.Event(), []
    # before the study: a session the trainer cannot train is refused without creating one
    objective = Objective(session, space, workspace, name, limits=limits,
                          base_dir=session_path.parent, stop=stop)
    previous = _install_stop(stop, received)
    try:
        study = studies.open_study(name, storage, pruner=args.pruner)
        printer.header(study, storage, space, limits, args.trials)
        try:
            studies.optimize(study, objective, args.trials, on_trial=printer.trial)
        except Interrupted:
            stopped = [t for t in study.get_trials(deepcopy=False)
                       if t.number == objective.current]
            if stopped:
                printer.trial(stopped[-1])
    finally:
        if previous:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    saved = None
    if args.save_best:
        try:
            _, saved = studies.save_best(study, Path(args.save_best), base_session=session_path)
        except studies.NoBestTrial as exc:
            printer.summary(study, None)
            raise exc
    printer.summary(study, saved)
    if received:
        return 128 + received[0]
    return 0
