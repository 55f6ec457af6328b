"""One outside system per module: the Novita LLM, Codapi (or the local Zig engine), CUDA training."""
