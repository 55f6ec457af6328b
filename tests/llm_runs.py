"""Run ``generate_pairs`` against a local OpenAI-compatible server, as the qa_pairs asset does, minus Dagster."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.openai_server import OpenAIServer
from zigtune.generation.calls import CallSettings, CallStats, LLMCaller, build_client
from zigtune.generation.code_checks import CodeChecker
from zigtune.generation.llm import GenerationResult, GenerationSettings, SectionInput, generate_pairs
from zigtune.generation.prompts import load_templates
from zigtune.storage.cache import ContentCache

SECRET = "sk-zigtune-test-9f3c1e7a5b"
TEMPLATES = load_templates()
#: Test runs wait little between retries; everything else is the production default unless a test says.
FAST_RETRIES = {"retry_backoff_seconds": 0.05, "timeout_seconds": 10.0, "max_retries": 3}


def generate(
    server: OpenAIServer | str,
    cache_dir: Path,
    sections: list[SectionInput],
    *,
    settings: GenerationSettings | None = None,
    checker: CodeChecker | None = None,
    notices: list[str] | None = None,
    **calls: object,
) -> GenerationResult:
    """One generation run over ``sections``; ``calls`` override ``CallSettings`` fields; what the caller says
    once (``on_notice``) goes to ``notices``."""
    stats = CallStats()
    call_settings = CallSettings(**{**FAST_RETRIES, **calls})  # type: ignore[arg-type]
    base_url = server if isinstance(server, str) else server.base_url

    async def run() -> GenerationResult:
        client = build_client(base_url=base_url, api_key=SECRET, requests=stats.requests, timeout=600)
        try:
            return await generate_pairs(
                sections,
                caller=LLMCaller(
                    client,
                    ContentCache(cache_dir),
                    call_settings,
                    stats,
                    **({"on_notice": notices.append} if notices is not None else {}),
                ),
                templates=TEMPLATES,
                settings=settings,
                checker=checker,
            )
        finally:
            await client.close()

    return asyncio.run(run())


def sections(count: int, words: int = 60, prefix: str = "s") -> list[SectionInput]:
    """``count`` distinct sections over the 200-character threshold."""
    return [
        SectionInput(f"{prefix}{i}", f"S{i}", f"## {prefix.upper()}{i}\n\n" + f"text {prefix}{i} " * words)
        for i in range(count)
    ]
