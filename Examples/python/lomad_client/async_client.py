"""`AsyncClient`: the `Client` API as coroutines, on `zmq.asyncio`.

    async with AsyncClient("ipc:///run/lomad.sock") as client:
        info = await client.model_info()
        memory = await client.compress(keys, values, sequence="chat-1")

Same arguments, results, errors, timeouts and retries as `Client` (each method's documentation
is there); requests of one client take turns, so tasks may share it within one event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import zmq

from . import calls
from .async_connection import AsyncConnection
from .calls import KVArrays
from .client import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from .curve import CurveKeys
from .results import Health, Memory, ModelInfo, SequenceInfo, Stats
from .tensors import KVTensor

T = TypeVar("T")


class AsyncClient:
    """A client of one lomad daemon for asyncio programs; see `Client`."""

    def __init__(self, endpoint: str, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                 context: zmq.Context | None = None, curve: CurveKeys | None = None):
        self._connection = AsyncConnection(endpoint, timeout, retries, context, curve)

    @classmethod
    async def connect(cls, endpoint: str, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                      context: zmq.Context | None = None, curve: CurveKeys | None = None) -> "AsyncClient":
        """A client whose daemon has answered a health request (see `Client.connect`)."""
        client = cls(endpoint, timeout, retries, context, curve)
        try:
            await client.health()
        except BaseException:
            client.close()
            raise
        return client

    @property
    def endpoint(self) -> str:
        return self._connection.endpoint

    def close(self) -> None:
        self._connection.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        connection = self._connection
        curve = ", curve" if connection.curve is not None else ""
        return f"AsyncClient({self.endpoint!r}, timeout={connection.timeout:g}, retries={connection.retries}{curve})"

    async def health(self) -> Health:
        return await self._run(calls.health())

    async def model_info(self, model: str = "") -> ModelInfo:
        return calls.select_model(await self.health(), model, self.endpoint)

    async def stats(self) -> Stats:
        return await self._run(calls.stats())

    async def compress(
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
        return await self._run(calls.compress(
            keys, values, context=context, model=model, sequence=sequence, position=position, layout=layout,
            output_dtype=output_dtype, output_layout=output_layout, method=method, check_finite=check_finite,
            ttl_seconds=ttl_seconds,
        ))

    async def read_memory(
        self,
        sequence: str,
        first_segment: int = 0,
        segment_count: int = 0,
        output_dtype: str | None = None,
        output_layout: str | None = None,
    ) -> tuple[Memory | None, SequenceInfo]:
        return await self._run(calls.read_memory(sequence, first_segment, segment_count, output_dtype, output_layout))

    async def fork_sequence(self, source: str, destination: str) -> SequenceInfo:
        return await self._run(calls.fork_sequence(source, destination))

    async def delete_sequence(self, sequence: str) -> None:
        await self._run(calls.delete_sequence(sequence))

    async def list_sequences(self, name_prefix: str = "") -> list[SequenceInfo]:
        return await self._run(calls.list_sequences(name_prefix))

    async def publish_prefix(
        self,
        chunk_hashes: Sequence[bytes],
        keys: KVTensor,
        values: KVTensor,
        positions: Sequence[int] | np.ndarray = (),
        *,
        model: str = "",
        layout: str = "heads_major",
    ) -> int:
        return await self._run(calls.publish_prefix(chunk_hashes, keys, values, positions, model, layout))

    async def lookup_prefix(
        self,
        chunk_hashes: Sequence[bytes],
        *,
        model: str = "",
        output_dtype: str | None = None,
        output_layout: str | None = None,
    ) -> tuple[int, Memory | None]:
        return await self._run(calls.lookup_prefix(chunk_hashes, model, output_dtype, output_layout))

    async def _run(self, call: calls.Call[T]) -> T:
        reply, frames = await self._connection.request(call.envelope(), list(call.tensors), call.idempotent)
        return call.finish(reply, frames)
