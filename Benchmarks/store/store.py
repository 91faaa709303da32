"""Store benchmark driver (Python clients): lomad's store operations against redis-server moving
the same bytes, with the same client language and number of clients, measured in one run.

Each cell runs OPS operations split across CLIENTS processes (one connection each, started
together); rounds alternate lomad and Redis and each keeps its best round, so a round disturbed
by other work on the machine does not decide the ratio. Prints one markdown table of rates and
lomad/Redis ratios (> 1: lomad is faster).

Rows, for a memory of SIZE bytes (keys + values, f32; 16 KiB is one chunk of loma-tiny):
  publish_prefix (SIZE/16 KiB chunks)          vs SET of SIZE bytes (MSET of 16 KiB values when batched)
  lookup_prefix (the same chunks)              vs GET (MGET when batched)
  compress into a fresh sequence (SIZE out)    vs SET of SIZE bytes (MSET when batched)
  read_memory of that many segments            vs GET (MGET when batched)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import redis

from lomad_client import Client

CHUNK_BYTES = 16 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Service:
    """A child process that serves on a port, stopped with SIGTERM."""

    def __init__(self, command: list[str], ready: str, log_path: str):
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while ready not in open(log_path, errors="replace").read():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{command[0]} did not start:\n{open(log_path, errors='replace').read()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def memory_arrays(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys and values of `size` bytes together, shaped [4, 2, tokens, 32] f32 (loma-tiny)."""
    tokens = size // 2 // (4 * 2 * 32 * 4)
    rng = np.random.default_rng(seed)
    shape = (4, 2, tokens, 32)
    return rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(shape, dtype=np.float32)


def segment_input(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A compress input whose memory is `size` bytes: 32 source tokens per 8 memory tokens."""
    keys, values = memory_arrays(size, seed)
    tokens = keys.shape[2] * 4
    rng = np.random.default_rng(seed + 1)
    return (rng.standard_normal((4, 2, tokens, 32), dtype=np.float32),
            rng.standard_normal((4, 2, tokens, 32), dtype=np.float32))


def hashes_for(size: int, client_index: int) -> list[bytes]:
    return [bytes([client_index, chunk % 256, chunk // 256]) + b"\x5a" * 29 for chunk in range(size // CHUNK_BYTES)]


def run_lomad(row: str, endpoint: str, size: int, ops: int, client_index: int, start_at: float, out) -> None:
    client = Client(endpoint, timeout=120)
    hashes = hashes_for(size, client_index)
    keys, values = memory_arrays(size, client_index)
    compress_keys, compress_values = segment_input(size, client_index)
    sequence = f"bench-{client_index}-{os.getpid()}"
    if row in ("lookup", "publish"):
        client.publish_prefix(hashes, keys, values)
    if row == "read":
        client.compress(compress_keys, compress_values, sequence=sequence)
    operation = {
        "publish": lambda i: client.publish_prefix(hashes, keys, values),
        "lookup": lambda i: client.lookup_prefix(hashes),
        "compress": lambda i: client.compress(compress_keys, compress_values, sequence=f"{sequence}-{i}", ttl_seconds=600),
        "read": lambda i: client.read_memory(sequence),
    }[row]
    check = {
        "lookup": lambda result: result[0] == len(hashes),
        "read": lambda result: result[0] is not None and result[0].keys.nbytes * 2 == size,
        "compress": lambda result: result.keys.nbytes * 2 == size,
        "publish": lambda result: result in (0, len(hashes)),
    }[row]
    time.sleep(max(0.0, start_at - time.time()))
    began = time.perf_counter()
    for i in range(ops):
        if not check(operation(i)):
            raise RuntimeError(f"lomad {row} returned an unexpected result")
    out.put((began, time.perf_counter()))
    if row == "compress":
        for i in range(ops):
            client.delete_sequence(f"{sequence}-{i}")
    if row == "read":
        client.delete_sequence(sequence)
    client.close()


def run_redis(row: str, port: int, size: int, ops: int, client_index: int, start_at: float, out) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    keys, values = memory_arrays(size, client_index)
    payload = keys.tobytes() + values.tobytes()
    chunks = size // CHUNK_BYTES
    names = [f"bench-{client_index}-{chunk}" for chunk in range(chunks)]
    pieces = {name: payload[i * CHUNK_BYTES:(i + 1) * CHUNK_BYTES] for i, name in enumerate(names)}
    if chunks == 1:
        write = lambda i: client.set(names[0], payload)
        read = lambda i: client.get(names[0])
        check_read = lambda result: result is not None and len(result) == size
    else:
        write = lambda i: client.mset(pieces)
        read = lambda i: client.mget(names)
        check_read = lambda result: sum(len(piece) for piece in result) == size
    write(0)
    operation, check = (read, check_read) if row in ("lookup", "read") else (write, bool)
    time.sleep(max(0.0, start_at - time.time()))
    began = time.perf_counter()
    for i in range(ops):
        if not check(operation(i)):
            raise RuntimeError(f"redis {row} returned an unexpected result")
    out.put((began, time.perf_counter()))
    client.close()


def cell(target, row: str, address, size: int, ops: int, clients: int) -> float:
    """Operations per second of `clients` processes doing `ops` operations between them."""
    out = multiprocessing.Queue()
    start_at = time.time() + 0.5 + 0.05 * clients
    per_client = max(1, ops // clients)
    processes = [multiprocessing.Process(target=target, args=(row, address, size, per_client, index, start_at, out))
                 for index in range(clients)]
    for process in processes:
        process.start()
    spans = [out.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a {row} client failed")
    wall = max(end for _, end in spans) - min(begin for begin, _ in spans)
    return per_client * clients / wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lomad", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--sizes", default="16384,1048576")
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--ops", type=int, default=2000, help="operations per cell for 16 KiB; scaled down by size")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", default="publish,lookup,compress,read")
    arguments = parser.parse_args()

    work = tempfile.mkdtemp(prefix="store-bench-")
    lomad_port, redis_port = free_port(), free_port()
    endpoint = f"tcp://127.0.0.1:{lomad_port}"
    lomad = Service([arguments.lomad, "serve", "--endpoint", endpoint, "--model", f"loma-tiny={arguments.model}",
                     "--ram-budget-bytes", str(4 << 30), "--queue-depth", "4096", "--limits-max-connections-per-peer", "0"],
                    "serving", os.path.join(work, "lomad.log"))
    server = Service(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                      "--protected-mode", "no"], "Ready to accept connections", os.path.join(work, "redis.log"))
    against = {"publish": "SET", "lookup": "GET", "compress": "SET", "read": "GET"}
    names = {"publish": "publish_prefix", "lookup": "lookup_prefix", "compress": "compress into sequence",
             "read": "read_memory"}
    results = []
    try:
        for size in (int(s) for s in arguments.sizes.split(",")):
            ops = arguments.ops if size <= CHUNK_BYTES else max(20, arguments.ops // 16)
            for clients in (int(c) for c in arguments.clients.split(",")):
                for row in arguments.rows.split(","):
                    best_lomad = best_redis = 0.0
                    for _ in range(arguments.rounds):
                        best_lomad = max(best_lomad, cell(run_lomad, row, endpoint, size, ops, clients))
                        best_redis = max(best_redis, cell(run_redis, row, redis_port, size, ops, clients))
                    baseline = against[row] if size == CHUNK_BYTES else "M" + against[row]
                    results.append((names[row], size, clients, best_lomad, baseline, best_redis))
                    print(f"{names[row]} {size} x{clients}: {best_lomad:.0f}/s vs {baseline} {best_redis:.0f}/s",
                          file=sys.stderr, flush=True)
    finally:
        lomad.stop()
        server.stop()
    print(f"\nStore benchmark, Python clients (redis-py {redis.__version__}): operations/s, best of {arguments.rounds} "
          "alternating rounds; ratio = lomad/Redis (goal >= 1.0)\n")
    print("| lomad operation | bytes | clients | lomad ops/s | Redis | Redis ops/s | ratio |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for name, size, clients, rate, baseline, redis_rate in results:
        print(f"| {name} | {size // 1024} KiB | {clients} | {rate:,.0f} | {baseline} | {redis_rate:,.0f} | {rate / redis_rate:.2f} |")


if __name__ == "__main__":
    main()
