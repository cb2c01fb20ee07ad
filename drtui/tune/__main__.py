"""`python -m drtui.tune SESSION [options]`: `drtui tune` as a worker process. Start several
with one --storage (and --study) and they add trials to the same study."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from drtui.cli import main as drtui_main

    return drtui_main(["tune", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
