"""Where asset values live: polars DataFrames as parquet files under one base path.

Built on Dagster's ``UPathIOManager``, so the base path can be a local directory (the default, the
data directory) or any fsspec URL such as ``s3://bucket/prefix`` — asset code never knows which.
"""

from __future__ import annotations

import polars as pl
from dagster import InputContext, OutputContext, UPathIOManager
from upath import UPath

import dagster as dg
from zigtune import settings


class PolarsParquetIOManager(UPathIOManager):
    """Stores each asset's ``pl.DataFrame`` as ``<base>/<asset key>.parquet``."""

    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()} returned {type(obj).__name__}, expected a polars DataFrame")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            obj.write_parquet(file)

    def load_from_path(self, context: InputContext, path: UPath) -> pl.DataFrame:
        with path.open("rb") as file:
            return pl.read_parquet(file)


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Asset values as parquet files, locally or on object storage."""

    base_path: str | None = None
    """Directory or URL for the files (default: ``<ZIGTUNE_DATA_DIR>/assets``)."""

    def create_io_manager(self, context: dg.InitResourceContext) -> PolarsParquetIOManager:
        base = self.base_path or str(settings.data_dir() / "assets")
        return PolarsParquetIOManager(base_path=UPath(base))
