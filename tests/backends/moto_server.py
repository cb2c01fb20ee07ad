"""A real moto server for AWS tests: boto3 talks HTTP to it on a free loopback port, the way
it talks to AWS. drtui reaches it through DRTUI_AWS_ENDPOINT_URL; the credentials are dummies
that exist only in the test's environment."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

import pytest

DUMMY_KEY_ID = "testing-key-id"
DUMMY_SECRET = "moto-dummy-secret-d41d8cd98f00b204e980"  # scanned for in user data


@dataclass
class Moto:
    endpoint: str

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(service, region_name=region, endpoint_url=self.endpoint,
                            aws_access_key_id=DUMMY_KEY_ID,
                            aws_secret_access_key=DUMMY_SECRET)

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=30).close()


@pytest.fixture(scope="session")
def moto_server():
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield Moto(f"http://{host}:{port}")
    server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch):
    """A clean moto account, with boto3 and drtui pointed at it."""
    moto_server.reset()
    monkeypatch.setenv("DRTUI_AWS_ENDPOINT_URL", moto_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/drtui-test-aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/drtui-test-aws-creds")
    return moto_server
