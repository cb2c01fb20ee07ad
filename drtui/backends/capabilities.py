"""What a provider can do beyond acquiring and releasing a host (backends/base.py Provider),
as protocols: launch, `drtui cost`, the studio and the orphan sweep check a provider with
`issubclass(cls, Sweeps)` (or isinstance) rather than probing for attributes. A provider has a
capability by defining the method; nothing needs to be declared or inherited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

# Orphan (backends/sweep.py) and Estimate (backends/cloud.py) are the types meant below; both
# modules check providers against these protocols, so this one names them without importing.
Orphan = Estimate = Any


@runtime_checkable
class Sweeps(Protocol):
    async def sweep(self, workspace: Path) -> list[Orphan | dict[str, Any]]:
        """Every machine it manages for drtui that no active run of the workspace owns (see
        backends/sweep.py); raise sweep.Skipped when the provider is not set up here."""
        ...


@runtime_checkable
class Terminates(Protocol):
    async def terminate(self, orphan: Orphan, workspace: Path | None = None) -> None:
        """End the machine and what was made with it; raise a DrtuiError naming anything
        left behind."""
        ...


@runtime_checkable
class Estimates(Protocol):
    async def estimate(self, session: Any) -> Estimate:
        """What the session would cost, before anything is launched."""
        ...
