"""The offline generator: every task family, each pair checked by running Zig 0.14. No LLM, no network.

It is the embedded default of the ``qa_pairs`` stage. The reference's buildable examples are run
once; the families then build on what those runs said and run what they derive:

- ``reference_example``: write a program that does what a passing example does. Checked: the example
  passes here, and an ``exe``'s expected output is what it printed here.
- ``failure_explanation``: why does this code fail? Checked: the failure is reproduced here, and the
  answer quotes this compiler's (or runtime's) message. The reference's failing examples come without
  a fix, so these pairs are dropped by default (``no_fix_shown``, :data:`FAILURES_WITHOUT_FIX`): failure
  pairs of the default dataset name the cause *and* show the fix that passes (``mistake_repair``,
  ``migration_repair``, the failing ``variant`` pairs).
- ``spec_to_code`` (:mod:`.spec_tasks`): a task in plain words and a stub, answered by a solution that
  passes hidden tests (the stub fails them). Checked: both runs.
- ``mistake_repair`` (:mod:`.mistakes`): the mistakes base models make, put into those solutions;
  the cause named, the fix shown. Checked: the compiler rejects the mistake with the rule's message,
  the fix passes the tests.
- ``stdlib_function`` (:mod:`.stdlib_tasks`): implement a function of Zig's standard library from its
  doc comment and signature. Checked: std's own tests for it pass, in a standalone file.
- ``migration_repair`` (:mod:`.migration_repair`): fix code written for an older release. Checked: the
  old form fails with the rule's message, the fix passes.
- ``predict_output`` (:mod:`.predict_output`): what does this print, what does ``zig test`` report?
  Checked: the answer is what the run printed.
- ``implement_tests`` (:mod:`.implement_tests`): implement a function so that the tests pass. Checked:
  the answer passes, the stub fails at its placeholder.
- ``variant`` (:mod:`.variants`): programs with changed constants, bounds and strings. Checked: the new
  output or report is what the variant's run gave. Capped at :data:`VARIANT_SHARE` of all pairs
  (``over_share_cap``): they are word and constant swaps, padding beyond a few.
- ``concept`` (:mod:`.concepts`): explain a section, its code kept. Checked: every block of its code,
  and the program the validation stage extracts.

Every family is an ``async`` function from the checked programs and a :data:`~.execution.Checker` to
a :class:`~.execution.FamilyResult` (pairs, drops counted by reason, the checked candidates it
dropped). No dagster here.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from zigtune.generation.concepts import concept_pairs
from zigtune.generation.docs_generator import example_pair, failure_pair
from zigtune.generation.execution import (
    CheckedProgram,
    Checker,
    FamilyResult,
    checked_programs,
    clean_paths,
    printed_output,
)
from zigtune.generation.implement_tests import implement_tests_pairs
from zigtune.generation.migration_repair import migration_repair_pairs
from zigtune.generation.mistakes import mistake_repair_pairs
from zigtune.generation.pairs import Row
from zigtune.generation.predict_output import predict_output_pairs
from zigtune.generation.spec_tasks import spec_task_pairs
from zigtune.generation.stdlib_tasks import stdlib_pairs
from zigtune.generation.variants import variant_pairs
from zigtune.validation.code_extraction import check_mode

#: The checks that test behaviour (see ``pairs.BEHAVIOUR_CHECKS``): tests, or a compared output.
BEHAVIOUR_CHECKS_OF_BEHAVIOUR = ("tests", "output")

FAMILIES = (
    "reference_example",
    "failure_explanation",
    "migration_repair",
    "predict_output",
    "implement_tests",
    "variant",
    "concept",
    "spec_to_code",
    "mistake_repair",
    "stdlib_function",
)

#: Failure pairs from the reference's failing examples, which show no fix: off by default (issue 27).
FAILURES_WITHOUT_FIX = False
#: The largest share of all pairs that ``variant`` pairs (word and constant swaps) may take.
VARIANT_SHARE = 0.08


@dataclass
class OfflineResult:
    """All families' results, what the example runs skipped, and how long it took."""

    families: list[FamilyResult] = field(default_factory=list)
    skipped_examples: Counter[str] = field(default_factory=Counter)
    wall_seconds: float = 0.0

    @property
    def rows(self) -> list[Row]:
        return [row for family in self.families for row in family.rows]

    @property
    def rejects(self) -> list[dict[str, str]]:
        return [reject for family in self.families for reject in family.rejects]

    def dropped(self) -> dict[str, dict[str, int]]:
        return {family.family: dict(sorted(family.dropped.items())) for family in self.families}

    def kept(self) -> dict[str, int]:
        return {family.family: len(family.rows) for family in self.families}

    def summary(self) -> dict[str, object]:
        """What a person wants to see after a run: pairs and drops per family, how they were checked."""
        rows = self.rows
        checked = [row for row in rows if row["checked"]]
        behaviour = [row for row in checked if row["behaviour_check"] in BEHAVIOUR_CHECKS_OF_BEHAVIOUR]
        return {
            "offline_pairs": len(rows),
            "offline_checked": len(checked),
            "offline_behaviour_checked": len(behaviour),
            "offline_behaviour_checked_share": round(len(behaviour) / len(checked), 4) if checked else 0.0,
            "offline_pairs_by_family": self.kept(),
            "offline_checks_by_family": {
                family.family: dict(sorted(Counter(str(row["behaviour_check"]) for row in family.rows).items()))
                for family in self.families
            },
            "offline_made_by": {family.family: dict(sorted(family.kept_by.items())) for family in self.families},
            "offline_dropped_by_family": self.dropped(),
            "offline_examples_skipped": dict(sorted(self.skipped_examples.items())),
            "offline_wall_seconds": self.wall_seconds,
        }


def reference_pairs(
    programs: Sequence[CheckedProgram], failures_without_fix: bool = FAILURES_WITHOUT_FIX
) -> tuple[FamilyResult, FamilyResult]:
    """ "Write this program" for each passing example, "why does it fail?" for each failing one, both
    kept only when the run here agrees with the reference."""
    examples, failures = FamilyResult("reference_example"), FamilyResult("failure_explanation")
    for checked in programs:
        program = checked.program
        target = examples if program.expect == "pass" else failures
        if not checked.reproduced:
            target.reject(program, "not_reproduced", clean_paths(checked.result.stderr)[:2000])
            continue
        if program.expect == "pass":
            printed = printed_output(checked.result) if check_mode(program.code) == "run" else None
            examples.kept_by[program.kind] += 1
            examples.rows.append(example_pair(program.example(), printed.text if printed else None, checked=True))
        elif not failures_without_fix:
            failures.dropped["no_fix_shown"] += 1
        elif row := failure_pair(
            program.example(),
            clean_paths(checked.result.stderr),
            None,
            checked=True,
            verdict=checked.result.verdict.value,
        ):
            failures.kept_by[program.expect] += 1
            failures.rows.append(row)
        else:
            failures.reject(program, "failure_without_error_text", checked.result.stderr[:2000])
    return examples, failures


async def offline_pairs(sections: pl.DataFrame, check: Checker) -> OfflineResult:
    """Every family's pairs for a ``doc_sections`` table, in a fixed order (see the module docstring)."""
    started = time.monotonic()
    programs, skipped = await checked_programs(sections, check)
    examples, failures = reference_pairs(programs)

    async def spec_and_mistakes() -> tuple[FamilyResult, FamilyResult]:
        spec, solved = await spec_task_pairs(sections, check)
        return spec, await mistake_repair_pairs(solved, check)

    *derived, (spec, mistakes), stdlib = await asyncio.gather(
        migration_repair_pairs(programs, check),
        predict_output_pairs(programs, check),
        implement_tests_pairs(programs, check),
        variant_pairs(programs, check),
        concept_pairs(sections, programs, check),
        spec_and_mistakes(),
        stdlib_pairs(sections, check),
    )
    families = [examples, failures, *derived, spec, mistakes, stdlib]
    cap_share(families, "variant", VARIANT_SHARE)
    return OfflineResult(families, skipped, round(time.monotonic() - started, 3))


#: A capped family keeps at least this many pairs (a small docs file still shows each form once or twice).
CAP_FLOOR = 2


def cap_share(families: list[FamilyResult], name: str, share: float, floor: int = CAP_FLOOR) -> None:
    """Keep at most ``share`` of all pairs in family ``name`` (but at least ``floor``): an even spread of its
    pairs, in order; the others counted as ``over_share_cap``."""
    capped = next((family for family in families if family.family == name), None)
    if capped is None or not capped.rows:
        return
    others = sum(len(family.rows) for family in families if family is not capped)
    allowed = max(floor, int(share * others / (1 - share)))
    if len(capped.rows) <= allowed:
        return
    step = len(capped.rows) / allowed if allowed else 0
    keep = {int(i * step) for i in range(allowed)}
    capped.dropped["over_share_cap"] += len(capped.rows) - len(keep)
    capped.rows = [row for index, row in enumerate(capped.rows) if index in keep]
