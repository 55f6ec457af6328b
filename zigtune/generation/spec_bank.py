# ruff: noqa: E501  (Zig source kept as the compiler checks it, one statement a line)
"""The templates of :mod:`.spec_tasks`: families of spec -> code tasks, each about one section of the reference.

Every family is a function that yields :class:`~.spec_tasks.SpecTask` values for a table of
parameters. The parameters change what the code must do (the operation, the rule, the API asked
for), and each task's expected values are computed here in Python from its own inputs, so no two
tasks of a family share their tests. Solutions are written the Zig 0.14 way: conditions in
parentheses, typed mutable locals (``var total: i64 = 0``), copies of parameters before changing them,
``for (0..n) |i|`` and ``while (cond) : (i += 1)`` loops, ``std.ArrayList(T).init(allocator)`` with
``deinit``, ``try`` on every error union. No dagster here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise

from zigtune.generation.spec_tasks import SpecTask


def _zig_list(values: list[int]) -> str:
    return ", ".join(str(v) for v in values)


def _slice(values: list[int], type_name: str) -> str:
    return f"&[_]{type_name}{{ {_zig_list(values)} }}" if values else f"&[_]{type_name}{{}}"


SAMPLES = ([3, -1, 4, 1, -5, 9, 2, -6], [7], [], [-2, -8, -3], [10, 20, 30, 40, 50, 60])
UNSIGNED_SAMPLES = ([3, 1, 4, 1, 5, 9, 2, 6], [7], [], [12, 0, 8], [10, 20, 30, 41, 50, 60])


@dataclass(frozen=True)
class Reduction:
    """A function over a slice of integers: its name, spec, return type, body, and Python model."""

    name: str
    spec: str
    element: str
    returns: str
    body: str
    model: Callable[[list[int]], object]
    section: str = "for"


def _expect(value: object, returns: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"@as({returns}, {'null' if value is None else value})"


REDUCTIONS = (
    Reduction(
        "sumPositive",
        "`sumPositive(items)`: the sum of the elements of `items` that are greater than 0, as `i64` (0 for an "
        "empty slice).",
        "i32",
        "i64",
        "    var total: i64 = 0;\n    for (items) |x| {\n        if (x > 0) total += x;\n    }\n    return total;\n",
        lambda xs: sum(x for x in xs if x > 0),
    ),
    Reduction(
        "countNegative",
        "`countNegative(items)`: how many elements of `items` are below zero.",
        "i32",
        "usize",
        "    var count: usize = 0;\n    for (items) |x| {\n        if (x < 0) count += 1;\n    }\n    return count;\n",
        lambda xs: sum(1 for x in xs if x < 0),
    ),
    Reduction(
        "maxValue",
        "`maxValue(items)`: the largest element of `items`, or `null` when `items` is empty.",
        "i32",
        "?i32",
        "    if (items.len == 0) return null;\n    var best = items[0];\n    for (items[1..]) |x| {\n"
        "        if (x > best) best = x;\n    }\n    return best;\n",
        lambda xs: max(xs) if xs else None,
        "Optionals",
    ),
    Reduction(
        "indexOfMin",
        "`indexOfMin(items)`: the index of the smallest element of `items` (the first one if it occurs more "
        "than once), or `null` when `items` is empty.",
        "i32",
        "?usize",
        "    if (items.len == 0) return null;\n    var smallest: usize = 0;\n    for (items, 0..) |x, i| {\n"
        "        if (x < items[smallest]) smallest = i;\n    }\n    return smallest;\n",
        lambda xs: xs.index(min(xs)) if xs else None,
        "Optionals",
    ),
    Reduction(
        "sumOfSquares",
        "`sumOfSquares(items)`: the sum of the squares of the elements, as `u64`.",
        "u32",
        "u64",
        "    var total: u64 = 0;\n    for (items) |x| {\n        const wide: u64 = x;\n        total += wide * wide;\n"
        "    }\n    return total;\n",
        lambda xs: sum(x * x for x in xs),
    ),
    Reduction(
        "alternatingSum",
        "`alternatingSum(items)`: `items[0] - items[1] + items[2] - items[3] + ...`, as `i64` (0 for an empty "
        "slice). Use the index capture of `for`.",
        "i32",
        "i64",
        "    var total: i64 = 0;\n    for (items, 0..) |x, i| {\n        if (i % 2 == 0) {\n            total += x;\n"
        "        } else {\n            total -= x;\n        }\n    }\n    return total;\n",
        lambda xs: sum(x if i % 2 == 0 else -x for i, x in enumerate(xs)),
    ),
    Reduction(
        "allEven",
        "`allEven(items)`: `true` when every element of `items` is even (also for an empty slice).",
        "u32",
        "bool",
        "    for (items) |x| {\n        if (x % 2 != 0) return false;\n    }\n    return true;\n",
        lambda xs: all(x % 2 == 0 for x in xs),
    ),
    Reduction(
        "longestIncreasingRun",
        "`longestIncreasingRun(items)`: the length of the longest run of consecutive elements where each is "
        "strictly greater than the one before (a single element is a run of 1; 0 for an empty slice).",
        "i32",
        "usize",
        "    if (items.len == 0) return 0;\n    var best: usize = 1;\n    var current: usize = 1;\n"
        "    var i: usize = 1;\n    while (i < items.len) : (i += 1) {\n        if (items[i] > items[i - 1]) {\n"
        "            current += 1;\n            if (current > best) best = current;\n        } else {\n"
        "            current = 1;\n        }\n    }\n    return best;\n",
        lambda xs: _longest_run(xs),
        "while",
    ),
    Reduction(
        "lastIndexAbove",
        "`lastIndexAbove(items, limit)`: the index of the last element greater than `limit`, or `null` when "
        "there is none. Walk the slice backwards with a `while` loop.",
        "i32",
        "?usize",
        "    var i: usize = items.len;\n    while (i > 0) {\n        i -= 1;\n        if (items[i] > limit) return i;\n"
        "    }\n    return null;\n",
        lambda xs: next((i for i in range(len(xs) - 1, -1, -1) if xs[i] > 2), None),
        "while",
    ),
    Reduction(
        "countChanges",
        "`countChanges(items)`: how many times the sign of consecutive elements changes from negative to "
        "non-negative or back (`[-1, 2, 3, -4]` has 2 changes).",
        "i32",
        "usize",
        "    var changes: usize = 0;\n    if (items.len < 2) return 0;\n    for (items[0 .. items.len - 1], items[1..]) "
        "|a, b| {\n        if ((a < 0) != (b < 0)) changes += 1;\n    }\n    return changes;\n",
        lambda xs: sum(1 for a, b in pairwise(xs) if (a < 0) != (b < 0)),
        "for",
    ),
)


def _longest_run(xs: list[int]) -> int:
    if not xs:
        return 0
    best = current = 1
    for a, b in pairwise(xs):
        current = current + 1 if b > a else 1
        best = max(best, current)
    return best


def reductions() -> Iterator[SpecTask]:
    for r in REDUCTIONS:
        extra = ", limit: i32" if r.name == "lastIndexAbove" else ""
        samples = UNSIGNED_SAMPLES if r.element.startswith("u") else SAMPLES
        checks = []
        for values in samples:
            call = f"{r.name}({_slice(values, r.element)}{', 2' if extra else ''})"
            expected = r.model(values)
            if r.returns == "bool":
                checks.append(f"    try std.testing.expect({call} == {_expect(expected, r.returns)});")
            else:
                checks.append(f"    try std.testing.expectEqual({_expect(expected, r.returns)}, {call});")
        solution = f"pub fn {r.name}(items: []const {r.element}{extra}) {r.returns} {{\n{r.body}}}\n"
        tests = f'test "{r.name}" {{\n' + "\n".join(checks) + "\n}\n"
        yield SpecTask(f"slice_reduction/{r.name}", r.section, f"Implement {r.spec}", solution, tests)


# -- integer loops: ranges, while with continue expressions ----------------------------------------------------


@dataclass(frozen=True)
class IntegerLoop:
    name: str
    spec: str
    signature: str
    body: str
    model: Callable[[int], int | bool]
    inputs: tuple[int, ...]
    returns: str
    section: str


def _digit_sum(n: int) -> int:
    return sum(int(c) for c in str(n))


def _collatz(n: int) -> int:
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


INTEGER_LOOPS = (
    IntegerLoop(
        "digitSum",
        "`digitSum(n)`: the sum of the decimal digits of `n` (`digitSum(0) == 0`). Parameters are constant in "
        "Zig: copy `n` into a `var` before changing it.",
        "pub fn digitSum(n: u64) u64",
        "    var rest = n;\n    var total: u64 = 0;\n    while (rest > 0) : (rest /= 10) {\n        total += rest % 10;\n"
        "    }\n    return total;\n",
        _digit_sum,
        (0, 7, 1234, 99999, 1000000001),
        "u64",
        "while",
    ),
    IntegerLoop(
        "collatzSteps",
        "`collatzSteps(n)`: how many steps the Collatz rule (halve an even number, turn an odd one into "
        "`3 * n + 1`) takes to reach 1 from `n` (`n >= 1`; 0 for 1).",
        "pub fn collatzSteps(n: u64) u32",
        "    var value = n;\n    var steps: u32 = 0;\n    while (value != 1) : (steps += 1) {\n"
        "        if (value % 2 == 0) {\n            value /= 2;\n        } else {\n            value = 3 * value + 1;\n"
        "        }\n    }\n    return steps;\n",
        _collatz,
        (1, 2, 6, 7, 27),
        "u32",
        "while",
    ),
    IntegerLoop(
        "isPrime",
        "`isPrime(n)`: whether `n` is a prime number (0 and 1 are not).",
        "pub fn isPrime(n: u32) bool",
        "    if (n < 2) return false;\n    var d: u32 = 2;\n    while (d * d <= n) : (d += 1) {\n"
        "        if (n % d == 0) return false;\n    }\n    return true;\n",
        _is_prime,
        (0, 1, 2, 9, 13, 97, 221),
        "bool",
        "while",
    ),
    IntegerLoop(
        "sumMultiplesBelow",
        "`sumMultiplesBelow(n)`: the sum of every number below `n` that is a multiple of 3 or of 5. Use "
        "`for (0..n) |i|`.",
        "pub fn sumMultiplesBelow(n: usize) u64",
        "    var total: u64 = 0;\n    for (0..n) |i| {\n        if (i % 3 == 0 or i % 5 == 0) total += i;\n    }\n"
        "    return total;\n",
        lambda n: sum(i for i in range(n) if i % 3 == 0 or i % 5 == 0),
        (0, 1, 10, 16, 1000),
        "u64",
        "for",
    ),
    IntegerLoop(
        "countPrimesBelow",
        "`countPrimesBelow(n)`: how many primes are below `n`. Skip even candidates above 2 with `continue`.",
        "pub fn countPrimesBelow(n: u32) u32",
        "    var count: u32 = 0;\n    var candidate: u32 = 2;\n    while (candidate < n) : (candidate += 1) {\n"
        "        if (candidate > 2 and candidate % 2 == 0) continue;\n        var d: u32 = 3;\n"
        "        var prime = true;\n        while (d * d <= candidate) : (d += 2) {\n"
        "            if (candidate % d == 0) {\n                prime = false;\n                break;\n"
        "            }\n        }\n        if (prime) count += 1;\n    }\n    return count;\n",
        lambda n: sum(1 for i in range(n) if _is_prime(i)),
        (0, 3, 10, 30, 100),
        "u32",
        "while",
    ),
    IntegerLoop(
        "reverseDigits",
        "`reverseDigits(n)`: the number written with the decimal digits of `n` in reverse order "
        "(`reverseDigits(120) == 21`).",
        "pub fn reverseDigits(n: u32) u32",
        "    var rest = n;\n    var reversed: u32 = 0;\n    while (rest != 0) : (rest /= 10) {\n"
        "        reversed = reversed * 10 + rest % 10;\n    }\n    return reversed;\n",
        lambda n: int(str(n)[::-1]),
        (0, 5, 120, 12345, 400),
        "u32",
        "while",
    ),
    IntegerLoop(
        "gcd",
        "`gcd(a, b)`: the greatest common divisor of `a` and `b` by Euclid's algorithm (`gcd(x, 0) == x`).",
        "pub fn gcd(a: u64, b: u64) u64",
        "    var x = a;\n    var y = b;\n    while (y != 0) {\n        const r = x % y;\n        x = y;\n        y = r;\n"
        "    }\n    return x;\n",
        None,  # type: ignore[arg-type]
        (),
        "u64",
        "while",
    ),
    IntegerLoop(
        "triangle",
        "`triangle(n)`: `1 + 2 + ... + n` computed with a `for` loop over the range `1..n + 1` (0 for 0).",
        "pub fn triangle(n: u32) u64",
        "    var total: u64 = 0;\n    for (1..n + 1) |i| {\n        total += i;\n    }\n    return total;\n",
        lambda n: n * (n + 1) // 2,
        (0, 1, 4, 100, 65535),
        "u64",
        "for",
    ),
    IntegerLoop(
        "bitLength",
        "`bitLength(n)`: the number of bits needed to write `n` in binary (0 for 0), counted by shifting a "
        "copy of `n` right until it is 0.",
        "pub fn bitLength(n: u64) u32",
        "    var rest = n;\n    var bits: u32 = 0;\n    while (rest != 0) : (rest >>= 1) {\n        bits += 1;\n"
        "    }\n    return bits;\n",
        lambda n: n.bit_length(),
        (0, 1, 2, 255, 256, 1 << 40),
        "u32",
        "while",
    ),
)


def integer_loops() -> Iterator[SpecTask]:
    for loop in INTEGER_LOOPS:
        if loop.name == "gcd":
            cases = ((12, 18, 6), (17, 5, 1), (0, 9, 9), (9, 0, 9), (1071, 462, 21))
            checks = [f"    try std.testing.expectEqual(@as(u64, {c}), gcd({a}, {b}));" for a, b, c in cases]
        elif loop.returns == "bool":
            checks = [
                f"    try std.testing.expect({'' if loop.model(n) else '!'}{loop.name}({n}));" for n in loop.inputs
            ]
        else:
            checks = [
                f"    try std.testing.expectEqual(@as({loop.returns}, {loop.model(n)}), {loop.name}({n}));"
                for n in loop.inputs
            ]
        solution = f"{loop.signature} {{\n{loop.body}}}\n"
        tests = f'test "{loop.name}" {{\n' + "\n".join(checks) + "\n}\n"
        yield SpecTask(f"integer_loop/{loop.name}", loop.section, f"Implement {loop.spec}", solution, tests)


# -- error unions -----------------------------------------------------------------------------------------------

ERROR_TASKS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "parseDigits",
        "Errors",
        "Parse a non-empty run of ASCII decimal digits into a `u32`.\n\n- `parseDigits(text)`: returns "
        "`error.Empty` for an empty string, `error.InvalidDigit` when a byte is not `0`-`9`, and "
        "`error.Overflow` when the value does not fit in `u32` (use `@mulWithOverflow` and `@addWithOverflow`).",
        """const std = @import("std");

pub const ParseError = error{ Empty, InvalidDigit, Overflow };

pub fn parseDigits(digits: []const u8) ParseError!u32 {
    if (digits.len == 0) return error.Empty;
    var value: u32 = 0;
    for (digits) |digit| {
        if (!std.ascii.isDigit(digit)) return error.InvalidDigit;
        const times = @mulWithOverflow(value, 10);
        if (times[1] != 0) return error.Overflow;
        const plus = @addWithOverflow(times[0], digit - '0');
        if (plus[1] != 0) return error.Overflow;
        value = plus[0];
    }
    return value;
}
""",
        """test "parseDigits" {
    try std.testing.expectEqual(@as(u32, 0), try parseDigits("0"));
    try std.testing.expectEqual(@as(u32, 4096), try parseDigits("4096"));
    try std.testing.expectEqual(@as(u32, 4294967295), try parseDigits("4294967295"));
    try std.testing.expectError(error.Overflow, parseDigits("4294967296"));
    try std.testing.expectError(error.InvalidDigit, parseDigits("12a"));
    try std.testing.expectError(error.InvalidDigit, parseDigits("-1"));
    try std.testing.expectError(error.Empty, parseDigits(""));
}
""",
    ),
    (
        "withdraw",
        "Errors",
        "An `Account` holds a balance in cents.\n\n- `withdraw(self, amount)`: takes `amount` from the balance; "
        "returns `error.InsufficientFunds` (balance unchanged) when the balance is smaller, and "
        "`error.ZeroAmount` for 0.\n- `deposit(self, amount)`: adds `amount`; returns `error.Overflow` "
        "(balance unchanged) when the sum does not fit in `u64`.",
        """pub const Account = struct {
    balance: u64,

    pub fn withdraw(self: *Account, amount: u64) error{ InsufficientFunds, ZeroAmount }!void {
        if (amount == 0) return error.ZeroAmount;
        if (amount > self.balance) return error.InsufficientFunds;
        self.balance -= amount;
    }

    pub fn deposit(self: *Account, amount: u64) error{Overflow}!void {
        const sum = @addWithOverflow(self.balance, amount);
        if (sum[1] != 0) return error.Overflow;
        self.balance = sum[0];
    }
};
""",
        """test "Account" {
    var account = Account{ .balance = 500 };
    try account.withdraw(200);
    try std.testing.expectEqual(@as(u64, 300), account.balance);
    try std.testing.expectError(error.InsufficientFunds, account.withdraw(301));
    try std.testing.expectEqual(@as(u64, 300), account.balance);
    try std.testing.expectError(error.ZeroAmount, account.withdraw(0));
    try account.deposit(50);
    try std.testing.expectEqual(@as(u64, 350), account.balance);
    try std.testing.expectError(error.Overflow, account.deposit(std.math.maxInt(u64)));
    try std.testing.expectEqual(@as(u64, 350), account.balance);
}
""",
    ),
    (
        "sumFields",
        "try",
        "Sum comma-separated integers.\n\n- `sumFields(text)`: splits `text` on `,`, parses each field (surrounding "
        "spaces allowed) as an `i64` with `std.fmt.parseInt`, and returns the sum. Any field that is not a number "
        "makes it return the parse error (use `try`). An empty string sums to 0.",
        """const std = @import("std");

pub fn sumFields(text: []const u8) !i64 {
    if (text.len == 0) return 0;
    var total: i64 = 0;
    var fields = std.mem.splitScalar(u8, text, ',');
    while (fields.next()) |field| {
        const number = std.mem.trim(u8, field, " ");
        total += try std.fmt.parseInt(i64, number, 10);
    }
    return total;
}
""",
        """test "sumFields" {
    try std.testing.expectEqual(@as(i64, 6), try sumFields("1,2,3"));
    try std.testing.expectEqual(@as(i64, -5), try sumFields(" 10 , -15 "));
    try std.testing.expectEqual(@as(i64, 0), try sumFields(""));
    try std.testing.expectEqual(@as(i64, 42), try sumFields("42"));
    try std.testing.expectError(error.InvalidCharacter, sumFields("1,x,3"));
    try std.testing.expectError(error.InvalidCharacter, sumFields("1,,3"));
}
""",
    ),
    (
        "portOrDefault",
        "catch",
        "Read a TCP port number with a fallback.\n\n- `portOrDefault(text, default)`: `text` parsed as a `u16` "
        "with `std.fmt.parseInt`; when parsing fails for any reason, `default` (use `catch`).\n- `isValidPort(text)`: "
        "`true` when `text` parses as a `u16` that is not 0.",
        """const std = @import("std");

pub fn portOrDefault(text: []const u8, default: u16) u16 {
    return std.fmt.parseInt(u16, text, 10) catch default;
}

pub fn isValidPort(text: []const u8) bool {
    const port = std.fmt.parseInt(u16, text, 10) catch return false;
    return port != 0;
}
""",
        """test "ports" {
    try std.testing.expectEqual(@as(u16, 8080), portOrDefault("8080", 80));
    try std.testing.expectEqual(@as(u16, 80), portOrDefault("http", 80));
    try std.testing.expectEqual(@as(u16, 443), portOrDefault("70000", 443));
    try std.testing.expect(isValidPort("22"));
    try std.testing.expect(!isValidPort("0"));
    try std.testing.expect(!isValidPort("65536"));
    try std.testing.expect(!isValidPort(""));
}
""",
    ),
    (
        "grade",
        "Error Set Type",
        "Turn exam scores into letter grades.\n\n- `grade(score)`: `'A'` for 90-100, `'B'` for 80-89, `'C'` for "
        "70-79, `'F'` below 70; a score above 100 is `error.InvalidScore`.\n- `countPassing(scores)`: how many "
        "scores of the slice get a grade other than `'F'`; the first invalid score makes it return "
        "`error.InvalidScore` (use `try`).",
        """pub const GradeError = error{InvalidScore};

pub fn grade(score: u8) GradeError!u8 {
    if (score > 100) return error.InvalidScore;
    if (score >= 90) return 'A';
    if (score >= 80) return 'B';
    if (score >= 70) return 'C';
    return 'F';
}

pub fn countPassing(scores: []const u8) GradeError!usize {
    var count: usize = 0;
    for (scores) |score| {
        if (try grade(score) != 'F') count += 1;
    }
    return count;
}
""",
        """test "grade" {
    try std.testing.expectEqual(@as(u8, 'A'), try grade(100));
    try std.testing.expectEqual(@as(u8, 'B'), try grade(80));
    try std.testing.expectEqual(@as(u8, 'C'), try grade(79));
    try std.testing.expectEqual(@as(u8, 'F'), try grade(0));
    try std.testing.expectError(error.InvalidScore, grade(101));
    try std.testing.expectEqual(@as(usize, 2), try countPassing(&.{ 95, 12, 70, 69 }));
    try std.testing.expectEqual(@as(usize, 0), try countPassing(&.{}));
    try std.testing.expectError(error.InvalidScore, countPassing(&.{ 90, 200, 90 }));
}
""",
    ),
    (
        "checkedMean",
        "Errors",
        "- `mean(values)`: the arithmetic mean of `values` as `f64`; `error.Empty` for an empty slice.\n"
        "- `meanOrZero(values)`: the same, but 0 for an empty slice (handle the error with `catch`).",
        """pub fn mean(values: []const i32) error{Empty}!f64 {
    if (values.len == 0) return error.Empty;
    var total: i64 = 0;
    for (values) |v| total += v;
    return @as(f64, @floatFromInt(total)) / @as(f64, @floatFromInt(values.len));
}

pub fn meanOrZero(values: []const i32) f64 {
    return mean(values) catch 0;
}
""",
        """test "mean" {
    try std.testing.expectEqual(@as(f64, 2.5), try mean(&.{ 1, 2, 3, 4 }));
    try std.testing.expectEqual(@as(f64, -1), try mean(&.{ -3, 1 }));
    try std.testing.expectError(error.Empty, mean(&.{}));
    try std.testing.expectEqual(@as(f64, 0), meanOrZero(&.{}));
    try std.testing.expectEqual(@as(f64, 7), meanOrZero(&.{7}));
}
""",
    ),
)


def error_tasks() -> Iterator[SpecTask]:
    for name, section, spec, solution, tests in ERROR_TASKS:
        yield SpecTask(f"error_union/{name}", section, spec, solution, tests)


# -- byte-string scans and slice transforms (expected values computed here) ---------------------------------------

TEXTS = ("Hello, World 42", "", "zig", "AAbbbCC  d", "2024-12-07 ok!", "mississippi")


@dataclass(frozen=True)
class TextScan:
    name: str
    spec: str
    returns: str
    body: str
    model: Callable[[str], object]
    section: str = "for"


def _longest_same_run(text: str) -> int:
    best = current = 0
    previous = None
    for c in text:
        current = current + 1 if c == previous else 1
        previous = c
        best = max(best, current)
    return best


def _first_repeated(text: str) -> int | None:
    seen: set[str] = set()
    for i, c in enumerate(text):
        if c in seen:
            return i
        seen.add(c)
    return None


TEXT_SCANS = (
    TextScan(
        "countUpper",
        "`countUpper(bytes)`: how many of the `bytes` are ASCII uppercase letters (`std.ascii.isUpper`).",
        "usize",
        "    var n: usize = 0;\n    for (bytes) |c| {\n        if (std.ascii.isUpper(c)) n += 1;\n    }\n    return n;\n",
        lambda t: sum(1 for c in t if "A" <= c <= "Z"),
    ),
    TextScan(
        "digitTotal",
        "`digitTotal(bytes)`: the sum of the values of the decimal digits that occur in `bytes` (other bytes ignored).",
        "u32",
        "    var total: u32 = 0;\n    for (bytes) |c| {\n        if (c >= '0' and c <= '9') total += c - '0';\n    }\n"
        "    return total;\n",
        lambda t: sum(int(c) for c in t if c.isdigit()),
    ),
    TextScan(
        "longestSameRun",
        '`longestSameRun(bytes)`: the length of the longest run of one repeated byte (`"aabccc"` gives 3; 0 for '
        "an empty string).",
        "usize",
        "    var best: usize = 0;\n    var run: usize = 0;\n    for (bytes, 0..) |c, i| {\n"
        "        run = if (i > 0 and bytes[i - 1] == c) run + 1 else 1;\n        best = @max(best, run);\n    }\n"
        "    return best;\n",
        _longest_same_run,
    ),
    TextScan(
        "firstRepeatIndex",
        "`firstRepeatIndex(bytes)`: the index of the first byte that already occurred earlier in `bytes`, or "
        "`null`. Remember the bytes seen in a `[256]bool` array.",
        "?usize",
        "    var seen = [_]bool{false} ** 256;\n    for (bytes, 0..) |c, i| {\n        if (seen[c]) return i;\n"
        "        seen[c] = true;\n    }\n    return null;\n",
        _first_repeated,
        "Arrays",
    ),
    TextScan(
        "isLowerWord",
        "`isLowerWord(bytes)`: `true` when `bytes` is not empty and every byte is an ASCII lowercase letter.",
        "bool",
        "    if (bytes.len == 0) return false;\n    for (bytes) |c| {\n        if (c < 'a' or c > 'z') return false;\n"
        "    }\n    return true;\n",
        lambda t: bool(t) and all("a" <= c <= "z" for c in t),
    ),
)


def _zig_string(text: str) -> str:
    return '"' + text.replace("\\\\", "\\\\\\\\").replace('"', '\\\\"') + '"'


def text_scans() -> Iterator[SpecTask]:
    for scan in TEXT_SCANS:
        checks = []
        for text in TEXTS:
            call = f"{scan.name}({_zig_string(text)})"
            expected = scan.model(text)
            if scan.returns == "bool":
                checks.append(f"    try std.testing.expect({'' if expected else '!'}{call});")
            else:
                checks.append(f"    try std.testing.expectEqual({_expect(expected, scan.returns)}, {call});")
        solution = (
            f'const std = @import("std");\n\npub fn {scan.name}(bytes: []const u8) {scan.returns} {{\n{scan.body}}}\n'
        )
        tests = f'test "{scan.name}" {{\n' + "\n".join(checks) + "\n}\n"
        yield SpecTask(f"text_scan/{scan.name}", scan.section, f"Implement {scan.spec}", solution, tests)


@dataclass(frozen=True)
class Transform:
    name: str
    spec: str
    body: str
    model: Callable[[list[int]], list[int]]
    section: str = "Slices"


TRANSFORMS = (
    Transform(
        "prefixSums",
        "`prefixSums(allocator, items)`: a new slice (the caller frees it) whose element `i` is the sum of "
        "`items[0..i + 1]`.",
        "    const out = try allocator.alloc(i64, items.len);\n    var running: i64 = 0;\n"
        "    for (items, out) |x, *slot| {\n        running += x;\n        slot.* = running;\n    }\n    return out;\n",
        lambda xs: [sum(xs[: i + 1]) for i in range(len(xs))],
    ),
    Transform(
        "keepEven",
        "`keepEven(allocator, items)`: the even elements of `items` in order, collected in a "
        "`std.ArrayList(i64)` and returned with `toOwnedSlice()` (the caller frees it).",
        "    var kept = std.ArrayList(i64).init(allocator);\n    errdefer kept.deinit();\n    for (items) |x| {\n"
        "        if (@mod(x, 2) == 0) try kept.append(x);\n    }\n    return kept.toOwnedSlice();\n",
        lambda xs: [x for x in xs if x % 2 == 0],
    ),
    Transform(
        "dropAdjacentRepeats",
        "`dropAdjacentRepeats(allocator, items)`: a copy of `items` in which each run of equal neighbours is "
        "kept once (`[1, 1, 2, 1]` gives `[1, 2, 1]`); the caller frees it.",
        "    var kept = std.ArrayList(i64).init(allocator);\n    errdefer kept.deinit();\n"
        "    for (items, 0..) |x, i| {\n        if (i == 0 or items[i - 1] != x) try kept.append(x);\n    }\n"
        "    return kept.toOwnedSlice();\n",
        lambda xs: [x for i, x in enumerate(xs) if i == 0 or xs[i - 1] != x],
    ),
    Transform(
        "runningMax",
        "`runningMax(allocator, items)`: a new slice whose element `i` is the largest of `items[0..i + 1]`.",
        "    const out = try allocator.alloc(i64, items.len);\n    for (items, 0..) |x, i| {\n"
        "        out[i] = if (i == 0) x else @max(out[i - 1], x);\n    }\n    return out;\n",
        lambda xs: [max(xs[: i + 1]) for i in range(len(xs))],
    ),
    Transform(
        "differences",
        "`differences(allocator, items)`: the differences of neighbours, `items[i + 1] - items[i]`, in a new "
        "slice one shorter than `items` (empty for fewer than two elements).",
        "    if (items.len < 2) return allocator.alloc(i64, 0);\n    const out = try allocator.alloc(i64, items.len - 1);\n"
        "    for (out, 0..) |*slot, i| slot.* = items[i + 1] - items[i];\n    return out;\n",
        lambda xs: [b - a for a, b in pairwise(xs)],
    ),
)

TRANSFORM_SAMPLES = ([4, -2, 7, 7, 0, 10, -3], [], [5], [2, 2, 2, 8, 1, 1])


def transforms() -> Iterator[SpecTask]:
    for t in TRANSFORMS:
        checks = []
        for values in TRANSFORM_SAMPLES:
            checks.append(
                f"    {{\n        const got = try {t.name}(std.testing.allocator, {_slice(values, 'i64')});\n"
                f"        defer std.testing.allocator.free(got);\n"
                f"        try std.testing.expectEqualSlices(i64, {_slice(t.model(values), 'i64')}, got);\n    }}"
            )
        solution = (
            'const std = @import("std");\n\n'
            f"pub fn {t.name}(allocator: std.mem.Allocator, items: []const i64) ![]i64 {{\n{t.body}}}\n"
        )
        tests = f'test "{t.name}" {{\n' + "\n".join(checks) + "\n}\n"
        yield SpecTask(f"slice_transform/{t.name}", t.section, f"Implement {t.spec}", solution, tests)


def all_tasks() -> list[SpecTask]:
    """Every task of every family, in a fixed order."""
    from zigtune.generation.spec_bank_basics import basics_tasks
    from zigtune.generation.spec_bank_extra import extra_tasks
    from zigtune.generation.spec_bank_more import more_tasks
    from zigtune.generation.spec_bank_programs import programs_tasks

    return [
        *reductions(),
        *integer_loops(),
        *error_tasks(),
        *text_scans(),
        *transforms(),
        *more_tasks(),
        *extra_tasks(),
        *programs_tasks(),
        *basics_tasks(),
    ]
