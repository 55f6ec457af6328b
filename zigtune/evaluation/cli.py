"""``python -m zigtune.evaluation score|ask``: a task suite scored without Dagster or a GPU.

- ``score --suite S.jsonl --completions C.jsonl [--out REPORT.json] [--training-data train.jsonl ...]``: every
  completion judged by the Zig engine (local sandbox, or Codapi with ``ZIGTUNE_ZIG_ENGINE=codapi``); prints
  pass@1 (and pass@k with several completions per task) overall and per category; exit 0 whatever the score.
  Completions are JSONL ``{"id": ..., "completion": ...}`` (other fields are ignored); a task without any
  completion counts as one failed sample. With training data, seen tasks are marked and the headline is on
  unseen tasks.
- ``compare --suite S --base BASE.json --fine-tuned TUNED.json``: two ``score --out`` reports paired task by task:
  fine-tuned − base pass@1 with its cluster-bootstrap interval, and both models' rates per category.
- ``ask --suite S.jsonl --base-url URL --model NAME --out C.jsonl [--samples N --temperature T]``: completions
  from any OpenAI-compatible server, concurrently, through the project's LLM cache.

``--suite`` also takes a built-in suite by name (``zigtune_core``). Errors in the input are one line on stderr
and exit status 2; an unreachable server or engine, exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zigtune import settings
from zigtune.evaluation.contamination import SPAN_CHARS, mark_seen, training_texts_from_jsonl
from zigtune.evaluation.decoding import DEFAULT_MAX_NEW_TOKENS, DEFAULT_SEED, Decoding, DecodingError
from zigtune.evaluation.replies import GenerationError, OpenAIBackend, Prompt
from zigtune.evaluation.samples import Completion, ModelStamp, prompt_key
from zigtune.evaluation.suite import Suite, SuiteError, load_suite
from zigtune.storage.cache import ContentCache
from zigtune.validation.sandbox import SandboxError

if TYPE_CHECKING:
    from zigtune.validation.checking import CheckStats

# ``score`` imports polars, the judging and the scoring where it runs: ``ask`` needs none of them, so the GPU
# machine's bundle (scripts/gpu_tests.sh --set training) carries no polars.

#: The role name of the one model whose completions ``score`` reads.
MODEL = "model"
EXIT_BAD_INPUT, EXIT_FAILED = 2, 1


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- completions files ------------------------------------------------------------------------------------------


def read_completions(path: Path, suite: Suite) -> list[Completion]:
    """``{"id", "completion"}`` lines; the n-th completion of a task is its sample n."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise SuiteError(f"{path}: cannot be read ({type(error).__name__}: {error})") from None
    known = suite.by_id()
    samples: dict[str, int] = {}
    completions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise SuiteError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(row, dict):
            raise SuiteError(f"{where}: must be a JSON object")
        task_id, text = row.get("id"), row.get("completion")
        if not isinstance(task_id, str):
            raise SuiteError(f"{where}: field 'id': must be a string")
        if task_id not in known:
            raise SuiteError(f"{where}: field 'id': {task_id!r} is not a task of suite {suite.name!r}")
        if not isinstance(text, str):
            raise SuiteError(f"{where}: field 'completion': must be a string")
        sample = samples.get(task_id, 0)
        samples[task_id] = sample + 1
        reason = "length" if row.get("finish_reason") == "length" else "stop"
        completions.append(Completion(prompt_key(suite.name, task_id), MODEL, sample, text, reason))
    return completions


def unanswered(suite: Suite, completions: list[Completion]) -> list[str]:
    answered = {completion.task_id for completion in completions}
    return [task.id for task in suite.tasks if prompt_key(suite.name, task.id) not in answered]


def write_completions(path: Path, completions: list[Completion], suite: Suite, model: str) -> None:
    ids = {prompt_key(suite.name, task.id): task.id for task in suite.tasks}
    ordered = sorted(completions, key=lambda c: (list(ids).index(c.task_id), c.sample))
    lines = [
        json.dumps(
            {"id": ids[c.task_id], "completion": c.text, "sample": c.sample, "finish_reason": c.finish_reason,
             "model": model},
            ensure_ascii=False,
        )
        for c in ordered
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    partial.replace(path)


# -- engines ----------------------------------------------------------------------------------------------------


def create_engine(kind: str, concurrency: int, sandbox_dir: str | None = None) -> Any:
    """The Zig engine the pipeline would use (the local one without importing Dagster; Codapi through the
    ``zig`` resource's settings)."""
    if kind == "codapi":
        from zigtune.resources.codapi import CodapiEngine
        from zigtune.resources.zig import zig_from_env

        return CodapiEngine(zig_from_env().codapi)  # CODAPI_URL, CODAPI_API_KEY as the pipeline reads them
    from zigtune.validation.sandbox import LocalZigEngine

    root = Path(sandbox_dir) if sandbox_dir else settings.data_dir() / "sandbox"
    engine = LocalZigEngine(root, concurrency=concurrency or os.cpu_count() or 1)
    engine.preflight()
    return engine


def _engine_errors(arguments: argparse.Namespace) -> tuple[type[Exception], ...]:
    """Codapi's refusal, imported only when Codapi is used (``zigtune.resources`` brings Dagster along)."""
    if getattr(arguments, "engine", "local") != "codapi":
        return ()
    from zigtune.resources.codapi import CodapiError

    return (CodapiError,)


# -- score ------------------------------------------------------------------------------------------------------


async def _judge(
    suite: Suite, completions: list[Completion], engine: Any, cache: ContentCache | None, stats: CheckStats
) -> tuple:
    from zigtune.evaluation.judging import run_checks
    from zigtune.evaluation.scoring import completion_jobs

    try:
        version = await engine.version()
        results = await run_checks(completion_jobs([suite], completions), engine, cache, stats, _log)
        return results, version
    finally:
        await engine.close()


def score_report(
    suite: Suite,
    completions: list[Completion],
    engine: Any,
    cache: ContentCache | None,
    training_texts: list[str] | None,
) -> dict[str, Any]:
    """Judge the completions and return the report (what ``--out`` writes)."""
    import polars as pl

    from zigtune.evaluation.scoring import (
        Marks,
        category_summary,
        headline_subset,
        score_completions,
        summarize,
        usable_ks,
    )
    from zigtune.validation.checking import CheckStats

    missing = unanswered(suite, completions)
    padded = completions + [Completion(prompt_key(suite.name, i), MODEL, 0, "", "missing") for i in missing]
    marks: Marks | None = None
    if training_texts is not None:
        seen = mark_seen(suite.tasks, training_texts)
        marks = {(suite.name, task_id): span for task_id, span in seen.items()}
    stats = CheckStats()
    results, version = asyncio.run(_judge(suite, padded, engine, cache, stats))
    stamps = {MODEL: ModelStamp(MODEL, None, "completions file")}
    frame = score_completions([suite], padded, results, stamps, marks, None, version, engine.name)
    ks = usable_ks(frame)
    summary = summarize(frame, ks)
    headline = headline_subset(frame)
    top = summary.filter(pl.col("subset") == headline).row(0, named=True) if summary.height else {}
    tasks = frame.group_by("task_id", maintain_order=True).agg(
        pl.col("category").first(),
        pl.col("seen").first(),
        pl.col("seen_span").first(),
        samples=pl.len(),
        passed=pl.col("passed").sum(),
        verdicts=pl.col("verdict"),
    )
    return {
        "suite": suite.name,
        "tasks": len(suite.tasks),
        "completions": len(completions),
        "unanswered": missing,
        "zig_version": version,
        "engine": engine.name,
        "checks": {"compiled": stats.compiled, "from_cache": stats.cached, "engine_errors": stats.sandbox_errors},
        "contamination": {
            "checked": marks is not None,
            "span_chars": SPAN_CHARS,
            "training_texts": len(training_texts) if training_texts is not None else 0,
            "seen": sorted(task_id for (_, task_id), span in (marks or {}).items() if span is not None),
        },
        "headline": {
            "subset": headline,
            "tasks": top.get("tasks"),
            "pass_at_1": top.get("pass_at_1"),
            "engine_errors": top.get("sandbox_errors", 0),  # checks that could not run: failures, in the rate
        },
        "summary": summary.to_dicts(),
        "categories": category_summary(frame, ks).to_dicts(),
        "per_task": tasks.to_dicts(),
    }


def report_lines(report: dict[str, Any]) -> list[str]:
    """What ``score`` prints."""
    from zigtune.evaluation.report import shown

    headline = report["headline"]
    contamination = report["contamination"]
    checked = (
        f"{len(contamination['seen'])} seen in {contamination['training_texts']} training texts"
        if contamination["checked"]
        else "contamination not checked (--training-data)"
    )
    lines = [
        f"{report['suite']}: {report['tasks']} tasks, {report['completions']} completions "
        f"({len(report['unanswered'])} tasks without one), Zig {report['zig_version']} ({report['engine']} engine); "
        f"{checked}"
    ]
    for row in report["summary"]:
        if row["subset"] != headline["subset"]:
            continue
        ks = [key for key in row if key.startswith("pass_at_") and row[key] is not None]
        rates = "  ".join(f"{key.replace('pass_at_', 'pass@')} {shown(row[key])}" for key in ks)
        lines.append(f"{headline['subset']} tasks ({row['tasks']}): {rates}  compile rate {shown(row['compile_rate'])}")
        if row.get("sandbox_errors"):
            lines.append(
                f"  {row['sandbox_errors']} of {row['samples']} checks could not run (engine errors): "
                "counted as failures (run score again to judge them)"
            )
    for row in report["summary"]:
        if row["subset"] == "seen":
            lines.append(f"seen tasks ({row['tasks']}, not in the headline): pass@1 {shown(row['pass_at_1'])}")
    if report["categories"]:
        ks = [key for key in report["categories"][0] if key.startswith("pass_at_")]
        names = ", ".join(key.replace("pass_at_", "pass@") for key in ks)
        lines.append(f"per category ({names}, compile rate, tasks):")
        width = max(len(row["category"]) for row in report["categories"])
        for row in report["categories"]:
            rates = "  ".join(f"{shown(row[key]):>6}" for key in ks)
            lines.append(f"  {row['category']:<{width}}  {rates}  {shown(row['compile_rate']):>6}  {row['tasks']}")
    return lines


def score_command(arguments: argparse.Namespace) -> int:
    suite = load_suite(arguments.suite)
    completions = read_completions(Path(arguments.completions), suite)
    training = None
    if arguments.training_data:
        training = [text for path in arguments.training_data for text in training_texts_from_jsonl(path)]
    cache = None if arguments.no_cache else ContentCache(settings.data_dir() / "cache" / "verdicts")
    engine = create_engine(arguments.engine, arguments.concurrency, arguments.sandbox_dir)
    report = score_report(suite, completions, engine, cache, training)
    print("\n".join(report_lines(report)))
    if arguments.out:
        out = Path(arguments.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"report: {out}")
    return 0


# -- ask --------------------------------------------------------------------------------------------------------


def suite_prompts(suite: Suite, system: str | None = None) -> list[Prompt]:
    head = [{"role": "system", "content": system}] if system else []
    return [
        Prompt(prompt_key(suite.name, task.id), [*head, {"role": "user", "content": task.prompt}])
        for task in suite.tasks
    ]


def ask_command(arguments: argparse.Namespace) -> int:
    suite = load_suite(arguments.suite)
    decoding = Decoding(
        temperature=arguments.temperature,
        max_new_tokens=arguments.max_tokens,
        num_samples=arguments.samples,
        seed=arguments.seed,
    ).validate()
    backend = OpenAIBackend(
        arguments.base_url,
        os.environ.get(arguments.api_key_env) or "none",
        concurrency=arguments.concurrency,
        cache=None if arguments.no_cache else ContentCache(settings.data_dir() / "cache" / "llm"),
        log=_log,
    )
    stamps = {MODEL: ModelStamp(arguments.model, None, "openai")}
    completions, stats = backend.generate(stamps, suite_prompts(suite, arguments.system), decoding)
    write_completions(Path(arguments.out), completions, suite, arguments.model)
    print(
        f"{len(completions)} completions of {len(suite.tasks)} tasks from {arguments.model} "
        f"({stats.requests} requests, {stats.cached} from the cache) -> {arguments.out}"
    )
    return 0


# -- compare ----------------------------------------------------------------------------------------------------


def compare_command(arguments: argparse.Namespace) -> int:
    from zigtune.evaluation.compare import compare_reports, comparison_lines, read_report

    suite = load_suite(arguments.suite)
    comparison = compare_reports(suite, read_report(arguments.base), read_report(arguments.fine_tuned))
    print("\n".join(comparison_lines(comparison)))
    if arguments.out:
        Path(arguments.out).write_text(json.dumps(comparison, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"comparison: {arguments.out}")
    return 0


# -- entry point ------------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m zigtune.evaluation", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="judge completions of a suite and print pass@1 / pass@k")
    score.add_argument("--suite", required=True, help="suite JSONL file, or a built-in suite name (zigtune_core)")
    score.add_argument("--completions", required=True, help='JSONL: {"id": ..., "completion": ...} per line')
    score.add_argument("--out", help="write the report here as JSON")
    score.add_argument("--training-data", action="append", help="training JSONL (repeatable): mark tasks seen in it")
    score.add_argument("--engine", choices=("local", "codapi"), default=settings.zig_engine())
    score.add_argument("--concurrency", type=int, default=0, help="checks at once (local engine; 0: CPU cores)")
    score.add_argument("--no-cache", action="store_true", help="do not use or fill the verdict cache")
    score.add_argument("--sandbox-dir", help="local engine's directory (compiler cache); default <data dir>/sandbox")
    score.set_defaults(run=score_command)

    ask = commands.add_parser("ask", help="collect completions of a suite from an OpenAI-compatible server")
    ask.add_argument("--suite", required=True)
    ask.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000/v1")
    ask.add_argument("--model", required=True, help="the model's name on that server")
    ask.add_argument("--out", required=True, help="completions JSONL to write")
    ask.add_argument("--samples", type=int, default=1, help="completions per task (pass@k needs > 1)")
    ask.add_argument("--temperature", type=float, default=0.0, help="0: greedy (needs --samples 1)")
    ask.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS)
    ask.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ask.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    ask.add_argument("--system", help="a system message sent before each prompt")
    ask.add_argument("--api-key-env", default="ZIGTUNE_EVAL_API_KEY", help="environment variable holding the key")
    ask.add_argument("--no-cache", action="store_true", help="ask the server even when the answer is cached")
    ask.set_defaults(run=ask_command)

    compare = commands.add_parser("compare", help="fine-tuned − base pass@1 with its interval, from two score reports")
    compare.add_argument("--suite", required=True)
    compare.add_argument("--base", type=Path, required=True, help="the base model's report (score --out)")
    compare.add_argument("--fine-tuned", type=Path, required=True, help="the fine-tuned model's report")
    compare.add_argument("--out", help="write the comparison here as JSON")
    compare.set_defaults(run=compare_command)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        return arguments.run(arguments)
    except (SuiteError, DecodingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (GenerationError, SandboxError, OSError, *_engine_errors(arguments)) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
