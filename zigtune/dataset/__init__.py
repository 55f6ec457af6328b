"""Stage 4, the dataset: chat format, leak-free split, deduplication, the files and their card. No dagster here."""
