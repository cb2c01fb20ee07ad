"""A small client for the DeepRacer on AWS REST API (API Gateway, IAM auth).

Every request is signed with SigV4 for the service "execute-api" using botocore's SigV4Auth
and the credentials of the user's AWS profile or environment (boto3's usual chain: for a
DRoA deployment these are typically the Cognito identity pool's temporary credentials saved
in a profile). HTTP goes through urllib in a worker thread, so the event loop never blocks.
botocore and boto3 load only when a client is made.

Errors come back as DroaError subclasses with the status and the API's own message:
401/403 not authorised, 404 not found, 409 conflict, 429 throttled or over quota, 400 bad
request, 5xx server failure, and connection failures.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from drtui.errors import DrtuiError

SERVICE = "execute-api"


class DroaError(DrtuiError):
    """A DeepRacer on AWS request failed."""

    status: int | None = None
    transient = False  # worth trying again later


class DroaAuthError(DroaError):
    exit_code = 2


class DroaNotFound(DroaError):
    pass


class DroaBadRequest(DroaError):
    exit_code = 2


class DroaThrottled(DroaError):
    transient = True


class DroaServerError(DroaError):
    transient = True


class DroaConnectionError(DroaError):
    transient = True


@dataclass(frozen=True)
class Endpoint:
    api_url: str
    region: str
    profile: str = "default"


def _credentials(profile: str, region: str):
    """Frozen credentials from the profile, or from the environment for "default"."""
    import boto3
    import botocore.exceptions

    # An explicit profile name switches off the environment variables in botocore's chain,
    # so "default" (the settings' default) is left implicit: AWS_PROFILE and
    # AWS_ACCESS_KEY_ID still apply.
    name = profile if profile and profile != "default" else None
    try:
        creds = boto3.Session(profile_name=name, region_name=region).get_credentials()
    except botocore.exceptions.ProfileNotFound:
        raise DroaAuthError(f"not authorised: no AWS profile named {profile!r} "
                            "(backend.deepracer_on_aws.profile)") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise DroaAuthError(f"not authorised: cannot read AWS credentials: {exc}") from None
    if creds is None:
        raise DroaAuthError(
            "not authorised: no AWS credentials found (set backend.deepracer_on_aws.profile "
            "to a profile holding your DeepRacer on AWS credentials, or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY)")
    return creds.get_frozen_credentials()


def _message(body: bytes) -> str:
    """The API's error text: {"message": ...} (Smithy and API Gateway) or the raw body."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict):
        for key in ("message", "Message", "errorMessage"):
            if isinstance(data.get(key), str):
                return data[key]
    return text[:300]


def error_for(status: int, body: bytes, what: str) -> DroaError:
    msg = _message(body) or f"HTTP {status}"
    if status in (401, 403):
        err: DroaError = DroaAuthError(
            f"not authorised: {what}: {msg} (check the AWS credentials of "
            "backend.deepracer_on_aws.profile and that they belong to this deployment)")
    elif status == 404:
        err = DroaNotFound(f"not found: {what}: {msg}")
    elif status == 429:
        err = DroaThrottled(f"throttled or over quota: {what}: {msg} (DeepRacer on AWS limits "
                            "request rates and each user's compute minutes)")
    elif status >= 500:
        err = DroaServerError(f"DeepRacer on AWS failed: {what}: HTTP {status}: {msg}")
    else:
        err = DroaBadRequest(f"rejected by DeepRacer on AWS: {what}: {msg}")
    err.status = status
    return err


class DroaClient:
    """Signed JSON requests to one deployment's API."""

    def __init__(self, endpoint: Endpoint, *, timeout: float = 30.0):
        if not endpoint.api_url.startswith(("https://", "http://")):
            raise DroaBadRequest(f"backend.deepracer_on_aws.api_url must be an http(s) URL "
                                 f"(got {endpoint.api_url!r})")
        self.endpoint = endpoint
        self.base = endpoint.api_url.rstrip("/")
        self.timeout = timeout
        self._creds = None

    def _signed(self, method: str, url: str, body: bytes | None) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        if self._creds is None:
            self._creds = _credentials(self.endpoint.profile, self.endpoint.region)
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(self._creds, SERVICE, self.endpoint.region).add_auth(request)
        return dict(request.headers.items())

    def _send(self, method: str, path: str, payload: Any = None) -> Any:
        import urllib.error
        import urllib.request

        url = self.base + path
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        headers = self._signed(method, url, body)
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        what = f"{method} {path.split('?')[0]}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise error_for(exc.code, exc.read(), what) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DroaConnectionError(f"cannot reach DeepRacer on AWS at {self.base}: "
                                      f"{reason}") from None
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise DroaServerError(f"DeepRacer on AWS answered {what} with something that is "
                                  "not JSON") from None

    async def request(self, method: str, path: str, payload: Any = None) -> Any:
        return await asyncio.to_thread(self._send, method, path, payload)

    # -- operations (the solution's Smithy model: source/libs/model/src/main/smithy) -------
    async def create_model(self, model_definition: dict[str, Any],
                           pre_trained_model_id: str | None = None) -> str:
        body: dict[str, Any] = {"modelDefinition": model_definition}
        if pre_trained_model_id:
            body["preTrainedModelId"] = pre_trained_model_id
        return (await self.request("POST", "/models", body))["modelId"]

    async def get_model(self, model_id: str) -> dict[str, Any]:
        return (await self.request("GET", f"/models/{model_id}"))["model"]

    async def stop_model(self, model_id: str) -> None:
        await self.request("PATCH", f"/models/{model_id}")

    async def import_model(self, s3_bucket: str, s3_path: str, model_name: str,
                           description: str | None = None) -> str:
        body = {"s3Bucket": s3_bucket, "s3Path": s3_path, "modelName": model_name}
        if description:
            body["modelDescription"] = description
        return (await self.request("POST", "/importmodel", body))["modelId"]


def fetch_presigned(url: str, *, timeout: float = 30.0) -> bytes | None:
    """The body at a presigned S3 URL (the training metrics); None while it does not exist
    yet (S3 answers 403/404 for a missing key). Not signed: the URL carries its own auth."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404):
            return None
        # the URL holds a signature: never put it in a message
        raise error_for(exc.code, exc.read(), "GET training metrics") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DroaConnectionError(f"cannot fetch the training metrics: "
                                  f"{getattr(exc, 'reason', exc)}") from None
