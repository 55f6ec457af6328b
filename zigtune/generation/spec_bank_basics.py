# ruff: noqa: E501  (Zig source kept as the compiler checks it, one statement a line)
"""Basics :mod:`.spec_bank` families: the everyday rules a small model breaks when it writes Zig 0.14 to a spec.

Parameters are constants (copy into a ``var``), signed division and remainder go through ``@divTrunc``,
``@divFloor``, ``@rem`` and ``@mod``, ``for`` loops over slices, pairs of slices, ranges and pointers, casts that
take their type from the result, wrapping and overflow-checked arithmetic, strings as ``[]const u8`` compared
with ``std.mem``, error sets with ``catch |err| switch``, and optionals. Each task is a small realistic program
whose solution uses several of these together; its tests check the edge cases that a wrong rule would miss.

Each family is a table of (variant name, docs section, spec, solution, hidden tests). No dagster here.
"""

from __future__ import annotations

from collections.abc import Iterator

from zigtune.generation.spec_tasks import SpecTask

Entry = tuple[str, str, str, str, str]

PARAMETER_COPIES: tuple[Entry, ...] = (
    (
        "stripFactor",
        "Pass-by-value Parameters",
        "`stripFactor(n, factor)` divides `factor` (a `u64`, at least 2) out of the `u64` `n` as often as it goes "
        "evenly. It returns a `Stripped` struct with `rest` (what is left) and `times: u32` (how many divisions). "
        "`n == 0` gives `rest = 0, times = 0`.",
        """const std = @import("std");

pub const Stripped = struct {
    rest: u64,
    times: u32,
};

pub fn stripFactor(n: u64, factor: u64) Stripped {
    std.debug.assert(factor >= 2);
    var rest = n;
    var times: u32 = 0;
    while (rest != 0 and rest % factor == 0) : (times += 1) {
        rest /= factor;
    }
    return .{ .rest = rest, .times = times };
}
""",
        """test "stripFactor" {
    try std.testing.expectEqual(Stripped{ .rest = 45, .times = 3 }, stripFactor(360, 2));
    try std.testing.expectEqual(Stripped{ .rest = 1, .times = 3 }, stripFactor(1000, 10));
    try std.testing.expectEqual(Stripped{ .rest = 7, .times = 0 }, stripFactor(7, 2));
    try std.testing.expectEqual(Stripped{ .rest = 0, .times = 0 }, stripFactor(0, 10));
    try std.testing.expectEqual(Stripped{ .rest = 1, .times = 63 }, stripFactor(1 << 63, 2));
}
""",
    ),
    (
        "applyDiscounts",
        "Functions",
        "`applyDiscounts(price_cents, percents)` applies each percentage discount of `percents` (a `[]const u8`) in "
        "turn to the `u32` price: every step takes off `price * percent / 100`, rounded down to whole cents, from the "
        "current price. A percent above 100 gives `error.InvalidPercent`. No discounts leave the price unchanged. "
        "The price can be close to the `u32` maximum, so compute the cut in a wider type.",
        """pub fn applyDiscounts(price_cents: u32, percents: []const u8) error{InvalidPercent}!u32 {
    var price = price_cents;
    for (percents) |percent| {
        if (percent > 100) return error.InvalidPercent;
        const cut = @as(u64, price) * percent / 100;
        price -= @intCast(cut);
    }
    return price;
}
""",
        """test "applyDiscounts" {
    try std.testing.expectEqual(@as(u32, 4500), try applyDiscounts(10000, &.{ 10, 50 }));
    try std.testing.expectEqual(@as(u32, 670), try applyDiscounts(999, &.{33}));
    try std.testing.expectEqual(@as(u32, 1234), try applyDiscounts(1234, &.{}));
    try std.testing.expectEqual(@as(u32, 0), try applyDiscounts(1234, &.{ 5, 100 }));
    try std.testing.expectEqual(@as(u32, 2_000_000_000), try applyDiscounts(4_000_000_000, &.{50}));
    try std.testing.expectError(error.InvalidPercent, applyDiscounts(100, &.{ 10, 101 }));
}
""",
    ),
    (
        "cartTotals",
        "Shadowing",
        "A shopping cart is a slice of `Item { price_cents: u32, quantity: u16 }`. Write:\n\n- `total(items)`: the "
        "cost of the whole cart as `u64`.\n- `count(items)`: how many pieces in all (the sum of the quantities) as "
        "`u64`.\n- `averagePrice(items)`: the average price of one piece in whole cents, rounded down, or `null` "
        "when the cart holds no pieces.\n- `priciestIndex(items)`: the index of the item with the highest unit price "
        "(the first one on a tie), or `null` for an empty cart.",
        """pub const Item = struct {
    price_cents: u32,
    quantity: u16,
};

pub fn total(items: []const Item) u64 {
    var sum: u64 = 0;
    for (items) |item| sum += @as(u64, item.price_cents) * item.quantity;
    return sum;
}

pub fn count(items: []const Item) u64 {
    var pieces: u64 = 0;
    for (items) |item| pieces += item.quantity;
    return pieces;
}

pub fn averagePrice(items: []const Item) ?u64 {
    const pieces = count(items);
    if (pieces == 0) return null;
    return total(items) / pieces;
}

pub fn priciestIndex(items: []const Item) ?usize {
    if (items.len == 0) return null;
    var priciest: usize = 0;
    for (items, 0..) |item, i| {
        if (item.price_cents > items[priciest].price_cents) priciest = i;
    }
    return priciest;
}
""",
        """test "cart" {
    const cart = [_]Item{
        .{ .price_cents = 250, .quantity = 4 },
        .{ .price_cents = 1999, .quantity = 1 },
        .{ .price_cents = 1999, .quantity = 0 },
        .{ .price_cents = 5, .quantity = 10 },
    };
    try std.testing.expectEqual(@as(u64, 3049), total(&cart));
    try std.testing.expectEqual(@as(u64, 15), count(&cart));
    try std.testing.expectEqual(@as(?u64, 203), averagePrice(&cart));
    try std.testing.expectEqual(@as(?usize, 1), priciestIndex(&cart));
    try std.testing.expectEqual(@as(?u64, null), averagePrice(cart[2..3]));
    try std.testing.expectEqual(@as(?usize, null), priciestIndex(&.{}));
    const big = [_]Item{.{ .price_cents = 4_000_000_000, .quantity = 60000 }};
    try std.testing.expectEqual(@as(u64, 240_000_000_000_000), total(&big));
}
""",
    ),
    (
        "robotWalk",
        "Local Variables",
        "A robot starts at a `Point { x: i32, y: i32 }` and follows a string of commands: `'N'` is y + 1, `'S'` "
        "y - 1, `'E'` x + 1, `'W'` x - 1, and a space does nothing. Write `walk(start, commands)` that returns where "
        "it ends, or `error.UnknownCommand` for any other byte, and `distance(a, b)`: the Manhattan distance "
        "`|ax - bx| + |ay - by|` as a `u32`.",
        """pub const Point = struct {
    x: i32,
    y: i32,
};

pub fn walk(start: Point, commands: []const u8) error{UnknownCommand}!Point {
    var at = start;
    for (commands) |command| {
        switch (command) {
            'N' => at.y += 1,
            'S' => at.y -= 1,
            'E' => at.x += 1,
            'W' => at.x -= 1,
            ' ' => {},
            else => return error.UnknownCommand,
        }
    }
    return at;
}

pub fn distance(a: Point, b: Point) u32 {
    return @abs(a.x - b.x) + @abs(a.y - b.y);
}
""",
        """test "walk" {
    const origin = Point{ .x = 0, .y = 0 };
    try std.testing.expectEqual(Point{ .x = 2, .y = -1 }, try walk(origin, "EE S"));
    try std.testing.expectEqual(Point{ .x = -3, .y = 5 }, try walk(.{ .x = -3, .y = 5 }, "NSEW"));
    try std.testing.expectEqual(origin, try walk(origin, ""));
    try std.testing.expectError(error.UnknownCommand, walk(origin, "NNx"));
    try std.testing.expectEqual(@as(u32, 7), distance(.{ .x = -2, .y = 3 }, .{ .x = 1, .y = -1 }));
    try std.testing.expectEqual(@as(u32, 0), distance(origin, origin));
}
""",
    ),
    (
        "leapYears",
        "for",
        "Gregorian leap years: divisible by 4, except centuries, which must be divisible by 400. Write:\n\n"
        "- `isLeapYear(year: u32) bool`.\n- `nextLeapYear(after: u32) u32`: the first leap year strictly after "
        "`after`.\n- `leapYearsBetween(first: u32, last: u32) u32`: how many leap years lie in `first..last` "
        "inclusive (0 when `first > last`).",
        """pub fn isLeapYear(year: u32) bool {
    if (year % 400 == 0) return true;
    if (year % 100 == 0) return false;
    return year % 4 == 0;
}

pub fn nextLeapYear(after: u32) u32 {
    var year = after + 1;
    while (!isLeapYear(year)) year += 1;
    return year;
}

pub fn leapYearsBetween(first: u32, last: u32) u32 {
    if (first > last) return 0;
    var found: u32 = 0;
    for (first..@as(usize, last) + 1) |year| {
        if (isLeapYear(@intCast(year))) found += 1;
    }
    return found;
}
""",
        """test "leap years" {
    try std.testing.expect(isLeapYear(2024));
    try std.testing.expect(!isLeapYear(1900));
    try std.testing.expect(isLeapYear(2000));
    try std.testing.expect(!isLeapYear(2023));
    try std.testing.expectEqual(@as(u32, 1904), nextLeapYear(1896));
    try std.testing.expectEqual(@as(u32, 2028), nextLeapYear(2024));
    try std.testing.expectEqual(@as(u32, 25), leapYearsBetween(1901, 2000));
    try std.testing.expectEqual(@as(u32, 24), leapYearsBetween(1801, 1900));
    try std.testing.expectEqual(@as(u32, 1), leapYearsBetween(2024, 2024));
    try std.testing.expectEqual(@as(u32, 0), leapYearsBetween(2025, 2024));
}
""",
    ),
)

SIGNED_DIVISION: tuple[Entry, ...] = (
    (
        "compassAngles",
        "@mod",
        "Angles in whole degrees.\n\n- `normalize(degrees: i32) u16`: the same direction in `0..359` (-90 is "
        "270, 720 is 0).\n- `turnBetween(from: i32, to: i32) u16`: the smallest turn between two directions, "
        "`0..180`.",
        """pub fn normalize(degrees: i32) u16 {
    return @intCast(@mod(degrees, 360));
}

pub fn turnBetween(from: i32, to: i32) u16 {
    const turn = (normalize(to) + 360 - normalize(from)) % 360;
    return @min(turn, 360 - turn);
}
""",
        """test "angles" {
    try std.testing.expectEqual(@as(u16, 270), normalize(-90));
    try std.testing.expectEqual(@as(u16, 0), normalize(720));
    try std.testing.expectEqual(@as(u16, 359), normalize(-721));
    try std.testing.expectEqual(@as(u16, 45), normalize(45));
    try std.testing.expectEqual(@as(u16, 20), turnBetween(350, 10));
    try std.testing.expectEqual(@as(u16, 20), turnBetween(10, 350));
    try std.testing.expectEqual(@as(u16, 60), turnBetween(-30, 30));
    try std.testing.expectEqual(@as(u16, 180), turnBetween(0, 180));
    try std.testing.expectEqual(@as(u16, 0), turnBetween(-360, 360));
}
""",
    ),
    (
        "Fraction",
        "@divExact",
        "`Fraction` holds `num: i64` and `den: i64` in lowest terms with a positive denominator.\n\n- "
        "`init(num, den)`: the reduced fraction (`6/-8` is `-3/4`, `0/5` is `0/1`); `error.ZeroDenominator` when "
        "`den == 0`.\n- `add(self, other)`: the reduced sum.\n- `lessThan(self, other) bool`.",
        """pub const Fraction = struct {
    num: i64,
    den: i64,

    pub fn init(num: i64, den: i64) error{ZeroDenominator}!Fraction {
        if (den == 0) return error.ZeroDenominator;
        const divisor: i64 = @intCast(gcd(@abs(num), @abs(den)));
        const sign: i64 = if (den < 0) -1 else 1;
        return .{ .num = sign * @divExact(num, divisor), .den = sign * @divExact(den, divisor) };
    }

    pub fn add(self: Fraction, other: Fraction) Fraction {
        return init(self.num * other.den + other.num * self.den, self.den * other.den) catch unreachable;
    }

    pub fn lessThan(self: Fraction, other: Fraction) bool {
        return self.num * other.den < other.num * self.den;
    }
};

fn gcd(a: u64, b: u64) u64 {
    var x = a;
    var y = b;
    while (y != 0) {
        const rest = x % y;
        x = y;
        y = rest;
    }
    return x;
}
""",
        """test "Fraction" {
    try std.testing.expectEqual(Fraction{ .num = -3, .den = 4 }, try Fraction.init(6, -8));
    try std.testing.expectEqual(Fraction{ .num = 0, .den = 1 }, try Fraction.init(0, 5));
    try std.testing.expectEqual(Fraction{ .num = 2, .den = 1 }, try Fraction.init(-4, -2));
    try std.testing.expectError(error.ZeroDenominator, Fraction.init(1, 0));
    const half = try Fraction.init(1, 2);
    const third = try Fraction.init(-1, 3);
    try std.testing.expectEqual(Fraction{ .num = 1, .den = 6 }, half.add(third));
    try std.testing.expectEqual(Fraction{ .num = 1, .den = 1 }, half.add(half));
    try std.testing.expect(third.lessThan(half));
    try std.testing.expect(!half.lessThan(half));
}
""",
    ),
    (
        "DayTime",
        "@divFloor",
        "`fromSeconds(seconds: i64) DayTime` splits a signed count of seconds since midnight of day 0 into "
        "`DayTime { day: i64, hour: u8, minute: u8, second: u8 }`. Negative counts fall on earlier days: -1 is day "
        "-1 at 23:59:59. `toSeconds(time)` turns it back.",
        """pub const DayTime = struct {
    day: i64,
    hour: u8,
    minute: u8,
    second: u8,
};

const seconds_per_day = 24 * 60 * 60;

pub fn fromSeconds(seconds: i64) DayTime {
    const in_day = @mod(seconds, seconds_per_day);
    return .{
        .day = @divFloor(seconds, seconds_per_day),
        .hour = @intCast(@divTrunc(in_day, 3600)),
        .minute = @intCast(@rem(@divTrunc(in_day, 60), 60)),
        .second = @intCast(@rem(in_day, 60)),
    };
}

pub fn toSeconds(time: DayTime) i64 {
    const in_day = @as(i64, time.hour) * 3600 + @as(i64, time.minute) * 60 + time.second;
    return time.day * seconds_per_day + in_day;
}
""",
        """test "DayTime" {
    try std.testing.expectEqual(DayTime{ .day = -1, .hour = 23, .minute = 59, .second = 59 }, fromSeconds(-1));
    try std.testing.expectEqual(DayTime{ .day = 0, .hour = 0, .minute = 0, .second = 0 }, fromSeconds(0));
    try std.testing.expectEqual(DayTime{ .day = 1, .hour = 1, .minute = 1, .second = 1 }, fromSeconds(90061));
    try std.testing.expectEqual(DayTime{ .day = -2, .hour = 12, .minute = 0, .second = 0 }, fromSeconds(-129600));
    for ([_]i64{ -1, 0, 90061, -129600, 86399, -86400 }) |seconds| {
        try std.testing.expectEqual(seconds, toSeconds(fromSeconds(seconds)));
    }
}
""",
    ),
    (
        "temperatureStats",
        "@divTrunc",
        "`stats(readings)` summarises a slice of `i32` temperature readings as `Stats { low: i32, high: i32, "
        "mean: i32 }`, where `mean` is the sum divided by the count, rounded toward zero (the mean of -5 and -4 is "
        "-4). It returns `null` for no readings. Sum in an `i64` so that large readings cannot overflow.",
        """pub const Stats = struct {
    low: i32,
    high: i32,
    mean: i32,
};

pub fn stats(readings: []const i32) ?Stats {
    if (readings.len == 0) return null;
    var low = readings[0];
    var high = readings[0];
    var sum: i64 = 0;
    for (readings) |reading| {
        low = @min(low, reading);
        high = @max(high, reading);
        sum += reading;
    }
    const n: i64 = @intCast(readings.len);
    return .{ .low = low, .high = high, .mean = @intCast(@divTrunc(sum, n)) };
}
""",
        """test "stats" {
    try std.testing.expectEqual(Stats{ .low = -5, .high = -4, .mean = -4 }, stats(&.{ -5, -4 }).?);
    try std.testing.expectEqual(Stats{ .low = -3, .high = 12, .mean = 3 }, stats(&.{ 12, -3, 0, 4 }).?);
    try std.testing.expectEqual(Stats{ .low = 7, .high = 7, .mean = 7 }, stats(&.{7}).?);
    try std.testing.expectEqual(@as(?Stats, null), stats(&.{}));
    const hot = [_]i32{ 2_000_000_000, 2_000_000_000, 2_000_000_000 };
    try std.testing.expectEqual(@as(i32, 2_000_000_000), stats(&hot).?.mean);
}
""",
    ),
    (
        "snapToGrid",
        "@rem",
        "Snapping a signed `i64` value to multiples of a positive `step`:\n\n- `snapDown(value, step)`: the largest "
        "multiple `<= value`.\n- `snapUp(value, step)`: the smallest multiple `>= value`.\n- `snapTowardZero(value, "
        "step)`: the multiple nearest zero on the same side as `value`.\n\nA `step <= 0` gives `error.InvalidStep`.",
        """pub const SnapError = error{InvalidStep};

pub fn snapDown(value: i64, step: i64) SnapError!i64 {
    if (step <= 0) return error.InvalidStep;
    return value - @mod(value, step);
}

pub fn snapUp(value: i64, step: i64) SnapError!i64 {
    const below = try snapDown(value, step);
    return if (below == value) value else below + step;
}

pub fn snapTowardZero(value: i64, step: i64) SnapError!i64 {
    if (step <= 0) return error.InvalidStep;
    return value - @rem(value, step);
}
""",
        """test "snap" {
    try std.testing.expectEqual(@as(i64, 20), try snapDown(27, 10));
    try std.testing.expectEqual(@as(i64, -30), try snapDown(-27, 10));
    try std.testing.expectEqual(@as(i64, -20), try snapDown(-20, 10));
    try std.testing.expectEqual(@as(i64, 30), try snapUp(27, 10));
    try std.testing.expectEqual(@as(i64, -20), try snapUp(-27, 10));
    try std.testing.expectEqual(@as(i64, 0), try snapUp(0, 7));
    try std.testing.expectEqual(@as(i64, 20), try snapTowardZero(27, 10));
    try std.testing.expectEqual(@as(i64, -20), try snapTowardZero(-27, 10));
    try std.testing.expectError(error.InvalidStep, snapDown(5, 0));
    try std.testing.expectError(error.InvalidStep, snapUp(5, -2));
    try std.testing.expectError(error.InvalidStep, snapTowardZero(5, 0));
}
""",
    ),
    (
        "signedBuckets",
        "Division by Zero",
        "Values are grouped into buckets of a fixed positive `width`: bucket 0 holds `0..width-1`, bucket -1 "
        "holds `-width..-1`, and so on.\n\n- `bucketOf(value: i32, width: u16) i32`.\n- `offsetIn(value: i32, width: "
        "u16) u16`: the position of `value` inside its bucket.\n- `countPerBucket(values, width, first, counts)`: "
        "for each value, adds one to `counts[bucket - first]` when that bucket is in range of `counts`; returns how "
        "many values fell outside.\n\n`width` is never 0.",
        """pub fn bucketOf(value: i32, width: u16) i32 {
    return @divFloor(value, @as(i32, width));
}

pub fn offsetIn(value: i32, width: u16) u16 {
    return @intCast(@mod(value, @as(i32, width)));
}

pub fn countPerBucket(values: []const i32, width: u16, first: i32, counts: []u32) usize {
    var outside: usize = 0;
    for (values) |value| {
        const slot = @as(i64, bucketOf(value, width)) - first;
        if (slot < 0 or slot >= counts.len) {
            outside += 1;
            continue;
        }
        counts[@intCast(slot)] += 1;
    }
    return outside;
}
""",
        """test "buckets" {
    try std.testing.expectEqual(@as(i32, -1), bucketOf(-1, 10));
    try std.testing.expectEqual(@as(u16, 9), offsetIn(-1, 10));
    try std.testing.expectEqual(@as(i32, -2), bucketOf(-11, 10));
    try std.testing.expectEqual(@as(i32, 0), bucketOf(9, 10));
    try std.testing.expectEqual(@as(u16, 0), offsetIn(-20, 10));
    var counts = [_]u32{ 0, 0, 0 };
    const outside = countPerBucket(&.{ -15, -5, -1, 0, 3, 12, 25, -25 }, 10, -1, &counts);
    try std.testing.expectEqual(@as(usize, 3), outside);
    try std.testing.expectEqualSlices(u32, &.{ 2, 2, 1 }, &counts);
}
""",
    ),
)

LOOP_FORMS: tuple[Entry, ...] = (
    (
        "pairedVectors",
        "for",
        "Integer vectors as slices.\n\n- `dot(a, b)`: the sum of `a[i] * b[i]` as `i64`; `error.LengthMismatch` "
        "when the lengths differ.\n- `scale(items, factor)`: multiplies every element of the `[]i32` in place.\n- "
        "`weightedPositions(items)`: the sum of `i * items[i]` as `i64`.",
        """pub fn dot(a: []const i32, b: []const i32) error{LengthMismatch}!i64 {
    if (a.len != b.len) return error.LengthMismatch;
    var sum: i64 = 0;
    for (a, b) |x, y| sum += @as(i64, x) * y;
    return sum;
}

pub fn scale(items: []i32, factor: i32) void {
    for (items) |*item| item.* *= factor;
}

pub fn weightedPositions(items: []const i32) i64 {
    var sum: i64 = 0;
    for (items, 0..) |item, i| sum += @as(i64, @intCast(i)) * item;
    return sum;
}
""",
        """test "vectors" {
    try std.testing.expectEqual(@as(i64, -6), try dot(&.{ 1, 2, 3 }, &.{ 4, -5, 0 }));
    try std.testing.expectEqual(@as(i64, 0), try dot(&.{}, &.{}));
    try std.testing.expectEqual(@as(i64, 4_000_000_000_000_000_000), try dot(&.{2_000_000_000}, &.{2_000_000_000}));
    try std.testing.expectError(error.LengthMismatch, dot(&.{1}, &.{ 1, 2 }));
    var values = [_]i32{ 3, -1, 0 };
    scale(&values, -2);
    try std.testing.expectEqualSlices(i32, &.{ -6, 2, 0 }, &values);
    try std.testing.expectEqual(@as(i64, -4), weightedPositions(&.{ 9, 2, -3 }));
}
""",
    ),
    (
        "windowSums",
        "Slices",
        "`windowSums(allocator, values, width)` returns a new slice (the caller frees it) with the sum of every "
        "`width` consecutive values of the `[]const i32`, as `i64`: element `i` is `values[i] + ... + "
        "values[i + width - 1]`. A width larger than the input gives an empty slice; a width of 0 gives "
        "`error.InvalidWidth`. Keep a running sum instead of re-adding each window.",
        """const std = @import("std");

pub fn windowSums(allocator: std.mem.Allocator, values: []const i32, width: usize) error{ InvalidWidth, OutOfMemory }![]i64 {
    if (width == 0) return error.InvalidWidth;
    if (width > values.len) return allocator.alloc(i64, 0);
    const sums = try allocator.alloc(i64, values.len - width + 1);
    var running: i64 = 0;
    for (values[0..width]) |value| running += value;
    sums[0] = running;
    for (width..values.len) |i| {
        running += @as(i64, values[i]) - values[i - width];
        sums[i - width + 1] = running;
    }
    return sums;
}
""",
        """test "windowSums" {
    const allocator = std.testing.allocator;
    const sums = try windowSums(allocator, &.{ 1, 2, 3, 4, -10 }, 2);
    defer allocator.free(sums);
    try std.testing.expectEqualSlices(i64, &.{ 3, 5, 7, -6 }, sums);
    const whole = try windowSums(allocator, &.{ 2_000_000_000, 2_000_000_000 }, 2);
    defer allocator.free(whole);
    try std.testing.expectEqualSlices(i64, &.{4_000_000_000}, whole);
    const none = try windowSums(allocator, &.{ 1, 2 }, 3);
    defer allocator.free(none);
    try std.testing.expectEqual(@as(usize, 0), none.len);
    try std.testing.expectError(error.InvalidWidth, windowSums(allocator, &.{1}, 0));
}
""",
    ),
    (
        "Matrix3",
        "Multidimensional Arrays",
        "`Matrix3` is `[3][3]i32` (row-major). Write `transpose(m)`, `multiply(a, b)` (the matrix product) and "
        "`trace(m)` (the sum of the diagonal), each returning a new value.",
        """pub const Matrix3 = [3][3]i32;

pub fn transpose(m: Matrix3) Matrix3 {
    var out: Matrix3 = undefined;
    for (m, 0..) |row, r| {
        for (row, 0..) |value, c| out[c][r] = value;
    }
    return out;
}

pub fn multiply(a: Matrix3, b: Matrix3) Matrix3 {
    var out: Matrix3 = undefined;
    for (0..3) |r| {
        for (0..3) |c| {
            var sum: i32 = 0;
            for (0..3) |k| sum += a[r][k] * b[k][c];
            out[r][c] = sum;
        }
    }
    return out;
}

pub fn trace(m: Matrix3) i32 {
    var sum: i32 = 0;
    for (m, 0..) |row, i| sum += row[i];
    return sum;
}
""",
        """test "Matrix3" {
    const m = Matrix3{ .{ 1, 2, 3 }, .{ 4, 5, 6 }, .{ 7, 8, 9 } };
    const identity = Matrix3{ .{ 1, 0, 0 }, .{ 0, 1, 0 }, .{ 0, 0, 1 } };
    try std.testing.expectEqual(Matrix3{ .{ 1, 4, 7 }, .{ 2, 5, 8 }, .{ 3, 6, 9 } }, transpose(m));
    try std.testing.expectEqual(m, multiply(m, identity));
    try std.testing.expectEqual(Matrix3{ .{ 30, 36, 42 }, .{ 66, 81, 96 }, .{ 102, 126, 150 } }, multiply(m, m));
    const skew = Matrix3{ .{ 0, -1, 0 }, .{ 1, 0, 0 }, .{ 0, 0, 2 } };
    try std.testing.expectEqual(Matrix3{ .{ -2, 1, 6 }, .{ -5, 4, 12 }, .{ -8, 7, 18 } }, multiply(m, transpose(skew)));
    try std.testing.expectEqual(@as(i32, 15), trace(m));
    try std.testing.expectEqual(@as(i32, 2), trace(skew));
}
""",
    ),
    (
        "pairSums",
        "Labeled for",
        "For a slice of `i32` and a `target`:\n\n- `countPairs(items, target)`: how many index pairs `i < j` have "
        "`items[i] + items[j] == target`.\n- `firstPair(items, target)`: the first such pair `[2]usize{ i, j }` "
        "(smallest `i`, then smallest `j`), or `null`; stop both loops as soon as it is found (a labeled loop).",
        """pub fn countPairs(items: []const i32, target: i32) usize {
    var found: usize = 0;
    for (items, 0..) |a, i| {
        for (items[i + 1 ..]) |b| {
            if (@as(i64, a) + b == target) found += 1;
        }
    }
    return found;
}

pub fn firstPair(items: []const i32, target: i32) ?[2]usize {
    var pair: ?[2]usize = null;
    outer: for (items, 0..) |a, i| {
        for (items[i + 1 ..], i + 1..) |b, j| {
            if (@as(i64, a) + b == target) {
                pair = .{ i, j };
                break :outer;
            }
        }
    }
    return pair;
}
""",
        """test "pairs" {
    const items = [_]i32{ 3, 1, 4, 1, 5, -1 };
    try std.testing.expectEqual(@as(usize, 3), countPairs(&items, 4));
    try std.testing.expectEqual(@as(?[2]usize, .{ 0, 1 }), firstPair(&items, 4));
    try std.testing.expectEqual(@as(?[2]usize, .{ 2, 5 }), firstPair(&items, 3));
    try std.testing.expectEqual(@as(?[2]usize, null), firstPair(&items, 100));
    try std.testing.expectEqual(@as(usize, 0), countPairs(&.{7}, 14));
    const extremes = [_]i32{ std.math.maxInt(i32), std.math.maxInt(i32), -2 };
    try std.testing.expectEqual(@as(usize, 0), countPairs(&extremes, -1));
    try std.testing.expectEqual(@as(?[2]usize, .{ 0, 2 }), firstPair(&extremes, std.math.maxInt(i32) - 2));
}
""",
    ),
    (
        "strided",
        "while",
        "Strided access to a slice of `i32`:\n\n- `sumEvery(items, start, step)`: the sum (as `i64`) of "
        "`items[start]`, `items[start + step]`, ... while the index is in range; `step` is at least 1.\n- "
        "`copyEvery(items, start, step, out)`: copies the same elements into `out`, stopping when `out` is full, "
        "and returns how many were copied.",
        """pub fn sumEvery(items: []const i32, start: usize, step: usize) i64 {
    var sum: i64 = 0;
    var i = start;
    while (i < items.len) : (i += step) sum += items[i];
    return sum;
}

pub fn copyEvery(items: []const i32, start: usize, step: usize, out: []i32) usize {
    var copied: usize = 0;
    var i = start;
    while (i < items.len and copied < out.len) : (i += step) {
        out[copied] = items[i];
        copied += 1;
    }
    return copied;
}
""",
        """test "strided" {
    const items = [_]i32{ 10, -1, 20, -2, 30, -3, 40 };
    try std.testing.expectEqual(@as(i64, 100), sumEvery(&items, 0, 2));
    try std.testing.expectEqual(@as(i64, -6), sumEvery(&items, 1, 2));
    try std.testing.expectEqual(@as(i64, 37), sumEvery(&items, 5, 1));
    try std.testing.expectEqual(@as(i64, 0), sumEvery(&items, 7, 3));
    var out: [2]i32 = undefined;
    try std.testing.expectEqual(@as(usize, 2), copyEvery(&items, 0, 3, &out));
    try std.testing.expectEqualSlices(i32, &.{ 10, -2 }, &out);
    try std.testing.expectEqual(@as(usize, 1), copyEvery(&items, 6, 3, &out));
    try std.testing.expectEqual(@as(i32, 40), out[0]);
}
""",
    ),
    (
        "rotateInPlace",
        "Slices",
        "`rotateLeft(items, k)` rotates a `[]i32` left by `k` places in place (the first `k` elements move to the "
        "end; `k` may exceed the length, and an empty slice is left alone), by reversing the two parts and then the "
        "whole. Write the helper `reverse(items)` yourself (two indices moving toward each other), also public.",
        """pub fn reverse(items: []i32) void {
    if (items.len < 2) return;
    var low: usize = 0;
    var high: usize = items.len - 1;
    while (low < high) : ({
        low += 1;
        high -= 1;
    }) {
        const kept = items[low];
        items[low] = items[high];
        items[high] = kept;
    }
}

pub fn rotateLeft(items: []i32, k: usize) void {
    if (items.len == 0) return;
    const shift = k % items.len;
    reverse(items[0..shift]);
    reverse(items[shift..]);
    reverse(items);
}
""",
        """test "rotateLeft" {
    var items = [_]i32{ 1, 2, 3, 4, 5 };
    rotateLeft(&items, 2);
    try std.testing.expectEqualSlices(i32, &.{ 3, 4, 5, 1, 2 }, &items);
    rotateLeft(&items, 8);
    try std.testing.expectEqualSlices(i32, &.{ 1, 2, 3, 4, 5 }, &items);
    rotateLeft(&items, 5);
    try std.testing.expectEqualSlices(i32, &.{ 1, 2, 3, 4, 5 }, &items);
    var pair = [_]i32{ 7, 8 };
    reverse(&pair);
    try std.testing.expectEqualSlices(i32, &.{ 8, 7 }, &pair);
    var empty = [_]i32{};
    rotateLeft(&empty, 3);
}
""",
    ),
    (
        "capOutliers",
        "for",
        "`capOutliers(readings, low, high)` clamps every `f32` reading of the slice in place to `low..high` and "
        "returns how many readings it changed. `countInside(readings, low, high)` counts the readings with "
        "`low <= r <= high` without changing anything.",
        """pub fn capOutliers(readings: []f32, low: f32, high: f32) usize {
    var changed: usize = 0;
    for (readings) |*reading| {
        const capped = @min(@max(reading.*, low), high);
        if (capped != reading.*) {
            reading.* = capped;
            changed += 1;
        }
    }
    return changed;
}

pub fn countInside(readings: []const f32, low: f32, high: f32) usize {
    var inside: usize = 0;
    for (readings) |reading| {
        if (reading >= low and reading <= high) inside += 1;
    }
    return inside;
}
""",
        """test "capOutliers" {
    var readings = [_]f32{ -3.5, 0.25, 12.0, 10.0, 9.75 };
    try std.testing.expectEqual(@as(usize, 3), countInside(&readings, 0.0, 10.0));
    try std.testing.expectEqual(@as(usize, 2), capOutliers(&readings, 0.0, 10.0));
    try std.testing.expectEqualSlices(f32, &.{ 0.0, 0.25, 10.0, 10.0, 9.75 }, &readings);
    try std.testing.expectEqual(@as(usize, 0), capOutliers(&readings, 0.0, 10.0));
    try std.testing.expectEqual(@as(usize, 5), countInside(&readings, 0.0, 10.0));
}
""",
    ),
)

CASTS: tuple[Entry, ...] = (
    (
        "percentOf",
        "@floatFromInt",
        "`percentOf(part: u32, whole: u32) error{ZeroWhole, PartTooLarge}!u8`: `part` as a percentage of `whole`, "
        "rounded to the nearest whole percent (halves away from zero). `mean(values: []const u16) ?f64`: the "
        "average as a float, `null` for no values.",
        """pub fn percentOf(part: u32, whole: u32) error{ ZeroWhole, PartTooLarge }!u8 {
    if (whole == 0) return error.ZeroWhole;
    if (part > whole) return error.PartTooLarge;
    const ratio = @as(f64, @floatFromInt(part)) / @as(f64, @floatFromInt(whole));
    return @intFromFloat(@round(ratio * 100.0));
}

pub fn mean(values: []const u16) ?f64 {
    if (values.len == 0) return null;
    var sum: u64 = 0;
    for (values) |value| sum += value;
    return @as(f64, @floatFromInt(sum)) / @as(f64, @floatFromInt(values.len));
}
""",
        """test "percentOf" {
    try std.testing.expectEqual(@as(u8, 33), try percentOf(1, 3));
    try std.testing.expectEqual(@as(u8, 67), try percentOf(2, 3));
    try std.testing.expectEqual(@as(u8, 100), try percentOf(7, 7));
    try std.testing.expectEqual(@as(u8, 0), try percentOf(0, 4_000_000_000));
    try std.testing.expectEqual(@as(u8, 1), try percentOf(1, 200));
    try std.testing.expectError(error.ZeroWhole, percentOf(0, 0));
    try std.testing.expectError(error.PartTooLarge, percentOf(5, 4));
    try std.testing.expectEqual(@as(?f64, 2.5), mean(&.{ 1, 2, 3, 4 }));
    try std.testing.expectEqual(@as(?f64, 65535.0), mean(&.{ 65535, 65535 }));
    try std.testing.expectEqual(@as(?f64, null), mean(&.{}));
}
""",
    ),
    (
        "packedColor",
        "@truncate",
        "Colours packed as `0xRRGGBB` in a `u32`.\n\n- `pack(color: Rgb) u32` for `Rgb { r: u8, g: u8, b: u8 }`.\n- "
        "`unpack(value: u32) Rgb` (bits above the low 24 are ignored; use `@truncate`).\n- `mix(a, b) Rgb`: each "
        "channel is the average of the two, rounded down.\n- `gray(color) u8`: `(r + g + b) / 3` rounded down.",
        """pub const Rgb = struct {
    r: u8,
    g: u8,
    b: u8,
};

pub fn pack(color: Rgb) u32 {
    return @as(u32, color.r) << 16 | @as(u32, color.g) << 8 | color.b;
}

pub fn unpack(value: u32) Rgb {
    return .{ .r = @truncate(value >> 16), .g = @truncate(value >> 8), .b = @truncate(value) };
}

fn average(x: u8, y: u8) u8 {
    return @intCast((@as(u16, x) + y) / 2);
}

pub fn mix(a: Rgb, b: Rgb) Rgb {
    return .{ .r = average(a.r, b.r), .g = average(a.g, b.g), .b = average(a.b, b.b) };
}

pub fn gray(color: Rgb) u8 {
    const sum = @as(u16, color.r) + color.g + color.b;
    return @intCast(sum / 3);
}
""",
        """test "colors" {
    const orange = Rgb{ .r = 0xff, .g = 0x80, .b = 0x00 };
    try std.testing.expectEqual(@as(u32, 0xff8000), pack(orange));
    try std.testing.expectEqual(orange, unpack(0xff8000));
    try std.testing.expectEqual(Rgb{ .r = 0x12, .g = 0x34, .b = 0x56 }, unpack(0xab123456));
    const white = Rgb{ .r = 255, .g = 255, .b = 255 };
    try std.testing.expectEqual(Rgb{ .r = 255, .g = 191, .b = 127 }, mix(orange, white));
    try std.testing.expectEqual(@as(u8, 255), gray(white));
    try std.testing.expectEqual(@as(u8, 127), gray(orange));
}
""",
    ),
    (
        "BitSet64",
        "@clz",
        "`BitSet64` is a set of the numbers `0..63` kept in one `bits: u64 = 0` field. Write `set(self, index)` and "
        "`unset(self, index)` (for a `u32` index; `error.OutOfRange` for 64 and above), `isSet(self, index) bool` "
        "(false when out of range), `count(self)` (how many are set), and `highest(self)` / `lowest(self)`: the "
        "largest / smallest member as a `?u6`, `null` for an empty set (use `@clz` and `@ctz`).",
        """pub const BitSet64 = struct {
    bits: u64 = 0,

    pub fn set(self: *BitSet64, index: u32) error{OutOfRange}!void {
        self.bits |= try mask(index);
    }

    pub fn unset(self: *BitSet64, index: u32) error{OutOfRange}!void {
        self.bits &= ~(try mask(index));
    }

    pub fn isSet(self: BitSet64, index: u32) bool {
        const bit = mask(index) catch return false;
        return (self.bits & bit) != 0;
    }

    pub fn count(self: BitSet64) u32 {
        return @popCount(self.bits);
    }

    pub fn highest(self: BitSet64) ?u6 {
        if (self.bits == 0) return null;
        return @intCast(63 - @clz(self.bits));
    }

    pub fn lowest(self: BitSet64) ?u6 {
        if (self.bits == 0) return null;
        return @intCast(@ctz(self.bits));
    }
};

fn mask(index: u32) error{OutOfRange}!u64 {
    if (index >= 64) return error.OutOfRange;
    return @as(u64, 1) << @as(u6, @intCast(index));
}
""",
        """test "BitSet64" {
    var set = BitSet64{};
    try std.testing.expectEqual(@as(?u6, null), set.highest());
    try set.set(3);
    try set.set(63);
    try set.set(0);
    try set.set(3);
    try std.testing.expectEqual(@as(u32, 3), set.count());
    try std.testing.expectEqual(@as(?u6, 63), set.highest());
    try std.testing.expectEqual(@as(?u6, 0), set.lowest());
    try std.testing.expect(set.isSet(63) and !set.isSet(4) and !set.isSet(64));
    try set.unset(0);
    try set.unset(63);
    try std.testing.expectEqual(@as(?u6, 3), set.highest());
    try std.testing.expectEqual(@as(?u6, 3), set.lowest());
    try std.testing.expectError(error.OutOfRange, set.set(64));
    try std.testing.expectError(error.OutOfRange, set.unset(1000));
}
""",
    ),
    (
        "Month",
        "@enumFromInt",
        "`Month` is `enum(u4) { jan = 1, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec }`.\n\n- "
        "`fromNumber(n: u8) error{InvalidMonth}!Month` (1 is `.jan`).\n- `addMonths(month, delta: i32) Month`: "
        "moves forward (or backward for a negative delta) around the year.\n- `quarter(month) u8`: 1 to 4.",
        """pub const Month = enum(u4) { jan = 1, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec };

pub fn fromNumber(n: u8) error{InvalidMonth}!Month {
    if (n < 1 or n > 12) return error.InvalidMonth;
    return @enumFromInt(@as(u4, @intCast(n)));
}

pub fn addMonths(month: Month, delta: i32) Month {
    const index = @as(i32, @intFromEnum(month)) - 1;
    const moved = @mod(index + delta, 12);
    return @enumFromInt(@as(u4, @intCast(moved + 1)));
}

pub fn quarter(month: Month) u8 {
    return (@as(u8, @intFromEnum(month)) - 1) / 3 + 1;
}
""",
        """test "Month" {
    try std.testing.expectEqual(Month.jan, try fromNumber(1));
    try std.testing.expectEqual(Month.dec, try fromNumber(12));
    try std.testing.expectError(error.InvalidMonth, fromNumber(0));
    try std.testing.expectError(error.InvalidMonth, fromNumber(13));
    try std.testing.expectEqual(Month.feb, addMonths(.nov, 3));
    try std.testing.expectEqual(Month.dec, addMonths(.jan, -1));
    try std.testing.expectEqual(Month.mar, addMonths(.mar, -24));
    try std.testing.expectEqual(Month.jun, addMonths(.jun, 0));
    try std.testing.expectEqual(@as(u8, 1), quarter(.mar));
    try std.testing.expectEqual(@as(u8, 2), quarter(.apr));
    try std.testing.expectEqual(@as(u8, 4), quarter(.dec));
}
""",
    ),
    (
        "metersToCentimeters",
        "@intFromFloat",
        "`toCentimeters(meters: f64) error{OutOfRange}!u32`: the length in whole centimetres, rounded to nearest; "
        "negative values, NaN and values whose centimetres do not fit a `u32` give `error.OutOfRange` (check "
        "before converting: an out-of-range `@intFromFloat` is illegal). `speedKmh(meters: u32, seconds: u32) f64`: "
        "the average speed in km/h (0 when `seconds` is 0).",
        """const std = @import("std");

pub fn toCentimeters(meters: f64) error{OutOfRange}!u32 {
    const centimeters = @round(meters * 100.0);
    if (!(centimeters >= 0.0 and centimeters <= std.math.maxInt(u32))) return error.OutOfRange;
    return @intFromFloat(centimeters);
}

pub fn speedKmh(meters: u32, seconds: u32) f64 {
    if (seconds == 0) return 0.0;
    const hours = @as(f64, @floatFromInt(seconds)) / 3600.0;
    return @as(f64, @floatFromInt(meters)) / 1000.0 / hours;
}
""",
        """test "units" {
    try std.testing.expectEqual(@as(u32, 183), try toCentimeters(1.83));
    try std.testing.expectEqual(@as(u32, 0), try toCentimeters(0.004));
    try std.testing.expectEqual(@as(u32, 1), try toCentimeters(0.005));
    try std.testing.expectEqual(@as(u32, 4_294_967_295), try toCentimeters(42_949_672.95));
    try std.testing.expectError(error.OutOfRange, toCentimeters(-0.5));
    try std.testing.expectError(error.OutOfRange, toCentimeters(5e7));
    try std.testing.expectError(error.OutOfRange, toCentimeters(std.math.nan(f64)));
    try std.testing.expectApproxEqAbs(@as(f64, 36.0), speedKmh(100, 10), 1e-9);
    try std.testing.expectEqual(@as(f64, 0.0), speedKmh(100, 0));
}
""",
    ),
    (
        "signedIndex",
        "Casting",
        "Index a `[]const i32` with a signed `i64`, the way scripting languages do: `0` is the first element, `-1` "
        "the last, `-len` the first again.\n\n- `resolve(len: usize, index: i64) ?usize`: the plain index, or `null` "
        "when it is out of range.\n- `at(items, index) ?i32`: the element there, or `null`.\n- `slice(items, from, "
        "to) []const i32`: `items[resolve(from)..resolve(to)]` where each end is clamped into `0..len` (so `to = "
        "len` may be given as a large number) and an empty slice when `from` ends up past `to`.",
        """pub fn resolve(len: usize, index: i64) ?usize {
    const signed_len: i64 = @intCast(len);
    const plain = if (index < 0) signed_len + index else index;
    if (plain < 0 or plain >= signed_len) return null;
    return @intCast(plain);
}

pub fn at(items: []const i32, index: i64) ?i32 {
    const i = resolve(items.len, index) orelse return null;
    return items[i];
}

fn clampIndex(len: usize, index: i64) usize {
    const signed_len: i64 = @intCast(len);
    const plain = if (index < 0) signed_len + index else index;
    return @intCast(@max(0, @min(plain, signed_len)));
}

pub fn slice(items: []const i32, from: i64, to: i64) []const i32 {
    const start = clampIndex(items.len, from);
    const end = clampIndex(items.len, to);
    if (start >= end) return items[0..0];
    return items[start..end];
}
""",
        """test "signed index" {
    const items = [_]i32{ 10, 20, 30, 40 };
    try std.testing.expectEqual(@as(?usize, 3), resolve(4, -1));
    try std.testing.expectEqual(@as(?usize, 0), resolve(4, -4));
    try std.testing.expectEqual(@as(?usize, null), resolve(4, -5));
    try std.testing.expectEqual(@as(?usize, null), resolve(4, 4));
    try std.testing.expectEqual(@as(?usize, null), resolve(0, 0));
    try std.testing.expectEqual(@as(?i32, 40), at(&items, -1));
    try std.testing.expectEqual(@as(?i32, 20), at(&items, 1));
    try std.testing.expectEqual(@as(?i32, null), at(&items, 9));
    try std.testing.expectEqualSlices(i32, &.{ 20, 30 }, slice(&items, 1, -1));
    try std.testing.expectEqualSlices(i32, &.{ 30, 40 }, slice(&items, -2, 1000));
    try std.testing.expectEqualSlices(i32, &.{ 10, 20, 30, 40 }, slice(&items, -100, 100));
    try std.testing.expectEqual(@as(usize, 0), slice(&items, 3, 1).len);
}
""",
    ),
)

OVERFLOW: tuple[Entry, ...] = (
    (
        "checkedTotals",
        "Standard Library Math Functions",
        "Totals that report overflow instead of wrapping or crashing:\n\n- `checkedSum(values: []const i32) "
        "error{Overflow}!i32` (use `std.math.add`).\n- `checkedProduct(values: []const i32) error{Overflow}!i32` "
        "(use `std.math.mul`; the product of no values is 1).\n- `sumOrClamp(values: []const i32) i32`: the sum, or "
        "`maxInt(i32)` / `minInt(i32)` when it overflows upward / downward (decide from the sign of the value that "
        "overflowed it).",
        """const std = @import("std");

pub fn checkedSum(values: []const i32) error{Overflow}!i32 {
    var sum: i32 = 0;
    for (values) |value| sum = try std.math.add(i32, sum, value);
    return sum;
}

pub fn checkedProduct(values: []const i32) error{Overflow}!i32 {
    var product: i32 = 1;
    for (values) |value| product = try std.math.mul(i32, product, value);
    return product;
}

pub fn sumOrClamp(values: []const i32) i32 {
    var sum: i32 = 0;
    for (values) |value| {
        sum = std.math.add(i32, sum, value) catch {
            return if (value > 0) std.math.maxInt(i32) else std.math.minInt(i32);
        };
    }
    return sum;
}
""",
        """test "checked totals" {
    try std.testing.expectEqual(@as(i32, 6), try checkedSum(&.{ 1, 2, 3 }));
    try std.testing.expectEqual(@as(i32, 0), try checkedSum(&.{}));
    try std.testing.expectError(error.Overflow, checkedSum(&.{ 2_000_000_000, 200_000_000 }));
    try std.testing.expectEqual(@as(i32, -2_000_000_000), try checkedSum(&.{ -2_000_000_000, 200_000_000, -200_000_000 }));
    try std.testing.expectEqual(@as(i32, -24), try checkedProduct(&.{ 2, -3, 4 }));
    try std.testing.expectEqual(@as(i32, 1), try checkedProduct(&.{}));
    try std.testing.expectError(error.Overflow, checkedProduct(&.{ 65536, 32768 }));
    try std.testing.expectEqual(@as(i32, std.math.maxInt(i32)), sumOrClamp(&.{ 2_000_000_000, 2_000_000_000 }));
    try std.testing.expectEqual(@as(i32, std.math.minInt(i32)), sumOrClamp(&.{ -2_000_000_000, -2_000_000_000 }));
    try std.testing.expectEqual(@as(i32, 5), sumOrClamp(&.{ 7, -2 }));
}
""",
    ),
    (
        "bigAdd",
        "@addWithOverflow",
        "`addBytes(a, b, out) error{LengthMismatch}!u1` adds two unsigned numbers stored little-endian as byte "
        "slices of the same length (byte 0 is the lowest), writing the sum into `out` (same length) and returning "
        "the final carry. Use `@addWithOverflow` for each byte and its carry. `increment(number: []u8) u1` adds one "
        "in place and returns the carry out of the top byte.",
        """pub fn addBytes(a: []const u8, b: []const u8, out: []u8) error{LengthMismatch}!u1 {
    if (a.len != b.len or out.len != a.len) return error.LengthMismatch;
    var carry: u1 = 0;
    for (a, b, out) |x, y, *sum| {
        const partial, const first_carry = @addWithOverflow(x, y);
        const total, const second_carry = @addWithOverflow(partial, carry);
        sum.* = total;
        carry = first_carry | second_carry;
    }
    return carry;
}

pub fn increment(number: []u8) u1 {
    for (number) |*byte| {
        byte.*, const carry = @addWithOverflow(byte.*, 1);
        if (carry == 0) return 0;
    }
    return 1;
}
""",
        """test "big numbers" {
    var out: [3]u8 = undefined;
    try std.testing.expectEqual(@as(u1, 0), try addBytes(&.{ 0xff, 0x01, 0x00 }, &.{ 0x01, 0xff, 0x00 }, &out));
    try std.testing.expectEqualSlices(u8, &.{ 0x00, 0x01, 0x01 }, &out);
    try std.testing.expectEqual(@as(u1, 1), try addBytes(&.{ 0xff, 0xff, 0xff }, &.{ 0x01, 0x00, 0x00 }, &out));
    try std.testing.expectEqualSlices(u8, &.{ 0, 0, 0 }, &out);
    try std.testing.expectError(error.LengthMismatch, addBytes(&.{1}, &.{ 1, 2 }, &out));
    var number = [_]u8{ 0xff, 0xff, 0x07 };
    try std.testing.expectEqual(@as(u1, 0), increment(&number));
    try std.testing.expectEqualSlices(u8, &.{ 0x00, 0x00, 0x08 }, &number);
    var top = [_]u8{ 0xff, 0xff };
    try std.testing.expectEqual(@as(u1, 1), increment(&top));
    try std.testing.expectEqualSlices(u8, &.{ 0, 0 }, &top);
}
""",
    ),
    (
        "stringHashes",
        "Wrapping Operations",
        "Two classic 32-bit string hashes, computed with wrapping arithmetic:\n\n- `fnv1a(text) u32`: start from "
        "2166136261; for each byte, xor it in, then multiply by 16777619.\n- `djb2(text) u32`: start from 5381; for "
        "each byte, `hash * 33 + byte`.\n- `bucket(text, buckets: u32) u32`: `fnv1a(text) % buckets` (`buckets` is at "
        "least 1).",
        """pub fn fnv1a(text: []const u8) u32 {
    var hash: u32 = 2166136261;
    for (text) |byte| {
        hash ^= byte;
        hash *%= 16777619;
    }
    return hash;
}

pub fn djb2(text: []const u8) u32 {
    var hash: u32 = 5381;
    for (text) |byte| hash = hash *% 33 +% byte;
    return hash;
}

pub fn bucket(text: []const u8, buckets: u32) u32 {
    return fnv1a(text) % buckets;
}
""",
        """test "hashes" {
    try std.testing.expectEqual(@as(u32, 2166136261), fnv1a(""));
    try std.testing.expectEqual(@as(u32, 3826002220), fnv1a("a"));
    try std.testing.expectEqual(@as(u32, 3582672807), fnv1a("hello world"));
    try std.testing.expectEqual(@as(u32, 5381), djb2(""));
    try std.testing.expectEqual(@as(u32, 177670), djb2("a"));
    try std.testing.expectEqual(@as(u32, 193513423), djb2("zig"));
    try std.testing.expectEqual(@as(u32, 2592233713 % 16), bucket("zig", 16));
    try std.testing.expectEqual(@as(u32, 0), bucket("zig", 1));
}
""",
    ),
    (
        "byteChecksum",
        "Integer Overflow",
        "A one-byte checksum for a message: `sum8(data) u8` is the sum of all bytes modulo 256. `checksumByte(data) "
        "u8` is the byte that, appended to `data`, makes the `sum8` of the whole 0. `verify(framed) bool` says "
        "whether a message with its checksum byte appended sums to 0 (an empty frame is not valid).",
        """pub fn sum8(data: []const u8) u8 {
    var sum: u8 = 0;
    for (data) |byte| sum +%= byte;
    return sum;
}

pub fn checksumByte(data: []const u8) u8 {
    return 0 -% sum8(data);
}

pub fn verify(framed: []const u8) bool {
    return framed.len > 0 and sum8(framed) == 0;
}
""",
        """test "checksum" {
    try std.testing.expectEqual(@as(u8, 20), sum8("hello"));
    try std.testing.expectEqual(@as(u8, 236), checksumByte("hello"));
    try std.testing.expectEqual(@as(u8, 0), sum8(&.{ 0xff, 0xff, 0x02 }));
    try std.testing.expectEqual(@as(u8, 0), checksumByte(""));
    try std.testing.expect(verify("hello\\xec"));
    try std.testing.expect(!verify("hello\\xeb"));
    try std.testing.expect(!verify(""));
}
""",
    ),
    (
        "binomial",
        "Builtin Overflow Functions",
        "`factorial(n: u8) error{Overflow}!u64` and `binomial(n: u32, k: u32) error{Overflow}!u64` (the number of "
        "ways to choose `k` of `n`; 0 when `k > n`). Compute `binomial` step by step as `result = result * (n - i) / "
        "(i + 1)` for `i` in `0..min(k, n - k)`, which stays exact; any multiplication that overflows a `u64` gives "
        "`error.Overflow` (use `@mulWithOverflow`).",
        """pub fn factorial(n: u8) error{Overflow}!u64 {
    var result: u64 = 1;
    for (1..@as(usize, n) + 1) |factor| {
        const product, const overflow = @mulWithOverflow(result, @as(u64, factor));
        if (overflow != 0) return error.Overflow;
        result = product;
    }
    return result;
}

pub fn binomial(n: u32, k: u32) error{Overflow}!u64 {
    if (k > n) return 0;
    const steps = @min(k, n - k);
    var result: u64 = 1;
    var i: u32 = 0;
    while (i < steps) : (i += 1) {
        const product, const overflow = @mulWithOverflow(result, @as(u64, n - i));
        if (overflow != 0) return error.Overflow;
        result = product / (i + 1);
    }
    return result;
}
""",
        """test "counting" {
    try std.testing.expectEqual(@as(u64, 1), try factorial(0));
    try std.testing.expectEqual(@as(u64, 120), try factorial(5));
    try std.testing.expectEqual(@as(u64, 2432902008176640000), try factorial(20));
    try std.testing.expectError(error.Overflow, factorial(21));
    try std.testing.expectEqual(@as(u64, 10), try binomial(5, 2));
    try std.testing.expectEqual(@as(u64, 1), try binomial(7, 7));
    try std.testing.expectEqual(@as(u64, 0), try binomial(3, 4));
    try std.testing.expectError(error.Overflow, binomial(100, 50));
    try std.testing.expectEqual(@as(u64, 118264581564861424), try binomial(60, 30));
}
""",
    ),
    (
        "parseDecimal",
        "@mulWithOverflow",
        "`parseDecimal(text) error{Empty, InvalidDigit, Overflow}!u16` parses a run of ASCII digits without "
        "`std.fmt` (`error.Empty` for an empty string, `error.InvalidDigit` for any other byte, `error.Overflow` "
        "above 65535, detected with `@mulWithOverflow` and `@addWithOverflow`). Leading zeros are allowed.",
        """pub fn parseDecimal(text: []const u8) error{ Empty, InvalidDigit, Overflow }!u16 {
    if (text.len == 0) return error.Empty;
    var value: u16 = 0;
    for (text) |char| {
        if (char < '0' or char > '9') return error.InvalidDigit;
        const shifted, const mul_overflow = @mulWithOverflow(value, 10);
        if (mul_overflow != 0) return error.Overflow;
        const sum, const add_overflow = @addWithOverflow(shifted, @as(u16, char - '0'));
        if (add_overflow != 0) return error.Overflow;
        value = sum;
    }
    return value;
}
""",
        """test "parseDecimal" {
    try std.testing.expectEqual(@as(u16, 0), try parseDecimal("0"));
    try std.testing.expectEqual(@as(u16, 42), try parseDecimal("00042"));
    try std.testing.expectEqual(@as(u16, 65535), try parseDecimal("65535"));
    try std.testing.expectError(error.Overflow, parseDecimal("65536"));
    try std.testing.expectError(error.Overflow, parseDecimal("100000"));
    try std.testing.expectError(error.Empty, parseDecimal(""));
    try std.testing.expectError(error.InvalidDigit, parseDecimal("12a"));
    try std.testing.expectError(error.InvalidDigit, parseDecimal("-1"));
}
""",
    ),
)

TEXT: tuple[Entry, ...] = (
    (
        "runLengthByteFirst",
        "Choosing an Allocator",
        "Run-length coding of text without ASCII digits: `encode(allocator, text)` writes each run as its byte "
        'followed by its length in decimal (`"aaabcc"` becomes `"a3b1c2"`), `decode(allocator, encoded)` reverses '
        "it, with `error.Malformed` for a byte without a count, a count of 0, or a digit where a byte should be. Both return new memory that the "
        "caller frees, and leak nothing on error.",
        """const std = @import("std");

pub fn encode(allocator: std.mem.Allocator, text: []const u8) error{OutOfMemory}![]u8 {
    var runs = std.ArrayList(u8).init(allocator);
    errdefer runs.deinit();
    var i: usize = 0;
    while (i < text.len) {
        var run: usize = 1;
        while (i + run < text.len and text[i + run] == text[i]) run += 1;
        try runs.writer().print("{c}{d}", .{ text[i], run });
        i += run;
    }
    return runs.toOwnedSlice();
}

pub fn decode(allocator: std.mem.Allocator, encoded: []const u8) error{ Malformed, OutOfMemory }![]u8 {
    var bytes = std.ArrayList(u8).init(allocator);
    errdefer bytes.deinit();
    var i: usize = 0;
    while (i < encoded.len) {
        const byte = encoded[i];
        if (std.ascii.isDigit(byte)) return error.Malformed;
        var end = i + 1;
        while (end < encoded.len and std.ascii.isDigit(encoded[end])) end += 1;
        const run = std.fmt.parseInt(usize, encoded[i + 1 .. end], 10) catch return error.Malformed;
        if (run == 0) return error.Malformed;
        try bytes.appendNTimes(byte, run);
        i = end;
    }
    return bytes.toOwnedSlice();
}
""",
        """test "run length" {
    const allocator = std.testing.allocator;
    const encoded = try encode(allocator, "aaabcc");
    defer allocator.free(encoded);
    try std.testing.expectEqualStrings("a3b1c2", encoded);
    const long = try encode(allocator, "x" ** 12 ++ "y");
    defer allocator.free(long);
    try std.testing.expectEqualStrings("x12y1", long);
    const empty = try encode(allocator, "");
    defer allocator.free(empty);
    try std.testing.expectEqualStrings("", empty);
    const decoded = try decode(allocator, "z2 3!1");
    defer allocator.free(decoded);
    try std.testing.expectEqualStrings("zz   !", decoded);
    try std.testing.expectError(error.Malformed, decode(allocator, "a2b"));
    try std.testing.expectError(error.Malformed, decode(allocator, "a0"));
    try std.testing.expectError(error.Malformed, decode(allocator, "12"));
}
""",
    ),
    (
        "scoreLine",
        "catch",
        "`parseScores(line, out)` reads whole-number scores from a line where they are separated by commas and/or "
        "spaces (`std.mem.tokenizeAny`), stores them in `out: []i32`, and returns how many it read. Errors (one "
        "error set, `ScoreError`): `error.TooMany` when `out` is full, `error.NotANumber` for a token that is not an "
        "integer, `error.OutOfRange` for a score outside `-1000..1000` or too large for an `i32` (map "
        "`std.fmt.parseInt`'s errors with `catch |err| switch (err)`).",
        """const std = @import("std");

pub const ScoreError = error{ TooMany, NotANumber, OutOfRange };

pub fn parseScores(line: []const u8, out: []i32) ScoreError!usize {
    var tokens = std.mem.tokenizeAny(u8, line, ", ");
    var read: usize = 0;
    while (tokens.next()) |token| {
        if (read == out.len) return error.TooMany;
        const score = std.fmt.parseInt(i32, token, 10) catch |err| switch (err) {
            error.Overflow => return error.OutOfRange,
            error.InvalidCharacter => return error.NotANumber,
        };
        if (score < -1000 or score > 1000) return error.OutOfRange;
        out[read] = score;
        read += 1;
    }
    return read;
}
""",
        """test "parseScores" {
    var out: [4]i32 = undefined;
    try std.testing.expectEqual(@as(usize, 3), try parseScores("12, -4,7", &out));
    try std.testing.expectEqualSlices(i32, &.{ 12, -4, 7 }, out[0..3]);
    try std.testing.expectEqual(@as(usize, 0), try parseScores(" , ", &out));
    try std.testing.expectEqual(@as(usize, 2), try parseScores("1000 -1000", &out));
    try std.testing.expectError(error.OutOfRange, parseScores("1001", &out));
    try std.testing.expectError(error.OutOfRange, parseScores("99999999999", &out));
    try std.testing.expectError(error.NotANumber, parseScores("3, x", &out));
    try std.testing.expectError(error.TooMany, parseScores("1 2 3 4 5", &out));
}
""",
    ),
    (
        "humanUnits",
        "Zig Standard Library",
        "Human-readable units.\n\n- `formatDuration(seconds: u64, buf)`: writes into `buf` with `std.fmt.bufPrint` "
        'and returns the written part: `"1h 02m 03s"` when there are hours, `"4m 05s"` when there are minutes, else '
        '`"7s"` (minutes and seconds after the first part take two digits). `error.NoSpaceLeft` when `buf` is too '
        'small.\n- `formatSize(allocator, bytes: u64)`: a new string (caller frees): `"512 B"` below 1024, otherwise '
        "the value in KiB, MiB, GiB or TiB (the largest unit that keeps it at least 1) with one decimal, like "
        '`"1.5 KiB"`.',
        """const std = @import("std");

pub fn formatDuration(seconds: u64, buf: []u8) error{NoSpaceLeft}![]u8 {
    const hours = seconds / 3600;
    const minutes = seconds / 60 % 60;
    const rest = seconds % 60;
    if (hours > 0) return std.fmt.bufPrint(buf, "{d}h {d:0>2}m {d:0>2}s", .{ hours, minutes, rest });
    if (minutes > 0) return std.fmt.bufPrint(buf, "{d}m {d:0>2}s", .{ minutes, rest });
    return std.fmt.bufPrint(buf, "{d}s", .{rest});
}

pub fn formatSize(allocator: std.mem.Allocator, bytes: u64) error{OutOfMemory}![]u8 {
    if (bytes < 1024) return std.fmt.allocPrint(allocator, "{d} B", .{bytes});
    const units = [_][]const u8{ "KiB", "MiB", "GiB", "TiB" };
    var size = @as(f64, @floatFromInt(bytes)) / 1024.0;
    var unit: usize = 0;
    while (size >= 1024.0 and unit + 1 < units.len) : (unit += 1) size /= 1024.0;
    return std.fmt.allocPrint(allocator, "{d:.1} {s}", .{ size, units[unit] });
}
""",
        """test "units" {
    var buf: [32]u8 = undefined;
    try std.testing.expectEqualStrings("1h 02m 03s", try formatDuration(3723, &buf));
    try std.testing.expectEqualStrings("4m 05s", try formatDuration(245, &buf));
    try std.testing.expectEqualStrings("0s", try formatDuration(0, &buf));
    try std.testing.expectEqualStrings("100h 00m 00s", try formatDuration(360000, &buf));
    var tiny: [3]u8 = undefined;
    try std.testing.expectError(error.NoSpaceLeft, formatDuration(3723, &tiny));
    const allocator = std.testing.allocator;
    const cases = [_]struct { bytes: u64, text: []const u8 }{
        .{ .bytes = 0, .text = "0 B" },
        .{ .bytes = 1023, .text = "1023 B" },
        .{ .bytes = 1024, .text = "1.0 KiB" },
        .{ .bytes = 1536, .text = "1.5 KiB" },
        .{ .bytes = 3 * 1024 * 1024, .text = "3.0 MiB" },
        .{ .bytes = 5 << 30, .text = "5.0 GiB" },
        .{ .bytes = 2048 << 40, .text = "2048.0 TiB" },
    };
    for (cases) |case| {
        const text = try formatSize(allocator, case.bytes);
        defer allocator.free(text);
        try std.testing.expectEqualStrings(case.text, text);
    }
}
""",
    ),
    (
        "robotCommands",
        "Tagged union",
        "A robot reads text commands: `forward N` (N a `u32`), `turn left` / `turn right`, and `stop`, with words "
        "separated by spaces.\n\n- `parseCommand(line) CommandError!Command` where `Command` is `union(enum) { "
        "forward: u32, turn: Direction, stop }` and `Direction` is `enum { left, right }`. Errors: "
        "`error.UnknownCommand` (also for an empty line), `error.MissingArgument` (forward or turn without a word "
        "after it), `error.BadNumber`, `error.BadDirection`.\n- `distance(lines)`: the sum of the forward steps up to "
        "the first `stop` (or the end), as `u64`; any bad line is an error.",
        """const std = @import("std");

pub const Direction = enum { left, right };

pub const Command = union(enum) {
    forward: u32,
    turn: Direction,
    stop,
};

pub const CommandError = error{ UnknownCommand, MissingArgument, BadNumber, BadDirection };

pub fn parseCommand(line: []const u8) CommandError!Command {
    var words = std.mem.tokenizeScalar(u8, line, ' ');
    const verb = words.next() orelse return error.UnknownCommand;
    if (std.mem.eql(u8, verb, "stop")) return .stop;
    if (std.mem.eql(u8, verb, "forward")) {
        const argument = words.next() orelse return error.MissingArgument;
        const steps = std.fmt.parseInt(u32, argument, 10) catch return error.BadNumber;
        return .{ .forward = steps };
    }
    if (std.mem.eql(u8, verb, "turn")) {
        const argument = words.next() orelse return error.MissingArgument;
        const direction = std.meta.stringToEnum(Direction, argument) orelse return error.BadDirection;
        return .{ .turn = direction };
    }
    return error.UnknownCommand;
}

pub fn distance(lines: []const []const u8) CommandError!u64 {
    var steps: u64 = 0;
    for (lines) |line| {
        switch (try parseCommand(line)) {
            .forward => |n| steps += n,
            .turn => {},
            .stop => break,
        }
    }
    return steps;
}
""",
        """test "robot commands" {
    try std.testing.expectEqual(Command{ .forward = 12 }, try parseCommand("forward 12"));
    try std.testing.expectEqual(Command{ .turn = .left }, try parseCommand("  turn   left "));
    try std.testing.expectEqual(Command.stop, try parseCommand("stop"));
    try std.testing.expectError(error.UnknownCommand, parseCommand(""));
    try std.testing.expectError(error.UnknownCommand, parseCommand("fly 3"));
    try std.testing.expectError(error.MissingArgument, parseCommand("forward"));
    try std.testing.expectError(error.MissingArgument, parseCommand("turn"));
    try std.testing.expectError(error.BadNumber, parseCommand("forward -2"));
    try std.testing.expectError(error.BadDirection, parseCommand("turn up"));
    try std.testing.expectEqual(@as(u64, 7), try distance(&.{ "forward 3", "turn right", "forward 4", "stop", "forward 100" }));
    try std.testing.expectEqual(@as(u64, 0), try distance(&.{}));
    try std.testing.expectError(error.BadNumber, distance(&.{ "forward 1", "forward x" }));
}
""",
    ),
    (
        "fileNames",
        "Optionals",
        "Path helpers over `[]const u8` (paths use `/`):\n\n- `baseName(path)`: the part after the last `/` (the "
        "whole path when there is none).\n- `extension(path) ?[]const u8`: the part of the base name after its last "
        '`.`, or `null` when the base name has no dot or its only dot is the first byte (`".bashrc"`).\n- '
        "`hasExtension(path, wanted) bool`: whether the extension equals `wanted`, ignoring ASCII case.",
        """const std = @import("std");

pub fn baseName(path: []const u8) []const u8 {
    const slash = std.mem.lastIndexOfScalar(u8, path, '/') orelse return path;
    return path[slash + 1 ..];
}

pub fn extension(path: []const u8) ?[]const u8 {
    const name = baseName(path);
    const dot = std.mem.lastIndexOfScalar(u8, name, '.') orelse return null;
    if (dot == 0) return null;
    return name[dot + 1 ..];
}

pub fn hasExtension(path: []const u8, wanted: []const u8) bool {
    const found = extension(path) orelse return false;
    return std.ascii.eqlIgnoreCase(found, wanted);
}
""",
        """test "file names" {
    try std.testing.expectEqualStrings("report.tar.gz", baseName("/home/ada/report.tar.gz"));
    try std.testing.expectEqualStrings("notes", baseName("notes"));
    try std.testing.expectEqualStrings("", baseName("dir/"));
    try std.testing.expectEqualStrings("gz", extension("/home/ada/report.tar.gz").?);
    try std.testing.expect(extension("/etc.d/hosts") == null);
    try std.testing.expect(extension("~/.bashrc") == null);
    try std.testing.expectEqualStrings("", extension("odd.").?);
    try std.testing.expect(hasExtension("photo.JPG", "jpg"));
    try std.testing.expect(!hasExtension("photo.jpeg", "jpg"));
    try std.testing.expect(!hasExtension("Makefile", "jpg"));
}
""",
    ),
)

ERROR_FLOW: tuple[Entry, ...] = (
    (
        "Account",
        "Error Set Type",
        "`Account` has `balance: i64 = 0` (cents) and `overdraft_limit: i64 = 0` (how far below zero it may go). "
        "Errors are `AccountError = error{ InvalidAmount, InsufficientFunds }`.\n\n- `deposit(self, amount)` and "
        "`withdraw(self, amount)`: `error.InvalidAmount` for an amount `<= 0`; a withdrawal that would take the "
        "balance below `-overdraft_limit` fails with `error.InsufficientFunds` and changes nothing.\n- "
        "`transfer(from, to, amount)`: moves money, changing nothing when the withdrawal fails.\n- `applyAll(account, "
        "amounts)`: deposits positive amounts, withdraws negative ones (their absolute value), skips zeros, and "
        "returns how many withdrawals bounced.",
        """pub const AccountError = error{ InvalidAmount, InsufficientFunds };

pub const Account = struct {
    balance: i64 = 0,
    overdraft_limit: i64 = 0,

    pub fn deposit(self: *Account, amount: i64) AccountError!void {
        if (amount <= 0) return error.InvalidAmount;
        self.balance += amount;
    }

    pub fn withdraw(self: *Account, amount: i64) AccountError!void {
        if (amount <= 0) return error.InvalidAmount;
        if (self.balance - amount < -self.overdraft_limit) return error.InsufficientFunds;
        self.balance -= amount;
    }
};

pub fn transfer(from: *Account, to: *Account, amount: i64) AccountError!void {
    try from.withdraw(amount);
    to.deposit(amount) catch unreachable;
}

pub fn applyAll(account: *Account, amounts: []const i64) u32 {
    var bounced: u32 = 0;
    for (amounts) |amount| {
        const result = if (amount >= 0) account.deposit(amount) else account.withdraw(-amount);
        result catch |err| switch (err) {
            error.InsufficientFunds => bounced += 1,
            error.InvalidAmount => {},
        };
    }
    return bounced;
}
""",
        """test "Account" {
    var checking = Account{ .overdraft_limit = 500 };
    var savings = Account{};
    try checking.deposit(1000);
    try checking.withdraw(1400);
    try std.testing.expectEqual(@as(i64, -400), checking.balance);
    try std.testing.expectError(error.InsufficientFunds, checking.withdraw(101));
    try std.testing.expectEqual(@as(i64, -400), checking.balance);
    try std.testing.expectError(error.InvalidAmount, checking.deposit(0));
    try std.testing.expectError(error.InvalidAmount, checking.withdraw(-5));
    try std.testing.expectError(error.InsufficientFunds, transfer(&savings, &checking, 1));
    try transfer(&checking, &savings, 100);
    try std.testing.expectEqual(@as(i64, -500), checking.balance);
    try std.testing.expectEqual(@as(i64, 100), savings.balance);
    try std.testing.expectEqual(@as(u32, 2), applyAll(&savings, &.{ -50, -60, 0, 25, -75, -1 }));
    try std.testing.expectEqual(@as(i64, 0), savings.balance);
}
""",
    ),
    (
        "parseCelsius",
        "catch",
        "`parseCelsius(text) CelsiusError!i16` reads a whole-number temperature in °C, ignoring spaces around it. "
        "`CelsiusError` is `error{ Empty, NotANumber, BelowAbsoluteZero, TooHot }`: `Empty` for blank text, "
        "`NotANumber` for anything `std.fmt.parseInt` rejects as a character, `BelowAbsoluteZero` below -273 "
        "(including numbers too negative for an `i16`), `TooHot` above 1000 (including numbers too large for an "
        "`i16`). `warmest(texts) ?i16`: the highest valid reading, skipping invalid ones (`null` if none is valid).",
        """const std = @import("std");

pub const CelsiusError = error{ Empty, NotANumber, BelowAbsoluteZero, TooHot };

pub fn parseCelsius(text: []const u8) CelsiusError!i16 {
    const trimmed = std.mem.trim(u8, text, " ");
    if (trimmed.len == 0) return error.Empty;
    const value = std.fmt.parseInt(i16, trimmed, 10) catch |err| switch (err) {
        error.InvalidCharacter => return error.NotANumber,
        error.Overflow => return if (trimmed[0] == '-') error.BelowAbsoluteZero else error.TooHot,
    };
    if (value < -273) return error.BelowAbsoluteZero;
    if (value > 1000) return error.TooHot;
    return value;
}

pub fn warmest(texts: []const []const u8) ?i16 {
    var best: ?i16 = null;
    for (texts) |text| {
        const value = parseCelsius(text) catch continue;
        if (best == null or value > best.?) best = value;
    }
    return best;
}
""",
        """test "parseCelsius" {
    try std.testing.expectEqual(@as(i16, -12), try parseCelsius("  -12 "));
    try std.testing.expectEqual(@as(i16, 1000), try parseCelsius("1000"));
    try std.testing.expectEqual(@as(i16, -273), try parseCelsius("-273"));
    try std.testing.expectError(error.Empty, parseCelsius("   "));
    try std.testing.expectError(error.NotANumber, parseCelsius("12C"));
    try std.testing.expectError(error.BelowAbsoluteZero, parseCelsius("-274"));
    try std.testing.expectError(error.BelowAbsoluteZero, parseCelsius("-99999"));
    try std.testing.expectError(error.TooHot, parseCelsius("1001"));
    try std.testing.expectError(error.TooHot, parseCelsius("99999"));
    try std.testing.expectEqual(@as(?i16, 21), warmest(&.{ "hot", "-5", "21", "5000", "" }));
    try std.testing.expectEqual(@as(?i16, -40), warmest(&.{"-40"}));
    try std.testing.expectEqual(@as(?i16, null), warmest(&.{ "x", "" }));
}
""",
    ),
    (
        "parseList",
        "errdefer",
        "`parseList(allocator, text)` parses integers separated by commas and/or spaces into a new `[]i32` of "
        "exactly the right length (count the tokens first, then allocate once); the caller frees it. A token that "
        "is not an `i32` gives `error.InvalidNumber`, and then nothing may leak (use `errdefer`). `sumList(allocator, "
        "text)` returns the `i64` sum of the parsed list, freeing it before returning.",
        """const std = @import("std");

pub const ListError = error{ OutOfMemory, InvalidNumber };

pub fn parseList(allocator: std.mem.Allocator, text: []const u8) ListError![]i32 {
    var count: usize = 0;
    var counter = std.mem.tokenizeAny(u8, text, ", ");
    while (counter.next()) |_| count += 1;
    const values = try allocator.alloc(i32, count);
    errdefer allocator.free(values);
    var tokens = std.mem.tokenizeAny(u8, text, ", ");
    for (values) |*value| {
        value.* = std.fmt.parseInt(i32, tokens.next().?, 10) catch return error.InvalidNumber;
    }
    return values;
}

pub fn sumList(allocator: std.mem.Allocator, text: []const u8) ListError!i64 {
    const values = try parseList(allocator, text);
    defer allocator.free(values);
    var sum: i64 = 0;
    for (values) |value| sum += value;
    return sum;
}
""",
        """test "parseList" {
    const allocator = std.testing.allocator;
    const values = try parseList(allocator, "4, -7 , 19,0");
    defer allocator.free(values);
    try std.testing.expectEqualSlices(i32, &.{ 4, -7, 19, 0 }, values);
    const none = try parseList(allocator, " ,, ");
    defer allocator.free(none);
    try std.testing.expectEqual(@as(usize, 0), none.len);
    try std.testing.expectError(error.InvalidNumber, parseList(allocator, "1, 2, three"));
    try std.testing.expectError(error.InvalidNumber, parseList(allocator, "3000000000"));
    try std.testing.expectEqual(@as(i64, 4_000_000_000), try sumList(allocator, "2000000000 2000000000"));
    try std.testing.expectError(error.InvalidNumber, sumList(allocator, "5 x"));
}
""",
    ),
    (
        "RingQueue",
        "Errors",
        "`RingQueue` is a first-in first-out queue of at most `capacity` (a public constant, 4) `u32` values kept in "
        "a fixed array, with `head` and `len` fields (no allocation). `push(self, value)` fails with `error.Full` "
        "when it holds `capacity` values; `pop(self)` returns the oldest value or `null`; `peek(self)` returns it "
        "without removing it. The positions wrap around the array.",
        """pub const RingQueue = struct {
    items: [capacity]u32 = undefined,
    head: usize = 0,
    len: usize = 0,

    pub const capacity = 4;

    pub fn push(self: *RingQueue, value: u32) error{Full}!void {
        if (self.len == capacity) return error.Full;
        self.items[(self.head + self.len) % capacity] = value;
        self.len += 1;
    }

    pub fn pop(self: *RingQueue) ?u32 {
        const value = self.peek() orelse return null;
        self.head = (self.head + 1) % capacity;
        self.len -= 1;
        return value;
    }

    pub fn peek(self: RingQueue) ?u32 {
        if (self.len == 0) return null;
        return self.items[self.head];
    }
};
""",
        """test "RingQueue" {
    var queue = RingQueue{};
    try std.testing.expectEqual(@as(?u32, null), queue.pop());
    for ([_]u32{ 1, 2, 3, 4 }) |value| try queue.push(value);
    try std.testing.expectError(error.Full, queue.push(5));
    try std.testing.expectEqual(@as(?u32, 1), queue.pop());
    try std.testing.expectEqual(@as(?u32, 2), queue.pop());
    try queue.push(5);
    try queue.push(6);
    try std.testing.expectError(error.Full, queue.push(7));
    try std.testing.expectEqual(@as(?u32, 3), queue.peek());
    const expected = [_]u32{ 3, 4, 5, 6 };
    for (expected) |value| try std.testing.expectEqual(@as(?u32, value), queue.pop());
    try std.testing.expectEqual(@as(?u32, null), queue.peek());
    try std.testing.expectEqual(@as(usize, 0), queue.len);
}
""",
    ),
    (
        "NumberReader",
        "while with Error Unions",
        "`NumberReader` reads space-separated `i64` numbers from a text one at a time: `init(text)`, and `next(self) "
        "error{InvalidNumber}!?i64` (the next number, `null` at the end, `error.InvalidNumber` for a token that is "
        "not one). `sumAll(text)`: the sum of all the numbers, or the error (use `while (try reader.next()) |n|`). "
        "`countValidPrefix(text) usize`: how many numbers come before the end or the first invalid token.",
        """const std = @import("std");

pub const NumberReader = struct {
    tokens: std.mem.TokenIterator(u8, .scalar),

    pub fn init(text: []const u8) NumberReader {
        return .{ .tokens = std.mem.tokenizeScalar(u8, text, ' ') };
    }

    pub fn next(self: *NumberReader) error{InvalidNumber}!?i64 {
        const token = self.tokens.next() orelse return null;
        return std.fmt.parseInt(i64, token, 10) catch error.InvalidNumber;
    }
};

pub fn sumAll(text: []const u8) error{InvalidNumber}!i64 {
    var reader = NumberReader.init(text);
    var sum: i64 = 0;
    while (try reader.next()) |value| sum += value;
    return sum;
}

pub fn countValidPrefix(text: []const u8) usize {
    var reader = NumberReader.init(text);
    var read: usize = 0;
    while (reader.next()) |maybe_value| {
        if (maybe_value == null) break;
        read += 1;
    } else |_| {}
    return read;
}
""",
        """test "NumberReader" {
    var reader = NumberReader.init("  5 -12 ");
    try std.testing.expectEqual(@as(?i64, 5), try reader.next());
    try std.testing.expectEqual(@as(?i64, -12), try reader.next());
    try std.testing.expectEqual(@as(?i64, null), try reader.next());
    try std.testing.expectEqual(@as(i64, 6), try sumAll("1 2 3"));
    try std.testing.expectEqual(@as(i64, 0), try sumAll(""));
    try std.testing.expectError(error.InvalidNumber, sumAll("1 two 3"));
    try std.testing.expectEqual(@as(usize, 2), countValidPrefix("7 8 nine 10"));
    try std.testing.expectEqual(@as(usize, 3), countValidPrefix("7 8 10"));
    try std.testing.expectEqual(@as(usize, 0), countValidPrefix("x"));
}
""",
    ),
)

OPTIONAL_VALUES: tuple[Entry, ...] = (
    (
        "SortedList",
        "Optional Pointers",
        "`SortedList` is a singly linked list of `i32` kept in ascending order; it owns its nodes (`Node { item: "
        "i32, next: ?*Node }`, made with `allocator.create`). Implement `init(allocator)`, `deinit(self)` (destroys "
        "every node), `insert(self, value)` (before the first node whose value is `>= value`), `remove(self, value) "
        "bool` (the first node with that value; `false` when there is none), `len` (a field), and `copyTo(self, "
        "out) []i32`: the values in order, as many as fit in `out`.",
        """const std = @import("std");

pub const SortedList = struct {
    allocator: std.mem.Allocator,
    head: ?*Node = null,
    len: usize = 0,

    pub const Node = struct {
        item: i32,
        next: ?*Node,
    };

    pub fn init(allocator: std.mem.Allocator) SortedList {
        return .{ .allocator = allocator };
    }

    pub fn deinit(self: *SortedList) void {
        var current = self.head;
        while (current) |node| {
            current = node.next;
            self.allocator.destroy(node);
        }
        self.* = undefined;
    }

    pub fn insert(self: *SortedList, value: i32) error{OutOfMemory}!void {
        const node = try self.allocator.create(Node);
        var link = &self.head;
        while (link.*) |existing| : (link = &existing.next) {
            if (existing.item >= value) break;
        }
        node.* = .{ .item = value, .next = link.* };
        link.* = node;
        self.len += 1;
    }

    pub fn remove(self: *SortedList, value: i32) bool {
        var link = &self.head;
        while (link.*) |node| : (link = &node.next) {
            if (node.item > value) return false;
            if (node.item == value) {
                link.* = node.next;
                self.allocator.destroy(node);
                self.len -= 1;
                return true;
            }
        }
        return false;
    }

    pub fn copyTo(self: SortedList, out: []i32) []i32 {
        var written: usize = 0;
        var current = self.head;
        while (current) |node| : (current = node.next) {
            if (written == out.len) break;
            out[written] = node.item;
            written += 1;
        }
        return out[0..written];
    }
};
""",
        """test "SortedList" {
    var list = SortedList.init(std.testing.allocator);
    defer list.deinit();
    for ([_]i32{ 5, -1, 3, 5, 10 }) |value| try list.insert(value);
    var buffer: [8]i32 = undefined;
    try std.testing.expectEqualSlices(i32, &.{ -1, 3, 5, 5, 10 }, list.copyTo(&buffer));
    try std.testing.expectEqualSlices(i32, &.{ -1, 3 }, list.copyTo(buffer[0..2]));
    try std.testing.expect(list.remove(5));
    try std.testing.expect(list.remove(-1));
    try std.testing.expect(!list.remove(4));
    try std.testing.expect(!list.remove(11));
    try std.testing.expectEqual(@as(usize, 3), list.len);
    try std.testing.expectEqualSlices(i32, &.{ 3, 5, 10 }, list.copyTo(&buffer));
}
""",
    ),
    (
        "searches",
        "Optional Type",
        "Searches over a `[]const i32` that may find nothing:\n\n- `positionOf(items, value) ?usize`: the first "
        "index holding `value`.\n- `firstAbove(items, floor) ?i32`: the first element greater than `floor`.\n- "
        "`secondLargest(items) ?i32`: the second-largest distinct value (`null` when there are fewer than two "
        "distinct values).",
        """pub fn positionOf(items: []const i32, value: i32) ?usize {
    for (items, 0..) |item, i| {
        if (item == value) return i;
    }
    return null;
}

pub fn firstAbove(items: []const i32, floor: i32) ?i32 {
    for (items) |item| {
        if (item > floor) return item;
    }
    return null;
}

pub fn secondLargest(items: []const i32) ?i32 {
    var largest: ?i32 = null;
    var second: ?i32 = null;
    for (items) |item| {
        if (largest == null or item > largest.?) {
            second = largest;
            largest = item;
        } else if (item < largest.? and (second == null or item > second.?)) {
            second = item;
        }
    }
    return second;
}
""",
        """test "searches" {
    const items = [_]i32{ 4, -2, 9, 4, 9, 7 };
    try std.testing.expectEqual(@as(?usize, 0), positionOf(&items, 4));
    try std.testing.expectEqual(@as(?usize, 2), positionOf(&items, 9));
    try std.testing.expectEqual(@as(?usize, null), positionOf(&items, 5));
    try std.testing.expectEqual(@as(?i32, 9), firstAbove(&items, 4));
    try std.testing.expectEqual(@as(?i32, null), firstAbove(&items, 9));
    try std.testing.expectEqual(@as(?i32, 7), secondLargest(&items));
    try std.testing.expectEqual(@as(?i32, -2), secondLargest(&.{ -2, 4, 4 }));
    try std.testing.expectEqual(@as(?i32, null), secondLargest(&.{ 3, 3 }));
    try std.testing.expectEqual(@as(?i32, null), secondLargest(&.{}));
    try std.testing.expectEqual(@as(?i32, 1), secondLargest(&.{ 1, 2 }));
}
""",
    ),
    (
        "words",
        "while with Optionals",
        "Words are runs of bytes between spaces, tabs, newlines and the punctuation `,.;!?`.\n\n- `longestWord(text) "
        "?[]const u8`: the longest word (the first on a tie), `null` when there are no words.\n- `wordAt(text, index) "
        "?[]const u8`: the word at that position, counting from 0.\n- `countLongerThan(text, length) usize`: how many "
        "words have more than `length` bytes.\n\nIterate with `while (words.next()) |word|`.",
        """const std = @import("std");

const separators = " \\t\\n,.;!?";

pub fn longestWord(text: []const u8) ?[]const u8 {
    var words = std.mem.tokenizeAny(u8, text, separators);
    var longest: ?[]const u8 = null;
    while (words.next()) |word| {
        if (longest == null or word.len > longest.?.len) longest = word;
    }
    return longest;
}

pub fn wordAt(text: []const u8, index: usize) ?[]const u8 {
    var words = std.mem.tokenizeAny(u8, text, separators);
    var position: usize = 0;
    while (words.next()) |word| : (position += 1) {
        if (position == index) return word;
    }
    return null;
}

pub fn countLongerThan(text: []const u8, length: usize) usize {
    var words = std.mem.tokenizeAny(u8, text, separators);
    var found: usize = 0;
    while (words.next()) |word| {
        if (word.len > length) found += 1;
    }
    return found;
}
""",
        """test "words" {
    const text = "Hello, wide\\tworld! Zig;is...fun";
    try std.testing.expectEqualStrings("Hello", longestWord(text).?);
    try std.testing.expect(longestWord(" ,.!? ") == null);
    try std.testing.expectEqualStrings("world", wordAt(text, 2).?);
    try std.testing.expectEqualStrings("fun", wordAt(text, 5).?);
    try std.testing.expect(wordAt(text, 6) == null);
    try std.testing.expectEqual(@as(usize, 3), countLongerThan(text, 3));
    try std.testing.expectEqual(@as(usize, 6), countLongerThan(text, 0));
    try std.testing.expectEqual(@as(usize, 0), countLongerThan("", 0));
}
""",
    ),
    (
        "Settings",
        "if with Optionals",
        "`Settings` has optional fields `host: ?[]const u8`, `port: ?u16` and `retries: ?u8`, all `null` by "
        "default.\n\n- `merge(base, override)`: each field from `override` when it is set, else from `base`.\n- "
        '`address(buf, settings)`: `"host:port"` written into `buf`, with `"localhost"` and 8080 for unset fields '
        "(`error.NoSpaceLeft` when it does not fit).\n- `backoffMillis(settings) u32`: the total wait of all retries "
        "when retry `i` (from 0) waits `100 << i` ms; at most 10 retries count; 0 when `retries` is unset.",
        """const std = @import("std");

pub const Settings = struct {
    host: ?[]const u8 = null,
    port: ?u16 = null,
    retries: ?u8 = null,
};

pub fn merge(base: Settings, override: Settings) Settings {
    return .{
        .host = override.host orelse base.host,
        .port = override.port orelse base.port,
        .retries = override.retries orelse base.retries,
    };
}

pub fn address(buf: []u8, settings: Settings) error{NoSpaceLeft}![]u8 {
    const host = settings.host orelse "localhost";
    const port = settings.port orelse 8080;
    return std.fmt.bufPrint(buf, "{s}:{d}", .{ host, port });
}

pub fn backoffMillis(settings: Settings) u32 {
    if (settings.retries) |retries| {
        var wait: u32 = 0;
        for (0..@min(retries, 10)) |attempt| {
            wait += @as(u32, 100) << @as(u5, @intCast(attempt));
        }
        return wait;
    }
    return 0;
}
""",
        """test "Settings" {
    const base = Settings{ .host = "db.local", .port = 5432, .retries = 2 };
    const merged = merge(base, .{ .port = 6543 });
    try std.testing.expectEqualStrings("db.local", merged.host.?);
    try std.testing.expectEqual(@as(?u16, 6543), merged.port);
    try std.testing.expectEqual(@as(?u8, 2), merged.retries);
    try std.testing.expectEqual(@as(?u16, null), merge(.{}, .{}).port);
    var buf: [32]u8 = undefined;
    try std.testing.expectEqualStrings("db.local:6543", try address(&buf, merged));
    try std.testing.expectEqualStrings("localhost:8080", try address(&buf, .{}));
    var small: [8]u8 = undefined;
    try std.testing.expectError(error.NoSpaceLeft, address(&small, .{}));
    try std.testing.expectEqual(@as(u32, 300), backoffMillis(merged));
    try std.testing.expectEqual(@as(u32, 0), backoffMillis(.{}));
    try std.testing.expectEqual(@as(u32, 0), backoffMillis(.{ .retries = 0 }));
    try std.testing.expectEqual(@as(u32, 102300), backoffMillis(.{ .retries = 255 }));
}
""",
    ),
    (
        "Employee",
        "Optionals",
        "An `Employee` has a `name: []const u8` and a `manager: ?*const Employee = null`.\n\n- `depth(employee) "
        "usize`: how many managers are above them.\n- `topManager(employee)`: the one at the top of the chain (themself "
        "when they have no manager).\n- `reportsTo(employee, wanted) bool`: whether anyone above them is named `wanted`.\n- "
        "`commonManager(a, b) ?*const Employee`: the nearest manager above `a` who is also above `b`, or `null`.",
        """const std = @import("std");

pub const Employee = struct {
    name: []const u8,
    manager: ?*const Employee = null,
};

pub fn depth(employee: *const Employee) usize {
    var levels: usize = 0;
    var current = employee.manager;
    while (current) |boss| : (current = boss.manager) levels += 1;
    return levels;
}

pub fn topManager(employee: *const Employee) *const Employee {
    var current = employee;
    while (current.manager) |boss| current = boss;
    return current;
}

pub fn reportsTo(employee: *const Employee, wanted: []const u8) bool {
    var current = employee.manager;
    while (current) |boss| : (current = boss.manager) {
        if (std.mem.eql(u8, boss.name, wanted)) return true;
    }
    return false;
}

pub fn commonManager(a: *const Employee, b: *const Employee) ?*const Employee {
    var left = a.manager;
    while (left) |candidate| : (left = candidate.manager) {
        var right = b.manager;
        while (right) |other| : (right = other.manager) {
            if (candidate == other) return candidate;
        }
    }
    return null;
}
""",
        """test "Employee" {
    const ceo = Employee{ .name = "Grace" };
    const cto = Employee{ .name = "Linus", .manager = &ceo };
    const cfo = Employee{ .name = "Ada", .manager = &ceo };
    const dev = Employee{ .name = "Ken", .manager = &cto };
    const ops = Employee{ .name = "Dennis", .manager = &cto };
    const clerk = Employee{ .name = "Barbara", .manager = &cfo };
    try std.testing.expectEqual(@as(usize, 2), depth(&dev));
    try std.testing.expectEqual(@as(usize, 0), depth(&ceo));
    try std.testing.expect(topManager(&dev) == &ceo);
    try std.testing.expect(topManager(&ceo) == &ceo);
    try std.testing.expect(reportsTo(&dev, "Grace") and reportsTo(&dev, "Linus"));
    try std.testing.expect(!reportsTo(&dev, "Ken") and !reportsTo(&dev, "Ada"));
    try std.testing.expect(commonManager(&dev, &ops).? == &cto);
    try std.testing.expect(commonManager(&dev, &clerk).? == &ceo);
    try std.testing.expect(commonManager(&cto, &cfo).? == &ceo);
    try std.testing.expect(commonManager(&ceo, &dev) == null);
}
""",
    ),
)


def _entries(family: str, table: tuple[Entry, ...]) -> Iterator[SpecTask]:
    for name, section, spec, solution, tests in table:
        yield SpecTask(f"{family}/{name}", section, spec, solution, tests)


def basics_tasks() -> list[SpecTask]:
    return [
        *_entries("parameter_copy", PARAMETER_COPIES),
        *_entries("signed_division", SIGNED_DIVISION),
        *_entries("loop_form", LOOP_FORMS),
        *_entries("cast", CASTS),
        *_entries("overflow", OVERFLOW),
        *_entries("text_basics", TEXT),
        *_entries("error_flow", ERROR_FLOW),
        *_entries("optional_value", OPTIONAL_VALUES),
    ]
