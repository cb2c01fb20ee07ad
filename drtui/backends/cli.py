"""Commands about cloud machines and money: `drtui cost SESSION` (the price before a launch)
and `drtui runs sweep` (forgotten machines). Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(command) -> None:
    sp = command("cost", cmd_cost, "what a session's backend costs: $/h and the total for "
                                   "its time limit (aws-ec2: spot market or list price)")
    sp.add_argument("session")
    sp.add_argument("--json", action="store_true")


def add_sweep(runs_subparsers) -> None:
    """`drtui runs sweep`, added to the existing `runs` group by drtui.cli."""
    sp = runs_subparsers.add_parser(
        "sweep", help="find cloud machines no active run owns (exit 1 while one runs)")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--terminate", action="store_true",
                    help="terminate them, with their security groups and key pairs")
    sp.add_argument("--provider", action="append", metavar="NAME",
                    help="sweep only this provider (repeatable; default: every one)")
    sp.set_defaults(func=cmd_sweep)


def _workspace(args) -> Path:
    return Path(getattr(args, "workspace", None) or ".")


def cmd_cost(args: argparse.Namespace) -> int:
    from drtui.backends.cost import estimate
    from drtui.session import store

    session = store.load(Path(args.session))
    provider = session.backend.provider
    minutes = session.training.time_limit_minutes
    per_hour, total, source = estimate(session)
    if args.json:
        sys.stdout.write(json.dumps({"provider": provider, "per_hour": per_hour,
                                     "total": total, "minutes": minutes,
                                     "source": source}) + "\n")
    else:
        print(f"{provider}: ${per_hour:.4f}/h, ${total:.2f} for the {minutes} min time limit "
              f"({source})")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    import asyncio

    from drtui.backends import sweep

    workspace = _workspace(args)
    result = asyncio.run(sweep.sweep(workspace, providers=args.provider))
    errors: dict[str, str] = {}
    if args.terminate and result.orphans:
        errors = asyncio.run(sweep.terminate(result.orphans, workspace))
    ended = {o.id for o in result.orphans} - set(errors) if args.terminate else set()
    still = [o for o in result.orphans if o.running and o.id not in ended]
    if args.json:
        sys.stdout.write(json.dumps({
            "orphans": [{**o.to_json(), "terminated": o.id in ended} for o in result.orphans],
            "skipped": result.skipped, "failed": result.failed,
            "terminate_errors": errors}, indent=2) + "\n")
    else:
        _print_sweep(result, ended, errors)
    # exit 1 means money is still being spent; a provider that could not be asked is a warning
    return 1 if still else 0


def _print_sweep(result, ended: set[str], errors: dict[str, str]) -> None:
    from rich.markup import escape

    from drtui.terminal import console
    from drtui.terminal import table as new_table

    con = console()
    if result.orphans:
        table = new_table("provider", "machine", "where", "state", "launched", "run", "$/h",
                      title="machines no active run owns")
        for o in result.orphans:
            state = "terminated" if o.id in ended else o.state
            table.add_row(o.provider, o.id, o.where, state, o.launched[:19], o.run_id or "-",
                          "?" if o.per_hour is None else f"{o.per_hour:.4f}")
        con.print(table)
    else:
        con.print("[green]no orphaned machines[/]")
    if ended:
        con.print(f"terminated {len(ended)} machine{'s' if len(ended) != 1 else ''}: "
                  f"{', '.join(sorted(ended))}")
    for name, why in result.skipped.items():
        con.print(f"[dim]{name}: not swept: {escape(why)}[/]")
    for name, why in result.failed.items():
        con.print(f"[red]{name}: sweep failed[/]: {escape(why)}")
    for machine, why in errors.items():
        con.print(f"[red]{machine}: not terminated[/]: {escape(why)}")
    if any(o.running and o.id not in ended for o in result.orphans):
        con.print("still billing: `drtui runs sweep --terminate` ends them")
