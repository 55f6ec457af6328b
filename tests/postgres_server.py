"""A real, throwaway PostgreSQL server for tests: Debian's ``postgresql`` package, started on 127.0.0.1.

``initdb`` makes a fresh cluster in a temporary directory, ``postgres`` serves it on a free TCP port with
durability off (a test database need not survive a crash), and ``stop`` shuts it down and deletes it.
PostgreSQL refuses to run as root, so under root the server runs as the package's ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

#: What ``apt-get install`` needs for these binaries (Debian puts them in /usr/lib/postgresql/<v>/bin).
APT_PACKAGE = "postgresql"
USER = "dagster"
STARTUP_SECONDS = 30.0


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries are not installed (or cannot run as an unprivileged user)."""


def server_binaries() -> Path:
    """The directory holding ``initdb`` and ``postgres``: on PATH, else Debian's newest version."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(os.path.realpath(on_path)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not versions:
        raise PostgresUnavailableError(f"no initdb/postgres found: apt-get install {APT_PACKAGE}") from None
    return Path(versions[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bin = server_binaries()
        # Root may not run postgres; the Debian package creates a `postgres` system user for it.
        self.run_as = None
        if os.geteuid() == 0:
            try:
                self.run_as = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailableError(
                    f"running as root and no 'postgres' user: apt-get install {APT_PACKAGE}"
                ) from None
        # Not pytest's tmp_path: that lies under a root-only directory the postgres user cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix="zigtune-postgres-"))
        self.data = self.root / "data"
        self.data.mkdir()
        if self.run_as:
            for path in (self.root, self.data):
                os.chown(path, self.run_as.pw_uid, self.run_as.pw_gid)
        self.port = _free_port()
        self._log = open(self.root / "server.log", "wb")  # noqa: SIM115 - the server writes it until stop()
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust", "-E", "UTF8"])
        self.process = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                *("-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1", "-k", str(self.root)),
                *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            **self._user_args(),
        )
        self._wait_until_ready()

    def _user_args(self) -> dict[str, int]:
        return {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid} if self.run_as else {}

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False, **self._user_args())
        if done.returncode:
            raise PostgresUnavailableError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-500:]}")

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.process.poll() is not None:
                log = (self.root / "server.log").read_text(errors="replace")[-800:]
                raise PostgresUnavailableError(f"postgres exited with {self.process.returncode}: {log}")
            try:
                psycopg2.connect(self.dsn("postgres"), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.1)  # polling for readiness, bounded by the deadline above

    def dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} dbname={database}"

    def create_database(self, name: str) -> None:
        connection = psycopg2.connect(self.dsn("postgres"))
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()

    def query(self, database: str, sql: str, *params: object) -> list[tuple]:
        connection = psycopg2.connect(self.dsn(database))
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: ends open sessions, then exits
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)
