"""Exact and near-duplicate instructions are removed and counted; different questions stay."""

from __future__ import annotations

import pytest

from zigtune.dataset.dedup import Item, deduplicate, jaccard, normalize, shingles

LONG = (
    "Write a complete Zig 0.14 program that reads a list of integers from an array, sorts them in "
    "ascending order with std.mem.sort, and prints each value on its own line with std.debug.print. "
    "Use a general purpose allocator, free everything you allocate, and handle every error explicitly."
)


def test_normalization_ignores_case_whitespace_and_prose_punctuation() -> None:
    assert normalize("What is `defer`  in Zig?") == normalize("what is defer in zig")
    assert normalize("Explain @log in Zig 0.14.") != normalize("Explain @log2 in Zig 0.14.")
    assert normalize("const c = a % b;") != normalize("const c = a / b;")
    assert "std.debug.print" in normalize("Use std.debug.print.").split()


def test_planted_duplicates_are_removed_and_counted() -> None:
    items = [
        Item("a", "train", "What is defer in Zig?"),
        Item("b", "train", "what is `defer` in zig"),  # exact after normalization
        Item("c", "train", LONG),
        Item("d", "train", LONG.replace("ascending", "increasing")),  # near: one word changed
        Item("e", "train", "Explain @log in Zig 0.14 (in the context of Builtin Functions)."),
        Item("f", "train", "Explain @log2 in Zig 0.14 (in the context of Builtin Functions)."),
        Item("g", "eval", "What is defer in Zig ?"),  # exact, across splits
        Item("h", "eval", LONG.replace("own line", "own separate line")),  # near, across splits
        Item("i", "eval", "How are errors returned from a function?"),
        Item("j", "eval", "How are errors returned from a function."),  # exact, within eval
    ]
    result = deduplicate(items, threshold=0.85)
    assert result.kept == ["a", "c", "e", "f", "i"]
    assert result.counts() == {
        "exact_duplicate/across_splits": 1,
        "exact_duplicate/within_eval": 1,
        "exact_duplicate/within_train": 1,
        "near_duplicate/across_splits": 1,
        "near_duplicate/within_train": 1,
    }
    assert result.by_reason() == {"exact_duplicate": 3, "near_duplicate": 2}
    removed = {d.id: d for d in result.duplicates}
    assert removed["d"].kept_id == "c" and 0.85 <= removed["d"].similarity < 1
    assert removed["g"].kept_id == "a" and removed["g"].similarity == 1.0
    assert removed["h"].scope == "across_splits"


def test_the_first_of_a_group_is_kept_so_train_wins_over_eval() -> None:
    result = deduplicate([Item("train-1", "train", LONG), Item("eval-1", "eval", LONG)])
    assert result.kept == ["train-1"]
    assert result.duplicates[0].id == "eval-1"


def test_threshold_decides_what_is_near() -> None:
    items = [Item("c", "train", LONG), Item("d", "train", LONG.replace("ascending", "increasing"))]
    similarity = jaccard(shingles(normalize(items[0].text)), shingles(normalize(items[1].text)))
    assert deduplicate(items, threshold=similarity).by_reason() == {"near_duplicate": 1}
    assert deduplicate(items, threshold=min(1.0, similarity + 0.01)).duplicates == []


def test_bad_arguments_fail_clearly() -> None:
    with pytest.raises(ValueError, match="threshold"):
        deduplicate([], threshold=0)
    with pytest.raises(ValueError, match="unique"):
        deduplicate([Item("a", "train", "x"), Item("a", "train", "y")])


def _brute_force(items: list[Item], threshold: float) -> list[str]:
    kept: list[tuple[str, frozenset[str], str]] = []
    for item in items:
        key = normalize(item.text)
        grams = shingles(key)
        if not any(key == k or jaccard(grams, g) >= threshold for _, g, k in kept):
            kept.append((item.id, grams, key))
    return [identifier for identifier, _, _ in kept]


@pytest.mark.parametrize("threshold", [0.7, 0.85])
def test_lsh_finds_what_comparing_every_pair_finds_on_the_real_reference(docs_markdown, threshold) -> None:
    """On the docs generator's instructions (template-heavy, many alike), MinHash LSH misses nothing."""
    from zigtune.docs.sections import sections_frame, split_sections
    from zigtune.generation.docs_generator import docs_pairs

    rows = docs_pairs(sections_frame(split_sections(docs_markdown))).rows
    items = [Item(str(r["pair_id"]), "train", str(r["instruction"])) for r in rows]
    assert deduplicate(items, threshold).kept == _brute_force(items, threshold)


def test_checked_answers_keep_alike_questions_apart() -> None:
    """Variants of one program ask alike questions with different run-checked answers: both stay."""
    program = "What does this program print? const n = {n}; " + " ".join(f"word{i}" for i in range(40))
    first, second = program.format(n=3), program.format(n=4)
    assert jaccard(shingles(normalize(first)), shingles(normalize(second))) > 0.85
    checked = [Item("a", "train", first, "It prints 9."), Item("b", "train", second, "It prints 16.")]
    assert deduplicate(checked).kept == ["a", "b"]
    # Alike questions with alike checked answers are still duplicates.
    same = [Item("a", "train", first, "It prints 9 and 9."), Item("b", "train", second, "It prints 9 and 9.")]
    assert deduplicate(same).kept == ["a"]
    # Without checked answers the question alone decides, as before.
    assert deduplicate([Item("a", "train", first), Item("b", "train", second, "It prints 16.")]).kept == ["a"]
