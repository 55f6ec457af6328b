"""A scripted model that writes Zig the way a model trained on older Zig (before 0.12) does, and fixes
its code when it is shown the compiler's error.

It answers the chat requests of ``zigtune.generation.llm`` through ``tests/openai_server.py``:

- a generation request (first round or continuation) gets one concept pair and one code pair; the code
  is one of ``PROGRAMS``, chosen by the section's text, written with the idioms such a model reaches
  for: ``@intToEnum``, ``@enumToInt``, ``@ptrToInt``, two-argument ``@intCast``, ``for (xs) |x, i|``,
  ``std.mem.copy``, ``std.debug.warn``;
- a code-repair request ("does not work under Zig 0.14.0", with the error) gets its previous pair back
  with only the lines the error names rewritten, by the rule for that error message (``FIXES``). Like a
  real model it cannot fix what the compiler has not reported yet (Zig reports syntax-level errors
  first, and stops analysing a function at its first semantic error), nor an error it has no rule for
  (a wrong result: the test fails), so some programs need two rounds and some are never fixed.

The errors come from the real Zig 0.14.0 compiler in the test; nothing here judges the code.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from tests.openai_server import RecordedRequest, Reply, jsonl


@dataclass(frozen=True)
class Program:
    name: str
    instruction: str
    code: str
    expected_output: str | None = None
    """Stated after the code for ``main`` programs."""
    rounds_to_fix: int | None = None
    """How many repair rounds this program needs with the rules below (None: never fixed)."""


PROGRAMS = (
    Program(
        "enum_from_int",
        "Write a Zig test that turns the integer 1 into a value of the enum Color { red, green, blue } "
        "and checks that it is green.",
        """const std = @import("std");

const Color = enum(u8) { red, green, blue };

test "integer to enum" {
    const c = @intToEnum(Color, 1);
    try std.testing.expect(c == .green);
}
""",
        rounds_to_fix=1,
    ),
    Program(
        "narrowing_cast",
        "Write a Zig test that narrows the u32 value 300 modulo 256 to a u8 and checks that the result is 44.",
        """const std = @import("std");

test "narrowing cast" {
    const x: u32 = 300;
    const y = @intCast(u8, x % 256);
    try std.testing.expectEqual(@as(u8, 44), y);
}
""",
        rounds_to_fix=1,
    ),
    Program(
        "indexed_loop",
        "Write a Zig test that sums x * i over the array [1, 2, 3], where i is each element's index, "
        "and checks the sum is 8.",
        """const std = @import("std");

test "weighted sum" {
    const xs = [_]usize{ 1, 2, 3 };
    var sum: usize = 0;
    for (xs) |x, i| {
        sum += x * i;
    }
    try std.testing.expectEqual(@as(usize, 8), sum);
}
""",
        rounds_to_fix=1,
    ),
    Program(
        "copy_bytes",
        'Write a Zig test that copies the string "abc" into a 3-byte buffer and checks the buffer holds "abc".',
        """const std = @import("std");

test "copy bytes" {
    var buffer: [3]u8 = undefined;
    std.mem.copy(u8, &buffer, "abc");
    try std.testing.expectEqualStrings("abc", &buffer);
}
""",
        rounds_to_fix=1,
    ),
    Program(
        "enum_to_int",
        "Write a Zig program that prints the integer value of the enum field Size.large of "
        "enum(u8) { small, medium, large }.",
        """const std = @import("std");

const Size = enum(u8) { small, medium, large };

pub fn main() void {
    const value = @enumToInt(Size.large);
    std.debug.print("{d}\\n", .{value});
}
""",
        expected_output="2",
        rounds_to_fix=1,
    ),
    Program(
        "pointer_address",
        "Write a Zig test that takes the address of a local variable as an integer and checks that it is not zero.",
        """const std = @import("std");

test "address as integer" {
    var x: u32 = 7;
    x += 1;
    const address = @ptrToInt(&x);
    try std.testing.expect(address != 0);
}
""",
        rounds_to_fix=1,
    ),
    Program(
        "cast_then_copy",
        "Write a Zig test that converts 2 to the enum Level { low, mid, high }, copies its tag name into a "
        'buffer and checks the buffer holds "high".',
        """const std = @import("std");

const Level = enum(u8) { low, mid, high };

test "tag name copy" {
    const level = @intToEnum(Level, 2);
    var buffer: [4]u8 = undefined;
    std.mem.copy(u8, &buffer, @tagName(level));
    try std.testing.expectEqualStrings("high", &buffer);
}
""",
        rounds_to_fix=2,
    ),
    Program(
        "three_old_idioms",
        'Write a Zig test that converts 0 to the enum Mode { fast, slow }, copies the word "fast" into a '
        "buffer, logs it, and checks the buffer.",
        """const std = @import("std");

const Mode = enum(u8) { fast, slow };

test "three idioms" {
    const mode = @intToEnum(Mode, 0);
    var buffer: [4]u8 = undefined;
    std.mem.copy(u8, &buffer, @tagName(mode));
    std.debug.warn("{s}\\n", .{&buffer});
    try std.testing.expectEqualStrings("fast", &buffer);
}
""",
        rounds_to_fix=None,  # three errors, reported one at a time: not within two rounds
    ),
    Program(
        "wrong_sum",
        "Write a Zig test that sums the integers 1, 2 and 3 and checks the sum is 6.",
        """const std = @import("std");

test "sum" {
    const xs = [_]u32{ 1, 2, 3 };
    var sum: u32 = 0;
    for (xs) |x| {
        sum += x;
    }
    try std.testing.expectEqual(@as(u32, 7), sum);
}
""",
        rounds_to_fix=None,  # a wrong expectation: no rule fixes that
    ),
    Program(
        "already_modern",
        'Write a Zig test that checks std.mem.eql finds the strings "zig" and "zig" equal.',
        """const std = @import("std");

test "equal strings" {
    try std.testing.expect(std.mem.eql(u8, "zig", "zig"));
}
""",
        rounds_to_fix=0,
    ),
)

#: (error message pattern, line rewrite): how the scripted model fixes what the compiler reports.
FIXES: tuple[tuple[re.Pattern[str], re.Pattern[str], str], ...] = (
    (
        re.compile(r"invalid builtin function: '@intToEnum'"),
        re.compile(r"@intToEnum\(\s*([^,]+?)\s*,\s*(.+?)\)"),
        r"@as(\1, @enumFromInt(\2))",
    ),
    (re.compile(r"invalid builtin function: '@enumToInt'"), re.compile(r"@enumToInt\("), "@intFromEnum("),
    (re.compile(r"invalid builtin function: '@ptrToInt'"), re.compile(r"@ptrToInt\("), "@intFromPtr("),
    (
        re.compile(r"expected 1 argument, found 2"),
        re.compile(r"@intCast\(\s*(\w+)\s*,\s*(.+?)\);"),
        r"@as(\1, @intCast(\2));",
    ),
    (
        re.compile(r"extra capture in for loop"),
        re.compile(r"for \((\w+)\) \|(\w+), (\w+)\|"),
        r"for (\1, 0..) |\2, \3|",
    ),
    (re.compile(r"has no member named 'copy'"), re.compile(r"std\.mem\.copy\("), "std.mem.copyForwards("),
    (re.compile(r"has no member named 'warn'"), re.compile(r"std\.debug\.warn\("), "std.debug.print("),
)
_DIAGNOSTIC = re.compile(r"\.zig:(?P<line>\d+):\d+: error: (?P<message>.+)")
REPAIR_MARKER = "does not work under Zig 0.14.0"


def fix_code(code: str, error_text: str) -> str:
    """The code with each reported error's line rewritten by its rule; unknown errors left alone."""
    lines = code.split("\n")
    for diagnostic in _DIAGNOSTIC.finditer(error_text):
        index = int(diagnostic["line"]) - 1
        if not 0 <= index < len(lines):
            continue
        for message, pattern, replacement in FIXES:
            if message.search(diagnostic["message"]):
                lines[index] = pattern.sub(replacement, lines[index])
    return "\n".join(lines)


def program_for(text: str) -> Program:
    """The program a section gets: by the index in ``[[program N]]`` if the text has one, else by hash."""
    marked = re.search(r"\[\[program (\d+)\]\]", text)
    if marked:
        return PROGRAMS[int(marked.group(1)) % len(PROGRAMS)]
    return PROGRAMS[int(hashlib.sha256(text.encode()).hexdigest(), 16) % len(PROGRAMS)]


def code_answer(code: str, expected_output: str | None) -> str:
    answer = f"Here is the code:\n\n```zig\n{code}```"
    if expected_output is not None:
        answer += f"\n\nExpected output:\n```\n{expected_output}\n```"
    return answer


def _format(request: RecordedRequest, pairs: list[dict[str, str]]) -> Reply:
    if request.response_format in ("json_schema", "json_object"):
        return Reply(json.dumps({"pairs": pairs}))
    return Reply(jsonl(pairs))


def _previous_pairs(request: RecordedRequest) -> list[dict[str, str]]:
    for message in reversed(request.body["messages"]):
        if message["role"] == "assistant":
            content = message["content"].strip()
            if content.startswith('{"pairs"'):
                return json.loads(content)["pairs"]
            return [json.loads(line) for line in content.splitlines() if line.strip()]
    return []


def respond(request: RecordedRequest) -> Reply:
    """The scripted model's answer to one chat request (see the module docstring)."""
    prompt = request.prompt
    if REPAIR_MARKER in prompt:
        instruction = re.search(r'your answer to "(.*?)" does not work', prompt, re.DOTALL)
        error = prompt.split("```", 2)[1] if "```" in prompt else ""
        for pair in _previous_pairs(request):
            if instruction and pair["instruction"] == instruction.group(1):
                code = re.search(r"```zig\n(.*?)```", pair["response"], re.DOTALL)
                stated = re.search(r"Expected output:\n```\n(.*?)\n```", pair["response"], re.DOTALL)
                fixed = fix_code(code.group(1), error) if code else ""
                answer = code_answer(fixed, stated.group(1) if stated else None)
                return _format(request, [{"instruction": pair["instruction"], "response": answer}])
        return Reply("I cannot find that answer.")
    program = program_for(prompt)
    tag = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    pairs = [
        {
            "instruction": f"What does this part of the Zig documentation explain? ({tag})",
            "response": f"It explains topic {tag} of the Zig language.",
        },
        {"instruction": program.instruction, "response": code_answer(program.code, program.expected_output)},
    ]
    return _format(request, pairs)
