"""The one chat format: rows like the original's zig_dataset_chatml.jsonl, text like Qwen2.5's template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zigtune.dataset.chatml import (
    QWEN25_DEFAULT_SYSTEM,
    ChatFormatError,
    conversation_record,
    conversations_jsonl,
    jsonl_line,
    render_chatml,
    to_conversation,
)

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_7ca58f029fbd9c30.txt"

# The original write-up's worked example ("Convertido para ChatML"), verbatim.
ORIGINAL_INSTRUCTION = "Explique como funciona o comando `defer` em Zig."
ORIGINAL_RESPONSE = "O `defer` agenda uma operação para o fim do escopo atual..."
ORIGINAL_CHATML = (
    "<|im_start|>user\n"
    "Explique como funciona o comando `defer` em Zig.<|im_end|>\n"
    "<|im_start|>assistant\n"
    "O `defer` agenda uma operação para o fim do escopo atual...<|im_end|>"
)


def test_the_example_text_is_the_originals() -> None:
    if not SEED.exists():
        pytest.skip(f"{SEED} not found")
    assert ORIGINAL_CHATML in SEED.read_text(encoding="utf-8")


def test_rendering_a_row_gives_the_originals_example_text() -> None:
    row = conversation_record(ORIGINAL_INSTRUCTION, ORIGINAL_RESPONSE)
    # Every turn ends with a newline, as in the template; the write-up's code block trims the last one.
    assert render_chatml(row) == ORIGINAL_CHATML + "\n"
    assert render_chatml(row["conversations"]) == ORIGINAL_CHATML + "\n"


def test_a_row_is_the_originals_record_and_line() -> None:
    record = conversation_record("What is the purpose of doc comments in Zig?", "Doc comments ...")
    assert record == {
        "conversations": [
            {"role": "user", "content": "What is the purpose of doc comments in Zig?"},
            {"role": "assistant", "content": "Doc comments ..."},
        ]
    }
    # The original writes json.dumps(item, ensure_ascii=False) + "\n": accents stay as they are.
    line = jsonl_line(conversation_record(ORIGINAL_INSTRUCTION, ORIGINAL_RESPONSE))
    assert line == json.dumps(conversation_record(ORIGINAL_INSTRUCTION, ORIGINAL_RESPONSE), ensure_ascii=False) + "\n"
    assert "operação" in line
    assert conversations_jsonl([record, record]).count("\n") == 2


def test_an_optional_system_prompt_is_the_first_turn() -> None:
    turns = to_conversation("q", "a", system_prompt="You are a Zig expert.")
    assert [t["role"] for t in turns] == ["system", "user", "assistant"]
    assert render_chatml(turns).startswith("<|im_start|>system\nYou are a Zig expert.<|im_end|>\n<|im_start|>user\n")
    assert to_conversation("q", "a", system_prompt="") == to_conversation("q", "a")


def test_generation_prompt_and_default_system() -> None:
    prompt = render_chatml([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    with_default = render_chatml([{"role": "user", "content": "hi"}], default_system=QWEN25_DEFAULT_SYSTEM)
    assert with_default.startswith(f"<|im_start|>system\n{QWEN25_DEFAULT_SYSTEM}<|im_end|>\n")
    # A conversation that has its own system turn keeps it and gets no default.
    own = to_conversation("q", "a", system_prompt="own")
    assert render_chatml(own, default_system=QWEN25_DEFAULT_SYSTEM) == render_chatml(own)


@pytest.mark.parametrize(
    "bad",
    [
        {"messages": []},
        [{"role": "human", "content": "hi"}],
        [{"from": "user", "value": "hi"}],
        [{"role": "user", "content": None}],
        ["hi"],
    ],
)
def test_malformed_conversations_fail_clearly(bad: object) -> None:
    with pytest.raises(ChatFormatError):
        render_chatml(bad)  # type: ignore[arg-type]


CONVERSATIONS = [
    to_conversation(ORIGINAL_INSTRUCTION, ORIGINAL_RESPONSE),
    to_conversation("Write a Zig program.", '```zig\nconst std = @import("std");\n```', "You are a Zig expert."),
    to_conversation("  leading spaces\n\nand blank lines  ", "\n"),
]


@pytest.mark.parametrize("conversation", CONVERSATIONS)
@pytest.mark.parametrize("add_generation_prompt", [False, True])
def test_matches_qwen25s_own_template_rendered_by_transformers(conversation, add_generation_prompt) -> None:
    """With Qwen's default system turn, the text is what the Qwen2.5 tokenizer renders in training."""
    pytest.importorskip("trl")
    chat_template_utils = pytest.importorskip("transformers.utils.chat_template_utils")
    import trl

    template = (Path(trl.__file__).parent / "chat_templates" / "qwen2_5.jinja").read_text(encoding="utf-8")
    rendered, _ = chat_template_utils.render_jinja_template(
        conversations=[conversation], chat_template=template, add_generation_prompt=add_generation_prompt
    )
    assert render_chatml(conversation, add_generation_prompt, default_system=QWEN25_DEFAULT_SYSTEM) == rendered[0]
