"""Check a batch of Zig programs with the local engine: in the test process, or as another user.

``tests/test_zig_engine.py`` checks its programs through :func:`check_programs` as the user running
the tests and, when that user is root, runs this file again as an unprivileged user (with
``/usr/bin/python3`` and a copy of only the modules the engine needs), so the sandbox is tested the
way an ordinary user meets it. It imports nothing but the engine, the declaration lister and the
standard library.

    python sandbox_driver.py < spec.json > results.json

``spec``: ``{"root": sandbox root, "programs": {name: {"code", "mode", "options"?, "compile_timeout_s"?}}}``;
the answer: ``{name: ExecResult.to_dict()}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from zigtune.validation.declarations import reference_all
from zigtune.validation.sandbox import BuildOptions, LocalZigEngine, SandboxLimits

#: Limits of the test batches: short, so the endless programs cost little.
LIMITS = {"run_timeout_s": 5.0, "cpu_seconds": 5}


async def check_programs(
    root: Path, programs: dict[str, dict[str, Any]], uid_base: int | None = None
) -> dict[str, dict[str, Any]]:
    """Every program's result, each compiled with every declaration referenced (as validation does).

    ``uid_base``: the uid programs run as when the caller is root (the engine's default otherwise)."""
    engines: dict[float | None, LocalZigEngine] = {}

    def engine_for(compile_timeout_s: float | None) -> LocalZigEngine:
        if compile_timeout_s not in engines:
            limits = dict(LIMITS, **({"compile_timeout_s": compile_timeout_s} if compile_timeout_s else {}))
            identity = {"uid_base": uid_base} if uid_base is not None else {}
            engines[compile_timeout_s] = LocalZigEngine(root, limits=SandboxLimits(**limits), **identity)  # type: ignore[arg-type]
        return engines[compile_timeout_s]

    engine_for(None).preflight()
    analysable = await reference_all([spec["code"] for spec in programs.values() if spec["mode"] != "ast-check"])

    async def one(spec: dict[str, Any]) -> dict[str, Any]:
        engine = engine_for(spec.get("compile_timeout_s"))
        options = BuildOptions(**spec.get("options", {}))
        return (await engine.execute(analysable.get(spec["code"], spec["code"]), spec["mode"], options)).to_dict()

    results = await asyncio.gather(*(one(spec) for spec in programs.values()))
    for engine in engines.values():
        await engine.close()
    return dict(zip(programs, results, strict=True))


def main() -> None:
    spec = json.load(sys.stdin)
    results = asyncio.run(check_programs(Path(spec["root"]), spec["programs"]))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
