"""Command-line values shared by drtui's subcommands (standard library only)."""

from __future__ import annotations


def parse_scalar(raw: str) -> object:
    """A KEY=VALUE value as the user means it: true/false, a whole number, a number, else text."""
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(raw)
        except ValueError:
            pass
    return raw
