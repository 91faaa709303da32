"""The asyncio twin of `Connection`: the same lazy-pirate retries and fast failures, waiting
with `zmq.asyncio` so an event loop keeps serving other coroutines while a request is out."""

from __future__ import annotations

import asyncio
import time

import zmq
import zmq.asyncio

from .connection import Answer, ConnectionCore, frames_of
from .curve import CurveKeys
from .loma.v1 import envelope_pb2
from .tensors import OutgoingTensor


class AsyncConnection(ConnectionCore):
    """Coroutines on one socket. Concurrent requests from tasks of one event loop take turns (a
    lock keeps one in flight, which the lazy-pirate socket reset needs); it is not thread-safe."""

    def __init__(self, endpoint: str, timeout: float, retries: int, context: zmq.Context | None = None,
                 curve: CurveKeys | None = None):
        super().__init__(endpoint, timeout, retries, curve)
        if context is None:
            self._context: zmq.asyncio.Context = zmq.asyncio.Context.instance()
        elif isinstance(context, zmq.asyncio.Context):
            self._context = context
        else:  # a plain context works too: share its libzmq context, wait the asyncio way
            self._context = zmq.asyncio.Context(shadow=context)
        self._socket: zmq.asyncio.Socket | None = None
        self._monitor: zmq.asyncio.Socket | None = None
        self._turn = asyncio.Lock()

    def close(self) -> None:
        if self._socket is not None:
            self.close_dealer(self._socket, self._monitor)
            self._socket = self._monitor = None

    async def _ready_socket(self) -> tuple[zmq.asyncio.Socket, zmq.asyncio.Socket]:
        if self._socket is not None and self._monitor is not None and await self._saw_trouble(self._monitor):
            self.close()  # the daemon went away since the last request; a fresh socket reports the present
        if self._socket is None or self._monitor is None:
            self._socket, self._monitor = self.open_dealer(self._context)
        return self._socket, self._monitor

    async def _saw_trouble(self, monitor: zmq.asyncio.Socket) -> bool:
        trouble = False
        while await monitor.poll(0):
            trouble |= self.refusal(await monitor.recv_multipart()) is not None
        return trouble

    async def request(self, request: envelope_pb2.Request, tensors: list[OutgoingTensor], idempotent: bool) -> Answer:
        async with self._turn:
            head = self.next_request(request)
            cut_short: str | None = None
            for _ in range(self.attempts(idempotent)):
                socket, monitor = await self._ready_socket()
                await socket.send_multipart(frames_of(head, tensors), copy=False)
                answer = await self._await_reply(socket, monitor, request.request_id)
                if answer is not None:
                    return answer
                cut_short = self.attempt_cut_short
                self.close()
            raise self.gave_up(idempotent, cut_short)

    async def _await_reply(self, socket: zmq.asyncio.Socket, monitor: zmq.asyncio.Socket,
                           request_id: int) -> Answer | None:
        poller = zmq.asyncio.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        deadline = time.monotonic() + self.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            ready = dict(await poller.poll(timeout=max(1, int(remaining * 1000))))
            if socket in ready:
                answer = self.accept(await socket.recv_multipart(copy=False), request_id)
                if answer is not None:
                    return answer
            elif monitor in ready:
                problem = self.refusal(await monitor.recv_multipart())
                if problem is not None:
                    self.close()
                    raise problem
                if self.attempt_cut_short is not None:
                    return None
        return None
