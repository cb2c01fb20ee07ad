"""What an EC2 instance costs per hour: the spot market from describe_spot_price_history, or
a built-in on-demand list for the types DeepRacer training uses. Every figure comes with its
source, so the user can tell a live market price from a list price.

boto3 is imported only by the caller that builds the client (drtui.backends.aws_ec2).
"""

from __future__ import annotations

from dataclasses import dataclass

# us-east-1 Linux on-demand list prices in USD per hour (AWS price list, 2025). Other regions
# cost more or less: the source line says so. GPU types from the DOTS price table (g4dn, g5,
# g6, g6e x 2xl/4xl/8xl) plus the CPU types the embedded trainer runs well on.
ON_DEMAND_REGION = "us-east-1"
ON_DEMAND_USD: dict[str, float] = {
    "g4dn.xlarge": 0.526, "g4dn.2xlarge": 0.752, "g4dn.4xlarge": 1.204,
    "g4dn.8xlarge": 2.176,
    "g5.xlarge": 1.006, "g5.2xlarge": 1.212, "g5.4xlarge": 1.624, "g5.8xlarge": 2.448,
    "g6.xlarge": 0.8048, "g6.2xlarge": 0.9776, "g6.4xlarge": 1.3232, "g6.8xlarge": 2.0144,
    "g6e.xlarge": 1.861, "g6e.2xlarge": 2.242, "g6e.4xlarge": 3.004, "g6e.8xlarge": 4.529,
    "c5.2xlarge": 0.34, "c5.4xlarge": 0.68, "c5.9xlarge": 1.53,
    "c6i.2xlarge": 0.34, "c6i.4xlarge": 0.68, "c6i.8xlarge": 1.36,
    "c7i.2xlarge": 0.357, "c7i.4xlarge": 0.714, "c7i.8xlarge": 1.428,
}


class NoPrice(LookupError):
    """No price could be found; the message says why."""


@dataclass(frozen=True)
class Price:
    per_hour: float
    source: str


def on_demand(instance_type: str, region: str) -> Price:
    usd = ON_DEMAND_USD.get(instance_type)
    if usd is None:
        raise NoPrice(f"no on-demand price for {instance_type} in drtui's built-in list "
                      f"({', '.join(sorted(ON_DEMAND_USD))})")
    where = "" if region == ON_DEMAND_REGION else f"; {region} may differ"
    return Price(usd, f"built-in on-demand list price ({ON_DEMAND_REGION} Linux{where})")


def spot(ec2, instance_type: str, region: str) -> Price:
    """The current spot price: the newest entry of each availability zone, and of those the
    highest, because drtui does not pin a zone and would rather over- than under-estimate."""
    reply = ec2.describe_spot_price_history(
        InstanceTypes=[instance_type], ProductDescriptions=["Linux/UNIX"], MaxResults=100)
    newest: dict[str, tuple] = {}
    for entry in reply.get("SpotPriceHistory", []):
        zone = entry.get("AvailabilityZone", "?")
        stamp = entry.get("Timestamp")
        if zone not in newest or (stamp and newest[zone][0] and stamp > newest[zone][0]):
            newest[zone] = (stamp, float(entry["SpotPrice"]))
    if not newest:
        raise NoPrice(f"no spot price history for {instance_type} in {region}")
    zone, (_, usd) = max(newest.items(), key=lambda kv: kv[1][1])
    return Price(usd, f"spot price history ({region}, highest current of {len(newest)} "
                      f"zone{'s' if len(newest) != 1 else ''}: {zone})")


def price(ec2, instance_type: str, region: str, *, use_spot: bool,
          max_price: float | None = None) -> Price:
    """The hourly price of one instance; spot falls back to the on-demand list when the
    market has no history, and never exceeds the user's maximum."""
    if not use_spot:
        return on_demand(instance_type, region)
    try:
        found = spot(ec2, instance_type, region)
    except NoPrice as exc:
        found = on_demand(instance_type, region)
        found = Price(found.per_hour, f"{found.source}, as {exc}")
    if max_price is not None and found.per_hour > max_price:
        return Price(max_price, f"your maximum spot price (the market is higher: "
                                f"${found.per_hour:.4f}/h, {found.source})")
    return found
