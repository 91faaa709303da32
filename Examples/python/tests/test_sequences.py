"""Sequences kept by the daemon: compress into, read, fork, list, delete."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from testing_support import relative_error
from lomad_client import FailedPrecondition, NotFound

MODEL = "llama_gqa"  # 2 layers, 2 kv heads, head_dim 8, segment 8, ratio 2


def random_segments(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    shape = (2, 2, 8 * count, 8)
    return generator.standard_normal(shape).astype(np.float32), generator.standard_normal(shape).astype(np.float32)


def unique(name: str) -> str:
    """The daemon is shared by the session: unique names keep parallel tests apart."""
    return f"{name}-{uuid.uuid4().hex[:12]}"


def test_a_sequence_grows_segment_by_segment_like_one_block(client):
    keys, values = random_segments(2, seed=1)
    sequence = unique("grow")
    first = client.compress(keys[:, :, :8], values[:, :, :8], model=MODEL, sequence=sequence, position=16)
    second = client.compress(keys[:, :, 8:], values[:, :, 8:], model=MODEL, sequence=sequence)
    # The second segment continued where the sequence ended and attended to its stored memory,
    # which is exactly how a two-segment block is compressed in one request.
    block = client.compress(keys, values, model=MODEL, position=16)
    np.testing.assert_array_equal(np.concatenate([first.positions, second.positions]), block.positions)
    assert relative_error(np.concatenate([first.keys, second.keys], axis=2), block.keys) < 1e-5

    stored, info = client.read_memory(sequence)
    assert (info.name, info.model, info.segments, info.memory_tokens, info.next_position) == (sequence, MODEL, 2, 8, 32)
    assert info.bytes > 0
    np.testing.assert_array_equal(stored.keys, np.concatenate([first.keys, second.keys], axis=2))
    np.testing.assert_array_equal(stored.positions, block.positions)

    tail, _ = client.read_memory(sequence, first_segment=1, segment_count=1, output_layout="tokens_major", output_dtype="f16")
    assert tail.segments == 1 and tail.layout == "tokens_major" and tail.keys.dtype == np.float16
    assert relative_error(tail.values.astype(np.float32).transpose(0, 2, 1, 3), second.values) < 2e-3


def test_fork_list_delete(client):
    keys, values = random_segments(1, seed=2)
    family = unique("family")
    client.compress(keys, values, model=MODEL, sequence=f"{family}/parent")
    forked = client.fork_sequence(f"{family}/parent", f"{family}/child")
    assert forked.name == f"{family}/child" and forked.segments == 1

    # Extending the fork leaves the parent as it was.
    more_keys, more_values = random_segments(1, seed=3)
    client.compress(more_keys, more_values, model=MODEL, sequence=f"{family}/child")
    listed = {info.name: info.segments for info in client.list_sequences(name_prefix=family)}
    assert listed == {f"{family}/parent": 1, f"{family}/child": 2}

    with pytest.raises(FailedPrecondition):
        client.fork_sequence(f"{family}/parent", f"{family}/child")
    client.delete_sequence(f"{family}/child")
    with pytest.raises(NotFound):
        client.read_memory(f"{family}/child")
    with pytest.raises(NotFound):
        client.delete_sequence(f"{family}/child")
    assert [info.name for info in client.list_sequences(name_prefix=family)] == [f"{family}/parent"]


def test_a_position_behind_the_sequence_end_fails_and_stores_nothing(client):
    keys, values = random_segments(1, seed=4)
    sequence = unique("backwards")
    client.compress(keys, values, model=MODEL, sequence=sequence, position=100)
    with pytest.raises(FailedPrecondition, match="position goes backwards"):
        client.compress(keys, values, model=MODEL, sequence=sequence, position=50)
    _, info = client.read_memory(sequence)
    assert info.segments == 1 and info.next_position == 108
