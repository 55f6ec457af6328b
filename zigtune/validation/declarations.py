"""Make the compiler analyse every declaration of a snippet, not only those something references.

Zig analyses lazily: a private function with a type error, or a public one that no test calls,
compiles without a word. So before a snippet is checked, a ``comptime`` block that takes the address
of each of its container-level declarations (nested containers included) is appended to it; a
declaration that does not type-check is then a ``compile_error``. The snippet's own lines are
unchanged, so every diagnostic points where it did before.

The declarations are found by Zig's own parser (``std.zig.Ast``), in a small program
(``decl_lister.zig``) compiled once per Zig version and kept under the user's cache directory, so
strings, comments and multiline literals never confuse it. One call lists many snippets.

What this cannot do: generic functions (``comptime`` or ``anytype`` parameters), inline functions
and the members of types returned by functions are analysed only where they are called with
concrete arguments, which this does not invent; ``extern`` declarations have no body to analyse and
are left out (referencing one would demand its library). No dagster here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path

from zigtune.validation.sandbox import ZIG_VERSION, SandboxError, zig_binary

LISTER_SOURCE = Path(__file__).with_name("decl_lister.zig")

#: Appended to a snippet; the marker line tells a reader where the snippet ends.
REFERENCES_HEADER = "\n// zigtune: every declaration referenced, so that Zig analyses it\ncomptime {\n"

#: Limits of the lister, which parses untrusted text outside the sandbox (it reads the files it is
#: given and writes JSON: nothing else).
LISTER_TIMEOUT_S = 60
LISTER_MEMORY_BYTES = 2 * 1024 * 1024 * 1024
LISTER_BUILD_TIMEOUT_S = 600


def tools_dir() -> Path:
    """Where zigtune keeps programs it builds for itself: ``$ZIGTUNE_TOOLS_DIR``, else the user's cache."""
    configured = os.environ.get("ZIGTUNE_TOOLS_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "zigtune"


def with_references(code: str, refs: list[list[str]]) -> str:
    """``code`` with a ``comptime`` block that references each declaration path in ``refs``."""
    if not refs:
        return code
    body = "".join(f"    _ = &@This().{'.'.join(path)};\n" for path in refs)
    return code + ("" if code.endswith("\n") else "\n") + REFERENCES_HEADER + body + "}\n"


class DeclarationLister:
    """Builds ``decl_lister.zig`` once (per source, Zig version and machine) and runs it over many snippets."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or tools_dir()
        self._zig = zig_binary()
        identity = LISTER_SOURCE.read_bytes() + f"{ZIG_VERSION} {platform.machine()}".encode()
        digest = hashlib.sha256(identity).hexdigest()[:16]
        self.binary = self.directory / f"decl-lister-{digest}"
        self._lock: asyncio.Lock | None = None

    async def _build(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.binary.with_name(f".{self.binary.name}.{os.getpid()}.partial")
        # The self-hosted x86_64 backend builds this in seconds; LLVM elsewhere.
        backend = ["-fno-llvm", "-fno-lld"] if platform.machine() == "x86_64" else []
        cache = str(self.directory / "zig-cache")
        process = await asyncio.create_subprocess_exec(
            str(self._zig),
            "build-exe",
            str(LISTER_SOURCE),
            *backend,
            f"-femit-bin={partial}",
            "--cache-dir",
            cache,
            "--global-cache-dir",
            cache,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.directory)},
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), LISTER_BUILD_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise SandboxError(f"building {LISTER_SOURCE.name} took over {LISTER_BUILD_TIMEOUT_S} s") from None
        if process.returncode != 0:
            raise SandboxError(f"building {LISTER_SOURCE.name} failed: {stderr.decode(errors='replace')[:300]}")
        partial.replace(self.binary)

    async def ensure_built(self) -> Path:
        if not self.binary.exists():
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if not self.binary.exists():
                    await self._build()
        return self.binary

    async def list_many(self, codes: list[str]) -> list[list[list[str]] | None]:
        """For each code, the paths of its declarations, or ``None`` when it does not parse."""
        if not codes:
            return []
        binary = await self.ensure_built()
        with tempfile.TemporaryDirectory(prefix="zigtune-decls-") as directory:
            paths = []
            for index, code in enumerate(codes):
                path = Path(directory) / f"{index}.zig"
                path.write_text(code, encoding="utf-8")
                paths.append(str(path))
            process = await asyncio.create_subprocess_exec(
                "prlimit",
                f"--as={LISTER_MEMORY_BYTES}",
                f"--cpu={LISTER_TIMEOUT_S}",
                "--core=0",
                "--",
                str(binary),
                *paths,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={"PATH": "/usr/bin:/bin"},
            )
            try:
                stdout, stderr = await asyncio.wait_for(process.communicate(), LISTER_TIMEOUT_S * 2)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise SandboxError("the declaration lister did not finish") from None
        lines = stdout.decode("utf-8", "replace").splitlines()
        if process.returncode != 0 or len(lines) != len(codes):
            raise SandboxError(f"the declaration lister failed: {stderr.decode(errors='replace')[:300]}")
        listed: list[list[list[str]] | None] = []
        for line in lines:
            answer = json.loads(line)
            listed.append(answer["refs"] if answer["ok"] else None)
        return listed


async def reference_all(codes: list[str], lister: DeclarationLister | None = None) -> dict[str, str]:
    """Each distinct code -> the code with every declaration referenced (unchanged when none, or unparsable)."""
    distinct = list(dict.fromkeys(codes))
    listed = await (lister or DeclarationLister()).list_many(distinct)
    return {code: with_references(code, refs or []) for code, refs in zip(distinct, listed, strict=True)}
