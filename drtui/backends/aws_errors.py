"""One readable line for an AWS failure, shared by the EC2 provider and the sweep (botocore is
imported only when an error is described)."""

from __future__ import annotations


def aws_error(exc: BaseException) -> str:
    """One readable line for an AWS failure."""
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'error')}: {err.get('Message', str(exc))}"
    if isinstance(exc, NoCredentialsError):
        return ("no AWS credentials found: run `aws configure`, set AWS_PROFILE or "
                "backend.aws_ec2.profile")
    if isinstance(exc, NoRegionError):
        return "no AWS region: set backend.aws_ec2.region"
    return f"{type(exc).__name__}: {exc}"
