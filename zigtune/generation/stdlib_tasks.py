"""Spec -> implementation tasks from Zig's own standard library, checked by the standard library's own tests.

The ``ziglang`` wheel ships Zig 0.14's ``lib/std`` (MIT licence, the Zig Software Foundation). Each
top-level ``pub fn`` of a std file with a ``///`` doc comment and a body of at most ``MAX_BODY_LINES``
lines, that one of the file's own top-level ``test`` blocks calls, becomes a task (the private
functions of the file it calls come with it, as private helpers of the answer): the spec is the doc
comment, the stub the signature (with the file's aliases it needs, such as ``const mem = std.mem;``),
the answer the function as std writes it. The check compiles the function standalone, with std's
tests for it appended, and runs them: only functions whose body and tests depend on nothing but
``std``'s public API pass, and only those are kept. Provenance per pair: ``example_name`` is
``std:lib/std/<file>:<line>``, the licence MIT.

At most ``MAX_CANDIDATES`` functions are tried (in a fixed order: files by name, functions in file
order), which bounds the run's time. Dropped, counted by reason: ``does_not_compile_standalone``,
``tests_fail``. No dagster here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from zigtune.generation.execution import Checker, FamilyResult, job, read_test_report
from zigtune.generation.pairs import docs_pair
from zigtune.generation.spec_tasks import section_ids, stub_file, task_prompt
from zigtune.validation.verdicts import Verdict
from zigtune.validation.zig_syntax import matching_close, view_source

FAMILY = "stdlib_function"
LICENCE = "MIT"
SECTION = "Zig Standard Library"
MAX_BODY_LINES = 60
MAX_TESTS = 3
MAX_CANDIDATES = 420
#: Files of std whose functions are about the operating system, the compiler or the build: not what a
#: user writes, and rarely standalone.
SKIPPED = re.compile(
    r"^(?:os|posix|c|Build|zig|Target|Thread|debug|dwarf|coff|elf|macho|pdb|http|net|"
    r"process|fs|start|builtin|gpu|valgrind|tz|wasm|heap|dynamic_library|Progress|io)(?:/|\.zig$)"
)

#: Functions whose code a ``zigtune_core`` reference solution shares (the contamination report sees it).
OVERLAPS_EVALUATION = frozenset(
    {"math.zig:ByteAlignedInt", "math/float.zig:inf", "math/float.zig:nan", "math/float.zig:snan"}
)

_PUB_FN = re.compile(r"^pub (?:inline )?fn ([A-Za-z_]\w*)\(", re.MULTILINE)
_TEST = re.compile(r'^test\b\s*(?:"[^"\n]*"|[A-Za-z_][\w.]*)?\s*\{', re.MULTILINE)
_ALIAS = re.compile(r"^(?:pub )?const ([A-Za-z_]\w*) = ([^;\n]+);$", re.MULTILINE)


def std_root() -> Path:
    """``lib/std`` of the installed ``ziglang`` wheel."""
    import ziglang

    return Path(ziglang.__file__).parent / "lib" / "std"


@dataclass(frozen=True)
class StdFunction:
    path: str  # relative to lib/std
    line: int
    name: str
    doc: str
    signature: str
    source: str  # doc comment + function
    header: str  # the aliases it needs
    tests: str
    test_header: str = ""  # the aliases only its tests need

    @property
    def provenance(self) -> str:
        return f"std:lib/std/{self.path}:{self.line}"

    @property
    def answer(self) -> str:
        return f"{self.header}\n{self.source}\n"

    @property
    def checked_file(self) -> str:
        return f"{self.answer}\n{self.test_header}\n{self.tests}\n"

    @property
    def stub(self) -> str:
        """The aliases and the signature, its parameters discarded and its body a placeholder (as
        ``zigtune_core``'s stubs, it compiles)."""
        stubbed = stub_file(self.signature + " {\n    unreachable;\n}")
        return f"{self.header}\n{stubbed}\n"


def _aliases(text: str) -> dict[str, str]:
    return {name: f"const {name} = {value};" for name, value in _ALIAS.findall(text)}


def _needed_header(aliases: dict[str, str], code: str) -> str | None:
    """The alias lines ``code`` needs, rooted at ``std`` or ``builtin``; ``None`` when one is rooted elsewhere."""
    wanted: list[str] = []
    queue = [name for name in aliases if re.search(rf"(?<![\w.]){re.escape(name)}\b", code)]
    while queue:
        name = queue.pop(0)
        if name in wanted or name == "std":
            continue
        wanted.append(name)
        value = aliases[name]
        queue += [other for other in aliases if other != name and re.search(rf"= {re.escape(other)}\b", value)]
    lines = ['const std = @import("std");']
    for name in sorted(wanted, key=list(aliases).index):
        value = aliases[name]
        root = re.match(r"const \w+ = @?(\w+)", value)
        if root is None:
            return None
        if value.endswith('@import("std");') or '@import("builtin")' in value or root.group(1) in (*aliases, "std"):
            if '@import("' in value and not re.search(r'@import\("(?:std|builtin)"\)', value):
                return None  # a relative import: not std's public API
            lines.append(value)
        else:
            return None
    return "\n".join(lines)


def public_module(relative: str) -> str | None:
    """How std's public API names a file's declarations: ``mem.zig`` -> ``std.mem``; the files of ``math/``
    re-export theirs through ``std.math``. ``None`` for other nested files."""
    if "/" not in relative:
        return f"std.{relative.removesuffix('.zig')}"
    if relative.startswith("math/") and relative.count("/") == 1:
        return "std.math"
    return None


def _doc_above(text: str, start: int) -> str:
    lines = text[:start].split("\n")[:-1]
    doc: list[str] = []
    while lines and lines[-1].startswith("///"):
        doc.insert(0, lines.pop())
    return "\n".join(doc)


_PRIVATE_FN = re.compile(r"^(?:inline )?fn ([A-Za-z_]\w*)\(", re.MULTILINE)


def _header(aliases: dict[str, str], public: list[str], module: str | None, name: str, used: str) -> str | None:
    """The alias lines ``used`` needs, and the file's public declarations it names, through ``module``."""
    header = _needed_header(aliases, used)
    if header is None or not module:
        return header
    siblings = [
        f"const {other} = {module}.{other};"
        for other in public
        if other != name and other not in aliases and re.search(rf"(?<![\w.]){re.escape(other)}\b", used)
    ]
    return "\n".join([header, *siblings])


def _private_functions(text: str, masked: str) -> dict[str, str]:
    """The file's top-level functions that are not ``pub``, by name, with their source."""
    found: dict[str, str] = {}
    for match in _PRIVATE_FN.finditer(masked):
        body = masked.find("{", matching_close(masked, match.end() - 1))
        end = matching_close(masked, body) if body != -1 else -1
        if end != -1 and text[body:end].count("\n") <= MAX_BODY_LINES:
            found[match.group(1)] = text[match.start() : end + 1]
    return found


def _helpers_of(function: str, helpers: dict[str, str], depth: int = 2) -> list[str]:
    """The private functions ``function`` calls (and those they call, ``depth`` levels), in a fixed order."""
    wanted: list[str] = []
    frontier = [function]
    for _ in range(depth):
        text = "\n".join(frontier)
        frontier = []
        for name, source in helpers.items():
            if name not in wanted and re.search(rf"(?<![\w.]){re.escape(name)}\(", text):
                wanted.append(name)
                frontier.append(source)
    return wanted


def functions_of(path: Path, relative: str) -> Iterator[StdFunction]:
    text = path.read_text(encoding="utf-8")
    masked = view_source(text).masked
    aliases = _aliases(text)
    # the file's other public declarations, reachable through std (``isControl`` -> ``std.ascii.isControl``)
    public = sorted(set(re.findall(r"^pub (?:inline )?(?:fn|const|var) ([A-Za-z_]\w*)", masked, re.MULTILINE)))
    module = public_module(relative)
    helpers = _private_functions(text, masked)
    tests = []
    for found in _TEST.finditer(masked):
        close = matching_close(masked, found.end() - 1)
        if close != -1:
            tests.append(text[found.start() : close + 1])
    for found in _PUB_FN.finditer(masked):
        name = found.group(1)
        doc = _doc_above(text, found.start())
        if (
            not doc
            or sum(1 for n in _PUB_FN.findall(masked) if n == name) > 1
            or f"{relative}:{name}" in OVERLAPS_EVALUATION
        ):
            continue
        body = masked.find("{", matching_close(masked, found.end() - 1))
        if body == -1:
            continue
        end = matching_close(masked, body)
        if end == -1 or text[body:end].count("\n") > MAX_BODY_LINES:
            continue
        calling = [t for t in tests if re.search(rf"(?<![\w.]){re.escape(name)}\(", t)][:MAX_TESTS]
        if not calling:
            continue
        function = text[found.start() : end + 1]
        needed = _helpers_of(function, helpers)
        function = "\n\n".join([function, *(helpers[helper] for helper in needed)])
        header = _header(aliases, public, module, name, function)
        full = _header(aliases, public, module, name, function + "\n".join(calling))
        if header is None or full is None:
            continue
        test_header = "\n".join(line for line in full.split("\n") if line not in header.split("\n"))
        start = found.start() - len(doc) - 1 if doc else found.start()
        yield StdFunction(
            path=relative,
            line=text.count("\n", 0, found.start()) + 1,
            name=name,
            doc=doc,
            signature=text[found.start() : body].rstrip(),
            source=text[max(start, 0) : found.start()] + function,
            header=header,
            tests="\n\n".join(calling),
            test_header=test_header,
        )


def std_functions(root: Path | None = None, limit: int = MAX_CANDIDATES) -> list[StdFunction]:
    """The candidate functions of std, in a fixed order, at most ``limit``."""
    root = root or std_root()
    found: list[StdFunction] = []
    for path in sorted(root.rglob("*.zig")):
        relative = path.relative_to(root).as_posix()
        if SKIPPED.match(relative) or "/test" in relative or relative.startswith("testing"):
            continue
        found.extend(functions_of(path, relative))
        if len(found) >= limit:
            break
    return found[:limit]


def spec_text(function: StdFunction) -> str:
    doc = "\n".join(line[3:].removeprefix(" ") for line in function.doc.split("\n"))
    return (
        f"Implement `{function.name}` as Zig 0.14's standard library documents it (`lib/std/{function.path}`), "
        f"using only `std`'s public API:\n\n{doc}"
    )


async def stdlib_pairs(sections: pl.DataFrame, check: Checker, limit: int = MAX_CANDIDATES) -> FamilyResult:
    """One pair per std function whose standalone file passes std's tests for it; see the module docstring."""
    result = FamilyResult(FAMILY)
    where = section_ids(sections)
    if SECTION not in where:
        result.dropped["no_section"] += 1
        return result
    section_id, breadcrumb = where[SECTION]
    candidates = std_functions(limit=limit)
    results = await check([job(function.checked_file) for function in candidates])
    for function in candidates:
        ran = results[job(function.checked_file)]
        if ran.verdict is Verdict.COMPILE_ERROR:
            result.reject_in(section_id, breadcrumb, "does_not_compile_standalone", function.provenance)
            continue
        report = read_test_report(ran.stderr)
        if ran.verdict is not Verdict.OK or (report is not None and not report.all_passed):
            result.reject_in(section_id, breadcrumb, "tests_fail", function.provenance)
            continue
        result.kept_by[function.path.split("/")[0].removesuffix(".zig")] += 1
        result.rows.append(
            docs_pair(
                section_id=section_id,
                breadcrumb=f"{breadcrumb} > lib/std/{function.path}",
                example_name=function.provenance,
                checked=True,
                instruction=task_prompt(spec_text(function), function.stub),
                response=f"```zig\n{function.answer}```",
                kind="code",
                family=FAMILY,
                behaviour_check="tests",
            )
        )
    return result
