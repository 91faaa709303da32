"""The numpy generation and the two-process sharing example, against a real daemon.

The check of the issue: a generation whose memory comes from the daemon gives the same tokens
as the same generation with memory computed in-process by the independent numpy reference.
It runs on Models/loma-tiny when that checkpoint is present and always on a fixture model.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lomad_client import Client
from testing_support import FIXTURES, REPO_ROOT

EXAMPLES = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(EXAMPLES))
from compressors import DaemonCompressor, ReferenceCompressor  # noqa: E402
from generate_numpy import generate  # noqa: E402
from llama_numpy import LlamaModel  # noqa: E402

FIXTURE_MODEL = "llama_gqa"
LOMA_TINY = REPO_ROOT / "Models" / "loma-tiny"
PROMPT = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 32, 38, 4, 6, 2, 6, 43, 38, 3, 2, 7]  # 22 tokens: 2 segments + 6


def checkpoints():
    found = [pytest.param(FIXTURES / "models" / FIXTURE_MODEL, FIXTURE_MODEL, PROMPT, id=FIXTURE_MODEL)]
    if (LOMA_TINY / "config.json").exists():
        text = list("The Debian package manager apt resolves dependencies".encode())
        found.append(pytest.param(LOMA_TINY, "loma-tiny", text, id="loma-tiny"))
    return found


@pytest.fixture(scope="module")
def tiny_daemon():
    """loma-tiny is not among the session daemon's fixtures; serve it separately when present."""
    if not (LOMA_TINY / "config.json").exists():
        yield None
        return
    from lomad_client.daemon import LocalDaemon
    with LocalDaemon({"loma-tiny": LOMA_TINY}) as running:
        yield running


@pytest.mark.parametrize("model_dir, model_name, prompt", checkpoints())
def test_daemon_memory_generates_the_same_tokens_as_the_reference(daemon, tiny_daemon, model_dir, model_name, prompt):
    model = LlamaModel(model_dir)
    endpoint = (tiny_daemon if model_name == "loma-tiny" else daemon).endpoint
    with Client(endpoint, timeout=60.0) as client:
        sequence = f"gen-{uuid.uuid4().hex[:8]}"
        through_daemon = generate(model, DaemonCompressor(client, model_name, sequence), prompt, 40)
        _, info = client.read_memory(sequence, segment_count=1)
        client.delete_sequence(sequence)
    segment_length = model.config.loma.segment_length
    assert info.segments == (len(prompt) + 39) // segment_length  # every token but the last went through the model
    in_process = generate(model, ReferenceCompressor(model_dir, model.config), prompt, 40)
    assert through_daemon == in_process
    assert len(through_daemon) == 40


def test_the_comparison_sees_different_memory(daemon):
    """The baseline mean_pool memory changes the generation: equal tokens above are no accident."""
    model_dir = FIXTURES / "models" / FIXTURE_MODEL
    model = LlamaModel(model_dir)
    with Client(daemon.endpoint, timeout=60.0) as client:

        def mean_pool(segment, position, held):
            from llama_numpy import KV
            memory = client.compress(segment.keys.astype("float32"), segment.values.astype("float32"),
                                     model=FIXTURE_MODEL, position=position, method="mean_pool")
            return KV(memory.keys.astype("float64"), memory.values.astype("float64"))

        pooled = generate(model, mean_pool, PROMPT, 40)
    assert pooled != generate(model, ReferenceCompressor(model_dir, model.config), PROMPT, 40)


def run_example(*arguments: str) -> str:
    completed = subprocess.run([sys.executable, *arguments], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def generate_numpy_arguments(endpoint: str, *more: str) -> list[str]:
    return [str(EXAMPLES / "generate_numpy.py"), "--endpoint", endpoint, "--model-name", FIXTURE_MODEL,
            "--model", str(FIXTURES / "models" / FIXTURE_MODEL), "--prompt-ids", ",".join(map(str, PROMPT)), *more]


def test_generate_numpy_program_with_check(daemon):
    sequence = f"program-{uuid.uuid4().hex[:8]}"
    output = run_example(*generate_numpy_arguments(daemon.endpoint, "--max-new-tokens", "24", "--check", "--quiet",
                                                   "--sequence", sequence))
    assert output.startswith("tokens: ") and len(output.split(":")[1].split(",")) == 24
    with Client(daemon.endpoint) as client:
        assert client.list_sequences(sequence) == []  # the example deleted what it made


def test_generate_numpy_keeps_the_sequence_when_asked(daemon):
    sequence = f"kept-{uuid.uuid4().hex[:8]}"
    run_example(*generate_numpy_arguments(daemon.endpoint, "--max-new-tokens", "2", "--quiet", "--sequence", sequence,
                                          "--keep-sequence"))
    with Client(daemon.endpoint) as client:
        assert [info.segments for info in client.list_sequences(sequence)] == [2]
        client.delete_sequence(sequence)


@pytest.mark.parametrize("endpoint, code, message", [
    ("/tmp/x.sock", 2, "generate_numpy.py: invalid endpoint: not an endpoint: '/tmp/x.sock'; did you mean ipc:///tmp/x.sock?"),
    ("ipc:///nonexistent-dir/lomad.sock", 3, "generate_numpy.py: unavailable: no lomad at ipc:///nonexistent-dir/lomad.sock: "
                                             "the socket file does not exist (is lomad running?)"),
])
def test_generate_numpy_reports_client_errors_in_one_line(endpoint, code, message):
    completed = subprocess.run([sys.executable, *generate_numpy_arguments(endpoint, "--quiet")],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == code
    assert completed.stderr == message + "\n"


def test_a_second_process_continues_from_the_published_prefix(daemon):
    model_dir = FIXTURES / "models" / FIXTURE_MODEL
    # B's prompt starts with A's and goes on; 4 whole segments of A's prompt are shared.
    long_prompt = [(7 * i + 3) % 40 for i in range(35)]
    continued_prompt = long_prompt + [11, 12, 13]
    common = ["--endpoint", daemon.endpoint, "--model", str(model_dir), "--model-name", FIXTURE_MODEL]

    published = run_example(str(EXAMPLES / "share_prefix.py"), "publish", *common,
                            "--prompt-ids", ",".join(map(str, long_prompt)))
    assert "published 4 chunks" in published
    continued = run_example(str(EXAMPLES / "share_prefix.py"), "continue", *common,
                            "--prompt-ids", ",".join(map(str, continued_prompt)), "--max-new-tokens", "20")
    assert "found 4 of 4 chunks: reused memory for 32 prompt tokens, ran 6 prompt tokens" in continued
    with Client(daemon.endpoint) as client:  # both processes deleted their scratch sequences
        assert client.list_sequences("prefix-") == [] and client.list_sequences("continue-") == []
    tokens = [int(t) for t in continued.split("tokens:")[1].strip().split(",")]

    # The same generation in one process, all memory computed here by the reference.
    model = LlamaModel(model_dir)
    assert tokens == generate(model, ReferenceCompressor(model_dir, model.config), continued_prompt, 20)
