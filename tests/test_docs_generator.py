"""The deterministic docs generator on the real Zig 0.14 reference."""

import polars as pl
import pytest

from zigtune.docs.sections import examples_frame, program_output, sections_frame, split_sections
from zigtune.generation.docs_generator import docs_pairs, failure_answer, prose
from zigtune.generation.pairs import QA_PAIRS_SCHEMA, pairs_frame


@pytest.fixture(scope="module")
def sections(docs_markdown: str) -> pl.DataFrame:
    return sections_frame(split_sections(docs_markdown))


def test_counts_on_the_reference(sections: pl.DataFrame) -> None:
    result = docs_pairs(sections)
    frame, repeats = pairs_frame(result.rows)
    examples = examples_frame(sections)
    runnable = examples.filter(
        pl.col("expect") == "pass",
        pl.col("kind").is_in(["exe", "test", "obj"]),
        ~pl.col("options").str.contains(r"target=(wasm32|x86_64-windows)"),
    )
    code = frame.filter(pl.col("kind") == "code")
    # One code pair per runnable example: 31 exe + 131 test + 5 obj, less 4 built for other targets.
    assert code.height == runnable.height == 163
    assert sorted(code["example_name"].to_list()) == sorted(runnable["name"].to_list())
    failures = frame.filter(pl.col("kind") == "concept", pl.col("example_name").is_not_null())
    assert failures.height == 79  # 80 failing examples; one transcript names no error
    # Concept pairs ("explain this section") are the concepts family's: they keep the code and run it.
    assert frame.filter(pl.col("example_name").is_null()).is_empty()
    assert frame.height == 242 and repeats == []
    assert dict(result.skipped) == {"syntax_fragment": 40, "other_target": 4, "failure_without_error_text": 1}
    assert set(frame["family"]) == {"reference_example", "failure_explanation"}
    assert not frame["checked"].any(), "nothing was run: no pair may claim it was checked"
    assert frame.schema == QA_PAIRS_SCHEMA
    assert set(frame["generator"]) == {"docs"} and set(frame["model"]) == {"zig-docs"}


def test_deterministic_across_runs(sections: pl.DataFrame) -> None:
    first, _ = pairs_frame(docs_pairs(sections).rows)
    second, _ = pairs_frame(docs_pairs(sections_frame(split_sections(sections_text(sections)))).rows)
    assert first.equals(second)


def sections_text(sections: pl.DataFrame) -> str:
    return "".join(sections["text"])


def test_code_pairs_are_the_examples_with_their_published_output(sections: pl.DataFrame) -> None:
    frame, _ = pairs_frame(docs_pairs(sections).rows)
    hello = frame.filter(pl.col("example_name") == "hello.zig").row(0, named=True)
    example = examples_frame(sections).filter(pl.col("name") == "hello.zig").row(0, named=True)
    assert hello["response"] == f"```zig\n{example['code']}```"
    assert hello["expected_output"] == program_output(example["output"]) == "Hello, world!\n"
    assert "Hello, world!" in hello["instruction"] and "Hello World" in hello["instruction"]
    tests = frame.filter(pl.col("kind") == "code", pl.col("response").str.contains("\ntest "))
    assert tests.height > 100 and tests["expected_output"].null_count() == tests.height


def test_no_instruction_ends_on_a_lead_in_colon(sections: pl.DataFrame) -> None:
    """The reference introduces examples with "... as follows:"; in a task the code after it is not there."""
    frame, _ = pairs_frame(docs_pairs(sections).rows)
    leads = frame.filter(pl.col("kind") == "code", pl.col("instruction").str.contains("\n\nContext: "))
    assert leads.height > 100
    context = leads["instruction"].str.extract(r"Context: ([^\n]*)")
    assert not context.str.ends_with(":").any()
    assert not frame["instruction"].str.strip_chars().str.ends_with(":").any()


def test_failure_pairs_quote_the_compiler() -> None:
    transcript = "$ zig build-exe x.zig\n/src/x.zig:8:7: error: cannot assign to constant\n    y += 1;\n    ~~^~~~\n"
    answer = failure_answer("compile_error", transcript, None, "Constants cannot change.")
    assert answer is not None
    assert answer.startswith("It does not compile. The compiler reports `error: cannot assign to constant` at line 8")
    assert "`y += 1;`" in answer and answer.endswith("Constants cannot change.")
    panic = "$ ./x\nthread 1 panic: integer overflow\n/src/x.zig:3:5: 0x1 in main (x)\n"
    assert failure_answer("runtime_panic", panic, None, None) == (
        "It compiles, but it panics at run time: `panic: integer overflow`."
    )
    assert failure_answer("runtime_failure", "$ ./x\n", None, None) is None


def test_prose_drops_code_markers_and_see_also() -> None:
    text = (
        "## Hello\n\nSay hi.\n\n<!-- example: a.zig kind=exe expect=pass -->\n```zig\nconst a = 1;\n```\n\n"
        "**Shell**\n```\n$ zig run a.zig\n```\n\nSee [Values](#values) too.\n\nSee also:\n\n- [Values](#values)\n"
    )
    assert prose(text) == "Say hi.\n\nSee Values too."
