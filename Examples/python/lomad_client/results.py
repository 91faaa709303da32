"""What the client's operations return, as plain Python values instead of protobuf messages.

Callers never see generated protobuf classes, so the public API does not change with the
protobuf runtime or the code protoc generated; status codes appear by name ("OK", "NOT_FOUND").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import status_name
from .loma.v1 import operations_pb2, tensor_pb2

if TYPE_CHECKING:  # pragma: no cover - torch is an optional extra
    import torch

_LAYOUT_NAMES: dict[int, str] = {
    tensor_pb2.KV_LAYOUT_HEADS_MAJOR: "heads_major",
    tensor_pb2.KV_LAYOUT_TOKENS_MAJOR: "tokens_major",
    tensor_pb2.KV_LAYOUT_UNSPECIFIED: "heads_major",  # the protocol's default
}


def layout_name(code: int) -> str:
    return _LAYOUT_NAMES.get(code, f"layout {code}")


def _describe(array: np.ndarray) -> str:
    return f"{array.dtype}{list(array.shape)}"


@dataclass(frozen=True, eq=False, repr=False)
class Memory:
    """Memory-token KV that replaces compressed segments in a cache.

    keys/values: `[layers, kv_heads, tokens, head_dim]` (heads_major) or
    `[layers, tokens, kv_heads, head_dim]` (tokens_major), read-only views of the reply frames
    (`np.array(memory.keys)` gives a writeable copy). positions: the absolute position of every
    memory token, in order, also read-only.
    """

    keys: np.ndarray
    values: np.ndarray
    positions: np.ndarray
    segments: int
    layout: str
    wire_dtype: str = ""  # "f32", "f16" or "bf16": how the reply carried keys and values

    @property
    def tokens(self) -> int:
        return int(self.positions.shape[0])

    def torch(self, device: "torch.device | str | None" = None) -> tuple["torch.Tensor", "torch.Tensor"]:
        """keys and values as torch tensors of the reply's dtype (torch.bfloat16 for BF16 replies)
        sharing the reply frames: no copy on the CPU, except for BF16 without ml_dtypes, which
        the arrays hold widened. Needs torch (`pip install "lomad-client[torch]"`). Writing to
        them writes into the frames: clone first."""
        from .torch_tensors import to_torch

        return to_torch(self.keys, device, self.wire_dtype), to_torch(self.values, device, self.wire_dtype)

    def __repr__(self) -> str:
        # The arrays by dtype and shape only: a KV block printed in full helps nobody.
        span = f"{int(self.positions[0])}..{int(self.positions[-1])}" if self.tokens else "none"
        return (f"Memory(segments={self.segments}, tokens={self.tokens}, layout={self.layout!r}, "
                f"keys={_describe(self.keys)}, values={_describe(self.values)}, positions={span})")


@dataclass(frozen=True)
class SequenceInfo:
    name: str
    model: str
    segments: int
    memory_tokens: int
    next_position: int  # where the next compressed segment starts
    bytes: int

    @classmethod
    def from_proto(cls, info: operations_pb2.SequenceInfo) -> "SequenceInfo":
        return cls(info.name, info.model, info.segments, info.memory_tokens, info.next_position, info.bytes)


@dataclass(frozen=True)
class ModelInfo:
    """A model the daemon serves: the shapes a client's KV must have and the compression it gets."""

    name: str
    architecture: str
    layers: int
    kv_heads: int
    head_dim: int
    segment_length: int
    compression_ratio: int
    memory_tokens_per_segment: int
    hidden_size: int
    attention_heads: int
    load_seconds: float  # how long the daemon took to load the checkpoint

    @classmethod
    def from_proto(cls, info: operations_pb2.ModelInfo) -> "ModelInfo":
        return cls(info.name, info.architecture, info.layers, info.kv_heads, info.head_dim, info.segment_length,
                   info.compression_ratio, info.memory_tokens_per_segment, info.hidden_size, info.attention_heads,
                   info.load_seconds)


@dataclass(frozen=True)
class Limits:
    """Limits the daemon enforces; a request over any of them is refused with a status."""

    max_frame_bytes: int
    hard_max_message_bytes: int  # past it libzmq drops the connection before lomad sees the request
    max_frames: int
    queue_depth: int
    workers: int
    max_queued_bytes: int
    max_connections: int  # connections held at once; more are closed as they connect
    max_connections_per_peer: int
    max_reply_bytes: int  # replies waiting for clients to read them
    max_segments_per_request: int
    max_compute_seconds: float  # 0: no limit
    tenant_queue_percent: int  # 0: one tenant, which keeps the whole queue
    shared_memory_max_bytes: int = 0  # 0: the daemon takes no shared memory

    @classmethod
    def from_proto(cls, limits: operations_pb2.Limits) -> "Limits":
        return cls(limits.max_frame_bytes, limits.hard_max_message_bytes, limits.max_frames, limits.queue_depth,
                   limits.workers, limits.max_queued_bytes, limits.max_connections, limits.max_connections_per_peer,
                   limits.max_reply_bytes, limits.max_segments_per_request, limits.max_compute_seconds,
                   limits.tenant_queue_percent, limits.shared_memory_max_bytes)


@dataclass(frozen=True)
class Health:
    """The daemon's version, limits and models, and the tenant this connection acts as."""

    version: str
    protocol_version: int
    limits: Limits
    models: tuple[ModelInfo, ...]
    uptime_seconds: float
    tenant: str

    @classmethod
    def from_proto(cls, health: operations_pb2.HealthReply) -> "Health":
        return cls(health.version, health.protocol_version, Limits.from_proto(health.limits),
                   tuple(ModelInfo.from_proto(model) for model in health.models), health.uptime_seconds, health.tenant)


@dataclass(frozen=True)
class OperationStats:
    """Replies to one operation by status name, and its latency histogram: `latency_counts[i]`
    requests took at most `latency_upper_seconds[i]`; the last count holds the slower ones."""

    operation: str
    statuses: dict[str, int]
    latency_upper_seconds: tuple[float, ...]
    latency_counts: tuple[int, ...]
    latency_sum_seconds: float

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @classmethod
    def from_proto(cls, entry: operations_pb2.OperationStats) -> "OperationStats":
        statuses: dict[str, int] = {}
        for status in entry.statuses:
            name = status_name(status.code)
            statuses[name] = statuses.get(name, 0) + status.count
        return cls(entry.operation, statuses, tuple(entry.latency_upper_seconds), tuple(entry.latency_counts),
                   entry.latency_sum_seconds)


@dataclass(frozen=True)
class StoreStats:
    """The compressed-memory store's tiers ("memory" or "durable" mode)."""

    mode: str
    sequences: int
    prefix_entries: int
    ram_bytes: int
    ram_segments: int
    ram_budget_bytes: int
    ram_evictions: int
    ram_hits: int
    ram_misses: int
    durable_segments: int
    durable_segment_bytes: int
    durable_file_bytes: int
    map_size_bytes: int
    expired_purged: int
    prefix_lookups: int
    prefix_chunks_found: int
    # Reads answered DATA_LOSS; reads of records from before checksums; records found damaged,
    # and records without a checksum, when the store opened.
    damaged_reads: int
    unverified_reads: int
    damaged_records: int
    unchecked_records: int

    @classmethod
    def from_proto(cls, store: operations_pb2.StoreStats) -> "StoreStats":
        return cls(store.mode, store.sequences, store.prefix_entries, store.ram_bytes, store.ram_segments,
                   store.ram_budget_bytes, store.ram_evictions, store.ram_hits, store.ram_misses,
                   store.durable_segments, store.durable_segment_bytes, store.durable_file_bytes, store.map_size_bytes,
                   store.expired_purged, store.prefix_lookups, store.prefix_chunks_found, store.damaged_reads,
                   store.unverified_reads, store.damaged_records, store.unchecked_records)


@dataclass(frozen=True)
class TenantUsage:
    name: str
    bytes: int
    quota_bytes: int  # 0: no quota


@dataclass(frozen=True)
class Stats:
    """The daemon's counters: queue and workers now, replies per operation, batch sizes, store."""

    uptime_seconds: float
    queue_depth: int
    busy_workers: int
    workers: int
    operations: dict[str, OperationStats]
    undeliverable_replies: int
    batch_sizes: dict[int, int]  # batch size -> how many batches had it
    store: StoreStats
    held_request_bytes: int
    tenant: TenantUsage

    def count(self, operation: str, status: str = "OK") -> int:
        """Replies to `operation` with `status` (a name such as "OK" or "NOT_FOUND") so far."""
        entry = self.operations.get(operation)
        return entry.statuses.get(status, 0) if entry else 0

    @classmethod
    def from_proto(cls, stats: operations_pb2.StatsReply) -> "Stats":
        return cls(
            uptime_seconds=stats.uptime_seconds,
            queue_depth=stats.queue_depth,
            busy_workers=stats.busy_workers,
            workers=stats.workers,
            operations={entry.operation: OperationStats.from_proto(entry) for entry in stats.operations},
            undeliverable_replies=stats.undeliverable_replies,
            batch_sizes={entry.batch_size: entry.count for entry in stats.batch_sizes},
            store=StoreStats.from_proto(stats.store),
            held_request_bytes=stats.held_request_bytes,
            tenant=TenantUsage(stats.tenant.name, stats.tenant.bytes, stats.tenant.quota_bytes),
        )
