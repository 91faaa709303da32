"""What the two fixture generators share: `Tools/make_fixtures.py` (the numpy reference) and
`Tools/make_transformers_fixtures.py` (transformers itself) write the same tree, `models/NAME/`
and `cases/NAME/` with the same `case.json`, from per-name seeds."""

from __future__ import annotations

import json
import os
import shutil
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence


def seed(name: str) -> int:
    """A model's or case's random seed, from its name (stable across runs and machines)."""
    return zlib.crc32(name.encode("utf-8"))


def llama3_rope() -> dict[str, Any]:
    """The llama3 `rope_parameters` of both generators' llama3 model. With head_dim 16 (eight
    frequencies) and original_max_position_embeddings 256 the llama3 rule keeps two frequencies,
    interpolates one and divides five by `factor`; no wavelength sits near a band edge, so
    transformers' float32 inv_freq lands in the same band as float64 would. A new dict each call."""
    return {
        "rope_type": "llama3",
        "rope_theta": 500000.0,
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 256,
    }


def write_json(path: str, data: Any) -> None:
    """Sorted keys, indent 2, a final newline: the form of every fixture JSON file."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")


@dataclass(frozen=True)
class CaseSpec:
    """One memory pass: the model, the first raw token's position, how many segments, the input
    KV's dtype and layout, the method, how many context tokens, and what the case checks."""

    name: str
    model: str
    position: int
    segments: int
    input_dtype: str = "f32"
    layout: str = "heads_major"
    method: str = "loma"
    context_tokens: int = 0
    description: str = ""
    notes: list = field(default_factory=list)

    def write_case_json(self, directory: str) -> None:
        """`case.json`: what the Swift tests read to run the case."""
        write_json(os.path.join(directory, "case.json"), {
            "model": self.model,
            "position": self.position,
            "method": self.method,
            "layout": self.layout,
            "input_dtype": self.input_dtype,
            "segments": self.segments,
            "has_context": self.context_tokens > 0,
            "description": self.description,
        })


def write_fixtures(output: str, models: Sequence[Any], cases: Sequence[CaseSpec],
                   write_model: Callable[[Any, str], Any],
                   write_case: Callable[[CaseSpec, Any, str, str], None]) -> None:
    """Replaces `output/models` and `output/cases`: `write_model(spec, models_dir)` for each
    model, then `write_case(case, its model's spec, models_dir, cases_dir)` for each case."""
    models_dir = os.path.join(output, "models")
    cases_dir = os.path.join(output, "cases")
    for directory in (models_dir, cases_dir):
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
    specs = {spec.name: spec for spec in models}
    for spec in models:
        write_model(spec, models_dir)
    for case in cases:
        write_case(case, specs[case.model], models_dir, cases_dir)
