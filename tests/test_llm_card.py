"""What the dataset card and the pair rows say about LLM data (issue 28): repair rounds run and rescued, LLM
code compiled and behaviour-checked when it was made, and ``kind=code`` only for Zig.

The model is tests/old_zig_model.py behind the local OpenAI-compatible server; its code is compiled and
run by the real Zig 0.14.0 compiler.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import polars as pl

from tests.llm_runs import generate, sections
from tests.old_zig_model import PROGRAMS, respond
from tests.openai_server import OpenAIServer, Reply
from tests.test_code_repair import program_sections
from tests.test_dataset import validated_from
from zigtune.dataset.build import DatasetSettings, build_dataset
from zigtune.dataset.card import Funnel, dataset_card
from zigtune.generation.code_checks import EngineChecker
from zigtune.generation.llm import GenerationSettings
from zigtune.generation.pairs import classify_kind, pairs_frame, rejects_frame
from zigtune.resources.zig import LocalSandbox, ZigEngine
from zigtune.storage.cache import ContentCache

PYTHON_ONLY = "In Python you would write:\n\n```python\nwith open(path) as f:\n    data = f.read()\n```"


def test_an_answer_whose_only_code_is_python_is_not_a_code_pair(tmp_path: Path) -> None:
    assert classify_kind(PYTHON_ONLY) == "concept"
    assert classify_kind('```zig\nconst std = @import("std");\npub fn main() void {}\n```') == "code"
    assert classify_kind('```\nconst std = @import("std");\npub fn main() void {}\n```') == "code"  # untagged Zig
    server = OpenAIServer()
    pair = {"instruction": "How does Zig read a file compared to Python?", "response": PYTHON_ONLY}
    server.queue(Reply(json.dumps({"pairs": [pair]})))
    try:
        (row,) = generate(server, tmp_path, sections(1)).pairs
        assert row["kind"] == "concept" and row["checked"] is False
    finally:
        server.close()


def test_the_card_counts_repair_rounds_and_checked_llm_pairs(tmp_path: Path, zig_sandbox_root: Path) -> None:
    """Three programs, one repair round: one passes at once, one is fixed in round 1, one never (5 compiles)."""
    names = {"enum_from_int", "wrong_sum", "already_modern"}
    work = [section for section, program in zip(program_sections(), PROGRAMS, strict=True) if program.name in names]
    server = OpenAIServer()
    server.responder = respond
    engine = ZigEngine(local=LocalSandbox(sandbox_dir=str(zig_sandbox_root)))
    checker = EngineChecker(engine.create_engine, ContentCache(tmp_path / "verdicts"))
    try:
        result = generate(
            server, tmp_path / "llm", work, checker=checker, settings=GenerationSettings(code_repair_rounds=1)
        )
    finally:
        asyncio.run(checker.close())
        server.close()
    assert result.repair.recovered_in_round == {1: 1} and result.repair.unrecovered == 1

    qa_pairs, _ = pairs_frame(result.pairs)
    qa_rejects = rejects_frame(result.rejects)
    code = qa_pairs.filter(pl.col("kind") == "code")
    # Passed at once, repaired, and the fix-this-code pair: checked by their tests; the never-fixed one: not.
    assert code.height == 4 and code["checked"].sum() == 3
    assert code.filter(pl.col("checked"))["behaviour_check"].to_list() == ["tests"] * 3
    assert sorted(qa_rejects["reason"].to_list()) == ["code_repaired_round_1", "code_unrepaired"]

    validated = validated_from(qa_pairs)
    doc_sections = pl.DataFrame({"section_id": [s.section_id for s in work], "order": list(range(len(work)))})
    build = build_dataset(validated, doc_sections, DatasetSettings(eval_fraction=0))
    funnel = Funnel.from_frames(
        build,
        sections=doc_sections,
        qa_pairs=qa_pairs,
        qa_rejects=qa_rejects,
        validated=validated,
        rejected=validated.head(0),
    )
    assert funnel.repair == {
        "LLM code pairs": 4,
        "compiled and run when made, and passed": 3,
        "failed their first check and went back to the model": 2,
        "rescued in repair round 1": 1,
        "never rescued (kept for validation to reject)": 1,
        "fix-this-code pairs made from failing versions": 1,
    }
    llm = funnel.family_yield.filter(pl.col("family") == "llm").to_dicts()[0]
    assert llm["checked"] == 3 and llm["behaviour_checked"] == 3
    card = dataset_card(build, funnel)
    assert "did not run" not in card and "| rescued in repair round 1 | 1 |" in card
