"""Helpers shared by the examples' tests: the checkout's golden cases and the numpy reference.

The cases under Tests/LoMAModelTests/Fixtures hold inputs and f32 expected outputs computed by
the independent numpy reference (Tools/loma_reference); every client is checked against them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from lomad_client.tensors import BFLOAT16

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "Tests" / "LoMAModelTests" / "Fixtures"
MODELS = {path.name: path for path in sorted((FIXTURES / "models").iterdir()) if (path / "config.json").exists()}
CASES = sorted(path.name for path in (FIXTURES / "cases").iterdir() if (path / "case.json").exists())

sys.path.insert(0, str(REPO_ROOT))
from Tools.loma_reference.safetensors_np import read_file  # noqa: E402  (needs the checkout on sys.path)


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """||actual - expected|| / ||expected||, the measure docs/loma-spec.md 7 bounds by 1e-4 in f32."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def stored_array(path: Path, name: str) -> np.ndarray:
    """A tensor of a safetensors file in its stored dtype (BF16 as ml_dtypes.bfloat16)."""
    stored = read_file(path, [name])[name]
    if stored.dtype == "BF16":
        assert BFLOAT16 is not None, "ml_dtypes is needed for BF16 fixtures (pip install -e '.[test]')"
        return np.array(stored.data).view(BFLOAT16)
    return np.array(stored.data)


def to_layout(heads_major: np.ndarray, layout: str) -> np.ndarray:
    return heads_major if layout == "heads_major" else heads_major.transpose(0, 2, 1, 3)


@dataclass(frozen=True)
class GoldenCase:
    name: str
    model: str
    position: int
    segments: int
    method: str
    layout: str
    keys: np.ndarray  # in `layout`
    values: np.ndarray
    context: tuple[np.ndarray, np.ndarray] | None  # in `layout` too
    expected_keys: np.ndarray  # f32 heads-major
    expected_values: np.ndarray
    expected_positions: np.ndarray

    @classmethod
    def load(cls, name: str) -> "GoldenCase":
        directory = FIXTURES / "cases" / name
        case = json.loads((directory / "case.json").read_text())
        layout = case["layout"]
        context = None
        if case["has_context"]:
            context_file = directory / "context.safetensors"  # heads-major on disk
            context = tuple(to_layout(stored_array(context_file, n), layout) for n in ("keys", "values"))
        expected = directory / "expected.safetensors"
        return cls(
            name=name,
            model=case["model"],
            position=case["position"],
            segments=case["segments"],
            method=case["method"],
            layout=layout,
            keys=stored_array(directory / "input.safetensors", "keys"),
            values=stored_array(directory / "input.safetensors", "values"),
            context=context,
            expected_keys=stored_array(expected, "keys"),
            expected_values=stored_array(expected, "values"),
            expected_positions=stored_array(expected, "positions"),
        )
