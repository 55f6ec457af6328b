"""A real OpenAI-compatible server for tests: ``transformers serve`` (from the ``transformers`` package, with its
``serving`` extra: fastapi, uvicorn, openai) in its own process on a free local port.

Models are named by their directory in each request, so one server answers for the base and the merged model.
``chat_and_compare`` asks the server through the real ``openai`` client and generates the same prompts in
process with transformers (greedy, the model directory's own chat template and generation config), so a test
can check that what is served is the exported model with its template.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.cli_runs import evaluation_cli

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, base_url: str, device: str, process: subprocess.Popen[bytes]) -> None:
        self.base_url, self.device, self.process = base_url, device, process

    def chat_and_compare(self, model_dir: Path, conversations: list[list[dict[str, str]]], max_tokens: int) -> list:
        import openai

        client = openai.OpenAI(base_url=self.base_url, api_key="none", timeout=600)
        local = local_greedy(model_dir, conversations, max_tokens, self.device)
        results: list[dict[str, Any]] = []
        for messages, (text, prompt_tokens) in zip(conversations, local, strict=True):
            reply = client.chat.completions.create(
                model=str(model_dir),
                messages=messages,
                max_tokens=max_tokens,
                temperature=0,  # type: ignore[arg-type]
            )
            results.append(
                {
                    "served": (reply.choices[0].message.content or "").strip(),
                    "local": text.strip(),
                    "finish_reason": reply.choices[0].finish_reason,
                    "prompt_tokens": reply.usage.prompt_tokens if reply.usage else None,
                    "local_prompt_tokens": prompt_tokens,
                }
            )
        return results


def local_greedy(
    model_dir: Path, conversations: list[list[dict[str, str]]], max_tokens: int, device: str = "cpu"
) -> list[tuple[str, int]]:
    """(reply, prompt tokens) of each conversation, generated in process with transformers: greedy, the model
    directory's own chat template and generation config (its stop tokens), special tokens left out of the text."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()
    replies = []
    for messages in conversations:
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        batch = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(device)
        with torch.inference_mode():
            output = model.generate(**batch, max_new_tokens=max_tokens, do_sample=False)
        text = tokenizer.decode(output[0, batch["input_ids"].shape[1] :], skip_special_tokens=True)
        replies.append((text, int(batch["input_ids"].shape[1])))
    return replies


@contextlib.contextmanager
def served(device: str = "cpu", startup_timeout_s: float = 300.0) -> Iterator[Server]:
    """``transformers serve`` on 127.0.0.1:<free port>, stopped (its process only) on exit."""
    port = _free_port()
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--device", device, "--log-level", "warning"]  # fmt: skip
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally) a file, not a pipe: a full pipe would stall the server
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_timeout_s
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"transformers serve exited {process.returncode}: {log.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/v1/models", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"transformers serve did not answer within {startup_timeout_s:.0f} s") from None
                time.sleep(0.5)
        yield Server(f"{base}/v1", device, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def ask_and_compare(
    server: Server, models: dict[str, Path], suite_path: Path, out_dir: Path, max_tokens: int
) -> dict[str, dict[str, Any]]:
    """Each model asked for every task of the suite by ``python -m zigtune.evaluation ask`` (the evaluation's
    openai backend, one request at a time, nothing from the cache), its completions left in
    ``out_dir/<role>.jsonl``, and each reply compared with the model's greedy reply generated in process."""
    from zigtune.evaluation.suite import load_suite

    tasks = load_suite(suite_path).tasks
    outcome: dict[str, dict[str, Any]] = {}
    for role, model_dir in models.items():
        out = out_dir / f"{role}.jsonl"
        asked = evaluation_cli("ask", "--suite", str(suite_path), "--base-url", server.base_url, "--model",
                               str(model_dir), "--out", str(out), "--max-tokens", str(max_tokens), "--concurrency",
                               "1", "--no-cache")  # fmt: skip
        rows = [json.loads(line) for line in out.read_text().splitlines()] if asked.returncode == 0 else []
        served = {row["id"]: row["completion"] for row in rows}
        conversations = [[{"role": "user", "content": task.prompt}] for task in tasks]
        local = local_greedy(model_dir, conversations, max_tokens, server.device)
        same = [
            task.id
            for task, (text, _) in zip(tasks, local, strict=True)
            if served.get(task.id, "").strip() == text.strip()
        ]
        outcome[role] = {
            "exit": asked.returncode,
            "said": (asked.stdout.strip() or asked.stderr.strip()[-2000:]),
            "completions": out,
            "tasks": len(tasks),
            "answered": len(served),
            "same_as_local": len(same),
            "tokens_sample": next(iter(served.values()), "")[:80],
        }
    return outcome
