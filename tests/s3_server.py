"""A real S3-compatible server for tests: moto's server mode on 127.0.0.1, reached by boto3 over HTTP."""

import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest

BUCKET = "zigtune-team"
PREFIX = "runs/zigtune"
ARTIFACTS_PREFIX = "runs/artifacts"
AWS_SECRET = "moto-secret-never-logged"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "moto-key", "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_DEFAULT_REGION": "us-east-1"}


@contextmanager
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, object]]:
    """The server with one empty bucket, and its credentials in the environment: ``(endpoint, client)``."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto keeps its buckets per process, not per server: start from none, so no test sees another's objects.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=BUCKET)
    try:
        yield endpoint, client
    finally:
        server.stop()


def use_s3(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """zigtune's storage settings for the server: asset outputs and artifacts in ``BUCKET``."""
    monkeypatch.setenv("ZIGTUNE_STORAGE", "s3")
    monkeypatch.setenv("ZIGTUNE_S3_BUCKET", BUCKET)
    monkeypatch.setenv("ZIGTUNE_S3_PREFIX", PREFIX)
    monkeypatch.setenv("ZIGTUNE_S3_ARTIFACTS_PREFIX", ARTIFACTS_PREFIX)
    monkeypatch.setenv("ZIGTUNE_S3_ENDPOINT_URL", endpoint)


def keys_under(client, prefix: str) -> set[str]:
    """Every key under ``prefix/``, without it."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{prefix}/")
    return {item["Key"].removeprefix(f"{prefix}/") for page in pages for item in page.get("Contents", [])}
