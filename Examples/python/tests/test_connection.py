"""Health, stats, endpoints, fast failures, timeouts and the lazy-pirate retries, against the
daemon and a fake server."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time

import numpy as np
import pytest
import zmq
from google.protobuf.message import Message

from testing_support import MODELS
from lomad_client import (DEFAULT_RETRIES, DEFAULT_TIMEOUT, Client, Endpoint, EndpointError, Health, Limits,
                          LomadTimeout, LomadUnavailable, MalformedReply, ModelInfo, ResourceExhausted, Stats,
                          parse_endpoint)
from lomad_client.daemon import LocalDaemon
from lomad_client.loma.v1 import envelope_pb2, status_pb2


def test_health_lists_the_served_models(client):
    health = client.health()
    assert isinstance(health, Health) and isinstance(health.limits, Limits)
    assert health.protocol_version >= 1 and health.version and health.tenant == "local"
    assert health.limits.max_frame_bytes > 0 and health.limits.workers >= 1
    # The defaults of the connection, reply, per-request and fairness limits (one tenant: no share).
    assert health.limits.max_connections > 0 and health.limits.max_reply_bytes == 256 << 20
    assert (health.limits.max_segments_per_request, health.limits.max_compute_seconds) == (1024, 60.0)
    assert health.limits.tenant_queue_percent == 0
    assert sorted(model.name for model in health.models) == sorted(MODELS)
    info = client.model_info("llama_gqa")
    assert isinstance(info, ModelInfo)
    assert (info.layers, info.kv_heads, info.head_dim, info.segment_length, info.compression_ratio) == (2, 2, 8, 8, 2)
    assert info.memory_tokens_per_segment == 4
    assert repr(info).startswith("ModelInfo(name='llama_gqa', architecture=")
    with pytest.raises(LookupError, match="no-such"):
        client.model_info("no-such")
    with pytest.raises(LookupError, match="serves several; name one"):
        client.model_info()


def test_no_protobuf_message_leaks_into_results(client):
    """health, model info and stats are plain dataclasses, all the way down."""

    def check(value, path):
        assert not isinstance(value, Message), f"{path} is a protobuf {type(value).__name__}"
        if dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                check(getattr(value, field.name), f"{path}.{field.name}")
        elif isinstance(value, dict):
            for key, item in value.items():
                check(item, f"{path}[{key!r}]")
        elif isinstance(value, (tuple, list)):
            for index, item in enumerate(value):
                check(item, f"{path}[{index}]")

    check(client.health(), "health")
    check(client.stats(), "stats")


def test_stats_count_requests_by_operation(client):
    before = client.stats()
    assert isinstance(before, Stats)
    client.list_sequences()
    client.list_sequences()
    after = client.stats()
    assert after.count("list_sequences") >= before.count("list_sequences") + 2
    assert after.operations["list_sequences"].statuses["OK"] == after.count("list_sequences", "OK")
    assert after.count("no_such_operation") == 0
    assert after.store.mode in ("memory", "durable") and after.workers >= 1
    assert after.tenant.name == "local"


def test_client_defaults_and_repr(tmp_path):
    client = Client(f"ipc://{tmp_path}/lomad.sock")
    assert repr(client) == f"Client('ipc://{tmp_path}/lomad.sock', timeout=5, retries=2)"
    assert (DEFAULT_TIMEOUT, DEFAULT_RETRIES) == (5.0, 2)
    client.close()


@pytest.mark.parametrize("endpoint, message", [
    ("/tmp/x.sock", "not an endpoint: '/tmp/x.sock'; did you mean ipc:///tmp/x.sock?"),
    ("ipc://tmp/x", "ipc path 'tmp/x' is relative; write ipc:///tmp/x"),
    ("ipc://", "'ipc://' names no path; write ipc:///absolute/path"),
    ("http://host:80", "unknown scheme 'http' in 'http://host:80'; write ipc:///absolute/path or tcp://HOST:PORT"),
    ("tcp://localhost", "'tcp://localhost' has no port; write tcp://localhost:PORT"),
    ("tcp://localhost:0", "'tcp://localhost:0': port '0' is not a number from 1 to 65535"),
    ("tcp://localhost:65536", "'tcp://localhost:65536': port '65536' is not a number from 1 to 65535"),
    ("tcp://localhost:*", "'tcp://localhost:*': port '*' is not a number from 1 to 65535"),
    ("tcp://::1:5555", "'tcp://::1:5555': an IPv6 host goes in brackets; write tcp://[::1]:5555"),
    ("tcp://[::g]:5555", "'tcp://[::g]:5555': '::g' is not an IPv6 address"),
    ("tcp://bad host:1", "'tcp://bad host:1': 'bad host' is not a host name or IPv4 address"),
])
def test_a_wrong_endpoint_is_refused_before_any_socket_exists(endpoint, message):
    context = zmq.Context()
    try:
        with pytest.raises(EndpointError) as caught:
            Client(endpoint, context=context)
        assert str(caught.value) == message
        assert isinstance(caught.value, ValueError) and caught.value.kind == "invalid endpoint"
        assert caught.value.exit_code == 2
    finally:
        context.term()  # would block on a socket left open (linger 0 aside): none was made


@pytest.mark.parametrize("endpoint, parsed", [
    ("ipc:///run/lomad.sock", Endpoint("ipc:///run/lomad.sock", "ipc", path="/run/lomad.sock")),
    ("tcp://127.0.0.1:5555", Endpoint("tcp://127.0.0.1:5555", "tcp", host="127.0.0.1", port=5555)),
    ("tcp://lomad.internal:1", Endpoint("tcp://lomad.internal:1", "tcp", host="lomad.internal", port=1)),
    ("tcp://[::1]:65535", Endpoint("tcp://[::1]:65535", "tcp", host="[::1]", port=65535)),
])
def test_good_endpoints_parse(endpoint, parsed):
    assert parse_endpoint(endpoint) == parsed


def assert_fails_fast(make_call, error_type, message):
    """`make_call(timeout)` raises `error_type` with `message` before one timeout would have passed."""
    timeout = 30.0
    started = time.monotonic()
    with pytest.raises(error_type) as caught:
        make_call(timeout)
    assert time.monotonic() - started < timeout, "failed only after the timeout"
    assert str(caught.value) == message
    return caught.value


def test_a_missing_socket_file_fails_at_once(tmp_path):
    endpoint = f"ipc://{tmp_path / 'nobody.sock'}"
    error = assert_fails_fast(lambda timeout: Client.connect(endpoint, timeout=timeout, retries=2), LomadUnavailable,
                              f"no lomad at {endpoint}: the socket file does not exist (is lomad running?)")
    assert error.kind == "unavailable" and error.exit_code == 3 and not isinstance(error, LomadTimeout)


def test_a_path_that_is_not_a_socket_fails_at_once(tmp_path):
    (tmp_path / "plain-file").write_text("")
    endpoint = f"ipc://{tmp_path / 'plain-file'}"
    assert_fails_fast(lambda timeout: Client.connect(endpoint, timeout=timeout), LomadUnavailable,
                      f"no lomad at {endpoint}: the path is not a socket file (is lomad running?)")


def test_a_stale_socket_file_fails_at_once(tmp_path):
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as left_behind:
        left_behind.bind(str(path))  # bound, never listening: what a killed daemon leaves
    endpoint = f"ipc://{path}"
    assert_fails_fast(lambda timeout: Client.connect(endpoint, timeout=timeout), LomadUnavailable,
                      f"no lomad at {endpoint}: connection refused "
                      "(the socket file is there but nothing listens on it; is lomad running?)")


def test_a_refused_tcp_connection_fails_at_once():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    endpoint = f"tcp://127.0.0.1:{port}"
    assert_fails_fast(lambda timeout: Client.connect(endpoint, timeout=timeout), LomadUnavailable,
                      f"no lomad at {endpoint}: connection refused")


def test_a_daemon_that_went_away_is_reported_at_the_next_request():
    with LocalDaemon({"m": MODELS["llama_gqa"]}) as daemon, Client(daemon.endpoint, timeout=30.0) as client:
        assert client.health().models[0].name == "m"
        daemon.stop()
        assert_fails_fast(lambda timeout: client.health(), LomadUnavailable,
                          f"no lomad at {daemon.endpoint}: the socket file does not exist (is lomad running?)")


def test_a_timeout_names_the_endpoint_and_attempts():
    with FakeServer(lambda request: []) as server, Client(server.endpoint, timeout=0.2, retries=1) as client:
        with pytest.raises(LomadTimeout) as caught:
            client.health()
    assert caught.value.attempts == 2 and isinstance(caught.value, LomadUnavailable)
    assert str(caught.value) == f"no lomad at {server.endpoint}: no reply within 0.2 s (2 attempts); is lomad running?"


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
    assert str(caught.value) == "lomad answered resource_exhausted: queue full"
    assert caught.value.code_name == "RESOURCE_EXHAUSTED" and caught.value.exit_code == 4


def test_garbage_is_a_malformed_reply():
    with FakeServer(lambda request: [[b"\xff\xff\xff"]]) as server, Client(server.endpoint, timeout=2.0) as client:
        with pytest.raises(MalformedReply, match="not a loma.v1.Reply"):
            client.health()
