"""extract_zig_code and check_mode: fenced, unfenced, several blocks, non-Zig code, no code."""

from __future__ import annotations

import pytest

from zigtune.validation.code_extraction import check_mode, extract_zig_code

HELLO = 'const std = @import("std");\n\npub fn main() void {\n    std.debug.print("hi\\n", .{});\n}\n'


def test_fenced_zig_block_is_extracted_without_fences() -> None:
    text = f"Here is a program:\n\n```zig\n{HELLO}```\n\nIt prints hi."
    assert extract_zig_code(text) == HELLO


def test_untagged_fence_counts_when_the_body_is_zig() -> None:
    assert extract_zig_code(f"Try this:\n```\n{HELLO}```") == HELLO


def test_tilde_fences_and_indented_fences() -> None:
    assert extract_zig_code(f"~~~zig\n{HELLO}~~~") == HELLO
    assert extract_zig_code(f"  ```zig\n{HELLO}  ```") == HELLO


def test_no_code_in_prose() -> None:
    assert extract_zig_code("The `defer` keyword schedules an expression to run at scope exit.") is None
    assert extract_zig_code("") is None
    assert extract_zig_code(None) is None


def test_non_zig_blocks_are_not_zig() -> None:
    text = "In C you write:\n```c\nint main(void) { return 0; }\n```\nRun it with:\n```sh\n$ zig run main.zig\n```"
    assert extract_zig_code(text) is None
    python = "```python\nimport os\nprint(os.getcwd())\n```"
    assert extract_zig_code(python) is None
    untagged_c = '```\n#include <stdio.h>\nint main(void) { printf("x"); }\n```'
    assert extract_zig_code(untagged_c) is None


def test_non_zig_block_beside_a_zig_block_is_ignored() -> None:
    text = f"```zig\n{HELLO}```\nOutput:\n```console\n$ zig run hello.zig\nhi\n```"
    assert extract_zig_code(text) == HELLO


def test_unfenced_whole_program_as_the_original_data_has_it() -> None:
    assert extract_zig_code(HELLO) == HELLO
    test_only = 'const std = @import("std");\ntest "adds" {\n    try std.testing.expect(1 + 1 == 2);\n}\n'
    assert extract_zig_code(test_only) == test_only


def test_prose_that_mentions_zig_is_not_a_program() -> None:
    text = 'const values are immutable. Use @import("std") to get the standard library, then call std.debug.print.'
    assert extract_zig_code(text) is None


def test_several_blocks_choose_the_largest_self_contained_one() -> None:
    signature = "```zig\nfn add(a: i32, b: i32) i32\n```"
    small_test = '```zig\ntest "x" {\n    try @import("std").testing.expect(true);\n}\n```'
    text = f"The signature:\n{signature}\nA program:\n```zig\n{HELLO}```\nAnd a test:\n{small_test}"
    assert extract_zig_code(text) == HELLO


def test_several_partial_blocks_are_joined_as_one_program() -> None:
    first = '```zig\nconst std = @import("std");\nconst Point = struct { x: i32, y: i32 };\n```'
    second = (
        '```zig\nconst std = @import("std");\ntest "point" {\n'
        "    const p = Point{ .x = 1, .y = 2 };\n    try std.testing.expect(p.x + p.y == 3);\n}\n```"
    )
    code = extract_zig_code(f"Declare it:\n{first}\nUse it:\n{second}")
    assert code is not None
    # the self-contained second block wins: it is the only one with an entry point
    assert code.startswith('const std = @import("std");\ntest "point"')
    helper = "```zig\nfn double(x: i32) i32 {\n    return x * 2;\n}\n```"
    caller = '```zig\nconst std = @import("std");\nfn quadruple(x: i32) i32 {\n    return double(double(x));\n}\n```'
    joined = extract_zig_code(f"{helper}\nthen\n{caller}")
    assert joined == (
        "fn double(x: i32) i32 {\n    return x * 2;\n}\n\n"
        'const std = @import("std");\nfn quadruple(x: i32) i32 {\n    return double(double(x));\n}\n'
    )


@pytest.mark.parametrize(
    ("code", "mode"),
    [
        ('test "a" {}\n', "test"),
        ("test {}\n", "test"),
        ("test decl_name {}\n", "test"),
        (HELLO, "run"),
        ('pub fn main() !void {}\ntest "both" {}\n', "test"),
        ("fn add(a: i32, b: i32) i32 {\n    return a + b;\n}\n", "build-obj"),
        ('const msg = "test { not a test }";\n', "build-obj"),
    ],
)
def test_check_mode_follows_the_shape_of_the_code(code: str, mode: str) -> None:
    assert check_mode(code) == mode


def test_code_that_needs_a_main_it_lacks_is_compiled_as_an_object() -> None:
    # Statements outside any function: extraction keeps them as they are (the answer's own code),
    # and build-obj lets the compiler say what is wrong (tested against the compiler in test_zig_engine).
    text = '```zig\nconst x = 5;\nstd.debug.print("{}\\n", .{x});\n```'
    code = extract_zig_code(text)
    assert code == 'const x = 5;\nstd.debug.print("{}\\n", .{x});\n'
    assert check_mode(code) == "build-obj"
