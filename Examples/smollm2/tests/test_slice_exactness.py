"""lomad serving a prepared 2-layer SmolLM2 slice computes the memory the numpy reference and
transformers (4-D mask) compute, on KV the model itself produced from English text."""

from __future__ import annotations

from exactness import ENGINE_TOLERANCE, FLOAT64_TOLERANCE, check


def test_lomad_numpy_and_transformers_agree_on_the_slice(prepared_slice):
    folder, _ = prepared_slice
    errors = check(folder, segments=2)
    assert errors.memory_tokens == 2 * 16
    assert errors.positions_agree
    assert errors.lomad_vs_reference < ENGINE_TOLERANCE
    assert errors.reference_vs_transformers < FLOAT64_TOLERANCE
    assert errors.lomad_vs_transformers < ENGINE_TOLERANCE
