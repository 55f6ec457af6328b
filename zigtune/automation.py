"""When zigtune runs by itself: the docs are observed on a cron, and content changes flow downstream.

Declarative Automation rather than a sensor: every asset carries its own condition, and the UI shows
for each tick and each asset why it was (or was not) requested. The condition is ``eager`` with one
change: an asset runs when a dependency's *data version* changed, not merely when it was
re-materialized. Data versions are content hashes where zigtune can name the content (the docs,
the dataset) and Dagster's hash of code version + input versions elsewhere, so unchanged docs stop
the chain at ``zig_docs`` and an unchanged dataset never retrains.
"""

import dagster as dg


def _on_content_change(*, same_tick: bool) -> dg.AutomationCondition:
    """``eager``, triggered by a dependency's new *data version* rather than any new materialization.

    ``same_tick``: also run when a dependency will be requested in this tick, so one run carries a
    change through the whole chain (the data assets). Without it an asset waits until its
    dependencies have finished and really changed (training: an unchanged dataset never retrains).
    A dependency updated by a run that also updated this asset does not count again.
    """
    changed = dg.AutomationCondition.data_version_changed() & ~dg.AutomationCondition.executed_with_root_target()
    if same_tick:
        changed = changed | dg.AutomationCondition.will_be_requested()
    trigger = dg.AutomationCondition.any_deps_match(changed).with_label("any_dep_content_changed")
    return (
        dg.AutomationCondition.in_latest_time_window()
        & (dg.AutomationCondition.newly_missing() | trigger).since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("on_content_change")


ON_CONTENT_CHANGE = _on_content_change(same_tick=True)
ON_DATASET_CHANGE = _on_content_change(same_tick=False)

#: Asset groups kept up to date on every machine, and those that need a GPU (opt-in).
DATA_GROUPS = ("docs", "generation", "validation", "dataset")
GPU_GROUPS = ("training", "evaluation")


def with_automation(assets: list, *, gpu: bool) -> list:
    """``assets`` with ``ON_CONTENT_CHANGE`` on every data asset, ``ON_DATASET_CHANGE`` on the GPU
    assets when ``gpu`` (training costs GPU hours: opt-in)."""

    def automate(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.group_name in DATA_GROUPS:
            return spec.replace_attributes(automation_condition=ON_CONTENT_CHANGE)
        if gpu and spec.group_name in GPU_GROUPS:
            return spec.replace_attributes(automation_condition=ON_DATASET_CHANGE)
        return spec

    return [
        dg.map_asset_specs(automate, [asset])[0]
        if isinstance(asset, dg.AssetsDefinition) and not asset.is_external
        else asset
        for asset in assets
    ]
