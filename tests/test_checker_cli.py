"""``python -m zigtune.validation check``: one JSON line per file, exit 0 whatever the verdicts, the real Zig."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HELLO = 'const std = @import("std");\n\npub fn main() !void {\n' + (
    '    try std.io.getStdOut().writer().writeAll("hello\\n");\n}\n'
)


def _check(args: list[str], env: dict[str, str], wrap: list[str] | None = None) -> subprocess.CompletedProcess:
    command = [*(wrap or []), sys.executable, "-m", "zigtune.validation", "check", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=900, check=False)


def test_one_json_line_per_file_in_order(tmp_path: Path, zig_sandbox_root: Path, planted_secret) -> None:
    secret, value = planted_secret
    files = {
        "hello.zig": HELLO,
        "bye.zig": HELLO.replace("hello", "bye"),
        "private.zig": 'fn unused() u8 {\n    return "x";\n}\n\n' + HELLO,
        "tests.zig": 'const std = @import("std");\n\ntest "adds" {\n    try std.testing.expect(1 + 1 == 2);\n}\n',
        "hostile.zig": f'const c = @cImport(@cInclude("{secret}"));\n\npub fn main() void {{\n    _ = c;\n}}\n',
    }
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    paths = [str(tmp_path / name) for name in files] + [str(tmp_path / "missing.zig")]
    env = {**os.environ, "ZIGTUNE_SANDBOX_DIR": str(zig_sandbox_root), "ZIGTUNE_DATA_DIR": str(tmp_path / "data")}
    finished = _check([*paths, "--expect-output", "hello"], env)
    assert finished.returncode == 0, finished.stderr[-2000:]
    reports = [json.loads(line) for line in finished.stdout.splitlines()]
    assert [report["file"] for report in reports] == paths
    verdicts = [report["verdict"] for report in reports]
    assert verdicts == ["ok", "wrong_output", "compile_error", "ok", "compile_error", "unreadable"]
    hello, _, private, tests, hostile, missing = reports
    assert set(hello) == {
        "file", "verdict", "mode", "exit_code", "stdout", "stderr", "compile_ms", "run_ms", "duration_ms",
        "zig_version", "engine",
    }  # fmt: skip
    assert (hello["mode"], hello["exit_code"], hello["stdout"], hello["zig_version"]) == ("run", 0, "hello\n", "0.14.0")
    assert hello["compile_ms"] > 0 and hello["run_ms"] > 0
    assert tests["mode"] == "test" and "All 1 tests passed" in tests["stderr"]
    assert private["stderr"].startswith("private.zig:2:12: error: expected type 'u8'")  # its own name
    assert "file not found" in hostile["stderr"]
    assert "FileNotFoundError" in missing["error"]
    assert value not in finished.stdout + finished.stderr

    as_object = _check([str(tmp_path / "tests.zig"), "--mode", "build-obj"], env)
    assert json.loads(as_object.stdout)["verdict"] == "ok" and json.loads(as_object.stdout)["mode"] == "build-obj"


def test_an_engine_that_cannot_start_is_exit_2_and_one_line(tmp_path: Path) -> None:
    (tmp_path / "hello.zig").write_text(HELLO, encoding="utf-8")
    env = {**os.environ, "ZIGTUNE_SANDBOX_DIR": str(tmp_path / "sandbox"), "ZIGTUNE_DATA_DIR": str(tmp_path)}
    # User namespaces switched off, as some distributions ship: max_user_namespaces is 0 in this namespace.
    wrap = [
        "unshare",
        "--user",
        "--map-root-user",
        "sh",
        "-c",
        'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"',
        "-",
    ]
    finished = _check([str(tmp_path / "hello.zig")], env, wrap)
    assert finished.returncode == 2 and finished.stdout == ""
    assert finished.stderr.count("\n") == 1 and "user.max_user_namespaces" in finished.stderr
