"""The decoding settings of an evaluation, pinned and stamped on every result row. No dagster here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: Qwen2.5's end-of-turn marker: generation stops there, as the chat template ends every reply with it.
END_OF_TURN = "<|im_end|>"

#: The original sampled 256 new tokens at temperature 0.7 to look at replies. Scoring needs a fixed, repeatable
#: answer (greedy) with room for a whole program: the reference's runnable examples run to about 600 tokens.
DEFAULT_MAX_NEW_TOKENS = 1024
#: The original's sampling temperature, used when pass@k asks for several samples per task.
DEFAULT_SAMPLING_TEMPERATURE = 0.7
DEFAULT_SEED = 3407


class DecodingError(ValueError):
    """Decoding settings that cannot give what was asked (e.g. several greedy samples)."""


@dataclass(frozen=True)
class Decoding:
    """How every model is asked. ``temperature`` 0 is greedy: one deterministic sample per task."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    num_samples: int = 1
    """Samples per task (``n`` of pass@k); more than one needs ``temperature`` > 0."""
    seed: int = DEFAULT_SEED
    stop: tuple[str, ...] = (END_OF_TURN,)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def validate(self) -> Decoding:
        problems = []
        if self.temperature < 0:
            problems.append(f"temperature={self.temperature} must be >= 0")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p={self.top_p} must be in (0, 1]")
        if self.max_new_tokens < 1:
            problems.append(f"max_new_tokens={self.max_new_tokens} must be >= 1")
        if self.num_samples < 1:
            problems.append(f"num_samples={self.num_samples} must be >= 1")
        elif self.num_samples > 1 and self.greedy:
            problems.append(
                f"num_samples={self.num_samples} with greedy decoding repeats one answer: set temperature > 0 "
                f"(e.g. {DEFAULT_SAMPLING_TEMPERATURE}) for pass@k"
            )
        if problems:
            raise DecodingError("bad decoding settings: " + "; ".join(problems))
        return self

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "stop": list(self.stop)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Decoding:
        return cls(**{**values, "stop": tuple(values.get("stop", (END_OF_TURN,)))})
