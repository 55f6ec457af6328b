"""The one place where zigtune's assets, checks, resources, jobs, schedules and sensors are wired."""

import dagster as dg

from zigtune import settings
from zigtune.assets import dataset, docs, evaluation, qa_pairs, training, validation
from zigtune.automation import DATA_GROUPS, GPU_GROUPS, with_automation
from zigtune.resources.llm import llm_from_env
from zigtune.resources.training import training_from_env
from zigtune.resources.zig import zig_from_env
from zigtune.storage.io_manager import ParquetIOManager

# Each stage module contributes its assets and checks; the lists read in pipeline order.
STAGES = [docs, qa_pairs, validation, dataset, training, evaluation]

# Data assets follow content changes on their own; training and evaluation only with ZIGTUNE_AUTO_TRAIN=1.
assets = with_automation(
    [a for stage in STAGES for a in dg.load_assets_from_modules([stage])], gpu=settings.auto_train()
)
asset_checks = [c for stage in STAGES for c in dg.load_asset_checks_from_modules([stage])]

resources = {
    "io_manager": ParquetIOManager(),
    "llm": llm_from_env(),
    "zig": zig_from_env(),
    "training": training_from_env(),
}

DOCS_SOURCE = dg.AssetSelection.assets(docs.zig_docs_source.key)

data_pipeline = dg.define_asset_job(
    "data_pipeline",
    selection=dg.AssetSelection.groups(*DATA_GROUPS) - DOCS_SOURCE,
    description="Docs → sections → QA pairs → validated pairs → chatml dataset. Runs on any machine.",
)

full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.groups(*DATA_GROUPS, *GPU_GROUPS) - DOCS_SOURCE,
    description="The data pipeline, then the LoRA model and its evaluation. Needs a CUDA machine.",
)

observe_zig_docs = dg.define_asset_job(
    "observe_zig_docs",
    selection=DOCS_SOURCE,
    description="Check the docs source for changes; a new data version only when its content changed.",
)

docs_schedule = dg.ScheduleDefinition(
    name="observe_zig_docs_schedule",
    job=observe_zig_docs,
    cron_schedule=settings.docs_cron(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Observes the docs on $ZIGTUNE_DOCS_CRON (default hourly).",
)

# Evaluates every asset's automation condition (zigtune.automation) each 30 s; on by default.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "zigtune_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Brings assets up to date when their inputs' content changed.",
)

defs = dg.Definitions(
    assets=assets,
    asset_checks=asset_checks,
    resources=resources,
    jobs=[data_pipeline, full_pipeline, observe_zig_docs],
    schedules=[docs_schedule],
    sensors=[automation_sensor],
)
