"""Fixtures of the SmolLM2 tests: a seeded synthetic delta and the 2-layer slice prepared from it
(both built once per session; the base wheel is cached in .build/prepare-model-cache)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from smollm2_support import prepare  # noqa: E402
from synthetic_delta import write_synthetic_delta  # noqa: E402


@pytest.fixture(scope="session")
def synthetic_delta(tmp_path_factory) -> Path:
    return write_synthetic_delta(tmp_path_factory.mktemp("deltas") / "smollm2-synthetic")


@pytest.fixture(scope="session")
def prepared_slice(tmp_path_factory, synthetic_delta):
    """(folder, completed process) of `prepare-model.sh --layers 2` on the synthetic delta."""
    folder = tmp_path_factory.mktemp("models") / "smollm2-layers2"
    completed = prepare("smollm2-synthetic", synthetic_delta, folder, "--layers", "2")
    return folder, completed
