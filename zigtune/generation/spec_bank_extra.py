# ruff: noqa: E501  (Zig source kept as the compiler checks it, one statement a line)
"""More :mod:`.spec_bank` families: builtins, pointers, ``switch``, strings, and test helpers.

Same shape as :mod:`.spec_bank_more`: (variant name, docs section, spec, solution, hidden tests). No dagster here.
"""

from __future__ import annotations

from zigtune.generation.spec_tasks import SpecTask

Entry = tuple[str, str, str, str, str]

BUILTINS: tuple[Entry, ...] = (
    (
        "powersOfTwo",
        "@popCount",
        "Bit tricks on `u64` with builtins:\n\n- `isPowerOfTwo(x)`: exactly one bit set (use `@popCount`).\n- `floorLog2(x)`: the index of the highest set bit (`63 - @clz(x)`), or `null` for 0.\n- `roundUpPowerOfTwo(x)`: the smallest power of two `>= x` for `1 <= x <= 1 << 63`.",
        """pub fn isPowerOfTwo(x: u64) bool {
    return @popCount(x) == 1;
}

pub fn floorLog2(x: u64) ?u6 {
    if (x == 0) return null;
    return @intCast(63 - @clz(x));
}

pub fn roundUpPowerOfTwo(x: u64) u64 {
    if (isPowerOfTwo(x)) return x;
    const top: u6 = @intCast(64 - @clz(x));
    return @as(u64, 1) << top;
}
""",
        """test "powers of two" {
    try std.testing.expect(isPowerOfTwo(1));
    try std.testing.expect(isPowerOfTwo(1 << 40));
    try std.testing.expect(!isPowerOfTwo(0));
    try std.testing.expect(!isPowerOfTwo(12));
    try std.testing.expectEqual(@as(?u6, 0), floorLog2(1));
    try std.testing.expectEqual(@as(?u6, 3), floorLog2(15));
    try std.testing.expectEqual(@as(?u6, null), floorLog2(0));
    try std.testing.expectEqual(@as(u64, 16), roundUpPowerOfTwo(9));
    try std.testing.expectEqual(@as(u64, 64), roundUpPowerOfTwo(64));
    try std.testing.expectEqual(@as(u64, 1), roundUpPowerOfTwo(1));
}
""",
    ),
    (
        "narrowing",
        "@truncate",
        "Integer conversions:\n\n- `midpoint(a, b)`: the mean of two `u8`s rounded down, computed in a wider type so it cannot overflow, returned as `u8` (`@intCast`).\n- `bottomEightBits(x)`: the lowest 8 bits of a `u32` (`@truncate`).\n- `reinterpretUnsigned(x)`: the same 16 bits of an `i16` read as `u16` (`@bitCast`).\n- `roundToInt(x)`: an `f32` rounded to the nearest `i32` (`@round`, `@intFromFloat`).",
        """pub fn midpoint(a: u8, b: u8) u8 {
    const sum = @as(u16, a) + b;
    return @intCast(sum / 2);
}

pub fn bottomEightBits(x: u32) u8 {
    return @truncate(x);
}

pub fn reinterpretUnsigned(x: i16) u16 {
    return @bitCast(x);
}

pub fn roundToInt(x: f32) i32 {
    return @intFromFloat(@round(x));
}
""",
        """test "conversions" {
    try std.testing.expectEqual(@as(u8, 254), midpoint(255, 253));
    try std.testing.expectEqual(@as(u8, 0), midpoint(0, 1));
    try std.testing.expectEqual(@as(u8, 0xcd), bottomEightBits(0xabcd));
    try std.testing.expectEqual(@as(u16, 0xffff), reinterpretUnsigned(-1));
    try std.testing.expectEqual(@as(u16, 0x8000), reinterpretUnsigned(std.math.minInt(i16)));
    try std.testing.expectEqual(@as(i32, 3), roundToInt(2.5));
    try std.testing.expectEqual(@as(i32, -2), roundToInt(-1.6));
}
""",
    ),
    (
        "floorDivision",
        "@mod",
        "Signed division the mathematical way:\n\n- `wrapIndex(i, len)`: `i` wrapped into `0..len` for any `i32` `i` (`-1` -> `len - 1`), with `@mod` (`len > 0`).\n- `floorDiv(a, b)`: `a / b` rounded towards negative infinity (`@divFloor`).\n- `truncDiv(a, b)`: rounded towards zero (`@divTrunc`); both return `error.DivisionByZero` when `b == 0`.",
        """pub fn wrapIndex(i: i32, len: i32) i32 {
    return @mod(i, len);
}

pub fn floorDiv(a: i32, b: i32) error{DivisionByZero}!i32 {
    if (b == 0) return error.DivisionByZero;
    return @divFloor(a, b);
}

pub fn truncDiv(a: i32, b: i32) error{DivisionByZero}!i32 {
    if (b == 0) return error.DivisionByZero;
    return @divTrunc(a, b);
}
""",
        """test "division" {
    try std.testing.expectEqual(@as(i32, 4), wrapIndex(-1, 5));
    try std.testing.expectEqual(@as(i32, 2), wrapIndex(12, 5));
    try std.testing.expectEqual(@as(i32, -4), try floorDiv(-7, 2));
    try std.testing.expectEqual(@as(i32, -3), try truncDiv(-7, 2));
    try std.testing.expectEqual(@as(i32, 3), try floorDiv(7, 2));
    try std.testing.expectError(error.DivisionByZero, floorDiv(1, 0));
    try std.testing.expectError(error.DivisionByZero, truncDiv(1, 0));
}
""",
    ),
    (
        "byteOrder",
        "@byteSwap",
        "Read and write integers in a byte order:\n\n- `readBigU32(bytes)`: the `u32` stored big-endian in a `*const [4]u8` (`std.mem.readInt`).\n- `writeLittleU16(buf, value)`: stores `value` little-endian into a `*[2]u8` (`std.mem.writeInt`).\n- `reverseBytes(x)`: a `u32` with its byte order reversed (`@byteSwap`).",
        """const std = @import("std");

pub fn readBigU32(bytes: *const [4]u8) u32 {
    return std.mem.readInt(u32, bytes, .big);
}

pub fn writeLittleU16(buf: *[2]u8, value: u16) void {
    std.mem.writeInt(u16, buf, value, .little);
}

pub fn reverseBytes(x: u32) u32 {
    return @byteSwap(x);
}
""",
        """test "byte order" {
    try std.testing.expectEqual(@as(u32, 0x01020304), readBigU32(&.{ 1, 2, 3, 4 }));
    var buf: [2]u8 = undefined;
    writeLittleU16(&buf, 0xbeef);
    try std.testing.expectEqualSlices(u8, &.{ 0xef, 0xbe }, &buf);
    try std.testing.expectEqual(@as(u32, 0x78563412), reverseBytes(0x12345678));
}
""",
    ),
)

POINTERS: tuple[Entry, ...] = (
    (
        "orderPair",
        "Pointers",
        "Change values through pointers:\n\n- `orderPair(a, b)`: makes `a.*` the smaller and `b.*` the larger of the two `i32`s.\n- `addAll(total, items)`: adds every element of `items` to `total.*` (an `*i64`).\n- `bumpAll(values)`: adds 1 to every element of a `[]u32` using a pointer capture.",
        """pub fn orderPair(a: *i32, b: *i32) void {
    if (a.* > b.*) {
        const smaller = b.*;
        b.* = a.*;
        a.* = smaller;
    }
}

pub fn addAll(total: *i64, items: []const i32) void {
    for (items) |item| total.* += item;
}

pub fn bumpAll(values: []u32) void {
    for (values) |*value| value.* += 1;
}
""",
        """test "pointers" {
    var x: i32 = 9;
    var y: i32 = -2;
    orderPair(&x, &y);
    try std.testing.expectEqual(@as(i32, -2), x);
    try std.testing.expectEqual(@as(i32, 9), y);
    orderPair(&x, &y);
    try std.testing.expectEqual(@as(i32, -2), x);
    var total: i64 = 100;
    addAll(&total, &.{ 1, -30, 5 });
    try std.testing.expectEqual(@as(i64, 76), total);
    var values = [_]u32{ 0, 41 };
    bumpAll(&values);
    try std.testing.expectEqualSlices(u32, &.{ 1, 42 }, &values);
}
""",
    ),
    (
        "sentinel",
        "Sentinel-Terminated Pointers",
        "Work with C-style strings (`[*:0]const u8`):\n\n- `cLength(s)`: the number of bytes before the terminating 0, counted with a `while` loop.\n- `asSlice(s)`: the same bytes as a `[:0]const u8` (`std.mem.span`).\n- `countSpaces(s)`: how many `' '` bytes come before the terminator.",
        """const std = @import("std");

pub fn cLength(s: [*:0]const u8) usize {
    var n: usize = 0;
    while (s[n] != 0) : (n += 1) {}
    return n;
}

pub fn asSlice(s: [*:0]const u8) [:0]const u8 {
    return std.mem.span(s);
}

pub fn countSpaces(s: [*:0]const u8) usize {
    var count: usize = 0;
    for (std.mem.span(s)) |c| {
        if (c == ' ') count += 1;
    }
    return count;
}
""",
        """test "C strings" {
    const text: [*:0]const u8 = "two words here";
    try std.testing.expectEqual(@as(usize, 14), cLength(text));
    try std.testing.expectEqualStrings("two words here", asSlice(text));
    try std.testing.expectEqual(@as(usize, 2), countSpaces(text));
    try std.testing.expectEqual(@as(usize, 0), cLength(""));
}
""",
    ),
    (
        "callbacks",
        "Functions",
        "Pass functions around:\n\n- `applyEach(items, f)`: replaces each element `x` of a `[]i32` with `f(x)`, where `f` is a `*const fn (i32) i32`.\n- `firstWhere(items, pred)`: the index of the first element for which `pred: *const fn (i32) bool` holds, or `null`.",
        """pub fn applyEach(items: []i32, f: *const fn (i32) i32) void {
    for (items) |*item| item.* = f(item.*);
}

pub fn firstWhere(items: []const i32, pred: *const fn (i32) bool) ?usize {
    for (items, 0..) |item, i| {
        if (pred(item)) return i;
    }
    return null;
}
""",
        """fn negate(x: i32) i32 {
    return -x;
}

fn isBig(x: i32) bool {
    return x > 100;
}

test "callbacks" {
    var items = [_]i32{ 5, -7, 300 };
    applyEach(&items, &negate);
    try std.testing.expectEqualSlices(i32, &.{ -5, 7, -300 }, &items);
    try std.testing.expectEqual(@as(?usize, 1), firstWhere(&.{ 1, 101, 500 }, &isBig));
    try std.testing.expectEqual(@as(?usize, null), firstWhere(&.{ 1, 2 }, &isBig));
}
""",
    ),
)

SWITCHES: tuple[Entry, ...] = (
    (
        "daysInMonth",
        "switch",
        "- `isLeapYear(year)`: divisible by 4, except centuries not divisible by 400.\n- `daysInMonth(year, month)`: 28 to 31 for months 1-12 (a `switch` with several values per prong: `1, 3, 5, 7, 8, 10, 12 => 31`), or `null` for any other month.",
        """pub fn isLeapYear(year: u32) bool {
    return (year % 4 == 0 and year % 100 != 0) or year % 400 == 0;
}

pub fn daysInMonth(year: u32, month: u8) ?u8 {
    return switch (month) {
        1, 3, 5, 7, 8, 10, 12 => 31,
        4, 6, 9, 11 => 30,
        2 => if (isLeapYear(year)) 29 else 28,
        else => null,
    };
}
""",
        """test "calendar" {
    try std.testing.expect(isLeapYear(2024));
    try std.testing.expect(!isLeapYear(1900));
    try std.testing.expect(isLeapYear(2000));
    try std.testing.expectEqual(@as(?u8, 29), daysInMonth(2024, 2));
    try std.testing.expectEqual(@as(?u8, 28), daysInMonth(2023, 2));
    try std.testing.expectEqual(@as(?u8, 30), daysInMonth(2023, 11));
    try std.testing.expectEqual(@as(?u8, 31), daysInMonth(2023, 12));
    try std.testing.expectEqual(@as(?u8, null), daysInMonth(2023, 13));
}
""",
    ),
    (
        "statusClass",
        "switch",
        "`Class` is an enum `informational, success, redirect, client_error, server_error`.\n\n- `classOf(code)`: the class of an HTTP status code by its range (`100...199`, `200...299`, ...; switch on ranges), or `null` outside 100-599.\n- `isRetryable(code)`: `true` for 429 and for every server error.",
        """pub const Class = enum { informational, success, redirect, client_error, server_error };

pub fn classOf(code: u16) ?Class {
    return switch (code) {
        100...199 => .informational,
        200...299 => .success,
        300...399 => .redirect,
        400...499 => .client_error,
        500...599 => .server_error,
        else => null,
    };
}

pub fn isRetryable(code: u16) bool {
    return code == 429 or classOf(code) == .server_error;
}
""",
        """test "status classes" {
    try std.testing.expectEqual(@as(?Class, .success), classOf(204));
    try std.testing.expectEqual(@as(?Class, .client_error), classOf(404));
    try std.testing.expectEqual(@as(?Class, null), classOf(99));
    try std.testing.expectEqual(@as(?Class, null), classOf(600));
    try std.testing.expect(isRetryable(503));
    try std.testing.expect(isRetryable(429));
    try std.testing.expect(!isRetryable(404));
}
""",
    ),
    (
        "trafficLight",
        "Exhaustive Switching",
        "`Light` is an enum `red, red_amber, green, amber` (the UK sequence).\n\n- `next(light)`: the following phase (`amber` -> `red`), with an exhaustive `switch` (no `else`).\n- `afterSteps(light, steps)`: the phase after `steps` calls of `next`.\n- `mayDrive(light)`: only on green.",
        """pub const Light = enum { red, red_amber, green, amber };

pub fn next(light: Light) Light {
    return switch (light) {
        .red => .red_amber,
        .red_amber => .green,
        .green => .amber,
        .amber => .red,
    };
}

pub fn afterSteps(light: Light, steps: usize) Light {
    var current = light;
    for (0..steps) |_| current = next(current);
    return current;
}

pub fn mayDrive(light: Light) bool {
    return light == .green;
}
""",
        """test "lights" {
    try std.testing.expectEqual(Light.red_amber, next(.red));
    try std.testing.expectEqual(Light.red, next(.amber));
    try std.testing.expectEqual(Light.green, afterSteps(.red, 6));
    try std.testing.expectEqual(Light.amber, afterSteps(.amber, 0));
    try std.testing.expect(mayDrive(afterSteps(.amber, 3)));
    try std.testing.expect(!mayDrive(.red_amber));
}
""",
    ),
    (
        "vowelCount",
        "switch",
        "- `isVowel(c)`: `true` for `a e i o u` in either case (one `switch` prong listing all of them).\n- `vowelCount(text)`: how many bytes of `text` are vowels.\n- `stripVowels(buf, text)`: copies the bytes of `text` that are not vowels into `buf` and returns the filled part (`buf.len >= text.len`).",
        """pub fn isVowel(c: u8) bool {
    return switch (c) {
        'a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U' => true,
        else => false,
    };
}

pub fn vowelCount(text: []const u8) usize {
    var count: usize = 0;
    for (text) |c| {
        if (isVowel(c)) count += 1;
    }
    return count;
}

pub fn stripVowels(buf: []u8, text: []const u8) []u8 {
    var len: usize = 0;
    for (text) |c| {
        if (isVowel(c)) continue;
        buf[len] = c;
        len += 1;
    }
    return buf[0..len];
}
""",
        """test "vowels" {
    try std.testing.expect(isVowel('E'));
    try std.testing.expect(!isVowel('y'));
    try std.testing.expectEqual(@as(usize, 5), vowelCount("Education"));
    var buf: [32]u8 = undefined;
    try std.testing.expectEqualStrings("Zg s fst", stripVowels(&buf, "Zig is fast"));
    try std.testing.expectEqualStrings("", stripVowels(&buf, "aeiou"));
}
""",
    ),
)

STRINGS: tuple[Entry, ...] = (
    (
        "caesar",
        "String Literals and Unicode Code Point Literals",
        "- `caesar(allocator, text, shift)`: a new string in which every ASCII letter is moved `shift` places forward in the alphabet (wrapping around, case kept) and every other byte is copied. The caller frees it.",
        """const std = @import("std");

pub fn caesar(allocator: std.mem.Allocator, message: []const u8, shift: u8) ![]u8 {
    const result = try allocator.alloc(u8, message.len);
    const step = shift % 26;
    for (message, result) |c, *r| {
        r.* = switch (c) {
            'a'...'z' => 'a' + (c - 'a' + step) % 26,
            'A'...'Z' => 'A' + (c - 'A' + step) % 26,
            else => c,
        };
    }
    return result;
}
""",
        """test "caesar" {
    const a = try caesar(std.testing.allocator, "Hello, Zig!", 3);
    defer std.testing.allocator.free(a);
    try std.testing.expectEqualStrings("Khoor, Clj!", a);
    const b = try caesar(std.testing.allocator, "xyz", 29);
    defer std.testing.allocator.free(b);
    try std.testing.expectEqualStrings("abc", b);
}
""",
    ),
    (
        "titleCase",
        "Slices",
        "- `titleCase(buf)`: changes a `[]u8` in place so that the first letter of every word is uppercase and the other letters lowercase (words are separated by spaces; `std.ascii`).\n- `countWords(text)`: the number of words (runs of non-space bytes).",
        """const std = @import("std");

pub fn titleCase(buf: []u8) void {
    var at_start = true;
    for (buf) |*c| {
        if (c.* == ' ') {
            at_start = true;
        } else {
            c.* = if (at_start) std.ascii.toUpper(c.*) else std.ascii.toLower(c.*);
            at_start = false;
        }
    }
}

pub fn countWords(text: []const u8) usize {
    var count: usize = 0;
    var in_word = false;
    for (text) |c| {
        if (c == ' ') {
            in_word = false;
        } else if (!in_word) {
            in_word = true;
            count += 1;
        }
    }
    return count;
}
""",
        """test "title case" {
    var text = "the QUICK  brown fox".*;
    titleCase(&text);
    try std.testing.expectEqualStrings("The Quick  Brown Fox", &text);
    try std.testing.expectEqual(@as(usize, 4), countWords("  the quick  brown fox "));
    try std.testing.expectEqual(@as(usize, 0), countWords("   "));
}
""",
    ),
)

TEST_HELPERS: tuple[Entry, ...] = (
    (
        "expectIncreasing",
        "Zig Test",
        "Write assertion helpers that tests call with `try`:\n\n- `expectStrictlyIncreasing(items)`: returns `error.NotIncreasing` when some element is not greater than the one before it.\n- `expectAllWithin(items, low, high)`: returns `error.OutOfRange` when an element is outside `low..high` (both inclusive).",
        """pub fn expectStrictlyIncreasing(items: []const i64) error{NotIncreasing}!void {
    if (items.len < 2) return;
    for (items[1..], 1..) |item, i| {
        if (item <= items[i - 1]) return error.NotIncreasing;
    }
}

pub fn expectAllWithin(items: []const i64, low: i64, high: i64) error{OutOfRange}!void {
    for (items) |item| {
        if (item < low or item > high) return error.OutOfRange;
    }
}
""",
        """test "helpers" {
    try expectStrictlyIncreasing(&.{ -3, 0, 8 });
    try expectStrictlyIncreasing(&.{});
    try std.testing.expectError(error.NotIncreasing, expectStrictlyIncreasing(&.{ 1, 2, 2 }));
    try std.testing.expectError(error.NotIncreasing, expectStrictlyIncreasing(&.{ 5, 1 }));
    try expectAllWithin(&.{ 1, 5, 10 }, 1, 10);
    try std.testing.expectError(error.OutOfRange, expectAllWithin(&.{ 1, 11 }, 1, 10));
}
""",
    ),
    (
        "Counter",
        "Zig Test",
        "`Counter` counts events per kind for tests: `kinds` is an enum `click, key, scroll`.\n\n- `record(self, kind)`: counts one event (`std.EnumArray(Kind, u32)` inside).\n- `expectCount(self, kind, n)`: returns `error.WrongCount` unless exactly `n` events of that kind were recorded.\n- `total(self)`.",
        """const std = @import("std");

pub const Kind = enum { click, key, scroll };

pub const Counter = struct {
    counts: std.EnumArray(Kind, u32) = std.EnumArray(Kind, u32).initFill(0),

    pub fn record(self: *Counter, kind: Kind) void {
        self.counts.getPtr(kind).* += 1;
    }

    pub fn expectCount(self: Counter, kind: Kind, n: u32) error{WrongCount}!void {
        if (self.counts.get(kind) != n) return error.WrongCount;
    }

    pub fn total(self: Counter) u32 {
        var sum: u32 = 0;
        for (self.counts.values) |v| sum += v;
        return sum;
    }
};
""",
        """test "Counter" {
    var counter = Counter{};
    counter.record(.click);
    counter.record(.scroll);
    counter.record(.click);
    try counter.expectCount(.click, 2);
    try counter.expectCount(.key, 0);
    try std.testing.expectError(error.WrongCount, counter.expectCount(.scroll, 2));
    try std.testing.expectEqual(@as(u32, 3), counter.total());
}
""",
    ),
)

CONTAINERS: tuple[Entry, ...] = (
    (
        "smallestK",
        "Zig Standard Library",
        "- `smallestK(allocator, items, k)`: the `k` smallest values of `items` in ascending order, in a new slice the caller frees (fewer when `items` has fewer). Use a `std.PriorityQueue(i32, void, lessFirst)` with a min-first `lessFirst` function: add every item, then remove `k` times.",
        """const std = @import("std");

fn lessFirst(_: void, x: i32, y: i32) std.math.Order {
    return std.math.order(x, y);
}

pub fn smallestK(allocator: std.mem.Allocator, items: []const i32, k: usize) ![]i32 {
    var heap = std.PriorityQueue(i32, void, lessFirst).init(allocator, {});
    defer heap.deinit();
    try heap.addSlice(items);
    const n = @min(k, items.len);
    const result = try allocator.alloc(i32, n);
    for (result) |*slot| slot.* = heap.remove();
    return result;
}
""",
        """test "smallestK" {
    const a = try smallestK(std.testing.allocator, &.{ 9, -4, 7, 0, 12, -4 }, 3);
    defer std.testing.allocator.free(a);
    try std.testing.expectEqualSlices(i32, &.{ -4, -4, 0 }, a);
    const b = try smallestK(std.testing.allocator, &.{ 5, 1 }, 10);
    defer std.testing.allocator.free(b);
    try std.testing.expectEqualSlices(i32, &.{ 1, 5 }, b);
}
""",
    ),
    (
        "firstSeenOrder",
        "Zig Standard Library",
        "- `tally(allocator, words)`: counts the words of a slice in a `std.StringArrayHashMap(u32)` (which keeps insertion order) and returns the map; the caller calls `deinit`. The words outlive the map.\n- `mostFrequent(map)`: the word with the highest count, the earliest inserted on ties, or `null` for an empty map.",
        """const std = @import("std");

pub fn tally(allocator: std.mem.Allocator, words: []const []const u8) !std.StringArrayHashMap(u32) {
    var map = std.StringArrayHashMap(u32).init(allocator);
    errdefer map.deinit();
    for (words) |word| {
        const gop = try map.getOrPut(word);
        gop.value_ptr.* = if (gop.found_existing) gop.value_ptr.* + 1 else 1;
    }
    return map;
}

pub fn mostFrequent(map: std.StringArrayHashMap(u32)) ?[]const u8 {
    var best: ?[]const u8 = null;
    var best_count: u32 = 0;
    for (map.keys(), map.values()) |word, count| {
        if (count > best_count) {
            best = word;
            best_count = count;
        }
    }
    return best;
}
""",
        """test "tally" {
    var map = try tally(std.testing.allocator, &.{ "b", "a", "b", "c", "a" });
    defer map.deinit();
    try std.testing.expectEqualStrings("b", map.keys()[0]);
    try std.testing.expectEqualStrings("c", map.keys()[2]);
    try std.testing.expectEqual(@as(u32, 2), map.get("a").?);
    try std.testing.expectEqualStrings("b", mostFrequent(map).?);
    var empty = try tally(std.testing.allocator, &.{});
    defer empty.deinit();
    try std.testing.expect(mostFrequent(empty) == null);
}
""",
    ),
    (
        "Playlist",
        "Zig Standard Library",
        "`Playlist` keeps song ids in order in a `std.ArrayList(u32)`. Implement `init(allocator)`, `deinit`, `add(self, id)` (appends), `insertAt(self, index, id)` (`insert`), `removeAt(self, index)` (`orderedRemove`, returns the id), `moveToFront(self, index)`, and `ids(self)` (the slice).",
        """const std = @import("std");

pub const Playlist = struct {
    songs: std.ArrayList(u32),

    pub fn init(allocator: std.mem.Allocator) Playlist {
        return .{ .songs = std.ArrayList(u32).init(allocator) };
    }

    pub fn deinit(self: *Playlist) void {
        self.songs.deinit();
    }

    pub fn add(self: *Playlist, id: u32) !void {
        try self.songs.append(id);
    }

    pub fn insertAt(self: *Playlist, index: usize, id: u32) !void {
        try self.songs.insert(index, id);
    }

    pub fn removeAt(self: *Playlist, index: usize) u32 {
        std.debug.assert(index < self.songs.items.len);
        return self.songs.orderedRemove(index);
    }

    pub fn moveToFront(self: *Playlist, index: usize) !void {
        const id = self.songs.orderedRemove(index);
        try self.songs.insert(0, id);
    }

    pub fn ids(self: Playlist) []const u32 {
        return self.songs.items;
    }
};
""",
        """test "Playlist" {
    var list = Playlist.init(std.testing.allocator);
    defer list.deinit();
    try list.add(10);
    try list.add(20);
    try list.add(30);
    try list.insertAt(1, 15);
    try std.testing.expectEqualSlices(u32, &.{ 10, 15, 20, 30 }, list.ids());
    try std.testing.expectEqual(@as(u32, 20), list.removeAt(2));
    try list.moveToFront(2);
    try std.testing.expectEqualSlices(u32, &.{ 30, 10, 15 }, list.ids());
}
""",
    ),
    (
        "concatAll",
        "Memory",
        "- `concatAll(allocator, parts)`: one newly allocated string holding all `parts` in order. Compute the total length first, allocate once with `allocator.alloc`, and copy each part with `@memcpy`. The caller frees it.",
        """const std = @import("std");

pub fn concatAll(allocator: std.mem.Allocator, parts: []const []const u8) ![]u8 {
    var total: usize = 0;
    for (parts) |part| total += part.len;
    const joined = try allocator.alloc(u8, total);
    var at: usize = 0;
    for (parts) |part| {
        @memcpy(joined[at..][0..part.len], part);
        at += part.len;
    }
    return joined;
}
""",
        """test "concatAll" {
    const s = try concatAll(std.testing.allocator, &.{ "zig", "", " ", "0.14" });
    defer std.testing.allocator.free(s);
    try std.testing.expectEqualStrings("zig 0.14", s);
    const none = try concatAll(std.testing.allocator, &.{});
    defer std.testing.allocator.free(none);
    try std.testing.expectEqual(@as(usize, 0), none.len);
}
""",
    ),
)

REFLECTION: tuple[Entry, ...] = (
    (
        "fieldInfo",
        "@typeInfo",
        'Inspect struct types at compile time:\n\n- `countFields(T)`: the number of fields of the struct type `T` (`@typeInfo(T).@"struct".fields`).\n- `declaresField(T, name)`: whether `T` has a field with that name (`@hasField`; `name` is `comptime`).\n- `totalOfIntegers(value)`: the sum of every integer field of a struct value as `i64`, with `inline for` over its fields (other fields ignored).',
        """const std = @import("std");

pub fn countFields(comptime T: type) usize {
    return @typeInfo(T).@"struct".fields.len;
}

pub fn declaresField(comptime T: type, comptime name: []const u8) bool {
    return @hasField(T, name);
}

pub fn totalOfIntegers(value: anytype) i64 {
    const info = @typeInfo(@TypeOf(value)).@"struct";
    var sum: i64 = 0;
    inline for (info.fields) |field| {
        if (@typeInfo(field.type) == .int) sum += @field(value, field.name);
    }
    return sum;
}
""",
        """const Sample = struct { a: u8, label: []const u8, b: i32, ratio: f32 };

test "reflection" {
    try std.testing.expectEqual(@as(usize, 4), countFields(Sample));
    try std.testing.expect(declaresField(Sample, "label"));
    try std.testing.expect(!declaresField(Sample, "c"));
    const s = Sample{ .a = 200, .label = "x", .b = -50, .ratio = 0.5 };
    try std.testing.expectEqual(@as(i64, 150), totalOfIntegers(s));
}
""",
    ),
    (
        "Vec",
        "Generic Data Structures",
        "`Vec(n)` is a generic struct of `n` `f64` coordinates (`n` is `comptime`). Give it `add(self, other)`, `scale(self, k)`, `dot(self, other)` and `zero()` (all coordinates 0).",
        """pub fn Vec(comptime n: usize) type {
    return struct {
        coords: [n]f64,

        const Self = @This();

        pub fn zero() Self {
            return .{ .coords = [_]f64{0} ** n };
        }

        pub fn add(self: Self, other: Self) Self {
            var out: Self = undefined;
            for (&out.coords, self.coords, other.coords) |*o, a, b| o.* = a + b;
            return out;
        }

        pub fn scale(self: Self, k: f64) Self {
            var out = self;
            for (&out.coords) |*c| c.* *= k;
            return out;
        }

        pub fn dot(self: Self, other: Self) f64 {
            var total: f64 = 0;
            for (self.coords, other.coords) |a, b| total += a * b;
            return total;
        }
    };
}
""",
        """test "Vec" {
    const V3 = Vec(3);
    const a = V3{ .coords = .{ 1, 2, 3 } };
    const b = V3{ .coords = .{ 4, -5, 6 } };
    try std.testing.expectEqual([3]f64{ 5, -3, 9 }, a.add(b).coords);
    try std.testing.expectEqual([3]f64{ 2, 4, 6 }, a.scale(2).coords);
    try std.testing.expectEqual(@as(f64, 12), a.dot(b));
    try std.testing.expectEqual([3]f64{ 0, 0, 0 }, V3.zero().coords);
    const one = Vec(1){ .coords = .{-1} };
    try std.testing.expectEqual(@as(f64, 1), one.dot(one));
}
""",
    ),
)

MORE_ERRORS: tuple[Entry, ...] = (
    (
        "configErrors",
        "Merging Error Sets",
        "Two error sets: `LookupError = error{Missing}` and `ValueError = error{NotANumber, Negative}`.\n\n- `lookup(pairs, key)`: the value text of the first `[2][]const u8` pair whose key is `key`; `error.Missing` otherwise.\n- `readCount(pairs, key)`: looks up the key and parses it as `i64`; a parse failure is `error.NotANumber` and a negative value `error.Negative`. Its error set is `ConfigError = LookupError || ValueError`.\n- `countOrDefault(pairs, key, default)`: `readCount`, but `default` for a missing key (`catch |err| switch (err)`); the other errors are passed on, so its error set is only `ValueError`.",
        """const std = @import("std");

pub const LookupError = error{Missing};
pub const ValueError = error{ NotANumber, Negative };
pub const ConfigError = LookupError || ValueError;

pub fn lookup(pairs: []const [2][]const u8, key: []const u8) LookupError![]const u8 {
    for (pairs) |pair| {
        if (std.mem.eql(u8, pair[0], key)) return pair[1];
    }
    return error.Missing;
}

pub fn readCount(pairs: []const [2][]const u8, key: []const u8) ConfigError!u64 {
    const text = try lookup(pairs, key);
    const value = std.fmt.parseInt(i64, text, 10) catch return error.NotANumber;
    if (value < 0) return error.Negative;
    return @intCast(value);
}

pub fn countOrDefault(pairs: []const [2][]const u8, key: []const u8, default: u64) ValueError!u64 {
    return readCount(pairs, key) catch |err| switch (err) {
        error.Missing => default,
        else => |other| other,
    };
}
""",
        """test "config errors" {
    const pairs = [_][2][]const u8{ .{ "workers", "8" }, .{ "retries", "-1" }, .{ "name", "x" } };
    try std.testing.expectEqual(@as(u64, 8), try readCount(&pairs, "workers"));
    try std.testing.expectError(error.Negative, readCount(&pairs, "retries"));
    try std.testing.expectError(error.NotANumber, readCount(&pairs, "name"));
    try std.testing.expectError(error.Missing, readCount(&pairs, "port"));
    try std.testing.expectEqual(@as(u64, 3), try countOrDefault(&pairs, "port", 3));
    try std.testing.expectEqual(@as(u64, 8), try countOrDefault(&pairs, "workers", 3));
    try std.testing.expectError(error.Negative, countOrDefault(&pairs, "retries", 3));
}
""",
    ),
    (
        "optionalChain",
        "Optionals",
        "- `parseOrNull(text)`: `text` as an `i32`, or `null` when it does not parse (`catch null`).\n- `firstPresent(values)`: the first non-null element of a `[]const ?i32`, or `null`.\n- `sumPresent(values)`: the sum of the non-null elements (`if (v) |x|`).",
        """const std = @import("std");

pub fn parseOrNull(digits: []const u8) ?i32 {
    return std.fmt.parseInt(i32, digits, 10) catch null;
}

pub fn firstPresent(values: []const ?i32) ?i32 {
    for (values) |v| {
        if (v) |x| return x;
    }
    return null;
}

pub fn sumPresent(values: []const ?i32) i64 {
    var total: i64 = 0;
    for (values) |v| {
        if (v) |x| total += x;
    }
    return total;
}
""",
        """test "optionals" {
    try std.testing.expectEqual(@as(?i32, -12), parseOrNull("-12"));
    try std.testing.expectEqual(@as(?i32, null), parseOrNull("12x"));
    try std.testing.expectEqual(@as(?i32, 4), firstPresent(&.{ null, 4, 5 }));
    try std.testing.expectEqual(@as(?i32, null), firstPresent(&.{ null, null }));
    try std.testing.expectEqual(@as(i64, 9), sumPresent(&.{ null, 4, 5, null }));
}
""",
    ),
)


def _entries(family: str, table: tuple[Entry, ...]) -> list[SpecTask]:
    return [
        SpecTask(f"{family}/{name}", section, spec, solution, tests) for name, section, spec, solution, tests in table
    ]


def extra_tasks() -> list[SpecTask]:
    return [
        *_entries("builtin", BUILTINS),
        *_entries("pointer", POINTERS),
        *_entries("switch", SWITCHES),
        *_entries("string", STRINGS),
        *_entries("test_helper", TEST_HELPERS),
        *_entries("std_usage", CONTAINERS),
        *_entries("comptime_generic", REFLECTION),
        *_entries("error_union", MORE_ERRORS),
    ]
