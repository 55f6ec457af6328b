"""Spec -> code tasks, mistake repair and std functions: checked by the real Zig 0.14 compiler, never the suite's tasks.

The compiled tests use a few tasks each (a handful of compiles); the whole bank is only read as text
(the contamination check), never compiled here: the pipeline does that.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import polars as pl

from zigtune.evaluation.contamination import mark_seen
from zigtune.evaluation.suite import load_suite
from zigtune.generation.execution import Checker, FamilyResult, engine_checker
from zigtune.generation.mistakes import MISTAKES, Mistake, mistake_repair_pairs
from zigtune.generation.offline import cap_share
from zigtune.generation.spec_bank import all_tasks
from zigtune.generation.spec_tasks import SpecTask, spec_task_pairs, stub_file, task_prompt
from zigtune.generation.stdlib_tasks import LICENCE, spec_text, std_functions, stdlib_pairs
from zigtune.generation.variants import mutation_sites
from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckStats
from zigtune.validation.code_extraction import extract_zig_code
from zigtune.validation.sandbox import LocalZigEngine

SUITE = Path(__file__).resolve().parent.parent / "zigtune" / "evaluation" / "suites" / "zigtune_core.jsonl"


def sections(*titles: str) -> pl.DataFrame:
    return pl.DataFrame(
        [{"section_id": f"id-{i}", "order": i, "title": t, "breadcrumb": f"Ref > {t}"} for i, t in enumerate(titles)]
    )


def run(sandbox: Path, work: Any) -> Any:
    async def main() -> Any:
        check: Checker = engine_checker(
            LocalZigEngine(sandbox, concurrency=2), ContentCache(sandbox / "v"), CheckStats()
        )
        return await work(check)

    return asyncio.run(main())


GOOD = SpecTask(
    "test/clamp",
    "Errors",
    "`clampAdd(a, b, limit)`: `a + b`, or `limit` when the sum is larger.",
    "pub fn clampAdd(a: u32, b: u32, limit: u32) u32 {\n    const sum = a + b;\n    if (sum > limit) return limit;\n"
    "    return sum;\n}\n",
    'test "clampAdd" {\n    try std.testing.expectEqual(@as(u32, 5), clampAdd(2, 3, 9));\n'
    "    try std.testing.expectEqual(@as(u32, 9), clampAdd(7, 3, 9));\n}\n",
)
#: A cheat: the solution is wrong for its tests.
WRONG = SpecTask("test/wrong", "Errors", "`twice(x)`", "pub fn twice(x: u8) u8 {\n    return x + 2;\n}\n",
                 'test "twice" {\n    try std.testing.expectEqual(@as(u8, 10), twice(5));\n}\n')  # fmt: skip
#: A cheat: the tests never call the function, so they cannot check it.
UNCALLED = SpecTask("test/uncalled", "Errors", "`half(x)`", "pub fn half(x: u8) u8 {\n    return x / 2;\n}\n",
                    'test "nothing" {\n    try std.testing.expect(true);\n}\n')  # fmt: skip


def test_no_zigtune_core_task_is_seen_because_of_the_generated_tasks() -> None:
    """The contamination report of the evaluation, run on every spec task and std task as training text."""
    suite = load_suite(SUITE)
    texts = [task_prompt(t.spec, t.stub()) + "\n" + t.solution for t in all_tasks()]
    texts += [task_prompt(spec_text(f), f.stub) + "\n" + f.answer for f in std_functions()]
    assert len(texts) > 200
    seen = {task_id: span for task_id, span in mark_seen(list(suite.tasks), texts).items() if span is not None}
    assert seen == {}
    # The check can see: one suite task's reference solution among the texts is found.
    leaked = mark_seen(list(suite.tasks), [*texts, suite.tasks[3].reference_solution or ""])
    assert leaked[suite.tasks[3].id] is not None


def test_the_task_bank_has_distinct_tasks_about_sections_and_the_zig_014_ways() -> None:
    tasks = all_tasks()
    assert len({t.name for t in tasks}) == len(tasks) >= 50
    assert len({t.solution for t in tasks}) == len(tasks) and len({t.tests for t in tasks}) == len(tasks)
    solutions = "\n".join(t.solution for t in tasks)
    assert "std.ArrayList(i64).init(allocator)" in solutions and "errdefer" in solutions
    assert not re.search(r"\bif [^(]", solutions) and not re.search(r"\bvar \w+ = \d+;", solutions)


def test_stubs_keep_the_api_and_lose_the_behaviour() -> None:
    stubbed = stub_file(GOOD.solution)
    assert stubbed.startswith("pub fn clampAdd(a: u32, b: u32, limit: u32) u32 {\n    _ = a;")
    assert '@panic("TODO");' in stubbed and "sum" not in stubbed
    generic = "pub fn Box(comptime T: type) type {\n    return struct {\n        v: T,\n\n        pub fn get(self: @This()) T {\n            return self.v;\n        }\n    };\n}\n"  # noqa: E501
    boxed = stub_file(generic)
    assert "v: T," in boxed and "return self.v" not in boxed  # the type stays, its method is stubbed
    assert "_ = T;" not in stub_file("pub fn f(comptime T: type, x: T) T {\n    return x;\n}\n")


def test_only_tasks_whose_solution_passes_and_whose_stub_fails_are_kept(zig_sandbox_root: Path) -> None:
    result, kept = run(
        zig_sandbox_root, lambda check: spec_task_pairs(sections("Errors"), check, [GOOD, WRONG, UNCALLED])
    )
    assert [task.name for task, _ in kept] == ["test/clamp"]
    assert dict(result.dropped) == {"solution_fails": 1, "stub_passes": 1}
    row = result.rows[0]
    assert row["family"] == "spec_to_code" and row["behaviour_check"] == "tests" and row["section_id"] == "id-0"
    assert extract_zig_code(row["response"]) == GOOD.solution and "clampAdd(7, 3, 9)" not in row["instruction"]
    assert "Write the file `solution.zig` in Zig 0.14.0." in row["instruction"]
    missing, _ = run(zig_sandbox_root, lambda check: spec_task_pairs(sections("for"), check, [GOOD]))
    assert dict(missing.dropped) == {"no_section": 1}


def test_mistake_pairs_name_the_cause_and_show_the_fix_that_passes(zig_sandbox_root: Path) -> None:
    task = SpecTask(
        "test/digits",
        "while",
        "`digitCount(n)`: the number of decimal digits of `n` (1 for 0).",
        "pub fn digitCount(n: u64) u32 {\n    var rest = n;\n    var count: u32 = 1;\n"
        "    while (rest >= 10) : (rest /= 10) {\n        count += 1;\n    }\n    return count;\n}\n",
        'test "digitCount" {\n    try std.testing.expectEqual(@as(u32, 1), digitCount(0));\n'
        "    try std.testing.expectEqual(@as(u32, 4), digitCount(1234));\n}\n",
    )
    _, kept = run(zig_sandbox_root, lambda check: spec_task_pairs(sections("while"), check, [task]))
    assert len(kept) == 1
    # A cheat among the rules: a rewrite that still compiles must not become a "why does it fail" pair.
    harmless = Mistake(
        "harmless", lambda code: (code.replace("count += 1;", "count += 1; // one more"), 4), ".", "", ""
    )

    rules = (harmless, *MISTAKES)
    repaired = run(zig_sandbox_root, lambda check: mistake_repair_pairs(kept, check, rules, max_per_task=len(rules)))
    assert repaired.dropped["compiles:harmless"] == 1
    assert repaired.rows, repaired.dropped
    for row in repaired.rows:
        assert "error:" in row["instruction"] and "solution.zig:" in row["instruction"]
        assert row["response"].startswith("Cause: ") and "Fix: " in row["response"]
        assert extract_zig_code(row["response"]) == task.solution
    names = {row["example_name"].split(":")[1] for row in repaired.rows}
    assert names <= {m.name for m in MISTAKES} and len(names) == len(repaired.rows)
    untyped = [row for row in repaired.rows if "assign_to_parameter" in row["example_name"]]
    if untyped:
        assert "Function parameters are constants" in untyped[0]["response"]


def test_the_rules_for_the_fine_tuned_models_mistakes_are_each_confirmed_by_the_compiler(
    zig_sandbox_root: Path,
) -> None:
    """Each rule added from the fine-tuned 1.5B's failures breaks one line of a passing solution, and the
    compiler rejects it with that rule's message (a pair per rule, none dropped)."""
    solution = (
        'const std = @import("std");\n\n'
        "pub fn score(words: []const []const u8, key: []const u8, total: i32, parts: i32) i32 {\n"
        "    var hits: i32 = 0;\n"
        "    for (words, 0..) |word, i| {\n"
        "        if (std.mem.eql(u8, word, key)) hits += @as(i32, @intCast(i)) * 2;\n"
        "    }\n"
        "    const share = @divTrunc(total, parts);\n"
        "    return hits + share + @rem(total, parts);\n"
        "}\n"
    )
    tests = (
        'test "score" {\n'
        '    const words = [_][]const u8{ "a", "b", "a" };\n'
        '    try std.testing.expectEqual(@as(i32, 4 + -3 + -1), score(&words, "a", -7, 2));\n'
        '    try std.testing.expectEqual(@as(i32, 0 + 3 + 0), score(&words, "z", 9, 3));\n'
        "}\n"
    )
    task = SpecTask("test/score", "for", "`score(words, key, total, parts)`.", solution, tests)
    _, kept = run(zig_sandbox_root, lambda check: spec_task_pairs(sections("for"), check, [task]))
    assert len(kept) == 1
    added = [rule for rule in MISTAKES if rule.name in NEW_RULES]
    assert {rule.name for rule in added} == NEW_RULES
    repaired = run(zig_sandbox_root, lambda check: mistake_repair_pairs(kept, check, added, max_per_task=len(added)))
    assert not repaired.dropped, repaired.dropped
    assert {row["example_name"].split(":")[1] for row in repaired.rows} == NEW_RULES
    for row in repaired.rows:
        assert extract_zig_code(row["response"]) == solution


NEW_RULES = {
    "signed_division",
    "signed_remainder",
    "string_equality",
    "index_capture_without_range",
    "var_never_mutated",
    "int_cast_without_result_type",
}


def test_std_functions_pass_std_own_tests_standalone_with_provenance(zig_sandbox_root: Path) -> None:
    result = run(zig_sandbox_root, lambda check: stdlib_pairs(sections("Zig Standard Library"), check, limit=6))
    assert LICENCE == "MIT"
    assert len(result.rows) + sum(result.dropped.values()) == 6 and result.rows
    for row in result.rows:
        assert re.fullmatch(r"std:lib/std/[\w/]+\.zig:\d+", row["example_name"])
        assert row["behaviour_check"] == "tests" and row["breadcrumb"].startswith("Ref > Zig Standard Library > ")
        code = extract_zig_code(row["response"])
        assert code is not None and code.startswith('const std = @import("std");') and "test " not in code


def test_variants_leave_quoted_identifiers_and_commented_lines_alone() -> None:
    code = (
        'const T = struct { x: u8 };\nconst info = @typeInfo(T).@"struct";\n'
        'const a = [_]u8{ 1, 2 }; // 2 items\nconst s = "hello world";\n'
    )
    sites = mutation_sites(code)
    assert [s.text for s in sites] == ["hello", "world"]


def test_the_variant_share_is_capped() -> None:
    families = [FamilyResult("spec_to_code"), FamilyResult("variant")]
    families[0].rows = [{"i": i} for i in range(92)]  # type: ignore[misc]
    families[1].rows = [{"i": i} for i in range(50)]  # type: ignore[misc]
    cap_share(families, "variant", 0.08)
    assert len(families[1].rows) == 8 and families[1].dropped["over_share_cap"] == 42


def test_a_failing_variant_is_explained_by_the_line_the_compiler_points_at_and_fixed() -> None:
    from zigtune.generation.execution import Program
    from zigtune.generation.variants import broken_variant_pair
    from zigtune.validation.verdicts import Verdict

    original = 'const std = @import("std");\nconst a = 1;\nconst b = [2]u8{ 1, 2 };\n'
    program = Program("t.zig", "exe", "pass", None, original, "s", "Ref > Arrays", "Arrays", "text", None)
    variant = 'const std = @import("std");\nconst a = 7;\nconst b = [3]u8{ 1, 2 };\n'
    message = "t.zig:3:11: error: expected 3 array elements; found 2\nconst b = [3]u8{ 1, 2 };\n          ^~~~~~~~~\n"
    row = broken_variant_pair(program, variant, Verdict.COMPILE_ERROR, message)
    assert row is not None and row["check_code"] == variant and row["check_verdict"] == "compile_error"
    answer = str(row["response"])
    assert "line 3: `const b = [3]u8{ 1, 2 };` (it was `const b = [2]u8{ 1, 2 };`)" in answer
    assert "line 2" not in answer  # a changed line the compiler does not point at is not named as the cause
    assert extract_zig_code(answer) == original  # the fix shown is the program that passed


def test_a_capped_family_keeps_a_few_pairs_on_a_small_docs_file() -> None:
    families = [FamilyResult("reference_example"), FamilyResult("variant")]
    families[0].rows = [{"i": 0}]  # type: ignore[misc]
    families[1].rows = [{"i": i} for i in range(6)]  # type: ignore[misc]
    cap_share(families, "variant", 0.08)
    assert [row["i"] for row in families[1].rows] == [0, 3]
