"""A real S3-compatible server for tests: moto's server mode on 127.0.0.1, reached by boto3 over HTTP."""

import logging
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
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint)
    empty_the_server(client)
    client.create_bucket(Bucket=BUCKET)
    try:
        yield endpoint, client
    finally:
        server.stop()


def empty_the_server(client) -> None:
    """Delete every bucket, through the S3 API: moto keeps buckets per process, not per server, so a new
    server would otherwise show an earlier test's objects. (moto's ``/moto-api/reset`` resets every service at
    once, and answered 500 once in a full run; this touches S3 alone.)"""
    for bucket in client.list_buckets()["Buckets"]:
        name = bucket["Name"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys})
        client.delete_bucket(Bucket=name)


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
