"""The lomad client: every loma.v1 operation as a method taking numpy arrays or torch tensors and
returning numpy arrays (`Memory.torch()` views them as torch tensors)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import zmq

from . import calls
from .calls import METHODS, KVArrays
from .connection import Connection
from .curve import CurveKeys
from .results import Health, Memory, ModelInfo, SequenceInfo, Stats
from .tensors import KVTensor

__all__ = ["Client", "METHODS", "DEFAULT_TIMEOUT", "DEFAULT_RETRIES"]

# The policy every lomad client and CLI shares (Examples/README.md, "Timeouts and errors").
DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2

T = TypeVar("T")


class Client:
    """A client of one lomad daemon, over one DEALER socket.

    `endpoint` is `ipc:///absolute/path` or `tcp://HOST:PORT`, checked here (`EndpointError`).
    `timeout` (seconds) bounds each attempt; a request that is safe to repeat is sent again on a
    fresh socket up to `retries` times. No daemon (no socket file, connection refused) raises
    `LomadUnavailable` at once instead. Requests go one at a time and the client is not
    thread-safe (libzmq sockets are not): use one client per thread, or share a `ClientPool`.
    `curve` holds the keys for a CURVE (authenticated tcp) endpoint.
    On an ipc endpoint, tensors pass through shared-memory segments the client owns when the
    daemon takes them (`shared_memory=False` keeps frames); tcp always uses frames.
    """

    def __init__(self, endpoint: str, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                 context: zmq.Context | None = None, curve: CurveKeys | None = None, shared_memory: bool = True):
        self._connection = Connection(endpoint, timeout, retries, context, curve, shared_memory)

    @classmethod
    def connect(cls, endpoint: str, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                context: zmq.Context | None = None, curve: CurveKeys | None = None) -> "Client":
        """A client whose daemon has answered a health request, so a wrong endpoint or a daemon
        that is not running fails here rather than at the first real request."""
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
        self._connection.release()

    @property
    def uses_shared_memory(self) -> bool:
        """Whether requests with tensors go through shared memory (known after the first one)."""
        return self._connection.shared_memory.is_on

    @property
    def shared_memory_segments(self) -> list[str]:
        """The /dev/shm objects this client holds now; `close` removes them."""
        return self._connection.shared_memory.segment_names

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        connection = self._connection
        curve = ", curve" if connection.curve is not None else ""
        return f"Client({self.endpoint!r}, timeout={connection.timeout:g}, retries={connection.retries}{curve})"

    # ---- health, stats ---------------------------------------------------------------------

    def health(self) -> Health:
        return self._run(calls.health())

    def model_info(self, model: str = "") -> ModelInfo:
        """The served model called `model` (empty: the only one served); LookupError otherwise."""
        return calls.select_model(self.health(), model, self.endpoint)

    def stats(self) -> Stats:
        return self._run(calls.stats())

    # ---- compress --------------------------------------------------------------------------

    def compress(
        self,
        keys: KVTensor,
        values: KVTensor,
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
        return self._run(calls.compress(
            keys, values, context=context, model=model, sequence=sequence, position=position, layout=layout,
            output_dtype=output_dtype, output_layout=output_layout, method=method, check_finite=check_finite,
            ttl_seconds=ttl_seconds,
        ))

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
        return self._run(calls.read_memory(sequence, first_segment, segment_count, output_dtype, output_layout))

    def fork_sequence(self, source: str, destination: str) -> SequenceInfo:
        """A new sequence `destination` sharing `source`'s memory so far. Not resent after a
        timeout: a resend would fail because the first attempt created `destination`."""
        return self._run(calls.fork_sequence(source, destination))

    def delete_sequence(self, sequence: str) -> None:
        """Not resent after a timeout: a resend would report NOT_FOUND for a delete that worked."""
        self._run(calls.delete_sequence(sequence))

    def list_sequences(self, name_prefix: str = "") -> list[SequenceInfo]:
        return self._run(calls.list_sequences(name_prefix))

    # ---- prefixes --------------------------------------------------------------------------

    def publish_prefix(
        self,
        chunk_hashes: Sequence[bytes],
        keys: KVTensor,
        values: KVTensor,
        positions: Sequence[int] | np.ndarray = (),
        *,
        model: str = "",
        layout: str = "heads_major",
    ) -> int:
        """Publishes one segment's memory per chunk (see `chunk_hashes()`), in order; returns how
        many chunks were new to the store. Publishing again stores nothing twice, so it is retried."""
        return self._run(calls.publish_prefix(chunk_hashes, keys, values, positions, model, layout))

    def lookup_prefix(
        self,
        chunk_hashes: Sequence[bytes],
        *,
        model: str = "",
        output_dtype: str | None = None,
        output_layout: str | None = None,
    ) -> tuple[int, Memory | None]:
        """How many leading chunks of `chunk_hashes` are stored, and their memory (None if none)."""
        return self._run(calls.lookup_prefix(chunk_hashes, model, output_dtype, output_layout))

    # ---- plumbing --------------------------------------------------------------------------

    def _run(self, call: calls.Call[T]) -> T:
        reply, frames = self._connection.request(call.envelope(), list(call.tensors), call.idempotent)
        return call.finish(reply, frames)
