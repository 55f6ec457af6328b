"""Stage 3, validation: Zig code extracted from pairs, compiled and run, and the verdicts read. No dagster here.

``code_extraction`` (finding the code and how to check it), ``sandbox`` (the local Zig 0.14.0 engine),
``verdicts`` (reading compiler and program output), ``checking`` (checking many pairs, cached).
"""
