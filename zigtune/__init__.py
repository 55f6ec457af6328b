"""zigtune: turn the Zig 0.14 language reference into a fine-tuned Zig code model, as Dagster assets."""
