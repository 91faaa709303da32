"""lomad-compress (the C client) against a real daemon, every run under valgrind (c_support):
each run must exit with the status its situation calls for, with no valgrind error or leak."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import zmq

from c_support import hang_up_endpoint, valgrind
from lomad_client import Client
from testing_support import FIXTURES, GoldenCase, read_file, relative_error

PROGRAM = Path(__file__).resolve().parents[1] / "build" / "lomad-compress"
CASES = sorted(p.name for p in (FIXTURES / "cases").iterdir() if (p / "case.json").exists())


def run(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    completed, _ = valgrind(PROGRAM, arguments, tmp_path)
    return completed


@pytest.mark.parametrize("name", CASES)
def test_compresses_golden_cases(daemon, tmp_path, name):
    case = GoldenCase.load(name)
    output = tmp_path / "memory.safetensors"
    # Context files are heads-major whatever the case's input layout: --context-layout says so.
    context = (["--context", str(FIXTURES / "cases" / name / "context.safetensors"), "--context-layout", "heads_major"]
               if case.context is not None else [])
    completed = run(
        tmp_path, "--endpoint", daemon.endpoint, "--model", case.model, "--position", str(case.position),
        "--layout", case.layout, "--method", case.method, "--output-dtype", "f32", *context,
        "--input", str(FIXTURES / "cases" / name / "input.safetensors"), "--output", str(output),
    )
    assert completed.returncode == 0, completed.stderr
    assert f"({case.segments} segment" in completed.stdout
    memory = read_file(output)
    assert memory["keys"].dtype == "F32" and memory["positions"].dtype == "I64"
    assert relative_error(memory["keys"].data, case.expected_keys) < 1e-4
    assert relative_error(memory["values"].data, case.expected_values) < 1e-4
    np.testing.assert_array_equal(memory["positions"].data, case.expected_positions)


def test_appends_to_a_sequence(daemon, tmp_path):
    input_file = FIXTURES / "cases" / "llama_gqa_single" / "input.safetensors"
    for index in range(2):
        completed = run(tmp_path, "--endpoint", daemon.endpoint, "--model", "llama_gqa", "--sequence", "c-client-seq",
                        "--input", str(input_file), "--output", str(tmp_path / f"m{index}.safetensors"))
        assert completed.returncode == 0, completed.stderr
    assert read_file(tmp_path / "m1.safetensors")["positions"].data.tolist() == [9, 11, 13, 15]
    with Client(daemon.endpoint) as client:
        _, info = client.read_memory("c-client-seq")
    assert info.segments == 2 and info.next_position == 16


def write_safetensors(path: Path, header: dict, data: bytes) -> None:
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)


def test_failure_paths_exit_cleanly(daemon, tmp_path):
    good = str(FIXTURES / "cases" / "llama_gqa_single" / "input.safetensors")
    out = str(tmp_path / "out.safetensors")
    truncated_data = tmp_path / "truncated_data.safetensors"
    truncated_data.write_bytes(Path(good).read_bytes()[:300])
    truncated_header = tmp_path / "truncated_header.safetensors"
    truncated_header.write_bytes(Path(good).read_bytes()[:20])
    no_values = tmp_path / "no_values.safetensors"
    write_safetensors(no_values, {"__metadata__": {"format": "pt"},
                                  "keys": {"dtype": "F32", "shape": [2, 2, 8, 8], "data_offsets": [0, 1024]},
                                  "extra": {"dtype": "F32", "shape": [1], "data_offsets": [1024, 1028]}}, bytes(1028))
    text_file = tmp_path / "notes.txt"
    text_file.write_text("keys and values, but not a safetensors file\n")
    wrong_size = tmp_path / "wrong_size.safetensors"
    entry = {"dtype": "F32", "shape": [2, 2, 8, 8], "data_offsets": [0, 1000]}
    write_safetensors(wrong_size, {"keys": entry, "values": entry}, bytes(1000))
    odd_tokens = tmp_path / "odd_tokens.safetensors"
    entry = {"dtype": "F32", "shape": [2, 2, 5, 8]}
    write_safetensors(odd_tokens, {"keys": {**entry, "data_offsets": [0, 640]},
                                   "values": {**entry, "data_offsets": [640, 1280]}}, bytes(1280))
    nobody = f"ipc://{tmp_path / 'nobody.sock'}"

    situations = [
        # (arguments, exit status, text on stderr): 65 bad input file, 64 usage, 4 error status,
        # 3 no daemon, 2 invalid endpoint
        (["--input", str(tmp_path / "missing.safetensors")], 65, "cannot open"),
        (["--input", str(truncated_header)], 65, "not a safetensors file (its header length"),
        (["--input", str(text_file)], 65, "not a safetensors file"),
        (["--input", str(truncated_data)], 65, "data_offsets outside the"),
        (["--input", str(no_values)], 65, "no tensor 'values' (the file has: keys, extra)"),
        (["--input", str(wrong_size)], 65, "spans 1000 bytes"),
        (["--input", good, "--layout", "sideways"], 64, "lomad-compress: usage: --layout must be"),
        (["--input", good, "--frobnicate", "1"], 64, "unknown option --frobnicate"),
        (["--input", good, "--context", good, "--context-layout", "diagonal"], 64, "--context-layout must be"),
        (["--input", good, "--context", str(no_values)], 65, "lomad-compress: context: "),
        (["--input", good, "--model", "no-such-model"], 4, "lomad-compress: compress: lomad answered not_found: "),
        (["--input", str(odd_tokens), "--model", "llama_gqa"], 4, "answered invalid_argument"),
        (["--input", good, "--endpoint", nobody], 3, f"no lomad at {nobody}: the socket file does not exist"),
        (["--input", good, "--endpoint", "bogus://x"], 2, "unknown scheme 'bogus'"),
        (["--input", good, "--endpoint", str(tmp_path / "l.sock")], 2, f"did you mean ipc://{tmp_path / 'l.sock'}?"),
        (["--input", good, "--endpoint", "ipc://tmp/l.sock"], 2, "ipc path 'tmp/l.sock' is relative; write ipc:///tmp/l.sock"),
    ]
    for arguments, status, text in situations:
        endpoint = [] if "--endpoint" in arguments else ["--endpoint", daemon.endpoint]
        completed = run(tmp_path, *endpoint, "--output", out, *arguments)
        assert completed.returncode == status, (arguments, completed.stderr)
        assert text in completed.stderr, (arguments, completed.stderr)
        assert not Path(out).exists()


# A timeout far longer than any run here takes, so "returned before the timeout would have" is
# what these assert, not a wall-clock bound: the failure must be reported at once, not after
# 3 attempts of it.
LONG_TIMEOUT_MS = 30_000


def free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_daemon_is_reported_at_once(tmp_path):
    good = str(FIXTURES / "cases" / "llama_gqa_single" / "input.safetensors")
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as bound_never_listening:
        bound_never_listening.bind(str(stale))  # a socket file nobody accepts on: a crashed daemon's
        situations = [
            (f"ipc://{tmp_path / 'none.sock'}", "the socket file does not exist (is lomad running?)"),
            (f"ipc://{tmp_path}", f"{tmp_path} is not a socket"),
            (f"ipc://{stale}", "connection refused (the socket file is left from a daemon that is gone)"),
            (f"tcp://127.0.0.1:{free_tcp_port()}", "connection refused"),
        ]
        for endpoint, text in situations:
            completed, elapsed = valgrind(PROGRAM, ["--endpoint", endpoint, "--input", good, "--output",
                                                    str(tmp_path / "out.safetensors"), "--timeout-ms",
                                                    str(LONG_TIMEOUT_MS)], tmp_path)
            assert completed.returncode == 3, (endpoint, completed.stderr)
            assert f"lomad-compress: compress: no lomad at {endpoint}: {text}" in completed.stderr, completed.stderr
            assert elapsed < LONG_TIMEOUT_MS / 1000, f"{endpoint}: took {elapsed:.1f} s, as long as a timeout"


def test_hang_ups_during_the_handshake_end_attempts_early_as_unavailable(tmp_path):
    """A peer that accepts and closes at once (a daemon past its connection limit looks the same):
    each attempt ends after 3 hang-ups instead of its timeout; exit 3, not "not admitted"."""
    good = str(FIXTURES / "cases" / "llama_gqa_single" / "input.safetensors")
    with hang_up_endpoint() as endpoint:
        completed, elapsed = valgrind(PROGRAM, ["--endpoint", endpoint, "--input", good, "--output",
                                                str(tmp_path / "out.safetensors"), "--timeout-ms", str(LONG_TIMEOUT_MS),
                                                "--retries", "2"], tmp_path)
    assert completed.returncode == 3, completed.stderr
    assert (f"lomad-compress: compress: lomad at {endpoint} closed the connection during the handshake 3 times: its "
            "connection limit may be reached (retry later), the endpoint may require CURVE keys or a different server "
            "key, or it is not lomad") in completed.stderr, completed.stderr
    assert elapsed < LONG_TIMEOUT_MS * 3 / 1000, f"took {elapsed:.1f} s, as long as the timeouts"
    assert elapsed < LONG_TIMEOUT_MS / 1000, f"took {elapsed:.1f} s, as long as one timeout"


@pytest.fixture
def silent_daemon(tmp_path):
    """An endpoint that accepts connections and requests but never answers: a hung daemon."""
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.linger = 0
    endpoint = f"ipc://{tmp_path / 'silent.sock'}"
    router.bind(endpoint)
    yield endpoint
    router.close()
    context.term()


def test_timeout_resends_only_what_is_safe_to_repeat(silent_daemon, tmp_path):
    good = str(FIXTURES / "cases" / "llama_gqa_single" / "input.safetensors")
    common = ["--endpoint", silent_daemon, "--input", good, "--output", str(tmp_path / "out.safetensors"),
              "--timeout-ms", "300", "--retries", "2"]
    completed, _ = valgrind(PROGRAM, common, tmp_path)
    assert completed.returncode == 3, completed.stderr
    assert f"no reply from lomad at {silent_daemon} within 300 ms (3 attempts)" in completed.stderr
    completed, _ = valgrind(PROGRAM, [*common, "--sequence", "s"], tmp_path)
    assert completed.returncode == 3, completed.stderr
    assert "(1 attempt); not re-sent, since a second attempt could apply it twice" in completed.stderr


def test_help_documents_defaults_and_exit_statuses(tmp_path):
    completed, _ = valgrind(PROGRAM, ["--help"], tmp_path)
    assert completed.returncode == 0
    for text in ("default 5000", "default 2", "0 ok", "1 unexpected failure", "2 invalid endpoint",
                 "3 no daemon answered", "4 lomad answered with an error", "5 not admitted", "64 usage error",
                 "65 bad input file"):
        assert text in " ".join(completed.stdout.split()), text


def test_missing_output_directory_is_reported_before_compressing(daemon, tmp_path):
    good = str(FIXTURES / "cases" / "llama_gqa_single" / "input.safetensors")
    missing = tmp_path / "no-such-dir"
    completed = run(tmp_path, "--endpoint", daemon.endpoint, "--model", "llama_gqa", "--input", good,
                    "--sequence", "c-unwritable", "--output", str(missing / "out.safetensors"))
    assert completed.returncode == 1, completed.stderr
    assert f"lomad-compress: output: {missing / 'out.safetensors'}: the directory {missing} does not exist" in completed.stderr
    with Client(daemon.endpoint) as client:  # nothing was appended for an output that could not be written
        assert [s.name for s in client.list_sequences("c-unwritable")] == []
