"""Where asset values live: polars DataFrames as parquet files, on the local disk or on S3.

``ParquetIOManager`` is the one ``io_manager`` every stage uses. It picks its storage when a run starts,
from the environment, so asset code never knows which one it writes to:

- ``ZIGTUNE_STORAGE=local`` (the default): ``<ZIGTUNE_DATA_DIR>/assets/<asset key>.parquet``.
- ``ZIGTUNE_STORAGE=s3``: ``s3://$ZIGTUNE_S3_BUCKET/$ZIGTUNE_S3_PREFIX/<asset key>.parquet`` through dagster-aws,
  so runs on several machines share their inputs and outputs. ``ZIGTUNE_S3_ENDPOINT_URL`` points it at an
  S3-compatible server (MinIO, Ceph, moto); credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``,
  a profile, an instance role) and are never read or logged here.

Why not ``dagster-polars``: its last release (0.27.12) fails on the polars this project installs (2.x) —
``load_input`` calls ``pl.scan_parquet(rechunk=...)``, an argument polars 2.0 removed — and it reaches S3 through
fsspec/s3fs rather than dagster-aws's boto3 client. The local manager below is its ~15 lines.
"""

import io
import os
from typing import Literal

import dagster as dg
import polars as pl
from dagster import InputContext, OutputContext, UPathIOManager
from dagster_aws.s3.io_manager import PickledObjectS3IOManager
from dagster_aws.s3.resources import S3Resource
from upath import UPath

from zigtune import settings
from zigtune.settings import S3_BUCKET_ENV, S3_ENDPOINT_URL_ENV, S3_PREFIX_ENV, S3_REGION_ENV, StorageConfigError

#: Key prefix inside the bucket when ``ZIGTUNE_S3_PREFIX`` is unset, so one bucket can hold other things too.
DEFAULT_S3_PREFIX = "zigtune/assets"

Storage = Literal["local", "s3"]


def _require_frame(context: OutputContext, obj: object) -> pl.DataFrame:
    if not isinstance(obj, pl.DataFrame):
        name = context.asset_key.to_user_string()
        raise TypeError(f"{name} returned {type(obj).__name__}, expected a polars DataFrame")
    return obj


class PolarsParquetIOManager(UPathIOManager):
    """Stores each asset's ``pl.DataFrame`` as ``<base>/<asset key>.parquet`` in a directory (or fsspec URL)."""

    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        frame = _require_frame(context, obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            frame.write_parquet(file)

    def load_from_path(self, context: InputContext, path: UPath) -> pl.DataFrame:
        with path.open("rb") as file:
            return pl.read_parquet(file)


class S3ParquetIOManager(PickledObjectS3IOManager):
    """dagster-aws's S3 IO manager, storing parquet instead of pickles: ``<prefix>/<asset key>.parquet``.

    Parquet keeps the objects readable by anything (polars, DuckDB, Athena) and safe to load, which pickles
    from a shared bucket are not.
    """

    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        buffer = io.BytesIO()
        _require_frame(context, obj).write_parquet(buffer)
        buffer.seek(0)
        self.s3.upload_fileobj(buffer, self.bucket, path.as_posix())

    def load_from_path(self, context: InputContext, path: UPath) -> pl.DataFrame:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=path.as_posix())["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            uri = self._uri_for_path(path)
            raise FileNotFoundError(f"{uri} does not exist; materialize the upstream asset first") from None
        return pl.read_parquet(io.BytesIO(body))


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Asset values as parquet files: in the data directory, or on S3 when ``ZIGTUNE_STORAGE=s3``.

    Every field left empty is read from its environment variable when a run starts, so one definition
    serves a laptop and a cluster alike.
    """

    base_path: str | None = None
    """Local directory or fsspec URL for the files; setting it means local storage
    (default: ``<ZIGTUNE_DATA_DIR>/assets``)."""

    storage: str | None = None
    """``local`` or ``s3``. Empty: ``$ZIGTUNE_STORAGE``, else ``local``."""

    s3_bucket: str | None = None
    """Bucket for ``s3`` storage. Empty: ``$ZIGTUNE_S3_BUCKET``."""

    s3_prefix: str | None = None
    """Key prefix inside the bucket. Empty: ``$ZIGTUNE_S3_PREFIX``, else ``zigtune/assets``."""

    s3_endpoint_url: str | None = None
    """An S3-compatible server (MinIO, Ceph, ...). Empty: ``$ZIGTUNE_S3_ENDPOINT_URL``, else AWS
    (boto3 also honours ``AWS_ENDPOINT_URL_S3``)."""

    s3_region: str | None = None
    """Region of the bucket. Empty: ``$ZIGTUNE_S3_REGION``, else boto3's default (``AWS_DEFAULT_REGION``)."""

    def resolved_storage(self) -> Storage:
        """The storage a run will use, from the fields, then the environment."""
        if self.base_path:
            return "local"
        return settings.storage(self.storage)

    def create_io_manager(self, context: dg.InitResourceContext) -> UPathIOManager:
        if self.resolved_storage() == "local":
            return PolarsParquetIOManager(base_path=UPath(self.base_path or str(settings.data_dir() / "assets")))
        return self._s3_io_manager()

    def _s3_io_manager(self) -> S3ParquetIOManager:
        bucket = settings.s3_bucket(self.s3_bucket)
        prefix = (self.s3_prefix or os.environ.get(S3_PREFIX_ENV) or DEFAULT_S3_PREFIX).strip("/")
        endpoint = self.s3_endpoint_url or os.environ.get(S3_ENDPOINT_URL_ENV) or None
        region = self.s3_region or os.environ.get(S3_REGION_ENV) or None
        client = S3Resource(endpoint_url=endpoint, region_name=region).get_client()
        try:
            # The parent checks that the bucket answers by listing one key under the prefix.
            return S3ParquetIOManager(s3_bucket=bucket, s3_session=client, s3_prefix=prefix)
        except Exception as error:  # botocore's ClientError/EndpointConnectionError/NoCredentialsError
            where = f" at {endpoint}" if endpoint else ""
            raise StorageConfigError(
                f"cannot list s3://{bucket}/{prefix}{where}: {_one_line(error)}; check {S3_BUCKET_ENV}, "
                f"{S3_ENDPOINT_URL_ENV} and the AWS credentials"
            ) from None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__
