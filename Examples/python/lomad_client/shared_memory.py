"""Same-host shared memory: tensors through POSIX shared-memory objects instead of frames.

On an ipc endpoint whose daemon takes shared memory (its health reply's
`limits.shared_memory_max_bytes` is above 0), the client writes a request's tensors into an
input segment it owns and offers a reply segment the daemon writes the reply's tensors into, so
neither crosses the socket. Segments are /dev/shm objects named `/lomad-...`, mode 0600 (the
daemon opens only segments of the connecting uid that nobody else may read or write), removed
when the client closes. Anything else (tcp, a daemon without it, a request over its limit)
goes as frames; see docs/protocol.md, "Shared memory".
"""

from __future__ import annotations

import mmap
import os
import secrets
import weakref

import zmq

from .errors import MalformedReply
from .loma.v1 import envelope_pb2, tensor_pb2
from .tensors import OutgoingTensor

ALIGNMENT = 64
FIRST_REPLY_CAPACITY = 4 << 20
# Operations whose request or reply carries tensors.
TENSOR_OPERATIONS = frozenset({"compress", "read_memory", "publish_prefix", "lookup_prefix"})


def _aligned(offset: int) -> int:
    return (offset + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


_stale_removed = False


def remove_stale_segments() -> None:
    """Removes, once per process, the objects a client process left behind when it ended without
    closing its client: `/lomad-in-PID-...` and `/lomad-out-PID-...` of this uid whose PID no
    longer runs. A live process's objects are never touched."""
    global _stale_removed
    if _stale_removed:
        return
    _stale_removed = True
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return
    for name in names:
        parts = name.split("-")
        if len(parts) != 4 or parts[0] != "lomad" or parts[1] not in ("in", "out") or not parts[2].isdigit():
            continue
        pid = int(parts[2])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # running (or another user's process): keep
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        try:
            if os.lstat("/dev/shm/" + name).st_uid == os.getuid():
                os.unlink("/dev/shm/" + name)
        except OSError:
            pass


class Segment:
    """A shared-memory object this client created and keeps mapped."""

    def __init__(self, role: str, capacity: int):
        remove_stale_segments()
        self.name = f"/lomad-{role}-{os.getpid()}-{secrets.token_hex(6)}"
        self._fd = os.open("/dev/shm" + self.name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        os.fchmod(self._fd, 0o600)  # the umask could only remove bits, but be explicit
        # Removed even when the client is dropped without close().
        self._finalizer = weakref.finalize(self, _remove, self._fd, self.name)
        self.capacity = 0
        self._map: mmap.mmap | None = None
        self.reserve(capacity)

    def reserve(self, needed: int) -> None:
        """Grows the object and its mapping to at least `needed` bytes (contents are not kept)."""
        if needed <= self.capacity:
            return
        capacity = max(needed, self.capacity * 2)
        if self._map is not None:
            self._map.close()
            self._map = None
        os.ftruncate(self._fd, capacity)
        self._map = mmap.mmap(self._fd, capacity, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.capacity = capacity

    def view(self, offset: int, length: int) -> memoryview:
        if self._map is None or offset < 0 or length < 0 or offset + length > self.capacity:
            raise ValueError(f"bytes {offset}..{offset + length} are outside the {self.capacity}-byte segment {self.name}")
        return memoryview(self._map)[offset:offset + length]

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        self._finalizer()


def _remove(fd: int, name: str) -> None:
    os.close(fd)
    try:
        os.unlink("/dev/shm" + name)
    except FileNotFoundError:
        pass


class SharedMemoryChannel:
    """The shared-memory state of one blocking connection: unknown until the first request with
    tensors asks the daemon's health, then on (with the daemon's limit) or off."""

    def __init__(self, enabled: bool):
        self.limit: int | None = None if enabled else 0
        self._input: Segment | None = None
        self._reply: Segment | None = None
        self._reply_capacity = FIRST_REPLY_CAPACITY

    @property
    def needs_negotiation(self) -> bool:
        return self.limit is None

    @property
    def is_on(self) -> bool:
        return bool(self.limit)

    @property
    def segment_names(self) -> list[str]:
        return [segment.name for segment in (self._input, self._reply) if segment is not None]

    def turn_off(self) -> None:
        self.limit = 0
        self.close()

    def close(self) -> None:
        for segment in (self._input, self._reply):
            if segment is not None:
                segment.close()
        self._input = self._reply = None

    def prepare(self, request: envelope_pb2.Request, tensors: list[OutgoingTensor]) -> bool:
        """Writes `tensors` into the input segment and names both segments in `request`; False
        (and nothing changed) when the request should go as frames."""
        if not self.limit or request.WhichOneof("operation") not in TENSOR_OPERATIONS:
            return False
        sizes = [tensor.frame.nbytes for tensor in tensors]
        if sum(sizes) > self.limit:
            return False
        shared = request.shared_memory
        if tensors:
            offsets, end = [], 0
            for size in sizes:
                offsets.append(end)
                end = _aligned(end + size)
            if self._input is None:
                self._input = Segment("in", end)
            self._input.reserve(end)
            for tensor, offset, size in zip(tensors, offsets, sizes):
                self._input.view(offset, size)[:] = tensor.frame.reshape(-1).view("u1").data
                shared.input_frames.append(tensor_pb2.SharedMemorySpan(offset=offset, length=size))
            shared.input_segment = self._input.name
        capacity = min(self._reply_capacity, self.limit)
        if self._reply is None:
            self._reply = Segment("out", capacity)
        self._reply.reserve(capacity)
        shared.reply_segment = self._reply.name
        shared.reply_capacity = capacity
        return True

    def reply_frames(self, reply: envelope_pb2.Reply, head: zmq.Frame) -> list[zmq.Frame] | None:
        """The reply's frames with the tensors the daemon put in the reply segment, or None when
        they came as frames (a reply that did not fit says how much it needed: the next offer).
        The tensors are copied out: the next request reuses the segment, so the arrays a reply
        returns must not point into it."""
        placed = reply.shared_memory
        if placed.reply_bytes_needed:
            self._reply_capacity = max(self._reply_capacity, placed.reply_bytes_needed)
        if not placed.frames:
            return None
        if self._reply is None:
            raise MalformedReply("the reply names shared memory this client did not offer")
        try:
            return [head, *(zmq.Frame(bytes(self._reply.view(span.offset, span.length))) for span in placed.frames)]
        except ValueError as error:
            raise MalformedReply(str(error)) from None
