"""Health, stats, timeouts and the lazy-pirate retries, against the daemon and a fake server."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import zmq

from testing_support import MODELS
from lomad_client import Client, LomadTimeout, MalformedReply, ResourceExhausted
from lomad_client.loma.v1 import envelope_pb2, status_pb2


def test_health_lists_the_served_models(client):
    health = client.health()
    assert health.protocol_version >= 1 and health.version
    assert sorted(model.name for model in health.models) == sorted(MODELS)
    info = client.model_info("llama_gqa")
    assert (info.layers, info.kv_heads, info.head_dim, info.segment_length, info.compression_ratio) == (2, 2, 8, 8, 2)
    with pytest.raises(LookupError, match="no-such"):
        client.model_info("no-such")


def test_stats_count_requests_by_operation(client):
    def ok_count(stats, operation):
        for entry in stats.operations:
            if entry.operation == operation:
                return sum(s.count for s in entry.statuses if s.code == status_pb2.STATUS_CODE_OK)
        return 0

    before = ok_count(client.stats(), "list_sequences")
    client.list_sequences()
    client.list_sequences()
    assert ok_count(client.stats(), "list_sequences") >= before + 2


def test_connect_to_nothing_times_out(tmp_path):
    with pytest.raises(LomadTimeout) as caught:
        Client.connect(f"ipc://{tmp_path / 'nobody.sock'}", timeout=0.2, retries=1)
    assert caught.value.attempts == 2
    assert "is the daemon running?" in str(caught.value)


class FakeServer:
    """A ROUTER that records what arrives and answers as `respond(identity, request)` says."""

    def __init__(self, respond):
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind("tcp://127.0.0.1:*")
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.received: list[tuple[bytes, envelope_pb2.Request, int]] = []
        self.respond = respond
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            if not self.socket.poll(20):
                continue
            identity, head, *tensors = self.socket.recv_multipart()
            request = envelope_pb2.Request.FromString(head)
            self.received.append((identity, request, len(tensors)))
            for frames in self.respond(request):
                self.socket.send_multipart([identity, *frames])

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.thread.join()
        self.socket.close()
        self.context.term()


def reply(request_id: int, code: int = status_pb2.STATUS_CODE_OK, message: str = "") -> list[bytes]:
    envelope = envelope_pb2.Reply(request_id=request_id)
    envelope.status.code = code
    envelope.status.message = message
    envelope.health.version = "fake"
    return [envelope.SerializeToString()]


def test_an_unanswered_request_is_resent_on_a_fresh_socket():
    with FakeServer(lambda request: []) as server, Client(server.endpoint, timeout=0.2, retries=2) as client:
        with pytest.raises(LomadTimeout) as caught:
            client.health()
    assert caught.value.attempts == 3
    identities = [identity for identity, _, _ in server.received]
    assert len(identities) == 3 and len(set(identities)) == 3
    assert len({request.request_id for _, request, _ in server.received}) == 1


def test_a_retry_that_is_answered_succeeds():
    def answer_second_attempt(request, attempts=[]):
        attempts.append(request)
        return [reply(request.request_id)] if len(attempts) >= 2 else []

    with FakeServer(answer_second_attempt) as server, Client(server.endpoint, timeout=0.3, retries=1) as client:
        assert client.health().version == "fake"
    assert len(server.received) == 2


def test_appending_to_a_sequence_is_never_resent():
    keys = np.zeros((2, 2, 8, 8), dtype=np.float32)
    with FakeServer(lambda request: []) as server, Client(server.endpoint, timeout=0.2, retries=3) as client:
        with pytest.raises(LomadTimeout) as caught:
            client.compress(keys, keys, sequence="chat")
    assert caught.value.attempts == 1 and len(server.received) == 1
    _, request, tensor_frames = server.received[0]
    assert tensor_frames == 2 and request.compress.segment.values.frame == 2


def test_replies_to_other_requests_are_skipped():
    def stale_then_right(request):
        return [reply(request.request_id + 1000), reply(request.request_id)]

    with FakeServer(stale_then_right) as server, Client(server.endpoint, timeout=2.0) as client:
        assert client.health().version == "fake"


def test_a_status_becomes_its_typed_exception():
    def busy(request):
        return [reply(request.request_id, status_pb2.STATUS_CODE_RESOURCE_EXHAUSTED, "queue full")]

    with FakeServer(busy) as server, Client(server.endpoint, timeout=2.0) as client:
        with pytest.raises(ResourceExhausted) as caught:
            client.health()
    assert caught.value.code == status_pb2.STATUS_CODE_RESOURCE_EXHAUSTED
    assert str(caught.value) == "RESOURCE_EXHAUSTED: queue full"


def test_garbage_is_a_malformed_reply():
    with FakeServer(lambda request: [[b"\xff\xff\xff"]]) as server, Client(server.endpoint, timeout=2.0) as client:
        with pytest.raises(MalformedReply, match="not a loma.v1.Reply"):
            client.health()
