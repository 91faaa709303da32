"""Soak benchmark: mixed load on one release lomad for a fixed time (issue 8, item 8).

Several client threads each loop over a weighted mix of every operation: compress with and
without a sequence, read_memory, fork/delete, prefix publish/lookup, health, stats, and a few
malformed requests (which must be refused as invalid_argument). The store stays bounded by
construction (each thread rotates its sequence after a few segments, prefixes come from a fixed
pool), so RSS drift measures the daemon, not what it was asked to keep. Prints markdown.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time

import numpy as np
import zmq

from lomad_client import Client, chunk_hashes
from lomad_client.errors import status_error
from lomad_client.loma.v1 import envelope_pb2, tensor_pb2

from loadkit import Daemon, Geometry, Tally, load_average, memory_kib, mib, outcome_name, outcomes_table

#: Operation weights of the mix (relative).
MIX = {
    "compress": 25,
    "compress_sequence": 15,
    "read_memory": 12,
    "fork_delete": 8,
    "publish_prefix": 8,
    "lookup_prefix": 12,
    "health": 8,
    "stats": 6,
    "malformed": 6,
}
#: Segments a thread appends to one sequence before deleting it and starting the next.
SEQUENCE_SEGMENTS = 16
#: Distinct prefixes (of PREFIX_CHUNKS chunks each) that publish/lookup draw from.
PREFIX_POOL = 48
PREFIX_CHUNKS = 2


class PrefixPool:
    """A fixed set of prompts whose prefixes the threads publish and look up, so the prefix store
    stops growing once every one is published."""

    def __init__(self, geometry: Geometry, seed: int):
        generator = np.random.default_rng(seed)
        self.hashes = [
            chunk_hashes(generator.integers(0, 1 << 16, size=geometry.segment_length * PREFIX_CHUNKS), geometry.segment_length)
            for _ in range(PREFIX_POOL)
        ]
        # A lookup of a prompt nobody publishes: a miss that must still be answered OK.
        self.unknown = chunk_hashes(generator.integers(1 << 16, 1 << 17, size=geometry.segment_length), geometry.segment_length)


def malformed_frames(geometry: Geometry, rng: random.Random) -> list[bytes]:
    """One request the daemon must refuse as invalid_argument: garbage bytes for an envelope,
    a compress whose keys descriptor disagrees with its frame's length, or one naming a frame
    that is not there."""
    kind = rng.randrange(3)
    if kind == 0:
        # Not protobuf: a varint cut short, or a length-delimited field running past the end.
        return [rng.choice([b"\x08\x80", b"\x12\x7f\x01", b"\xff" * 11])]
    request = envelope_pb2.Request(request_id=rng.randrange(1, 1 << 30))
    tokens = geometry.segment_length
    for descriptor in (request.compress.segment.keys, request.compress.segment.values):
        descriptor.dtype = tensor_pb2.DTYPE_F32
        descriptor.shape.extend([geometry.layers, geometry.kv_heads, tokens, geometry.head_dim])
        descriptor.layout = tensor_pb2.KV_LAYOUT_HEADS_MAJOR
    request.compress.segment.keys.frame = 1
    request.compress.segment.values.frame = 2
    payload = bytes(4 * geometry.layers * geometry.kv_heads * tokens * geometry.head_dim)
    if kind == 1:
        return [request.SerializeToString(), payload[:-4], payload]
    return [request.SerializeToString(), payload]


class LoadThread(threading.Thread):
    def __init__(self, index: int, endpoint: str, geometry: Geometry, pool: PrefixPool, tally: Tally,
                 stop: threading.Event, timeout: float):
        super().__init__(name=f"soak-{index}", daemon=True)
        self.index = index
        self.endpoint = endpoint
        self.geometry = geometry
        self.pool = pool
        self.tally = tally
        self.stop = stop
        self.timeout = timeout
        self.rng = random.Random(index)
        self.generator = np.random.default_rng(index)
        self.generation = 0
        self.segments = 0

    def connect_raw(self) -> zmq.Socket:
        """A DEALER of our own for requests lomad_client would never build."""
        raw = zmq.Context.instance().socket(zmq.DEALER)
        raw.setsockopt(zmq.LINGER, 0)
        raw.connect(self.endpoint)
        return raw

    @property
    def sequence(self) -> str:
        return f"soak-{self.index}-{self.generation}"

    def run(self) -> None:
        operations, weights = zip(*MIX.items())
        context = zmq.Context.instance()
        # retries=0: every timeout is counted, never hidden by a resend.
        with Client(self.endpoint, timeout=self.timeout, retries=0, context=context) as client:
            self.raw = self.connect_raw()
            try:
                while not self.stop.is_set():
                    operation = self.rng.choices(operations, weights)[0]
                    getattr(self, operation)(client)
            finally:
                self.raw.close()
                try:
                    client.delete_sequence(self.sequence)
                except Exception:  # noqa: BLE001 - the sequence may never have been created
                    pass

    # ---- operations (each records exactly one request) ----

    def compress(self, client: Client) -> None:
        keys, values = self.geometry.kv(self.generator, self.geometry.segment_length * self.rng.randint(1, 4))
        self.tally.timed("compress", lambda: client.compress(keys, values))

    def compress_sequence(self, client: Client) -> None:
        if self.segments >= SEQUENCE_SEGMENTS:
            self.tally.timed("delete (rotation)", lambda: client.delete_sequence(self.sequence))
            self.generation += 1
            self.segments = 0
        keys, values = self.geometry.kv(self.generator, self.geometry.segment_length)
        if self.tally.timed("compress_sequence", lambda: client.compress(keys, values, sequence=self.sequence)) is not None:
            self.segments += 1

    def read_memory(self, client: Client) -> None:
        if self.segments == 0:
            return self.compress_sequence(client)
        first = self.rng.randrange(self.segments)
        self.tally.timed("read_memory", lambda: client.read_memory(self.sequence, first_segment=first))

    def fork_delete(self, client: Client) -> None:
        if self.segments == 0:
            return self.compress_sequence(client)
        fork = f"{self.sequence}-fork"
        if self.tally.timed("fork_sequence", lambda: client.fork_sequence(self.sequence, fork)) is not None:
            self.tally.timed("delete_sequence", lambda: client.delete_sequence(fork))

    def publish_prefix(self, client: Client) -> None:
        hashes = self.rng.choice(self.pool.hashes)
        memory_tokens = self.geometry.memory_tokens_per_segment * len(hashes)
        keys, values = self.geometry.kv(self.generator, memory_tokens)
        positions = self.geometry.memory_positions(len(hashes))
        self.tally.timed("publish_prefix", lambda: client.publish_prefix(hashes, keys, values, positions))

    def lookup_prefix(self, client: Client) -> None:
        hashes = self.pool.unknown if self.rng.random() < 0.2 else self.rng.choice(self.pool.hashes)
        self.tally.timed("lookup_prefix", lambda: client.lookup_prefix(hashes))

    def health(self, client: Client) -> None:
        self.tally.timed("health", client.health)

    def stats(self, client: Client) -> None:
        self.tally.timed("stats", client.stats)

    def malformed(self, _client: Client) -> None:
        started = time.perf_counter()
        self.raw.send_multipart(malformed_frames(self.geometry, self.rng))
        if not self.raw.poll(int(self.timeout * 1000)):
            self.tally.record("malformed", "timeout", time.perf_counter() - started)
            # A late reply would be taken for the next exchange's: start that one on a fresh socket.
            self.raw.close()
            self.raw = self.connect_raw()
            return
        reply = envelope_pb2.Reply()
        reply.ParseFromString(self.raw.recv_multipart()[0])
        code = reply.status.code
        outcome = "ok" if code == 0 else outcome_name(status_error(code, reply.status.message))
        self.tally.record("malformed", outcome, time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lomad", required=True, help="release lomad binary")
    parser.add_argument("--model", required=True, help="model directory to serve")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ram-budget-bytes", type=int, default=256 << 20)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds each request may take")
    args = parser.parse_args()

    lomad_arguments = ["--model", f"m={args.model}", "--workers", str(args.workers),
                       "--ram-budget-bytes", str(args.ram_budget_bytes)]
    daemon = Daemon(args.lomad, lomad_arguments)
    try:
        with Client(daemon.endpoint, timeout=30, retries=0) as probe:
            geometry = Geometry.of(probe.model_info())
        pool = PrefixPool(geometry, seed=1)
        tally = Tally()
        stop = threading.Event()
        samples = [(0.0, memory_kib(daemon.pid)["VmRSS"], 0, load_average())]
        started = time.monotonic()
        threads = [LoadThread(index, daemon.endpoint, geometry, pool, tally, stop, args.timeout) for index in range(args.clients)]
        for thread in threads:
            thread.start()
        duration = args.minutes * 60
        next_sample = 0.0
        while next_sample < duration and daemon.alive():
            next_sample = min(next_sample + 60.0, duration)
            time.sleep(max(0.0, next_sample - (time.monotonic() - started)))
            if not daemon.alive():
                break
            samples.append((time.monotonic() - started, memory_kib(daemon.pid)["VmRSS"], tally.total(), load_average()))
            print(f"[soak] {samples[-1][0] / 60:.1f} min: {samples[-1][2]} requests, RSS {mib(samples[-1][1])}, "
                  f"load {samples[-1][3]}", file=sys.stderr, flush=True)
        stop.set()
        for thread in threads:
            thread.join(args.timeout + 10)
        elapsed = time.monotonic() - started
        alive = daemon.alive()
        final = memory_kib(daemon.pid) if alive else {"VmRSS": 0, "VmHWM": 0}
        with Client(daemon.endpoint, timeout=30, retries=0) as probe:
            stats = probe.stats() if alive else None
    finally:
        status = daemon.stop()

    operations = tally.snapshot()
    total = sum(sum(t.outcomes.values()) for t in operations.values())
    errors: dict[str, int] = {}
    for name, operation in operations.items():
        for outcome, count in operation.outcomes.items():
            expected = name == "malformed" and outcome == "invalid_argument"
            if outcome != "ok" and not expected:
                errors[outcome] = errors.get(outcome, 0) + count
    first_minute = samples[1][1] if len(samples) > 1 else samples[0][1]
    lines = [
        f"Soak: {args.clients} client threads, {elapsed / 60:.1f} min of mixed load on release lomad "
        f"(`{' '.join(lomad_arguments)}`), model {geometry}.",
        "",
        f"- requests: {total} ({total / elapsed:.0f}/s); unexpected errors by status: "
        + (", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or "none")
        + f"; malformed requests refused as invalid_argument: {operations.get('malformed').outcomes.get('invalid_argument', 0) if 'malformed' in operations else 0}",
        f"- daemon alive at the end: {alive}; exit status after SIGTERM: {status}",
        f"- RSS: start {mib(samples[0][1])}, after 1 min {mib(first_minute)}, end {mib(final['VmRSS'])}, "
        f"peak {mib(final['VmHWM'])}; drift from minute 1 to the end: {(final['VmRSS'] - first_minute) / 1024:+.1f} MiB",
        f"- load average (1/5/15 min) at the start: {samples[0][3]}, at the end: {samples[-1][3]} "
        "(the machine is shared: 2 cores, other builds running)",
    ]
    if stats is not None:
        lines.append(f"- daemon stats at the end: queue depth {stats.queue_depth}, busy workers {stats.busy_workers}/"
                     f"{stats.workers}, undeliverable replies {stats.undeliverable_replies}")
    lines += ["", *outcomes_table(operations, {"malformed": {"invalid_argument"}}), "",
              "RSS by minute:", "", "| minute | requests so far | RSS | load average |", "|---:|---:|---:|---|"]
    lines += [f"| {t / 60:.1f} | {count} | {mib(rss)} | {load} |" for t, rss, count, load in samples]
    print("\n".join(lines))
    return 0 if alive and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
