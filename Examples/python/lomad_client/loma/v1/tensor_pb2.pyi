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
