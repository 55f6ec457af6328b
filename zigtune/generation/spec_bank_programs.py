# ruff: noqa: E501  (Zig source kept as the compiler checks it, one statement a line)
"""Mid-size programs for :mod:`.spec_tasks`: the kind of file a user asks a Zig model to write.

Structs that own memory (``std.ArrayList``/``std.AutoHashMap``/``std.StringHashMap`` the 0.14 way, copies
freed in ``deinit``, ``errdefer`` for half-built state), linked structures of heap nodes, tagged unions and
enums, comptime generics and reflection, sorting and searching, and small text formats. Each family is a
table of (variant name, docs section, spec, solution, hidden tests); the hidden tests use
``std.testing.allocator``, so a leak fails them. No dagster here.
"""

from __future__ import annotations

from collections.abc import Iterator

from zigtune.generation.spec_tasks import SpecTask

Entry = tuple[str, str, str, str, str]

MEMORY_PROGRAMS: tuple[Entry, ...] = (
    (
        "RecentCache",
        "Zig Standard Library",
        "`RecentCache` maps `u32` keys to `i64` values and holds at most `capacity` entries (`capacity >= 1`), "
        "forgetting the least recently used one when a new key does not fit. It keeps the values in a "
        "`std.AutoHashMap(u32, i64)` and the keys from least to most recently used in a `std.ArrayList(u32)` "
        "(both created the Zig 0.14 way, with `.init(allocator)`). Implement:\n\n"
        "- `init(allocator, capacity)` and `deinit(self)`.\n"
        "- `get(self, key)`: the value (`null` if absent); a hit makes `key` the most recently used.\n"
        "- `put(self, key, value)`: inserts or overwrites; either way `key` becomes the most recently used. "
        "Inserting a new key into a full cache first evicts the least recently used key. Can fail only with "
        "`error.OutOfMemory`.\n"
        "- `oldest(self)`: the key that would be evicted next (`null` when empty).\n"
        "- `len(self)`: how many entries are stored.",
        r"""const std = @import("std");

pub const RecentCache = struct {
    values: std.AutoHashMap(u32, i64),
    order: std.ArrayList(u32),
    capacity: usize,

    pub fn init(allocator: std.mem.Allocator, capacity: usize) RecentCache {
        std.debug.assert(capacity >= 1);
        return .{
            .values = std.AutoHashMap(u32, i64).init(allocator),
            .order = std.ArrayList(u32).init(allocator),
            .capacity = capacity,
        };
    }

    pub fn deinit(self: *RecentCache) void {
        self.values.deinit();
        self.order.deinit();
    }

    /// Moves `key` (already in `order`) to the most recent end; needs no allocation.
    fn markUsed(self: *RecentCache, key: u32) void {
        const index = std.mem.indexOfScalar(u32, self.order.items, key).?;
        _ = self.order.orderedRemove(index);
        self.order.appendAssumeCapacity(key);
    }

    pub fn get(self: *RecentCache, key: u32) ?i64 {
        const value = self.values.get(key) orelse return null;
        self.markUsed(key);
        return value;
    }

    pub fn put(self: *RecentCache, key: u32, value: i64) error{OutOfMemory}!void {
        if (self.values.getPtr(key)) |slot| {
            slot.* = value;
            self.markUsed(key);
            return;
        }
        if (self.order.items.len == self.capacity) {
            const evicted = self.order.orderedRemove(0);
            _ = self.values.remove(evicted);
        }
        try self.order.append(key);
        errdefer _ = self.order.pop();
        try self.values.put(key, value);
    }

    pub fn oldest(self: RecentCache) ?u32 {
        if (self.order.items.len == 0) return null;
        return self.order.items[0];
    }

    pub fn len(self: RecentCache) usize {
        return self.order.items.len;
    }
};
""",
        r"""test "RecentCache evicts the least recently used key" {
    var cache = RecentCache.init(std.testing.allocator, 3);
    defer cache.deinit();
    try std.testing.expectEqual(@as(?u32, null), cache.oldest());
    try cache.put(1, 10);
    try cache.put(2, 20);
    try cache.put(3, 30);
    try std.testing.expectEqual(@as(?i64, 10), cache.get(1));
    try std.testing.expectEqual(@as(?u32, 2), cache.oldest());
    try cache.put(4, 40);
    try std.testing.expectEqual(@as(?i64, null), cache.get(2));
    try std.testing.expectEqual(@as(usize, 3), cache.len());
    try cache.put(3, -3);
    try std.testing.expectEqual(@as(?u32, 1), cache.oldest());
    try cache.put(5, 50);
    try std.testing.expectEqual(@as(?i64, null), cache.get(1));
    try std.testing.expectEqual(@as(?i64, -3), cache.get(3));
    try std.testing.expectEqual(@as(?i64, 40), cache.get(4));
    try std.testing.expectEqual(@as(?u32, 5), cache.oldest());
}

test "RecentCache of one" {
    var cache = RecentCache.init(std.testing.allocator, 1);
    defer cache.deinit();
    try cache.put(7, 1);
    try cache.put(8, 2);
    try std.testing.expectEqual(@as(?i64, null), cache.get(7));
    try std.testing.expectEqual(@as(?i64, 2), cache.get(8));
    try std.testing.expectEqual(@as(usize, 1), cache.len());
}
""",
    ),
    (
        "Library",
        "errdefer",
        "`Library` records which book title is lent to whom, in a `std.StringHashMap([]u8)` from title to "
        "borrower. The map does not copy strings, so the library stores its own copies of both (with "
        "`allocator.dupe`) and frees them when a loan ends and in `deinit`. When copying or inserting fails "
        "halfway, nothing may leak (use `errdefer`). Implement:\n\n"
        "- `init(allocator)` and `deinit(self)`.\n"
        "- `lend(self, title, borrower)`: records the loan; `error.AlreadyLent` if the title is out, "
        "`error.OutOfMemory` if allocating fails.\n"
        "- `giveBack(self, title)`: ends the loan and frees its copies; `error.NotLent` if the title is not out.\n"
        "- `borrowerOf(self, title)`: who has the book (`null` if nobody).\n"
        "- `loansOf(self, borrower)`: how many titles that borrower has.",
        r"""const std = @import("std");

pub const Library = struct {
    allocator: std.mem.Allocator,
    loans: std.StringHashMap([]u8),

    pub fn init(allocator: std.mem.Allocator) Library {
        return .{ .allocator = allocator, .loans = std.StringHashMap([]u8).init(allocator) };
    }

    pub fn deinit(self: *Library) void {
        var entries = self.loans.iterator();
        while (entries.next()) |entry| {
            self.allocator.free(entry.key_ptr.*);
            self.allocator.free(entry.value_ptr.*);
        }
        self.loans.deinit();
    }

    pub fn lend(self: *Library, title: []const u8, borrower: []const u8) !void {
        if (self.loans.contains(title)) return error.AlreadyLent;
        const owned_title = try self.allocator.dupe(u8, title);
        errdefer self.allocator.free(owned_title);
        const owned_borrower = try self.allocator.dupe(u8, borrower);
        errdefer self.allocator.free(owned_borrower);
        try self.loans.put(owned_title, owned_borrower);
    }

    pub fn giveBack(self: *Library, title: []const u8) error{NotLent}!void {
        const removed = self.loans.fetchRemove(title) orelse return error.NotLent;
        self.allocator.free(removed.key);
        self.allocator.free(removed.value);
    }

    pub fn borrowerOf(self: *const Library, title: []const u8) ?[]const u8 {
        return self.loans.get(title);
    }

    pub fn loansOf(self: *const Library, borrower: []const u8) usize {
        var count: usize = 0;
        var borrowers = self.loans.valueIterator();
        while (borrowers.next()) |who| {
            if (std.mem.eql(u8, who.*, borrower)) count += 1;
        }
        return count;
    }
};
""",
        r"""test "Library loans" {
    var library = Library.init(std.testing.allocator);
    defer library.deinit();
    var title_buffer = "Dune".*;
    try library.lend(&title_buffer, "ana");
    title_buffer[0] = 'X';
    try library.lend("Emma", "ana");
    try library.lend("Ulysses", "bo");
    try std.testing.expectEqualStrings("ana", library.borrowerOf("Dune").?);
    try std.testing.expectEqual(@as(?[]const u8, null), library.borrowerOf("Xune"));
    try std.testing.expectError(error.AlreadyLent, library.lend("Dune", "bo"));
    try std.testing.expectEqual(@as(usize, 2), library.loansOf("ana"));
    try library.giveBack("Dune");
    try std.testing.expectError(error.NotLent, library.giveBack("Dune"));
    try std.testing.expectEqual(@as(usize, 1), library.loansOf("ana"));
    try library.lend("Dune", "bo");
    try std.testing.expectEqual(@as(usize, 2), library.loansOf("bo"));
}

test "Library leaks nothing when an allocation fails" {
    for (0..3) |fail_index| {
        var failing = std.testing.FailingAllocator.init(std.testing.allocator, .{ .fail_index = fail_index });
        var library = Library.init(failing.allocator());
        defer library.deinit();
        try std.testing.expectError(error.OutOfMemory, library.lend("Dune", "ana"));
        try std.testing.expectEqual(@as(?[]const u8, null), library.borrowerOf("Dune"));
    }
}
""",
    ),
    (
        "TaskList",
        "Lifetime and Ownership",
        "`TaskList` keeps to-do tasks, each a name and a `u8` priority, in a `std.ArrayList(Task)` in the order "
        "they were added; every `Task.name` is the list's own copy (`allocator.dupe`). Implement:\n\n"
        "- `init(allocator)` and `deinit(self)` (frees the names that are still in the list).\n"
        "- `add(self, name, priority)`: appends a task (no leak if appending fails).\n"
        "- `takeNext(self)`: removes the task with the highest priority (the earliest added among equals) and "
        "hands its name to the caller, who frees it with the same allocator; `null` when the list is empty.\n"
        "- `peekNext(self)`: the name `takeNext` would return, left in the list (`null` when empty).\n"
        "- `dropBelow(self, priority)`: removes and frees every task whose priority is lower than `priority`, "
        "keeping the others in order; returns how many were dropped.\n"
        "- `len(self)`.",
        r"""const std = @import("std");

pub const Task = struct {
    name: []u8,
    priority: u8,
};

pub const TaskList = struct {
    allocator: std.mem.Allocator,
    tasks: std.ArrayList(Task),

    pub fn init(allocator: std.mem.Allocator) TaskList {
        return .{ .allocator = allocator, .tasks = std.ArrayList(Task).init(allocator) };
    }

    pub fn deinit(self: *TaskList) void {
        for (self.tasks.items) |task| self.allocator.free(task.name);
        self.tasks.deinit();
    }

    pub fn add(self: *TaskList, name: []const u8, priority: u8) !void {
        const task = Task{ .name = try self.allocator.dupe(u8, name), .priority = priority };
        errdefer self.allocator.free(task.name);
        try self.tasks.append(task);
    }

    fn nextIndex(self: TaskList) ?usize {
        if (self.tasks.items.len == 0) return null;
        var chosen: usize = 0;
        for (self.tasks.items, 0..) |task, i| {
            if (task.priority > self.tasks.items[chosen].priority) chosen = i;
        }
        return chosen;
    }

    pub fn takeNext(self: *TaskList) ?[]u8 {
        const index = self.nextIndex() orelse return null;
        return self.tasks.orderedRemove(index).name;
    }

    pub fn peekNext(self: TaskList) ?[]const u8 {
        const index = self.nextIndex() orelse return null;
        return self.tasks.items[index].name;
    }

    pub fn dropBelow(self: *TaskList, priority: u8) usize {
        var kept: usize = 0;
        for (self.tasks.items) |task| {
            if (task.priority < priority) {
                self.allocator.free(task.name);
            } else {
                self.tasks.items[kept] = task;
                kept += 1;
            }
        }
        const dropped = self.tasks.items.len - kept;
        self.tasks.shrinkRetainingCapacity(kept);
        return dropped;
    }

    pub fn len(self: TaskList) usize {
        return self.tasks.items.len;
    }
};
""",
        r"""test "TaskList takes the highest priority first" {
    var list = TaskList.init(std.testing.allocator);
    defer list.deinit();
    try std.testing.expectEqual(@as(?[]u8, null), list.takeNext());
    try list.add("water plants", 2);
    try list.add("pay rent", 9);
    try list.add("call mum", 9);
    try list.add("tidy desk", 1);
    try list.add("backup", 5);
    try std.testing.expectEqualStrings("pay rent", list.peekNext().?);
    const first = list.takeNext().?;
    defer std.testing.allocator.free(first);
    try std.testing.expectEqualStrings("pay rent", first);
    const second = list.takeNext().?;
    defer std.testing.allocator.free(second);
    try std.testing.expectEqualStrings("call mum", second);
    try std.testing.expectEqual(@as(usize, 2), list.dropBelow(3));
    try std.testing.expectEqual(@as(usize, 1), list.len());
    try std.testing.expectEqualStrings("backup", list.peekNext().?);
    try list.add("stretch", 5);
    try std.testing.expectEqual(@as(usize, 0), list.dropBelow(5));
    try std.testing.expectEqualStrings("backup", list.peekNext().?);
}
""",
    ),
    (
        "WordIndex",
        "Zig Standard Library",
        "`WordIndex` maps each word to the numbers of the lines it appears on, in a "
        "`std.StringHashMap(std.ArrayList(u32))` whose keys are the index's own copies of the words. Implement:\n\n"
        "- `init(allocator)` and `deinit(self)` (frees every key and every list).\n"
        "- `addText(self, text)`: splits `text` into lines at `'\\n'` and each line into words separated by "
        "spaces, commas or periods (`std.mem.tokenizeAny`); records each word's line number once per line. "
        "Lines are numbered from 1, and a later call goes on numbering after the lines already added.\n"
        "- `linesOf(self, word)`: the line numbers of `word` in increasing order (an empty slice if unknown); "
        "words are case-sensitive.\n"
        "- `wordCount(self)`: how many distinct words were seen.",
        r"""const std = @import("std");

pub const WordIndex = struct {
    allocator: std.mem.Allocator,
    lines: std.StringHashMap(std.ArrayList(u32)),
    lines_seen: u32 = 0,

    pub fn init(allocator: std.mem.Allocator) WordIndex {
        return .{ .allocator = allocator, .lines = std.StringHashMap(std.ArrayList(u32)).init(allocator) };
    }

    pub fn deinit(self: *WordIndex) void {
        var entries = self.lines.iterator();
        while (entries.next()) |entry| {
            self.allocator.free(entry.key_ptr.*);
            entry.value_ptr.deinit();
        }
        self.lines.deinit();
    }

    fn note(self: *WordIndex, word: []const u8, line_number: u32) !void {
        const slot = try self.lines.getOrPut(word);
        if (!slot.found_existing) {
            slot.key_ptr.* = self.allocator.dupe(u8, word) catch |err| {
                self.lines.removeByPtr(slot.key_ptr);
                return err;
            };
            slot.value_ptr.* = std.ArrayList(u32).init(self.allocator);
        }
        const numbers = slot.value_ptr;
        if (numbers.items.len == 0 or numbers.items[numbers.items.len - 1] != line_number) {
            try numbers.append(line_number);
        }
    }

    pub fn addText(self: *WordIndex, text: []const u8) !void {
        var rows = std.mem.splitScalar(u8, text, '\n');
        while (rows.next()) |row| {
            self.lines_seen += 1;
            var words = std.mem.tokenizeAny(u8, row, " ,.");
            while (words.next()) |word| try self.note(word, self.lines_seen);
        }
    }

    pub fn linesOf(self: *const WordIndex, word: []const u8) []const u32 {
        const numbers = self.lines.getPtr(word) orelse return &.{};
        return numbers.items;
    }

    pub fn wordCount(self: *const WordIndex) usize {
        return self.lines.count();
    }
};
""",
        r"""test "WordIndex" {
    var index = WordIndex.init(std.testing.allocator);
    defer index.deinit();
    try index.addText("the cat sat, the cat.\nA dog\n\nthe end");
    try std.testing.expectEqualSlices(u32, &.{ 1, 4 }, index.linesOf("the"));
    try std.testing.expectEqualSlices(u32, &.{1}, index.linesOf("cat"));
    try std.testing.expectEqualSlices(u32, &.{2}, index.linesOf("A"));
    try std.testing.expectEqual(@as(usize, 0), index.linesOf("a").len);
    try std.testing.expectEqual(@as(usize, 6), index.wordCount());
    try index.addText("dog days");
    try std.testing.expectEqualSlices(u32, &.{ 2, 5 }, index.linesOf("dog"));
    try std.testing.expectEqual(@as(usize, 7), index.wordCount());
}
""",
    ),
    (
        "StringPool",
        "Memory",
        "`StringPool` interns strings: equal strings get the same `u32` id, ids count up from 0 in order of first "
        "appearance. It owns one copy of each string, kept in a `std.ArrayList([]u8)` (index = id), and finds "
        "ids through a `std.StringHashMap(u32)` whose keys are those same copies. Implement:\n\n"
        "- `init(allocator)` and `deinit(self)`.\n"
        "- `intern(self, text)`: the id of `text`, adding it if new. If an allocation fails, the pool is "
        "left as it was and nothing leaks (`error.OutOfMemory`).\n"
        "- `lookup(self, id)`: the string of an id (`null` for an unknown id).\n"
        "- `count(self)`: how many distinct strings are stored.",
        r"""const std = @import("std");

pub const StringPool = struct {
    allocator: std.mem.Allocator,
    strings: std.ArrayList([]u8),
    ids: std.StringHashMap(u32),

    pub fn init(allocator: std.mem.Allocator) StringPool {
        return .{
            .allocator = allocator,
            .strings = std.ArrayList([]u8).init(allocator),
            .ids = std.StringHashMap(u32).init(allocator),
        };
    }

    pub fn deinit(self: *StringPool) void {
        for (self.strings.items) |text| self.allocator.free(text);
        self.strings.deinit();
        self.ids.deinit();
    }

    pub fn intern(self: *StringPool, text: []const u8) error{OutOfMemory}!u32 {
        if (self.ids.get(text)) |known| return known;
        const owned = try self.allocator.dupe(u8, text);
        errdefer self.allocator.free(owned);
        const id: u32 = @intCast(self.strings.items.len);
        try self.strings.append(owned);
        errdefer _ = self.strings.pop();
        try self.ids.put(owned, id);
        return id;
    }

    pub fn lookup(self: *const StringPool, id: u32) ?[]const u8 {
        if (id >= self.strings.items.len) return null;
        return self.strings.items[id];
    }

    pub fn count(self: *const StringPool) usize {
        return self.strings.items.len;
    }
};
""",
        r"""test "StringPool" {
    var pool = StringPool.init(std.testing.allocator);
    defer pool.deinit();
    try std.testing.expectEqual(@as(u32, 0), try pool.intern("red"));
    try std.testing.expectEqual(@as(u32, 1), try pool.intern("green"));
    var copy = "red".*;
    try std.testing.expectEqual(@as(u32, 0), try pool.intern(&copy));
    try std.testing.expectEqual(@as(u32, 2), try pool.intern(""));
    try std.testing.expectEqualStrings("green", pool.lookup(1).?);
    try std.testing.expectEqual(@as(?[]const u8, null), pool.lookup(3));
    try std.testing.expectEqual(@as(usize, 3), pool.count());
}

test "StringPool is unchanged after a failed intern" {
    for (0..3) |fail_index| {
        var failing = std.testing.FailingAllocator.init(std.testing.allocator, .{ .fail_index = fail_index });
        var pool = StringPool.init(failing.allocator());
        defer pool.deinit();
        try std.testing.expectError(error.OutOfMemory, pool.intern("blue"));
        try std.testing.expectEqual(@as(usize, 0), pool.count());
        try std.testing.expectEqual(@as(?[]const u8, null), pool.lookup(0));
    }
}
""",
    ),
    (
        "Editor",
        "Tagged union",
        "`Editor` edits a text held in a `std.ArrayList(u8)` and can undo its edits, newest first. Its history is "
        "a `std.ArrayList(Edit)` where `Edit` is a tagged union: `inserted` (where and how many bytes) or "
        "`deleted` (where, and the editor's own copy of the removed bytes). Implement:\n\n"
        "- `init(allocator)` and `deinit(self)` (frees the text, the history and the copies it holds).\n"
        "- `insert(self, at, bytes)`: inserts `bytes` before index `at`; `error.OutOfBounds` when `at` is past "
        "the end.\n"
        "- `delete(self, at, count)`: removes `count` bytes starting at `at`; `error.OutOfBounds` when the range "
        "does not fit.\n"
        "- `undo(self)`: reverts the newest edit not yet undone and returns `true`, or returns `false` when "
        "there is nothing to undo.\n"
        "- `text(self)`: the current text.",
        r"""const std = @import("std");

pub const Edit = union(enum) {
    inserted: struct { at: usize, len: usize },
    deleted: struct { at: usize, bytes: []u8 },
};

pub const Editor = struct {
    allocator: std.mem.Allocator,
    content: std.ArrayList(u8),
    history: std.ArrayList(Edit),

    pub fn init(allocator: std.mem.Allocator) Editor {
        return .{
            .allocator = allocator,
            .content = std.ArrayList(u8).init(allocator),
            .history = std.ArrayList(Edit).init(allocator),
        };
    }

    pub fn deinit(self: *Editor) void {
        for (self.history.items) |edit| {
            switch (edit) {
                .deleted => |gone| self.allocator.free(gone.bytes),
                .inserted => {},
            }
        }
        self.history.deinit();
        self.content.deinit();
    }

    fn removeRange(self: *Editor, at: usize, count: usize) void {
        const items = self.content.items;
        std.mem.copyForwards(u8, items[at..], items[at + count ..]);
        self.content.shrinkRetainingCapacity(items.len - count);
    }

    pub fn insert(self: *Editor, at: usize, bytes: []const u8) !void {
        if (at > self.content.items.len) return error.OutOfBounds;
        try self.history.ensureUnusedCapacity(1);
        try self.content.insertSlice(at, bytes);
        self.history.appendAssumeCapacity(.{ .inserted = .{ .at = at, .len = bytes.len } });
    }

    pub fn delete(self: *Editor, at: usize, count: usize) !void {
        if (at > self.content.items.len or count > self.content.items.len - at) return error.OutOfBounds;
        const removed = try self.allocator.dupe(u8, self.content.items[at .. at + count]);
        errdefer self.allocator.free(removed);
        try self.history.append(.{ .deleted = .{ .at = at, .bytes = removed } });
        self.removeRange(at, count);
    }

    pub fn undo(self: *Editor) !bool {
        const last = self.history.getLastOrNull() orelse return false;
        switch (last) {
            .inserted => |span| self.removeRange(span.at, span.len),
            .deleted => |gone| {
                try self.content.insertSlice(gone.at, gone.bytes);
                self.allocator.free(gone.bytes);
            },
        }
        _ = self.history.pop();
        return true;
    }

    pub fn text(self: *const Editor) []const u8 {
        return self.content.items;
    }
};
""",
        r"""test "Editor undoes edits newest first" {
    var editor = Editor.init(std.testing.allocator);
    defer editor.deinit();
    try std.testing.expect(!try editor.undo());
    try editor.insert(0, "hello world");
    try editor.insert(5, ",");
    try std.testing.expectEqualStrings("hello, world", editor.text());
    try editor.delete(0, 7);
    try std.testing.expectEqualStrings("world", editor.text());
    try std.testing.expectError(error.OutOfBounds, editor.delete(3, 3));
    try std.testing.expectError(error.OutOfBounds, editor.insert(6, "!"));
    try editor.insert(5, "!");
    try std.testing.expect(try editor.undo());
    try std.testing.expectEqualStrings("world", editor.text());
    try std.testing.expect(try editor.undo());
    try std.testing.expectEqualStrings("hello, world", editor.text());
    try std.testing.expect(try editor.undo());
    try std.testing.expect(try editor.undo());
    try std.testing.expectEqualStrings("", editor.text());
    try std.testing.expect(!try editor.undo());
}

test "Editor frees deletions that were never undone" {
    var editor = Editor.init(std.testing.allocator);
    defer editor.deinit();
    try editor.insert(0, "abcdef");
    try editor.delete(1, 2);
    try editor.delete(0, 0);
    try std.testing.expectEqualStrings("adef", editor.text());
}
""",
    ),
    (
        "Gradebook",
        "Report Memory Leaks",
        "`Gradebook` keeps each student's grades (`u8`, 0 to 100) in a `std.AutoHashMap(u32, "
        "std.ArrayList(u8))` keyed by student id. Implement:\n\n"
        "- `init(allocator)` and `deinit(self)` (every list and the map).\n"
        "- `addGrade(self, student, grade)`: `error.InvalidGrade` above 100; a new student gets a new list.\n"
        "- `average(self, student)`: the mean grade as `f64` (`null` for an unknown student or one with no grades).\n"
        "- `dropLowest(self, student)`: removes one lowest grade (order of the others may change: use "
        "`swapRemove`) and returns it; `null` when there is none.\n"
        "- `removeStudent(self, student)`: frees that student's list; `true` if the student existed.\n"
        "- `newTerm(self)`: empties every list but keeps the students and the lists' memory "
        "(`clearRetainingCapacity`).",
        r"""const std = @import("std");

pub const Gradebook = struct {
    allocator: std.mem.Allocator,
    grades: std.AutoHashMap(u32, std.ArrayList(u8)),

    pub fn init(allocator: std.mem.Allocator) Gradebook {
        return .{ .allocator = allocator, .grades = std.AutoHashMap(u32, std.ArrayList(u8)).init(allocator) };
    }

    pub fn deinit(self: *Gradebook) void {
        var lists = self.grades.valueIterator();
        while (lists.next()) |list| list.deinit();
        self.grades.deinit();
    }

    pub fn addGrade(self: *Gradebook, student: u32, grade: u8) !void {
        if (grade > 100) return error.InvalidGrade;
        const slot = try self.grades.getOrPut(student);
        if (!slot.found_existing) slot.value_ptr.* = std.ArrayList(u8).init(self.allocator);
        try slot.value_ptr.append(grade);
    }

    pub fn average(self: *const Gradebook, student: u32) ?f64 {
        const list = self.grades.getPtr(student) orelse return null;
        if (list.items.len == 0) return null;
        var total: u32 = 0;
        for (list.items) |grade| total += grade;
        return @as(f64, @floatFromInt(total)) / @as(f64, @floatFromInt(list.items.len));
    }

    pub fn dropLowest(self: *Gradebook, student: u32) ?u8 {
        const list = self.grades.getPtr(student) orelse return null;
        if (list.items.len == 0) return null;
        const lowest = std.mem.indexOfMin(u8, list.items);
        return list.swapRemove(lowest);
    }

    pub fn removeStudent(self: *Gradebook, student: u32) bool {
        var removed = self.grades.fetchRemove(student) orelse return false;
        removed.value.deinit();
        return true;
    }

    pub fn newTerm(self: *Gradebook) void {
        var lists = self.grades.valueIterator();
        while (lists.next()) |list| list.clearRetainingCapacity();
    }
};
""",
        r"""test "Gradebook" {
    var book = Gradebook.init(std.testing.allocator);
    defer book.deinit();
    for ([_]u8{ 80, 55, 90, 55 }) |grade| try book.addGrade(7, grade);
    try book.addGrade(9, 100);
    try std.testing.expectError(error.InvalidGrade, book.addGrade(9, 101));
    try std.testing.expectEqual(@as(?f64, 70), book.average(7));
    try std.testing.expectEqual(@as(?u8, 55), book.dropLowest(7));
    try std.testing.expectEqual(@as(?u8, 55), book.dropLowest(7));
    try std.testing.expectEqual(@as(?f64, 85), book.average(7));
    try std.testing.expectEqual(@as(?u8, null), book.dropLowest(3));
    try std.testing.expectEqual(@as(?f64, null), book.average(3));
    book.newTerm();
    try std.testing.expectEqual(@as(?f64, null), book.average(7));
    try std.testing.expectEqual(@as(?u8, null), book.dropLowest(9));
    try book.addGrade(9, 42);
    try std.testing.expectEqual(@as(?f64, 42), book.average(9));
    try std.testing.expect(book.removeStudent(9));
    try std.testing.expect(!book.removeStudent(9));
    try std.testing.expectEqual(@as(?f64, null), book.average(9));
}
""",
    ),
)

LINKED_PROGRAMS: tuple[Entry, ...] = (
    (
        "IntQueue",
        "Optional Pointers",
        "`IntQueue` is a first-in first-out queue of `i32` built from heap nodes (`allocator.create` / "
        "`allocator.destroy`), each pointing at the next; the queue keeps pointers to its first and last node so "
        "both ends take constant time. Implement:\n\n"
        "- `init(allocator)` and `deinit(self)` (destroys every node still queued).\n"
        "- `enqueue(self, value)`: adds at the back (`error.OutOfMemory` only).\n"
        "- `dequeue(self)`: removes and returns the front value (`null` when empty).\n"
        "- `peek(self)`: the front value without removing it (`null` when empty).\n"
        "- `count(self)`: how many values are queued.",
        r"""const std = @import("std");

pub const IntQueue = struct {
    const Node = struct {
        next: ?*Node = null,
        value: i32,
    };

    allocator: std.mem.Allocator,
    head: ?*Node = null,
    tail: ?*Node = null,
    len: usize = 0,

    pub fn init(allocator: std.mem.Allocator) IntQueue {
        return .{ .allocator = allocator };
    }

    pub fn deinit(self: *IntQueue) void {
        while (self.head) |node| {
            self.head = node.next;
            self.allocator.destroy(node);
        }
        self.tail = null;
        self.len = 0;
    }

    pub fn enqueue(self: *IntQueue, value: i32) error{OutOfMemory}!void {
        const node = try self.allocator.create(Node);
        node.* = .{ .value = value };
        if (self.tail) |last| {
            last.next = node;
        } else {
            self.head = node;
        }
        self.tail = node;
        self.len += 1;
    }

    pub fn dequeue(self: *IntQueue) ?i32 {
        const first = self.head orelse return null;
        self.head = first.next;
        if (self.head == null) self.tail = null;
        self.len -= 1;
        const value = first.value;
        self.allocator.destroy(first);
        return value;
    }

    pub fn peek(self: *const IntQueue) ?i32 {
        const first = self.head orelse return null;
        return first.value;
    }

    pub fn count(self: *const IntQueue) usize {
        return self.len;
    }
};
""",
        r"""test "IntQueue is first in, first out" {
    var queue = IntQueue.init(std.testing.allocator);
    defer queue.deinit();
    try std.testing.expectEqual(@as(?i32, null), queue.dequeue());
    try queue.enqueue(4);
    try queue.enqueue(-8);
    try std.testing.expectEqual(@as(?i32, 4), queue.dequeue());
    try std.testing.expectEqual(@as(?i32, -8), queue.dequeue());
    try std.testing.expectEqual(@as(?i32, null), queue.peek());
    try queue.enqueue(15);
    try queue.enqueue(16);
    try queue.enqueue(23);
    try std.testing.expectEqual(@as(?i32, 15), queue.peek());
    try std.testing.expectEqual(@as(usize, 3), queue.count());
    try std.testing.expectEqual(@as(?i32, 15), queue.dequeue());
    try std.testing.expectEqual(@as(usize, 2), queue.count());
}
""",
    ),
    (
        "BrowserHistory",
        "Pointers",
        "`BrowserHistory` remembers visited pages as a doubly linked list of heap nodes, each holding its own "
        "copy of the URL and pointers to the previous and next page, plus a pointer to the current page. "
        "Implement:\n\n"
        "- `init(allocator)` and `deinit(self)` (frees every page, before and after the current one).\n"
        "- `visit(self, url)`: the new page comes right after the current one and becomes current; pages that "
        "were ahead of the current one (reachable with `forward`) are freed.\n"
        "- `back(self)` / `forward(self)`: moves one page and returns its URL, or returns `null` (and does not "
        "move) when there is no page that way.\n"
        "- `current(self)`: the current URL (`null` before the first visit).\n"
        "- `forwardCount(self)`: how many pages lie ahead of the current one.",
        r"""const std = @import("std");

pub const BrowserHistory = struct {
    const Page = struct {
        url: []u8,
        prev: ?*Page,
        next: ?*Page,
    };

    allocator: std.mem.Allocator,
    here: ?*Page = null,

    pub fn init(allocator: std.mem.Allocator) BrowserHistory {
        return .{ .allocator = allocator };
    }

    fn freePage(self: *BrowserHistory, page: *Page) void {
        self.allocator.free(page.url);
        self.allocator.destroy(page);
    }

    fn dropAfter(self: *BrowserHistory, page: *Page) void {
        var cursor = page.next;
        while (cursor) |ahead| {
            cursor = ahead.next;
            self.freePage(ahead);
        }
        page.next = null;
    }

    pub fn deinit(self: *BrowserHistory) void {
        const page = self.here orelse return;
        self.dropAfter(page);
        var cursor: ?*Page = page;
        while (cursor) |behind| {
            cursor = behind.prev;
            self.freePage(behind);
        }
        self.here = null;
    }

    pub fn visit(self: *BrowserHistory, url: []const u8) !void {
        const page = try self.allocator.create(Page);
        errdefer self.allocator.destroy(page);
        page.* = .{ .url = try self.allocator.dupe(u8, url), .prev = self.here, .next = null };
        if (self.here) |previous| {
            self.dropAfter(previous);
            previous.next = page;
        }
        self.here = page;
    }

    pub fn back(self: *BrowserHistory) ?[]const u8 {
        const page = self.here orelse return null;
        const previous = page.prev orelse return null;
        self.here = previous;
        return previous.url;
    }

    pub fn forward(self: *BrowserHistory) ?[]const u8 {
        const page = self.here orelse return null;
        const following = page.next orelse return null;
        self.here = following;
        return following.url;
    }

    pub fn current(self: *const BrowserHistory) ?[]const u8 {
        const page = self.here orelse return null;
        return page.url;
    }

    pub fn forwardCount(self: *const BrowserHistory) usize {
        const page = self.here orelse return 0;
        var count: usize = 0;
        var cursor = page.next;
        while (cursor) |ahead| : (cursor = ahead.next) count += 1;
        return count;
    }
};
""",
        r"""test "BrowserHistory" {
    var history = BrowserHistory.init(std.testing.allocator);
    defer history.deinit();
    try std.testing.expectEqual(@as(?[]const u8, null), history.current());
    try std.testing.expectEqual(@as(?[]const u8, null), history.back());
    try history.visit("a.org");
    try history.visit("b.org");
    try history.visit("c.org");
    try std.testing.expectEqualStrings("b.org", history.back().?);
    try std.testing.expectEqualStrings("a.org", history.back().?);
    try std.testing.expectEqual(@as(?[]const u8, null), history.back());
    try std.testing.expectEqualStrings("a.org", history.current().?);
    try std.testing.expectEqual(@as(usize, 2), history.forwardCount());
    try std.testing.expectEqualStrings("b.org", history.forward().?);
    try history.visit("d.org");
    try std.testing.expectEqual(@as(usize, 0), history.forwardCount());
    try std.testing.expectEqual(@as(?[]const u8, null), history.forward());
    try std.testing.expectEqualStrings("b.org", history.back().?);
    try std.testing.expectEqual(@as(usize, 1), history.forwardCount());
}
""",
    ),
    (
        "IntTree",
        "Recursion",
        "`IntTree` is a binary search tree of distinct `i32` keys built from heap nodes (smaller keys to the "
        "left). Implement:\n\n"
        "- `init(allocator)` and `deinit(self)` (destroys every node).\n"
        "- `insert(self, key)`: adds `key` and returns `true`, or returns `false` if it is already there.\n"
        "- `contains(self, key)`.\n"
        "- `height(self)`: the number of nodes on the longest path from the root down (0 for an empty tree).\n"
        "- `inOrder(self, allocator)`: the keys in increasing order as a new slice the caller frees.\n\n"
        "Note that recursive functions cannot use an inferred error set: name it (`error{OutOfMemory}!void`).",
        r"""const std = @import("std");

pub const IntTree = struct {
    const Node = struct {
        key: i32,
        left: ?*Node = null,
        right: ?*Node = null,
    };

    allocator: std.mem.Allocator,
    root: ?*Node = null,

    pub fn init(allocator: std.mem.Allocator) IntTree {
        return .{ .allocator = allocator };
    }

    fn destroyAll(self: *IntTree, node: ?*Node) void {
        const here = node orelse return;
        self.destroyAll(here.left);
        self.destroyAll(here.right);
        self.allocator.destroy(here);
    }

    pub fn deinit(self: *IntTree) void {
        self.destroyAll(self.root);
        self.root = null;
    }

    pub fn insert(self: *IntTree, key: i32) error{OutOfMemory}!bool {
        var link: *?*Node = &self.root;
        while (link.*) |node| {
            if (key == node.key) return false;
            link = if (key < node.key) &node.left else &node.right;
        }
        const fresh = try self.allocator.create(Node);
        fresh.* = .{ .key = key };
        link.* = fresh;
        return true;
    }

    pub fn contains(self: *const IntTree, key: i32) bool {
        var cursor = self.root;
        while (cursor) |node| {
            if (key == node.key) return true;
            cursor = if (key < node.key) node.left else node.right;
        }
        return false;
    }

    fn depth(node: ?*const Node) usize {
        const here = node orelse return 0;
        return 1 + @max(depth(here.left), depth(here.right));
    }

    pub fn height(self: *const IntTree) usize {
        return depth(self.root);
    }

    fn walk(node: ?*const Node, out: *std.ArrayList(i32)) error{OutOfMemory}!void {
        const here = node orelse return;
        try walk(here.left, out);
        try out.append(here.key);
        try walk(here.right, out);
    }

    pub fn inOrder(self: *const IntTree, allocator: std.mem.Allocator) ![]i32 {
        var keys = std.ArrayList(i32).init(allocator);
        errdefer keys.deinit();
        try walk(self.root, &keys);
        return keys.toOwnedSlice();
    }
};
""",
        r"""test "IntTree" {
    var tree = IntTree.init(std.testing.allocator);
    defer tree.deinit();
    try std.testing.expectEqual(@as(usize, 0), tree.height());
    for ([_]i32{ 50, 30, 70, 20, 40, 60, 80, 35 }) |key| try std.testing.expect(try tree.insert(key));
    try std.testing.expect(!try tree.insert(40));
    try std.testing.expect(tree.contains(35));
    try std.testing.expect(!tree.contains(36));
    try std.testing.expectEqual(@as(usize, 4), tree.height());
    const keys = try tree.inOrder(std.testing.allocator);
    defer std.testing.allocator.free(keys);
    try std.testing.expectEqualSlices(i32, &.{ 20, 30, 35, 40, 50, 60, 70, 80 }, keys);
}

test "IntTree of sorted inserts is a chain" {
    var tree = IntTree.init(std.testing.allocator);
    defer tree.deinit();
    for (0..5) |i| _ = try tree.insert(-@as(i32, @intCast(i)));
    try std.testing.expectEqual(@as(usize, 5), tree.height());
    const keys = try tree.inOrder(std.testing.allocator);
    defer std.testing.allocator.free(keys);
    try std.testing.expectEqualSlices(i32, &.{ -4, -3, -2, -1, 0 }, keys);
}
""",
    ),
    (
        "SortedTree",
        "struct",
        "`SortedTree` is a binary search tree of distinct `u32` values whose heap nodes also point at their "
        "parent, so a node's successor can be found without a stack. `Node` has the fields `value`, `left`, "
        "`right`, `parent` (optional pointers, `null` by default). Implement:\n\n"
        "- `init(allocator)` and `deinit(self)`.\n"
        "- `insert(self, value)`: adds `value` (a value already present is ignored).\n"
        "- `first(self)`: the node with the smallest value (`null` when empty).\n"
        "- `find(self, value)`: the node holding `value` (`null` if absent).\n"
        "- `Node.next(node)`: the node with the next larger value (`null` for the largest): the leftmost node "
        "of the right subtree if there is one, or else the first ancestor reached from its left side.",
        r"""const std = @import("std");

pub const Node = struct {
    value: u32,
    left: ?*Node = null,
    right: ?*Node = null,
    parent: ?*Node = null,

    pub fn next(node: *const Node) ?*Node {
        if (node.right) |right| {
            var leftmost = right;
            while (leftmost.left) |left| leftmost = left;
            return leftmost;
        }
        var child: *const Node = node;
        var up = node.parent;
        while (up) |ancestor| {
            if (ancestor.left == child) return ancestor;
            child = ancestor;
            up = ancestor.parent;
        }
        return null;
    }
};

pub const SortedTree = struct {
    allocator: std.mem.Allocator,
    root: ?*Node = null,

    pub fn init(allocator: std.mem.Allocator) SortedTree {
        return .{ .allocator = allocator };
    }

    fn destroyFrom(self: *SortedTree, node: ?*Node) void {
        const here = node orelse return;
        self.destroyFrom(here.left);
        self.destroyFrom(here.right);
        self.allocator.destroy(here);
    }

    pub fn deinit(self: *SortedTree) void {
        self.destroyFrom(self.root);
        self.root = null;
    }

    pub fn insert(self: *SortedTree, value: u32) !void {
        var parent: ?*Node = null;
        var link: *?*Node = &self.root;
        while (link.*) |node| {
            if (value == node.value) return;
            parent = node;
            link = if (value < node.value) &node.left else &node.right;
        }
        const fresh = try self.allocator.create(Node);
        fresh.* = .{ .value = value, .parent = parent };
        link.* = fresh;
    }

    pub fn first(self: *const SortedTree) ?*Node {
        var node = self.root orelse return null;
        while (node.left) |left| node = left;
        return node;
    }

    pub fn find(self: *const SortedTree, value: u32) ?*Node {
        var cursor = self.root;
        while (cursor) |node| {
            if (value == node.value) return node;
            cursor = if (value < node.value) node.left else node.right;
        }
        return null;
    }
};
""",
        r"""test "SortedTree walks in order through parent pointers" {
    var tree = SortedTree.init(std.testing.allocator);
    defer tree.deinit();
    try std.testing.expect(tree.first() == null);
    for ([_]u32{ 8, 3, 10, 1, 6, 14, 4, 7, 13, 6 }) |value| try tree.insert(value);
    var seen: [16]u32 = undefined;
    var count: usize = 0;
    var cursor = tree.first();
    while (cursor) |node| : (cursor = node.next()) {
        seen[count] = node.value;
        count += 1;
    }
    try std.testing.expectEqualSlices(u32, &.{ 1, 3, 4, 6, 7, 8, 10, 13, 14 }, seen[0..count]);
    try std.testing.expectEqual(@as(u32, 8), tree.find(7).?.next().?.value);
    try std.testing.expectEqual(@as(u32, 10), tree.find(8).?.next().?.value);
    try std.testing.expect(tree.find(14).?.next() == null);
    try std.testing.expect(tree.find(5) == null);
    try std.testing.expect(tree.find(4).?.parent.? == tree.find(6).?);
}
""",
    ),
    (
        "JobQueue",
        "@fieldParentPtr",
        "An intrusive queue: `Job` (fields `id: u32`, `cost: u32`, `link: Link = .{}`) embeds a `Link` "
        "(`next: ?*Link = null`), and `JobQueue` chains the `Link`s, never allocating; the caller owns the jobs. "
        'From a `*Link` the queue gets back its `*Job` with `@fieldParentPtr("link", link)` (Zig 0.14 form). '
        "Implement on `JobQueue` (fields `head`, `tail`: `?*Link`, both `null` by default):\n\n"
        "- `push(self, job)`: appends the job at the back.\n"
        "- `pop(self)`: removes and returns the front job (`null` when empty), with its `link.next` reset.\n"
        "- `totalCost(self)`: the sum of the queued jobs' costs, as `u64`.\n"
        "- `removeId(self, id)`: unlinks the first job with that id and returns it (`null` if none).",
        r"""const std = @import("std");

pub const Link = struct {
    next: ?*Link = null,
};

pub const Job = struct {
    id: u32,
    cost: u32,
    link: Link = .{},
};

pub const JobQueue = struct {
    head: ?*Link = null,
    tail: ?*Link = null,

    pub fn push(self: *JobQueue, job: *Job) void {
        job.link.next = null;
        if (self.tail) |last| {
            last.next = &job.link;
        } else {
            self.head = &job.link;
        }
        self.tail = &job.link;
    }

    pub fn pop(self: *JobQueue) ?*Job {
        const link = self.head orelse return null;
        self.head = link.next;
        if (self.head == null) self.tail = null;
        link.next = null;
        return @fieldParentPtr("link", link);
    }

    pub fn totalCost(self: *const JobQueue) u64 {
        var total: u64 = 0;
        var cursor = self.head;
        while (cursor) |link| : (cursor = link.next) {
            const job: *const Job = @fieldParentPtr("link", link);
            total += job.cost;
        }
        return total;
    }

    pub fn removeId(self: *JobQueue, id: u32) ?*Job {
        var previous: ?*Link = null;
        var cursor = self.head;
        while (cursor) |link| : (cursor = link.next) {
            const job: *Job = @fieldParentPtr("link", link);
            if (job.id != id) {
                previous = link;
                continue;
            }
            if (previous) |before| {
                before.next = link.next;
            } else {
                self.head = link.next;
            }
            if (self.tail == link) self.tail = previous;
            link.next = null;
            return job;
        }
        return null;
    }
};
""",
        r"""test "JobQueue finds jobs from their links" {
    var jobs = [_]Job{
        .{ .id = 1, .cost = 10 },
        .{ .id = 2, .cost = 25 },
        .{ .id = 3, .cost = 5 },
        .{ .id = 4, .cost = 1 },
    };
    var queue = JobQueue{};
    try std.testing.expect(queue.pop() == null);
    for (&jobs) |*job| queue.push(job);
    try std.testing.expectEqual(@as(u64, 41), queue.totalCost());
    try std.testing.expect(queue.removeId(4).? == &jobs[3]);
    try std.testing.expect(queue.removeId(9) == null);
    try std.testing.expect(queue.pop().? == &jobs[0]);
    try std.testing.expect(queue.removeId(2).? == &jobs[1]);
    try std.testing.expectEqual(@as(u64, 5), queue.totalCost());
    queue.push(&jobs[0]);
    try std.testing.expectEqual(@as(u32, 3), queue.pop().?.id);
    try std.testing.expectEqual(@as(u32, 1), queue.pop().?.id);
    try std.testing.expect(queue.pop() == null);
    try std.testing.expectEqual(@as(u64, 0), queue.totalCost());
}
""",
    ),
    (
        "NumberChain",
        "Pass-by-value Parameters",
        "`NumberChain` is a singly linked list of `i64` in heap nodes. Methods that only read take "
        "`self: *const NumberChain`; methods that change the chain take `self: *NumberChain`. Implement:\n\n"
        "- `init(allocator)` and `deinit(self)`.\n"
        "- `prepend(self, value)`: adds at the front.\n"
        "- `reverse(self)`: reverses the chain in place, relinking nodes without allocating.\n"
        "- `removeAll(self, value)`: unlinks and destroys every node holding `value`; returns how many.\n"
        "- `sum(self)` and `toSlice(self, allocator)` (the values front to back, a new slice the caller frees).",
        r"""const std = @import("std");

pub const NumberChain = struct {
    const Node = struct {
        value: i64,
        next: ?*Node,
    };

    allocator: std.mem.Allocator,
    head: ?*Node = null,

    pub fn init(allocator: std.mem.Allocator) NumberChain {
        return .{ .allocator = allocator };
    }

    pub fn deinit(self: *NumberChain) void {
        while (self.head) |node| {
            self.head = node.next;
            self.allocator.destroy(node);
        }
    }

    pub fn prepend(self: *NumberChain, value: i64) !void {
        const node = try self.allocator.create(Node);
        node.* = .{ .value = value, .next = self.head };
        self.head = node;
    }

    pub fn reverse(self: *NumberChain) void {
        var reversed: ?*Node = null;
        var rest = self.head;
        while (rest) |node| {
            rest = node.next;
            node.next = reversed;
            reversed = node;
        }
        self.head = reversed;
    }

    pub fn removeAll(self: *NumberChain, value: i64) usize {
        var removed: usize = 0;
        var link: *?*Node = &self.head;
        while (link.*) |node| {
            if (node.value == value) {
                link.* = node.next;
                self.allocator.destroy(node);
                removed += 1;
            } else {
                link = &node.next;
            }
        }
        return removed;
    }

    pub fn sum(self: *const NumberChain) i64 {
        var total: i64 = 0;
        var cursor = self.head;
        while (cursor) |node| : (cursor = node.next) total += node.value;
        return total;
    }

    pub fn toSlice(self: *const NumberChain, allocator: std.mem.Allocator) ![]i64 {
        var values = std.ArrayList(i64).init(allocator);
        errdefer values.deinit();
        var cursor = self.head;
        while (cursor) |node| : (cursor = node.next) try values.append(node.value);
        return values.toOwnedSlice();
    }
};
""",
        r"""test "NumberChain" {
    var chain = NumberChain.init(std.testing.allocator);
    defer chain.deinit();
    chain.reverse();
    for ([_]i64{ 7, 1, 7, 2, 7, 3 }) |value| try chain.prepend(value);
    chain.reverse();
    const before = try chain.toSlice(std.testing.allocator);
    defer std.testing.allocator.free(before);
    try std.testing.expectEqualSlices(i64, &.{ 7, 1, 7, 2, 7, 3 }, before);
    try std.testing.expectEqual(@as(usize, 3), chain.removeAll(7));
    try std.testing.expectEqual(@as(usize, 0), chain.removeAll(7));
    try std.testing.expectEqual(@as(i64, 6), chain.sum());
    chain.reverse();
    const after = try chain.toSlice(std.testing.allocator);
    defer std.testing.allocator.free(after);
    try std.testing.expectEqualSlices(i64, &.{ 3, 2, 1 }, after);
}
""",
    ),
)

UNION_PROGRAMS: tuple[Entry, ...] = (
    (
        "JsonValue",
        "Tagged union",
        "`JsonValue` is a tagged union for JSON-like data: `null` (no payload), `boolean: bool`, "
        "`number: f64`, `string: []const u8`, `array: []const JsonValue`. Implement its methods:\n\n"
        "- `depth(self)`: 0 for a scalar, and 1 + the deepest element for an array (so `[]` is 1, `[[1]]` is 2).\n"
        "- `countNumbers(self)`: how many `number` values it contains at any depth.\n"
        '- `kind(self)`: the name of the active tag (`"boolean"`, `"null"`, ...), via `@tagName`.\n'
        "- `write(self, writer)`: writes compact JSON to any writer (`null`, `true`/`false`, numbers with "
        "`{d}`, strings in double quotes without escaping, arrays as `[a,b]`). As it recurses, give it the "
        "error set `@TypeOf(writer).Error!void`.",
        r"""const std = @import("std");

pub const JsonValue = union(enum) {
    null,
    boolean: bool,
    number: f64,
    string: []const u8,
    array: []const JsonValue,

    pub fn depth(self: JsonValue) usize {
        return switch (self) {
            .array => |items| blk: {
                var deepest: usize = 0;
                for (items) |item| deepest = @max(deepest, item.depth());
                break :blk deepest + 1;
            },
            else => 0,
        };
    }

    pub fn countNumbers(self: JsonValue) usize {
        switch (self) {
            .number => return 1,
            .array => |items| {
                var count: usize = 0;
                for (items) |item| count += item.countNumbers();
                return count;
            },
            .null, .boolean, .string => return 0,
        }
    }

    pub fn kind(self: JsonValue) []const u8 {
        return @tagName(self);
    }

    pub fn write(self: JsonValue, writer: anytype) @TypeOf(writer).Error!void {
        switch (self) {
            .null => try writer.writeAll("null"),
            .boolean => |value| try writer.writeAll(if (value) "true" else "false"),
            .number => |value| try writer.print("{d}", .{value}),
            .string => |text| try writer.print("\"{s}\"", .{text}),
            .array => |items| {
                try writer.writeByte('[');
                for (items, 0..) |item, i| {
                    if (i > 0) try writer.writeByte(',');
                    try item.write(writer);
                }
                try writer.writeByte(']');
            },
        }
    }
};
""",
        r"""test "JsonValue" {
    const inner = [_]JsonValue{ .{ .number = 1.5 }, .{ .string = "hi" }, .null };
    const empty = [_]JsonValue{};
    const outer = [_]JsonValue{ .{ .boolean = true }, .{ .array = &inner }, .{ .number = -2 }, .{ .array = &empty } };
    const value = JsonValue{ .array = &outer };
    try std.testing.expectEqual(@as(usize, 2), value.depth());
    try std.testing.expectEqual(@as(usize, 0), (JsonValue{ .number = 3 }).depth());
    try std.testing.expectEqual(@as(usize, 1), (JsonValue{ .array = &empty }).depth());
    try std.testing.expectEqual(@as(usize, 2), value.countNumbers());
    try std.testing.expectEqualStrings("null", inner[2].kind());
    try std.testing.expectEqualStrings("array", value.kind());
    var out = std.ArrayList(u8).init(std.testing.allocator);
    defer out.deinit();
    try value.write(out.writer());
    try std.testing.expectEqualStrings("[true,[1.5,\"hi\",null],-2,[]]", out.items);
}
""",
    ),
    (
        "VendingMachine",
        "switch",
        "A vending machine sells one product at `price` cents. `Coin` is an `enum(u32)` whose values are cents: "
        "`nickel = 5`, `dime = 10`, `quarter = 25`, `dollar = 100`. Its state is a tagged union `State`: `idle`, "
        "`paying: u32` (cents inserted so far) or `sold_out`. `VendingMachine` has fields `price: u32`, "
        "`stock: u32` and `state: State = .idle`. Implement:\n\n"
        "- `insert(self, coin)`: adds the coin's value to the payment (from `idle` a payment starts); "
        "`error.SoldOut` when sold out.\n"
        "- `buy(self)`: with enough money paid, hands out one item and returns the change; the state becomes "
        "`idle`, or `sold_out` when that was the last item. Errors: `error.SoldOut`, `error.NotEnoughMoney` "
        "(including when nothing was paid; the payment stays).\n"
        "- `cancel(self)`: returns the cents paid so far (0 if none) and goes back to `idle` (a sold-out machine "
        "stays sold out).\n"
        "- `restock(self, count)`: adds items; a sold-out machine becomes `idle`.",
        r"""const std = @import("std");

pub const Coin = enum(u32) {
    nickel = 5,
    dime = 10,
    quarter = 25,
    dollar = 100,
};

pub const State = union(enum) {
    idle,
    paying: u32,
    sold_out,
};

pub const VendingMachine = struct {
    price: u32,
    stock: u32,
    state: State = .idle,

    pub fn insert(self: *VendingMachine, coin: Coin) error{SoldOut}!void {
        switch (self.state) {
            .sold_out => return error.SoldOut,
            .idle => self.state = .{ .paying = @intFromEnum(coin) },
            .paying => |*paid| paid.* += @intFromEnum(coin),
        }
    }

    pub fn buy(self: *VendingMachine) error{ SoldOut, NotEnoughMoney }!u32 {
        const paid = switch (self.state) {
            .sold_out => return error.SoldOut,
            .idle => return error.NotEnoughMoney,
            .paying => |cents| cents,
        };
        if (paid < self.price) return error.NotEnoughMoney;
        self.stock -= 1;
        self.state = if (self.stock == 0) .sold_out else .idle;
        return paid - self.price;
    }

    pub fn cancel(self: *VendingMachine) u32 {
        switch (self.state) {
            .paying => |cents| {
                self.state = .idle;
                return cents;
            },
            .idle, .sold_out => return 0,
        }
    }

    pub fn restock(self: *VendingMachine, count: u32) void {
        self.stock += count;
        if (self.state == .sold_out and self.stock > 0) self.state = .idle;
    }
};
""",
        r"""test "VendingMachine" {
    var machine = VendingMachine{ .price = 65, .stock = 2 };
    try std.testing.expectError(error.NotEnoughMoney, machine.buy());
    try machine.insert(.quarter);
    try machine.insert(.quarter);
    try std.testing.expectError(error.NotEnoughMoney, machine.buy());
    try machine.insert(.dime);
    try machine.insert(.dime);
    try std.testing.expectEqual(@as(u32, 5), try machine.buy());
    try std.testing.expectEqual(@as(u32, 0), machine.cancel());
    try machine.insert(.nickel);
    try std.testing.expectEqual(@as(u32, 5), machine.cancel());
    try machine.insert(.dollar);
    try std.testing.expectEqual(@as(u32, 35), try machine.buy());
    try std.testing.expect(machine.state == .sold_out);
    try std.testing.expectError(error.SoldOut, machine.insert(.dime));
    try std.testing.expectError(error.SoldOut, machine.buy());
    machine.restock(1);
    try machine.insert(.dollar);
    try std.testing.expectEqual(@as(u32, 100), machine.cancel());
    try std.testing.expect(machine.state == .idle);
}
""",
    ),
    (
        "PlayingCard",
        "enum",
        "Playing cards. `Suit` is an enum `clubs, diamonds, hearts, spades` with a method `isRed(self)`. `Rank` is "
        "an `enum(u4)` from `two = 2` up to `ten`, then `jack, queen, king, ace`, with a method `points(self)` "
        "(`u8`): face value for two to ten, 10 for jack, queen, king and 11 for ace. `Card` is a struct of "
        "`rank` and `suit`. Implement:\n\n"
        '- `Card.label(self, buffer)`: `"queen of hearts"` (the tag names via `@tagName`) written into `buffer` '
        "with `std.fmt.bufPrint`; returns the written slice (`error.NoSpaceLeft` if it does not fit).\n"
        "- `parseCard(text)`: two characters, rank then suit: `'2'...'9'`, `'T'`, `'J'`, `'Q'`, `'K'`, `'A'` and "
        "`'C'`, `'D'`, `'H'`, `'S'`; anything else is `error.BadCard`.\n"
        "- `handPoints(cards)`: the sum of points, where aces count 1 instead of 11, one at a time, while the sum "
        "is over 21.",
        r"""const std = @import("std");

pub const Suit = enum {
    clubs,
    diamonds,
    hearts,
    spades,

    pub fn isRed(self: Suit) bool {
        return switch (self) {
            .diamonds, .hearts => true,
            .clubs, .spades => false,
        };
    }
};

pub const Rank = enum(u4) {
    two = 2,
    three,
    four,
    five,
    six,
    seven,
    eight,
    nine,
    ten,
    jack,
    queen,
    king,
    ace,

    pub fn points(self: Rank) u8 {
        return switch (self) {
            .jack, .queen, .king => 10,
            .ace => 11,
            else => @intFromEnum(self),
        };
    }
};

pub const Card = struct {
    rank: Rank,
    suit: Suit,

    pub fn label(self: Card, buffer: []u8) ![]u8 {
        return std.fmt.bufPrint(buffer, "{s} of {s}", .{ @tagName(self.rank), @tagName(self.suit) });
    }
};

pub fn parseCard(text: []const u8) error{BadCard}!Card {
    if (text.len != 2) return error.BadCard;
    const rank: Rank = switch (text[0]) {
        '2'...'9' => @enumFromInt(text[0] - '0'),
        'T' => .ten,
        'J' => .jack,
        'Q' => .queen,
        'K' => .king,
        'A' => .ace,
        else => return error.BadCard,
    };
    const suit: Suit = switch (text[1]) {
        'C' => .clubs,
        'D' => .diamonds,
        'H' => .hearts,
        'S' => .spades,
        else => return error.BadCard,
    };
    return .{ .rank = rank, .suit = suit };
}

pub fn handPoints(cards: []const Card) u32 {
    var total: u32 = 0;
    var aces: u32 = 0;
    for (cards) |card| {
        total += card.rank.points();
        if (card.rank == .ace) aces += 1;
    }
    while (total > 21 and aces > 0) : (aces -= 1) total -= 10;
    return total;
}
""",
        r"""test "PlayingCard" {
    const queen = try parseCard("QH");
    try std.testing.expectEqual(Card{ .rank = .queen, .suit = .hearts }, queen);
    try std.testing.expect(queen.suit.isRed() and !Suit.spades.isRed());
    var buffer: [32]u8 = undefined;
    try std.testing.expectEqualStrings("queen of hearts", try queen.label(&buffer));
    var tiny: [4]u8 = undefined;
    try std.testing.expectError(error.NoSpaceLeft, queen.label(&tiny));
    try std.testing.expectEqual(Rank.seven, (try parseCard("7C")).rank);
    try std.testing.expectError(error.BadCard, parseCard("1S"));
    try std.testing.expectError(error.BadCard, parseCard("AX"));
    try std.testing.expectError(error.BadCard, parseCard("A"));
    const soft = [_]Card{ try parseCard("AS"), try parseCard("6D") };
    try std.testing.expectEqual(@as(u32, 17), handPoints(&soft));
    const hard = [_]Card{ try parseCard("AS"), try parseCard("AD"), try parseCard("9C"), try parseCard("KH") };
    try std.testing.expectEqual(@as(u32, 21), handPoints(&hard));
    const bust = [_]Card{ try parseCard("TS"), try parseCard("QD"), try parseCard("2C") };
    try std.testing.expectEqual(@as(u32, 22), handPoints(&bust));
}
""",
    ),
    (
        "StackMachine",
        "union",
        "A tiny stack machine. `Instruction` is a tagged union: `push: i64`, `add`, `sub`, `mul`, `div`, `dup`, "
        "`swap`, `drop`. Binary operations pop `b` (top) then `a` and push `a op b`; `div` truncates toward zero. "
        "Implement `execute(allocator, program)`: runs the instructions in order on a stack held in a "
        "`std.ArrayList(i64)` (freed before returning; in Zig 0.14 `pop()` returns an optional) and returns the "
        "value on top at the end. Errors: `error.StackUnderflow` when an instruction needs more values than the "
        "stack holds, `error.DivisionByZero`, `error.EmptyStack` when the program leaves nothing, "
        "`error.OutOfMemory`.",
        r"""const std = @import("std");

pub const Instruction = union(enum) {
    push: i64,
    add,
    sub,
    mul,
    div,
    dup,
    swap,
    drop,
};

fn popValue(stack: *std.ArrayList(i64)) error{StackUnderflow}!i64 {
    return stack.pop() orelse error.StackUnderflow;
}

pub fn execute(allocator: std.mem.Allocator, program: []const Instruction) !i64 {
    var stack = std.ArrayList(i64).init(allocator);
    defer stack.deinit();
    for (program) |instruction| {
        switch (instruction) {
            .push => |value| try stack.append(value),
            .dup => {
                const top = try popValue(&stack);
                try stack.appendSlice(&.{ top, top });
            },
            .drop => _ = try popValue(&stack),
            .swap => {
                const b = try popValue(&stack);
                const a = try popValue(&stack);
                try stack.appendSlice(&.{ b, a });
            },
            .add, .sub, .mul, .div => {
                const b = try popValue(&stack);
                const a = try popValue(&stack);
                const result = switch (instruction) {
                    .add => a + b,
                    .sub => a - b,
                    .mul => a * b,
                    .div => if (b != 0) @divTrunc(a, b) else return error.DivisionByZero,
                    else => unreachable,
                };
                try stack.append(result);
            },
        }
    }
    return stack.pop() orelse error.EmptyStack;
}
""",
        r"""test "StackMachine" {
    const a = std.testing.allocator;
    try std.testing.expectEqual(@as(i64, 14), try execute(a, &.{ .{ .push = 2 }, .{ .push = 3 }, .{ .push = 4 }, .mul, .add }));
    try std.testing.expectEqual(@as(i64, -3), try execute(a, &.{ .{ .push = -7 }, .{ .push = 2 }, .div }));
    try std.testing.expectEqual(@as(i64, 3), try execute(a, &.{ .{ .push = 10 }, .{ .push = 7 }, .swap, .sub, .{ .push = -1 }, .mul }));
    try std.testing.expectEqual(@as(i64, 25), try execute(a, &.{ .{ .push = 5 }, .dup, .mul, .{ .push = 9 }, .{ .push = 8 }, .drop, .drop }));
    try std.testing.expectError(error.StackUnderflow, execute(a, &.{ .{ .push = 1 }, .add }));
    try std.testing.expectError(error.StackUnderflow, execute(a, &.{.drop}));
    try std.testing.expectError(error.DivisionByZero, execute(a, &.{ .{ .push = 1 }, .{ .push = 0 }, .div }));
    try std.testing.expectError(error.EmptyStack, execute(a, &.{}));
}
""",
    ),
    (
        "Accounts",
        "Tagged union",
        "Bank accounts as a tagged union `Account`: `checking: i64` (balance in cents), `savings: Savings` "
        "(`balance: i64`, `rate_percent: u8`) or `closed`. Implement, changing accounts in place through "
        "pointer captures (`|*account|`, `|*balance|`):\n\n"
        "- `closeMonth(accounts, fee)`: checking accounts pay `fee`; savings earn `balance * rate_percent / 100` "
        "(truncated toward zero); closed accounts stay as they are.\n"
        "- `closeOverdrawn(accounts)`: every checking account with a negative balance becomes `closed`; "
        "returns how many were closed.\n"
        "- `totalBalance(accounts)`: the sum of all balances (closed accounts count 0).",
        r"""const std = @import("std");

pub const Savings = struct {
    balance: i64,
    rate_percent: u8,
};

pub const Account = union(enum) {
    checking: i64,
    savings: Savings,
    closed,
};

pub fn closeMonth(accounts: []Account, fee: i64) void {
    for (accounts) |*account| {
        switch (account.*) {
            .checking => |*balance| balance.* -= fee,
            .savings => |*saving| saving.balance += @divTrunc(saving.balance * saving.rate_percent, 100),
            .closed => {},
        }
    }
}

pub fn closeOverdrawn(accounts: []Account) usize {
    var closed: usize = 0;
    for (accounts) |*account| {
        switch (account.*) {
            .checking => |balance| {
                if (balance < 0) {
                    account.* = .closed;
                    closed += 1;
                }
            },
            .savings, .closed => {},
        }
    }
    return closed;
}

pub fn totalBalance(accounts: []const Account) i64 {
    var total: i64 = 0;
    for (accounts) |account| {
        total += switch (account) {
            .checking => |balance| balance,
            .savings => |saving| saving.balance,
            .closed => 0,
        };
    }
    return total;
}
""",
        r"""test "Accounts" {
    var accounts = [_]Account{
        .{ .checking = 500 },
        .{ .savings = .{ .balance = 1000, .rate_percent = 3 } },
        .{ .checking = 100 },
        .closed,
        .{ .savings = .{ .balance = -250, .rate_percent = 2 } },
    };
    try std.testing.expectEqual(@as(i64, 1350), totalBalance(&accounts));
    closeMonth(&accounts, 150);
    try std.testing.expectEqual(@as(i64, 350), accounts[0].checking);
    try std.testing.expectEqual(@as(i64, 1030), accounts[1].savings.balance);
    try std.testing.expectEqual(@as(i64, -50), accounts[2].checking);
    try std.testing.expectEqual(@as(i64, -255), accounts[4].savings.balance);
    try std.testing.expectEqual(@as(usize, 1), closeOverdrawn(&accounts));
    try std.testing.expect(accounts[2] == .closed);
    try std.testing.expectEqual(@as(usize, 0), closeOverdrawn(&accounts));
    try std.testing.expectEqual(@as(i64, 1125), totalBalance(&accounts));
}
""",
    ),
    (
        "Temperature",
        "Blocks",
        "`Temperature` is a tagged union of `celsius`, `fahrenheit` and `kelvin`, each an `f64`. Implement:\n\n"
        "- `toKelvin(self)`: C + 273.15; (F - 32) * 5 / 9 + 273.15; K as is.\n"
        '- `parse(text)`: a number followed by one unit letter, `C`, `F` or `K` (either case), like `"21.5C"` '
        'or `"-40f"`. Errors: `error.BadNumber` (no number or one `std.fmt.parseFloat` rejects), '
        "`error.BadUnit`, `error.BelowAbsoluteZero` when the temperature is under 0 K.\n"
        "- `warmest(readings)`: the index of the warmest reading (the first among equals), `null` for none.\n\n"
        "Use a labeled block (`blk: { ... break :blk value; }`) to compute a value in place.",
        r"""const std = @import("std");

pub const Temperature = union(enum) {
    celsius: f64,
    fahrenheit: f64,
    kelvin: f64,

    pub fn toKelvin(self: Temperature) f64 {
        return switch (self) {
            .celsius => |c| c + 273.15,
            .fahrenheit => |f| (f - 32.0) * 5.0 / 9.0 + 273.15,
            .kelvin => |k| k,
        };
    }

    pub fn parse(text: []const u8) error{ BadNumber, BadUnit, BelowAbsoluteZero }!Temperature {
        if (text.len < 2) return error.BadNumber;
        const number = blk: {
            const digits = text[0 .. text.len - 1];
            break :blk std.fmt.parseFloat(f64, digits) catch return error.BadNumber;
        };
        const reading: Temperature = switch (std.ascii.toUpper(text[text.len - 1])) {
            'C' => .{ .celsius = number },
            'F' => .{ .fahrenheit = number },
            'K' => .{ .kelvin = number },
            else => return error.BadUnit,
        };
        if (reading.toKelvin() < 0) return error.BelowAbsoluteZero;
        return reading;
    }
};

pub fn warmest(readings: []const Temperature) ?usize {
    if (readings.len == 0) return null;
    var hottest: usize = 0;
    for (readings, 0..) |reading, i| {
        if (reading.toKelvin() > readings[hottest].toKelvin()) hottest = i;
    }
    return hottest;
}
""",
        r"""test "Temperature" {
    const body = try Temperature.parse("98.6F");
    try std.testing.expectApproxEqAbs(@as(f64, 310.15), body.toKelvin(), 1e-9);
    try std.testing.expectEqual(Temperature{ .celsius = -40 }, try Temperature.parse("-40c"));
    try std.testing.expectApproxEqAbs(@as(f64, 233.15), (try Temperature.parse("-40f")).toKelvin(), 1e-9);
    try std.testing.expectEqual(Temperature{ .kelvin = 0 }, try Temperature.parse("0K"));
    try std.testing.expectError(error.BelowAbsoluteZero, Temperature.parse("-300C"));
    try std.testing.expectError(error.BadUnit, Temperature.parse("20X"));
    try std.testing.expectError(error.BadNumber, Temperature.parse("C"));
    try std.testing.expectError(error.BadNumber, Temperature.parse("2x0C"));
    const readings = [_]Temperature{ .{ .celsius = 20 }, .{ .kelvin = 300 }, .{ .fahrenheit = 80 }, .{ .kelvin = 300 }, .{ .celsius = 26 } };
    try std.testing.expectEqual(@as(?usize, 1), warmest(&readings));
    try std.testing.expectEqual(@as(?usize, 1), warmest(readings[2..]));
    try std.testing.expectEqual(@as(?usize, null), warmest(&.{}));
}
""",
    ),
    (
        "isNumberLiteral",
        "Labeled switch",
        "`isNumberLiteral(text)` checks that `text` is a JSON number: an optional `-`, then `0` or a digit 1-9 "
        "followed by digits, then optionally `.` and at least one digit, then optionally `e` or `E`, an optional "
        "`+` or `-`, and at least one digit. Nothing else may follow. Write it as a state machine over an enum of "
        "states using Zig 0.14's labeled switch (`state: switch (State.start) { ... continue :state .next_state; }`), "
        "reading one character per step with character ranges (`'1'...'9'`).",
        r"""const std = @import("std");

const State = enum { start, sign, zero, integer, dot, fraction, exponent, exponent_sign, exponent_digits };

pub fn isNumberLiteral(text: []const u8) bool {
    var i: usize = 0;
    state: switch (State.start) {
        .start => {
            if (i == text.len) return false;
            i += 1;
            switch (text[i - 1]) {
                '-' => continue :state .sign,
                '0' => continue :state .zero,
                '1'...'9' => continue :state .integer,
                else => return false,
            }
        },
        .sign => {
            if (i == text.len) return false;
            i += 1;
            switch (text[i - 1]) {
                '0' => continue :state .zero,
                '1'...'9' => continue :state .integer,
                else => return false,
            }
        },
        .zero, .integer => |current| {
            if (i == text.len) return true;
            i += 1;
            switch (text[i - 1]) {
                '0'...'9' => {
                    if (current == .zero) return false;
                    continue :state .integer;
                },
                '.' => continue :state .dot,
                'e', 'E' => continue :state .exponent,
                else => return false,
            }
        },
        .dot => {
            if (i == text.len) return false;
            i += 1;
            switch (text[i - 1]) {
                '0'...'9' => continue :state .fraction,
                else => return false,
            }
        },
        .fraction => {
            if (i == text.len) return true;
            i += 1;
            switch (text[i - 1]) {
                '0'...'9' => continue :state .fraction,
                'e', 'E' => continue :state .exponent,
                else => return false,
            }
        },
        .exponent => {
            if (i == text.len) return false;
            i += 1;
            switch (text[i - 1]) {
                '+', '-' => continue :state .exponent_sign,
                '0'...'9' => continue :state .exponent_digits,
                else => return false,
            }
        },
        .exponent_sign => {
            if (i == text.len) return false;
            i += 1;
            switch (text[i - 1]) {
                '0'...'9' => continue :state .exponent_digits,
                else => return false,
            }
        },
        .exponent_digits => {
            if (i == text.len) return true;
            i += 1;
            switch (text[i - 1]) {
                '0'...'9' => continue :state .exponent_digits,
                else => return false,
            }
        },
    }
}
""",
        r"""test "isNumberLiteral" {
    for ([_][]const u8{ "0", "-0", "7", "120", "-3.25", "0.5", "1e9", "2E+10", "-4.0e-2", "10.01" }) |text| {
        try std.testing.expect(isNumberLiteral(text));
    }
    for ([_][]const u8{ "", "-", "01", "1.", ".5", "+1", "1e", "1e+", "1.2.3", "0x10", "12a", "--1", "1 " }) |text| {
        try std.testing.expect(!isNumberLiteral(text));
    }
}
""",
    ),
)

GENERIC_PROGRAMS: tuple[Entry, ...] = (
    (
        "BinaryHeap",
        "Generic Data Structures",
        "`BinaryHeap(T, lessThan)` is a generic priority queue: `fn BinaryHeap(comptime T: type, comptime "
        "lessThan: fn (T, T) bool) type`, a binary heap in a `std.ArrayList(T)` where the item for which "
        "`lessThan` holds against all others comes out first. Inside, refer to the type as `@This()`. "
        "Implement:\n\n"
        "- `init(allocator)` and `deinit(self)`.\n"
        "- `add(self, item)`: inserts (sift up).\n"
        "- `removeFirst(self)`: removes and returns the first item (sift down), `null` when empty.\n"
        "- `first(self)`: the first item without removing it (`null` when empty).\n"
        "- `count(self)`.",
        r"""const std = @import("std");

pub fn BinaryHeap(comptime T: type, comptime lessThan: fn (T, T) bool) type {
    return struct {
        const Self = @This();
        const comesFirst = lessThan;

        items: std.ArrayList(T),

        pub fn init(allocator: std.mem.Allocator) Self {
            return .{ .items = std.ArrayList(T).init(allocator) };
        }

        pub fn deinit(self: *Self) void {
            self.items.deinit();
        }

        pub fn add(self: *Self, item: T) !void {
            try self.items.append(item);
            const heap = self.items.items;
            var child = heap.len - 1;
            while (child > 0) {
                const parent = (child - 1) / 2;
                if (!comesFirst(heap[child], heap[parent])) break;
                std.mem.swap(T, &heap[child], &heap[parent]);
                child = parent;
            }
        }

        pub fn removeFirst(self: *Self) ?T {
            if (self.items.items.len == 0) return null;
            const top = self.items.swapRemove(0);
            const heap = self.items.items;
            var parent: usize = 0;
            while (true) {
                const left = 2 * parent + 1;
                if (left >= heap.len) break;
                var best = left;
                if (left + 1 < heap.len and comesFirst(heap[left + 1], heap[left])) best = left + 1;
                if (!comesFirst(heap[best], heap[parent])) break;
                std.mem.swap(T, &heap[best], &heap[parent]);
                parent = best;
            }
            return top;
        }

        pub fn first(self: Self) ?T {
            if (self.items.items.len == 0) return null;
            return self.items.items[0];
        }

        pub fn count(self: Self) usize {
            return self.items.items.len;
        }
    };
}
""",
        r"""fn smaller(a: i32, b: i32) bool {
    return a < b;
}

const Errand = struct { name: []const u8, urgency: u8 };

fn moreUrgent(a: Errand, b: Errand) bool {
    return a.urgency > b.urgency;
}

test "BinaryHeap of numbers" {
    var heap = BinaryHeap(i32, smaller).init(std.testing.allocator);
    defer heap.deinit();
    try std.testing.expectEqual(@as(?i32, null), heap.removeFirst());
    for ([_]i32{ 5, -3, 9, 0, 12, -3, 7, 1 }) |x| try heap.add(x);
    try std.testing.expectEqual(@as(?i32, -3), heap.first());
    try std.testing.expectEqual(@as(usize, 8), heap.count());
    var drained: [8]i32 = undefined;
    for (&drained) |*slot| slot.* = heap.removeFirst().?;
    try std.testing.expectEqualSlices(i32, &.{ -3, -3, 0, 1, 5, 7, 9, 12 }, &drained);
    try std.testing.expectEqual(@as(?i32, null), heap.first());
}

test "BinaryHeap of structs" {
    var heap = BinaryHeap(Errand, moreUrgent).init(std.testing.allocator);
    defer heap.deinit();
    try heap.add(.{ .name = "post", .urgency = 2 });
    try heap.add(.{ .name = "pharmacy", .urgency = 9 });
    try heap.add(.{ .name = "bank", .urgency = 5 });
    try std.testing.expectEqualStrings("pharmacy", heap.removeFirst().?.name);
    try std.testing.expectEqualStrings("bank", heap.removeFirst().?.name);
    try std.testing.expectEqual(@as(usize, 1), heap.count());
}
""",
    ),
    (
        "fieldDiff",
        "inline for",
        "Two helpers over any struct type, written with `inline for (std.meta.fields(T)) |field|`, `@field` and "
        "`std.meta.eql`:\n\n"
        "- `changedFields(before, after, names)`: `after` has the type of `before` (`@TypeOf(before)`). Returns how "
        "many fields differ, and writes the names of the first `names.len` differing fields, in declaration "
        "order, into `names`.\n"
        "- `copyMatching(dest, source)`: `dest` is a pointer to a struct, `source` a struct of maybe another "
        "type. Copies each field of `source` whose name also exists in the destination (`@hasField`) with the "
        "same type (`@FieldType`); returns how many fields were copied. Other fields are left alone.",
        r"""const std = @import("std");

pub fn changedFields(before: anytype, after: @TypeOf(before), names: [][]const u8) usize {
    var count: usize = 0;
    inline for (std.meta.fields(@TypeOf(before))) |field| {
        if (!std.meta.eql(@field(before, field.name), @field(after, field.name))) {
            if (count < names.len) names[count] = field.name;
            count += 1;
        }
    }
    return count;
}

pub fn copyMatching(dest: anytype, source: anytype) usize {
    const Dest = @typeInfo(@TypeOf(dest)).pointer.child;
    var copied: usize = 0;
    inline for (std.meta.fields(@TypeOf(source))) |field| {
        if (@hasField(Dest, field.name)) {
            if (@FieldType(Dest, field.name) == field.type) {
                @field(dest.*, field.name) = @field(source, field.name);
                copied += 1;
            }
        }
    }
    return copied;
}
""",
        r"""const Settings = struct { width: u32, height: u32, title: [4]u8, fullscreen: bool };
const Override = struct { height: u32, fullscreen: bool, width: u16, volume: u8 };

test "changedFields" {
    const before = Settings{ .width = 800, .height = 600, .title = "demo".*, .fullscreen = false };
    var after = before;
    var names: [4][]const u8 = undefined;
    try std.testing.expectEqual(@as(usize, 0), changedFields(before, after, &names));
    after.height = 720;
    after.title[0] = 'D';
    after.fullscreen = true;
    try std.testing.expectEqual(@as(usize, 3), changedFields(before, after, &names));
    try std.testing.expectEqualStrings("height", names[0]);
    try std.testing.expectEqualStrings("title", names[1]);
    try std.testing.expectEqualStrings("fullscreen", names[2]);
    var one: [1][]const u8 = undefined;
    try std.testing.expectEqual(@as(usize, 3), changedFields(before, after, &one));
    try std.testing.expectEqualStrings("height", one[0]);
}

test "copyMatching" {
    var settings = Settings{ .width = 800, .height = 600, .title = "demo".*, .fullscreen = false };
    const copied = copyMatching(&settings, Override{ .height = 1080, .fullscreen = true, .width = 1920, .volume = 3 });
    try std.testing.expectEqual(@as(usize, 2), copied);
    try std.testing.expectEqual(@as(u32, 800), settings.width);
    try std.testing.expectEqual(@as(u32, 1080), settings.height);
    try std.testing.expect(settings.fullscreen);
}
""",
    ),
    (
        "describeType",
        "@typeInfo",
        "`describeType(comptime T: type) []const u8` describes a type in words, switching on `@typeInfo(T)` "
        "with the Zig 0.14 tag names and building text at compile time with `std.fmt.comptimePrint`:\n\n"
        '- integers: `"signed 32-bit integer"` / `"unsigned 8-bit integer"`;\n'
        '- floats: `"64-bit float"`; `bool`: `"boolean"`;\n'
        '- structs: `"struct with N fields"`; enums: `"enum with N tags"`;\n'
        '- optionals: `"optional "` followed by the description of the child type;\n'
        '- anything else: `"other"`.\n\n'
        "Also `isUnsigned(comptime T: type) bool`: `true` only for unsigned integer types.",
        r"""const std = @import("std");

pub fn describeType(comptime T: type) []const u8 {
    return switch (@typeInfo(T)) {
        .int => |info| std.fmt.comptimePrint("{s} {d}-bit integer", .{
            if (info.signedness == .signed) "signed" else "unsigned",
            info.bits,
        }),
        .float => |info| std.fmt.comptimePrint("{d}-bit float", .{info.bits}),
        .bool => "boolean",
        .@"struct" => |info| std.fmt.comptimePrint("struct with {d} fields", .{info.fields.len}),
        .@"enum" => |info| std.fmt.comptimePrint("enum with {d} tags", .{info.fields.len}),
        .optional => |info| "optional " ++ comptime describeType(info.child),
        else => "other",
    };
}

pub fn isUnsigned(comptime T: type) bool {
    return switch (@typeInfo(T)) {
        .int => |info| info.signedness == .unsigned,
        else => false,
    };
}
""",
        r"""const Point = struct { x: i32, y: i32, label: []const u8 };
const Color = enum { red, green, blue, alpha };

test "describeType" {
    try std.testing.expectEqualStrings("signed 32-bit integer", describeType(i32));
    try std.testing.expectEqualStrings("unsigned 7-bit integer", describeType(u7));
    try std.testing.expectEqualStrings("64-bit float", describeType(f64));
    try std.testing.expectEqualStrings("boolean", describeType(bool));
    try std.testing.expectEqualStrings("struct with 3 fields", describeType(Point));
    try std.testing.expectEqualStrings("enum with 4 tags", describeType(Color));
    try std.testing.expectEqualStrings("optional optional unsigned 16-bit integer", describeType(??u16));
    try std.testing.expectEqualStrings("other", describeType([]const u8));
    try std.testing.expect(isUnsigned(usize) and isUnsigned(u1));
    try std.testing.expect(!isUnsigned(i8) and !isUnsigned(f32) and !isUnsigned(Color));
}
""",
    ),
    (
        "recordTotals",
        "@hasField",
        "Helpers over slices of records of any struct type, checked at compile time:\n\n"
        "- `totalOf(records, comptime field)`: `records` is a slice of structs; returns the sum of the named "
        "integer field over all records as `i64` (read with `@field`). If the struct has no such field, "
        "compilation fails with `@compileError` naming the field.\n"
        "- `idOf(record)`: the record's `id` field as `u64` when its type has one (`@hasField`), `null` "
        "otherwise.\n"
        "- `countWhere(records, comptime field, value)`: how many records have that field equal to `value`.",
        r"""const std = @import("std");

fn Record(comptime Records: type) type {
    return std.meta.Elem(Records);
}

pub fn totalOf(records: anytype, comptime field: []const u8) i64 {
    if (!@hasField(Record(@TypeOf(records)), field)) @compileError("records have no field '" ++ field ++ "'");
    var total: i64 = 0;
    for (records) |record| total += @field(record, field);
    return total;
}

pub fn idOf(record: anytype) ?u64 {
    if (comptime @hasField(@TypeOf(record), "id")) {
        return @intCast(record.id);
    }
    return null;
}

pub fn countWhere(records: anytype, comptime field: []const u8, value: anytype) usize {
    var count: usize = 0;
    for (records) |record| {
        if (std.meta.eql(@field(record, field), value)) count += 1;
    }
    return count;
}
""",
        r"""const Order = struct { id: u32, quantity: i32, status: enum { open, shipped } };
const Note = struct { text: []const u8 };

test "recordTotals" {
    const orders = [_]Order{
        .{ .id = 7, .quantity = 3, .status = .open },
        .{ .id = 9, .quantity = -1, .status = .shipped },
        .{ .id = 12, .quantity = 10, .status = .open },
    };
    try std.testing.expectEqual(@as(i64, 12), totalOf(&orders, "quantity"));
    try std.testing.expectEqual(@as(i64, 28), totalOf(orders[0..], "id"));
    try std.testing.expectEqual(@as(i64, 0), totalOf(orders[0..0], "quantity"));
    try std.testing.expectEqual(@as(?u64, 9), idOf(orders[1]));
    try std.testing.expectEqual(@as(?u64, null), idOf(Note{ .text = "x" }));
    try std.testing.expectEqual(@as(usize, 2), countWhere(&orders, "status", .open));
    try std.testing.expectEqual(@as(usize, 1), countWhere(&orders, "quantity", @as(i32, 10)));
}
""",
    ),
    (
        "Grid",
        "Compile-Time Parameters",
        "`Grid(T)` is a generic 2-D grid of `T` with `width * height` cells in one heap slice, row by row "
        "(`fn Grid(comptime T: type) type`). Implement:\n\n"
        "- `init(allocator, width, height, fill)`: every cell `fill`; `deinit(self)`.\n"
        "- `get(self, x, y)`: the cell, or `null` when `(x, y)` is outside.\n"
        "- `set(self, x, y, value)`: `error.OutsideGrid` when outside.\n"
        "- `row(self, y)`: the cells of row `y` as a slice.\n"
        "- `count(self, value)`: how many cells equal `value` (compare with `std.meta.eql`, so any `T` works).\n"
        "- `transposed(self, allocator)`: a new grid, `height` wide and `width` high, with cell `(y, x)` = "
        "cell `(x, y)` of this one.",
        r"""const std = @import("std");

pub fn Grid(comptime T: type) type {
    return struct {
        const Self = @This();

        allocator: std.mem.Allocator,
        width: usize,
        height: usize,
        cells: []T,

        pub fn init(allocator: std.mem.Allocator, width: usize, height: usize, fill: T) !Self {
            const cells = try allocator.alloc(T, width * height);
            @memset(cells, fill);
            return .{ .allocator = allocator, .width = width, .height = height, .cells = cells };
        }

        pub fn deinit(self: *Self) void {
            self.allocator.free(self.cells);
        }

        fn cellIndex(self: Self, x: usize, y: usize) ?usize {
            if (y < self.height and x < self.width) return y * self.width + x;
            return null;
        }

        pub fn get(self: Self, x: usize, y: usize) ?T {
            const i = self.cellIndex(x, y) orelse return null;
            return self.cells[i];
        }

        pub fn set(self: *Self, x: usize, y: usize, value: T) error{OutsideGrid}!void {
            const i = self.cellIndex(x, y) orelse return error.OutsideGrid;
            self.cells[i] = value;
        }

        pub fn row(self: Self, y: usize) []const T {
            const start = y * self.width;
            return self.cells[start..][0..self.width];
        }

        pub fn count(self: Self, value: T) usize {
            var found: usize = 0;
            for (self.cells) |cell| {
                if (std.meta.eql(cell, value)) found += 1;
            }
            return found;
        }

        pub fn transposed(self: Self, allocator: std.mem.Allocator) !Self {
            const cells = try allocator.alloc(T, self.cells.len);
            for (0..self.height) |y| {
                for (0..self.width) |x| cells[x * self.height + y] = self.cells[y * self.width + x];
            }
            return .{ .allocator = allocator, .width = self.height, .height = self.width, .cells = cells };
        }
    };
}
""",
        r"""test "Grid of chars" {
    var grid = try Grid(u8).init(std.testing.allocator, 3, 2, '.');
    defer grid.deinit();
    try grid.set(0, 0, '#');
    try grid.set(2, 1, '@');
    try std.testing.expectError(error.OutsideGrid, grid.set(3, 0, 'x'));
    try std.testing.expectEqual(@as(?u8, null), grid.get(0, 2));
    try std.testing.expectEqualStrings("#..", grid.row(0));
    try std.testing.expectEqualStrings("..@", grid.row(1));
    try std.testing.expectEqual(@as(usize, 4), grid.count('.'));
    var flipped = try grid.transposed(std.testing.allocator);
    defer flipped.deinit();
    try std.testing.expectEqual(@as(usize, 2), flipped.width);
    try std.testing.expectEqualStrings("#.", flipped.row(0));
    try std.testing.expectEqualStrings("..", flipped.row(1));
    try std.testing.expectEqualStrings(".@", flipped.row(2));
}

test "Grid of structs" {
    const Cell = struct { alive: bool, age: u8 };
    var grid = try Grid(Cell).init(std.testing.allocator, 2, 2, .{ .alive = false, .age = 0 });
    defer grid.deinit();
    try grid.set(1, 1, .{ .alive = true, .age = 3 });
    try std.testing.expectEqual(@as(usize, 3), grid.count(.{ .alive = false, .age = 0 }));
    try std.testing.expectEqual(@as(u8, 3), grid.get(1, 1).?.age);
}
""",
    ),
    (
        "writeFields",
        "Function Parameter Type Inference",
        '`writeFields(writer, value)` writes any struct as `name=value` pairs separated by `", "` to any '
        "writer (`anytype` for both). Per field type, checked with `@typeInfo` at compile time: integers and "
        "floats with `{d}`, `bool` as `true`/`false`, enums by tag name (`@tagName`), `[]const u8` in double "
        "quotes; any other field type is a `@compileError`. A struct without fields writes nothing. The error set "
        "is the writer's.",
        r"""const std = @import("std");

pub fn writeFields(writer: anytype, value: anytype) !void {
    inline for (std.meta.fields(@TypeOf(value)), 0..) |field, i| {
        if (i > 0) try writer.writeAll(", ");
        const item = @field(value, field.name);
        switch (@typeInfo(field.type)) {
            .int, .float, .comptime_int, .comptime_float => try writer.print("{s}={d}", .{ field.name, item }),
            .bool => try writer.print("{s}={}", .{ field.name, item }),
            .@"enum" => try writer.print("{s}={s}", .{ field.name, @tagName(item) }),
            else => {
                if (field.type != []const u8) @compileError("cannot write field '" ++ field.name ++ "'");
                try writer.print("{s}=\"{s}\"", .{ field.name, item });
            },
        }
    }
}
""",
        r"""const Level = enum { debug, info, warn };
const Event = struct { id: u64, level: Level, message: []const u8, ratio: f32, urgent: bool };

test "writeFields" {
    var out = std.ArrayList(u8).init(std.testing.allocator);
    defer out.deinit();
    const event = Event{ .id = 42, .level = .warn, .message = "disk full", .ratio = 0.5, .urgent = true };
    try writeFields(out.writer(), event);
    try std.testing.expectEqualStrings("id=42, level=warn, message=\"disk full\", ratio=0.5, urgent=true", out.items);
    out.clearRetainingCapacity();
    try writeFields(out.writer(), struct { delta: i8 }{ .delta = -3 });
    try std.testing.expectEqualStrings("delta=-3", out.items);
    out.clearRetainingCapacity();
    try writeFields(out.writer(), struct {}{});
    try std.testing.expectEqualStrings("", out.items);
}
""",
    ),
    (
        "Tally",
        "Generic Data Structures",
        "`Tally(E)` counts occurrences of the tags of any enum type `E` (`fn Tally(comptime E: type) type`; a "
        'non-enum `E` is a `@compileError`, checked with `@typeInfo(E) != .@"enum"`). It stores the counts in a '
        "`std.EnumArray(E, u32)` and needs no allocator. Implement:\n\n"
        "- `init()`: all counts 0.\n"
        "- `add(self, tag)` and `get(self, tag)`.\n"
        "- `most(self)`: the tag with the highest count, the first declared among equals; `null` when nothing "
        "was added.\n"
        "- `write(self, writer)`: `name=count` for every tag in declaration order, separated by single spaces "
        '(`"red=2 green=0 blue=1"`).',
        r"""const std = @import("std");

pub fn Tally(comptime E: type) type {
    if (@typeInfo(E) != .@"enum") @compileError("Tally needs an enum type, got " ++ @typeName(E));
    return struct {
        const Self = @This();

        counts: std.EnumArray(E, u32),

        pub fn init() Self {
            return .{ .counts = std.EnumArray(E, u32).initFill(0) };
        }

        pub fn add(self: *Self, tag: E) void {
            self.counts.getPtr(tag).* += 1;
        }

        pub fn get(self: Self, tag: E) u32 {
            return self.counts.get(tag);
        }

        pub fn most(self: Self) ?E {
            var best: ?E = null;
            var best_count: u32 = 0;
            inline for (std.meta.fields(E)) |field| {
                const tag = @field(E, field.name);
                if (self.counts.get(tag) > best_count) {
                    best = tag;
                    best_count = self.counts.get(tag);
                }
            }
            return best;
        }

        pub fn write(self: Self, writer: anytype) !void {
            inline for (std.meta.fields(E), 0..) |field, i| {
                if (i > 0) try writer.writeByte(' ');
                try writer.print("{s}={d}", .{ field.name, self.counts.get(@field(E, field.name)) });
            }
        }
    };
}
""",
        r"""const Color = enum { red, green, blue };
const Vote = enum(u8) { yes = 10, no = 20, abstain = 5 };

test "Tally" {
    var colors = Tally(Color).init();
    try std.testing.expectEqual(@as(?Color, null), colors.most());
    for ([_]Color{ .blue, .red, .red, .blue }) |c| colors.add(c);
    try std.testing.expectEqual(@as(u32, 2), colors.get(.red));
    try std.testing.expectEqual(@as(u32, 0), colors.get(.green));
    try std.testing.expectEqual(@as(?Color, .red), colors.most());
    var out = std.ArrayList(u8).init(std.testing.allocator);
    defer out.deinit();
    try colors.write(out.writer());
    try std.testing.expectEqualStrings("red=2 green=0 blue=2", out.items);
    var votes = Tally(Vote).init();
    votes.add(.abstain);
    votes.add(.no);
    votes.add(.abstain);
    try std.testing.expectEqual(@as(?Vote, .abstain), votes.most());
}
""",
    ),
)

SORT_PROGRAMS: tuple[Entry, ...] = (
    (
        "mergeIntervals",
        "Zig Standard Library",
        "`Interval` is a struct of `start: i32` and `end: i32` (inclusive, `start <= end`). Implement "
        "`mergeIntervals(allocator, intervals)`: returns a new slice (the caller frees it) of the union of the "
        "intervals, sorted by `start`, where intervals that overlap or touch (the next one starts at most one "
        "after the current end) are merged into one. The input may be in any order and is not changed; sort a "
        "copy with `std.mem.sort` and a `lessThan` function. An empty input gives an empty slice.",
        r"""const std = @import("std");

pub const Interval = struct {
    start: i32,
    end: i32,
};

fn startsBefore(_: void, a: Interval, b: Interval) bool {
    return a.start < b.start;
}

pub fn mergeIntervals(allocator: std.mem.Allocator, intervals: []const Interval) ![]Interval {
    const sorted = try allocator.dupe(Interval, intervals);
    defer allocator.free(sorted);
    std.mem.sort(Interval, sorted, {}, startsBefore);
    var merged = std.ArrayList(Interval).init(allocator);
    errdefer merged.deinit();
    for (sorted) |interval| {
        if (merged.items.len > 0) {
            const last = &merged.items[merged.items.len - 1];
            if (@as(i64, interval.start) <= @as(i64, last.end) + 1) {
                last.end = @max(last.end, interval.end);
                continue;
            }
        }
        try merged.append(interval);
    }
    return merged.toOwnedSlice();
}
""",
        r"""test "mergeIntervals" {
    const a = std.testing.allocator;
    const merged = try mergeIntervals(a, &.{
        .{ .start = 8, .end = 10 }, .{ .start = 1, .end = 3 }, .{ .start = 2, .end = 6 },
        .{ .start = 15, .end = 18 }, .{ .start = 11, .end = 12 }, .{ .start = 16, .end = 17 },
    });
    defer a.free(merged);
    try std.testing.expectEqualSlices(Interval, &.{
        .{ .start = 1, .end = 6 }, .{ .start = 8, .end = 12 }, .{ .start = 15, .end = 18 },
    }, merged);
    const none = try mergeIntervals(a, &.{});
    defer a.free(none);
    try std.testing.expectEqual(@as(usize, 0), none.len);
    const apart = try mergeIntervals(a, &.{ .{ .start = 5, .end = 5 }, .{ .start = -3, .end = 3 } });
    defer a.free(apart);
    try std.testing.expectEqualSlices(Interval, &.{ .{ .start = -3, .end = 3 }, .{ .start = 5, .end = 5 } }, apart);
}
""",
    ),
    (
        "raceResults",
        "Functions",
        "`Runner` is a struct of `name: []const u8`, `seconds: u32` and `finished: bool`. Implement:\n\n"
        "- `rankRunners(runners)`: sorts the slice in place with `std.mem.sort` and a `lessThan` function: "
        "finishers first, by fewer seconds, ties by name in byte order (`std.mem.lessThan`); runners who did not "
        "finish last, by name.\n"
        "- `placeOf(runners, name)`: in an already ranked slice, the 1-based place of the named runner; `null` "
        "if absent or not finished.\n"
        "- `gapToWinner(runners, name)`: seconds behind the winner of a ranked slice (`null` when `placeOf` is).",
        r"""const std = @import("std");

pub const Runner = struct {
    name: []const u8,
    seconds: u32,
    finished: bool,
};

fn ranksBefore(_: void, a: Runner, b: Runner) bool {
    if (a.finished != b.finished) return a.finished;
    if (a.finished and a.seconds != b.seconds) return a.seconds < b.seconds;
    return std.mem.lessThan(u8, a.name, b.name);
}

pub fn rankRunners(runners: []Runner) void {
    std.mem.sort(Runner, runners, {}, ranksBefore);
}

pub fn placeOf(runners: []const Runner, name: []const u8) ?usize {
    for (runners, 1..) |runner, place| {
        if (!runner.finished) return null;
        if (std.mem.eql(u8, runner.name, name)) return place;
    }
    return null;
}

pub fn gapToWinner(runners: []const Runner, name: []const u8) ?u32 {
    const place = placeOf(runners, name) orelse return null;
    return runners[place - 1].seconds - runners[0].seconds;
}
""",
        r"""test "raceResults" {
    var runners = [_]Runner{
        .{ .name = "kim", .seconds = 3605, .finished = true },
        .{ .name = "ada", .seconds = 0, .finished = false },
        .{ .name = "lee", .seconds = 3550, .finished = true },
        .{ .name = "bob", .seconds = 3605, .finished = true },
        .{ .name = "abe", .seconds = 10, .finished = false },
    };
    rankRunners(&runners);
    const expected = [_][]const u8{ "lee", "bob", "kim", "abe", "ada" };
    for (expected, runners) |name, runner| try std.testing.expectEqualStrings(name, runner.name);
    try std.testing.expectEqual(@as(?usize, 3), placeOf(&runners, "kim"));
    try std.testing.expectEqual(@as(?usize, null), placeOf(&runners, "ada"));
    try std.testing.expectEqual(@as(?usize, null), placeOf(&runners, "zoe"));
    try std.testing.expectEqual(@as(?u32, 55), gapToWinner(&runners, "bob"));
    try std.testing.expectEqual(@as(?u32, 0), gapToWinner(&runners, "lee"));
    try std.testing.expectEqual(@as(?u32, null), gapToWinner(&runners, "abe"));
}
""",
    ),
    (
        "PhoneBook",
        "Zig Standard Library",
        "A phone book is a slice of `Contact` (`name: []const u8`, `number: []const u8`). Implement:\n\n"
        "- `sortContacts(contacts)`: sorts by name in byte order (`std.mem.sort`).\n"
        "- `findNumber(contacts, name)`: in a sorted book, the number of the contact with exactly that name, found "
        "with `std.sort.binarySearch` (Zig 0.14 signature: `binarySearch(T, items, context, compareFn)` where "
        "`compareFn(context, item)` returns a `std.math.Order`); `null` if absent.\n"
        "- `countPrefix(contacts, prefix)`: in a sorted book, how many names start with `prefix` (stop scanning "
        "once past them).",
        r"""const std = @import("std");

pub const Contact = struct {
    name: []const u8,
    number: []const u8,
};

fn byName(_: void, a: Contact, b: Contact) bool {
    return std.mem.lessThan(u8, a.name, b.name);
}

fn compareName(name: []const u8, contact: Contact) std.math.Order {
    return std.mem.order(u8, name, contact.name);
}

pub fn sortContacts(contacts: []Contact) void {
    std.mem.sort(Contact, contacts, {}, byName);
}

pub fn findNumber(contacts: []const Contact, name: []const u8) ?[]const u8 {
    const index = std.sort.binarySearch(Contact, contacts, name, compareName) orelse return null;
    return contacts[index].number;
}

pub fn countPrefix(contacts: []const Contact, prefix: []const u8) usize {
    var count: usize = 0;
    for (contacts) |contact| {
        if (std.mem.startsWith(u8, contact.name, prefix)) {
            count += 1;
        } else if (count > 0) {
            break;
        }
    }
    return count;
}
""",
        r"""test "PhoneBook" {
    var book = [_]Contact{
        .{ .name = "Mona", .number = "555-0101" },
        .{ .name = "Al", .number = "555-0199" },
        .{ .name = "Max", .number = "555-0150" },
        .{ .name = "Zed", .number = "555-0111" },
        .{ .name = "Mo", .number = "555-0123" },
    };
    sortContacts(&book);
    try std.testing.expectEqualStrings("Al", book[0].name);
    try std.testing.expectEqualStrings("Mo", book[2].name);
    try std.testing.expectEqualStrings("555-0150", findNumber(&book, "Max").?);
    try std.testing.expectEqualStrings("555-0111", findNumber(&book, "Zed").?);
    try std.testing.expectEqual(@as(?[]const u8, null), findNumber(&book, "Mon"));
    try std.testing.expectEqual(@as(?[]const u8, null), findNumber(book[0..0], "Al"));
    try std.testing.expectEqual(@as(usize, 3), countPrefix(&book, "M"));
    try std.testing.expectEqual(@as(usize, 2), countPrefix(&book, "Mo"));
    try std.testing.expectEqual(@as(usize, 0), countPrefix(&book, "B"));
}
""",
    ),
    (
        "twoPointers",
        "Slices",
        "Two-pointer algorithms on sorted (non-decreasing) slices of `i32`:\n\n"
        "- `pairWithSum(sorted, target)`: indices `[i, j]` with `i < j` and `sorted[i] + sorted[j] == target`, "
        "found by moving one index in from each end (the first pair found that way); `null` if there is none.\n"
        "- `dedupSorted(items)`: moves the distinct values to the front in order and returns that prefix "
        "(`items` itself is changed; an empty slice stays empty).\n"
        "- `mergeSorted(allocator, a, b)`: a new sorted slice with all values of both (the caller frees it).",
        r"""const std = @import("std");

pub fn pairWithSum(sorted: []const i32, target: i64) ?[2]usize {
    if (sorted.len < 2) return null;
    var low: usize = 0;
    var high: usize = sorted.len - 1;
    while (low < high) {
        const sum = @as(i64, sorted[low]) + sorted[high];
        if (sum == target) return .{ low, high };
        if (sum < target) {
            low += 1;
        } else {
            high -= 1;
        }
    }
    return null;
}

pub fn dedupSorted(items: []i32) []i32 {
    if (items.len == 0) return items;
    var kept: usize = 1;
    for (items[1..]) |value| {
        if (value != items[kept - 1]) {
            items[kept] = value;
            kept += 1;
        }
    }
    return items[0..kept];
}

pub fn mergeSorted(allocator: std.mem.Allocator, a: []const i32, b: []const i32) ![]i32 {
    const merged = try allocator.alloc(i32, a.len + b.len);
    var i: usize = 0;
    var j: usize = 0;
    for (merged) |*slot| {
        if (j >= b.len or (i < a.len and a[i] <= b[j])) {
            slot.* = a[i];
            i += 1;
        } else {
            slot.* = b[j];
            j += 1;
        }
    }
    return merged;
}
""",
        r"""test "pairWithSum" {
    const sorted = [_]i32{ -4, -1, 0, 3, 5, 9, 12 };
    try std.testing.expectEqual(@as(?[2]usize, .{ 0, 6 }), pairWithSum(&sorted, 8));
    try std.testing.expectEqual(@as(?[2]usize, .{ 1, 4 }), pairWithSum(&sorted, 4));
    try std.testing.expectEqual(@as(?[2]usize, null), pairWithSum(&sorted, 100));
    try std.testing.expectEqual(@as(?[2]usize, null), pairWithSum(&[_]i32{6}, 12));
}

test "dedupSorted" {
    var items = [_]i32{ -2, -2, 0, 1, 1, 1, 7, 9, 9 };
    try std.testing.expectEqualSlices(i32, &.{ -2, 0, 1, 7, 9 }, dedupSorted(&items));
    var same = [_]i32{ 4, 4, 4 };
    try std.testing.expectEqualSlices(i32, &.{4}, dedupSorted(&same));
    try std.testing.expectEqual(@as(usize, 0), dedupSorted(&.{}).len);
}

test "mergeSorted" {
    const merged = try mergeSorted(std.testing.allocator, &.{ 1, 4, 4, 10 }, &.{ -3, 4, 5, 20, 30 });
    defer std.testing.allocator.free(merged);
    try std.testing.expectEqualSlices(i32, &.{ -3, 1, 4, 4, 4, 5, 10, 20, 30 }, merged);
    const one_side = try mergeSorted(std.testing.allocator, &.{}, &.{ 2, 3 });
    defer std.testing.allocator.free(one_side);
    try std.testing.expectEqualSlices(i32, &.{ 2, 3 }, one_side);
}
""",
    ),
    (
        "rotations",
        "Slices",
        "Slice helpers built on `std.mem`:\n\n"
        "- `rotateLeft(items, k)`: rotates the `i32` slice left by `k` places in place (`k` may exceed the "
        "length; an empty slice is left alone), with three `std.mem.reverse` calls.\n"
        "- `spread(items)`: the largest minus the smallest value (`std.mem.max` / `std.mem.min`) as `u32`, `null` "
        "for an empty slice; must not overflow for any `i32` values.\n"
        "- `isMirror(items)`: `true` when the slice reads the same both ways, checked with two indices moving "
        "toward the middle.",
        r"""const std = @import("std");

pub fn rotateLeft(items: []i32, k: usize) void {
    if (items.len == 0) return;
    const shift = k % items.len;
    std.mem.reverse(i32, items[0..shift]);
    std.mem.reverse(i32, items[shift..]);
    std.mem.reverse(i32, items);
}

pub fn spread(items: []const i32) ?u32 {
    if (items.len == 0) return null;
    const difference = @as(i64, std.mem.max(i32, items)) - std.mem.min(i32, items);
    return @intCast(difference);
}

pub fn isMirror(items: []const i32) bool {
    if (items.len < 2) return true;
    var left: usize = 0;
    var right: usize = items.len - 1;
    while (left < right) : ({
        left += 1;
        right -= 1;
    }) {
        if (items[left] != items[right]) return false;
    }
    return true;
}
""",
        r"""test "rotateLeft" {
    var items = [_]i32{ 1, 2, 3, 4, 5 };
    rotateLeft(&items, 2);
    try std.testing.expectEqualSlices(i32, &.{ 3, 4, 5, 1, 2 }, &items);
    rotateLeft(&items, 8);
    try std.testing.expectEqualSlices(i32, &.{ 1, 2, 3, 4, 5 }, &items);
    rotateLeft(&items, 5);
    try std.testing.expectEqualSlices(i32, &.{ 1, 2, 3, 4, 5 }, &items);
    rotateLeft(&.{}, 3);
}

test "spread and isMirror" {
    try std.testing.expectEqual(@as(?u32, 13), spread(&.{ 4, -3, 10, 0 }));
    try std.testing.expectEqual(@as(?u32, null), spread(&.{}));
    try std.testing.expectEqual(@as(?u32, 4294967295), spread(&.{ std.math.minInt(i32), std.math.maxInt(i32) }));
    try std.testing.expect(isMirror(&.{ 1, 2, 3, 2, 1 }));
    try std.testing.expect(isMirror(&.{ 5, 5 }));
    try std.testing.expect(isMirror(&.{}));
    try std.testing.expect(!isMirror(&.{ 1, 2, 3, 1 }));
}
""",
    ),
    (
        "closestValues",
        "Zig Standard Library",
        "`closestValues(allocator, values, target, k)`: the `k` values of `values` nearest to `target` (all of "
        "them when `k` is larger), as a new slice the caller frees, ordered by distance to `target` and, for "
        "equal distances, the smaller value first. `values` is not changed. Sort a copy with `std.mem.sort`, "
        "passing the target in a context struct to the `lessThan` function. Distances must not overflow for any "
        "`i32`.",
        r"""const std = @import("std");

const ByDistance = struct {
    target: i32,

    fn distance(self: ByDistance, value: i32) u64 {
        return @abs(@as(i64, value) - self.target);
    }

    fn lessThan(self: ByDistance, a: i32, b: i32) bool {
        const da = self.distance(a);
        const db = self.distance(b);
        if (da != db) return da < db;
        return a < b;
    }
};

pub fn closestValues(allocator: std.mem.Allocator, values: []const i32, target: i32, k: usize) ![]i32 {
    const sorted = try allocator.dupe(i32, values);
    defer allocator.free(sorted);
    std.mem.sort(i32, sorted, ByDistance{ .target = target }, ByDistance.lessThan);
    return allocator.dupe(i32, sorted[0..@min(k, sorted.len)]);
}
""",
        r"""test "closestValues" {
    const a = std.testing.allocator;
    const values = [_]i32{ 10, -2, 7, 3, 5, 4, 12, 6 };
    const three = try closestValues(a, &values, 5, 3);
    defer a.free(three);
    try std.testing.expectEqualSlices(i32, &.{ 5, 4, 6 }, three);
    const ties = try closestValues(a, &values, 11, 3);
    defer a.free(ties);
    try std.testing.expectEqualSlices(i32, &.{ 10, 12, 7 }, ties);
    const all = try closestValues(a, &.{ 2, -2 }, 0, 10);
    defer a.free(all);
    try std.testing.expectEqualSlices(i32, &.{ -2, 2 }, all);
    const extreme = try closestValues(a, &.{ std.math.maxInt(i32), 0 }, std.math.minInt(i32), 1);
    defer a.free(extreme);
    try std.testing.expectEqualSlices(i32, &.{0}, extreme);
    try std.testing.expectEqual(@as(i32, 10), values[0]);
}
""",
    ),
    (
        "topWords",
        "Zig Standard Library",
        "`WordCount` is a struct of `word: []const u8` and `count: u32`. Implement `topWords(allocator, text, n)`: "
        "counts the words of `text` (separated by spaces and newlines) with a `std.StringHashMap(u32)` (freed "
        "before returning; the words are slices of `text`, so no copies are needed) and returns the `n` most "
        "frequent as a new slice the caller frees: more frequent first, equal counts in byte order of the word. "
        "Fewer than `n` words give them all.",
        r"""const std = @import("std");

pub const WordCount = struct {
    word: []const u8,
    count: u32,
};

fn moreFrequent(_: void, a: WordCount, b: WordCount) bool {
    if (a.count != b.count) return a.count > b.count;
    return std.mem.lessThan(u8, a.word, b.word);
}

pub fn topWords(allocator: std.mem.Allocator, text: []const u8, n: usize) ![]WordCount {
    var counts = std.StringHashMap(u32).init(allocator);
    defer counts.deinit();
    var words = std.mem.tokenizeAny(u8, text, " \n");
    while (words.next()) |word| {
        const slot = try counts.getOrPut(word);
        slot.value_ptr.* = if (slot.found_existing) slot.value_ptr.* + 1 else 1;
    }
    var all = try std.ArrayList(WordCount).initCapacity(allocator, counts.count());
    errdefer all.deinit();
    var entries = counts.iterator();
    while (entries.next()) |entry| all.appendAssumeCapacity(.{ .word = entry.key_ptr.*, .count = entry.value_ptr.* });
    std.mem.sort(WordCount, all.items, {}, moreFrequent);
    all.shrinkRetainingCapacity(@min(n, all.items.len));
    return all.toOwnedSlice();
}
""",
        r"""test "topWords" {
    const a = std.testing.allocator;
    const text = "the cat and the dog\nand the bird saw a cat";
    const top = try topWords(a, text, 3);
    defer a.free(top);
    try std.testing.expectEqual(@as(usize, 3), top.len);
    try std.testing.expectEqualStrings("the", top[0].word);
    try std.testing.expectEqual(@as(u32, 3), top[0].count);
    try std.testing.expectEqualStrings("and", top[1].word);
    try std.testing.expectEqualStrings("cat", top[2].word);
    try std.testing.expectEqual(@as(u32, 2), top[2].count);
    const few = try topWords(a, "  b a b ", 10);
    defer a.free(few);
    try std.testing.expectEqual(@as(usize, 2), few.len);
    try std.testing.expectEqualStrings("a", few[1].word);
    const none = try topWords(a, "", 2);
    defer a.free(none);
    try std.testing.expectEqual(@as(usize, 0), none.len);
}
""",
    ),
)

TEXT_PROGRAMS: tuple[Entry, ...] = (
    (
        "ConfigFile",
        "Errors",
        "`ConfigFile.parse(allocator, text)` reads a `key = value` config: one setting per line, spaces and tabs "
        "around keys and values trimmed, blank lines and lines starting with `#` (after trimming) skipped; a later "
        "line for the same key replaces the earlier value. Keys and values are copies owned by a "
        "`std.StringHashMap([]u8)` inside the config (on an error, everything parsed so far is freed). Errors: "
        "`error.MissingEquals` for a line without `=`, `error.EmptyKey` when nothing precedes the `=`, "
        "`error.OutOfMemory`. Implement also:\n\n"
        "- `deinit(self)`.\n"
        "- `get(self, key)`: the value, `null` if absent.\n"
        "- `getInt(self, key)`: the value as `i64` (`null` if absent); `error.InvalidNumber` when it is not a "
        "decimal integer.\n"
        "- `count(self)`: the number of keys.",
        r"""const std = @import("std");

pub const ConfigFile = struct {
    allocator: std.mem.Allocator,
    entries: std.StringHashMap([]u8),

    pub fn parse(allocator: std.mem.Allocator, text: []const u8) !ConfigFile {
        var config = ConfigFile{ .allocator = allocator, .entries = std.StringHashMap([]u8).init(allocator) };
        errdefer config.deinit();
        var rows = std.mem.splitScalar(u8, text, '\n');
        while (rows.next()) |raw| {
            const setting = std.mem.trim(u8, raw, " \t\r");
            if (setting.len == 0 or setting[0] == '#') continue;
            const equals = std.mem.indexOfScalar(u8, setting, '=') orelse return error.MissingEquals;
            const key = std.mem.trim(u8, setting[0..equals], " \t");
            if (key.len == 0) return error.EmptyKey;
            try config.put(key, std.mem.trim(u8, setting[equals + 1 ..], " \t"));
        }
        return config;
    }

    fn put(self: *ConfigFile, key: []const u8, value: []const u8) !void {
        const owned_value = try self.allocator.dupe(u8, value);
        errdefer self.allocator.free(owned_value);
        const slot = try self.entries.getOrPut(key);
        if (slot.found_existing) {
            self.allocator.free(slot.value_ptr.*);
        } else {
            slot.key_ptr.* = self.allocator.dupe(u8, key) catch |err| {
                self.entries.removeByPtr(slot.key_ptr);
                return err;
            };
        }
        slot.value_ptr.* = owned_value;
    }

    pub fn deinit(self: *ConfigFile) void {
        var entries = self.entries.iterator();
        while (entries.next()) |entry| {
            self.allocator.free(entry.key_ptr.*);
            self.allocator.free(entry.value_ptr.*);
        }
        self.entries.deinit();
    }

    pub fn get(self: *const ConfigFile, key: []const u8) ?[]const u8 {
        return self.entries.get(key);
    }

    pub fn getInt(self: *const ConfigFile, key: []const u8) error{InvalidNumber}!?i64 {
        const text = self.get(key) orelse return null;
        return std.fmt.parseInt(i64, text, 10) catch error.InvalidNumber;
    }

    pub fn count(self: *const ConfigFile) usize {
        return self.entries.count();
    }
};
""",
        r"""test "ConfigFile" {
    const text =
        \\# server settings
        \\host = example.org
        \\  port=8080
        \\
        \\name = my app = v2
        \\timeout = soon
        \\port = 9090
    ;
    var config = try ConfigFile.parse(std.testing.allocator, text);
    defer config.deinit();
    try std.testing.expectEqual(@as(usize, 4), config.count());
    try std.testing.expectEqualStrings("example.org", config.get("host").?);
    try std.testing.expectEqualStrings("my app = v2", config.get("name").?);
    try std.testing.expectEqual(@as(?i64, 9090), try config.getInt("port"));
    try std.testing.expectEqual(@as(?i64, null), try config.getInt("retries"));
    try std.testing.expectError(error.InvalidNumber, config.getInt("timeout"));
    try std.testing.expectEqual(@as(?[]const u8, null), config.get("# server settings"));
}

test "ConfigFile errors free what was parsed" {
    try std.testing.expectError(error.MissingEquals, ConfigFile.parse(std.testing.allocator, "a = 1\nb 2\n"));
    try std.testing.expectError(error.EmptyKey, ConfigFile.parse(std.testing.allocator, "a = 1\n = 2"));
    var empty = try ConfigFile.parse(std.testing.allocator, "\n# nothing\n");
    defer empty.deinit();
    try std.testing.expectEqual(@as(usize, 0), empty.count());
}
""",
    ),
    (
        "parseRoster",
        "errdefer",
        "`Person` is a struct of `name: []u8` (owned) and `age: u8`. Implement:\n\n"
        "- `parseRoster(allocator, csv)`: `csv` starts with the header line `name,age`, then one `name,age` row "
        "per line (a trailing newline is allowed; blank lines are skipped; names are trimmed of spaces). Returns a "
        "new slice of people (the caller frees it with `freeRoster`). Errors: `error.BadHeader`, `error.BadRow` "
        "(not exactly two fields, or an empty name), `error.BadAge` (not a `u8`), `error.OutOfMemory`. On an "
        "error, every name copied so far is freed (`errdefer`).\n"
        "- `freeRoster(allocator, people)`: frees the names and the slice.\n"
        "- `averageAge(people)`: as `f64`, `null` for nobody.",
        r"""const std = @import("std");

pub const Person = struct {
    name: []u8,
    age: u8,
};

pub fn freeRoster(allocator: std.mem.Allocator, people: []Person) void {
    for (people) |person| allocator.free(person.name);
    allocator.free(people);
}

pub fn parseRoster(allocator: std.mem.Allocator, csv: []const u8) ![]Person {
    var rows = std.mem.splitScalar(u8, csv, '\n');
    const header = rows.next() orelse return error.BadHeader;
    if (!std.mem.eql(u8, header, "name,age")) return error.BadHeader;
    var people = std.ArrayList(Person).init(allocator);
    errdefer {
        for (people.items) |person| allocator.free(person.name);
        people.deinit();
    }
    while (rows.next()) |row| {
        if (row.len == 0) continue;
        var cells = std.mem.splitScalar(u8, row, ',');
        const name = std.mem.trim(u8, cells.next().?, " ");
        const age_text = cells.next() orelse return error.BadRow;
        if (cells.next() != null or name.len == 0) return error.BadRow;
        const age = std.fmt.parseInt(u8, age_text, 10) catch return error.BadAge;
        const owned = try allocator.dupe(u8, name);
        errdefer allocator.free(owned);
        try people.append(.{ .name = owned, .age = age });
    }
    return people.toOwnedSlice();
}

pub fn averageAge(people: []const Person) ?f64 {
    if (people.len == 0) return null;
    var total: u64 = 0;
    for (people) |person| total += person.age;
    return @as(f64, @floatFromInt(total)) / @as(f64, @floatFromInt(people.len));
}
""",
        r"""test "parseRoster" {
    const a = std.testing.allocator;
    const people = try parseRoster(a, "name,age\n Ann ,31\nBo,4\n\nCyd,255\n");
    defer freeRoster(a, people);
    try std.testing.expectEqual(@as(usize, 3), people.len);
    try std.testing.expectEqualStrings("Ann", people[0].name);
    try std.testing.expectEqual(@as(u8, 255), people[2].age);
    try std.testing.expectApproxEqAbs(@as(f64, 96.6666), averageAge(people).?, 1e-3);
    const nobody = try parseRoster(a, "name,age");
    defer freeRoster(a, nobody);
    try std.testing.expectEqual(@as(?f64, null), averageAge(nobody));
}

test "parseRoster errors leak nothing" {
    const a = std.testing.allocator;
    try std.testing.expectError(error.BadHeader, parseRoster(a, "age,name\nAnn,3"));
    try std.testing.expectError(error.BadRow, parseRoster(a, "name,age\nAnn,3\nBo"));
    try std.testing.expectError(error.BadRow, parseRoster(a, "name,age\nAnn,3\nBo,4,5"));
    try std.testing.expectError(error.BadRow, parseRoster(a, "name,age\n ,3"));
    try std.testing.expectError(error.BadAge, parseRoster(a, "name,age\nAnn,3\nBo,256"));
    try std.testing.expectError(error.BadAge, parseRoster(a, "name,age\nAnn,-1"));
}
""",
    ),
    (
        "evaluate",
        "Recursion",
        "`evaluate(text)` computes an integer expression with `+`, `-`, `*`, `/`, parentheses and spaces, with "
        "the usual precedence (`*` and `/` before `+` and `-`, left to right; `/` truncates toward zero) and "
        "unary minus before a number or parenthesis. Numbers are decimal `i64`. Write it as a recursive-descent "
        "parser (`expression -> term (('+'|'-') term)*`, `term -> factor (('*'|'/') factor)*`, `factor -> "
        "number | '(' expression ')' | '-' factor`) over a small struct holding the text and a position; "
        "recursive functions need a named error set. Errors: `error.Syntax` (anything malformed, including "
        "leftover text and empty input), `error.DivisionByZero`, `error.Overflow` (a number or result out of "
        "`i64`).",
        r"""const std = @import("std");

pub const EvalError = error{ Syntax, DivisionByZero, Overflow };

const Parser = struct {
    text: []const u8,
    pos: usize = 0,

    fn peek(self: *Parser) ?u8 {
        while (self.pos < self.text.len and self.text[self.pos] == ' ') self.pos += 1;
        if (self.pos == self.text.len) return null;
        return self.text[self.pos];
    }

    fn expression(self: *Parser) EvalError!i64 {
        var value = try self.term();
        while (self.peek()) |c| {
            if (c != '+' and c != '-') break;
            self.pos += 1;
            const right = try self.term();
            value = if (c == '+') try std.math.add(i64, value, right) else try std.math.sub(i64, value, right);
        }
        return value;
    }

    fn term(self: *Parser) EvalError!i64 {
        var value = try self.factor();
        while (self.peek()) |c| {
            if (c != '*' and c != '/') break;
            self.pos += 1;
            const right = try self.factor();
            if (c == '*') {
                value = try std.math.mul(i64, value, right);
            } else {
                if (right == 0) return error.DivisionByZero;
                value = try std.math.divTrunc(i64, value, right);
            }
        }
        return value;
    }

    fn factor(self: *Parser) EvalError!i64 {
        const c = self.peek() orelse return error.Syntax;
        switch (c) {
            '-' => {
                self.pos += 1;
                return std.math.negate(try self.factor());
            },
            '(' => {
                self.pos += 1;
                const value = try self.expression();
                if (self.peek() != ')') return error.Syntax;
                self.pos += 1;
                return value;
            },
            '0'...'9' => {
                const start = self.pos;
                while (self.pos < self.text.len and std.ascii.isDigit(self.text[self.pos])) self.pos += 1;
                return std.fmt.parseInt(i64, self.text[start..self.pos], 10) catch error.Overflow;
            },
            else => return error.Syntax,
        }
    }
};

pub fn evaluate(text: []const u8) EvalError!i64 {
    var parser = Parser{ .text = text };
    const value = try parser.expression();
    if (parser.peek() != null) return error.Syntax;
    return value;
}
""",
        r"""test "evaluate" {
    try std.testing.expectEqual(@as(i64, 14), try evaluate("2 + 3 * 4"));
    try std.testing.expectEqual(@as(i64, 20), try evaluate("(2 + 3) * 4"));
    try std.testing.expectEqual(@as(i64, 3), try evaluate("10 - 4 - 3"));
    try std.testing.expectEqual(@as(i64, -3), try evaluate("-7 / 2"));
    try std.testing.expectEqual(@as(i64, 6), try evaluate("-(1 - 4) * 2"));
    try std.testing.expectEqual(@as(i64, 42), try evaluate(" 42 "));
    try std.testing.expectEqual(@as(i64, 2), try evaluate("100 / 7 / 7"));
    try std.testing.expectError(error.DivisionByZero, evaluate("1 / (2 - 2)"));
    try std.testing.expectError(error.Syntax, evaluate(""));
    try std.testing.expectError(error.Syntax, evaluate("2 +"));
    try std.testing.expectError(error.Syntax, evaluate("(1 + 2"));
    try std.testing.expectError(error.Syntax, evaluate("3 4"));
    try std.testing.expectError(error.Syntax, evaluate("2 * x"));
    try std.testing.expectError(error.Overflow, evaluate("99999999999999999999"));
    try std.testing.expectError(error.Overflow, evaluate("9223372036854775807 + 1"));
}
""",
    ),
    (
        "romanNumerals",
        "switch",
        "Roman numerals for 1 to 3999:\n\n"
        "- `writeRoman(writer, n)`: writes `n` in standard form (`M`, `CM`, `D`, `CD`, `C`, `XC`, `L`, `XL`, `X`, "
        "`IX`, `V`, `IV`, `I`, greedily) to any writer; `error.OutOfRange` outside 1..3999.\n"
        "- `toRoman(allocator, n)`: the same as a new string the caller frees (build it in a "
        "`std.ArrayList(u8)` through its `writer()`).\n"
        "- `fromRoman(text)`: the value of a numeral in standard form, as `u16`. Letters map to values with a "
        "`switch`; a letter smaller than the one after it is subtracted. `error.InvalidNumeral` for an empty "
        "text, an unknown letter, or a numeral that is not in standard form (`IIII`, `IC`, `VX`): check by "
        "writing the value back into a stack buffer and comparing.",
        r"""const std = @import("std");

const Symbol = struct { value: u16, text: []const u8 };

const symbols = [_]Symbol{
    .{ .value = 1000, .text = "M" }, .{ .value = 900, .text = "CM" }, .{ .value = 500, .text = "D" },
    .{ .value = 400, .text = "CD" }, .{ .value = 100, .text = "C" }, .{ .value = 90, .text = "XC" },
    .{ .value = 50, .text = "L" },   .{ .value = 40, .text = "XL" },  .{ .value = 10, .text = "X" },
    .{ .value = 9, .text = "IX" },   .{ .value = 5, .text = "V" },    .{ .value = 4, .text = "IV" },
    .{ .value = 1, .text = "I" },
};

pub fn writeRoman(writer: anytype, n: u16) !void {
    if (n < 1 or n > 3999) return error.OutOfRange;
    var rest = n;
    for (symbols) |symbol| {
        while (rest >= symbol.value) : (rest -= symbol.value) try writer.writeAll(symbol.text);
    }
}

pub fn toRoman(allocator: std.mem.Allocator, n: u16) ![]u8 {
    var text = std.ArrayList(u8).init(allocator);
    errdefer text.deinit();
    try writeRoman(text.writer(), n);
    return text.toOwnedSlice();
}

fn letterValue(letter: u8) error{InvalidNumeral}!u16 {
    return switch (letter) {
        'M' => 1000,
        'D' => 500,
        'C' => 100,
        'L' => 50,
        'X' => 10,
        'V' => 5,
        'I' => 1,
        else => error.InvalidNumeral,
    };
}

pub fn fromRoman(text: []const u8) error{InvalidNumeral}!u16 {
    if (text.len == 0 or text.len > 15) return error.InvalidNumeral;
    var total: i32 = 0;
    for (text, 0..) |letter, i| {
        const value = try letterValue(letter);
        const next: u16 = if (i + 1 < text.len) try letterValue(text[i + 1]) else 0;
        total += if (value < next) -@as(i32, value) else value;
    }
    if (total < 1 or total > 3999) return error.InvalidNumeral;
    const value: u16 = @intCast(total);
    var buffer: [16]u8 = undefined;
    var stream = std.io.fixedBufferStream(&buffer);
    writeRoman(stream.writer(), value) catch return error.InvalidNumeral;
    if (!std.mem.eql(u8, stream.getWritten(), text)) return error.InvalidNumeral;
    return value;
}
""",
        r"""test "toRoman" {
    const a = std.testing.allocator;
    const cases = [_]struct { n: u16, text: []const u8 }{
        .{ .n = 1, .text = "I" },        .{ .n = 4, .text = "IV" },
        .{ .n = 14, .text = "XIV" },     .{ .n = 1994, .text = "MCMXCIV" },
        .{ .n = 3999, .text = "MMMCMXCIX" }, .{ .n = 2024, .text = "MMXXIV" },
    };
    for (cases) |case| {
        const text = try toRoman(a, case.n);
        defer a.free(text);
        try std.testing.expectEqualStrings(case.text, text);
        try std.testing.expectEqual(case.n, try fromRoman(case.text));
    }
    try std.testing.expectError(error.OutOfRange, toRoman(a, 0));
    try std.testing.expectError(error.OutOfRange, toRoman(a, 4000));
}

test "fromRoman rejects what is not standard" {
    for ([_][]const u8{ "", "IIII", "IC", "VX", "MMMM", "ABC", "XM", "iv" }) |text| {
        try std.testing.expectError(error.InvalidNumeral, fromRoman(text));
    }
}
""",
    ),
    (
        "runLength",
        "String Literals and Unicode Code Point Literals",
        "Run-length coding of byte strings, where a run is written as its length in decimal followed by the byte "
        '(`"aaab"` <-> `"3a1b"`; `"zzzzzzzzzzzz"` <-> `"12z"`). The encoded bytes themselves are never '
        "digits. Implement, returning new strings the caller frees:\n\n"
        "- `encodeRuns(allocator, text)`: the encoding (empty for empty text); `error.DigitInText` when `text` "
        "contains a digit, as it could not be decoded.\n"
        "- `decodeRuns(allocator, code)`: the text; `error.BadCode` when a run has no count, a count of 0, or "
        "the code ends after a count; `error.TooLong` when the decoded text would exceed 1 MiB.",
        r"""const std = @import("std");

pub fn encodeRuns(allocator: std.mem.Allocator, text: []const u8) ![]u8 {
    var encoded = std.ArrayList(u8).init(allocator);
    errdefer encoded.deinit();
    const writer = encoded.writer();
    var i: usize = 0;
    while (i < text.len) {
        const byte = text[i];
        if (std.ascii.isDigit(byte)) return error.DigitInText;
        var run: usize = 1;
        while (i + run < text.len and text[i + run] == byte) run += 1;
        try writer.print("{d}{c}", .{ run, byte });
        i += run;
    }
    return encoded.toOwnedSlice();
}

pub fn decodeRuns(allocator: std.mem.Allocator, code: []const u8) ![]u8 {
    const limit = 1 << 20;
    var decoded = std.ArrayList(u8).init(allocator);
    errdefer decoded.deinit();
    var count: usize = 0;
    var has_count = false;
    for (code) |byte| {
        if (std.ascii.isDigit(byte)) {
            count = count * 10 + (byte - '0');
            if (count > limit) return error.TooLong;
            has_count = true;
            continue;
        }
        if (!has_count or count == 0) return error.BadCode;
        if (decoded.items.len + count > limit) return error.TooLong;
        try decoded.appendNTimes(byte, count);
        count = 0;
        has_count = false;
    }
    if (has_count) return error.BadCode;
    return decoded.toOwnedSlice();
}
""",
        r"""test "encodeRuns" {
    const a = std.testing.allocator;
    const code = try encodeRuns(a, "aaabccddddddddddddx");
    defer a.free(code);
    try std.testing.expectEqualStrings("3a1b2c12d1x", code);
    const empty = try encodeRuns(a, "");
    defer a.free(empty);
    try std.testing.expectEqualStrings("", empty);
    try std.testing.expectError(error.DigitInText, encodeRuns(a, "ab1"));
}

test "decodeRuns" {
    const a = std.testing.allocator;
    const text = try decodeRuns(a, "3a1b2c12d1 ");
    defer a.free(text);
    try std.testing.expectEqualStrings("aaabccdddddddddddd ", text);
    const round = try decodeRuns(a, "");
    defer a.free(round);
    try std.testing.expectEqual(@as(usize, 0), round.len);
    try std.testing.expectError(error.BadCode, decodeRuns(a, "a"));
    try std.testing.expectError(error.BadCode, decodeRuns(a, "2a0b"));
    try std.testing.expectError(error.BadCode, decodeRuns(a, "2a3"));
    try std.testing.expectError(error.TooLong, decodeRuns(a, "99999999x"));
}
""",
    ),
    (
        "renderTemplate",
        "Zig Standard Library",
        "`renderTemplate(allocator, template, values)` fills a template: every `{name}` is replaced by the value "
        "of `name` in `values` (a `*const std.StringHashMap([]const u8)`), `{{` writes a single `{` and `}}` a "
        "single `}`. Returns a new string the caller frees (build it in a `std.ArrayList(u8)`). Errors: "
        "`error.UnknownName` (a name not in `values`), `error.Unclosed` (a `{` without a closing `}`), "
        "`error.StrayBrace` (a single `}` outside a placeholder), `error.OutOfMemory`; no leak on any error.",
        r"""const std = @import("std");

pub fn renderTemplate(
    allocator: std.mem.Allocator,
    template: []const u8,
    values: *const std.StringHashMap([]const u8),
) ![]u8 {
    var rendered = std.ArrayList(u8).init(allocator);
    errdefer rendered.deinit();
    var i: usize = 0;
    while (i < template.len) {
        const c = template[i];
        if (c == '}') {
            if (i + 1 < template.len and template[i + 1] == '}') {
                try rendered.append('}');
                i += 2;
                continue;
            }
            return error.StrayBrace;
        }
        if (c != '{') {
            try rendered.append(c);
            i += 1;
            continue;
        }
        if (i + 1 < template.len and template[i + 1] == '{') {
            try rendered.append('{');
            i += 2;
            continue;
        }
        const close = std.mem.indexOfScalarPos(u8, template, i + 1, '}') orelse return error.Unclosed;
        const value = values.get(template[i + 1 .. close]) orelse return error.UnknownName;
        try rendered.appendSlice(value);
        i = close + 1;
    }
    return rendered.toOwnedSlice();
}
""",
        r"""test "renderTemplate" {
    const a = std.testing.allocator;
    var values = std.StringHashMap([]const u8).init(a);
    defer values.deinit();
    try values.put("name", "Ada");
    try values.put("count", "3");
    try values.put("", "empty");
    const text = try renderTemplate(a, "Hi {name}, you have {count} new {{messages}}{}", &values);
    defer a.free(text);
    try std.testing.expectEqualStrings("Hi Ada, you have 3 new {messages}empty", text);
    const plain = try renderTemplate(a, "no placeholders", &values);
    defer a.free(plain);
    try std.testing.expectEqualStrings("no placeholders", plain);
    try std.testing.expectError(error.UnknownName, renderTemplate(a, "x {nam} y", &values));
    try std.testing.expectError(error.Unclosed, renderTemplate(a, "Hi {name", &values));
    try std.testing.expectError(error.StrayBrace, renderTemplate(a, "Hi {name} }", &values));
}
""",
    ),
    (
        "humanSize",
        "Zig Standard Library",
        "`humanSize(allocator, bytes)`: a byte count as text for people, a new string the caller frees (use "
        '`std.fmt.allocPrint`). Below 1024 it is `"N B"`; otherwise divide by 1024 until the value is below '
        "1024 (or the unit is the last one), using the units `KiB`, `MiB`, `GiB`, `TiB`, `PiB`, `EiB`, and print "
        'it with one decimal: `"1.5 KiB"`. Also `parseSize(text)`: the inverse for a whole number and a unit '
        'among `B`, `KiB`, ... `EiB` separated by one space (`"3 MiB"` -> 3145728); `error.BadSize` for a '
        "malformed text or unknown unit, `error.Overflow` when it does not fit in a `u64`.",
        r"""const std = @import("std");

const units = [_][]const u8{ "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

pub fn humanSize(allocator: std.mem.Allocator, bytes: u64) ![]u8 {
    if (bytes < 1024) return std.fmt.allocPrint(allocator, "{d} B", .{bytes});
    var value: f64 = @floatFromInt(bytes);
    var unit: usize = 0;
    while (value >= 1024 and unit + 1 < units.len) : (unit += 1) value /= 1024;
    return std.fmt.allocPrint(allocator, "{d:.1} {s}", .{ value, units[unit] });
}

pub fn parseSize(text: []const u8) error{ BadSize, Overflow }!u64 {
    const space = std.mem.indexOfScalar(u8, text, ' ') orelse return error.BadSize;
    const number = std.fmt.parseInt(u64, text[0..space], 10) catch |err| switch (err) {
        error.Overflow => return error.Overflow,
        error.InvalidCharacter => return error.BadSize,
    };
    const unit_text = text[space + 1 ..];
    for (units, 0..) |unit, power| {
        if (std.mem.eql(u8, unit, unit_text)) {
            const scale = std.math.shl(u64, 1, 10 * power);
            return std.math.mul(u64, number, scale);
        }
    }
    return error.BadSize;
}
""",
        r"""test "humanSize" {
    const a = std.testing.allocator;
    const cases = [_]struct { bytes: u64, text: []const u8 }{
        .{ .bytes = 0, .text = "0 B" },
        .{ .bytes = 1023, .text = "1023 B" },
        .{ .bytes = 1536, .text = "1.5 KiB" },
        .{ .bytes = 1048576, .text = "1.0 MiB" },
        .{ .bytes = 5 * 1024 * 1024 * 1024 + 1024 * 1024 * 1024 / 4, .text = "5.3 GiB" },
        .{ .bytes = std.math.maxInt(u64), .text = "16.0 EiB" },
    };
    for (cases) |case| {
        const text = try humanSize(a, case.bytes);
        defer a.free(text);
        try std.testing.expectEqualStrings(case.text, text);
    }
}

test "parseSize" {
    try std.testing.expectEqual(@as(u64, 3145728), try parseSize("3 MiB"));
    try std.testing.expectEqual(@as(u64, 17), try parseSize("17 B"));
    try std.testing.expectEqual(@as(u64, 1 << 60), try parseSize("1 EiB"));
    try std.testing.expectError(error.Overflow, parseSize("16 EiB"));
    try std.testing.expectError(error.Overflow, parseSize("99999999999999999999 B"));
    try std.testing.expectError(error.BadSize, parseSize("3 MB"));
    try std.testing.expectError(error.BadSize, parseSize("3MiB"));
    try std.testing.expectError(error.BadSize, parseSize("x KiB"));
}
""",
    ),
)


def _entries(family: str, table: tuple[Entry, ...]) -> Iterator[SpecTask]:
    for name, section, spec, solution, tests in table:
        yield SpecTask(f"{family}/{name}", section, spec, solution, tests)


def programs_tasks() -> list[SpecTask]:
    return [
        *_entries("memory_program", MEMORY_PROGRAMS),
        *_entries("linked_program", LINKED_PROGRAMS),
        *_entries("union_program", UNION_PROGRAMS),
        *_entries("generic_program", GENERIC_PROGRAMS),
        *_entries("sort_program", SORT_PROGRAMS),
        *_entries("text_program", TEXT_PROGRAMS),
    ]
