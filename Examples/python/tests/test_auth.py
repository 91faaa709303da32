"""CURVE authentication and tenants from Python: keys in lomactl's file format, an admitted key
acting as its tenant, an unknown key refused, and tenants unable to see each other's sequences."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest
import zmq

from testing_support import MODELS
from lomad_client import Client, CurveKeys, LomadUnavailable, NotAdmitted, NotFound, read_key_file
from lomad_client.daemon import LocalDaemon


def free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_key_pair(path) -> tuple[str, str]:
    public, secret = (key.decode() for key in zmq.curve_keypair())
    path.write_text(f"# test key\n{secret}\n")
    path.with_name(path.name + ".pub").write_text(f"{public}\n")
    return public, secret


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    directory = tmp_path_factory.mktemp("curve")
    write_key_pair(directory / "server.key")
    team_public, _ = write_key_pair(directory / "team.key")
    write_key_pair(directory / "stranger.key")
    (directory / "clients.toml").write_text(f'[tenants.team]\ncurve_keys = ["{team_public}"]\n')
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
    arguments = ["--endpoint", endpoint, "--server-secret-key-file", str(directory / "server.key"),
                 "--clients-file", str(directory / "clients.toml")]
    with LocalDaemon({"m": MODELS["llama_gqa"]}, extra_arguments=arguments) as daemon:
        yield daemon, endpoint, directory


def test_key_files_read_like_lomactl_writes_them(tmp_path):
    public, secret = write_key_pair(tmp_path / "k")
    assert read_key_file(tmp_path / "k") == secret
    assert CurveKeys.from_files(tmp_path / "k.pub", tmp_path / "k").public_key == public
    (tmp_path / "bad").write_text("# nothing\n")
    with pytest.raises(ValueError, match="bad"):
        read_key_file(tmp_path / "bad")


def test_admitted_key_acts_as_its_tenant_and_others_are_refused(secured):
    daemon, endpoint, directory = secured
    team = CurveKeys.from_files(directory / "server.key.pub", directory / "team.key")
    with Client(endpoint, timeout=10.0, curve=team) as client:
        assert client.health().tenant == "team"
    timeout = 30.0
    started = time.monotonic()
    # libzmq reports the mechanism mismatch (not admitted) or, when the daemon closes first, a
    # handshake cut short, retried like a timeout and then unavailable; both name CURVE, at once.
    with Client(endpoint, timeout=timeout, retries=2) as plain, pytest.raises((NotAdmitted, LomadUnavailable)) as caught:
        plain.health()
    assert time.monotonic() - started < timeout
    assert "CURVE" in str(caught.value) and caught.value.exit_code in (3, 5)


def test_a_refused_key_is_reported_before_the_timeout_would_have(secured):
    daemon, endpoint, directory = secured
    stranger = CurveKeys.from_files(directory / "server.key.pub", directory / "stranger.key")
    timeout = 30.0
    started = time.monotonic()
    with Client(endpoint, timeout=timeout, retries=2, curve=stranger) as client, pytest.raises(NotAdmitted) as caught:
        client.health()
    assert time.monotonic() - started < timeout
    assert caught.value.exit_code == 5 and caught.value.kind == "not admitted"
    assert str(caught.value) == f"lomad at {endpoint} refused this client's CURVE key (is its public key in the clients file?)"


def test_tenants_never_see_each_others_sequences(secured):
    daemon, endpoint, directory = secured
    team = CurveKeys.from_files(directory / "server.key.pub", directory / "team.key")
    info = Client(daemon.endpoint).model_info("m")
    rng = np.random.default_rng(3)
    shape = (info.layers, info.kv_heads, info.segment_length, info.head_dim)
    keys, values = rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(shape, dtype=np.float32)
    with Client(endpoint, timeout=10.0, curve=team) as client:
        client.compress(keys, values, model="m", sequence="private", position=0)
        assert [s.name for s in client.list_sequences()] == ["private"]
    with Client(daemon.endpoint, timeout=10.0) as local:
        assert local.health().tenant == "local"
        assert local.list_sequences() == []
        with pytest.raises(NotFound):
            local.read_memory("private")
