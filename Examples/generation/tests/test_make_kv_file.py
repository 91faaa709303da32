"""make_kv_file.py: the KV file it writes is the prefilled cache of the text and compresses
through a real daemon, in either layout and every dtype."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lomad_client import Client
from testing_support import FIXTURES, REPO_ROOT

EXAMPLES = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(EXAMPLES))
from llama_numpy import KV, LlamaModel  # noqa: E402
from Tools.loma_reference.kv_files import read_kv  # noqa: E402

SCRIPT = EXAMPLES / "make_kv_file.py"
FIXTURE_MODEL = "llama_gqa"  # segment_length 8, ratio 2
LOMA_TINY = REPO_ROOT / "Models" / "loma-tiny"
IDS = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 32, 38, 4, 6, 2, 6, 43, 38, 3]  # 2 segments + 4 left out


def make(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, timeout=600)


def test_the_file_holds_the_prefilled_cache_of_whole_segments(daemon, tmp_path):
    model_dir = FIXTURES / "models" / FIXTURE_MODEL
    made = make("--model", str(model_dir), "--prompt-ids", ",".join(map(str, IDS)), "--output", str(tmp_path / "kv.safetensors"))
    assert made.returncode == 0, made.stderr
    assert "16 tokens = 2 segments of 8; the last 4 tokens, less than a segment, were left out" in made.stderr
    keys, values, dtype = read_kv(tmp_path / "kv.safetensors")
    assert dtype == "F32" and keys.shape == (2, 2, 16, 8)

    # What a server holds after prefilling the 16 tokens, token by token through the model.
    model = LlamaModel(model_dir)
    cache = KV.empty(model.config)
    for position, token in enumerate(IDS[:16]):
        _, new = model.forward(np.array([token]), np.array([position]), cache)
        cache = cache + new
    np.testing.assert_allclose(keys, cache.keys.astype(np.float32), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values, cache.values.astype(np.float32), rtol=1e-5, atol=1e-6)

    with Client(daemon.endpoint, timeout=30.0) as client:
        memory = client.compress(keys.astype(np.float32), values.astype(np.float32), model=FIXTURE_MODEL)
    assert memory.segments == 2 and memory.tokens == 8


@pytest.mark.parametrize("dtype, stored", [("f16", "F16"), ("bf16", "BF16")])
def test_tokens_major_and_narrow_dtypes(daemon, tmp_path, dtype, stored):
    model_dir = FIXTURES / "models" / FIXTURE_MODEL
    common = ["--model", str(model_dir), "--prompt-ids", ",".join(map(str, IDS))]
    assert make(*common, "--output", str(tmp_path / "heads.safetensors")).returncode == 0
    made = make(*common, "--output", str(tmp_path / "tokens.safetensors"), "--layout", "tokens_major", "--dtype", dtype)
    assert made.returncode == 0, made.stderr
    heads_keys, _, _ = read_kv(tmp_path / "heads.safetensors")
    keys, values, found = read_kv(tmp_path / "tokens.safetensors", layout="tokens_major")  # back to heads-major
    assert found == stored
    np.testing.assert_allclose(keys, heads_keys, rtol=1e-2, atol=1e-2)
    with Client(daemon.endpoint, timeout=30.0) as client:
        memory = client.compress(keys.transpose(0, 2, 1, 3).astype(np.float16), values.transpose(0, 2, 1, 3).astype(np.float16),
                                 model=FIXTURE_MODEL, layout="tokens_major")
    assert memory.segments == 2 and memory.layout == "tokens_major"


def test_the_documented_command_on_loma_tiny(tmp_path):
    """The README's recipe: a text through Models/loma-tiny's byte tokenizer, then compress."""
    from lomad_client.daemon import LocalDaemon

    text = "The Debian package manager apt resolves dependencies and installs packages from the archive."
    made = make("--text", text, "--output", str(tmp_path / "kv.safetensors"))  # --model defaults to loma-tiny
    assert made.returncode == 0, made.stderr
    keys, values, _ = read_kv(tmp_path / "kv.safetensors")
    assert keys.shape == (4, 2, 64, 32)  # 92 bytes: 2 segments of 32
    with LocalDaemon({"loma-tiny": LOMA_TINY}) as daemon, Client(daemon.endpoint, timeout=60.0) as client:
        memory = client.compress(keys.astype(np.float32), values.astype(np.float32))
    assert memory.segments == 2 and memory.tokens == 16


@pytest.mark.parametrize("arguments, message", [
    (["--prompt-ids", "1,2,3"], "the text has 3 tokens; a KV file needs at least one segment of 8"),
    (["--prompt-ids", "1,x"], "--prompt-ids: not comma-separated integers"),
    (["--text", "hello"], "no readable tokenizer"),
    (["--prompt-ids", "1,2", "--output", "/nonexistent-dir/kv.safetensors"], "the directory /nonexistent-dir does not exist"),
])
def test_bad_input_is_explained(arguments, message):
    made = make("--model", str(FIXTURES / "models" / FIXTURE_MODEL), *arguments)
    assert made.returncode != 0
    assert made.stderr.startswith("make_kv_file.py: ") and message in made.stderr
