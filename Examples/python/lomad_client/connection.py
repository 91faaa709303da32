"""One DEALER socket to lomad with the "lazy pirate" retry pattern (zguide chapter 4).

A request that gets no reply within the timeout is sent again on a fresh socket: the old one may
hold a half-sent request or a late reply, and closing it (linger 0) discards both. Only requests
that are safe to repeat are retried; the others fail with `LomadTimeout` after one attempt.
Replies to earlier, abandoned attempts are recognised by their request id and skipped.

A missing daemon is reported at once rather than after the timeouts: on ipc the socket file is
checked before a socket is made, and the socket's monitor reports a refused connection
(`CLOSED` then `CONNECT_RETRIED`) or a refused CURVE key (`HANDSHAKE_FAILED_AUTH`) as soon as libzmq sees it.
`ConnectionCore` holds what the blocking and the asyncio connection share.
"""

from __future__ import annotations

import itertools
import os
import stat
import time
from typing import Any, TypeVar

import zmq
from google.protobuf.message import DecodeError
from zmq.utils.monitor import parse_monitor_message

from .curve import CurveKeys
from .endpoint import Endpoint, parse_endpoint
from .errors import LomadError, LomadTimeout, LomadUnavailable, MalformedReply, NotAdmitted, status_error
from .errors import FailedPrecondition
from .loma.v1 import envelope_pb2, operations_pb2, status_pb2
from .shared_memory import TENSOR_OPERATIONS, SharedMemoryChannel
from .tensors import OutgoingTensor

# The socket class of a context: zmq.Socket for the blocking connection, zmq.asyncio.Socket for the
# asyncio one.
SocketT = TypeVar("SocketT", bound=zmq.Socket)

# A refused connection shows as CLOSED (the failed attempt's descriptor) then CONNECT_RETRIED;
# an established connection that drops shows DISCONNECTED then CONNECT_RETRIED, and is left to
# the timeout and retries (the daemon may be restarting, or a mechanism mismatch may be at work).
# Handshake outcomes, read as the Swift and C clients read them: a refused key or a mechanism
# mismatch is final at once; a handshake the peer cuts short (HANDSHAKE_FAILED_NO_DETAIL) is what
# lomad at its connection limit does as well as a CURVE endpoint to a client without keys, so it
# ends the attempt early after HANDSHAKE_CUT_LIMIT in a row and is retried like a timeout.
MONITORED_EVENTS = (
    zmq.EVENT_CLOSED
    | zmq.EVENT_DISCONNECTED
    | zmq.EVENT_CONNECT_RETRIED
    | zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)
HANDSHAKE_CUT_LIMIT = 3

Answer = tuple[envelope_pb2.Reply, list[zmq.Frame]]


def frames_of(head: bytes, tensors: list[OutgoingTensor]) -> list[Any]:
    """The envelope then one frame per tensor; the arrays go as buffers (pyzmq's stubs do not
    name numpy arrays among the buffers it takes)."""
    return [head, *(tensor.frame for tensor in tensors)]


class ConnectionCore:
    """Endpoint, timeout policy, socket set-up and reply checking, without any I/O wait."""

    def __init__(self, endpoint: str, timeout: float, retries: int, curve: CurveKeys | None):
        # The endpoint first: a wrong one is the likeliest mistake and its error the most useful.
        self.address: Endpoint = parse_endpoint(endpoint)
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if retries < 0:
            raise ValueError(f"retries must not be negative, got {retries}")
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self.retries = retries
        self.curve = curve
        self._request_ids = itertools.count(1)
        self._previous_event = 0
        self._handshakes_cut = 0
        # Why the current attempt is over before its timeout (handshakes cut short); None while
        # it may still succeed.
        self.attempt_cut_short: str | None = None

    def attempts(self, idempotent: bool) -> int:
        return self.retries + 1 if idempotent else 1

    def next_request(self, request: envelope_pb2.Request) -> bytes:
        request.request_id = next(self._request_ids)
        return request.SerializeToString()

    def check_socket_file(self) -> None:
        """For ipc, `LomadUnavailable` at once when no socket file is there to connect to."""
        if self.address.scheme != "ipc":
            return
        try:
            mode = os.stat(self.address.path).st_mode
        except FileNotFoundError:
            raise LomadUnavailable(self.endpoint, "the socket file does not exist (is lomad running?)") from None
        except OSError as error:
            raise LomadUnavailable(self.endpoint, f"cannot reach the socket file ({error.strerror})") from None
        if not stat.S_ISSOCK(mode):
            raise LomadUnavailable(self.endpoint, "the path is not a socket file (is lomad running?)")

    def configure(self, socket: zmq.Socket) -> None:
        socket.setsockopt(zmq.LINGER, 0)
        if self.address.is_ipv6:
            socket.setsockopt(zmq.IPV6, 1)
        if self.curve is not None:
            self.curve.apply(socket)

    def open_dealer(self, context: zmq.Context[SocketT]) -> tuple[SocketT, SocketT]:
        """A fresh DEALER socket connecting to the endpoint, and the monitor that reports its
        connection's fate: the blocking and the asyncio connection differ only in their context."""
        self.check_socket_file()
        socket = context.socket(zmq.DEALER)
        self.configure(socket)
        self.watch_new_socket()
        monitor = socket.get_monitor_socket(MONITORED_EVENTS)
        socket.connect(self.endpoint)
        return socket, monitor

    @staticmethod
    def close_dealer(socket: zmq.Socket, monitor: zmq.Socket | None) -> None:
        """Closes what `open_dealer` opened, the monitor first, without waiting for unsent frames."""
        socket.disable_monitor()
        if monitor is not None:
            monitor.close(linger=0)
        socket.close(linger=0)

    def watch_new_socket(self) -> None:
        self._previous_event = 0
        self._handshakes_cut = 0
        self.attempt_cut_short = None

    def refusal(self, monitor_frames: list[bytes]) -> LomadError | None:
        """The error a monitor event means, or None for an event that changes nothing."""
        event = parse_monitor_message(monitor_frames)["event"]
        previous, self._previous_event = self._previous_event, event
        if event == zmq.EVENT_CONNECT_RETRIED and previous == zmq.EVENT_CLOSED:
            if self.address.scheme != "ipc":
                return LomadUnavailable(self.endpoint, "connection refused")
            try:
                self.check_socket_file()  # a daemon that exited removed it: say so
            except LomadUnavailable as gone:
                return gone
            return LomadUnavailable(
                self.endpoint, "connection refused (the socket file is there but nothing listens on it; is lomad running?)"
            )
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            return NotAdmitted(self.endpoint)
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self._handshakes_cut = 0
        if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            if self.curve is None:
                return NotAdmitted(self.endpoint, "requires CURVE on this endpoint (pass curve=CurveKeys.from_files(...))")
            return NotAdmitted(self.endpoint, "broke off the CURVE handshake: check that the server key is the daemon's public key")
        if event == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            self._handshakes_cut += 1
            if self._handshakes_cut >= HANDSHAKE_CUT_LIMIT:
                self.attempt_cut_short = (
                    f"the peer closed the connection during the handshake {self._handshakes_cut} times: "
                    "lomad's connection limit may be reached (retry later), "
                    + ("the server key may not be the daemon's, " if self.curve is not None
                       else "the endpoint may require CURVE (pass curve=CurveKeys.from_files(...)), ")
                    + "or it is not lomad"
                )
        return None

    def gave_up(self, idempotent: bool, cut_short: str | None) -> LomadUnavailable:
        """The error once every attempt is spent: the last one's cut handshakes, else a timeout."""
        if cut_short is not None:
            return LomadUnavailable(self.endpoint, cut_short)
        return LomadTimeout(self.endpoint, self.attempts(idempotent), self.timeout)

    @staticmethod
    def accept(frames: list[zmq.Frame], request_id: int) -> Answer | None:
        """The OK reply to `request_id`; None for a reply to an abandoned attempt; raises the
        status's exception for any other status."""
        reply = envelope_pb2.Reply()
        try:
            reply.ParseFromString(frames[0].bytes)
        except DecodeError as error:
            raise MalformedReply(f"frame 0 is not a loma.v1.Reply envelope ({error})") from error
        # Id 0 answers a request the daemon could not parse, which can only be the one in flight.
        if reply.request_id not in (request_id, 0):
            return None
        if reply.status.code != status_pb2.STATUS_CODE_OK:
            raise status_error(reply.status.code, reply.status.message)
        return reply, frames


class Connection(ConnectionCore):
    """Blocking requests. Not thread-safe, like the libzmq socket it owns: use one per thread
    (or share a `ClientPool`). On ipc, tensors go through shared memory when the daemon takes it
    (`shared_memory.SharedMemoryChannel`; `shared_memory=False` keeps frames)."""

    def __init__(self, endpoint: str, timeout: float, retries: int, context: zmq.Context | None = None,
                 curve: CurveKeys | None = None, shared_memory: bool = True):
        super().__init__(endpoint, timeout, retries, curve)
        self._context = context or zmq.Context.instance()
        self._socket: zmq.Socket | None = None
        self._monitor: zmq.Socket | None = None
        self.shared_memory = SharedMemoryChannel(shared_memory and self.address.scheme == "ipc")

    def release(self) -> None:
        """Closes the socket and removes the shared-memory segments: the end of the connection."""
        self.close()
        self.shared_memory.close()

    def close(self) -> None:
        if self._socket is not None:
            self.close_dealer(self._socket, self._monitor)
            self._socket = self._monitor = None

    def _ready_socket(self) -> tuple[zmq.Socket, zmq.Socket]:
        if self._socket is not None and self._monitor is not None and self._saw_trouble(self._monitor):
            # The daemon went away since the last request; a fresh socket reports the present.
            self.close()
        if self._socket is None or self._monitor is None:
            self._socket, self._monitor = self.open_dealer(self._context)
        return self._socket, self._monitor

    def _saw_trouble(self, monitor: zmq.Socket) -> bool:
        trouble = False
        while monitor.poll(0):
            trouble |= self.refusal(monitor.recv_multipart()) is not None
        return trouble

    def request(self, request: envelope_pb2.Request, tensors: list[OutgoingTensor], idempotent: bool) -> Answer:
        """Sends `request` (its descriptors already naming frames 1..n in `tensors` order) and
        returns the OK reply with all its frames (read out of the reply segment when the daemon
        put them there); raises the status's exception otherwise."""
        channel = self.shared_memory
        if channel.needs_negotiation and request.WhichOneof("operation") in TENSOR_OPERATIONS:
            self._negotiate_shared_memory()
        via_shared = channel.prepare(request, tensors)
        try:
            reply, frames = self._exchange(request, [] if via_shared else tensors, idempotent)
        except FailedPrecondition as error:
            if not (via_shared and "shared memory" in error.status_message):
                raise
            # The daemon stopped taking shared memory (a reload set its limit to 0): frames
            # always work, and nothing was done for the refused request.
            channel.turn_off()
            request.ClearField("shared_memory")
            return self.request(request, tensors, idempotent)
        if channel.needs_negotiation and reply.WhichOneof("result") == "health":
            # A health reply the caller asked for answers the negotiation too.
            channel.limit = reply.health.limits.shared_memory_max_bytes
        shared_frames = channel.reply_frames(reply, frames[0])
        return reply, shared_frames if shared_frames is not None else frames

    def _negotiate_shared_memory(self) -> None:
        """Asks the daemon's limit once, in one attempt: when it does not answer, the request
        goes as frames and fails as it would have, and the next request asks again."""
        try:
            reply, _ = self._exchange(envelope_pb2.Request(health=operations_pb2.HealthRequest()), [], False)
        except LomadError:
            return
        self.shared_memory.limit = reply.health.limits.shared_memory_max_bytes

    def _exchange(self, request: envelope_pb2.Request, tensors: list[OutgoingTensor], idempotent: bool) -> Answer:
        head = self.next_request(request)
        cut_short: str | None = None
        for _ in range(self.attempts(idempotent)):
            socket, monitor = self._ready_socket()
            # copy=False: pyzmq hands the arrays' memory to libzmq instead of copying the KV.
            socket.send_multipart(frames_of(head, tensors), copy=False)
            answer = self._await_reply(socket, monitor, request.request_id)
            if answer is not None:
                return answer
            cut_short = self.attempt_cut_short
            self.close()
        raise self.gave_up(idempotent, cut_short)

    def _await_reply(self, socket: zmq.Socket, monitor: zmq.Socket, request_id: int) -> Answer | None:
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        deadline = time.monotonic() + self.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            ready = dict(poller.poll(timeout=max(1, int(remaining * 1000))))
            if socket in ready:
                answer = self.accept(socket.recv_multipart(copy=False), request_id)
                if answer is not None:
                    return answer
            elif monitor in ready:
                problem = self.refusal(monitor.recv_multipart())
                if problem is not None:
                    self.close()
                    raise problem
                if self.attempt_cut_short is not None:
                    return None
        return None
