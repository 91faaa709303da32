"""32 MiB round trips through a running lomad, through shared memory and through frames, beside
memcpy of the same bytes, all in one run (see shared-memory.sh, which starts the daemon).

Two round trips, each with the Python client (Examples/python) against the same daemon, with
shared memory on (`Client(endpoint)`, ipc) and off (`Client(endpoint, shared_memory=False)`):

- compress input: 32 MiB of f32 keys and values (Models/loma-tiny, 512 segments) compressed
  with the `strided` baseline, the cheapest pass, into 8 MiB of f32 memory;
- compress input alone: the same 32 MiB with a head_dim the model does not have (keys and values
  as [layers, kv heads, tokens * 2, head_dim / 2]), which the daemon takes in whole, checks
  against their descriptors and then refuses (INVALID_ARGUMENT) before any compute: the input's
  transfer and an answer, without the pass;
- store read: lookup_prefix of 32 MiB of f32 memory published once (2,048 chunks). read_memory
  takes the same path out of the store, but a 32 MiB sequence cannot be built here: every segment
  appended to a sequence attends to all its earlier memory, so building one costs minutes.

A round trip's payload is what crosses between the processes (request tensors plus reply
tensors); its ratio is memcpy's time for that payload over the round trip's time, i.e. the
round trip's GB/s over memcpy's GB/s, memcpy being np.copyto of 32 MiB between two warm arrays.
Each cell keeps the best of its rounds (the machine is shared). Prints key=value lines, then the
table.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Examples" / "python"))
from lomad_client import Client, InvalidArgument  # noqa: E402

MIB = 1 << 20
# Models/loma-tiny: 4 layers, 2 kv heads, head_dim 32, segment 32, ratio 4 (8 memory tokens per
# segment), so 32 MiB of memory is 2,048 chunks, whose hashes fit one envelope.
LAYERS, HEADS, HEAD_DIM, SEGMENT, MEMORY_TOKENS, RATIO = 4, 2, 32, 32, 8, 4


def best_seconds(run, repetitions: int) -> float:
    best = float("inf")
    for _ in range(repetitions):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def memcpy_gbps(size: int, repetitions: int) -> float:
    source = np.ones(size, dtype=np.uint8)
    destination = np.zeros(size, dtype=np.uint8)
    np.copyto(destination, source)
    return size / best_seconds(lambda: np.copyto(destination, source), repetitions) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bytes", type=int, default=32 * MIB)
    parser.add_argument("--trips", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()

    tokens = arguments.bytes // 2 // (LAYERS * HEADS * HEAD_DIM * 4)
    tokens -= tokens % SEGMENT
    generator = np.random.default_rng(7)
    keys = generator.standard_normal((LAYERS, HEADS, tokens, HEAD_DIM)).astype(np.float32)
    values = generator.standard_normal((LAYERS, HEADS, tokens, HEAD_DIM)).astype(np.float32)
    memory_tokens = arguments.bytes // 2 // (LAYERS * HEADS * HEAD_DIM * 4)
    chunks = memory_tokens // MEMORY_TOKENS
    memory_keys = generator.standard_normal((LAYERS, HEADS, chunks * MEMORY_TOKENS, HEAD_DIM)).astype(np.float32)
    memory_values = generator.standard_normal((LAYERS, HEADS, chunks * MEMORY_TOKENS, HEAD_DIM)).astype(np.float32)
    hashes = [hashlib.sha256(index.to_bytes(8, "little")).digest() for index in range(chunks)]

    shared = Client(arguments.endpoint, timeout=600.0)
    frames = Client(arguments.endpoint, timeout=600.0, shared_memory=False)
    assert shared.publish_prefix(hashes, memory_keys, memory_values, model="m") == chunks

    def compress(client: Client) -> None:
        client.compress(keys, values, model="m", method="strided", output_dtype="f32")

    wrong_keys = keys.reshape(LAYERS, HEADS, tokens * 2, HEAD_DIM // 2)
    wrong_values = values.reshape(LAYERS, HEADS, tokens * 2, HEAD_DIM // 2)

    def transfer(client: Client) -> None:
        try:
            client.compress(wrong_keys, wrong_values, model="m", method="strided")
        except InvalidArgument as refused:
            assert "head_dim" in str(refused), refused
        else:
            raise AssertionError("a head_dim the model does not have was accepted")

    def lookup(client: Client) -> None:
        matched, memory = client.lookup_prefix(hashes, model="m", output_dtype="f32")
        assert matched == chunks and memory is not None

    # Warm-up: both clients, both operations (the shared client's reply segment grows to fit).
    for client in (shared, frames):
        transfer(client)
        compress(client)
        lookup(client)
        lookup(client)
    assert shared.uses_shared_memory and not frames.uses_shared_memory

    compress_payload = keys.nbytes + values.nbytes + (keys.nbytes + values.nbytes) // RATIO
    lookup_payload = memory_keys.nbytes + memory_values.nbytes
    best: dict[str, float] = {}
    memcpy = 0.0
    for round_index in range(arguments.rounds):
        memcpy = max(memcpy, memcpy_gbps(arguments.bytes, 20))
        for name, client in (("shm", shared), ("frames", frames)):
            for operation, run, payload in (("transfer", transfer, keys.nbytes + values.nbytes),
                                            ("compress", compress, compress_payload), ("lookup", lookup, lookup_payload)):
                seconds = best_seconds(lambda: run(client), arguments.trips)
                gbps = payload / seconds / 1e9
                print(f"round={round_index + 1} path={name} operation={operation} payload_bytes={payload} "
                      f"seconds={seconds:.4f} gbps={gbps:.3f}", flush=True)
                key = f"{operation}/{name}"
                best[key] = max(best.get(key, 0.0), gbps)
    print(f"memcpy_bytes={arguments.bytes} gbps={memcpy:.3f}")
    shared.close()
    frames.close()

    print(f"\n32 MiB round trips through lomad: best of {arguments.rounds} rounds x {arguments.trips} trips; "
          f"ratio = round trip GB/s / memcpy GB/s (goal >= 0.70)\n")
    print("| round trip | payload | frames GB/s | shared memory GB/s | frames / memcpy | shared memory / memcpy |")
    print("|---|---:|---:|---:|---:|---:|")
    for operation, label, payload in (("transfer", "compress input alone (refused before the pass)", keys.nbytes + values.nbytes),
                                      ("compress", "compress input (strided)", compress_payload),
                                      ("lookup", "store read (lookup_prefix)", lookup_payload)):
        via_frames, via_shared = best[f"{operation}/frames"], best[f"{operation}/shm"]
        print(f"| {label} | {payload / MIB:.0f} MiB | {via_frames:.2f} | {via_shared:.2f} | "
              f"{via_frames / memcpy:.2f} | {via_shared / memcpy:.2f} |")
    print(f"\nmemcpy of {arguments.bytes // MIB} MiB in the same run: {memcpy:.2f} GB/s")


if __name__ == "__main__":
    main()
