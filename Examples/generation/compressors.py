"""Where a generation's memory comes from: the daemon, or the numpy reference in-process.

Both take the same call: the raw KV of one whole segment (f32, as a client would send it), the
segment's first position, and the memory the cache already holds (the segment's context), and
return the segment's memory KV. The test that runs a generation with each and compares the
tokens relies on them seeing exactly the same inputs.
"""

from __future__ import annotations

import numpy as np

from llama_numpy import KV  # first: importing llama_numpy puts the checkout's Tools on sys.path
from lomad_client import Client
from Tools.loma_reference.memory_pass import MemoryPass
from Tools.loma_reference.weights import load_weights


class DaemonCompressor:
    """Compresses through lomad into `sequence`, so the daemon keeps the memory.

    The daemon reads the sequence's stored memory as the segment's context, so only memory the
    sequence does not hold (a prefix another process published, `shared_prefix`) travels inline.
    """

    def __init__(self, client: Client, model: str, sequence: str, shared_prefix: KV | None = None):
        self.client, self.model, self.sequence = client, model, sequence
        self.shared_prefix = shared_prefix

    def __call__(self, segment: KV, position: int, held_memory: KV) -> KV:
        context = None
        if self.shared_prefix is not None:
            context = (self.shared_prefix.keys.astype(np.float32), self.shared_prefix.values.astype(np.float32))
        memory = self.client.compress(
            segment.keys.astype(np.float32), segment.values.astype(np.float32), context=context,
            model=self.model, sequence=self.sequence, position=position, output_dtype="f32",
            output_layout="heads_major",
        )
        return KV(memory.keys.astype(np.float64), memory.values.astype(np.float64))


class ReferenceCompressor:
    """The independent numpy implementation of the memory pass (Tools/loma_reference), float64."""

    def __init__(self, model_dir, config):
        self.memory_pass = MemoryPass(config, load_weights(model_dir, config, np.float64), np.float64)

    def __call__(self, segment: KV, position: int, held_memory: KV) -> KV:
        # The same f32 rounding the daemon's input gets, so both see identical KV.
        keys = segment.keys.astype(np.float32).astype(np.float64)
        values = segment.values.astype(np.float32).astype(np.float64)
        context_keys = held_memory.keys.astype(np.float32).astype(np.float64)
        context_values = held_memory.values.astype(np.float32).astype(np.float64)
        memory = self.memory_pass.block(keys, values, position, context_keys, context_values)
        return KV(memory.keys, memory.values)
