"""AsyncClient: the same operations as coroutines, against the real daemon and a fake server."""

from __future__ import annotations

import asyncio
import time
import uuid

import numpy as np
import pytest

from testing_support import GoldenCase, relative_error
from lomad_client import AsyncClient, EndpointError, Health, LomadTimeout, LomadUnavailable, NotFound
from test_connection import FakeServer

MODEL = "llama_gqa"


def run(coroutine):
    return asyncio.run(coroutine)


def test_every_kind_of_operation_as_a_coroutine(daemon):
    case = GoldenCase.load("llama_gqa_single")

    async def session():
        async with AsyncClient(daemon.endpoint, timeout=30.0) as client:
            health = await client.health()
            info = await client.model_info(MODEL)
            memory = await client.compress(case.keys, case.values, context=case.context, model=case.model,
                                           position=case.position, layout=case.layout, output_dtype="f32",
                                           output_layout="heads_major")
            sequence = f"async-{uuid.uuid4().hex[:12]}"
            await client.compress(case.keys, case.values, context=case.context, model=case.model, sequence=sequence,
                                  position=case.position, layout=case.layout)
            listed = await client.list_sequences(sequence)
            fork = await client.fork_sequence(sequence, sequence + "-fork")
            stored, seq_info = await client.read_memory(sequence + "-fork")
            await client.delete_sequence(sequence + "-fork")
            await client.delete_sequence(sequence)
            with pytest.raises(NotFound):
                await client.read_memory(sequence)
            hashes = [bytes([n]) * 32 for n in range(case.segments)]
            await client.publish_prefix(hashes, memory.keys, memory.values, memory.positions, model=case.model)
            matched, found = await client.lookup_prefix(hashes, model=case.model, output_dtype="f32")
            stats = await client.stats()
            return health, info, memory, listed, fork, stored, seq_info, matched, found, stats

    health, info, memory, listed, fork, stored, seq_info, matched, found, stats = run(session())
    assert isinstance(health, Health) and info.name == MODEL
    assert relative_error(memory.keys, case.expected_keys) < 1e-4
    assert relative_error(memory.values, case.expected_values) < 1e-4
    assert [s.segments for s in listed] == [case.segments] and fork.segments == case.segments
    assert stored is not None and seq_info.segments == case.segments
    assert matched == case.segments and found is not None
    np.testing.assert_array_equal(found.keys, memory.keys)
    assert stats.count("lookup_prefix") >= 1


def test_tasks_share_one_client(daemon):
    """Concurrent coroutines on one client take turns; each gets its own reply."""

    async def session():
        async with AsyncClient(daemon.endpoint, timeout=30.0) as client:
            names = [f"shared-{uuid.uuid4().hex[:8]}" for _ in range(6)]
            return names, await asyncio.gather(*(client.list_sequences(name) for name in names),
                                               *(client.model_info(MODEL) for _ in range(6)))

    names, results = run(session())
    assert results[:6] == [[]] * 6
    assert all(info.name == MODEL for info in results[6:])


def test_failures_are_the_same_as_the_blocking_clients(tmp_path):
    with pytest.raises(EndpointError, match="did you mean ipc:///tmp/x.sock"):
        AsyncClient("/tmp/x.sock")
    endpoint = f"ipc://{tmp_path / 'nobody.sock'}"
    timeout = 30.0
    started = time.monotonic()
    with pytest.raises(LomadUnavailable, match="the socket file does not exist"):
        run(AsyncClient.connect(endpoint, timeout=timeout))
    assert time.monotonic() - started < timeout


def test_an_unanswered_request_is_resent_then_times_out():
    async def ask(endpoint):
        async with AsyncClient(endpoint, timeout=0.2, retries=2) as client:
            await client.health()

    with FakeServer(lambda request: []) as server:
        with pytest.raises(LomadTimeout) as caught:
            run(ask(server.endpoint))
    assert caught.value.attempts == 3 and len({identity for identity, _, _ in server.received}) == 3


def test_repr():
    client = AsyncClient("tcp://127.0.0.1:5555", timeout=2.5)
    assert repr(client) == "AsyncClient('tcp://127.0.0.1:5555', timeout=2.5, retries=2)"
    client.close()


def test_the_same_methods_with_the_same_parameters_as_client():
    import inspect

    from lomad_client import Client

    def public(cls):
        return {name for name, member in vars(cls).items()
                if not name.startswith("_") and (callable(member) or isinstance(member, classmethod))}

    assert public(AsyncClient) == public(Client)
    assert {"connect", "close", "health", "compress", "lookup_prefix"} <= public(Client)
    for name in public(Client):
        blocking, asynchronous = getattr(Client, name), getattr(AsyncClient, name)
        if isinstance(inspect.getattr_static(Client, name), classmethod):
            blocking, asynchronous = blocking.__func__, asynchronous.__func__
        assert inspect.signature(blocking).parameters.keys() == inspect.signature(asynchronous).parameters.keys(), name
        is_coroutine = inspect.iscoroutinefunction(asynchronous)
        assert is_coroutine == (name not in ("close",)), f"AsyncClient.{name} coroutine: {is_coroutine}"
