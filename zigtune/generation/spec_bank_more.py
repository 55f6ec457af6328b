# ruff: noqa: E501  (Zig source kept as the compiler checks it, one statement a line)
"""More :mod:`.spec_bank` families: structs that own memory, tagged unions, comptime generics, defer/errdefer,
``std`` collections the 0.14 way, and ``std.mem``/``std.fmt``/``std.sort``.

Each family is a table of (variant name, docs section, spec, solution, hidden tests); variants of a
family ask for different behaviour (different methods, rules, orders), not different words. No dagster here.
"""

from __future__ import annotations

from collections.abc import Iterator

from zigtune.generation.spec_tasks import SpecTask

Entry = tuple[str, str, str, str, str]

OWNING_STRUCTS: tuple[Entry, ...] = (
    (
        "IntStack",
        "struct",
        "`IntStack` is a stack of `i64` backed by a `std.ArrayList(i64)` (created the Zig 0.14 way, "
        "`std.ArrayList(i64).init(allocator)`). Implement:\n\n- `init(allocator)` and `deinit(self)` (frees "
        "everything).\n- `push(self, value)`: can fail only with `error.OutOfMemory`.\n- `pop(self)`: the top value, "
        "taken off the stack (`null` if there is none).\n- `peek(self)`: the top value, left in place (`null` if none).\n"
        "- `len(self)`: how many values are stored.",
        """const std = @import("std");

pub const IntStack = struct {
    items: std.ArrayList(i64),

    pub fn init(allocator: std.mem.Allocator) IntStack {
        return .{ .items = std.ArrayList(i64).init(allocator) };
    }

    pub fn deinit(self: *IntStack) void {
        self.items.deinit();
    }

    pub fn push(self: *IntStack, value: i64) error{OutOfMemory}!void {
        try self.items.append(value);
    }

    pub fn pop(self: *IntStack) ?i64 {
        return self.items.pop();
    }

    pub fn peek(self: IntStack) ?i64 {
        if (self.items.items.len == 0) return null;
        return self.items.items[self.items.items.len - 1];
    }

    pub fn len(self: IntStack) usize {
        return self.items.items.len;
    }
};
""",
        """test "IntStack" {
    var stack = IntStack.init(std.testing.allocator);
    defer stack.deinit();
    try std.testing.expectEqual(@as(?i64, null), stack.pop());
    try stack.push(1);
    try stack.push(-20);
    try stack.push(300);
    try std.testing.expectEqual(@as(usize, 3), stack.len());
    try std.testing.expectEqual(@as(?i64, 300), stack.peek());
    try std.testing.expectEqual(@as(?i64, 300), stack.pop());
    try std.testing.expectEqual(@as(?i64, -20), stack.pop());
    try std.testing.expectEqual(@as(usize, 1), stack.len());
}
""",
    ),
    (
        "Histogram",
        "Memory",
        "`Histogram` counts values `0 <= v < limit` in `bins` equal-width bins stored in a slice allocated with "
        "`allocator.alloc` (the histogram keeps its allocator). Implement:\n\n- `init(allocator, bins, limit)`: all "
        "counts 0 (`bins >= 1`, `limit >= bins`).\n- `deinit(self)`: frees the counts.\n- `add(self, v)`: counts "
        "`v` in bin `v * bins / limit`; returns `error.OutOfRange` when `v >= limit`.\n- `count(self, bin)`: the "
        "count of a bin.\n- `total(self)`: the sum of all counts.",
        """const std = @import("std");

pub const Histogram = struct {
    allocator: std.mem.Allocator,
    counts: []u32,
    limit: u32,

    pub fn init(allocator: std.mem.Allocator, bins: usize, limit: u32) !Histogram {
        std.debug.assert(bins >= 1 and limit >= bins);
        const counts = try allocator.alloc(u32, bins);
        @memset(counts, 0);
        return .{ .allocator = allocator, .counts = counts, .limit = limit };
    }

    pub fn deinit(self: *Histogram) void {
        self.allocator.free(self.counts);
    }

    pub fn add(self: *Histogram, v: u32) error{OutOfRange}!void {
        if (v >= self.limit) return error.OutOfRange;
        const bin = @as(u64, v) * self.counts.len / self.limit;
        self.counts[@intCast(bin)] += 1;
    }

    pub fn count(self: Histogram, bin: usize) u32 {
        return self.counts[bin];
    }

    pub fn total(self: Histogram) u64 {
        var sum: u64 = 0;
        for (self.counts) |c| sum += c;
        return sum;
    }
};
""",
        """test "Histogram" {
    var h = try Histogram.init(std.testing.allocator, 4, 100);
    defer h.deinit();
    for ([_]u32{ 0, 24, 25, 50, 99, 75, 74 }) |v| try h.add(v);
    try std.testing.expectError(error.OutOfRange, h.add(100));
    try std.testing.expectEqual(@as(u32, 2), h.count(0));
    try std.testing.expectEqual(@as(u32, 1), h.count(1));
    try std.testing.expectEqual(@as(u32, 2), h.count(2));
    try std.testing.expectEqual(@as(u32, 2), h.count(3));
    try std.testing.expectEqual(@as(u64, 7), h.total());
}
""",
    ),
    (
        "TextBuffer",
        "Choosing an Allocator",
        "`TextBuffer` builds a string piece by piece in a `std.ArrayList(u8)`. Implement:\n\n- `init(allocator)`, "
        "`deinit(self)`.\n- `add(self, text)`: appends the bytes of `text`.\n- `addNumber(self, n)`: appends the "
        'decimal form of the `i64` `n` (use the list\'s `writer()` and `print`).\n- `line(self)`: appends `"\\n"`.\n'
        "- `text(self)`: the bytes so far (a slice into the buffer).\n- `toOwned(self)`: hands the bytes to the caller "
        "(who frees them with the same allocator) and leaves the buffer empty.",
        """const std = @import("std");

pub const TextBuffer = struct {
    bytes: std.ArrayList(u8),

    pub fn init(allocator: std.mem.Allocator) TextBuffer {
        return .{ .bytes = std.ArrayList(u8).init(allocator) };
    }

    pub fn deinit(self: *TextBuffer) void {
        self.bytes.deinit();
    }

    pub fn add(self: *TextBuffer, text_part: []const u8) !void {
        try self.bytes.appendSlice(text_part);
    }

    pub fn addNumber(self: *TextBuffer, n: i64) !void {
        try self.bytes.writer().print("{d}", .{n});
    }

    pub fn line(self: *TextBuffer) !void {
        try self.bytes.append('\\n');
    }

    pub fn text(self: TextBuffer) []const u8 {
        return self.bytes.items;
    }

    pub fn toOwned(self: *TextBuffer) ![]u8 {
        return self.bytes.toOwnedSlice();
    }
};
""",
        """test "TextBuffer" {
    var buffer = TextBuffer.init(std.testing.allocator);
    defer buffer.deinit();
    try buffer.add("total: ");
    try buffer.addNumber(-1234);
    try buffer.line();
    try std.testing.expectEqualStrings("total: -1234\\n", buffer.text());
    const owned = try buffer.toOwned();
    defer std.testing.allocator.free(owned);
    try std.testing.expectEqualStrings("total: -1234\\n", owned);
    try std.testing.expectEqual(@as(usize, 0), buffer.text().len);
    try buffer.add("again");
    try std.testing.expectEqualStrings("again", buffer.text());
}
""",
    ),
    (
        "WordCounter",
        "Zig Standard Library",
        "`WordCounter` counts words with a `std.StringHashMap(u32)`. The map does not copy keys, so the counter "
        "must store its own copy of each new word (`allocator.dupe`) and free those copies in `deinit`. "
        "Implement:\n\n- `init(allocator)`, `deinit(self)`.\n- `addText(self, text)`: counts every word of `text` "
        "(words are separated by one or more spaces; use `std.mem.tokenizeScalar`).\n- `count(self, word)`: how "
        "often `word` was seen (0 if never).\n- `distinct(self)`: how many different words were seen.",
        """const std = @import("std");

pub const WordCounter = struct {
    allocator: std.mem.Allocator,
    counts: std.StringHashMap(u32),

    pub fn init(allocator: std.mem.Allocator) WordCounter {
        return .{ .allocator = allocator, .counts = std.StringHashMap(u32).init(allocator) };
    }

    pub fn deinit(self: *WordCounter) void {
        var keys = self.counts.keyIterator();
        while (keys.next()) |key| self.allocator.free(key.*);
        self.counts.deinit();
    }

    pub fn addText(self: *WordCounter, text: []const u8) !void {
        var words = std.mem.tokenizeScalar(u8, text, ' ');
        while (words.next()) |word| {
            if (self.counts.getPtr(word)) |seen| {
                seen.* += 1;
            } else {
                const copy = try self.allocator.dupe(u8, word);
                errdefer self.allocator.free(copy);
                try self.counts.put(copy, 1);
            }
        }
    }

    pub fn count(self: WordCounter, word: []const u8) u32 {
        return self.counts.get(word) orelse 0;
    }

    pub fn distinct(self: WordCounter) usize {
        return self.counts.count();
    }
};
""",
        """test "WordCounter" {
    var counter = WordCounter.init(std.testing.allocator);
    defer counter.deinit();
    try counter.addText("the cat and  the hat");
    var later = [_]u8{ 'c', 'a', 't' };
    try counter.addText(&later);
    later[0] = 'b';
    try std.testing.expectEqual(@as(u32, 2), counter.count("the"));
    try std.testing.expectEqual(@as(u32, 2), counter.count("cat"));
    try std.testing.expectEqual(@as(u32, 0), counter.count("bat"));
    try std.testing.expectEqual(@as(usize, 4), counter.distinct());
}
""",
    ),
    (
        "IdSet",
        "Zig Standard Library",
        "`IdSet` is a set of `u32` ids on a `std.AutoHashMap(u32, void)`. Implement:\n\n- `init(allocator)`, "
        "`deinit(self)`.\n- `add(self, id)`: returns `true` when the id was new, `false` when it was already there.\n"
        "- `remove(self, id)`: returns whether it was there.\n- `contains(self, id)`.\n- `sortedIds(self, "
        "allocator)`: a new slice (owned by the caller) with every id in ascending order (`std.mem.sort`).",
        """const std = @import("std");

pub const IdSet = struct {
    map: std.AutoHashMap(u32, void),

    pub fn init(allocator: std.mem.Allocator) IdSet {
        return .{ .map = std.AutoHashMap(u32, void).init(allocator) };
    }

    pub fn deinit(self: *IdSet) void {
        self.map.deinit();
    }

    pub fn add(self: *IdSet, id: u32) !bool {
        const entry = try self.map.getOrPut(id);
        return !entry.found_existing;
    }

    pub fn remove(self: *IdSet, id: u32) bool {
        return self.map.remove(id);
    }

    pub fn contains(self: IdSet, id: u32) bool {
        return self.map.contains(id);
    }

    pub fn sortedIds(self: IdSet, allocator: std.mem.Allocator) ![]u32 {
        const ids = try allocator.alloc(u32, self.map.count());
        var keys = self.map.keyIterator();
        var i: usize = 0;
        while (keys.next()) |key| : (i += 1) ids[i] = key.*;
        std.mem.sort(u32, ids, {}, std.sort.asc(u32));
        return ids;
    }
};
""",
        """test "IdSet" {
    var set = IdSet.init(std.testing.allocator);
    defer set.deinit();
    try std.testing.expect(try set.add(30));
    try std.testing.expect(try set.add(4));
    try std.testing.expect(!try set.add(30));
    try std.testing.expect(try set.add(17));
    try std.testing.expect(set.remove(4));
    try std.testing.expect(!set.remove(4));
    try std.testing.expect(set.contains(17));
    try std.testing.expect(!set.contains(4));
    const ids = try set.sortedIds(std.testing.allocator);
    defer std.testing.allocator.free(ids);
    try std.testing.expectEqualSlices(u32, &.{ 17, 30 }, ids);
}
""",
    ),
    (
        "RingLog",
        "Slices",
        "`RingLog` keeps the last `capacity` `i32` readings in a heap-allocated slice used as a ring buffer. "
        "Implement:\n\n- `init(allocator, capacity)` (`capacity >= 1`) and `deinit(self)`.\n- `record(self, value)`: "
        "stores `value`, overwriting the oldest reading once full.\n- `len(self)`: readings stored (at most "
        "`capacity`).\n- `latest(self)`: the newest reading, or `null`.\n- `copyOldestFirst(self, out)`: writes the "
        "stored readings oldest first into `out` (`out.len >= len`) and returns the filled part of `out`.",
        """const std = @import("std");

pub const RingLog = struct {
    allocator: std.mem.Allocator,
    slots: []i32,
    next: usize = 0,
    stored: usize = 0,

    pub fn init(allocator: std.mem.Allocator, capacity: usize) !RingLog {
        std.debug.assert(capacity >= 1);
        return .{ .allocator = allocator, .slots = try allocator.alloc(i32, capacity) };
    }

    pub fn deinit(self: *RingLog) void {
        self.allocator.free(self.slots);
    }

    pub fn record(self: *RingLog, value: i32) void {
        self.slots[self.next] = value;
        self.next = (self.next + 1) % self.slots.len;
        if (self.stored < self.slots.len) self.stored += 1;
    }

    pub fn len(self: RingLog) usize {
        return self.stored;
    }

    pub fn latest(self: RingLog) ?i32 {
        if (self.stored == 0) return null;
        const index = (self.next + self.slots.len - 1) % self.slots.len;
        return self.slots[index];
    }

    pub fn copyOldestFirst(self: RingLog, out: []i32) []i32 {
        const start = (self.next + self.slots.len - self.stored) % self.slots.len;
        for (0..self.stored) |i| {
            out[i] = self.slots[(start + i) % self.slots.len];
        }
        return out[0..self.stored];
    }
};
""",
        """test "RingLog" {
    var log = try RingLog.init(std.testing.allocator, 3);
    defer log.deinit();
    var out: [3]i32 = undefined;
    try std.testing.expectEqual(@as(?i32, null), log.latest());
    log.record(1);
    log.record(2);
    try std.testing.expectEqualSlices(i32, &.{ 1, 2 }, log.copyOldestFirst(&out));
    log.record(3);
    log.record(4);
    log.record(5);
    try std.testing.expectEqual(@as(usize, 3), log.len());
    try std.testing.expectEqual(@as(?i32, 5), log.latest());
    try std.testing.expectEqualSlices(i32, &.{ 3, 4, 5 }, log.copyOldestFirst(&out));
}
""",
    ),
    (
        "Inventory",
        "Zig Standard Library",
        "An `Inventory` maps item names to quantities in a `std.StringHashMap(u32)`; names are string literals "
        "that outlive it (no copies needed). Implement:\n\n- `init(allocator)`, `deinit(self)`.\n- `stock(self, "
        "name, amount)`: adds `amount` to the item (creating it).\n- `take(self, name, amount)`: removes `amount`; "
        "`error.UnknownItem` when absent, `error.NotEnough` when fewer are left (nothing changes); an item that "
        "reaches 0 is removed from the map.\n- `quantity(self, name)`: 0 for unknown items.",
        """const std = @import("std");

pub const Inventory = struct {
    items: std.StringHashMap(u32),

    pub fn init(allocator: std.mem.Allocator) Inventory {
        return .{ .items = std.StringHashMap(u32).init(allocator) };
    }

    pub fn deinit(self: *Inventory) void {
        self.items.deinit();
    }

    pub fn stock(self: *Inventory, name: []const u8, amount: u32) !void {
        const entry = try self.items.getOrPut(name);
        if (entry.found_existing) {
            entry.value_ptr.* += amount;
        } else {
            entry.value_ptr.* = amount;
        }
    }

    pub fn take(self: *Inventory, name: []const u8, amount: u32) error{ UnknownItem, NotEnough }!void {
        const left = self.items.getPtr(name) orelse return error.UnknownItem;
        if (left.* < amount) return error.NotEnough;
        left.* -= amount;
        if (left.* == 0) _ = self.items.remove(name);
    }

    pub fn quantity(self: Inventory, name: []const u8) u32 {
        return self.items.get(name) orelse 0;
    }
};
""",
        """test "Inventory" {
    var inventory = Inventory.init(std.testing.allocator);
    defer inventory.deinit();
    try inventory.stock("bolt", 10);
    try inventory.stock("nut", 4);
    try inventory.stock("bolt", 5);
    try inventory.take("bolt", 12);
    try std.testing.expectEqual(@as(u32, 3), inventory.quantity("bolt"));
    try std.testing.expectError(error.NotEnough, inventory.take("nut", 5));
    try std.testing.expectError(error.UnknownItem, inventory.take("gear", 1));
    try inventory.take("nut", 4);
    try std.testing.expectEqual(@as(u32, 0), inventory.quantity("nut"));
    try std.testing.expectEqual(@as(u32, 1), inventory.items.count());
}
""",
    ),
)

UNIONS: tuple[Entry, ...] = (
    (
        "Token",
        "Tagged union",
        "`Token` is a tagged union of a calculator's tokens: `number: i64`, `plus`, `minus`, `times`.\n\n"
        "- `evaluate(tokens)`: evaluates `number (op number)*` strictly left to right (no precedence): "
        "`[2, plus, 3, times, 4]` is 20. Returns `error.Syntax` when the tokens do not alternate number, "
        "operator, number, ... or do not start and end with a number.\n- `isOperator(token)`: `true` for the three "
        "operators (use `switch`).",
        """pub const Token = union(enum) {
    number: i64,
    plus,
    minus,
    times,
};

pub fn isOperator(token: Token) bool {
    return switch (token) {
        .number => false,
        .plus, .minus, .times => true,
    };
}

pub fn evaluate(tokens: []const Token) error{Syntax}!i64 {
    if (tokens.len == 0 or tokens.len % 2 == 0) return error.Syntax;
    var value: i64 = switch (tokens[0]) {
        .number => |n| n,
        else => return error.Syntax,
    };
    var i: usize = 1;
    while (i < tokens.len) : (i += 2) {
        const operand = switch (tokens[i + 1]) {
            .number => |n| n,
            else => return error.Syntax,
        };
        value = switch (tokens[i]) {
            .plus => value + operand,
            .minus => value - operand,
            .times => value * operand,
            .number => return error.Syntax,
        };
    }
    return value;
}
""",
        """test "evaluate" {
    try std.testing.expectEqual(@as(i64, 20), try evaluate(&.{ .{ .number = 2 }, .plus, .{ .number = 3 }, .times, .{ .number = 4 } }));
    try std.testing.expectEqual(@as(i64, -7), try evaluate(&.{ .{ .number = 3 }, .minus, .{ .number = 10 } }));
    try std.testing.expectEqual(@as(i64, 9), try evaluate(&.{.{ .number = 9 }}));
    try std.testing.expectError(error.Syntax, evaluate(&.{ .{ .number = 1 }, .plus }));
    try std.testing.expectError(error.Syntax, evaluate(&.{ .plus, .{ .number = 1 }, .plus }));
    try std.testing.expectError(error.Syntax, evaluate(&.{ .{ .number = 1 }, .{ .number = 2 }, .{ .number = 3 } }));
    try std.testing.expect(isOperator(.times));
    try std.testing.expect(!isOperator(.{ .number = 0 }));
}
""",
    ),
    (
        "Command",
        "Tagged union",
        "A robot on a grid starts at `(0, 0)` facing north. `Command` is a tagged union: `forward: u32` (steps), "
        "`turn_left`, `turn_right`. `Heading` is an enum `north, west, south, east`.\n\n- `Robot.run(self, "
        "commands)`: applies the commands in order (north is `y + 1`, east is `x + 1`).\n- `Robot.distance(self)`: "
        "the Manhattan distance from the origin, as `u64`.",
        """const std = @import("std");

pub const Heading = enum { north, west, south, east };

pub const Command = union(enum) {
    forward: u32,
    turn_left,
    turn_right,
};

pub const Robot = struct {
    x: i64 = 0,
    y: i64 = 0,
    heading: Heading = .north,

    pub fn run(self: *Robot, commands: []const Command) void {
        for (commands) |command| {
            switch (command) {
                .forward => |steps| switch (self.heading) {
                    .north => self.y += steps,
                    .east => self.x += steps,
                    .south => self.y -= steps,
                    .west => self.x -= steps,
                },
                .turn_left => self.heading = switch (self.heading) {
                    .north => .west,
                    .west => .south,
                    .south => .east,
                    .east => .north,
                },
                .turn_right => self.heading = switch (self.heading) {
                    .west => .north,
                    .south => .west,
                    .east => .south,
                    .north => .east,
                },
            }
        }
    }

    pub fn distance(self: Robot) u64 {
        return @abs(self.x) + @abs(self.y);
    }
};
""",
        """test "Robot" {
    var robot = Robot{};
    robot.run(&.{ .{ .forward = 3 }, .turn_right, .{ .forward = 5 }, .turn_right, .turn_right, .{ .forward = 9 } });
    try std.testing.expectEqual(@as(i64, -4), robot.x);
    try std.testing.expectEqual(@as(i64, 3), robot.y);
    try std.testing.expectEqual(Heading.west, robot.heading);
    try std.testing.expectEqual(@as(u64, 7), robot.distance());
    robot.run(&.{ .turn_left, .{ .forward = 10 } });
    try std.testing.expectEqual(@as(i64, -7), robot.y);
}
""",
    ),
    (
        "Setting",
        "union",
        "A configuration `Setting` is a tagged union: `flag: bool`, `count: u32`, `name: []const u8`.\n\n"
        "- `describe(setting, buf)`: writes a description into `buf` with `std.fmt.bufPrint` and returns it: "
        '`on`/`off` for a flag, `count=N` for a count, `name="TEXT"` (quotes included) for a name.\n'
        "- `sameKind(a, b)`: `true` when both have the same tag (compare `std.meta.activeTag`).",
        """const std = @import("std");

pub const Setting = union(enum) {
    flag: bool,
    count: u32,
    name: []const u8,
};

pub fn describe(setting: Setting, buf: []u8) ![]u8 {
    return switch (setting) {
        .flag => |on| std.fmt.bufPrint(buf, "{s}", .{if (on) "on" else "off"}),
        .count => |n| std.fmt.bufPrint(buf, "count={d}", .{n}),
        .name => |text| std.fmt.bufPrint(buf, "name=\\"{s}\\"", .{text}),
    };
}

pub fn sameKind(a: Setting, b: Setting) bool {
    return std.meta.activeTag(a) == std.meta.activeTag(b);
}
""",
        """test "Setting" {
    var buf: [32]u8 = undefined;
    try std.testing.expectEqualStrings("on", try describe(.{ .flag = true }, &buf));
    try std.testing.expectEqualStrings("off", try describe(.{ .flag = false }, &buf));
    try std.testing.expectEqualStrings("count=12", try describe(.{ .count = 12 }, &buf));
    try std.testing.expectEqualStrings("name=\\"zig\\"", try describe(.{ .name = "zig" }, &buf));
    var small: [4]u8 = undefined;
    try std.testing.expectError(error.NoSpaceLeft, describe(.{ .count = 123456 }, &small));
    try std.testing.expect(sameKind(.{ .count = 1 }, .{ .count = 2 }));
    try std.testing.expect(!sameKind(.{ .count = 1 }, .{ .flag = true }));
}
""",
    ),
    (
        "Weekday",
        "enum",
        "`Weekday` is an enum `monday` ... `sunday` with methods.\n\n- `isWeekend(self)`: saturday and sunday.\n"
        "- `next(self)`: the following day (sunday -> monday), using `@intFromEnum` / `@enumFromInt`.\n- `fromName("
        "text)`: the day whose tag name is `text` (`std.meta.stringToEnum`), or `null`.",
        """const std = @import("std");

pub const Weekday = enum(u3) {
    monday,
    tuesday,
    wednesday,
    thursday,
    friday,
    saturday,
    sunday,

    pub fn isWeekend(self: Weekday) bool {
        return self == .saturday or self == .sunday;
    }

    pub fn next(self: Weekday) Weekday {
        const index: u3 = @intFromEnum(self);
        return if (index == 6) .monday else @enumFromInt(index + 1);
    }

    pub fn fromName(text: []const u8) ?Weekday {
        return std.meta.stringToEnum(Weekday, text);
    }
};
""",
        """test "Weekday" {
    try std.testing.expect(Weekday.sunday.isWeekend());
    try std.testing.expect(!Weekday.friday.isWeekend());
    try std.testing.expectEqual(Weekday.monday, Weekday.sunday.next());
    try std.testing.expectEqual(Weekday.thursday, Weekday.wednesday.next());
    try std.testing.expectEqual(@as(?Weekday, .friday), Weekday.fromName("friday"));
    try std.testing.expectEqual(@as(?Weekday, null), Weekday.fromName("Friday"));
}
""",
    ),
)

GENERICS: tuple[Entry, ...] = (
    (
        "Pair",
        "Generic Data Structures",
        "`Pair(T)` is a generic struct with two fields `first` and `second` of type `T`. Give it:\n\n- `swap(self)`: "
        "a new pair with the fields exchanged.\n- `larger(self)`: the larger field (`@max`).\n- `fn pairOf(comptime "
        "T: type, a: T, b: T) Pair(T)` builds one.",
        """pub fn Pair(comptime T: type) type {
    return struct {
        first: T,
        second: T,

        const Self = @This();

        pub fn swap(self: Self) Self {
            return .{ .first = self.second, .second = self.first };
        }

        pub fn larger(self: Self) T {
            return @max(self.first, self.second);
        }
    };
}

pub fn pairOf(comptime T: type, a: T, b: T) Pair(T) {
    return .{ .first = a, .second = b };
}
""",
        """test "Pair" {
    const p = pairOf(i32, -4, 9);
    try std.testing.expectEqual(@as(i32, 9), p.swap().first);
    try std.testing.expectEqual(@as(i32, 9), p.larger());
    const q = pairOf(f64, 2.5, 1.5);
    try std.testing.expectEqual(@as(f64, 2.5), q.larger());
    try std.testing.expectEqual(@as(f64, 1.5), q.swap().first);
}
""",
    ),
    (
        "FixedStack",
        "Generic Data Structures",
        "`FixedStack(T, max_len)` is a generic stack that stores at most `max_len` values of `T` in an array "
        "(no allocation). Implement `push` (returns `error.Full` when full), `pop` (`null` when empty), and "
        "`slice(self)`: the stored values, oldest first.",
        """pub fn FixedStack(comptime T: type, comptime max_len: usize) type {
    return struct {
        values: [max_len]T = undefined,
        stored: usize = 0,

        const Self = @This();

        pub fn push(self: *Self, value: T) error{Full}!void {
            if (self.stored == max_len) return error.Full;
            self.values[self.stored] = value;
            self.stored += 1;
        }

        pub fn pop(self: *Self) ?T {
            if (self.stored == 0) return null;
            self.stored -= 1;
            return self.values[self.stored];
        }

        pub fn slice(self: *const Self) []const T {
            return self.values[0..self.stored];
        }
    };
}
""",
        """test "FixedStack" {
    var stack = FixedStack(u8, 2){};
    try stack.push('a');
    try stack.push('b');
    try std.testing.expectError(error.Full, stack.push('c'));
    try std.testing.expectEqualSlices(u8, "ab", stack.slice());
    try std.testing.expectEqual(@as(?u8, 'b'), stack.pop());
    try std.testing.expectEqual(@as(?u8, 'a'), stack.pop());
    try std.testing.expectEqual(@as(?u8, null), stack.pop());
    var wide = FixedStack(i64, 1){};
    try wide.push(-1);
    try std.testing.expectEqualSlices(i64, &.{-1}, wide.slice());
}
""",
    ),
    (
        "countMatching",
        "Compile-Time Parameters",
        "Write generic helpers over slices of any element type:\n\n- `countMatching(comptime T, items, predicate)`: "
        "how many elements satisfy `predicate: fn (T) bool`.\n- `mapInPlace(comptime T, items, f)`: replaces every "
        "element `x` with `f(x)` (`f: fn (T) T`; iterate with a pointer capture `|*x|`).",
        """pub fn countMatching(comptime T: type, items: []const T, predicate: fn (T) bool) usize {
    var count: usize = 0;
    for (items) |item| {
        if (predicate(item)) count += 1;
    }
    return count;
}

pub fn mapInPlace(comptime T: type, items: []T, f: fn (T) T) void {
    for (items) |*item| {
        item.* = f(item.*);
    }
}
""",
        """fn isOdd(x: i32) bool {
    return @mod(x, 2) == 1;
}

fn double(x: i32) i32 {
    return x * 2;
}

fn isUpper(c: u8) bool {
    return c >= 'A' and c <= 'Z';
}

test "generic helpers" {
    try std.testing.expectEqual(@as(usize, 3), countMatching(i32, &.{ 1, -3, 4, 5, 8 }, isOdd));
    try std.testing.expectEqual(@as(usize, 2), countMatching(u8, "Hello World", isUpper));
    var values = [_]i32{ 1, -2, 30 };
    mapInPlace(i32, &values, double);
    try std.testing.expectEqualSlices(i32, &.{ 2, -4, 60 }, &values);
}
""",
    ),
    (
        "powersTable",
        "comptime",
        "Build lookup tables at compile time:\n\n- `powers_of_three`: a public `[10]u32` constant with `3^i` at index "
        "`i`, computed by a `comptime` block with a loop (not written out).\n- `fn table(comptime n: usize, comptime "
        "f: fn (usize) u32) [n]u32`: the array of `f(0) ... f(n - 1)`, usable at compile time.",
        """pub const powers_of_three = blk: {
    var values: [10]u32 = undefined;
    var power: u32 = 1;
    for (&values) |*v| {
        v.* = power;
        power *= 3;
    }
    break :blk values;
};

pub fn table(comptime n: usize, comptime f: fn (usize) u32) [n]u32 {
    var values: [n]u32 = undefined;
    for (&values, 0..) |*v, i| v.* = f(i);
    return values;
}
""",
        """fn square(i: usize) u32 {
    return @intCast(i * i);
}

test "tables" {
    try std.testing.expectEqual(@as(u32, 1), powers_of_three[0]);
    try std.testing.expectEqual(@as(u32, 19683), powers_of_three[9]);
    const squares = comptime table(5, square);
    try std.testing.expectEqual([5]u32{ 0, 1, 4, 9, 16 }, squares);
}
""",
    ),
)

DEFER_TASKS: tuple[Entry, ...] = (
    (
        "joinLines",
        "errdefer",
        "- `joinLines(allocator, lines)`: one newly allocated string with every line followed by `\\n`. Build it in "
        "a `std.ArrayList(u8)`; free the list if anything fails (`errdefer`) and return `toOwnedSlice()`.\n"
        "Callers free the result. It must leak nothing when an allocation fails.",
        """const std = @import("std");

pub fn joinLines(allocator: std.mem.Allocator, lines: []const []const u8) ![]u8 {
    var joined = std.ArrayList(u8).init(allocator);
    errdefer joined.deinit();
    for (lines) |line| {
        try joined.appendSlice(line);
        try joined.append('\\n');
    }
    return joined.toOwnedSlice();
}
""",
        """test "joinLines" {
    const joined = try joinLines(std.testing.allocator, &.{ "ab", "", "c" });
    defer std.testing.allocator.free(joined);
    try std.testing.expectEqualStrings("ab\\n\\nc\\n", joined);
    const none = try joinLines(std.testing.allocator, &.{});
    defer std.testing.allocator.free(none);
    try std.testing.expectEqual(@as(usize, 0), none.len);
}

test "joinLines frees on failure" {
    var failing = std.testing.FailingAllocator.init(std.testing.allocator, .{ .fail_index = 1 });
    try std.testing.expectError(error.OutOfMemory, joinLines(failing.allocator(), &.{ "x" ** 10, "y" ** 1000 }));
}
""",
    ),
    (
        "Matrix",
        "errdefer",
        "`Matrix` is a `rows` x `cols` table of `f64` stored as one slice of row slices (each row allocated "
        "separately). Implement:\n\n- `init(allocator, rows, cols)`: every cell 0; when an allocation fails, "
        "free everything allocated so far (`errdefer`) and return the error.\n- `deinit(self)`.\n- `set(self, r, c, "
        "v)`, `get(self, r, c)`.\n- `rowSum(self, r)`.",
        """const std = @import("std");

pub const Matrix = struct {
    allocator: std.mem.Allocator,
    grid: [][]f64,

    pub fn init(allocator: std.mem.Allocator, rows: usize, cols: usize) !Matrix {
        std.debug.assert(rows > 0 and cols > 0);
        const grid = try allocator.alloc([]f64, rows);
        errdefer allocator.free(grid);
        var done: usize = 0;
        errdefer for (grid[0..done]) |row| allocator.free(row);
        while (done < rows) : (done += 1) {
            grid[done] = try allocator.alloc(f64, cols);
            @memset(grid[done], 0);
        }
        return .{ .allocator = allocator, .grid = grid };
    }

    pub fn deinit(self: *Matrix) void {
        for (self.grid) |row| self.allocator.free(row);
        self.allocator.free(self.grid);
    }

    pub fn set(self: *Matrix, r: usize, c: usize, v: f64) void {
        self.grid[r][c] = v;
    }

    pub fn get(self: Matrix, r: usize, c: usize) f64 {
        return self.grid[r][c];
    }

    pub fn rowSum(self: Matrix, r: usize) f64 {
        var total: f64 = 0;
        for (self.grid[r]) |v| total += v;
        return total;
    }
};
""",
        """test "Matrix" {
    var m = try Matrix.init(std.testing.allocator, 2, 3);
    defer m.deinit();
    m.set(0, 1, 2.5);
    m.set(0, 2, 1.0);
    m.set(1, 0, -4.0);
    try std.testing.expectEqual(@as(f64, 2.5), m.get(0, 1));
    try std.testing.expectEqual(@as(f64, 3.5), m.rowSum(0));
    try std.testing.expectEqual(@as(f64, -4.0), m.rowSum(1));
}

test "Matrix.init leaks nothing when it fails" {
    for (0..4) |fail_index| {
        var failing = std.testing.FailingAllocator.init(std.testing.allocator, .{ .fail_index = fail_index });
        try std.testing.expectError(error.OutOfMemory, Matrix.init(failing.allocator(), 3, 2));
    }
}
""",
    ),
    (
        "countCalls",
        "defer",
        "A `Tracer` counts how deep it is in nested work.\n\n- `enter(self)` increments `depth` and updates "
        "`max_depth`; `leave(self)` decrements it.\n- `walk(tracer, levels)`: enters, calls itself with `levels - 1` "
        "when `levels > 0`, and leaves on every path, including when it returns `error.TooDeep` for `levels > 10` "
        "(use `defer` right after `enter`).",
        """pub const Tracer = struct {
    depth: u32 = 0,
    max_depth: u32 = 0,

    pub fn enter(self: *Tracer) void {
        self.depth += 1;
        if (self.depth > self.max_depth) self.max_depth = self.depth;
    }

    pub fn leave(self: *Tracer) void {
        self.depth -= 1;
    }
};

pub fn walk(tracer: *Tracer, levels: u32) error{TooDeep}!void {
    tracer.enter();
    defer tracer.leave();
    if (levels > 10) return error.TooDeep;
    if (levels > 0) try walk(tracer, levels - 1);
}
""",
        """test "walk" {
    var tracer = Tracer{};
    try walk(&tracer, 3);
    try std.testing.expectEqual(@as(u32, 0), tracer.depth);
    try std.testing.expectEqual(@as(u32, 4), tracer.max_depth);
    try std.testing.expectError(error.TooDeep, walk(&tracer, 11));
    try std.testing.expectEqual(@as(u32, 0), tracer.depth);
}
""",
    ),
)

STD_USAGE: tuple[Entry, ...] = (
    (
        "sortByScore",
        "Zig Standard Library",
        "`Player` has a `name: []const u8` and a `score: u32`.\n\n- `rank(players)`: sorts the slice in place by "
        "score, highest first, and players with equal scores by name, alphabetically (`std.mem.sort` with a "
        "`lessThan` function; compare names with `std.mem.order`).",
        """const std = @import("std");

pub const Player = struct {
    name: []const u8,
    score: u32,
};

fn before(_: void, a: Player, b: Player) bool {
    if (a.score != b.score) return a.score > b.score;
    return std.mem.order(u8, a.name, b.name) == .lt;
}

pub fn rank(players: []Player) void {
    std.mem.sort(Player, players, {}, before);
}
""",
        """test "rank" {
    var players = [_]Player{
        .{ .name = "kim", .score = 30 },
        .{ .name = "ada", .score = 50 },
        .{ .name = "bob", .score = 30 },
        .{ .name = "eve", .score = 10 },
    };
    rank(&players);
    try std.testing.expectEqualStrings("ada", players[0].name);
    try std.testing.expectEqualStrings("bob", players[1].name);
    try std.testing.expectEqualStrings("kim", players[2].name);
    try std.testing.expectEqualStrings("eve", players[3].name);
}
""",
    ),
    (
        "median",
        "Zig Standard Library",
        "- `median(allocator, values)`: the median of `values` without changing the caller's slice: copy it "
        "(`allocator.dupe`), sort the copy ascending (`std.mem.sort` with `std.sort.asc`), free it before "
        "returning. For an even count it is the mean of the two middle values. `null` for an empty slice.",
        """const std = @import("std");

pub fn median(allocator: std.mem.Allocator, values: []const i32) !?f64 {
    if (values.len == 0) return null;
    const copy = try allocator.dupe(i32, values);
    defer allocator.free(copy);
    std.mem.sort(i32, copy, {}, std.sort.asc(i32));
    const mid = copy.len / 2;
    if (copy.len % 2 == 1) return @floatFromInt(copy[mid]);
    const sum: f64 = @floatFromInt(@as(i64, copy[mid - 1]) + copy[mid]);
    return sum / 2;
}
""",
        """test "median" {
    const values = [_]i32{ 9, -1, 4, 7 };
    try std.testing.expectEqual(@as(?f64, 5.5), try median(std.testing.allocator, &values));
    try std.testing.expectEqual(@as(i32, 9), values[0]);
    try std.testing.expectEqual(@as(?f64, 4), try median(std.testing.allocator, &.{ 4, 100, -100 }));
    try std.testing.expectEqual(@as(?f64, null), try median(std.testing.allocator, &.{}));
}
""",
    ),
    (
        "csvColumn",
        "Zig Standard Library",
        "- `column(allocator, csv, index)`: `csv` holds lines separated by `\\n` (the last may lack it; empty "
        "lines are skipped); each line has fields separated by `,`. Returns a new `std.ArrayList([]const u8)` "
        "(the caller calls `deinit`) of field number `index` of each line, as slices of `csv`; "
        "`error.MissingField` when a line has too few fields.",
        """const std = @import("std");

pub fn column(allocator: std.mem.Allocator, csv: []const u8, index: usize) !std.ArrayList([]const u8) {
    var out = std.ArrayList([]const u8).init(allocator);
    errdefer out.deinit();
    var lines = std.mem.tokenizeScalar(u8, csv, '\\n');
    while (lines.next()) |line| {
        var cells = std.mem.splitScalar(u8, line, ',');
        var position: usize = 0;
        const wanted = while (cells.next()) |field| : (position += 1) {
            if (position == index) break field;
        } else return error.MissingField;
        try out.append(wanted);
    }
    return out;
}
""",
        """test "column" {
    var names = try column(std.testing.allocator, "1,ann,x\\n2,bo,y\\n\\n3,cy,z", 1);
    defer names.deinit();
    try std.testing.expectEqual(@as(usize, 3), names.items.len);
    try std.testing.expectEqualStrings("ann", names.items[0]);
    try std.testing.expectEqualStrings("cy", names.items[2]);
    try std.testing.expectError(error.MissingField, column(std.testing.allocator, "a,b\\nc", 1));
}
""",
    ),
    (
        "formatTable",
        "Zig Standard Library",
        "- `formatRow(allocator, name, amount)`: a new string (`std.fmt.allocPrint`) with `name` left-aligned "
        "in 8 columns, a space, and `amount` (cents, `u64`) as euros with two decimals right-aligned in 10 "
        'columns: `formatRow(a, "tea", 250)` is `"tea           2.50"`.',
        """const std = @import("std");

pub fn formatRow(allocator: std.mem.Allocator, name: []const u8, amount: u64) ![]u8 {
    var digits: [32]u8 = undefined;
    const money = try std.fmt.bufPrint(&digits, "{d}.{d:0>2}", .{ amount / 100, amount % 100 });
    return std.fmt.allocPrint(allocator, "{s:<8} {s:>10}", .{ name, money });
}
""",
        """test "formatRow" {
    const row = try formatRow(std.testing.allocator, "tea", 250);
    defer std.testing.allocator.free(row);
    try std.testing.expectEqualStrings("tea            2.50", row);
    const big = try formatRow(std.testing.allocator, "rent", 123456);
    defer std.testing.allocator.free(big);
    try std.testing.expectEqualStrings("rent        1234.56", big);
    const small = try formatRow(std.testing.allocator, "gum", 5);
    defer std.testing.allocator.free(small);
    try std.testing.expectEqualStrings("gum            0.05", small);
}
""",
    ),
    (
        "slugify",
        "Slices",
        "- `slugify(allocator, title)`: a new lowercase string where each run of characters that are not ASCII "
        'letters or digits becomes one `-`, with no `-` at either end (`"Hello, World!"` -> `"hello-world"`). '
        "Use `std.ascii`.",
        """const std = @import("std");

pub fn slugify(allocator: std.mem.Allocator, title: []const u8) ![]u8 {
    var slug = std.ArrayList(u8).init(allocator);
    errdefer slug.deinit();
    var pending_dash = false;
    for (title) |c| {
        if (std.ascii.isAlphanumeric(c)) {
            if (pending_dash and slug.items.len > 0) try slug.append('-');
            pending_dash = false;
            try slug.append(std.ascii.toLower(c));
        } else {
            pending_dash = true;
        }
    }
    return slug.toOwnedSlice();
}
""",
        """test "slugify" {
    const cases = [_][2][]const u8{
        .{ "Hello, World!", "hello-world" },
        .{ "  Zig 0.14 -- release notes ", "zig-0-14-release-notes" },
        .{ "!!!", "" },
    };
    for (cases) |case| {
        const slug = try slugify(std.testing.allocator, case[0]);
        defer std.testing.allocator.free(slug);
        try std.testing.expectEqualStrings(case[1], slug);
    }
}
""",
    ),
    (
        "wordStats",
        "Zig Standard Library",
        "- `longestWord(text)`: the longest word of `text` (words are separated by spaces, tabs or newlines; use "
        "`std.mem.tokenizeAny`), the first one on ties, or `null` when there is none.\n- `startsWithCount(text, "
        "prefix)`: how many words start with `prefix` (`std.mem.startsWith`).",
        """const std = @import("std");

pub fn longestWord(text: []const u8) ?[]const u8 {
    var best: ?[]const u8 = null;
    var words = std.mem.tokenizeAny(u8, text, " \\t\\n");
    while (words.next()) |word| {
        if (best == null or word.len > best.?.len) best = word;
    }
    return best;
}

pub fn startsWithCount(text: []const u8, prefix: []const u8) usize {
    var count: usize = 0;
    var words = std.mem.tokenizeAny(u8, text, " \\t\\n");
    while (words.next()) |word| {
        if (std.mem.startsWith(u8, word, prefix)) count += 1;
    }
    return count;
}
""",
        """test "words" {
    try std.testing.expectEqualStrings("quickest", longestWord("the quickest\\tbrown fox").?);
    try std.testing.expectEqualStrings("abc", longestWord("abc def").?);
    try std.testing.expect(longestWord(" \\n ") == null);
    try std.testing.expectEqual(@as(usize, 3), startsWithCount("pre prefix post premium", "pre"));
    try std.testing.expectEqual(@as(usize, 0), startsWithCount("", "a"));
}
""",
    ),
    (
        "reverseWords",
        "Slices",
        "- `reverseInPlace(bytes)`: reverses a byte slice in place with a `while` loop over two indices.\n"
        "- `readsSameBackwards(text)`: `true` when `text` reads the same backwards, ignoring ASCII case and every byte "
        "that is not a letter or digit.",
        """const std = @import("std");

pub fn reverseInPlace(bytes: []u8) void {
    if (bytes.len < 2) return;
    var left: usize = 0;
    var right: usize = bytes.len - 1;
    while (left < right) : ({
        left += 1;
        right -= 1;
    }) {
        const swap = bytes[left];
        bytes[left] = bytes[right];
        bytes[right] = swap;
    }
}

pub fn readsSameBackwards(phrase: []const u8) bool {
    if (phrase.len == 0) return true;
    var left: usize = 0;
    var right: usize = phrase.len - 1;
    while (left < right) {
        if (!std.ascii.isAlphanumeric(phrase[left])) {
            left += 1;
            continue;
        }
        if (!std.ascii.isAlphanumeric(phrase[right])) {
            right -= 1;
            continue;
        }
        if (std.ascii.toLower(phrase[left]) != std.ascii.toLower(phrase[right])) return false;
        left += 1;
        right -= 1;
    }
    return true;
}
""",
        """test "reverse and palindromes" {
    var word = "stressed".*;
    reverseInPlace(&word);
    try std.testing.expectEqualStrings("desserts", &word);
    var one = [_]u8{'x'};
    reverseInPlace(&one);
    try std.testing.expectEqualStrings("x", &one);
    try std.testing.expect(readsSameBackwards("A man, a plan, a canal: Panama"));
    try std.testing.expect(!readsSameBackwards("zig"));
    try std.testing.expect(readsSameBackwards("!"));
}
""",
    ),
    (
        "distinctAscending",
        "Zig Standard Library",
        "- `distinctAscending(allocator, values)`: a new `std.ArrayList(i32)` (the caller calls `deinit`) with the "
        "distinct values of `values` in ascending order. Sort a copy, then append each value that differs from "
        "the previous one.",
        """const std = @import("std");

pub fn distinctAscending(allocator: std.mem.Allocator, values: []const i32) !std.ArrayList(i32) {
    const copy = try allocator.dupe(i32, values);
    defer allocator.free(copy);
    std.mem.sort(i32, copy, {}, std.sort.asc(i32));
    var distinct = std.ArrayList(i32).init(allocator);
    errdefer distinct.deinit();
    for (copy, 0..) |v, i| {
        if (i == 0 or v != copy[i - 1]) try distinct.append(v);
    }
    return distinct;
}
""",
        """test "distinctAscending" {
    var unique = try distinctAscending(std.testing.allocator, &.{ 5, -1, 5, 3, -1, 8 });
    defer unique.deinit();
    try std.testing.expectEqualSlices(i32, &.{ -1, 3, 5, 8 }, unique.items);
    var none = try distinctAscending(std.testing.allocator, &.{});
    defer none.deinit();
    try std.testing.expectEqual(@as(usize, 0), none.items.len);
}
""",
    ),
)

OPTIONALS: tuple[Entry, ...] = (
    (
        "lookup",
        "Optionals",
        "A `Binding` pairs a `label: []const u8` with a `value: i32`.\n\n- `find(bindings, label)`: a pointer to the binding "
        "with that label (`?*const Binding`), or `null`.\n- `valueOr(bindings, label, default)`: its value, or `default` "
        "(use `orelse`).\n- `sumKnown(bindings, labels)`: the sum of the values of the labels that exist (use "
        "`if (find(...)) |binding|`).",
        """const std = @import("std");

pub const Binding = struct {
    label: []const u8,
    value: i32,
};

pub fn find(bindings: []const Binding, label: []const u8) ?*const Binding {
    for (bindings) |*binding| {
        if (std.mem.eql(u8, binding.label, label)) return binding;
    }
    return null;
}

pub fn valueOr(bindings: []const Binding, label: []const u8, default: i32) i32 {
    const binding = find(bindings, label) orelse return default;
    return binding.value;
}

pub fn sumKnown(bindings: []const Binding, labels: []const []const u8) i64 {
    var total: i64 = 0;
    for (labels) |label| {
        if (find(bindings, label)) |binding| total += binding.value;
    }
    return total;
}
""",
        """test "lookup" {
    const table = [_]Binding{ .{ .label = "a", .value = 1 }, .{ .label = "bb", .value = -20 }, .{ .label = "c", .value = 300 } };
    try std.testing.expect(find(&table, "bb").? == &table[1]);
    try std.testing.expect(find(&table, "b") == null);
    try std.testing.expectEqual(@as(i32, 300), valueOr(&table, "c", 7));
    try std.testing.expectEqual(@as(i32, 7), valueOr(&table, "d", 7));
    try std.testing.expectEqual(@as(i64, 281), sumKnown(&table, &.{ "a", "bb", "zz", "c" }));
}
""",
    ),
    (
        "Link",
        "Optional Pointers",
        "`Link` is a singly linked list link: `item: i32`, `next: ?*Link`.\n\n- `length(head)`: how many links "
        "from `head` (`?*const Link`; 0 for `null`), with `while (current) |link|`.\n- `last(head)`: the last link, "
        "or `null`.\n- `sum(head)`: the sum of the values as `i64`.",
        """pub const Link = struct {
    item: i32,
    next: ?*Link = null,
};

pub fn length(head: ?*const Link) usize {
    var count: usize = 0;
    var current = head;
    while (current) |link| : (current = link.next) count += 1;
    return count;
}

pub fn last(head: ?*Link) ?*Link {
    var current = head orelse return null;
    while (current.next) |next| current = next;
    return current;
}

pub fn sum(head: ?*const Link) i64 {
    var total: i64 = 0;
    var current = head;
    while (current) |link| : (current = link.next) total += link.item;
    return total;
}
""",
        """test "list" {
    var c = Link{ .item = 3 };
    var b = Link{ .item = -10, .next = &c };
    var a = Link{ .item = 4, .next = &b };
    try std.testing.expectEqual(@as(usize, 3), length(&a));
    try std.testing.expectEqual(@as(usize, 0), length(null));
    try std.testing.expect(last(&a).? == &c);
    try std.testing.expect(last(null) == null);
    try std.testing.expectEqual(@as(i64, -3), sum(&a));
}
""",
    ),
)


def _entries(family: str, table: tuple[Entry, ...]) -> Iterator[SpecTask]:
    for name, section, spec, solution, tests in table:
        yield SpecTask(f"{family}/{name}", section, spec, solution, tests)


def more_tasks() -> list[SpecTask]:
    return [
        *_entries("owning_struct", OWNING_STRUCTS),
        *_entries("tagged_union", UNIONS),
        *_entries("comptime_generic", GENERICS),
        *_entries("defer_errdefer", DEFER_TASKS),
        *_entries("std_usage", STD_USAGE),
        *_entries("optional", OPTIONALS),
    ]
