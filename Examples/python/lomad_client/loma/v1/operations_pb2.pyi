from lomad_client.loma.v1 import status_pb2 as _status_pb2
from lomad_client.loma.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

COMPRESSION_METHOD_LOMA: CompressionMethod
COMPRESSION_METHOD_MEAN_POOL: CompressionMethod
COMPRESSION_METHOD_STRIDED: CompressionMethod
DESCRIPTOR: _descriptor.FileDescriptor

class BatchSizeCount(_message.Message):
    __slots__ = ["batch_size", "count"]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    count: int
    def __init__(self, batch_size: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class CompressReply(_message.Message):
    __slots__ = ["memory", "positions", "segments"]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    memory: _tensor_pb2.KVPair
    positions: _containers.RepeatedScalarFieldContainer[int]
    segments: int
    def __init__(self, memory: _Optional[_Union[_tensor_pb2.KVPair, _Mapping]] = ..., positions: _Optional[_Iterable[int]] = ..., segments: _Optional[int] = ...) -> None: ...

class CompressRequest(_message.Message):
    __slots__ = ["check_finite", "context", "method", "model", "output_dtype", "output_layout", "position", "segment", "sequence", "ttl_seconds"]
    CHECK_FINITE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DTYPE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_LAYOUT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    check_finite: bool
    context: _tensor_pb2.KVPair
    method: CompressionMethod
    model: str
    output_dtype: _tensor_pb2.DType
    output_layout: _tensor_pb2.KVLayout
    position: int
    segment: _tensor_pb2.KVPair
    sequence: str
    ttl_seconds: int
    def __init__(self, model: _Optional[str] = ..., segment: _Optional[_Union[_tensor_pb2.KVPair, _Mapping]] = ..., context: _Optional[_Union[_tensor_pb2.KVPair, _Mapping]] = ..., sequence: _Optional[str] = ..., position: _Optional[int] = ..., output_dtype: _Optional[_Union[_tensor_pb2.DType, str]] = ..., output_layout: _Optional[_Union[_tensor_pb2.KVLayout, str]] = ..., method: _Optional[_Union[CompressionMethod, str]] = ..., check_finite: bool = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class DeleteSequenceReply(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class DeleteSequenceRequest(_message.Message):
    __slots__ = ["sequence"]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: str
    def __init__(self, sequence: _Optional[str] = ...) -> None: ...

class ForkSequenceReply(_message.Message):
    __slots__ = ["sequence"]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: SequenceInfo
    def __init__(self, sequence: _Optional[_Union[SequenceInfo, _Mapping]] = ...) -> None: ...

class ForkSequenceRequest(_message.Message):
    __slots__ = ["destination", "source"]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    destination: str
    source: str
    def __init__(self, source: _Optional[str] = ..., destination: _Optional[str] = ...) -> None: ...

class HealthReply(_message.Message):
    __slots__ = ["limits", "models", "protocol_version", "tenant", "uptime_seconds", "version"]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    limits: Limits
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    protocol_version: int
    tenant: str
    uptime_seconds: float
    version: str
    def __init__(self, version: _Optional[str] = ..., protocol_version: _Optional[int] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., uptime_seconds: _Optional[float] = ..., tenant: _Optional[str] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class Limits(_message.Message):
    __slots__ = ["hard_max_message_bytes", "max_compute_seconds", "max_connections", "max_connections_per_peer", "max_frame_bytes", "max_frames", "max_queued_bytes", "max_reply_bytes", "max_segments_per_request", "queue_depth", "shared_memory_max_bytes", "tenant_queue_percent", "workers"]
    HARD_MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_COMPUTE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTIONS_PER_PEER_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAMES_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUED_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_REPLY_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_SEGMENTS_PER_REQUEST_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    SHARED_MEMORY_MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    TENANT_QUEUE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    hard_max_message_bytes: int
    max_compute_seconds: float
    max_connections: int
    max_connections_per_peer: int
    max_frame_bytes: int
    max_frames: int
    max_queued_bytes: int
    max_reply_bytes: int
    max_segments_per_request: int
    queue_depth: int
    shared_memory_max_bytes: int
    tenant_queue_percent: int
    workers: int
    def __init__(self, max_frame_bytes: _Optional[int] = ..., hard_max_message_bytes: _Optional[int] = ..., max_frames: _Optional[int] = ..., queue_depth: _Optional[int] = ..., workers: _Optional[int] = ..., max_queued_bytes: _Optional[int] = ..., max_connections: _Optional[int] = ..., max_connections_per_peer: _Optional[int] = ..., max_reply_bytes: _Optional[int] = ..., max_segments_per_request: _Optional[int] = ..., max_compute_seconds: _Optional[float] = ..., tenant_queue_percent: _Optional[int] = ..., shared_memory_max_bytes: _Optional[int] = ...) -> None: ...

class ListSequencesReply(_message.Message):
    __slots__ = ["sequences"]
    SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    sequences: _containers.RepeatedCompositeFieldContainer[SequenceInfo]
    def __init__(self, sequences: _Optional[_Iterable[_Union[SequenceInfo, _Mapping]]] = ...) -> None: ...

class ListSequencesRequest(_message.Message):
    __slots__ = ["name_prefix"]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    name_prefix: str
    def __init__(self, name_prefix: _Optional[str] = ...) -> None: ...

class LookupPrefixReply(_message.Message):
    __slots__ = ["matched_chunks", "memory", "positions"]
    MATCHED_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    matched_chunks: int
    memory: _tensor_pb2.KVPair
    positions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, matched_chunks: _Optional[int] = ..., memory: _Optional[_Union[_tensor_pb2.KVPair, _Mapping]] = ..., positions: _Optional[_Iterable[int]] = ...) -> None: ...

class LookupPrefixRequest(_message.Message):
    __slots__ = ["chunk_hashes", "model", "output_dtype", "output_layout"]
    CHUNK_HASHES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DTYPE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_LAYOUT_FIELD_NUMBER: _ClassVar[int]
    chunk_hashes: _containers.RepeatedScalarFieldContainer[bytes]
    model: str
    output_dtype: _tensor_pb2.DType
    output_layout: _tensor_pb2.KVLayout
    def __init__(self, model: _Optional[str] = ..., chunk_hashes: _Optional[_Iterable[bytes]] = ..., output_dtype: _Optional[_Union[_tensor_pb2.DType, str]] = ..., output_layout: _Optional[_Union[_tensor_pb2.KVLayout, str]] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ["architecture", "attention_heads", "compression_ratio", "head_dim", "hidden_size", "kv_heads", "layers", "load_seconds", "memory_tokens_per_segment", "name", "segment_length"]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    ATTENTION_HEADS_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_RATIO_FIELD_NUMBER: _ClassVar[int]
    HEAD_DIM_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_SIZE_FIELD_NUMBER: _ClassVar[int]
    KV_HEADS_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    LOAD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_TOKENS_PER_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    architecture: str
    attention_heads: int
    compression_ratio: int
    head_dim: int
    hidden_size: int
    kv_heads: int
    layers: int
    load_seconds: float
    memory_tokens_per_segment: int
    name: str
    segment_length: int
    def __init__(self, name: _Optional[str] = ..., architecture: _Optional[str] = ..., layers: _Optional[int] = ..., kv_heads: _Optional[int] = ..., head_dim: _Optional[int] = ..., segment_length: _Optional[int] = ..., compression_ratio: _Optional[int] = ..., memory_tokens_per_segment: _Optional[int] = ..., hidden_size: _Optional[int] = ..., attention_heads: _Optional[int] = ..., load_seconds: _Optional[float] = ...) -> None: ...

class OperationStats(_message.Message):
    __slots__ = ["latency_counts", "latency_sum_seconds", "latency_upper_seconds", "operation", "statuses"]
    LATENCY_COUNTS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_SUM_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_UPPER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    latency_counts: _containers.RepeatedScalarFieldContainer[int]
    latency_sum_seconds: float
    latency_upper_seconds: _containers.RepeatedScalarFieldContainer[float]
    operation: str
    statuses: _containers.RepeatedCompositeFieldContainer[StatusCount]
    def __init__(self, operation: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[StatusCount, _Mapping]]] = ..., latency_upper_seconds: _Optional[_Iterable[float]] = ..., latency_counts: _Optional[_Iterable[int]] = ..., latency_sum_seconds: _Optional[float] = ...) -> None: ...

class PublishPrefixReply(_message.Message):
    __slots__ = ["stored_chunks"]
    STORED_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    stored_chunks: int
    def __init__(self, stored_chunks: _Optional[int] = ...) -> None: ...

class PublishPrefixRequest(_message.Message):
    __slots__ = ["chunk_hashes", "memory", "model", "positions"]
    CHUNK_HASHES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    chunk_hashes: _containers.RepeatedScalarFieldContainer[bytes]
    memory: _tensor_pb2.KVPair
    model: str
    positions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, model: _Optional[str] = ..., chunk_hashes: _Optional[_Iterable[bytes]] = ..., memory: _Optional[_Union[_tensor_pb2.KVPair, _Mapping]] = ..., positions: _Optional[_Iterable[int]] = ...) -> None: ...

class ReadMemoryReply(_message.Message):
    __slots__ = ["memory", "positions", "segments", "sequence"]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    memory: _tensor_pb2.KVPair
    positions: _containers.RepeatedScalarFieldContainer[int]
    segments: int
    sequence: SequenceInfo
    def __init__(self, memory: _Optional[_Union[_tensor_pb2.KVPair, _Mapping]] = ..., positions: _Optional[_Iterable[int]] = ..., segments: _Optional[int] = ..., sequence: _Optional[_Union[SequenceInfo, _Mapping]] = ...) -> None: ...

class ReadMemoryRequest(_message.Message):
    __slots__ = ["first_segment", "output_dtype", "output_layout", "segment_count", "sequence"]
    FIRST_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DTYPE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_LAYOUT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    first_segment: int
    output_dtype: _tensor_pb2.DType
    output_layout: _tensor_pb2.KVLayout
    segment_count: int
    sequence: str
    def __init__(self, sequence: _Optional[str] = ..., first_segment: _Optional[int] = ..., segment_count: _Optional[int] = ..., output_dtype: _Optional[_Union[_tensor_pb2.DType, str]] = ..., output_layout: _Optional[_Union[_tensor_pb2.KVLayout, str]] = ...) -> None: ...

class SequenceInfo(_message.Message):
    __slots__ = ["bytes", "memory_tokens", "model", "name", "next_position", "segments"]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEXT_POSITION_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    memory_tokens: int
    model: str
    name: str
    next_position: int
    segments: int
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., segments: _Optional[int] = ..., memory_tokens: _Optional[int] = ..., next_position: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class StatsReply(_message.Message):
    __slots__ = ["batch_sizes", "busy_workers", "connections", "held_reply_bytes", "held_request_bytes", "operations", "queue_depth", "refused_connections", "refused_replies", "store", "tenant", "undeliverable_replies", "uptime_seconds", "workers"]
    BATCH_SIZES_FIELD_NUMBER: _ClassVar[int]
    BUSY_WORKERS_FIELD_NUMBER: _ClassVar[int]
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    HELD_REPLY_BYTES_FIELD_NUMBER: _ClassVar[int]
    HELD_REQUEST_BYTES_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    REFUSED_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_REPLIES_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UNDELIVERABLE_REPLIES_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    batch_sizes: _containers.RepeatedCompositeFieldContainer[BatchSizeCount]
    busy_workers: int
    connections: int
    held_reply_bytes: int
    held_request_bytes: int
    operations: _containers.RepeatedCompositeFieldContainer[OperationStats]
    queue_depth: int
    refused_connections: int
    refused_replies: int
    store: StoreStats
    tenant: TenantUsage
    undeliverable_replies: int
    uptime_seconds: float
    workers: int
    def __init__(self, uptime_seconds: _Optional[float] = ..., queue_depth: _Optional[int] = ..., busy_workers: _Optional[int] = ..., workers: _Optional[int] = ..., operations: _Optional[_Iterable[_Union[OperationStats, _Mapping]]] = ..., undeliverable_replies: _Optional[int] = ..., batch_sizes: _Optional[_Iterable[_Union[BatchSizeCount, _Mapping]]] = ..., store: _Optional[_Union[StoreStats, _Mapping]] = ..., held_request_bytes: _Optional[int] = ..., tenant: _Optional[_Union[TenantUsage, _Mapping]] = ..., connections: _Optional[int] = ..., refused_connections: _Optional[int] = ..., held_reply_bytes: _Optional[int] = ..., refused_replies: _Optional[int] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class StatusCount(_message.Message):
    __slots__ = ["code", "count"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    code: _status_pb2.StatusCode
    count: int
    def __init__(self, code: _Optional[_Union[_status_pb2.StatusCode, str]] = ..., count: _Optional[int] = ...) -> None: ...

class StoreStats(_message.Message):
    __slots__ = ["damaged_reads", "damaged_records", "durable_file_bytes", "durable_segment_bytes", "durable_segments", "expired_purged", "map_size_bytes", "mode", "prefix_chunks_found", "prefix_entries", "prefix_lookups", "ram_budget_bytes", "ram_bytes", "ram_evictions", "ram_hits", "ram_misses", "ram_segments", "sequences", "shared_conflicts", "shared_local_fallbacks", "shared_read_throughs", "shared_tier", "shared_tier_up", "shared_unavailable_writes", "unchecked_records", "unverified_reads"]
    DAMAGED_READS_FIELD_NUMBER: _ClassVar[int]
    DAMAGED_RECORDS_FIELD_NUMBER: _ClassVar[int]
    DURABLE_FILE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DURABLE_SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    DURABLE_SEGMENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_PURGED_FIELD_NUMBER: _ClassVar[int]
    MAP_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PREFIX_CHUNKS_FOUND_FIELD_NUMBER: _ClassVar[int]
    PREFIX_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PREFIX_LOOKUPS_FIELD_NUMBER: _ClassVar[int]
    RAM_BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    RAM_BYTES_FIELD_NUMBER: _ClassVar[int]
    RAM_EVICTIONS_FIELD_NUMBER: _ClassVar[int]
    RAM_HITS_FIELD_NUMBER: _ClassVar[int]
    RAM_MISSES_FIELD_NUMBER: _ClassVar[int]
    RAM_SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    SHARED_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    SHARED_LOCAL_FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    SHARED_READ_THROUGHS_FIELD_NUMBER: _ClassVar[int]
    SHARED_TIER_FIELD_NUMBER: _ClassVar[int]
    SHARED_TIER_UP_FIELD_NUMBER: _ClassVar[int]
    SHARED_UNAVAILABLE_WRITES_FIELD_NUMBER: _ClassVar[int]
    UNCHECKED_RECORDS_FIELD_NUMBER: _ClassVar[int]
    UNVERIFIED_READS_FIELD_NUMBER: _ClassVar[int]
    damaged_reads: int
    damaged_records: int
    durable_file_bytes: int
    durable_segment_bytes: int
    durable_segments: int
    expired_purged: int
    map_size_bytes: int
    mode: str
    prefix_chunks_found: int
    prefix_entries: int
    prefix_lookups: int
    ram_budget_bytes: int
    ram_bytes: int
    ram_evictions: int
    ram_hits: int
    ram_misses: int
    ram_segments: int
    sequences: int
    shared_conflicts: int
    shared_local_fallbacks: int
    shared_read_throughs: int
    shared_tier: str
    shared_tier_up: bool
    shared_unavailable_writes: int
    unchecked_records: int
    unverified_reads: int
    def __init__(self, mode: _Optional[str] = ..., sequences: _Optional[int] = ..., prefix_entries: _Optional[int] = ..., ram_bytes: _Optional[int] = ..., ram_segments: _Optional[int] = ..., ram_budget_bytes: _Optional[int] = ..., ram_evictions: _Optional[int] = ..., ram_hits: _Optional[int] = ..., ram_misses: _Optional[int] = ..., durable_segments: _Optional[int] = ..., durable_segment_bytes: _Optional[int] = ..., durable_file_bytes: _Optional[int] = ..., map_size_bytes: _Optional[int] = ..., expired_purged: _Optional[int] = ..., prefix_lookups: _Optional[int] = ..., prefix_chunks_found: _Optional[int] = ..., damaged_reads: _Optional[int] = ..., unverified_reads: _Optional[int] = ..., damaged_records: _Optional[int] = ..., unchecked_records: _Optional[int] = ..., shared_tier: _Optional[str] = ..., shared_tier_up: bool = ..., shared_read_throughs: _Optional[int] = ..., shared_local_fallbacks: _Optional[int] = ..., shared_conflicts: _Optional[int] = ..., shared_unavailable_writes: _Optional[int] = ...) -> None: ...

class TenantUsage(_message.Message):
    __slots__ = ["bytes", "name", "quota_bytes"]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUOTA_BYTES_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    name: str
    quota_bytes: int
    def __init__(self, name: _Optional[str] = ..., bytes: _Optional[int] = ..., quota_bytes: _Optional[int] = ...) -> None: ...

class CompressionMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
