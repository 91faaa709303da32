"""The converted checkpoints in real llama.cpp, its sequence state, and the compressed generation.

Every test loads a GGUF written by convert_to_gguf.py into libllama (llama-cpp-python) and checks
it against the float64 numpy model of Examples/generation; the generation tests compress through
a real lomad process.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import generate_llamacpp
import llama_state
from compressed_generation import LlamaCppLoMAGeneration
from compressors import ReferenceCompressor
from convert_to_gguf import ConversionError, convert
from generation import Generation
from llama_numpy import KV, LlamaModel
from llamacpp_sequence import LlamaCppError, LlamaCppSequence
from lomad_client import Client
from testing_support import FIXTURES, REPO_ROOT, relative_error

LOMA_TINY = REPO_ROOT / "Models" / "loma-tiny"
FIXTURE_PROMPT = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 32, 38, 4, 6, 2, 6, 43, 38, 3, 2, 7]
TINY_PROMPT = list(b"The Debian package manager apt resolves dependencies")
# Default RoPE with and without GQA, an explicit head_dim, llama3 scaling on a bf16 checkpoint,
# a sharded one: every Llama layout lomad serves that llama.cpp's `llama` graph computes.
FIXTURE_MODELS = ["llama_gqa", "llama_head_dim", "llama3_v5_bf16", "llama_sharded"]


def checkpoint(name: str) -> Path:
    return LOMA_TINY if name == "loma-tiny" else FIXTURES / "models" / name


def prompt_for(name: str) -> list[int]:
    return TINY_PROMPT if name == "loma-tiny" else FIXTURE_PROMPT


def open_sequence(gguf: Path, model: LlamaModel, **options) -> LlamaCppSequence:
    config = model.config
    return LlamaCppSequence(gguf, config.num_hidden_layers, config.num_key_value_heads, config.head_dim,
                            context_cells=256, max_batch=64, **options)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """name, dtype -> GGUF path, converted once per module."""
    folder = tmp_path_factory.mktemp("gguf")
    done: dict[tuple[str, str], Path] = {}

    def get(name: str, dtype: str = "f32") -> Path:
        if (name, dtype) not in done:
            done[name, dtype] = convert(checkpoint(name), folder / f"{name}-{dtype}.gguf", dtype)
        return done[name, dtype]

    return get


@pytest.mark.parametrize("name", ["loma-tiny", *FIXTURE_MODELS])
def test_llamacpp_computes_the_logits_of_the_numpy_model(converted, name):
    """Token by token with the full cache: the converter's permutation, RoPE scaling and norms."""
    model = LlamaModel(checkpoint(name))
    prompt = prompt_for(name)[:20]
    cache = KV.empty(model.config)
    with open_sequence(converted(name), model) as sequence:
        for position, token in enumerate(prompt):
            logits = sequence.decode([token], position)
            expected, new = model.forward(np.array([token]), np.array([position]), cache)
            cache = cache + new
            np.testing.assert_allclose(logits, expected[-1], atol=2e-4, rtol=0)


@pytest.mark.parametrize("flash_attention", [False, True])
@pytest.mark.parametrize("cache_type", ["f32", "f16"])
def test_the_state_llamacpp_writes_parses_and_serializes_to_the_same_bytes(converted, flash_attention, cache_type):
    model = LlamaModel(LOMA_TINY)
    with open_sequence(converted("loma-tiny"), model, cache_type=cache_type, flash_attention=flash_attention) as sequence:
        sequence.decode(TINY_PROMPT[:20], 0)
        data = sequence.state_bytes()
        state = llama_state.parse(data, model.config.num_hidden_layers,
                                  model.config.num_key_value_heads * model.config.head_dim)
        assert state.v_transposed is not flash_attention  # llama.cpp transposes V only without flash attention
        assert state.keys.dtype == np.dtype("float16" if cache_type == "f16" else "float32")
        np.testing.assert_array_equal(np.sort(state.positions), np.arange(20))
        assert llama_state.serialize(state) == data
        sequence.replace_state(state)
        assert sequence.state_bytes() == data


def test_llama_cpp_keys_are_the_numpy_keys_after_rope(converted):
    """llama.cpp caches keys after RoPE, as lomad expects them; keys_to_hf gives numpy's order."""
    model = LlamaModel(LOMA_TINY)
    with open_sequence(converted("loma-tiny"), model) as sequence:
        sequence.decode(TINY_PROMPT[:12], 100)  # positions 100..111: RoPE is far from the identity
        state = sequence.state().sorted_by_position()
    _, expected = model.forward(np.array(TINY_PROMPT[:12]), np.arange(100, 112), KV.empty(model.config))
    keys = llama_state.keys_to_hf(state.keys.astype(np.float64), model.config.num_key_value_heads)
    values = llama_state.values_to_hf(state.values.astype(np.float64), model.config.num_key_value_heads)
    assert relative_error(keys, expected.keys) < 1e-5  # f32 arithmetic against float64
    assert relative_error(values, expected.values) < 1e-5
    assert relative_error(state.keys.astype(np.float64), llama_state.keys_from_hf(expected.keys)) < 1e-5


@pytest.mark.parametrize("flash_attention", [False, True])
def test_cells_written_at_scattered_positions_are_attended_at_those_positions(converted, flash_attention):
    """The property LoMA memory needs: a sequence may hold cells at any positions (here 1, 4 and 7
    of 0..7), and a new token attends to them as a cache holding exactly those KV."""
    model = LlamaModel(LOMA_TINY)
    prompt, kept = TINY_PROMPT[:8], [1, 4, 7]
    with open_sequence(converted("loma-tiny"), model, flash_attention=flash_attention) as sequence:
        full_logits = sequence.decode(prompt, 0)
        state = sequence.state()
        sequence.replace_state(state.select(np.isin(state.positions, kept)))
        assert sequence.position_range() == (1, 7)
        assert sequence.state().cells == 3
        logits = sequence.decode([prompt[-1]], 8)
    _, all_kv = model.forward(np.array(prompt), np.arange(8), KV.empty(model.config))
    held = KV(all_kv.keys[:, :, kept], all_kv.values[:, :, kept])
    expected, _ = model.forward(np.array([prompt[-1]]), np.array([8]), held)
    tolerance = 2e-2 if flash_attention else 2e-4  # llama.cpp's CPU flash attention rounds K and V to f16
    np.testing.assert_allclose(logits, expected[-1], atol=tolerance, rtol=0)
    assert np.max(np.abs(logits - full_logits)) > 10 * tolerance  # dropping cells changed the answer


@pytest.mark.parametrize("model, ratio, options", [
    ("loma-tiny", 4, []), ("loma-tiny", 4, ["--dtype", "f16"]), ("loma-tiny", 4, ["--flash-attn"]),
    ("loma-tiny-r2", 2, []), ("loma-tiny-r8", 8, []),
], ids=["f32", "f16", "flash-attn", "r2", "r8"])
def test_run_check_on_the_shipped_models_passes_with_fewer_cells_than_positions(model, ratio, options, capsys):
    """`run.sh --check` in-process: its own lomad, llama.cpp's greedy tokens equal numpy's."""
    arguments = ["--check", "--max-new-tokens", "80", "--model", str(REPO_ROOT / "Models" / model), *options]
    assert generate_llamacpp.main(arguments) == 0
    output = capsys.readouterr()
    assert "check passed: 80 greedy tokens identical" in output.err
    held, positions = map(int, re.search(r"held (\d+) KV cells for (\d+) positions", output.out).groups())
    assert positions == len(TINY_PROMPT) + 79
    segments = positions // 32
    assert held == segments * (32 // ratio) + positions % 32  # memory of every segment plus the current one raw


@pytest.mark.parametrize("name", FIXTURE_MODELS)
def test_run_check_on_the_fixture_models_passes(daemon, name, capsys):
    arguments = ["--check", "--endpoint", daemon.endpoint, "--model-name", name, "--model", str(checkpoint(name)),
                 "--prompt-ids", ",".join(map(str, FIXTURE_PROMPT)), "--max-new-tokens", "40", "--quiet"]
    assert generate_llamacpp.main(arguments) == 0
    assert "check passed: 40 greedy tokens identical" in capsys.readouterr().err


def test_the_check_sees_different_memory(converted, daemon):
    """Memory from the mean_pool baseline changes llama.cpp's tokens: equal tokens are no accident."""
    name = "llama_gqa"
    model = LlamaModel(checkpoint(name))
    loma = model.config.loma
    with Client(daemon.endpoint, timeout=60.0) as client:

        def mean_pool(keys, values, position):
            memory = client.compress(keys, values, model=name, position=position, method="mean_pool")
            return memory.keys, memory.values, memory.positions

        with open_sequence(converted(name), model) as sequence:
            generation = LlamaCppLoMAGeneration(sequence, loma.segment_length, loma.compression_ratio, mean_pool)
            pooled = [token for token, _ in generation.greedy(FIXTURE_PROMPT, 40)]
    reference = Generation(model, ReferenceCompressor(checkpoint(name), model.config))
    assert pooled != list(reference.greedy(FIXTURE_PROMPT, 40))


def test_checkpoints_llama_cpp_would_compute_differently_are_refused(tmp_path):
    for name, reason in [("qwen2_tied", "architecture 'qwen2'"), ("llama_linear_mha_bias", "biases")]:
        with pytest.raises(ConversionError, match=reason):
            convert(checkpoint(name), tmp_path / f"{name}.gguf")
        assert not (tmp_path / f"{name}.gguf").exists()


def test_llamacpp_decodes_only_at_one_past_the_largest_position_held(converted):
    """The continuity llama_batch_allocr demands (docs/integrations.md, llama.cpp limits): after the
    memory of positions 0..7 the next token must sit at 8; LoMA's last memory token is at 7."""
    model = LlamaModel(LOMA_TINY)
    with open_sequence(converted("loma-tiny"), model) as sequence:
        sequence.decode(TINY_PROMPT[:8], 0)
        state = sequence.state()
        sequence.replace_state(state.select(np.isin(state.positions, [3, 7])))  # memory-like cells
        with pytest.raises(LlamaCppError, match="at position 9"):
            sequence.decode([TINY_PROMPT[8]], 9)
        sequence.decode([TINY_PROMPT[8]], 8)
        assert sequence.position_range() == (3, 8)


def test_the_check_fails_and_says_where_when_tokens_differ(capsys):
    logits = [np.zeros(4), np.ones(4), np.ones(4)]
    memory = [np.ones((1, 1, 2, 2))]
    same = generate_llamacpp.Run([1, 2, 3], logits, memory, memory)
    other = generate_llamacpp.Run([1, 2, 0], logits, memory, memory)
    assert generate_llamacpp.compare(same, other) == 1
    assert "differ first at token 2" in capsys.readouterr().err
    assert generate_llamacpp.compare(same, same) == 0


def test_a_checkpoint_llama_cpp_cannot_run_is_one_line_on_stderr(capsys):
    model = checkpoint("qwen2_tied")
    assert generate_llamacpp.main(["--model", str(model), "--prompt-ids", "1,2,3", "--quiet"]) == 1
    assert capsys.readouterr().err.strip() == f"generate_llamacpp.py: {model}: architecture 'qwen2' is not converted (only Llama)"
