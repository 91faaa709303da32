"""One DEALER socket to lomad with the "lazy pirate" retry pattern (zguide chapter 4).

A request that gets no reply within the timeout is sent again on a fresh socket: the old one may
hold a half-sent request or a late reply, and closing it (linger 0) discards both. Only requests
that are safe to repeat are retried; the others fail with `LomadTimeout` after one attempt.
Replies to earlier, abandoned attempts are recognised by their request id and skipped.
"""

from __future__ import annotations

import itertools
import time

import zmq
from google.protobuf.message import DecodeError

from .curve import CurveKeys
from .errors import LomadTimeout, MalformedReply, status_error
from .loma.v1 import envelope_pb2, status_pb2
from .tensors import OutgoingTensor


class Connection:
    """Not thread-safe, like the libzmq socket it owns: use one per thread."""

    def __init__(self, endpoint: str, timeout: float, retries: int, context: zmq.Context | None = None,
                 curve: CurveKeys | None = None):
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if retries < 0:
            raise ValueError(f"retries must not be negative, got {retries}")
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.curve = curve
        self._context = context or zmq.Context.instance()
        self._socket: zmq.Socket | None = None
        self._request_ids = itertools.count(1)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def _connected_socket(self) -> zmq.Socket:
        if self._socket is None:
            socket = self._context.socket(zmq.DEALER)
            socket.setsockopt(zmq.LINGER, 0)
            if self.curve is not None:
                self.curve.apply(socket)
            socket.connect(self.endpoint)
            self._socket = socket
        return self._socket

    def request(
        self, request: envelope_pb2.Request, tensors: list[OutgoingTensor], idempotent: bool
    ) -> tuple[envelope_pb2.Reply, list[zmq.Frame]]:
        """Sends `request` (its descriptors already naming frames 1..n in `tensors` order) and
        returns the OK reply with all its frames; raises the status's exception otherwise."""
        request.request_id = next(self._request_ids)
        head = request.SerializeToString()
        attempts = self.retries + 1 if idempotent else 1
        for _ in range(attempts):
            socket = self._connected_socket()
            # copy=False: pyzmq hands the arrays' memory to libzmq instead of copying the KV.
            socket.send_multipart([head, *(tensor.frame for tensor in tensors)], copy=False)
            answer = self._await_reply(socket, request.request_id)
            if answer is not None:
                return answer
            self.close()
        raise LomadTimeout(self.endpoint, attempts, self.timeout)

    def _await_reply(self, socket: zmq.Socket, request_id: int) -> tuple[envelope_pb2.Reply, list[zmq.Frame]] | None:
        deadline = time.monotonic() + self.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if not socket.poll(timeout=max(1, int(remaining * 1000)), flags=zmq.POLLIN):
                continue
            frames = socket.recv_multipart(copy=False)
            reply = envelope_pb2.Reply()
            try:
                reply.ParseFromString(frames[0].bytes)
            except DecodeError as error:
                raise MalformedReply(f"frame 0 is not a loma.v1.Reply envelope ({error})") from error
            # Id 0 answers a request the daemon could not parse, which can only be the one in flight.
            if reply.request_id not in (request_id, 0):
                continue
            if reply.status.code != status_pb2.STATUS_CODE_OK:
                raise status_error(reply.status.code, reply.status.message)
            return reply, frames
        return None
