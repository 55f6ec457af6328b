"""The generation stage's code version follows its source by itself: templates and generator modules."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from zigtune.assets import qa_pairs
from zigtune.generation.version import GENERATION_DIR, generation_code_version, source_files


def copy_of_the_package(tmp_path: Path) -> Path:
    copy = tmp_path / "generation"
    shutil.copytree(GENERATION_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_editing_a_prompt_template_or_a_generator_module_changes_the_code_version(tmp_path: Path) -> None:
    package = copy_of_the_package(tmp_path)
    original = generation_code_version(package)
    assert original == generation_code_version(GENERATION_DIR)  # content, not location

    template = package / "prompts" / "first_round.txt"
    template.write_text(template.read_text() + "\nOne more rule.\n")
    after_template = generation_code_version(package)
    assert after_template != original

    module = package / "docs_generator.py"
    module.write_text(module.read_text() + "\n# a changed rule\n")
    assert generation_code_version(package) not in (original, after_template)

    # A new generator module beside the others counts from the moment it exists.
    before_new = generation_code_version(package)
    (package / "new_family.py").write_text("FAMILY = 'predict_output'\n")
    assert generation_code_version(package) != before_new


def test_compiled_files_do_not_count(tmp_path: Path) -> None:
    package = copy_of_the_package(tmp_path)
    version = generation_code_version(package)
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "llm.cpython-311.pyc").write_bytes(b"\x00compiled")
    assert generation_code_version(package) == version
    assert all("__pycache__" not in path.parts for path in source_files(package))


def test_both_outputs_of_the_asset_carry_it() -> None:
    specs = {spec.key.to_user_string(): spec for spec in qa_pairs.qa_generation.specs}
    expected = generation_code_version()
    assert specs["qa_pairs"].code_version == expected and specs["qa_rejects"].code_version == expected
    assert isinstance(qa_pairs.qa_generation, dg.AssetsDefinition)
