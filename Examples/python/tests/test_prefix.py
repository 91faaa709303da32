"""Chained chunk hashes and prefix publish/lookup."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

from lomad_client import ROOT_HASH, InvalidArgument, chunk_hashes

MODEL = "llama_gqa"  # segment_length 8, 4 memory tokens per segment


def test_chunk_hashes_follow_the_protocol_definition():
    tokens = list(range(1000, 1020))  # two whole chunks of 8 and a partial one
    hashes = chunk_hashes(tokens, 8)
    first = hashlib.sha256(bytes(32) + struct.pack("<8I", *tokens[:8])).digest()
    second = hashlib.sha256(first + struct.pack("<8I", *tokens[8:16])).digest()
    assert hashes == [first, second]
    assert ROOT_HASH == bytes(32)


def test_a_chunk_hash_names_the_whole_prefix_up_to_it():
    tokens = np.arange(24, dtype=np.int64)
    changed_late = tokens.copy()
    changed_late[20] = 99
    changed_early = tokens.copy()
    changed_early[0] = 99
    base = chunk_hashes(tokens, 8)
    assert chunk_hashes(changed_late, 8)[:2] == base[:2] and chunk_hashes(changed_late, 8)[2] != base[2]
    assert all(a != b for a, b in zip(chunk_hashes(changed_early, 8), base))


def test_chunk_hashes_refuse_what_does_not_fit_u32():
    with pytest.raises(ValueError, match="32-bit"):
        chunk_hashes([-1] * 8, 8)
    with pytest.raises(ValueError, match="positive"):
        chunk_hashes([1] * 8, 0)


def test_publish_then_lookup_finds_the_longest_stored_prefix(client):
    generator = np.random.default_rng(7)
    prompt = generator.integers(0, 48, size=8 * 3)
    hashes = chunk_hashes(prompt, 8)
    keys = generator.standard_normal((2, 2, 16, 8)).astype(np.float32)
    values = generator.standard_normal((2, 2, 16, 8)).astype(np.float32)
    memory = client.compress(keys, values, model=MODEL)

    assert client.publish_prefix(hashes[:2], memory.keys, memory.values, memory.positions, model=MODEL) == 2
    assert client.publish_prefix(hashes[:2], memory.keys, memory.values, memory.positions, model=MODEL) == 0

    matched, found = client.lookup_prefix(hashes, model=MODEL)
    assert matched == 2
    np.testing.assert_array_equal(found.keys, memory.keys)
    np.testing.assert_array_equal(found.values, memory.values)
    np.testing.assert_array_equal(found.positions, memory.positions)

    matched, found = client.lookup_prefix(hashes[:1], model=MODEL, output_layout="tokens_major")
    assert matched == 1 and found.layout == "tokens_major"
    np.testing.assert_array_equal(found.keys, memory.keys[:, :, :4].transpose(0, 2, 1, 3))

    other = chunk_hashes(generator.integers(0, 48, size=8), 8)
    assert client.lookup_prefix(other, model=MODEL) == (0, None)


def test_a_hash_that_is_not_32_bytes_is_invalid(client):
    with pytest.raises(InvalidArgument, match="expected 32"):
        client.lookup_prefix([b"short"], model=MODEL)
