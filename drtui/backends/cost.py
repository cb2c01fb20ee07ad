"""What a session's backend will cost before anything is launched: (dollars per hour, dollars
for the session's time limit, where the price came from). `drtui cost` prints it."""

from __future__ import annotations


def estimate(session) -> tuple[float, float, str]:
    provider = session.backend.provider
    if provider in ("local", "ssh"):
        return 0.0, 0.0, "your own machine"
    if provider == "aws-ec2":
        from drtui.backends.aws_ec2 import estimate as ec2_estimate

        return ec2_estimate(session)
    import asyncio

    from drtui.backends import registry
    from drtui.errors import DrtuiError

    cls = registry.provider_class(provider)  # Brev, Thunder: an async estimate of their own
    if cls is None or not callable(getattr(cls, "estimate", None)):
        raise DrtuiError(f"no cost estimate for provider {provider} yet")
    found = asyncio.run(cls().estimate(session))
    return found.per_hour, found.total, found.source
