"""LoRA fine-tuning, run out of the Dagster process: config, chat formatting with assistant-only labels,
the Unsloth and transformers+peft+TRL backends, MLflow tracking, and the Dagster Pipes worker.

Nothing here imports torch, transformers or dagster at import time; ``worker`` imports ``dagster_pipes`` only.
"""
