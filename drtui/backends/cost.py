"""What a session's backend will cost before anything is launched: (dollars per hour, dollars
for the session's time limit, where the price came from). `drtui cost` prints it."""

from __future__ import annotations


def estimate(session) -> tuple[float, float, str]:
    found = quote(session)
    return found.per_hour, found.total, found.source


def quote(session):
    """The provider's own Estimate (capabilities.Estimates); a provider that cannot price
    is refused by name."""
    import asyncio

    from drtui.backends import registry
    from drtui.backends.capabilities import Estimates
    from drtui.backends.cloud import Estimate
    from drtui.errors import DrtuiError

    provider = session.backend.provider
    cls = registry.provider_class(provider)
    if cls is None or not issubclass(cls, Estimates):
        raise DrtuiError(f"no cost estimate for provider {provider} yet")
    quoted: Estimate = asyncio.run(cls().estimate(session))
    return quoted
