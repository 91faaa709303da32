"""The lomad client: every loma.v1 operation as a method taking and returning numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import zmq

from .connection import Connection
from .curve import CurveKeys
from .errors import MalformedReply
from .loma.v1 import envelope_pb2, operations_pb2, tensor_pb2
from .results import Memory, SequenceInfo, layout_name
from .tensors import OutgoingTensor, decode_tensor, dtype_code, layout_code, outgoing_kv

METHODS = {
    "loma": operations_pb2.COMPRESSION_METHOD_LOMA,
    "mean_pool": operations_pb2.COMPRESSION_METHOD_MEAN_POOL,
    "strided": operations_pb2.COMPRESSION_METHOD_STRIDED,
}

KVArrays = tuple[np.ndarray, np.ndarray]


class Client:
    """A client of one lomad daemon, over one DEALER socket.

    `timeout` (seconds) bounds each attempt; a request that is safe to repeat is sent again on a
    fresh socket up to `retries` times. Requests go one at a time and the client is not
    thread-safe (libzmq sockets are not): use one client per thread. `curve` holds the keys for a
    CURVE (authenticated tcp) endpoint.
    """

    def __init__(self, endpoint: str, timeout: float = 5.0, retries: int = 2, context: zmq.Context | None = None,
                 curve: CurveKeys | None = None):
        self._connection = Connection(endpoint, timeout, retries, context, curve)

    @classmethod
    def connect(cls, endpoint: str, timeout: float = 5.0, retries: int = 2, context: zmq.Context | None = None,
                curve: CurveKeys | None = None) -> "Client":
        """A client whose daemon has answered a health request, so a wrong endpoint or a daemon
        that is not running fails here (`LomadTimeout`) rather than at the first real request."""
        client = cls(endpoint, timeout, retries, context, curve)
        try:
            client.health()
        except BaseException:
            client.close()
            raise
        return client

    @property
    def endpoint(self) -> str:
        return self._connection.endpoint

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---- health, stats ---------------------------------------------------------------------

    def health(self) -> operations_pb2.HealthReply:
        reply, _ = self._call("health", operations_pb2.HealthRequest())
        return reply.health

    def model_info(self, model: str = "") -> operations_pb2.ModelInfo:
        """The served model called `model` (empty: the only one served)."""
        models = list(self.health().models)
        if not model and len(models) == 1:
            return models[0]
        for info in models:
            if info.name == model:
                return info
        served = ", ".join(info.name for info in models) or "none"
        raise LookupError(f"lomad at {self.endpoint} serves no model {model!r} (served: {served})")

    def stats(self) -> operations_pb2.StatsReply:
        reply, _ = self._call("stats", operations_pb2.StatsRequest())
        return reply.stats

    # ---- compress --------------------------------------------------------------------------

    def compress(
        self,
        keys: np.ndarray,
        values: np.ndarray,
        *,
        context: KVArrays | None = None,
        model: str = "",
        sequence: str = "",
        position: int | None = None,
        layout: str = "heads_major",
        output_dtype: str | None = None,
        output_layout: str | None = None,
        method: str = "loma",
        check_finite: bool = False,
        ttl_seconds: int = 0,
    ) -> Memory:
        """Memory-token KV of whole segments of `keys`/`values` (both in `layout`, keys rotated at
        their positions). With `sequence`, the sequence's stored memory is read as context (after
        `context`) and the new memory appended; such a request is never resent after a timeout,
        since a resend could append the same memory twice."""
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
        tensors = self._attach(request.segment, keys, values, code, "compress.segment", first_frame=1)
        if context is not None:
            # Context is heads-major or tokens-major like the segment: one layout per request.
            tensors += self._attach(request.context, *context, code, "compress.context", first_frame=3)
        reply, frames = self._call("compress", request, tensors, idempotent=not sequence)
        result = reply.compress
        return self._memory(result.memory, result.positions, result.segments, frames, "compress")

    # ---- sequences -------------------------------------------------------------------------

    def read_memory(
        self,
        sequence: str,
        first_segment: int = 0,
        segment_count: int = 0,
        output_dtype: str | None = None,
        output_layout: str | None = None,
    ) -> tuple[Memory | None, SequenceInfo]:
        """The memory of segments `[first_segment, first_segment + segment_count)` (count 0: to
        the end) of `sequence`, or None for an empty range, and the sequence's info."""
        request = operations_pb2.ReadMemoryRequest(
            sequence=sequence,
            first_segment=first_segment,
            segment_count=segment_count,
            output_dtype=dtype_code(output_dtype),
            output_layout=layout_code(output_layout),
        )
        reply, frames = self._call("read_memory", request)
        result = reply.read_memory
        memory = None
        if result.HasField("memory"):
            memory = self._memory(result.memory, result.positions, result.segments, frames, "read_memory")
        return memory, SequenceInfo.from_proto(result.sequence)

    def fork_sequence(self, source: str, destination: str) -> SequenceInfo:
        """A new sequence `destination` sharing `source`'s memory so far. Not resent after a
        timeout: a resend would fail because the first attempt created `destination`."""
        request = operations_pb2.ForkSequenceRequest(source=source, destination=destination)
        reply, _ = self._call("fork_sequence", request, idempotent=False)
        return SequenceInfo.from_proto(reply.fork_sequence.sequence)

    def delete_sequence(self, sequence: str) -> None:
        """Not resent after a timeout: a resend would report NOT_FOUND for a delete that worked."""
        self._call("delete_sequence", operations_pb2.DeleteSequenceRequest(sequence=sequence), idempotent=False)

    def list_sequences(self, name_prefix: str = "") -> list[SequenceInfo]:
        reply, _ = self._call("list_sequences", operations_pb2.ListSequencesRequest(name_prefix=name_prefix))
        return [SequenceInfo.from_proto(info) for info in reply.list_sequences.sequences]

    # ---- prefixes --------------------------------------------------------------------------

    def publish_prefix(
        self,
        chunk_hashes: Sequence[bytes],
        keys: np.ndarray,
        values: np.ndarray,
        positions: Sequence[int] | np.ndarray = (),
        *,
        model: str = "",
        layout: str = "heads_major",
    ) -> int:
        """Publishes one segment's memory per chunk (see `chunk_hashes()`), in order; returns how
        many chunks were new to the store. Publishing again stores nothing twice, so it is retried."""
        request = operations_pb2.PublishPrefixRequest(
            model=model, chunk_hashes=list(chunk_hashes), positions=[int(p) for p in positions]
        )
        tensors = self._attach(request.memory, keys, values, layout_code(layout), "publish_prefix.memory", first_frame=1)
        reply, _ = self._call("publish_prefix", request, tensors)
        return reply.publish_prefix.stored_chunks

    def lookup_prefix(
        self,
        chunk_hashes: Sequence[bytes],
        *,
        model: str = "",
        output_dtype: str | None = None,
        output_layout: str | None = None,
    ) -> tuple[int, Memory | None]:
        """How many leading chunks of `chunk_hashes` are stored, and their memory (None if none)."""
        request = operations_pb2.LookupPrefixRequest(
            model=model,
            chunk_hashes=list(chunk_hashes),
            output_dtype=dtype_code(output_dtype),
            output_layout=layout_code(output_layout),
        )
        reply, frames = self._call("lookup_prefix", request)
        result = reply.lookup_prefix
        if not result.HasField("memory"):
            return result.matched_chunks, None
        memory = self._memory(result.memory, result.positions, result.matched_chunks, frames, "lookup_prefix")
        return result.matched_chunks, memory

    # ---- plumbing --------------------------------------------------------------------------

    def _call(self, operation: str, message, tensors: list[OutgoingTensor] = (), idempotent: bool = True):
        request = envelope_pb2.Request()
        getattr(request, operation).CopyFrom(message)
        reply, frames = self._connection.request(request, list(tensors), idempotent)
        if reply.WhichOneof("result") != operation:
            raise MalformedReply(f"{operation} reply carries {reply.WhichOneof('result') or 'no result'}")
        return reply, frames

    @staticmethod
    def _attach(pair: tensor_pb2.KVPair, keys: np.ndarray, values: np.ndarray, layout: int, what: str, first_frame: int):
        outgoing = [outgoing_kv(keys, layout, f"{what}.keys"), outgoing_kv(values, layout, f"{what}.values")]
        outgoing[0].describe(pair.keys, first_frame)
        outgoing[1].describe(pair.values, first_frame + 1)
        return outgoing

    @staticmethod
    def _memory(pair: tensor_pb2.KVPair, positions, segments: int, frames, what: str) -> Memory:
        tensors = []
        for name, descriptor in (("keys", pair.keys), ("values", pair.values)):
            if not 1 <= descriptor.frame < len(frames):
                raise MalformedReply(f"{what}.memory.{name} names frame {descriptor.frame} of a {len(frames)}-frame reply")
            tensors.append(decode_tensor(frames[descriptor.frame].buffer, descriptor, f"{what}.memory.{name}"))
        return Memory(
            keys=tensors[0],
            values=tensors[1],
            positions=np.asarray(positions, dtype=np.int64),
            segments=int(segments),
            layout=layout_name(pair.keys.layout),
        )
