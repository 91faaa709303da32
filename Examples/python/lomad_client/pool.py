"""`ClientPool`: one way to share lomad among threads.

A `Client` owns a libzmq socket, and libzmq sockets must not be used by two threads at once. A
pool keeps up to `size` clients and lends each to one thread at a time:

    pool = ClientPool("ipc:///run/lomad.sock", size=4)
    with pool.client() as client:     # in any thread; waits while all `size` are lent
        client.compress(keys, values)

Clients are made on first need, returned clients are reused, and `close()` closes them all.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .client import Client


class ClientPool:
    """Up to `size` `Client`s of one endpoint, made with `client_arguments` (timeout, curve, ...)."""

    def __init__(self, endpoint: str, size: int = 4, **client_arguments: Any):
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        Client(endpoint, **client_arguments).close()  # a bad endpoint or argument fails here, not in a thread
        self.endpoint = endpoint
        self.size = size
        self._arguments = client_arguments
        self._idle: queue.LifoQueue[Client] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._made = 0
        self._closed = False

    @property
    def made(self) -> int:
        """How many clients the pool has made so far (never more than `size`)."""
        return self._made

    @contextmanager
    def client(self, timeout: float | None = None) -> Iterator[Client]:
        """A client for this thread alone until the block ends; `TimeoutError` if none is free
        within `timeout` seconds (None: wait as long as it takes)."""
        lent = self._borrow(timeout)
        try:
            yield lent
        finally:
            self._give_back(lent)

    def _borrow(self, timeout: float | None) -> Client:
        with self._lock:
            if self._closed:
                raise RuntimeError("the ClientPool is closed")
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                if self._made < self.size:
                    self._made += 1
                    return Client(self.endpoint, **self._arguments)
        try:
            return self._idle.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no client of the pool for {self.endpoint} was free within {timeout:g} s") from None

    def _give_back(self, client: Client) -> None:
        with self._lock:
            if self._closed:
                client.close()
                return
        self._idle.put(client)

    def close(self) -> None:
        """Closes the idle clients now and lent ones as they come back."""
        with self._lock:
            self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def __enter__(self) -> "ClientPool":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ClientPool({self.endpoint!r}, size={self.size}, made={self._made})"
