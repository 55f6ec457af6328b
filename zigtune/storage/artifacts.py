"""File artifacts: the dataset's files, LoRA adapters, evaluation completions, on the local disk or on S3.

Asset values travel through the IO manager; these are the files that a trainer or a worker opens by path.
Each stage writes them under the data directory, then calls ``publish(path, key)`` and hands on the location
it gets back; whoever reads them calls ``fetch(location)`` for a local path. Neither knows the storage:

- ``ZIGTUNE_STORAGE=local`` (the default): the location is the path itself; nothing is copied.
- ``ZIGTUNE_STORAGE=s3``: ``publish`` uploads to ``s3://$ZIGTUNE_S3_BUCKET/$ZIGTUNE_S3_ARTIFACTS_PREFIX/<key>``
  (prefix default ``zigtune/artifacts``) and returns that URI; ``fetch``, on any machine, downloads it to
  ``<data dir>/<key>`` and returns that path. Keys carry a run id or a content hash, so an artifact never
  changes once published and a file already there in full is not downloaded again.

The bucket, endpoint and region are the IO manager's settings (``ZIGTUNE_S3_BUCKET``,
``ZIGTUNE_S3_ENDPOINT_URL``, ``ZIGTUNE_S3_REGION``); credentials come from boto3's chain and are never read
here. ``storage_env()`` lists the settings a worker on another machine needs to reach the same place.
"""

import os
from pathlib import Path, PurePosixPath
from typing import Protocol

from zigtune import settings
from zigtune.settings import S3_ARTIFACTS_PREFIX_ENV, S3_BUCKET_ENV, S3_ENDPOINT_URL_ENV, S3_REGION_ENV, STORAGE_ENV

DEFAULT_S3_ARTIFACTS_PREFIX = "zigtune/artifacts"


class ArtifactError(Exception):
    """An artifact that cannot be published or fetched; the message is one line naming it and the cause."""


class ArtifactStore(Protocol):
    def publish(self, local: Path, key: str) -> str:
        """Make ``local`` (a file or a directory) reachable as ``key``; returns its location."""
        ...

    def fetch(self, location: str) -> Path:
        """A local path holding what ``location`` names (downloaded first when it is remote)."""
        ...


def join(location: str, name: str) -> str:
    """``name`` inside the directory at ``location`` (a local path or a URI)."""
    return f"{location.rstrip('/')}/{name}"


def key_for(path: Path, fallback: str) -> str:
    """The artifact key of a path in the data directory: its relative path (``fallback`` outside it)."""
    try:
        return Path(path).resolve().relative_to(settings.data_dir().resolve()).as_posix()
    except ValueError:
        return fallback


class LocalArtifacts:
    """The data directory is the store: locations are paths."""

    def publish(self, local: Path, key: str) -> str:
        if not Path(local).exists():
            raise ArtifactError(f"cannot publish {local}: it does not exist")
        return str(local)

    def fetch(self, location: str) -> Path:
        if location.startswith("s3://"):
            raise ArtifactError(
                f"{location} is on S3 but {STORAGE_ENV} is not 's3' here: set {STORAGE_ENV}=s3 and {S3_BUCKET_ENV}"
            )
        path = Path(location)
        if not path.exists():
            raise ArtifactError(f"{location} does not exist; re-materialize the asset that wrote it")
        return path


class S3Artifacts:
    """Artifacts under ``s3://<bucket>/<prefix>/<key>``, fetched into ``<root>/<key>``."""

    def __init__(self, client, bucket: str, prefix: str, root: Path) -> None:
        from boto3.s3.transfer import TransferConfig

        self.client, self.bucket, self.prefix, self.root = client, bucket, prefix.strip("/"), Path(root)
        self.transfer = TransferConfig(max_concurrency=8)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}/{key.strip('/')}"

    def publish(self, local: Path, key: str) -> str:
        local = Path(local)
        if local.is_file():
            files = {key.strip("/"): local}
        elif local.is_dir():
            files = {f"{key.strip('/')}/{f.relative_to(local).as_posix()}": f for f in local.rglob("*") if f.is_file()}
        else:
            raise ArtifactError(f"cannot publish {local}: it does not exist")
        for name, path in sorted(files.items()):
            try:
                self.client.upload_file(str(path), self.bucket, f"{self.prefix}/{name}", Config=self.transfer)
            except _boto_errors() as error:
                raise ArtifactError(f"cannot upload {path} to {self.uri(name)}: {_one_line(error)}") from None
        return self.uri(key)

    def fetch(self, location: str) -> Path:
        if not location.startswith("s3://"):
            return LocalArtifacts().fetch(location)
        bucket, _, key = location.removeprefix("s3://").partition("/")
        key = key.strip("/")
        ours = bucket == self.bucket and key.startswith(f"{self.prefix}/")
        target = self.root / (key.removeprefix(f"{self.prefix}/") if ours else f"s3/{bucket}/{key}")
        objects = self._list(bucket, key, location)
        if key in objects:  # a single file
            self._download(bucket, key, objects[key], target, location)
            return target
        for name, size in objects.items():
            self._download(bucket, name, size, target / PurePosixPath(name).relative_to(key), location)
        return target

    def _list(self, bucket: str, key: str, location: str) -> dict[str, int]:
        """The objects that make up ``key``: itself, or everything under ``key/``."""
        found: dict[str, int] = {}
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                for item in page.get("Contents", []):
                    if item["Key"] == key or item["Key"].startswith(f"{key}/"):
                        found[item["Key"]] = item["Size"]
        except _boto_errors() as error:
            raise ArtifactError(f"cannot list {location}: {_one_line(error)}") from None
        if not found:
            raise ArtifactError(f"{location} does not exist; re-materialize the asset that wrote it")
        return found

    def _download(self, bucket: str, key: str, size: int, target: Path, location: str) -> None:
        if target.is_file() and target.stat().st_size == size:
            return  # keys never change once published: a complete copy is the artifact
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        try:
            self.client.download_file(bucket, key, str(partial), Config=self.transfer)
        except _boto_errors() as error:
            partial.unlink(missing_ok=True)
            raise ArtifactError(f"cannot download {location} ({key}): {_one_line(error)}") from None
        partial.replace(target)


def artifact_store() -> LocalArtifacts | S3Artifacts:
    """The store the environment names (the same settings as the IO manager's)."""
    if settings.storage() == "local":
        return LocalArtifacts()
    bucket = settings.s3_bucket()
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=os.environ.get(S3_ENDPOINT_URL_ENV) or None,
        region_name=os.environ.get(S3_REGION_ENV) or None,
    )
    prefix = os.environ.get(S3_ARTIFACTS_PREFIX_ENV) or DEFAULT_S3_ARTIFACTS_PREFIX
    return S3Artifacts(client, bucket, prefix, settings.data_dir())


def storage_env() -> dict[str, str]:
    """The storage settings that are set, for a worker that runs elsewhere (no credentials among them)."""
    return {name: os.environ[name] for name in settings.STORAGE_ENV_VARS if os.environ.get(name)}


def _boto_errors() -> tuple[type[Exception], ...]:
    """botocore's errors, imported when one is raised: boto3 is needed only with S3 storage (a GPU worker with
    local storage may not have it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__
