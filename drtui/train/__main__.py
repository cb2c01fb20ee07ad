"""`python -m drtui.train RUN_DIR [--resume] [--trace-all]`: the embedded trainer process
(drtui.train.trainer) under its supervisor (drtui.train.supervise), which holds the run's
trainer lock and enforces the time limit from outside. The embedded runner starts it detached
with stdout and stderr appended to RUN_DIR/logs/trainer.log, and stops it with SIGINT."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drtui.train",
                                     description="Train a drtui run on the embedded simulator.")
    parser.add_argument("run_dir", help="the run folder (session.toml, files/, ...)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the run's last checkpoint")
    parser.add_argument("--trace-all", action="store_true",
                        help="print SIM_TRACE_LOG lines for every car, not only car 0")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.worker:
        from drtui.train.supervise import supervise

        return supervise(args.run_dir, resume=args.resume, trace_all=args.trace_all)
    from drtui.train.trainer import main as train

    return train(args.run_dir, resume=args.resume, trace_all=args.trace_all, worker=True)


if __name__ == "__main__":
    sys.exit(main())
