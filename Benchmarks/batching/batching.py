"""Batching benchmark driver: compress requests per second through lomad serving the
Llama-3.2-1B-shaped bench model, with 1, 4 and 16 concurrent clients, batching on (the daemon's
defaults: batching.window_ms 2, batching.max_requests 16) and off (batching.max_requests 1),
against the engine's best in-process rate from loma-bench in the same run.

Each client is its own process with its own connection and sends one-segment compress requests
(f32, heads-major, no sequence) back to back; a cell's rate is all requests over the span from
the first start to the last reply. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from lomad_client import Client


def client_loop(endpoint: str, shape: tuple[int, ...], requests: int, seed: int, start_at: float, out) -> None:
    client = Client(endpoint, timeout=600)
    rng = np.random.default_rng(seed)
    keys = rng.standard_normal(shape, dtype=np.float32)
    values = rng.standard_normal(shape, dtype=np.float32)
    time.sleep(max(0.0, start_at - time.time()))
    began = time.perf_counter()
    for _ in range(requests):
        memory = client.compress(keys, values)
        if memory.segments != 1:
            raise RuntimeError(f"compress returned {memory.segments} segments")
    out.put((began, time.perf_counter()))
    client.close()


def cell(endpoint: str, shape: tuple[int, ...], clients: int, requests: int) -> float:
    out = multiprocessing.Queue()
    start_at = time.time() + 1.0 + 0.05 * clients
    processes = [multiprocessing.Process(target=client_loop, args=(endpoint, shape, requests, index, start_at, out))
                 for index in range(clients)]
    for process in processes:
        process.start()
    spans = [out.get(timeout=1200) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError("a client failed")
    return clients * requests / (max(end for _, end in spans) - min(begin for begin, _ in spans))


def serve(lomad: str, model: str, extra: list[str], directory: str) -> tuple[subprocess.Popen, str]:
    endpoint = f"ipc://{directory}/lomad-{len(os.listdir(directory))}.sock"
    log_path = f"{endpoint[6:]}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([lomad, "serve", "--endpoint", endpoint, "--model", f"bench={model}", "--queue-depth", "256",
                                    *extra], stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 300
    while "serving" not in open(log_path, errors="replace").read():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"lomad did not start:\n{open(log_path, errors='replace').read()}")
        time.sleep(0.1)
    return process, endpoint


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lomad", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--engine-json", required=True, help="loma-bench's report from this run")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--requests", type=int, default=32, help="requests per cell, split across its clients")
    arguments = parser.parse_args()

    config = json.load(open(os.path.join(arguments.model, "config.json")))
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    shape = (config["num_hidden_layers"], config["num_key_value_heads"], config["loma"]["segment_length"], head_dim)
    engine = json.load(open(arguments.engine_json))
    engine_best = max(result["jobs"] / result["seconds"] for result in engine["results"])
    engine_at = max(engine["results"], key=lambda result: result["jobs"] / result["seconds"])["jobs"]

    directory = tempfile.mkdtemp(prefix="batching-bench-")
    clients = [int(c) for c in arguments.clients.split(",")]
    rates: dict[tuple[str, int], float] = {}
    for mode, extra in (("on", []), ("off", ["--max-batch", "1"])):
        process, endpoint = serve(arguments.lomad, arguments.model, extra, directory)
        try:
            Client(endpoint, timeout=600).compress(np.zeros(shape, np.float32), np.zeros(shape, np.float32))  # warm-up
            for count in clients:
                requests = max(1, arguments.requests // count)
                rates[(mode, count)] = cell(endpoint, shape, count, requests)
                print(f"batching {mode}, {count} clients: {rates[(mode, count)]:.2f} requests/s", file=sys.stderr, flush=True)
        finally:
            stop(process)

    print(f"\nBatching benchmark: one-segment compress requests/s ({shape[2]} tokens, model "
          f"{config['num_hidden_layers']} layers, hidden {config['hidden_size']}); engine best in process: "
          f"{engine_best:.2f} requests/s (a pass of {engine_at} segments, loma-bench, this run)\n")
    print("| clients | batching on | batching off | on/off (goal >= 1.3 at 16) | on/engine best (goal >= 0.90 at 16) |")
    print("|---:|---:|---:|---:|---:|")
    for count in clients:
        on, off = rates[("on", count)], rates[("off", count)]
        print(f"| {count} | {on:.2f} | {off:.2f} | {on / off:.2f} | {on / engine_best:.2f} |")


if __name__ == "__main__":
    main()
