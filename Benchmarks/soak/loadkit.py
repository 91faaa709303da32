"""What the soak and overload benchmarks share: a release lomad process to load, its memory as
the kernel reports it, per-operation tallies of outcomes and latencies, and KV inputs shaped for
the served model.

Both benchmarks are run by their `run.sh`, which puts `Examples/python` (the lomad_client
package) and this folder on PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from lomad_client import LomadTimeout, StatusError


# ---- the daemon under load ---------------------------------------------------------------------


class Daemon:
    """`lomad serve` on a fresh ipc endpoint, stopped with SIGTERM (SIGKILL if it hangs)."""

    def __init__(self, binary: str, arguments: list[str], ready_timeout: float = 60.0):
        self.directory = tempfile.mkdtemp(prefix="lomad-load-")
        self.endpoint = f"ipc://{self.directory}/lomad.sock"
        self.log_path = os.path.join(self.directory, "stderr.log")
        self.command = [binary, "serve", "--endpoint", self.endpoint, *arguments]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + ready_timeout
        while "serving" not in self.log:
            if self.process.poll() is not None:
                raise RuntimeError(f"lomad exited with status {self.process.returncode} before serving:\n{self.log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"lomad did not start serving within {ready_timeout:g} s:\n{self.log}")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
        return self.process.returncode


# ---- process memory ----------------------------------------------------------------------------


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of `pid`, in KiB, from /proc/PID/status."""
    figures = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                figures[name] = int(rest.split()[0])
    return figures


def reset_peak(pid: int) -> None:
    """Starts VmHWM over at the current RSS (proc(5), clear_refs value 5), so a peak read later
    belongs to the phase that follows rather than to start-up or warm-up."""
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


# ---- outcomes ----------------------------------------------------------------------------------


def outcome_name(error: BaseException | None) -> str:
    """`ok`, the daemon's status (`resource_exhausted`, ...), `timeout`, or the client error type."""
    if error is None:
        return "ok"
    if isinstance(error, StatusError):
        return error.code_name.removeprefix("STATUS_CODE_").lower()
    if isinstance(error, LomadTimeout):
        return "timeout"
    return f"client:{type(error).__name__}"


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (nan when there are none)."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, int(np.ceil(fraction * len(sorted_values))) - 1))
    return sorted_values[rank]


@dataclass
class OperationTally:
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    latencies: list[float] = field(default_factory=list)


class Tally:
    """Outcomes and latencies by operation, shared by every load thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._operations: dict[str, OperationTally] = defaultdict(OperationTally)

    def record(self, operation: str, outcome: str, seconds: float | None) -> None:
        """Counts one request; `seconds` None for one that never got a reply (no latency)."""
        with self._lock:
            tally = self._operations[operation]
            tally.outcomes[outcome] += 1
            if seconds is not None:
                tally.latencies.append(seconds)

    def timed(self, operation: str, call):
        """Runs `call()`, recording its outcome and latency; returns its result or None on error."""
        started = time.perf_counter()
        error = None
        result = None
        try:
            result = call()
        except (StatusError, LomadTimeout) as caught:
            error = caught
        self.record(operation, outcome_name(error), time.perf_counter() - started)
        return result

    def snapshot(self) -> dict[str, OperationTally]:
        with self._lock:
            return {
                name: OperationTally(dict(tally.outcomes), list(tally.latencies))
                for name, tally in sorted(self._operations.items())
            }

    def total(self) -> int:
        with self._lock:
            return sum(sum(tally.outcomes.values()) for tally in self._operations.values())


def outcomes_table(operations: dict[str, OperationTally], expected_errors: dict[str, set[str]] | None = None) -> list[str]:
    """Markdown rows: per operation the request count, outcomes, p50/p99 latency in ms."""
    expected_errors = expected_errors or {}
    rows = ["| operation | requests | outcomes | p50 ms | p99 ms |", "|---|---:|---|---:|---:|"]
    for name, tally in operations.items():
        latencies = sorted(tally.latencies)
        outcomes = ", ".join(f"{outcome} {count}" for outcome, count in sorted(tally.outcomes.items()))
        if name in expected_errors:
            outcomes += " (expected: " + ", ".join(sorted(expected_errors[name])) + ")"
        rows.append(
            f"| {name} | {sum(tally.outcomes.values())} | {outcomes} | "
            f"{percentile(latencies, 0.50) * 1000:.2f} | {percentile(latencies, 0.99) * 1000:.2f} |"
        )
    return rows


# ---- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Geometry:
    """The served model's KV shape, from its health entry."""

    layers: int
    kv_heads: int
    head_dim: int
    segment_length: int
    memory_tokens_per_segment: int

    @classmethod
    def of(cls, info) -> "Geometry":
        return cls(info.layers, info.kv_heads, info.head_dim, info.segment_length, info.memory_tokens_per_segment)

    def kv(self, generator: np.random.Generator, tokens: int) -> tuple[np.ndarray, np.ndarray]:
        """Heads-major f32 keys and values of `tokens` tokens."""
        shape = (self.layers, self.kv_heads, tokens, self.head_dim)
        return (generator.standard_normal(shape, dtype=np.float32), generator.standard_normal(shape, dtype=np.float32))

    def memory_positions(self, segments: int) -> np.ndarray:
        """Where compress puts the memory tokens of `segments` segments from position 0:
        token j of segment s at s*segment_length + (j+1)*ratio - 1 (docs/protocol.md)."""
        ratio = self.segment_length // self.memory_tokens_per_segment
        tokens = np.arange(self.memory_tokens_per_segment, dtype=np.int64)
        return np.concatenate([s * self.segment_length + (tokens + 1) * ratio - 1 for s in range(segments)])

    def segment_bytes(self, segments: int) -> int:
        """Bytes of the keys and values of `segments` f32 segments."""
        return 2 * 4 * self.layers * self.kv_heads * segments * self.segment_length * self.head_dim
