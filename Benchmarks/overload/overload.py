"""Overload benchmark (issue 8, item 5): 16 clients offering ten times what lomad serves.

First the daemon's capacity is measured in this same run (closed loop, a client per worker plus
one, so a worker never waits); then 16 clients send open-loop (each at a fixed pace, never
waiting for replies) at `--overload` times that capacity for `--seconds`, mostly compress (two of
them appending to a sequence each, which fills the store's RAM budget) and every eighth request a
health. Reports replies by status, latencies, and the daemon's RSS before, at peak and after,
against the budgets it was given (`--max-queued-bytes` for requests, `--ram-budget-bytes` for the
store). Prints markdown.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import threading
import time

import numpy as np
import zmq

from lomad_client import Client
from lomad_client.loma.v1 import envelope_pb2, status_pb2, tensor_pb2

from loadkit import Daemon, Geometry, Tally, load_average, memory_kib, mib, outcomes_table, reset_peak

CLIENTS = 16
APPENDING_CLIENTS = 2
HEALTH_EVERY = 8
REQUEST_IDS = itertools.count(1)


def outcome_of(reply: envelope_pb2.Reply) -> str:
    """The reply's status, with resource_exhausted split by the limit that refused."""
    code = reply.status.code
    if code == status_pb2.STATUS_CODE_OK:
        return "ok"
    name = status_pb2.StatusCode.Name(code).removeprefix("STATUS_CODE_").lower()
    if code == status_pb2.STATUS_CODE_RESOURCE_EXHAUSTED:
        if "busy" in reply.status.message:
            return f"{name} (busy)"
        if "RAM budget" in reply.status.message:
            return f"{name} (store full)"
    return name


class RequestFrames:
    """Frames of the benchmark's requests; only the envelope (and its id) changes per send."""

    def __init__(self, geometry: Geometry, segments: int):
        generator = np.random.default_rng(5)
        keys, values = geometry.kv(generator, segments * geometry.segment_length)
        self.tensors = [zmq.Frame(keys.tobytes()), zmq.Frame(values.tobytes())]
        self.bytes = keys.nbytes + values.nbytes
        self.compress = envelope_pb2.Request()
        for descriptor, frame in ((self.compress.compress.segment.keys, 1), (self.compress.compress.segment.values, 2)):
            descriptor.dtype = tensor_pb2.DTYPE_F32
            descriptor.shape.extend(keys.shape)
            descriptor.layout = tensor_pb2.KV_LAYOUT_HEADS_MAJOR
            descriptor.frame = frame

    def frames(self, client: int, index: int) -> tuple[int, str, list]:
        request = envelope_pb2.Request()
        request.request_id = next(REQUEST_IDS)
        if index % HEALTH_EVERY == HEALTH_EVERY - 1:
            request.health.SetInParent()
            return request.request_id, "health", [request.SerializeToString()]
        request.compress.CopyFrom(self.compress.compress)
        operation = "compress"
        if client < APPENDING_CLIENTS:
            request.compress.sequence = f"overload-{client}"
            operation = "compress (sequence)"
        return request.request_id, operation, [request.SerializeToString(), *self.tensors]


def flood_client(client: int, endpoint: str, frames: RequestFrames, interval: float, seconds: float, drain: float,
                 tally: Tally, sent: list[int]) -> None:
    """Sends on a fixed schedule regardless of replies (open loop), collecting replies as they come."""
    socket = zmq.Context.instance().socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    waiting: dict[int, tuple[str, float]] = {}

    def collect(timeout: float) -> None:
        if not socket.poll(max(0, int(timeout * 1000))):
            return
        while True:
            try:
                reply_frames = socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            reply = envelope_pb2.Reply()
            reply.ParseFromString(reply_frames[0].bytes)
            operation, started = waiting.pop(reply.request_id, ("unknown", time.perf_counter()))
            tally.record(operation, outcome_of(reply), time.perf_counter() - started)

    start = time.perf_counter()
    # Start the clients' schedules apart, so 16 sends do not land together every interval.
    next_send = start + interval * client / CLIENTS
    end = start + seconds
    index = 0
    while (now := time.perf_counter()) < end:
        if now >= next_send:
            request_id, operation, request = frames.frames(client, index)
            waiting[request_id] = (operation, now)
            socket.send_multipart(request, copy=False)
            index += 1
            next_send += interval
        collect(min(next_send, end) - time.perf_counter())
    deadline = time.perf_counter() + drain
    while waiting and time.perf_counter() < deadline:
        collect(deadline - time.perf_counter())
    for operation, _ in waiting.values():
        tally.record(operation, "no reply", None)
    sent[client] = index
    socket.close()


def measure_capacity(endpoint: str, frames: RequestFrames, geometry: Geometry, workers: int, seconds: float) -> float:
    """Compress requests served per second with a client per worker plus one (closed loop)."""
    generator = np.random.default_rng(6)
    segments = frames.bytes // geometry.segment_bytes(1)
    keys, values = geometry.kv(generator, segments * geometry.segment_length)
    served = [0] * (workers + 1)

    def serve(index: int) -> None:
        with Client(endpoint, timeout=60, retries=0) as client:
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                client.compress(keys, values)
                served[index] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=serve, args=(index,)) for index in range(workers + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(served) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lomad", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--overload", type=float, default=10.0, help="offered load as a multiple of the capacity")
    parser.add_argument("--segments", type=int, default=8, help="segments per compress request")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--queue-depth", type=int, default=64)
    parser.add_argument("--queued-requests", type=int, default=4, help="max-queued-bytes as this many requests' bytes")
    parser.add_argument("--ram-budget-bytes", type=int, default=16 << 20)
    args = parser.parse_args()

    probe = Daemon(args.lomad, ["--model", f"m={args.model}"])
    try:
        with Client(probe.endpoint, timeout=30, retries=0) as client:
            geometry = Geometry.of(client.model_info())
    finally:
        probe.stop()
    frames = RequestFrames(geometry, args.segments)
    max_queued_bytes = args.queued_requests * frames.bytes
    lomad_arguments = ["--model", f"m={args.model}", "--workers", str(args.workers), "--queue-depth", str(args.queue_depth),
                       "--max-queued-bytes", str(max_queued_bytes), "--ram-budget-bytes", str(args.ram_budget_bytes),
                       "--batch-window-ms", "0"]
    daemon = Daemon(args.lomad, lomad_arguments)
    load_at_start = load_average()
    try:
        capacity = measure_capacity(daemon.endpoint, frames, geometry, args.workers, seconds=10)
        before = memory_kib(daemon.pid)["VmRSS"]
        reset_peak(daemon.pid)
        offered = capacity * args.overload
        interval = CLIENTS / offered
        tally = Tally()
        sent = [0] * CLIENTS
        rss_samples: list[int] = []
        threads = [threading.Thread(target=flood_client, args=(client, daemon.endpoint, frames, interval, args.seconds, 30.0, tally, sent))
                   for client in range(CLIENTS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            if daemon.alive():
                rss_samples.append(memory_kib(daemon.pid)["VmRSS"])
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        alive = daemon.alive()
        after = memory_kib(daemon.pid) if alive else {"VmRSS": 0, "VmHWM": 0}
        with Client(daemon.endpoint, timeout=30, retries=0) as client:
            stats = client.stats() if alive else None
            health_ok = alive and client.health().version != ""
    finally:
        status = daemon.stop()

    operations = tally.snapshot()
    outcomes: dict[str, int] = {}
    for operation in operations.values():
        for outcome, count in operation.outcomes.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    compress_ok = sum(op.outcomes.get("ok", 0) for name, op in operations.items() if name.startswith("compress"))
    budget_kib = (max_queued_bytes + args.ram_budget_bytes) / 1024
    lines = [
        f"Overload: {CLIENTS} clients, open loop at {args.overload:g}x the measured capacity for {args.seconds:g} s, "
        f"release lomad `{' '.join(lomad_arguments)}`; compress requests of {args.segments} segments ({frames.bytes} bytes).",
        "",
        f"- capacity (measured first, closed loop, {args.workers + 1} clients): {capacity:.1f} compress/s",
        f"- offered: {sum(sent)} requests in {args.seconds:g} s = {sum(sent) / args.seconds:.1f}/s "
        f"({sum(sent) / args.seconds / capacity:.1f}x capacity); compress served during the flood: "
        f"{compress_ok / args.seconds:.1f}/s",
        "- replies: " + ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items())),
        f"- daemon alive after: {alive}; answers health: {health_ok}; exit status after SIGTERM: {status}",
        f"- RSS before the flood (after capacity run): {mib(before)}; peak during: {mib(after['VmHWM'])}; after: "
        f"{mib(after['VmRSS'])}; budgets: max-queued-bytes {mib(max_queued_bytes / 1024)} + store {mib(args.ram_budget_bytes / 1024)} "
        f"= {mib(budget_kib)}; peak - before = {mib(after['VmHWM'] - before)} "
        f"({'within' if after['VmHWM'] - before <= budget_kib else 'OVER'} the budgets)",
        f"- RSS samples every 0.5 s: min {mib(min(rss_samples, default=0))}, max {mib(max(rss_samples, default=0))}",
        f"- load average (1/5/15 min) at start: {load_at_start}, at end: {load_average()} (shared machine, 2 cores); "
        f"flood wall time with drain: {elapsed:.1f} s",
    ]
    if stats is not None:
        lines.append(f"- daemon stats after: queue depth {stats.queue_depth}, busy workers {stats.busy_workers}, "
                     f"held request bytes {stats.held_request_bytes}, undeliverable replies {stats.undeliverable_replies}")
    lines += ["", *outcomes_table(operations)]
    print("\n".join(lines))
    return 0 if alive and set(outcomes) <= {"ok", "resource_exhausted (busy)", "resource_exhausted (store full)"} else 1


if __name__ == "__main__":
    sys.exit(main())
