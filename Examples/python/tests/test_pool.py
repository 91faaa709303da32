"""ClientPool: clients shared among threads, each lent to one thread at a time."""

from __future__ import annotations

import threading
import uuid

import pytest

from lomad_client import ClientPool, EndpointError


def test_threads_share_a_pool_without_sharing_a_client(daemon):
    lent_to: dict[int, int] = {}
    in_use: set[int] = set()
    clash = threading.Event()
    guard = threading.Lock()
    failures: list[BaseException] = []

    def work(pool: ClientPool) -> None:
        try:
            for _ in range(5):
                with pool.client() as client:
                    with guard:
                        if id(client) in in_use:
                            clash.set()
                        in_use.add(id(client))
                        lent_to[id(client)] = threading.get_ident()
                    name = f"pool-{uuid.uuid4().hex[:8]}"
                    assert client.list_sequences(name) == []
                    assert client.model_info("llama_gqa").segment_length == 8
                    with guard:
                        in_use.discard(id(client))
        except BaseException as error:  # reported below: a thread's exception would vanish
            failures.append(error)

    with ClientPool(daemon.endpoint, size=2, timeout=30.0) as pool:
        threads = [threading.Thread(target=work, args=(pool,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert not clash.is_set()
        assert 1 <= pool.made <= 2 and len(lent_to) == pool.made
        assert repr(pool) == f"ClientPool({daemon.endpoint!r}, size=2, made={pool.made})"


def test_a_pool_with_every_client_lent_says_so(daemon):
    with ClientPool(daemon.endpoint, size=1) as pool, pool.client():
        with pytest.raises(TimeoutError, match="no client of the pool"):
            with pool.client(timeout=0.05):
                pass


def test_a_bad_endpoint_fails_when_the_pool_is_made():
    with pytest.raises(EndpointError, match="is relative"):
        ClientPool("ipc://run/lomad.sock")
    with pytest.raises(ValueError, match="size"):
        ClientPool("ipc:///run/lomad.sock", size=0)


def test_a_closed_pool_lends_nothing(daemon):
    pool = ClientPool(daemon.endpoint)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        with pool.client():
            pass
