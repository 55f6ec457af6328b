"""Stage 2, generation: instruction/response pairs from the sections, by an LLM or offline from the docs.

No dagster here: ``llm`` (the concurrent, cached LLM loop), ``parsing`` (reading pairs out of a reply),
``docs_generator`` (the offline generator), ``pairs`` (the tables), ``prompts/`` (the templates).
"""
