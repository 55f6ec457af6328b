"""Stage 1, the docs: read the Zig reference (file, HTML page or URL) and split it into sections. No dagster here."""
