"""Shared fixtures: the real Zig reference beside the checkout, an isolated data directory."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DOCS_MD = SHARED_DATA / "zig-0.14.0-docs.md"
DOCS_HTML = SHARED_DATA / "zig-0.14.0-langref.html"


@pytest.fixture(scope="session")
def docs_markdown() -> str:
    if not DOCS_MD.exists():
        pytest.skip(f"{DOCS_MD} not found (the shared data folder lies beside the checkout)")
    return DOCS_MD.read_text(encoding="utf-8")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch):
    """A real S3-compatible server (moto) with one empty bucket: ``(endpoint, boto3 client)``."""
    from tests.s3_server import s3_server

    with s3_server(monkeypatch) as server:
        yield server


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ZIGTUNE_DATA_DIR for one test, so no test sees another's files or caches."""
    directory = tmp_path / "data"
    monkeypatch.setenv("ZIGTUNE_DATA_DIR", str(directory))
    return directory


class StaticHttpServer:
    """A real HTTP server on 127.0.0.1 that serves scripted routes: path -> (status, body, headers).

    It honours If-None-Match against a route's ETag (answering 304), as real servers do, and records
    every request's method and path.
    """

    def __init__(self) -> None:
        import http.server
        import threading

        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, with_body: bool) -> None:
                server.requests.append((self.command, self.path))
                status, body, headers = server.routes.get(self.path, (404, b"not found", {}))
                if headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                    status, body = 304, b""
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer(True)

            def do_HEAD(self) -> None:
                self._answer(False)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server():
    server = StaticHttpServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def zig_sandbox_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One local Zig sandbox root per test session, so the Zig standard library compiles once."""
    return tmp_path_factory.mktemp("zig-sandbox")


@pytest.fixture
def checker(tmp_path: Path, zig_sandbox_root: Path):
    """The code checker as ``qa_generation`` builds it: the ``zig`` resource's local engine, a verdict cache."""
    import asyncio

    from zigtune.generation.code_checks import EngineChecker
    from zigtune.resources.zig import LocalSandbox, ZigEngine
    from zigtune.storage.cache import ContentCache

    engine = ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root)))
    checker = EngineChecker(engine.create_engine, ContentCache(tmp_path / "verdicts"))
    yield checker
    asyncio.run(checker.close())


@pytest.fixture
def codapi_server(zig_sandbox_root: Path):
    """A local server speaking Codapi's /v1/exec protocol (see tests/codapi_server.py)."""
    from tests.codapi_server import CodapiServer

    server = CodapiServer(zig_sandbox_root)
    yield server
    server.close()


#: The environment variable that carries the planted secret (see ``planted_secret``).
SECRET_ENV = "ZIGTUNE_PLANTED_SECRET"


@pytest.fixture(scope="session")
def planted_secret() -> tuple[Path, str]:
    """A secret file on the host that everyone may read, and the same secret in this process's environment.

    World-readable on purpose: only the sandbox, not file permissions, may keep snippets from it.
    Tests search every output, table and metadata entry for the value.
    """
    value = f"zigtune-planted-secret-{secrets.token_hex(8)}"
    directory = Path(tempfile.mkdtemp(prefix="zigtune-secret-"))
    directory.chmod(0o755)
    path = directory / "secret.txt"
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o644)
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = value
    yield path, value
    if previous is None:
        os.environ.pop(SECRET_ENV, None)
    else:
        os.environ[SECRET_ENV] = previous
    shutil.rmtree(directory, ignore_errors=True)
