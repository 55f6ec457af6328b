"""One pipeline stage per module: docs, qa_pairs, validation, dataset, training, evaluation."""

from typing import Any

import dagster as dg


def kept_and_dropped(
    tables: tuple[str, str], *, group: str, code_version: str, check: tuple[str, str], **options: Any
) -> Any:
    """The decorator of a stage (named after its function) that writes two polars tables, ``tables`` = (the rows
    it kept, the rows it dropped with why), and holds a blocking ``check`` = (name, description) on the kept table.
    """
    kept, _ = tables
    name, description = check
    return dg.multi_asset(
        outs={table: dg.AssetOut(group_name=group, kinds={"polars"}, code_version=code_version) for table in tables},
        check_specs=[dg.AssetCheckSpec(name, asset=kept, blocking=True, description=description)],
        **options,
    )
