"""The web UI for real: `dagster dev` on a free port, headless Chromium, and a run launched over GraphQL."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DOCS_MD

PROJECT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float, what: str):
    """Poll ``condition`` until it returns a truthy value; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (make test installs Debian's chromium)")
    home = tmp_path_factory.mktemp("dagster_home")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ZIGTUNE_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "ZIGTUNE_DOCS": str(DOCS_MD),
    }
    env.pop("NOVITA_API_KEY", None)
    log = (home / "dagster-dev.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-m", "zigtune.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"dagster dev exited: {(home / 'dagster-dev.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2) as reply:
                    return reply.status == 200
            except OSError:
                return False

        wait_until(ready, 180, "dagster dev to serve")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_asset_graph_shows_every_asset(dagster_dev: str) -> None:
    from playwright.sync_api import sync_playwright

    from zigtune.definitions import defs

    names = sorted(key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys())
    assert {"zig_docs_source", "zig_docs", "doc_sections", "qa_pairs", "validated_pairs"} <= set(names)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        # A fresh instance greets its first visitor with a newsletter dialog; dismiss it whenever it shows.
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
        page.goto(f"{dagster_dev}/asset-groups", wait_until="networkidle")
        page.get_by_text("Materialize all", exact=False).first.wait_for()
        page.keyboard.press("Alt+e")  # the graph's "Expand all groups"
        for name in names:
            page.get_by_text(name, exact=True).filter(visible=True).last.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "asset-graph.png"))

        page.goto(f"{dagster_dev}/automation", wait_until="networkidle")
        for name in ("observe_zig_docs_schedule", "zigtune_automation"):
            page.get_by_text(name, exact=True).filter(visible=True).first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "automation.png"))
        browser.close()
    assert (ARTIFACTS / "asset-graph.png").stat().st_size > 10_000


def test_schedule_and_automation_sensor_run_by_default(dagster_dev: str) -> None:
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=int(dagster_dev.rsplit(":", 1)[1]))
    repository = '{repositoryLocationName: "zigtune.definitions", repositoryName: "__repository__"}'
    states = client._execute(
        f"""{{
          schedulesOrError(repositorySelector: {repository}) {{
            ... on Schedules {{ results {{ name cronSchedule scheduleState {{ status }} }} }}
          }}
          sensorsOrError(repositorySelector: {repository}) {{
            ... on Sensors {{ results {{ name sensorState {{ status }} }} }}
          }}
        }}"""
    )
    schedules = {s["name"]: s for s in states["schedulesOrError"]["results"]}
    sensors = {s["name"]: s["sensorState"]["status"] for s in states["sensorsOrError"]["results"]}
    assert schedules["observe_zig_docs_schedule"]["cronSchedule"] == "0 * * * *"
    assert schedules["observe_zig_docs_schedule"]["scheduleState"]["status"] == "RUNNING"
    assert sensors["zigtune_automation"] == "RUNNING"


def test_materialization_launched_through_graphql_succeeds(dagster_dev: str) -> None:
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=int(dagster_dev.rsplit(":", 1)[1]))
    # What the UI's "Materialize" button launches: the implicit asset job with an asset selection.
    run_id = client.submit_job_execution("__ASSET_JOB", asset_selection=["zig_docs", "doc_sections"])
    finished = {"SUCCESS", "FAILURE", "CANCELED"}
    status = wait_until(
        lambda: (s := client.get_run_status(run_id).value) in finished and s, 300, "the materialization to finish"
    )
    assert status == "SUCCESS"
    materialized = client._execute(
        '{ assetOrError(assetKey: {path: ["doc_sections"]}) '
        "{ ... on Asset { assetMaterializations(limit: 1) { runId } } } }"
    )
    assert materialized["assetOrError"]["assetMaterializations"][0]["runId"] == run_id
