from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
DTYPE_BF16: DType
DTYPE_F16: DType
DTYPE_F32: DType
DTYPE_I64: DType
DTYPE_UNSPECIFIED: DType
KV_LAYOUT_HEADS_MAJOR: KVLayout
KV_LAYOUT_TOKENS_MAJOR: KVLayout
KV_LAYOUT_UNSPECIFIED: KVLayout

class KVPair(_message.Message):
    __slots__ = ["keys", "values"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    keys: TensorDescriptor
    values: TensorDescriptor
    def __init__(self, keys: _Optional[_Union[TensorDescriptor, _Mapping]] = ..., values: _Optional[_Union[TensorDescriptor, _Mapping]] = ...) -> None: ...

class SharedMemoryReply(_message.Message):
    __slots__ = ["frames", "reply_bytes_needed"]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    REPLY_BYTES_NEEDED_FIELD_NUMBER: _ClassVar[int]
    frames: _containers.RepeatedCompositeFieldContainer[SharedMemorySpan]
    reply_bytes_needed: int
    def __init__(self, frames: _Optional[_Iterable[_Union[SharedMemorySpan, _Mapping]]] = ..., reply_bytes_needed: _Optional[int] = ...) -> None: ...

class SharedMemoryRequest(_message.Message):
    __slots__ = ["input_frames", "input_segment", "reply_capacity", "reply_segment"]
    INPUT_FRAMES_FIELD_NUMBER: _ClassVar[int]
    INPUT_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    REPLY_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    REPLY_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    input_frames: _containers.RepeatedCompositeFieldContainer[SharedMemorySpan]
    input_segment: str
    reply_capacity: int
    reply_segment: str
    def __init__(self, input_segment: _Optional[str] = ..., input_frames: _Optional[_Iterable[_Union[SharedMemorySpan, _Mapping]]] = ..., reply_segment: _Optional[str] = ..., reply_capacity: _Optional[int] = ...) -> None: ...

class SharedMemorySpan(_message.Message):
    __slots__ = ["length", "offset"]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    length: int
    offset: int
    def __init__(self, offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

class TensorDescriptor(_message.Message):
    __slots__ = ["dtype", "frame", "layout", "shape"]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    dtype: DType
    frame: int
    layout: KVLayout
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, dtype: _Optional[_Union[DType, str]] = ..., shape: _Optional[_Iterable[int]] = ..., layout: _Optional[_Union[KVLayout, str]] = ..., frame: _Optional[int] = ...) -> None: ...

class DType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class KVLayout(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
