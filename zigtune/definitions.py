"""The one place where zigtune's assets, checks, resources, jobs, schedules and sensors are wired."""

from __future__ import annotations

import dagster as dg
from zigtune.assets import dataset, docs, qa_pairs, validation
from zigtune.io_manager import ParquetIOManager
from zigtune.resources.codapi import CodapiClient
from zigtune.resources.novita import novita_from_env

# Each stage module contributes its assets and checks; the lists read in pipeline order.
STAGES = [docs, qa_pairs, validation, dataset]

assets = [a for stage in STAGES for a in dg.load_assets_from_modules([stage])]
asset_checks = [c for stage in STAGES for c in dg.load_asset_checks_from_modules([stage])]

resources = {
    "io_manager": ParquetIOManager(),
    "novita": novita_from_env(),
    "codapi": CodapiClient(),
}

data_pipeline = dg.define_asset_job(
    "data_pipeline",
    selection=dg.AssetSelection.groups("docs", "generation", "validation", "dataset"),
    description="Docs → sections → QA pairs → validated pairs → chatml dataset. Runs on any machine.",
)

defs = dg.Definitions(
    assets=assets,
    asset_checks=asset_checks,
    resources=resources,
    jobs=[data_pipeline],
)
