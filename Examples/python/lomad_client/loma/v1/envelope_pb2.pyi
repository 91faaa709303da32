from lomad_client.loma.v1 import operations_pb2 as _operations_pb2
from lomad_client.loma.v1 import status_pb2 as _status_pb2
from lomad_client.loma.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Reply(_message.Message):
    __slots__ = ["compress", "delete_sequence", "fork_sequence", "health", "list_sequences", "lookup_prefix", "publish_prefix", "read_memory", "request_id", "shared_memory", "stats", "status"]
    COMPRESS_FIELD_NUMBER: _ClassVar[int]
    DELETE_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FORK_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    LIST_SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    LOOKUP_PREFIX_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_PREFIX_FIELD_NUMBER: _ClassVar[int]
    READ_MEMORY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SHARED_MEMORY_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    compress: _operations_pb2.CompressReply
    delete_sequence: _operations_pb2.DeleteSequenceReply
    fork_sequence: _operations_pb2.ForkSequenceReply
    health: _operations_pb2.HealthReply
    list_sequences: _operations_pb2.ListSequencesReply
    lookup_prefix: _operations_pb2.LookupPrefixReply
    publish_prefix: _operations_pb2.PublishPrefixReply
    read_memory: _operations_pb2.ReadMemoryReply
    request_id: int
    shared_memory: _tensor_pb2.SharedMemoryReply
    stats: _operations_pb2.StatsReply
    status: _status_pb2.Status
    def __init__(self, request_id: _Optional[int] = ..., status: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., health: _Optional[_Union[_operations_pb2.HealthReply, _Mapping]] = ..., stats: _Optional[_Union[_operations_pb2.StatsReply, _Mapping]] = ..., compress: _Optional[_Union[_operations_pb2.CompressReply, _Mapping]] = ..., read_memory: _Optional[_Union[_operations_pb2.ReadMemoryReply, _Mapping]] = ..., fork_sequence: _Optional[_Union[_operations_pb2.ForkSequenceReply, _Mapping]] = ..., delete_sequence: _Optional[_Union[_operations_pb2.DeleteSequenceReply, _Mapping]] = ..., list_sequences: _Optional[_Union[_operations_pb2.ListSequencesReply, _Mapping]] = ..., publish_prefix: _Optional[_Union[_operations_pb2.PublishPrefixReply, _Mapping]] = ..., lookup_prefix: _Optional[_Union[_operations_pb2.LookupPrefixReply, _Mapping]] = ..., shared_memory: _Optional[_Union[_tensor_pb2.SharedMemoryReply, _Mapping]] = ...) -> None: ...

class Request(_message.Message):
    __slots__ = ["compress", "delete_sequence", "fork_sequence", "health", "list_sequences", "lookup_prefix", "publish_prefix", "read_memory", "request_id", "shared_memory", "stats"]
    COMPRESS_FIELD_NUMBER: _ClassVar[int]
    DELETE_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FORK_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    LIST_SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    LOOKUP_PREFIX_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_PREFIX_FIELD_NUMBER: _ClassVar[int]
    READ_MEMORY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SHARED_MEMORY_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    compress: _operations_pb2.CompressRequest
    delete_sequence: _operations_pb2.DeleteSequenceRequest
    fork_sequence: _operations_pb2.ForkSequenceRequest
    health: _operations_pb2.HealthRequest
    list_sequences: _operations_pb2.ListSequencesRequest
    lookup_prefix: _operations_pb2.LookupPrefixRequest
    publish_prefix: _operations_pb2.PublishPrefixRequest
    read_memory: _operations_pb2.ReadMemoryRequest
    request_id: int
    shared_memory: _tensor_pb2.SharedMemoryRequest
    stats: _operations_pb2.StatsRequest
    def __init__(self, request_id: _Optional[int] = ..., health: _Optional[_Union[_operations_pb2.HealthRequest, _Mapping]] = ..., stats: _Optional[_Union[_operations_pb2.StatsRequest, _Mapping]] = ..., compress: _Optional[_Union[_operations_pb2.CompressRequest, _Mapping]] = ..., read_memory: _Optional[_Union[_operations_pb2.ReadMemoryRequest, _Mapping]] = ..., fork_sequence: _Optional[_Union[_operations_pb2.ForkSequenceRequest, _Mapping]] = ..., delete_sequence: _Optional[_Union[_operations_pb2.DeleteSequenceRequest, _Mapping]] = ..., list_sequences: _Optional[_Union[_operations_pb2.ListSequencesRequest, _Mapping]] = ..., publish_prefix: _Optional[_Union[_operations_pb2.PublishPrefixRequest, _Mapping]] = ..., lookup_prefix: _Optional[_Union[_operations_pb2.LookupPrefixRequest, _Mapping]] = ..., shared_memory: _Optional[_Union[_tensor_pb2.SharedMemoryRequest, _Mapping]] = ...) -> None: ...
