//! Lists the container-level declarations of Zig source files, with Zig's own parser (std.zig.Ast),
//! so that zigtune can make the compiler analyse every one of them (Zig analyses lazily: a function
//! nobody references is never type-checked).
//!
//!     decl_lister FILE.zig [FILE.zig ...]
//!
//! One JSON line per file, in order: {"ok":true,"refs":[["name"],["Outer","inner"],...]} where each
//! ref is the path of a declaration as its raw identifier tokens (so `@"odd name"` stays quoted), or
//! {"ok":false,"refs":[]} when the file does not parse (the compiler reports that by itself).
//! Skipped: extern declarations (they have no body, and referencing one needs its library), tests,
//! comptime blocks, usingnamespace, fields. Nested containers (`const S = struct { ... }`, unions,
//! enums, opaques) are walked; containers returned by functions (generic types) cannot be.
const std = @import("std");
const Ast = std.zig.Ast;

const max_source_bytes = 4 * 1024 * 1024;

pub fn main() !void {
    var arena_state = std.heap.ArenaAllocator.init(std.heap.page_allocator);
    defer arena_state.deinit();
    const arena = arena_state.allocator();
    const args = try std.process.argsAlloc(arena);
    var buffered = std.io.bufferedWriter(std.io.getStdOut().writer());
    const out = buffered.writer();
    for (args[1..]) |path| {
        var file_arena = std.heap.ArenaAllocator.init(std.heap.page_allocator);
        defer file_arena.deinit();
        try listFile(file_arena.allocator(), path, out);
        try out.writeByte('\n');
    }
    try buffered.flush();
}

const Result = struct {
    ok: bool,
    refs: []const []const []const u8,
};

fn listFile(gpa: std.mem.Allocator, path: []const u8, out: anytype) !void {
    const source = std.fs.cwd().readFileAllocOptions(gpa, path, max_source_bytes, null, 1, 0) catch {
        return std.json.stringify(Result{ .ok = false, .refs = &.{} }, .{}, out);
    };
    var tree = try Ast.parse(gpa, source, .zig);
    if (tree.errors.len != 0) {
        return std.json.stringify(Result{ .ok = false, .refs = &.{} }, .{}, out);
    }
    var refs = std.ArrayList([]const []const u8).init(gpa);
    var prefix = std.ArrayList([]const u8).init(gpa);
    try collect(&tree, tree.rootDecls(), &prefix, &refs, 0);
    try std.json.stringify(Result{ .ok = true, .refs = refs.items }, .{}, out);
}

/// Containers nested deeper than this are left alone (the compiler still parses them).
const max_depth = 16;

fn collect(
    tree: *const Ast,
    members: []const Ast.Node.Index,
    prefix: *std.ArrayList([]const u8),
    refs: *std.ArrayList([]const []const u8),
    depth: usize,
) !void {
    const tags = tree.nodes.items(.tag);
    const token_tags = tree.tokens.items(.tag);
    for (members) |member| {
        switch (tags[member]) {
            .fn_decl => {
                var buffer: [1]Ast.Node.Index = undefined;
                const proto = tree.fullFnProto(&buffer, member) orelse continue;
                const name = proto.name_token orelse continue;
                try addRef(refs, prefix.items, tree.tokenSlice(name));
            },
            .global_var_decl, .local_var_decl, .aligned_var_decl, .simple_var_decl => {
                const decl = tree.fullVarDecl(member) orelse continue;
                if (decl.extern_export_token) |token| {
                    if (token_tags[token] == .keyword_extern) continue;
                }
                const name = tree.tokenSlice(decl.ast.mut_token + 1);
                try addRef(refs, prefix.items, name);
                if (decl.ast.init_node == 0 or depth >= max_depth) continue;
                var buffer: [2]Ast.Node.Index = undefined;
                const container = tree.fullContainerDecl(&buffer, decl.ast.init_node) orelse continue;
                try prefix.append(name);
                try collect(tree, container.ast.members, prefix, refs, depth + 1);
                _ = prefix.pop();
            },
            else => {},
        }
    }
}

fn addRef(refs: *std.ArrayList([]const []const u8), prefix: []const []const u8, name: []const u8) !void {
    const path = try refs.allocator.alloc([]const u8, prefix.len + 1);
    @memcpy(path[0..prefix.len], prefix);
    path[prefix.len] = name;
    try refs.append(path);
}
