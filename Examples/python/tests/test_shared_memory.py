"""Same-host shared memory (docs/protocol.md, "Shared memory") against real lomad processes: the
client's segments carry the same bytes frames do, are removed on close, and a daemon that takes
no shared memory, or a tcp endpoint, gets frames from the same client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import numpy as np

from lomad_client import Client
from lomad_client.daemon import LocalDaemon
from testing_support import MODELS

MODEL = "llama_gqa"  # 2 layers, 2 kv heads, head_dim 8, segment 8, ratio 2


def kv(segments: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    shape = (2, 2, 8 * segments, 8)
    return generator.standard_normal(shape).astype(np.float32), generator.standard_normal(shape).astype(np.float32)


def exists(name: str) -> bool:
    return os.path.exists("/dev/shm" + name)


def test_shared_memory_gives_the_bytes_frames_give_and_goes_with_the_client(daemon):
    keys, values = kv(4, seed=11)
    sequence = f"shm-{uuid.uuid4().hex[:12]}"
    with Client(daemon.endpoint, timeout=30.0, shared_memory=False) as frames:
        shared = Client(daemon.endpoint, timeout=30.0)
        via_shared = shared.compress(keys, values, model=MODEL, output_dtype="f32")
        via_frames = frames.compress(keys, values, model=MODEL, output_dtype="f32")
        assert shared.uses_shared_memory and not frames.uses_shared_memory
        np.testing.assert_array_equal(via_shared.keys, via_frames.keys)
        np.testing.assert_array_equal(via_shared.values, via_frames.values)
        np.testing.assert_array_equal(via_shared.positions, via_frames.positions)

        frames.compress(keys, values, model=MODEL, sequence=sequence)
        # The first read may not fit the first reply segment and comes as frames, saying what it
        # needed; the second fits. Arrays stay valid after the segment is reused.
        first, _ = shared.read_memory(sequence, output_dtype="f32")
        second, _ = shared.read_memory(sequence, output_dtype="f32")
        expected, _ = frames.read_memory(sequence, output_dtype="f32")
        for memory in (first, second):
            np.testing.assert_array_equal(memory.keys, expected.keys)
            np.testing.assert_array_equal(memory.values, expected.values)

        segments = shared.shared_memory_segments
        assert len(segments) == 2 and all(exists(name) for name in segments)
        assert all(oct(os.stat("/dev/shm" + name).st_mode & 0o777) == "0o600" for name in segments)
        shared.close()
        assert not any(exists(name) for name in segments)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_daemon_without_shared_memory_and_a_tcp_endpoint_get_frames():
    keys, values = kv(1, seed=12)
    tcp = f"tcp://127.0.0.1:{free_port()}"
    with LocalDaemon(MODELS, extra_arguments=["--limits-shared-memory-max-bytes", "0"]) as without, \
            LocalDaemon(MODELS, extra_arguments=["--endpoint", tcp]) as with_tcp:
        for endpoint in (without.endpoint, tcp):
            with Client(endpoint, timeout=30.0) as client:
                memory = client.compress(keys, values, model=MODEL)
                assert memory.segments == 1
                assert not client.uses_shared_memory and client.shared_memory_segments == []
        assert Client(without.endpoint).health().limits.shared_memory_max_bytes == 0
        with Client(with_tcp.endpoint, timeout=30.0) as local:
            local.compress(keys, values, model=MODEL)
            assert local.uses_shared_memory


def test_a_client_process_removes_segments_ended_processes_left_behind(daemon, tmp_path):
    ended = subprocess.run(["/bin/sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    stale, live = f"/lomad-out-{int(ended.stdout)}-stale1", f"/lomad-in-{os.getppid()}-live1"
    for name in (stale, live):
        os.close(os.open("/dev/shm" + name, os.O_RDWR | os.O_CREAT, 0o600))
    try:
        # A fresh interpreter: the sweep runs once per process, before its first segment.
        script = (
            "import sys, numpy as np; from lomad_client import Client; "
            "c = Client(sys.argv[1]); k = np.zeros((2, 2, 8, 8), np.float32); "
            "c.compress(k, k, model='llama_gqa'); assert c.uses_shared_memory; c.close()"
        )
        subprocess.run([sys.executable, "-c", script, daemon.endpoint], check=True, timeout=120)
        assert not exists(stale), "a segment of an ended process is removed"
        assert exists(live), "a segment of a running process is kept"
    finally:
        for name in (stale, live):
            if exists(name):
                os.unlink("/dev/shm" + name)
