//! zigtune's test runner: Zig 0.14.0's default runner (lib/compiler/test_runner.zig, terminal mode) that
//! also signs its summary.
//!
//! Before any test runs it reads a nonce, one line, from standard input; the engine writes a fresh one
//! for every run and closes the pipe. After the last test it prints the default summary and then
//! `zigtune-test-summary <nonce> passed=P skipped=S failed=F leaked=L logged=E tests=T` on stderr.
//! The code under test runs only inside the tests, after the nonce was read and with it kept in this
//! function's frame: it can print "All N tests passed." or exit early, but not the signed line, so
//! the engine trusts only that line.
const builtin = @import("builtin");
const std = @import("std");
const testing = std.testing;

pub const std_options: std.Options = .{
    .logFn = log,
};

var log_err_count: usize = 0;

pub fn main() void {
    var nonce_buffer: [64]u8 = undefined;
    const nonce = readNonce(&nonce_buffer) orelse {
        std.debug.print("zigtune test runner: no nonce on standard input\n", .{});
        std.process.exit(3);
    };

    const test_fn_list = builtin.test_functions;
    var ok_count: usize = 0;
    var skip_count: usize = 0;
    var fail_count: usize = 0;
    var leaks: usize = 0;
    for (test_fn_list, 0..) |test_fn, i| {
        testing.allocator_instance = .{};
        testing.log_level = .warn;
        std.debug.print("{d}/{d} {s}...", .{ i + 1, test_fn_list.len, test_fn.name });
        if (test_fn.func()) |_| {
            ok_count += 1;
            std.debug.print("OK\n", .{});
        } else |err| switch (err) {
            error.SkipZigTest => {
                skip_count += 1;
                std.debug.print("SKIP\n", .{});
            },
            else => {
                fail_count += 1;
                std.debug.print("FAIL ({s})\n", .{@errorName(err)});
                if (@errorReturnTrace()) |trace| {
                    std.debug.dumpStackTrace(trace.*);
                }
            },
        }
        if (testing.allocator_instance.deinit() == .leak) {
            leaks += 1;
        }
    }
    if (ok_count == test_fn_list.len) {
        std.debug.print("All {d} tests passed.\n", .{ok_count});
    } else {
        std.debug.print("{d} passed; {d} skipped; {d} failed.\n", .{ ok_count, skip_count, fail_count });
    }
    if (log_err_count != 0) {
        std.debug.print("{d} errors were logged.\n", .{log_err_count});
    }
    if (leaks != 0) {
        std.debug.print("{d} tests leaked memory.\n", .{leaks});
    }
    std.debug.print("zigtune-test-summary {s} passed={d} skipped={d} failed={d} leaked={d} logged={d} tests={d}\n", .{
        nonce, ok_count, skip_count, fail_count, leaks, log_err_count, test_fn_list.len,
    });
    if (leaks != 0 or log_err_count != 0 or fail_count != 0) {
        std.process.exit(1);
    }
}

/// The first line of standard input (hex digits only), or null.
fn readNonce(buffer: []u8) ?[]const u8 {
    const stdin = std.io.getStdIn();
    var length: usize = 0;
    while (length < buffer.len) {
        const n = stdin.read(buffer[length..]) catch return null;
        if (n == 0) break;
        length += n;
        if (std.mem.indexOfScalar(u8, buffer[0..length], '\n') != null) break;
    }
    const line = std.mem.sliceTo(buffer[0..length], '\n');
    if (line.len < 16) return null;
    for (line) |c| if (!std.ascii.isHex(c)) return null;
    return line;
}

pub fn log(
    comptime message_level: std.log.Level,
    comptime scope: @Type(.enum_literal),
    comptime format: []const u8,
    args: anytype,
) void {
    if (@intFromEnum(message_level) <= @intFromEnum(std.log.Level.err)) {
        log_err_count +|= 1;
    }
    if (@intFromEnum(message_level) <= @intFromEnum(testing.log_level)) {
        std.debug.print(
            "[" ++ @tagName(scope) ++ "] (" ++ @tagName(message_level) ++ "): " ++ format ++ "\n",
            args,
        );
    }
}

/// What `std.testing.fuzz` calls: without a fuzzer, the corpus and the empty input, as the default runner does.
pub fn fuzz(
    context: anytype,
    comptime testOne: fn (context: @TypeOf(context), []const u8) anyerror!void,
    options: testing.FuzzInputOptions,
) anyerror!void {
    for (options.corpus) |input| {
        try testOne(context, input);
    }
    try testOne(context, "");
}
