"""The steps of ``model_evaluation`` that need no Dagster: which suites, which tasks, how they are asked, and the
summary a person reads. The asset (``zigtune/assets/evaluation.py``) calls them in order.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from zigtune.dataset.chatml import ChatFormatError, turns_of
from zigtune.evaluation.contamination import conversation_text, mark_seen
from zigtune.evaluation.eval_split import EVAL_SPLIT, eval_split_suite
from zigtune.evaluation.judging import check_job, judge, run_checks
from zigtune.evaluation.replies import Prompt
from zigtune.evaluation.scoring import (
    BASE,
    FINE_TUNED,
    Difference,
    Marks,
    category_summary,
    headline_subset,
    paired_difference,
    prompt_key,
    summarize,
)
from zigtune.evaluation.suite import Suite, SuiteError, SuiteTask, load_suite
from zigtune.storage.cache import ContentCache
from zigtune.validation.checking import CheckStats, Engine

#: The suites ``model_evaluation`` runs by default: the project's own. Not ``eval_split``: the held-out sections
#: give a handful of tasks from a few sources, too few to report on by default (README, "The suites it runs").
DEFAULT_SUITES = ("zigtune_core",)


@dataclass
class SuiteSelection:
    suites: list[Suite]
    dropped: Counter[str] = field(default_factory=Counter)


def load_suites(names: list[str], eval_rows: pl.DataFrame | None) -> SuiteSelection:
    """Each named suite: ``eval_split`` (converted from the dataset's held-out rows), a built-in suite, or a
    JSONL path. An empty or missing eval split gives an empty ``eval_split`` suite, not an error."""
    selection = SuiteSelection([])
    for name in names:
        if name == EVAL_SPLIT:
            if eval_rows is None or not eval_rows.height:
                selection.suites.append(Suite(EVAL_SPLIT))
                continue
            conversion = eval_split_suite(eval_rows)
            selection.suites.append(conversion.suite)
            selection.dropped.update({f"{EVAL_SPLIT}: {reason}": n for reason, n in conversion.dropped.items()})
        else:
            selection.suites.append(load_suite(name))
    names_seen = [suite.name for suite in selection.suites]
    if len(set(names_seen)) != len(names_seen):
        raise SuiteError(f"two suites share a name in {names_seen}: rename a suite file")
    return selection


def sample_tasks(selection: SuiteSelection, per_suite: int, seed: int) -> None:
    """Keep a seeded sample of ``per_suite`` tasks of each suite (0: all), counting the rest."""
    if per_suite <= 0:
        return
    for suite in selection.suites:
        if len(suite.tasks) > per_suite:
            chosen = sorted(random.Random(f"{seed}:{suite.name}").sample(range(len(suite.tasks)), per_suite))
            selection.dropped[f"{suite.name}: over max_tasks_per_suite"] += len(suite.tasks) - per_suite
            suite.tasks = [suite.tasks[i] for i in chosen]


def _honesty_solutions(task: SuiteTask) -> list[tuple[str, str | None, bool]]:
    """(what, solution, must pass) for a task's verification."""
    checks: list[tuple[str, str | None, bool]] = [("reference", task.reference_solution, True)]
    checks.append(("empty test", "test {}\n", False))
    if task.stub is not None:
        checks.append(("stub", task.stub, False))
    return checks


async def verify_tasks(
    suite: Suite,
    engine: Engine,
    cache: ContentCache | None,
    stats: CheckStats,
    log: Callable[[str], object] | None = None,
) -> Counter[str]:
    """Keep the tasks whose reference solution passes and whose stub and an empty ``test {}`` fail; returns the
    dropped tasks by reason. For suites built here (the eval split), where a task's check is not known good."""
    dropped: Counter[str] = Counter()
    plans = {task.id: _honesty_solutions(task) for task in suite.tasks}
    jobs = [check_job(task, solution) for task in suite.tasks for _, solution, _ in plans[task.id] if solution]
    results = await run_checks(jobs, engine, cache, stats, log, label=f"verifying {suite.name}")
    kept = []
    for task in suite.tasks:
        problem = None
        for what, solution, must_pass in plans[task.id]:
            if solution is None:
                problem = "no reference solution"
                break
            passed = judge(task, solution, results.get(check_job(task, solution))).passed
            if passed != must_pass:
                problem = f"the {what} {'fails' if must_pass else 'passes'}"
                break
        if problem:
            dropped[f"{suite.name}: {problem}"] += 1
        else:
            kept.append(task)
    suite.tasks = kept
    return dropped


def training_texts(train_rows: pl.DataFrame | None) -> list[str]:
    """One text per training conversation (every turn but the system's)."""
    if train_rows is None or "conversations" not in train_rows.columns:
        return []
    texts = []
    for conversation in train_rows["conversations"].to_list():
        try:
            turns = turns_of(conversation)
        except ChatFormatError:
            continue
        texts.append(conversation_text([turn["content"] for turn in turns if turn["role"] != "system"]))
    return texts


def contamination_marks(suites: list[Suite], texts: list[str]) -> Marks:
    """Seen/unseen for every task of every suite, against the training texts (each suite on its own: its prompt
    template is found among its tasks)."""
    marks: Marks = {}
    for suite in suites:
        seen = mark_seen(suite.tasks, texts) if texts and suite.tasks else {}
        for task in suite.tasks:
            marks[suite.name, task.id] = seen.get(task.id)
    return marks


def system_turns(train_rows: pl.DataFrame | None) -> list[dict[str, str]]:
    """The dataset's system turn, so the models are asked the way the adapter was trained (none when absent)."""
    if train_rows is None or not train_rows.height or "conversations" not in train_rows.columns:
        return []
    try:
        first = turns_of(train_rows["conversations"][0])
    except ChatFormatError:
        return []
    return first[:1] if first and first[0]["role"] == "system" else []


def prompts_of(suites: list[Suite], system: list[dict[str, str]]) -> list[Prompt]:
    return [
        Prompt(prompt_key(suite.name, task.id), [*system, {"role": "user", "content": task.prompt}])
        for suite in suites
        for task in suite.tasks
    ]


@dataclass
class EvaluationSummary:
    """Everything the report shows: rates per suite × role × subset, per category, and the differences."""

    summary: pl.DataFrame
    categories: pl.DataFrame
    headline: str
    differences: dict[str, Difference | None]

    def headline_rate(self, suite: str, role: str, rate: str = "pass_at_1") -> float | None:
        if not self.summary.height:
            return None
        rows = self.summary.filter(
            (pl.col("suite") == suite) & (pl.col("role") == role) & (pl.col("subset") == self.headline)
        )
        return rows[rate][0] if rows.height and rate in rows.columns else None

    def per_suite(self) -> dict[str, dict[str, object]]:
        """Per suite: the headline pass@1 of each model and the difference with its interval."""
        table: dict[str, dict[str, object]] = {}
        for suite in dict.fromkeys(self.summary["suite"]) if self.summary.height else []:
            difference = self.differences.get(suite)
            table[suite] = {
                "subset": self.headline,
                BASE: self.headline_rate(suite, BASE),
                FINE_TUNED: self.headline_rate(suite, FINE_TUNED),
                "difference": difference.as_dict() if difference else None,
            }
        return table


def summarise(results: pl.DataFrame, ks: tuple[int, ...], resamples: int, seed: int = 0) -> EvaluationSummary:
    headline = headline_subset(results)
    summary = summarize(results, ks)
    suites = list(dict.fromkeys(results["suite"])) if results.height else []
    differences = {suite: paired_difference(results, suite, headline, resamples, seed=seed) for suite in suites}
    return EvaluationSummary(summary, category_summary(results), headline, differences)
