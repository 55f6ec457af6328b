"""The offline task families on small real snippets, checked with the real Zig 0.14 compiler, and in Dagster.

One Dagster materialization (``zig_docs`` -> ``doc_sections`` -> ``qa_pairs``) runs the offline generator
on a small reference-shaped docs file; its verdicts land in the run's verdict cache, and the family
tests below call each family's function again with a checker on that cache, so the snippets are
compiled once (~25 compiles). The checks that must reject something get a cheat to reject.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from tests.test_dataset import materialize_offline
from zigtune.generation.execution import CheckedProgram, Checker, checked_programs, engine_checker, read_test_report
from zigtune.generation.implement_tests import fails_at_placeholder, functions, stub
from zigtune.generation.migration_repair import migration_repair_pairs
from zigtune.generation.migrations import MigrationRule
from zigtune.generation.offline import reference_pairs
from zigtune.generation.pairs import QA_PAIRS_SCHEMA
from zigtune.generation.variants import mutate, mutation_sites, variant_pairs
from zigtune.generation.version import GENERATION_DIR, OFFLINE_EXTRA_SOURCES, OFFLINE_VERSION, offline_version
from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckStats
from zigtune.validation.code_extraction import extract_zig_code
from zigtune.validation.sandbox import LocalZigEngine
from zigtune.validation.verdicts import Verdict, output_matches

TESTED = """const std = @import("std");
const expect = std.testing.expect;

fn sumTo(n: u32) u32 {
    var total: u32 = 0;
    for (0..n + 1) |i| total += @intCast(i);
    return total;
}

fn double(x: u8) u8 {
    return x * 2;
}

test "sum to ten" {
    const value: u8 = @intCast(sumTo(10));
    try expect(value == 55);
}
"""

PROGRAM = """const std = @import("std");

pub fn main() void {
    var total: u32 = 0;
    for (0..4) |i| {
        total += @intCast(i * 3);
    }
    std.debug.print("total {d} of {s}\\n", .{ total, "items" });
}
"""

CONSTANT = """test "assign to constant" {
    const x: i32 = 1;
    x += 1;
}
"""

PARSE = """const std = @import("std");

fn digit(x: u8) !u8 {
    if (x > 9) return error.TooBig;
    return x;
}

test "too big" {
    const r = digit(12) catch |err| switch (err) {
        error.TooBig => 0,
    };
    try std.testing.expect(r == 0);
}
"""

MISLABELLED = """test "this compiles" {
    const x: i32 = 1;
    _ = x;
}
"""

DOCS = f"""# Zig Language Reference

## Sums

Sums of ranges come up often. A function that adds up `0..n` and a test that checks it look like this:

<!-- example: sums.zig kind=test expect=pass -->
```zig
{TESTED}```

<!-- output: sums.zig -->
**Shell**
```
$ zig test sums.zig
1/1 sums.test.sum to ten...OK
All 1 tests passed.
```

A declaration on its own is checked too:

```zig
const limit: u32 = 10;
```

## Printing

A program prints with `std.debug.print`, which writes to standard error. This one adds up a few numbers first:

<!-- example: count.zig kind=exe expect=pass -->
```zig
{PROGRAM}```

<!-- output: count.zig -->
**Shell**
```
$ zig build-exe count.zig
$ ./count
total 18 of items
```

## Constants

A constant cannot be assigned to after its declaration; the compiler rejects the attempt:

<!-- example: constant.zig kind=test expect=compile_error error="cannot assign to constant" -->
```zig
{CONSTANT}```

<!-- example: mislabelled.zig kind=test expect=compile_error error="never fails" -->
```zig
{MISLABELLED}```

## Errors

A function whose error set is inferred returns the errors its body can return, and a caller can switch on them.
The switch below handles the only error `digit` can return, so it needs no `else` prong:

<!-- example: parse.zig kind=test expect=pass -->
```zig
{PARSE}```

## Plain words

This section has no code at all. It only talks about the language, in enough words to be worth a question,
and nothing in it was cut out, so its concept pair is kept as it is, with nothing to run.

## Broken fragments

This section quotes a fragment that does not even parse, so its concept pair cannot be checked. The
fragment is not an annotated example, so only `zig ast-check` can look at it, and it fails there: the
pair is dropped, and the ledger says why.

```zig
const broken = ;
```

The fragment again, as a reader would meet it in the middle of an explanation:

```zig
const broken = ;
```
"""


def run_with_checker(cache_dir: Path, sandbox: Path, work: Callable[[Checker], Awaitable[Any]]) -> Any:
    """Run ``work`` with a checker on a fresh engine (one per event loop) and the given verdict cache."""

    async def main() -> Any:
        engine = LocalZigEngine(sandbox, concurrency=2)
        return await work(engine_checker(engine, ContentCache(cache_dir), CheckStats()))

    return asyncio.run(main())


@pytest.fixture(scope="module")
def materialized(zig_sandbox_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``zig_docs``, ``doc_sections`` and ``qa_pairs`` materialized on ``DOCS`` with the real Zig engine."""
    from zigtune.assets import docs, qa_pairs

    root = tmp_path_factory.mktemp("offline")
    docs_path = root / "docs.md"
    docs_path.write_text(DOCS, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZIGTUNE_DATA_DIR", str(root / "data"))
        patch.delenv("NOVITA_API_KEY", raising=False)
        with dg.instance_for_test() as instance:
            result = materialize_offline((docs, qa_pairs), docs_path, zig_sandbox_root, instance)
            logs = [event.user_message for event in instance.all_logs(result.run_id)]
        assert result.success
        metadata = {
            e.materialization.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()
        }
        data = root / "data"
        yield {
            "pairs": pl.read_parquet(data / "assets" / "qa_pairs.parquet"),
            "rejects": pl.read_parquet(data / "assets" / "qa_rejects.parquet"),
            "sections": pl.read_parquet(data / "assets" / "doc_sections.parquet"),
            "metadata": metadata["qa_pairs"],
            "cache": data / "cache" / "verdicts",
            "sandbox": zig_sandbox_root,
            "logs": logs,
        }


@pytest.fixture(scope="module")
def programs(materialized: dict[str, Any]) -> list[CheckedProgram]:
    checked, _ = run_with_checker(
        materialized["cache"], materialized["sandbox"], lambda check: checked_programs(materialized["sections"], check)
    )
    return checked


def family(materialized: dict[str, Any], name: str) -> pl.DataFrame:
    return materialized["pairs"].filter(pl.col("family") == name)


# -- Dagster -----------------------------------------------------------------------------------------------------


def test_the_generation_stage_runs_every_family_and_says_how_pairs_were_checked(materialized) -> None:
    pairs, meta = materialized["pairs"], materialized["metadata"]
    assert pairs.schema == QA_PAIRS_SCHEMA
    assert meta["generator"] == "docs"
    by_family = meta["offline_pairs_by_family"]
    assert {name: n for name, n in by_family.items() if n} == dict(pairs.group_by("family").len().iter_rows())
    for name in ("reference_example", "migration_repair", "predict_output", "variant", "spec_to_code"):
        assert by_family[name] > 0, name
    assert by_family["implement_tests"] == 2 and by_family["concept"] == 4
    # The Zig checks report progress in the run's log (done/total, rate, ETA).
    logs = materialized["logs"]
    assert any(line.startswith("checking ") and "with the fast strategy" in line for line in logs)
    assert any(line.startswith("checked ") and "(100%)" in line and "ETA" in line for line in logs)
    assert set(pairs["template_hash"]) == {OFFLINE_VERSION} and set(pairs["generator"]) == {"docs"}
    assert pairs["checked"].sum() == meta["offline_checked"] == pairs.height - 1  # "Plain words" has no code
    behaviour = pairs.filter(pl.col("behaviour_check").is_in(["tests", "output"]))
    assert meta["offline_behaviour_checked"] == behaviour.height
    assert meta["offline_zig_compiled"] > 15
    # Every checked candidate that was dropped is in the reject ledger, with its family and reason.
    rejects = materialized["rejects"]
    reasons = set(rejects["reason"])
    assert "implement_tests: stub_passes" in reasons
    assert "failure_explanation: not_reproduced" in reasons
    assert "concept: fragment_fails_ast_check" in reasons
    dropped = meta["offline_dropped_by_family"]
    assert dropped["implement_tests"] == {"stub_passes": 1}
    assert dropped["concept"] == {"example_not_reproduced": 1, "fragment_fails_ast_check": 1, "short_section": 1}


# -- reference examples and failures ------------------------------------------------------------------------------


def test_reference_pairs_use_what_running_printed(materialized) -> None:
    examples = family(materialized, "reference_example")
    count = examples.filter(pl.col("example_name") == "count.zig").row(0, named=True)
    assert count["expected_output"] == "total 18 of items\n" and count["behaviour_check"] == "output"
    sums = examples.filter(pl.col("example_name") == "sums.zig").row(0, named=True)
    assert sums["behaviour_check"] == "tests" and sums["expected_output"] is None


def test_failures_without_a_fix_are_dropped_by_default_and_quote_this_compiler_when_asked(
    materialized, programs
) -> None:
    assert family(materialized, "failure_explanation").height == 0  # the reference shows no fix: dropped
    assert materialized["metadata"]["offline_dropped_by_family"]["failure_explanation"] == {
        "no_fix_shown": 1,
        "not_reproduced": 1,
    }
    _, kept = reference_pairs(programs, failures_without_fix=True)
    failures = pl.DataFrame(kept.rows, schema=QA_PAIRS_SCHEMA)
    assert failures["example_name"].to_list() == ["constant.zig"]  # mislabelled.zig compiles: dropped
    answer = failures["response"][0]
    assert answer.startswith("It does not compile. The compiler reports `error: cannot assign to constant` at line 3")
    assert failures["check_code"][0] == CONSTANT and failures["behaviour_check"][0] == "error"


# -- migration repair ---------------------------------------------------------------------------------------------


def test_migration_pairs_fail_under_0_14_with_the_quoted_message_and_the_fix_passes(materialized, programs) -> None:
    migrations = family(materialized, "migration_repair")
    assert migrations.height >= 4
    for row in migrations.iter_rows(named=True):
        old = re.search(r"```zig\n(.*?)```", row["instruction"], re.DOTALL)
        message = re.search(r"```text\n(.*?)\n```", row["instruction"], re.DOTALL)
        assert old and message and "error: " in message.group(1)
        fixed = extract_zig_code(row["response"])
        assert fixed in (TESTED, PROGRAM, PARSE) and old.group(1) != fixed
        assert re.search(r"Zig 0\.\d+", row["response"].rsplit("```", 1)[1])  # the sentence names the release

    olds = [re.search(r"```zig\n(.*?)```", i, re.DOTALL).group(1) for i in migrations["instruction"]]  # type: ignore[union-attr]
    by_name = {checked.program.name: checked.program for checked in programs}
    jobs = [by_name[name].job(old) for name, old in zip(migrations["example_name"], olds, strict=True)]

    def rerun(check: Checker):
        return check(jobs)

    results = run_with_checker(materialized["cache"], materialized["sandbox"], rerun)
    for row, check in zip(migrations.iter_rows(named=True), jobs, strict=True):
        result = results[check]
        assert result.verdict is Verdict.COMPILE_ERROR
        quoted = re.search(r"error: (.*)", row["instruction"]).group(1)  # type: ignore[union-attr]
        assert quoted in result.stderr
    kinds = set(migrations["response"].str.extract(r"(Zig 0\.\d+)"))
    assert len(kinds) >= 2


def test_migration_rules_that_do_not_break_the_code_are_dropped(materialized, programs) -> None:
    """Cheats: a "change" that still compiles, and one that breaks the code in another way."""
    harmless = MigrationRule("harmless", "0.1.0", "Zig 0.1 did nothing.", lambda c: c + "// old\n", "anything")
    wrong = MigrationRule(
        "wrong_message", "0.1.0", "Zig 0.1 did nothing.", lambda c: c.replace("const std", "const"), "never said"
    )
    result = run_with_checker(
        materialized["cache"],
        materialized["sandbox"],
        lambda check: migration_repair_pairs(programs, check, rules=[harmless, wrong]),
    )
    assert result.rows == []
    assert result.dropped == {"old_form_compiles": 3, "other_error": 3}  # sums.zig, count.zig, parse.zig


# -- predict the output -------------------------------------------------------------------------------------------


def test_predicted_outputs_are_what_an_uncached_run_prints(materialized) -> None:
    predicted = pl.concat([family(materialized, "predict_output"), family(materialized, "variant")])
    outputs = predicted.filter(pl.col("instruction").str.starts_with("What does this Zig 0.14 program print"))
    assert outputs.height >= 1  # variants are capped (8% of pairs): few on this small docs file
    outputs = outputs.head(3)

    async def uncached(check: Checker):
        del check  # the cache would answer with the run that wrote the pair: run again without it
        engine = LocalZigEngine(materialized["sandbox"], concurrency=2)
        return await asyncio.gather(*(engine.execute(code, "run") for code in outputs["check_code"]))

    rerun = run_with_checker(materialized["cache"], materialized["sandbox"], uncached)
    for row, result in zip(outputs.iter_rows(named=True), rerun, strict=True):
        assert row["check_code"] in row["instruction"]
        assert f"```text\n{result.stderr}```" in row["response"]
        assert output_matches(row["expected_output"], result.stdout, result.stderr)
    reports = family(materialized, "predict_output").filter(pl.col("example_name") == "sums.zig")
    assert reports["response"].to_list() == ["The one test, `sum to ten`, passes."]


def test_reading_the_test_runners_report() -> None:
    plain = "1/2 main.test.a...OK\n2/2 main.test.b...expected 5, found 4\nFAIL (TestExpectedEqual)\n/x/main.zig:3:5\n"
    report = read_test_report(plain + "1 passed; 0 skipped; 1 failed.\n")
    assert report is not None and not report.all_passed
    assert [(o.name, o.status, o.error, o.message) for o in report.outcomes] == [
        ("a", "ok", None, None),
        ("b", "fail", "TestExpectedEqual", "expected 5, found 4"),
    ]
    panicked = read_test_report(
        "1/2 main.test.x...thread 7 panic: integer overflow\n/x/main.zig:3:5: 0x1 in test.x (test)\n"
    )
    assert panicked is not None and panicked.outcomes[0].status == "panic"
    assert panicked.outcomes[0].message == "integer overflow"
    # A test that prints text of its own: the report cannot be told apart from it.
    assert read_test_report("1/1 main.test.x...hello\nOK\nAll 1 tests passed.\n") is None
    assert read_test_report("1/1 main.test.x...OK\nextra text\n") is None
    assert read_test_report("no runner here") is None


# -- implement to pass the tests ----------------------------------------------------------------------------------


def test_implement_pairs_keep_only_functions_the_tests_reach(materialized) -> None:
    implement = family(materialized, "implement_tests")
    assert implement["example_name"].to_list() == ["sums.zig", "parse.zig"]
    row = implement.row(0, named=True)
    assert row["instruction"].startswith("Implement `sumTo`")
    assert '@panic("TODO: implement sumTo");' in row["instruction"] and "_ = n;" in row["instruction"]
    assert 'test "sum to ten"' in row["instruction"] and extract_zig_code(row["response"]) == TESTED
    # `double` has no test that calls it: its stub passes, so asking for it would check nothing.
    assert (
        "TODO: implement double"
        in materialized["rejects"].filter(pl.col("reason") == "implement_tests: stub_passes")["raw"][0]
    )


def test_a_stub_counts_as_failing_only_at_its_placeholder() -> None:
    function = functions("fn f(a: u8) u8 {\n    return a;\n}\n")[0]
    assert fails_at_placeholder(Verdict.RUNTIME_ERROR, "thread 1 panic: TODO: implement f\n", function)
    assert fails_at_placeholder(Verdict.TEST_FAILURE, "panic: TODO: implement f\n", function)
    comptime = 'main.zig:2:5: error: encountered @panic at comptime\n    @panic("TODO: implement f");\n'
    assert fails_at_placeholder(Verdict.COMPILE_ERROR, comptime, function)
    # Cheats: failing for another reason says nothing about what the tests check.
    assert not fails_at_placeholder(Verdict.RUNTIME_ERROR, "thread 1 panic: integer overflow\n", function)
    assert not fails_at_placeholder(Verdict.COMPILE_ERROR, "main.zig:3:1: error: expected type 'u8'\n", function)
    assert not fails_at_placeholder(Verdict.TIMEOUT, "panic: TODO: implement f\n", function)
    assert not fails_at_placeholder(Verdict.RUNTIME_ERROR, "panic: TODO: implement g\n", function)
    assert not fails_at_placeholder(Verdict.RUNTIME_ERROR, "panic: TODO: implement ff\n", function)


def test_functions_and_stubs() -> None:
    code = "fn f(comptime T: type, a: T, _: u8) error{Bad}!T {\n    return a;\n}\nextern fn g() void;\n"
    found = functions(code + 'test "t" {\n    const S = struct { fn h() void { x(); } };\n}\n')
    assert [(f.name, f.parameters) for f in found] == [("f", ("T", "a"))]
    assert stub(code, found[0]) == (
        "fn f(comptime T: type, a: T, _: u8) error{Bad}!T {\n"
        '    _ = T;\n    _ = a;\n    @panic("TODO: implement f");\n}\n'
        "extern fn g() void;\n"
    )


# -- variants -----------------------------------------------------------------------------------------------------


def test_variants_change_constants_and_strings_deterministically() -> None:
    sites = mutation_sites(PROGRAM)
    assert [s.text for s in sites] == ["0", "0", "4", "3", "total", "items"]
    assert mutate(PROGRAM, "count.zig:0") == mutate(PROGRAM, "count.zig:0") != PROGRAM
    assert mutate(PROGRAM, "count.zig:0") != mutate(PROGRAM, "count.zig:1")
    assert mutation_sites('test "a name" {\n    _ = @import("std");\n}\n') == []
    assert mutate("const x = y;\n", "seed") is None
    # the 10 and the 3 that the printed text names stay (a changed one would make the text lie); 4 and 2 may change
    labelled = 'pub fn main() void {\n    std.debug.print("10 / 3 = {}\\n", .{@divTrunc(10, 3) + 4 * 2});\n}\n'
    assert [s.text for s in mutation_sites(labelled)] == ["4", "2"]
    multiline = "const text =\n    \\\\10 apples\n;\nconst count = 10 + 5;\n"
    assert [s.text for s in mutation_sites(multiline)] == ["5"]


def test_variant_pairs_carry_new_behaviour(materialized, programs) -> None:
    # the family itself, before the generator caps its share of the dataset
    result = run_with_checker(
        materialized["cache"], materialized["sandbox"], lambda check: variant_pairs(programs, check)
    )
    variants = pl.DataFrame(result.rows, schema=QA_PAIRS_SCHEMA)
    assert family(materialized, "variant").height <= variants.height
    programs = variants.filter(pl.col("instruction").str.starts_with("Change this"))
    assert programs.height >= 1  # two variants a program on this small file
    for row in programs.iter_rows(named=True):
        assert row["instruction"].startswith("Change this Zig 0.14 program so that it prints exactly:")
        assert PROGRAM in row["instruction"] and row["expected_output"] != "total 18 of items\n"
        assert extract_zig_code(row["response"]) != PROGRAM
    outputs = variants.filter(pl.col("kind") == "concept")["expected_output"].drop_nulls()
    assert outputs.n_unique() == outputs.len()  # each kept variant prints something new


# -- concepts -----------------------------------------------------------------------------------------------------


def test_concepts_keep_their_code_and_show_what_it_did(materialized) -> None:
    concepts = family(materialized, "concept")
    sums = concepts.filter(pl.col("breadcrumb").str.ends_with("Sums")).row(0, named=True)
    answer = sums["response"]
    assert TESTED in answer and "const limit: u32 = 10;" in answer
    assert "`zig test` reports:" in answer and "1/1 sums.test.sum to ten...OK\nAll 1 tests passed." in answer
    assert "$ zig" not in answer and "**Shell**" not in answer  # the run here, not the reference's transcript
    assert sums["behaviour_check"] == "tests" and sums["checked"]
    constants = concepts.filter(pl.col("breadcrumb").str.ends_with("Constants"))
    assert constants.is_empty()  # its mislabelled example does not do what the reference says
    assert not concepts.filter(pl.col("breadcrumb").str.ends_with("Broken fragments")).height
    for response in concepts["response"]:
        paragraphs = [p for p in response.split("\n\n") if p.strip()]
        assert not any(p.rstrip().endswith(":") and i == len(paragraphs) - 1 for i, p in enumerate(paragraphs))


# -- versioning ---------------------------------------------------------------------------------------------------


def test_the_offline_version_follows_its_sources(tmp_path: Path) -> None:
    """Every offline module is in ``zigtune.generation`` (hashed whole), plus the few modules outside it."""
    import shutil
    import sys

    import zigtune.generation.offline  # noqa: F401

    used = {
        Path(module.__file__).resolve()
        for name, module in sys.modules.items()
        if name.startswith("zigtune.generation.") and getattr(module, "__file__", None)
    }
    assert all(GENERATION_DIR in path.parents for path in used)
    package = tmp_path / "generation"
    shutil.copytree(GENERATION_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    extras = tuple(shutil.copy(path, tmp_path / path.name) for path in OFFLINE_EXTRA_SOURCES)
    extras = tuple(Path(path) for path in extras)
    assert f"offline-{offline_version(package, extras)}" == OFFLINE_VERSION
    (package / "variants.py").write_text("# changed\n", encoding="utf-8")
    changed = offline_version(package, extras)
    assert changed != OFFLINE_VERSION.removeprefix("offline-")
    extras[1].write_text("# verdicts changed\n", encoding="utf-8")
    assert offline_version(package, extras) != changed
