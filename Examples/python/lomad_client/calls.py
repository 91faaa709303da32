"""Every loma.v1 operation as a `Call`: the request to send and how to read its reply.

The blocking `Client` and the asyncio `AsyncClient` differ only in how they wait for a reply, so
both build their requests and read their replies here and each operation is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import zmq

from .errors import MalformedReply
from .loma.v1 import envelope_pb2, operations_pb2, tensor_pb2
from .results import Health, Memory, ModelInfo, SequenceInfo, Stats, layout_name
from .tensors import KVTensor, OutgoingTensor, decode_tensor, dtype_code, dtype_name, layout_code, outgoing_kv

METHODS = {
    "loma": operations_pb2.COMPRESSION_METHOD_LOMA,
    "mean_pool": operations_pb2.COMPRESSION_METHOD_MEAN_POOL,
    "strided": operations_pb2.COMPRESSION_METHOD_STRIDED,
}

KVArrays = tuple[KVTensor, KVTensor]
T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request: `message` goes in the envelope's `operation` field, `tensors` in frames
    1..n; `read` turns the reply's result (and frames) into what the client method returns.
    `idempotent` says whether a resend after a timeout is safe."""

    operation: str
    message: Any
    read: Callable[[Any, list[zmq.Frame]], T]
    tensors: tuple[OutgoingTensor, ...] = ()
    idempotent: bool = True

    def envelope(self) -> envelope_pb2.Request:
        request = envelope_pb2.Request()
        getattr(request, self.operation).CopyFrom(self.message)
        return request

    def finish(self, reply: envelope_pb2.Reply, frames: list[zmq.Frame]) -> T:
        carried = reply.WhichOneof("result")
        if carried != self.operation:
            raise MalformedReply(f"{self.operation} reply carries {carried or 'no result'}")
        return self.read(getattr(reply, self.operation), frames)


def health() -> Call[Health]:
    return Call("health", operations_pb2.HealthRequest(), lambda result, _: Health.from_proto(result))


def select_model(served: Health, model: str, endpoint: str) -> ModelInfo:
    """The served model called `model` (empty: the only one served)."""
    if not model and len(served.models) == 1:
        return served.models[0]
    for info in served.models:
        if info.name == model:
            return info
    names = ", ".join(info.name for info in served.models) or "none"
    wanted = repr(model) if model else "by default (it serves several; name one)"
    raise LookupError(f"lomad at {endpoint} serves no model {wanted} (served: {names})")


def stats() -> Call[Stats]:
    return Call("stats", operations_pb2.StatsRequest(), lambda result, _: Stats.from_proto(result))


def compress(
    keys: KVTensor,
    values: KVTensor,
    *,
    context: KVArrays | None,
    model: str,
    sequence: str,
    position: int | None,
    layout: str,
    output_dtype: str | None,
    output_layout: str | None,
    method: str,
    check_finite: bool,
    ttl_seconds: int,
) -> Call[Memory]:
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")
    request = operations_pb2.CompressRequest(
        model=model,
        sequence=sequence,
        output_dtype=dtype_code(output_dtype),
        output_layout=layout_code(output_layout),
        method=METHODS[method],
        check_finite=check_finite,
        ttl_seconds=ttl_seconds,
    )
    if position is not None:
        request.position = position
    code = layout_code(layout)
    tensors = attach(request.segment, keys, values, code, "compress.segment", first_frame=1)
    if context is not None:
        # Context is heads-major or tokens-major like the segment: one layout per request.
        tensors += attach(request.context, *context, code, "compress.context", first_frame=3)

    def read(result, frames):
        return memory(result.memory, result.positions, result.segments, frames, "compress")

    # Appending to a sequence is never resent: a resend could append the same memory twice.
    return Call("compress", request, read, tuple(tensors), idempotent=not sequence)


def read_memory(sequence: str, first_segment: int, segment_count: int, output_dtype: str | None,
                output_layout: str | None) -> Call[tuple[Memory | None, SequenceInfo]]:
    request = operations_pb2.ReadMemoryRequest(
        sequence=sequence,
        first_segment=first_segment,
        segment_count=segment_count,
        output_dtype=dtype_code(output_dtype),
        output_layout=layout_code(output_layout),
    )

    def read(result, frames):
        found = None
        if result.HasField("memory"):
            found = memory(result.memory, result.positions, result.segments, frames, "read_memory")
        return found, SequenceInfo.from_proto(result.sequence)

    return Call("read_memory", request, read)


def fork_sequence(source: str, destination: str) -> Call[SequenceInfo]:
    # Not resent: a resend would fail because the first attempt created `destination`.
    request = operations_pb2.ForkSequenceRequest(source=source, destination=destination)
    return Call("fork_sequence", request, lambda result, _: SequenceInfo.from_proto(result.sequence), idempotent=False)


def delete_sequence(sequence: str) -> Call[None]:
    # Not resent: a resend would report NOT_FOUND for a delete that worked.
    request = operations_pb2.DeleteSequenceRequest(sequence=sequence)
    return Call("delete_sequence", request, lambda result, _: None, idempotent=False)


def list_sequences(name_prefix: str) -> Call[list[SequenceInfo]]:
    request = operations_pb2.ListSequencesRequest(name_prefix=name_prefix)
    return Call("list_sequences", request, lambda result, _: [SequenceInfo.from_proto(i) for i in result.sequences])


def publish_prefix(chunk_hashes: Sequence[bytes], keys: KVTensor, values: KVTensor,
                   positions: Sequence[int] | np.ndarray, model: str, layout: str) -> Call[int]:
    request = operations_pb2.PublishPrefixRequest(
        model=model, chunk_hashes=list(chunk_hashes), positions=[int(p) for p in positions]
    )
    tensors = attach(request.memory, keys, values, layout_code(layout), "publish_prefix.memory", first_frame=1)
    # Publishing again stores nothing twice, so it is resent like a read.
    return Call("publish_prefix", request, lambda result, _: int(result.stored_chunks), tuple(tensors))


def lookup_prefix(chunk_hashes: Sequence[bytes], model: str, output_dtype: str | None,
                  output_layout: str | None) -> Call[tuple[int, Memory | None]]:
    request = operations_pb2.LookupPrefixRequest(
        model=model,
        chunk_hashes=list(chunk_hashes),
        output_dtype=dtype_code(output_dtype),
        output_layout=layout_code(output_layout),
    )

    def read(result, frames):
        if not result.HasField("memory"):
            return int(result.matched_chunks), None
        found = memory(result.memory, result.positions, result.matched_chunks, frames, "lookup_prefix")
        return int(result.matched_chunks), found

    return Call("lookup_prefix", request, read)


def attach(pair: tensor_pb2.KVPair, keys: KVTensor, values: KVTensor, layout: tensor_pb2.KVLayout, what: str,
           first_frame: int) -> list[OutgoingTensor]:
    outgoing = [outgoing_kv(keys, layout, f"{what}.keys"), outgoing_kv(values, layout, f"{what}.values")]
    outgoing[0].describe(pair.keys, first_frame)
    outgoing[1].describe(pair.values, first_frame + 1)
    return outgoing


def memory(pair: tensor_pb2.KVPair, positions, segments: int, frames: list[zmq.Frame], what: str) -> Memory:
    tensors = []
    for name, descriptor in (("keys", pair.keys), ("values", pair.values)):
        if not 1 <= descriptor.frame < len(frames):
            raise MalformedReply(f"{what}.memory.{name} names frame {descriptor.frame} of a {len(frames)}-frame reply")
        tensors.append(decode_tensor(frames[descriptor.frame].buffer, descriptor, f"{what}.memory.{name}"))
    held_positions = np.array(positions, dtype=np.int64)
    held_positions.flags.writeable = False
    return Memory(keys=tensors[0], values=tensors[1], positions=held_positions, segments=int(segments),
                  layout=layout_name(pair.keys.layout), wire_dtype=dtype_name(pair.keys.dtype))
