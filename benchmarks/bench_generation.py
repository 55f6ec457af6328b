"""Benchmark: LLM generation against local OpenAI-compatible servers (tests/openai_server.py).

``--scenario throughput`` (the full Zig 0.14 reference, a server with fixed latency) measures, in one run:
- the concurrent generator (``zigtune.generation.llm.generate_pairs``, concurrency 16, no client pacing)
  against the original write-up's serial loop (sync ``openai.OpenAI``, one section and round at a
  time). The serial loop is timed on a subset of sections and extrapolated per call to the full
  call count, to keep the benchmark short;
- the concurrent run against its bound ``calls × latency / concurrency``;
- an unchanged re-run: calls made (should be 0) and its wall time.

``--scenario one-slot`` runs 40 sections against a server that works on one request at a time, 1 s per
reply, starting at 16 in flight with a 5 s timeout, twice: with adaptive concurrency (AIMD window and
latency-sized timeouts) and without (a fixed window and timeout, as before). It reports the requests
dropped at their timeout, the requests the server worked on for a client that had gone, failures, the
concurrency reached and the wall time.

The server is tests/openai_server.py (a real aiohttp server on 127.0.0.1). Usage:
``python benchmarks/bench_generation.py [--scenario all|throughput|one-slot] [--latency 0.3] [--concurrency 16]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.openai_server import OpenAIServer  # noqa: E402
from zigtune.docs.sections import sections_frame, split_sections  # noqa: E402
from zigtune.generation.calls import CallSettings, CallStats, LLMCaller, build_client  # noqa: E402
from zigtune.generation.llm import GenerationResult, GenerationSettings, SectionInput, generate_pairs  # noqa: E402
from zigtune.generation.prompts import PromptTemplates, load_templates  # noqa: E402
from zigtune.storage.cache import ContentCache  # noqa: E402

DOCS = ROOT.parent / "shared" / "data" / "zig-0.14.0-docs.md"


def concurrent_run(
    server: OpenAIServer,
    sections: list[SectionInput],
    cache_dir: Path,
    calls: CallSettings,
    settings: GenerationSettings | None = None,
) -> GenerationResult:
    stats = CallStats()

    async def run() -> GenerationResult:
        client = build_client(base_url=server.base_url, api_key="bench", requests=stats.requests, timeout=600)
        try:
            return await generate_pairs(
                sections,
                caller=LLMCaller(client, ContentCache(cache_dir), calls, stats),
                templates=load_templates(),
                settings=settings,
            )
        finally:
            await client.close()

    return asyncio.run(run())


def original_serial_loop(server: OpenAIServer, sections: list[SectionInput], templates: PromptTemplates) -> int:
    """The original ``main()``: one blocking call at a time, up to 3 iterations for long sections."""
    client = openai.OpenAI(base_url=server.base_url, api_key="bench")
    calls = 0
    for section in sections:
        content = section.text.strip()
        if len(content) <= 200:
            continue
        is_long = len(content) > 5000
        iteration, last_response = 0, None
        while True:
            prompt = (
                templates.render_continuation(content, last_response)
                if is_long and last_response
                else templates.render_first_round(content)
            )
            completion = client.chat.completions.create(
                model="meta-llama/llama-3.1-8b-instruct",
                messages=[{"role": "system", "content": templates.system}, {"role": "user", "content": prompt}],
                max_tokens=8192,
                temperature=0.7,
                stream=False,
            )
            calls += 1
            last_response = completion.choices[0].message.content.strip()
            iteration += 1
            if not (is_long and len(content) > 5000) or iteration >= 3:
                break
    client.close()
    return calls


def throughput(arguments: argparse.Namespace) -> dict[str, object]:
    frame = sections_frame(split_sections(arguments.docs.read_text(encoding="utf-8")))
    sections = [SectionInput(r["section_id"], r["breadcrumb"], r["text"]) for r in frame.iter_rows(named=True)]
    calls = CallSettings(max_concurrency=arguments.concurrency, requests_per_minute=0)
    server = OpenAIServer(latency=arguments.latency)
    try:
        with tempfile.TemporaryDirectory() as cache_dir:
            first = concurrent_run(server, sections, Path(cache_dir), calls)
            rerun = concurrent_run(server, sections, Path(cache_dir), calls)
        # Serial subset: evenly spaced eligible sections, so long and short ones are both in it.
        eligible = [s for s in sections if len(s.text.strip()) > 200]
        subset = eligible[:: max(1, len(eligible) // arguments.serial_sections)][: arguments.serial_sections]
        started = time.monotonic()
        serial_calls = original_serial_loop(server, subset, load_templates())
        serial_seconds = time.monotonic() - started
    finally:
        server.close()

    made = first.stats.calls_made
    per_call = serial_seconds / serial_calls
    serial_estimate = per_call * made
    bound = made * arguments.latency / arguments.concurrency
    return {
        "sections": first.sections_seen,
        "sections_sent": first.sections_sent,
        "calls": made,
        "pairs": len(first.pairs),
        "rejects": len(first.rejects),
        "latency_s": arguments.latency,
        "concurrency": first.stats.concurrency.as_dict() if first.stats.concurrency else {},
        "concurrent_wall_s": round(first.wall_seconds, 2),
        "bound_s": round(bound, 2),
        "bound_efficiency": round(bound / first.wall_seconds, 3),
        "serial_subset_calls": serial_calls,
        "serial_subset_s": round(serial_seconds, 2),
        "serial_per_call_s": round(per_call, 4),
        "serial_estimate_s": round(serial_estimate, 1),
        "speedup_vs_serial": round(serial_estimate / first.wall_seconds, 1),
        "rerun_calls_made": rerun.stats.calls_made,
        "rerun_calls_cached": rerun.stats.calls_cached,
        "rerun_wall_s": round(rerun.wall_seconds, 3),
    }


def one_slot(arguments: argparse.Namespace) -> dict[str, object]:
    sections = [
        SectionInput(f"s{i}", f"S{i}", f"## Section {i}\n\n" + f"words of section {i} " * 40) for i in range(40)
    ]
    report: dict[str, object] = {"sections": 40, "reply_s": 1.0, "slots": 1, "start_concurrency": 16, "timeout_s": 5.0}
    for adaptive in (True, False):
        server = OpenAIServer(latency=1.0, slots=1)
        calls = CallSettings(
            max_concurrency=16,
            timeout_seconds=5.0,
            requests_per_minute=0,
            adaptive_concurrency=adaptive,
            structured_output="off",
        )
        try:
            with tempfile.TemporaryDirectory() as cache_dir:
                result = concurrent_run(
                    server, sections, Path(cache_dir), calls, GenerationSettings(max_failed_share=1.0)
                )
        finally:
            server.close()
        report["adaptive" if adaptive else "fixed"] = {
            "wall_s": round(result.wall_seconds, 1),
            "sections_done": result.sections_sent - len(result.failures),
            "sections_failed": len(result.failures),
            "requests_sent": result.stats.requests.sent,
            "dropped_at_timeout": result.stats.requests.timeouts,
            "server_work_for_gone_clients": server.abandoned,
            "retries": result.stats.requests.retries,
            "concurrency": result.stats.concurrency.as_dict() if result.stats.concurrency else {},
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("all", "throughput", "one-slot"), default="all")
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--docs", type=Path, default=DOCS, help="the reference as markdown")
    parser.add_argument("--serial-sections", type=int, default=24, help="sections timed in the serial baseline")
    arguments = parser.parse_args()
    report: dict[str, object] = {}
    if arguments.scenario in ("all", "throughput"):
        report["throughput"] = throughput(arguments)
    if arguments.scenario in ("all", "one-slot"):
        report["one_slot"] = one_slot(arguments)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
