"""Unit tests of the migration regressions (no compiler; verify.py checks them against Zig 0.14.0)."""

from __future__ import annotations

import re

import pytest

from zigtune.generation.migrations import (
    RULES,
    applicable_rules,
    apply_edits,
    rule_by_name,
    split_arguments,
    view_source,
)

# (rule, current Zig 0.14 code, expected old form)
CASES: list[tuple[str, str, str]] = [
    ("typeof_builtin", "const T = @TypeOf(x);\n", "const T = @typeOf(x);\n"),
    (
        "print_args_tuple",
        'std.debug.print("{} {}\\n", .{ a, b });\n',
        'std.debug.print("{} {}\\n", a, b);\n',
    ),
    ("print_args_tuple", 'print("hi\\n", .{});\n', 'print("hi\\n");\n'),
    (
        "print_args_tuple",
        'try w.print("{}\\n", .{\n    x,\n    y,\n});\n',
        'try w.print("{}\\n", x, y);\n',
    ),
    ("anytype_parameter", "fn f(x: anytype) void {}\n", "fn f(x: var) void {}\n"),
    (
        "debug_warn_to_print",
        'const print = @import("std").debug.print;\n',
        'const print = @import("std").debug.warn;\n',
    ),
    ("out_stream_to_writer", "const w = std.io.getStdOut().writer();\n", "const w = std.io.getStdOut().outStream();\n"),
    (
        "testing_expect_try",
        "const expect = std.testing.expect;\ntest {\n    try expect(a);\n    try comptime expect(b);\n}\n",
        "const expect = std.testing.expect;\ntest {\n    expect(a);\n    comptime expect(b);\n}\n",
    ),
    (
        "testing_expect_try",
        "test {\n    try std.testing.expectEqual(1, f());\n    try g();\n}\n",
        "test {\n    std.testing.expectEqual(1, f());\n    try g();\n}\n",
    ),
    (
        "format_string_specifier",
        'print("name: {s}, maybe: {?s}\\n", .{ n, m });\n',
        'print("name: {}, maybe: {?}\\n", .{ n, m });\n',
    ),
    ("tag_type_builtin", "const T = std.meta.Tag(U);\n", "const T = @TagType(U);\n"),
    (
        "builtin_module_reexport",
        'const std = @import("std");\nconst builtin = @import("builtin");\n'
        "const C: std.builtin.CallingConvention = .c;\n",
        'const std = @import("std");\nconst builtin = @import("builtin");\nconst C: builtin.CallingConvention = .c;\n',
    ),
    ("builtin_module_reexport", "const T = std.builtin.Type;\n", 'const T = @import("builtin").Type;\n'),
    (
        "unused_local_discard",
        "fn f(x: i32) void {\n    _ = x;\n    _ = &y;\n}\n",
        "fn f(x: i32) void {\n    _ = &y;\n}\n",
    ),
    ("allocator_method", "const a = gpa.allocator();\n", "const a = &gpa.allocator;\n"),
    (
        "vector_builtin",
        'const std = @import("std");\nconst V = @Vector(4, i32);\n',
        'const std = @import("std");\nconst V = std.meta.Vector(4, i32);\n',
    ),
    ("vector_builtin", "const V = @Vector(4, i32);\n", 'const V = @import("std").meta.Vector(4, i32);\n'),
    ("for_index_range", "for (items, 0..) |x, i| {}\n", "for (items) |x, i| {}\n"),
    ("for_pointer_capture", "for (&items) |*x| {}\n", "for (items) |*x| {}\n"),
    ("int_from_enum", "const n = @intFromEnum(e);\n", "const n = @enumToInt(e);\n"),
    ("int_from_ptr", "const a = @intFromPtr(p);\n", "const a = @ptrToInt(p);\n"),
    ("int_from_bool", "const a = @intFromBool(b);\n", "const a = @boolToInt(b);\n"),
    ("int_from_error", "const a = @intFromError(e);\n", "const a = @errorToInt(e);\n"),
    ("error_from_int", "const a = @errorFromInt(e);\n", "const a = @intToError(e);\n"),
    ("enum_from_int", "const e: E = @enumFromInt(1);\n", "const e: E = @intToEnum(E, 1);\n"),
    ("ptr_from_int", "const p: *i32 = @ptrFromInt(0x1000);\n", "const p: *i32 = @intToPtr(*i32, 0x1000);\n"),
    ("float_from_int", "x += @as(f32, @floatFromInt(i));\n", "x += @intToFloat(f32, i);\n"),
    ("int_from_float", "const i: u8 = @intFromFloat(f);\n", "const i: u8 = @floatToInt(u8, f);\n"),
    ("int_cast_result_type", "const b: u8 = @intCast(a);\n", "const b: u8 = @intCast(u8, a);\n"),
    ("int_cast_result_type", "sum += @as(i32, @intCast(i));\n", "sum += @intCast(i32, i);\n"),
    ("truncate_result_type", "var b: u8 = @truncate(a);\n", "var b: u8 = @truncate(u8, a);\n"),
    ("float_cast_result_type", "const f: f32 = @floatCast(d);\n", "const f: f32 = @floatCast(f32, d);\n"),
    ("bit_cast_result_type", "_ = @as(u32, @bitCast(bytes)) == 1;\n", "_ = @bitCast(u32, bytes) == 1;\n"),
    (
        "ptr_cast_result_type",
        "const p: *const u32 = @ptrCast(&b);\n",
        "const p: *const u32 = @ptrCast(*const u32, &b);\n",
    ),
    (
        "splat_result_type",
        "const v: @Vector(4, u32) = @splat(s);\n",
        "const v: @Vector(4, u32) = @splat(4, s);\n",
    ),
    (
        "splat_result_type",
        "const V = @Vector(4, i32);\nconst r = x > @as(V, @splat(0));\n",
        "const V = @Vector(4, i32);\nconst r = x > @splat(4, @as(i32, 0));\n",
    ),
    ("memcpy_slices", "@memcpy(dest[0..n], src);\n", "@memcpy(dest[0..n].ptr, src.ptr, src.len);\n"),
    (
        "var_never_mutated_discard",
        "test {\n    var x: u8 = 1; // runtime\n    _ = &x;\n    f(x);\n}\n",
        "test {\n    var x: u8 = 1; // runtime\n    f(x);\n}\n",
    ),
    (
        "var_never_mutated_discard",
        "test {\n    var x: u8 = 1;\n    _ = &x;\n}\n",
        "test {\n    var x: u8 = 1;\n    _ = x;\n}\n",
    ),
    (
        "const_never_mutated",
        "test {\n    const n = 4;\n    const x: u8 = 1;\n    f(x);\n}\n",
        "test {\n    const n = 4;\n    var x: u8 = 1;\n    f(x);\n}\n",
    ),
    (
        "field_parent_ptr_result_type",
        'const p: *Point = @fieldParentPtr("x", ptr);\n',
        'const p: *Point = @fieldParentPtr(Point, "x", ptr);\n',
    ),
    (
        "endian_lowercase",
        "switch (native_endian) {\n    .big => a(),\n    .little => b(),\n}\n",
        "switch (native_endian) {\n    .Big => a(),\n    .Little => b(),\n}\n",
    ),
    (
        "atomic_order_lowercase",
        "_ = @atomicRmw(u32, &x, .Add, 1, .seq_cst);\n",
        "_ = @atomicRmw(u32, &x, .Add, 1, .SeqCst);\n",
    ),
    (
        "std_rand_to_random",
        "var prng = std.Random.DefaultPrng.init(0);\n",
        "var prng = std.rand.DefaultPrng.init(0);\n",
    ),
    ("child_process_moved", "var c = std.process.Child.init(argv, a);\n", "var c = std.ChildProcess.init(argv, a);\n"),
    ("std_os_to_posix", 'const h = std.posix.getenv("HOME");\n', 'const h = std.os.getenv("HOME");\n'),
    ("mem_copy_removed", "std.mem.copyForwards(u8, d, s);\n", "std.mem.copy(u8, d, s);\n"),
    (
        "type_info_lowercase",
        'const n = @typeInfo(T).@"struct".fields.len;\nconst o = @typeInfo(U) == .optional;\n',
        "const n = @typeInfo(T).Struct.fields.len;\nconst o = @typeInfo(U) == .Optional;\n",
    ),
    (
        "type_info_lowercase",
        'switch (@typeInfo(T)) {\n    .int, .float => {},\n    .@"struct" => |s| f(s.fields),\n    else => {},\n}\n',
        "switch (@typeInfo(T)) {\n    .Int, .Float => {},\n    .Struct => |s| f(s.fields),\n    else => {},\n}\n",
    ),
    (
        "type_info_lowercase",
        "const T = @Type(.{ .int = .{ .signedness = .unsigned, .bits = 8 } });\n",
        "const T = @Type(.{ .Int = .{ .signedness = .unsigned, .bits = 8 } });\n",
    ),
    (
        "set_cold_to_branch_hint",
        "fn f() void {\n    @branchHint(.cold);\n}\n",
        "fn f() void {\n    @setCold(true);\n}\n",
    ),
    (
        "export_takes_pointer",
        'comptime {\n    @export(&f, .{ .name = "foo" });\n}\n',
        'comptime {\n    @export(f, .{ .name = "foo" });\n}\n',
    ),
    ("array_list_pop_optional", "const top = stack.pop().?;\n", "const top = stack.popOrNull().?;\n"),
    ("pointer_size_lowercase", "if (info.size == .slice) {}\n", "if (info.size == .Slice) {}\n"),
    ("struct_field_default_value_ptr", "const d = field.default_value_ptr;\n", "const d = field.default_value;\n"),
]

# (rule, code the rule must leave alone): the trigger only occurs in strings or comments, or the
# context the regression needs is missing.
UNTOUCHED: list[tuple[str, str]] = [
    ("typeof_builtin", 'const s = "@TypeOf(x)"; // @TypeOf(y)\n'),
    ("print_args_tuple", 'print("{}", x);\n'),
    ("debug_warn_to_print", '// std.debug.print("x", .{});\nconst s = "std.debug.print";\n'),
    ("testing_expect_try", "try expect(a);\n"),
    ("testing_expect_try", '// try std.testing.expect(a);\nconst s = "try std.testing.expect(a)";\n'),
    ("format_string_specifier", 'const s = "{s}";\n'),
    ("unused_local_discard", "_ = f();\n_ = &x;\n"),
    ("for_index_range", "for (a, b) |x, y| {}\n"),
    ("int_cast_result_type", "return @intCast(x);\n"),
    ("int_cast_result_type", "const b = @intCast(a);\n"),
    ("splat_result_type", "const v: V = @splat(s);\n"),
    ("const_never_mutated", 'const std = @import("std");\nconst S = struct {\n    const x: u8 = 1;\n};\n'),
    ("const_never_mutated", "test {\n    const n = 4;\n    const T = u8;\n    const p = .{ .x = 1 };\n}\n"),
    ("const_never_mutated", "test {\n    const x: u8 = 1;\n    f(&x);\n}\n"),
    ("const_never_mutated", 'test {\n    const w = file.writer();\n    try w.print("", .{});\n}\n'),
    ("var_never_mutated_discard", 'const s = "_ = &x;";\n'),
    ("endian_lowercase", "const size = .big;\n"),
    ("type_info_lowercase", 'const x = .{ .int = 1 };\nconst y = "@typeInfo(T).@\\"struct\\"";\n'),
    ("set_cold_to_branch_hint", "@branchHint(.likely);\n"),
    ("export_takes_pointer", 'const s = "@export(&f, .{})";\n'),
    ("tag_type_builtin", 'const s = "std.meta.Tag";\nconst t = other.meta.Tag(U);\n'),
    ("std_os_to_posix", 'const b = @import("builtin").posix;\n'),
]


@pytest.mark.parametrize(("rule_name", "current", "old"), CASES)
def test_regress_produces_old_form(rule_name: str, current: str, old: str) -> None:
    assert rule_by_name(rule_name).regress(current) == old


@pytest.mark.parametrize(("rule_name", "code"), UNTOUCHED)
def test_regress_leaves_code_alone(rule_name: str, code: str) -> None:
    assert rule_by_name(rule_name).regress(code) is None


def test_every_rule_has_a_case() -> None:
    assert {rule.name for rule in RULES} <= {name for name, _, _ in CASES}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_rule_metadata(rule: object) -> None:
    assert isinstance(rule, type(RULES[0]))
    assert re.fullmatch(r"0\.\d+\.0", rule.release)
    assert rule.summary.endswith(".") and "Zig" in rule.summary
    re.compile(rule.expected_error)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_rules_ignore_plain_code(rule: object) -> None:
    plain = 'const std = @import("std");\n\npub fn main() void {\n    // nothing to migrate\n}\n'
    assert rule.regress(plain) is None  # type: ignore[attr-defined]


def test_strings_and_comments_are_masked_without_moving_offsets() -> None:
    code = 'const a = "x // y"; // @TypeOf\nconst b =\n    \\\\ @TypeOf(z)\n;\nconst c = \'"\';\n'
    view = view_source(code)
    assert len(view.masked) == len(code)
    assert "@TypeOf" not in view.masked
    assert view.masked.count("\n") == code.count("\n")
    assert view.strings == ((10, 18),)


def test_apply_edits_rejects_overlaps() -> None:
    assert apply_edits("abcdef", [(0, 1, "X"), (4, 6, "")]) == "Xbcd"
    with pytest.raises(ValueError):
        apply_edits("abcdef", [(0, 3, ""), (2, 4, "")])


def test_split_arguments_respects_nesting() -> None:
    text = "f(a, g(b, c), .{ d, e },)"
    spans = split_arguments(text, 2, len(text) - 1)
    assert [text[a:b] for a, b in spans] == ["a", "g(b, c)", ".{ d, e }"]


def test_applicable_rules_lists_each_change_once() -> None:
    code = "const expect = std.testing.expect;\ntest {\n    try expect(@TypeOf(@intFromEnum(e)) == u8);\n}\n"
    names = {rule.name for rule in applicable_rules(code)}
    assert {"testing_expect_try", "typeof_builtin", "int_from_enum"} <= names
