"""Validated pairs: the plain validation logic, the remote engine against a local Codapi-protocol
server, the canary, and the Dagster multi-asset with a real instance and the real Zig compiler."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.codapi_server import CodapiServer, Reply, execution
from zigtune.assets.validation import CANARY_CHECK, pair_validation
from zigtune.docs.sections import examples_frame, sections_frame, split_sections
from zigtune.generation.pairs import QA_PAIRS_SCHEMA
from zigtune.resources.codapi import CodapiEngine, CodapiError, CodapiSettings
from zigtune.resources.zig import LocalSandbox, ZigEngine
from zigtune.storage.cache import ContentCache
from zigtune.storage.io_manager import ParquetIOManager
from zigtune.validation.checking import (
    CANARY_EXAMPLES,
    CANNOT_RUN_HERE,
    NOT_SAMPLED,
    NOTHING_TO_CHECK,
    VALIDATED_PAIRS_SCHEMA,
    run_canary,
    validate_pairs,
    verdict_key,
)
from zigtune.validation.sandbox import BuildOptions, LocalZigEngine
from zigtune.validation.verdicts import ExecResult, Verdict, classify_codapi

HELLO = (
    'const std = @import("std");\n\npub fn main() !void {\n    try std.io.getStdOut().writer().writeAll("hi\\n");\n}\n'
)
TEST_OK = 'const std = @import("std");\n\ntest "adds" {\n    try std.testing.expect(1 + 1 == 2);\n}\n'
BROKEN = "pub fn main() void {\n    missing = 1;\n}\n"
PRIVATE_BROKEN = 'fn unused() u8 {\n    return "x";\n}\n\n' + HELLO
LIBC = 'const c = @cImport(@cInclude("stdio.h"));\n\npub fn main() void {\n    _ = c.printf("hi\\n");\n}\n'


def _pair(name: str, response: str, kind: str = "code", expected_output: str | None = None) -> dict[str, object]:
    return {
        "pair_id": name,
        "section_id": "s",
        "breadcrumb": f"Zig > {name}",
        "instruction": f"Show {name}",
        "response": response,
        "kind": kind,
        "generator": "docs",
        "model": "zig-docs",
        "template_hash": "t",
        "expected_output": expected_output,
        "example_name": None,
    }


PAIRS = pl.DataFrame(
    [
        _pair("concept", "The `defer` keyword runs an expression when the scope exits.", kind="concept"),
        _pair("hello", f"Like this:\n```zig\n{HELLO}```", expected_output="hi\n"),
        _pair("wrong_output", f"```zig\n{HELLO}```", expected_output="bye\n"),
        _pair("several_blocks", f"Signature:\n```zig\nfn add(a: i32, b: i32) i32\n```\nTest:\n```zig\n{TEST_OK}```"),
        _pair("same_test_again", f"```zig\n{TEST_OK}```"),
        _pair("non_zig", "In C:\n```c\nint main(void) { return 0; }\n```"),
        _pair("broken", f"```zig\n{BROKEN}```"),
        _pair("needs_main", '```zig\nconst x = 5;\nstd.debug.print("{}\\n", .{x});\n```'),
        _pair("unfenced", HELLO),
        _pair("private_broken", f"```zig\n{PRIVATE_BROKEN}```"),
        _pair("prose_unknown_api", "Copy a slice with `std.mem.copy(u8, dest, src)`.", kind="concept"),
        _pair("prose_known_api", "Copy with `@memcpy` or `std.mem.copyForwards`; `@intCast` narrows.", kind="concept"),
    ],
    schema=QA_PAIRS_SCHEMA,
)
VERDICTS = {
    "concept": "unchecked",
    "hello": "ok",
    "wrong_output": "wrong_output",
    "several_blocks": "ok",
    "same_test_again": "ok",
    "non_zig": "unchecked",
    "broken": "compile_error",
    "needs_main": "compile_error",
    "unfenced": "ok",
    "private_broken": "compile_error",
    "prose_unknown_api": "unknown_api",
    "prose_known_api": "ok",
}


@pytest.fixture(scope="module")
def examples(docs_markdown: str) -> pl.DataFrame:
    return examples_frame(sections_frame(split_sections(docs_markdown)))


def test_validate_pairs_verdicts_and_cache(zig_sandbox_root: Path, tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "verdicts")
    engine = LocalZigEngine(zig_sandbox_root)
    validated, rejected, stats = asyncio.run(validate_pairs(PAIRS, engine, cache))
    frame = pl.concat([validated, rejected])
    assert dict(frame.select("pair_id", "verdict").iter_rows()) == VERDICTS
    assert set(validated["pair_id"]) == {
        "concept", "hello", "several_blocks", "same_test_again", "non_zig", "unfenced", "prose_known_api"
    }  # fmt: skip
    assert validated.schema == VALIDATED_PAIRS_SCHEMA and rejected.schema == VALIDATED_PAIRS_SCHEMA
    row = {r["pair_id"]: r for r in frame.iter_rows(named=True)}
    assert "use of undeclared identifier 'missing'" in row["broken"]["stderr"]
    assert "expected type 'u8'" in row["private_broken"]["stderr"]  # a function nothing calls is analysed too
    assert row["prose_unknown_api"]["unknown_apis"] == ["std.mem.copy"]
    assert "std.mem.copy: Zig 0.14.0 has no such declaration" in row["prose_unknown_api"]["stderr"]
    assert row["prose_known_api"]["api_names"] == ["@memcpy", "std.mem.copyForwards", "@intCast"]
    assert (row["concept"]["has_code"], row["concept"]["unchecked_reason"]) == (False, NOTHING_TO_CHECK)
    checked_by = {name: r["checked_by"] for name, r in row.items()}
    assert (checked_by["hello"], checked_by["prose_known_api"], checked_by["concept"]) == ("code", "api_names", None)
    assert not row["concept"]["passed"] and row["prose_known_api"]["passed"]
    # hello/wrong_output/unfenced share one program and both test pairs one test: 5 distinct checks;
    # the four API names (two builtins, two std paths) took one ast-check and two build-objs
    # (std.mem.copy fails the first, std.mem.copyForwards is checked again without it).
    assert (stats.compiled, stats.cached, stats.api_compiles, stats.api_cached) == (5, 0, 3, 0)

    again_validated, again_rejected, again = asyncio.run(validate_pairs(PAIRS, engine, cache))
    # four distinct API names (three in prose_known_api, std.mem.copy in prose_unknown_api), all cached
    assert (again.compiled, again.cached, again.api_compiles, again.api_cached) == (0, 5, 0, 4)
    assert again_validated.equals(validated) and again_rejected.equals(rejected)


def test_progress_lines_count_each_calls_own_cached_jobs(zig_sandbox_root: Path, tmp_path: Path) -> None:
    """One checker (one ``CheckStats``) serves many calls, as in the offline generator: each call's first line
    counts that call's jobs answered from the cache, not the run's running total."""
    from zigtune.generation.execution import engine_checker, job
    from zigtune.validation.checking import CheckStats

    lines: list[str] = []
    check = engine_checker(LocalZigEngine(zig_sandbox_root), ContentCache(tmp_path), CheckStats(), lines.append)
    codes = ["test {}\n", 'test { try @import("std").testing.expect(1 + 1 == 2); }\n', "pub fn main() void {}\n"]
    for count in (1, 2, 3):  # each call adds one new job to the ones before
        asyncio.run(check([job(code) for code in codes[:count]]))
    assert [line for line in lines if line.startswith("checking ")] == [
        "checking 1 snippets (0 from the cache) with the fast strategy",
        "checking 1 snippets (1 from the cache) with the fast strategy",
        "checking 1 snippets (2 from the cache) with the fast strategy",
    ]


def test_sampling_fraction_marks_the_rest_unchecked(zig_sandbox_root: Path, tmp_path: Path) -> None:
    pairs = pl.DataFrame([_pair(f"p{i}", f"```zig\n{TEST_OK}// {i}\n```") for i in range(4)], schema=QA_PAIRS_SCHEMA)
    validated, rejected, stats = asyncio.run(
        validate_pairs(pairs, LocalZigEngine(zig_sandbox_root), ContentCache(tmp_path), sample_fraction=0.5)
    )
    assert sorted(validated["verdict"]) == ["ok", "ok", "unchecked", "unchecked"]
    assert set(validated.filter(pl.col("verdict") == "unchecked")["unchecked_reason"]) == {NOT_SAMPLED}
    assert rejected.is_empty() and stats.compiled == 2
    with pytest.raises(ValueError, match="sample_fraction"):
        asyncio.run(validate_pairs(pairs, LocalZigEngine(zig_sandbox_root), None, sample_fraction=0))


def test_reference_examples_are_checked_with_their_own_build_options(zig_sandbox_root: Path, tmp_path: Path) -> None:
    """A libc example compiles only with libc; a wasm example is built, not run, and so stays unchecked."""
    pairs = pl.DataFrame(
        [
            {**_pair("libc", f"```zig\n{LIBC}```", expected_output="hi\n"), "example_name": "libc_hello.zig"},
            {**_pair("wasi", f"```zig\n{HELLO}```", expected_output="hi\n"), "example_name": "wasi_hello.zig"},
        ],
        schema=QA_PAIRS_SCHEMA,
    )
    options = {
        "libc_hello.zig": BuildOptions(link_libc=True, file_name="libc_hello.zig"),
        "wasi_hello.zig": BuildOptions(target="wasm32-wasi", file_name="wasi_hello.zig"),
    }
    engine = LocalZigEngine(zig_sandbox_root)
    validated, rejected, _ = asyncio.run(validate_pairs(pairs, engine, None, example_options=options))
    assert rejected.is_empty(), rejected.select("pair_id", "stderr").rows()
    row = {r["pair_id"]: r for r in validated.iter_rows(named=True)}
    assert (row["libc"]["verdict"], row["libc"]["stdout"], row["libc"]["checked_by"]) == ("ok", "hi\n", "code")
    assert row["wasi"]["verdict"] == "unchecked" and row["wasi"]["unchecked_reason"].startswith(CANNOT_RUN_HERE)
    _, without_options, _ = asyncio.run(validate_pairs(pairs.head(1), engine, None))
    assert without_options["verdict"].to_list() == ["compile_error"]  # what ignoring the options did


# --- the remote engine against a local server speaking Codapi's protocol ---------------------------


def _remote(server: CodapiServer, **kwargs: object) -> CodapiEngine:
    return CodapiEngine(CodapiSettings(base_url=server.url, retry_backoff_s=0.01, **kwargs))  # type: ignore[arg-type]


async def _execute(engine: CodapiEngine, code: str, mode: str):
    try:
        return await engine.execute(code, mode)
    finally:
        await engine.close()


def test_remote_success_and_compile_failure_with_real_zig(codapi_server: CodapiServer) -> None:
    engine = _remote(codapi_server)

    async def both():
        try:
            return await engine.execute(HELLO, "run"), await engine.execute(BROKEN, "run")
        finally:
            await engine.close()

    ok, broken = asyncio.run(both())
    assert (ok.verdict, ok.stdout, ok.zig_version, ok.engine) == (Verdict.OK, "hi\n", "0.14.0", "codapi")
    assert broken.verdict is Verdict.COMPILE_ERROR
    assert "use of undeclared identifier 'missing'" in broken.stderr
    first = codapi_server.requests[0]
    assert set(first) == {"sandbox", "command", "files"} and first["sandbox"] == "zig" and first["command"] == "run"


@pytest.mark.parametrize(("status", "text"), [(400, "files: empty"), (404, "unknown sandbox")])
def test_remote_client_errors_stop_without_retrying(codapi_server: CodapiServer, status: int, text: str) -> None:
    codapi_server.replies.append(Reply(status, execution("-", False, stderr=text)))
    engine = _remote(codapi_server)
    with pytest.raises(CodapiError, match=f"HTTP {status} {text}"):
        asyncio.run(_execute(engine, HELLO, "run"))
    assert engine.requests == 1


def test_remote_unknown_command_is_codapis_404(codapi_server: CodapiServer) -> None:
    engine = _remote(codapi_server, commands={"run": "compile"})
    with pytest.raises(CodapiError, match="HTTP 404 unknown command"):
        asyncio.run(_execute(engine, HELLO, "run"))


def test_remote_retries_429_and_5xx(codapi_server: CodapiServer) -> None:
    codapi_server.replies.extend(
        [
            Reply(200, execution("-", True, stdout="0.14.0")),  # the version probe
            Reply(429, execution("-", False, stderr="busy: try again later"), headers={"Retry-After": "0"}),
            Reply(500, execution("-", False, stderr="internal error")),
            Reply(200, execution("-", True, stdout="hi\n", duration=12)),
        ]
    )
    engine = _remote(codapi_server)
    result = asyncio.run(_execute(engine, HELLO, "run"))
    assert (result.verdict, result.stdout, result.duration_ms) == (Verdict.OK, "hi\n", 12.0)
    assert engine.requests == 4


def test_remote_gives_up_after_retries_as_a_sandbox_error(codapi_server: CodapiServer) -> None:
    codapi_server.replies.append(Reply(200, execution("-", True, stdout="0.14.0")))
    codapi_server.replies.extend(Reply(429, execution("-", False, stderr="busy: try again later")) for _ in range(3))
    engine = _remote(codapi_server, max_retries=2)
    result = asyncio.run(_execute(engine, HELLO, "run"))
    assert result.verdict is Verdict.SANDBOX_ERROR
    assert "failed 3 times: HTTP 429 busy: try again later" in result.stderr


def test_remote_codapi_timeout_answer_and_a_hung_server(codapi_server: CodapiServer) -> None:
    codapi_server.replies.extend(
        [
            Reply(200, execution("-", True, stdout="0.14.0")),
            Reply(200, execution("-", False, stderr="code execution timeout")),
            Reply(200, execution("-", True), delay_s=2.0),  # longer than the client's timeout
            Reply(200, execution("-", True), delay_s=2.0),
        ]
    )
    engine = _remote(codapi_server, request_timeout_s=0.3, max_retries=1)

    async def both():
        try:
            return await engine.execute(HELLO, "run"), await engine.execute(HELLO, "run")
        finally:
            await engine.close()

    timed_out, hung = asyncio.run(both())
    assert timed_out.verdict is Verdict.TIMEOUT
    assert hung.verdict is Verdict.SANDBOX_ERROR and "TimeoutError" in hung.stderr


def test_classify_codapi_answers() -> None:
    assert (
        classify_codapi(
            "test",
            False,
            "1/1 t.test.a...FAIL (TestUnexpectedResult)\n0 passed; 0 skipped; 1 failed.\n (exit status 1)",
        )
        is Verdict.TEST_FAILURE
    )
    assert (
        classify_codapi("test", False, "thread 1 panic: integer overflow\n (signal: aborted)") is Verdict.RUNTIME_ERROR
    )
    assert (
        classify_codapi("run", False, "main.zig:2:5: error: use of undeclared identifier 'x'") is Verdict.COMPILE_ERROR
    )
    assert classify_codapi("run", False, "error: OutOfMemory\n (exit status 1)") is Verdict.KILLED


# --- the canary ------------------------------------------------------------------------------


def test_canary_passes_with_the_local_engine(zig_sandbox_root: Path, examples: pl.DataFrame) -> None:
    report = asyncio.run(run_canary(LocalZigEngine(zig_sandbox_root), examples))
    assert report.passed, report.problems
    assert report.zig_version == "0.14.0"
    assert sorted(report.examples["name"]) == sorted(CANARY_EXAMPLES)


def _scripted_canary(server: CodapiServer, version: str, ok: bool) -> None:
    server.replies.append(Reply(200, execution("-", True, stdout=version)))
    server.replies.extend(Reply(200, execution("-", ok, stdout="")) for _ in CANARY_EXAMPLES)


def test_canary_fails_on_a_wrong_version_or_wrong_verdicts(codapi_server: CodapiServer, examples: pl.DataFrame) -> None:
    _scripted_canary(codapi_server, "0.13.0", ok=True)  # an engine that says "ok" to everything
    engine = _remote(codapi_server)

    async def canary():
        try:
            return await run_canary(engine, examples)
        finally:
            await engine.close()

    report = asyncio.run(canary())
    assert not report.passed
    assert report.problems[0] == "the codapi engine runs Zig 0.13.0, not 0.14.0"
    assert any(p.startswith("test_blocks.zig: expected compile_error, got ok") for p in report.problems)
    assert len(report.problems) == 1 + 4  # the version, and the four examples that must fail


# --- the Dagster multi-asset ------------------------------------------------------------------


def _definitions(docs_markdown: str, pairs: pl.DataFrame):
    @dg.asset(name="qa_pairs", group_name="generation")
    def qa_pairs_stub() -> pl.DataFrame:
        return pairs

    @dg.asset(name="doc_sections", group_name="docs")
    def doc_sections_stub() -> pl.DataFrame:
        return sections_frame(split_sections(docs_markdown))

    return [qa_pairs_stub, doc_sections_stub, pair_validation]


def _hostile_pairs(secret: Path) -> list[dict[str, object]]:
    """Pairs whose code goes for the planted secret: at compile time, and at run time."""
    include = f'const c = @cImport(@cInclude("{secret}"));\n\npub fn main() void {{\n    _ = c;\n}}\n'
    read = HELLO.replace(
        'try std.io.getStdOut().writer().writeAll("hi\\n");',
        f'const f = try std.fs.openFileAbsolute("{secret}", .{{}});\n'
        "    var buffer: [64]u8 = undefined;\n"
        "    const n = try f.readAll(&buffer);\n"
        "    try std.io.getStdOut().writer().writeAll(buffer[0..n]);\n"
        '    std.debug.print("{s}", .{std.posix.getenv("ZIGTUNE_PLANTED_SECRET") orelse ""});',
    )
    return [_pair("hostile_include", f"```zig\n{include}```"), _pair("hostile_read", f"```zig\n{read}```")]


def _text_of(frame: pl.DataFrame) -> str:
    return repr(frame.to_dicts())


def test_materialize_validated_and_rejected_pairs(
    docs_markdown: str, data_dir: Path, zig_sandbox_root: Path, tmp_path: Path, planted_secret
) -> None:
    """The asset counts checked, unchecked and rejected pairs apart; a planted secret reaches no table,
    metadata entry or event."""
    secret, value = planted_secret
    pairs = pl.concat([PAIRS, pl.DataFrame(_hostile_pairs(secret), schema=QA_PAIRS_SCHEMA)])
    resources = {
        "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root))),
        "io_manager": ParquetIOManager(base_path=str(tmp_path / "assets")),
    }
    result = dg.materialize(
        _definitions(docs_markdown, pairs), resources=resources, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    validated = pl.read_parquet(tmp_path / "assets" / "validated_pairs.parquet")
    rejected = pl.read_parquet(tmp_path / "assets" / "rejected_pairs.parquet")
    assert sorted(rejected["pair_id"]) == [
        "broken", "hostile_include", "hostile_read", "needs_main", "private_broken", "prose_unknown_api", "wrong_output"
    ]  # fmt: skip
    assert validated.height == 7
    verdict = dict(rejected.select("pair_id", "verdict").iter_rows())
    assert (verdict["hostile_include"], verdict["hostile_read"]) == ("compile_error", "runtime_error")
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [(CANARY_CHECK, True)]
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("pair_validation")[0].metadata.items()}
    assert (metadata["pairs"], metadata["checked"], metadata["passed"]) == (14, 12, 5)
    assert (metadata["rejected"], metadata["unchecked"]) == (7, 2)
    assert metadata["pass_rate"] == pytest.approx(5 / 12, abs=1e-3)
    assert metadata["verdicts"] == {
        "compile_error": 4, "ok": 5, "unchecked": 2, "runtime_error": 1, "unknown_api": 1, "wrong_output": 1
    }  # fmt: skip
    assert metadata["checked_by"] == {"code": 10, "api_names": 2}
    assert metadata["unchecked_reasons"] == {NOTHING_TO_CHECK: 2}
    assert metadata["api_names_unknown"] == ["std.mem.copy"]

    # The secret: in no table, no metadata entry, no event of the run (compiler words and program output included).
    assert value not in _text_of(validated) + _text_of(rejected)
    for materialization in result.asset_materializations_for_node("pair_validation"):
        assert value not in repr(materialization.metadata)
    assert value not in "".join(repr(event) for event in result.all_events)
    assert secret.read_text(encoding="utf-8").strip() == value


def _forge_ok(cache: ContentCache, code: str, mode: str) -> None:
    """A verdict ``ok`` for ``code`` written into ``cache`` as if a check had given it."""
    forged = ExecResult(Verdict.OK, 1.0, "hi\n", "", "0.14.0", "local", exit_code=0)
    cache.put(verdict_key(code, mode, BuildOptions(), "0.14.0"), forged.to_dict())


def test_validation_checks_with_its_own_cache_and_a_plain_recheck(
    docs_markdown: str, data_dir: Path, zig_sandbox_root: Path, tmp_path: Path
) -> None:
    """The generator's verdict cache cannot validate a pair: a broken program the generator's cache calls ``ok``
    is rejected. Validation's own cache is checked by the plain re-check: a forged ``ok`` there is counted as a
    disagreement, in the metadata and the log."""
    generator_cache, validation_cache = (
        ContentCache(data_dir / "cache" / "verdicts"),
        ContentCache(data_dir / "cache" / "validation"),
    )
    other_broken = BROKEN.replace("missing", "absent")
    _forge_ok(generator_cache, BROKEN, "run")
    _forge_ok(validation_cache, other_broken, "run")
    pairs = pl.DataFrame(
        [
            _pair("hello", f"```zig\n{HELLO}```", expected_output="hi\n"),
            _pair("broken", f"```zig\n{BROKEN}```"),
            _pair("forged_in_validation_cache", f"```zig\n{other_broken}```"),
        ],
        schema=QA_PAIRS_SCHEMA,
    )
    resources = {
        "zig": ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root))),
        "io_manager": ParquetIOManager(base_path=str(tmp_path / "assets")),
    }
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            _definitions(docs_markdown, pairs),
            resources=resources,
            instance=instance,
            run_config={"ops": {"pair_validation": {"config": {"plain_recheck": 10}}}},
        )
        logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert result.success
    rejected = pl.read_parquet(tmp_path / "assets" / "rejected_pairs.parquet")
    assert dict(rejected.select("pair_id", "verdict").iter_rows()) == {"broken": "compile_error"}
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("pair_validation")[0].metadata.items()}
    assert (metadata["compiled"], metadata["cached"]) == (2, 1)  # the forged entry of its own cache was read
    assert (metadata["plain_rechecked"], metadata["plain_disagreements"]) == (3, 1)
    assert "forged_in_validation_cache" in metadata["plain_disagreement_pairs"]
    assert "compile_error" in metadata["plain_disagreement_pairs"]
    assert any("the plain strategy disagrees on pair forged_in_validation_cache" in line for line in logs)
    assert any("3 checked again with the plain strategy: 1 disagree" in line for line in logs)


def test_failed_canary_stops_validation_with_a_clear_message(
    docs_markdown: str, data_dir: Path, codapi_server: CodapiServer, tmp_path: Path
) -> None:
    _scripted_canary(codapi_server, "0.14.0", ok=True)
    resources = {
        "zig": ZigEngine(engine="codapi", codapi=CodapiSettings(base_url=codapi_server.url, retry_backoff_s=0.01)),
        "io_manager": ParquetIOManager(base_path=str(tmp_path / "assets")),
    }
    result = dg.materialize(
        _definitions(docs_markdown, PAIRS),
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error_display_string
    assert "validation stopped: the codapi Zig engine disagrees with the reference" in message
    assert "test_blocks.zig: expected compile_error, got ok" in message
    assert not (tmp_path / "assets" / "validated_pairs.parquet").exists()
    assert len(codapi_server.requests) == 1 + len(CANARY_EXAMPLES)  # no pair was sent


def test_the_default_resource_switches_to_a_remote_codapi_from_the_environment(
    codapi_server: CodapiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zigtune.resources.zig import zig_from_env

    monkeypatch.setenv("ZIGTUNE_ZIG_ENGINE", "remote")
    monkeypatch.setenv("CODAPI_URL", codapi_server.url)
    engine = zig_from_env().create_engine()
    result = asyncio.run(_execute(engine, HELLO, "run"))
    assert (result.verdict, result.stdout, result.engine) == (Verdict.OK, "hi\n", "codapi")
    assert HELLO in codapi_server.requests[-1]["files"].values()


CODAPI_KEY = "codapi-test-key-0123456789abcdef"


def test_the_codapi_key_from_the_environment_reaches_codapi_outside_a_run(
    codapi_server: CodapiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker CLI builds the engine without a Dagster run: the key's dg.EnvVar is read, not sent as its name."""
    from zigtune.resources.zig import zig_from_env

    monkeypatch.setenv("ZIGTUNE_ZIG_ENGINE", "codapi")
    monkeypatch.setenv("CODAPI_URL", codapi_server.url)
    monkeypatch.setenv("CODAPI_API_KEY", CODAPI_KEY)
    result = asyncio.run(_execute(zig_from_env().create_engine(), HELLO, "run"))
    assert result.verdict is Verdict.OK
    assert codapi_server.authorizations == [f"Bearer {CODAPI_KEY}"] * 2  # the version probe, the check


def _materialize_against_scripted_codapi(
    server: CodapiServer, docs_markdown: str, resources: dict, run_config: dict | None = None
) -> dg.ExecuteInProcessResult:
    """A run whose canary meets a Codapi that says "ok" to examples that must fail: it stops after the canary."""
    _scripted_canary(server, "0.14.0", ok=True)
    sent_before = len(server.requests)
    result = dg.materialize(
        _definitions(docs_markdown, PAIRS),
        resources=resources,
        run_config=run_config,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "the codapi Zig engine disagrees with the reference" in failure.event_specific_data.error_display_string
    assert len(server.requests) - sent_before == 1 + len(CANARY_EXAMPLES)  # they reached this server
    return result


def test_run_config_with_only_the_codapi_address_reaches_the_codapi_client(
    docs_markdown: str, data_dir: Path, codapi_server: CodapiServer, tmp_path: Path
) -> None:
    run_config = {"resources": {"zig": {"config": {"engine": "codapi", "codapi": {"base_url": codapi_server.url}}}}}
    resources = {"zig": ZigEngine(), "io_manager": ParquetIOManager(base_path=str(tmp_path / "assets"))}
    _materialize_against_scripted_codapi(codapi_server, docs_markdown, resources, run_config)
    assert set(codapi_server.authorizations) == {None}


def test_the_codapi_key_reaches_codapi_and_nothing_dagster_stores_or_shows(
    docs_markdown: str, data_dir: Path, codapi_server: CodapiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CODAPI_API_KEY`` (a dg.EnvVar in the default resource, or ``{env: CODAPI_API_KEY}`` in run config) reaches
    Codapi's Authorization header, and no run config, stored run, event or the snapshot the UI is sent."""
    from dagster._core.remote_representation.external_data import RepositorySnap  # what the webserver shows
    from dagster._serdes import serialize_value

    from zigtune.resources.zig import zig_from_env

    monkeypatch.setenv("ZIGTUNE_ZIG_ENGINE", "codapi")
    monkeypatch.setenv("CODAPI_URL", codapi_server.url)
    monkeypatch.setenv("CODAPI_API_KEY", CODAPI_KEY)
    resources = {"zig": zig_from_env(), "io_manager": ParquetIOManager(base_path=str(tmp_path / "assets"))}
    definitions = dg.Definitions(assets=_definitions(docs_markdown, PAIRS), resources=resources)
    snapshot = RepositorySnap.from_def(definitions.get_repository_def())
    assert CODAPI_KEY not in serialize_value(snapshot)
    zig = next(resource for resource in snapshot.resources if resource.name == "zig")
    assert json.loads(zig.configured_values["codapi"])["api_key"] == {"env": "CODAPI_API_KEY"}  # the UI shows its name

    from_env = _materialize_against_scripted_codapi(codapi_server, docs_markdown, resources)
    codapi = {"base_url": codapi_server.url, "api_key": {"env": "CODAPI_API_KEY"}}
    run_config = {"resources": {"zig": {"config": {"engine": "codapi", "codapi": codapi}}}}
    from_run_config = _materialize_against_scripted_codapi(codapi_server, docs_markdown, resources, run_config)
    assert codapi_server.authorizations == [f"Bearer {CODAPI_KEY}"] * 2 * (1 + len(CANARY_EXAMPLES))
    for result in (from_env, from_run_config):
        stored = result.dagster_run
        assert CODAPI_KEY not in repr(stored) + "".join(repr(event) for event in result.all_events)
    assert from_run_config.dagster_run.run_config == run_config


def test_the_zig_resource_shows_the_two_engines_as_described_sections() -> None:
    fields = ZigEngine.to_config_schema().as_field().config_type.fields  # type: ignore[attr-defined]
    assert set(fields) == {"engine", "local", "codapi"}
    sections = {
        "local": {"concurrency", "run_as_uid", "run_timeout_s", "memory_mb", "sandbox_dir"},
        "codapi": {
            "base_url", "sandbox", "commands", "api_key", "concurrency", "request_timeout_s", "max_retries",
            "retry_backoff_s",
        },
    }  # fmt: skip
    for section, names in sections.items():
        assert fields[section].description
        settings = fields[section].config_type.fields
        assert set(settings) == names
        assert all(setting.description for setting in settings.values()), section
    assert "CPU cores" in fields["local"].config_type.fields["concurrency"].description
    with pytest.raises(ValueError, match="concurrency"):
        CodapiSettings(concurrency=0)  # an engine that would never send a request
    with pytest.raises(ValueError, match="run_timeout_s"):
        LocalSandbox(run_timeout_s=0)
    with pytest.raises(ValueError, match="run_timeout_s"):
        LocalSandbox(run_timeout_s=float("inf"))  # endless code would never be stopped
    with pytest.raises(ValueError, match="request_timeout_s"):
        CodapiSettings(request_timeout_s=float("nan"))
