"""LomadCache inside transformers' generate(), against a real daemon, on the fixture checkpoints.

The check of issue 20: generation through LomadCache, whose memory lomad computes, equals token for
token the generation of `Examples/generation/generation.py` on the same transformers model, whose
cache is rebuilt in numpy on every step and whose memory the independent numpy reference computes
in-process (Tools/loma_reference); the next-token logits agree within LOGIT_TOLERANCE.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from transformers import AutoModelForCausalLM

from testing_support import FIXTURES, REPO_ROOT
from lomad_client import Client
from lomad_client.hf import LomadCache

sys.path.insert(0, str(REPO_ROOT / "Examples" / "generation"))
from compressors import ReferenceCompressor  # noqa: E402
from generation import Generation  # noqa: E402
from transformers_model import TransformersModel  # noqa: E402

PROMPT = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 32, 38, 4, 6, 2, 6, 43, 38, 3, 2, 7]  # 22 tokens
OTHER_PROMPT = [5, 2, 30, 11, 17, 4, 21, 8, 33, 1, 12, 19, 6, 25, 9, 14, 2, 36, 10, 3, 29, 13]
NEW_TOKENS = 20
# f32 models on both sides; the memory differs only by f32 (daemon) against f64 (reference)
# rounding and the attention kernels (sdpa here, eager there). Measured on the six fixtures: at most
# 5e-6 (transformers 5.24 and 4.57).
LOGIT_TOLERANCE = 1e-4
TRANSFORMERS_5 = int(transformers.__version__.split(".")[0]) >= 5
# The tests pass the cache as `past_key_values`, the README's form, which works on 4.5x and 5.x;
# 5.2x renamed it `cache` and warns about the old name until 6.0 (hf extra: transformers<6).
pytestmark = pytest.mark.filterwarnings("ignore:`past_key_values` is deprecated:FutureWarning")


def model_dir(name: str) -> Path:
    return FIXTURES / "models" / name


def load_model(name: str):
    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir(name)), dtype=torch.float32)
    model.eval()
    # The fixtures' eos id is an ordinary token of their random weights; the reference never
    # stops, so generate() must not either.
    model.generation_config.eos_token_id = None
    return model


def reference(name: str, prompt: list[int], tokens: int, forced: list[int] | None = None):
    """Greedy tokens (or the logits along `forced` tokens) with memory from the numpy reference."""
    model = TransformersModel(model_dir(name), "float32")
    generation = Generation(model, ReferenceCompressor(model_dir(name), model.config))
    logits = [generation.feed(prompt)]
    chosen: list[int] = []
    for step in range(tokens):
        token = forced[step] if forced is not None else int(np.argmax(logits[-1]))
        chosen.append(token)
        if step < tokens - 1:
            logits.append(generation.feed([token]))
    return chosen, np.stack(logits)


def sequence_name(tag: str) -> str:
    return f"hf-{tag}-{uuid.uuid4().hex[:8]}"


def generate(model, cache: LomadCache, ids: torch.Tensor, **options):
    """generate() with the prompt prefilled on segment boundaries: by generate itself
    (prefill_chunk_size) on transformers 5, by cache.prefill otherwise (4.5x knows it too, but
    both ways must work)."""
    if TRANSFORMERS_5:
        options["prefill_chunk_size"] = cache.prefill_chunk_size
    else:
        cache.prefill(model, ids)
    options.setdefault("do_sample", False)
    output = model.generate(ids, past_key_values=cache, max_new_tokens=NEW_TOKENS, return_dict_in_generate=True,
                            output_logits=True, pad_token_id=0, **options)
    logits = torch.stack(output.logits, dim=1)  # [rows, steps, vocab]
    return output.sequences[:, ids.shape[1]:], logits


@pytest.mark.parametrize("name", ["llama_gqa", "qwen2_tied"])
def test_greedy_generation_equals_the_reference(client, name):
    model = load_model(name)
    sequence = sequence_name("greedy")
    cache = LomadCache(client, sequence=sequence, model=name)
    tokens, logits = generate(model, cache, torch.tensor([PROMPT]))
    expected, expected_logits = reference(name, PROMPT, NEW_TOKENS)
    assert tokens[0].tolist() == expected
    assert np.abs(logits[0].double().numpy() - expected_logits).max() < LOGIT_TOLERANCE
    segment_length = cache.segment_length
    # Every token but the last went through the model; each full segment is one memory block in lomad.
    _, info = client.read_memory(sequence, segment_count=1)
    assert info.segments == cache.segments == (len(PROMPT) + NEW_TOKENS - 1) // segment_length
    assert cache.covered == len(PROMPT) + NEW_TOKENS - 1
    assert cache.held_tokens == info.memory_tokens + (len(PROMPT) + NEW_TOKENS - 1) % segment_length
    client.delete_sequence(sequence)


def test_the_comparison_sees_the_memory(client):
    """Without compression (transformers' own cache) the tokens differ: equality above is no accident."""
    model = load_model("llama_gqa")
    plain = model.generate(torch.tensor([PROMPT]), max_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=0)
    assert plain[0, len(PROMPT):].tolist() != reference("llama_gqa", PROMPT, NEW_TOKENS)[0]


def test_a_bfloat16_model_sends_and_keeps_bfloat16(client, monkeypatch):
    """bf16 KV goes to lomad and comes back as bf16 (no f32 detour); the logits stay within bf16
    rounding of the f32 run's (measured: 0.015 on logits up to 2.1)."""
    logits, carried = {}, []
    compress = client.compress

    def observed(keys, values, **options):  # the real request, with what travelled noted
        memory = compress(keys, values, **options)
        carried.append((keys.dtype, memory.wire_dtype))
        return memory

    monkeypatch.setattr(client, "compress", observed)
    for dtype in (torch.float32, torch.bfloat16):
        model = AutoModelForCausalLM.from_pretrained(str(model_dir("llama_gqa")), dtype=dtype)
        cache = LomadCache(client, sequence=sequence_name(f"{dtype}".replace("torch.", "")), model="llama_gqa")
        found = cache.feed(model, torch.tensor([PROMPT]))
        assert found is not None and cache.segments == 2
        assert all(layer.keys.dtype == dtype for layer in cache.layers)
        assert carried[-2:] == [(dtype, {torch.float32: "f32", torch.bfloat16: "bf16"}[dtype])] * 2
        logits[dtype] = found[0, -1].float()
        client.delete_sequence(cache.sequences[0])
    assert float((logits[torch.float32] - logits[torch.bfloat16]).abs().max()) < 0.1


def test_a_hand_written_loop_equals_the_reference(client):
    """feed() and the model's own forward, position ids left to the model: the cache's length
    stands for the absolute position."""
    model = load_model("llama_gqa")
    cache = LomadCache(client, sequence=sequence_name("loop"), model="llama_gqa")
    logits = cache.feed(model, torch.tensor([PROMPT]))
    produced = []
    for _ in range(NEW_TOKENS):
        assert logits is not None
        token = int(logits[0, -1].argmax())
        produced.append(token)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([[token]]), past_key_values=cache, use_cache=True).logits
    assert produced == reference("llama_gqa", PROMPT, NEW_TOKENS)[0]
    client.delete_sequence(cache.sequences[0])


def test_seeded_sampling_follows_the_reference_logits(client):
    """Sampling draws the same tokens for the same seed, and along the drawn tokens the logits
    are the reference's: the memory under sampling is the reference memory too."""
    model = load_model("llama_gqa")
    drawn = []
    for attempt in range(2):
        torch.manual_seed(7)
        cache = LomadCache(client, sequence=sequence_name(f"sample{attempt}"), model="llama_gqa")
        tokens, logits = generate(model, cache, torch.tensor([PROMPT]), do_sample=True, temperature=1.5, top_k=0)
        drawn.append(tokens[0].tolist())
        client.delete_sequence(cache.sequences[0])
    assert drawn[0] == drawn[1]
    greedy, _ = reference("llama_gqa", PROMPT, NEW_TOKENS)
    assert drawn[0] != greedy
    _, expected_logits = reference("llama_gqa", PROMPT, NEW_TOKENS, forced=drawn[0])
    assert np.abs(logits[0].double().numpy() - expected_logits).max() < LOGIT_TOLERANCE


def test_each_batch_row_is_its_own_sequence(client):
    model = load_model("llama_gqa")
    names = [sequence_name("row0"), sequence_name("row1")]
    cache = LomadCache(client, sequence=names, model="llama_gqa")
    tokens, _ = generate(model, cache, torch.tensor([PROMPT, OTHER_PROMPT]))
    assert tokens[0].tolist() == reference("llama_gqa", PROMPT, NEW_TOKENS)[0]
    assert tokens[1].tolist() == reference("llama_gqa", OTHER_PROMPT, NEW_TOKENS)[0]
    for name in names:
        _, info = client.read_memory(name, segment_count=1)
        assert info.segments == cache.segments
        client.delete_sequence(name)


def test_resume_from_memory_another_process_wrote(client, daemon):
    """A child process runs the prompt through its LomadCache into a sequence and exits; this one
    continues from the sequence's memory (re-running only the raw tail, which lomad never held)."""
    sequence = sequence_name("resume")
    child = textwrap.dedent(f"""
        import torch
        from transformers import AutoModelForCausalLM
        from lomad_client import Client
        from lomad_client.hf import LomadCache
        model = AutoModelForCausalLM.from_pretrained({str(model_dir("llama_gqa"))!r}, dtype=torch.float32)
        with Client({daemon.endpoint!r}, timeout=30.0) as client:
            cache = LomadCache(client, sequence={sequence!r}, model="llama_gqa")
            cache.feed(model, torch.tensor([{PROMPT!r}]))
            print(cache.segments)
    """)
    completed = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout.split()[-1]) == 2
    model = load_model("llama_gqa")
    cache = LomadCache(client, sequence=sequence, model="llama_gqa")
    assert cache.covered == 2 * cache.segment_length and cache.memory_tokens > 0
    tokens, _ = generate(model, cache, torch.tensor([PROMPT]))
    assert tokens[0].tolist() == reference("llama_gqa", PROMPT, NEW_TOKENS)[0]
    client.delete_sequence(sequence)


def test_a_fork_continues_on_its_own(client):
    model = load_model("llama_gqa")
    original = LomadCache(client, sequence=sequence_name("source"), model="llama_gqa")
    original.feed(model, torch.tensor([PROMPT[:-1]]))  # generate() runs the last prompt token itself
    forked = original.fork(sequence_name("fork"))
    assert forked.covered == original.covered and forked.segments == original.segments
    # The fork follows the prompt with one continuation, the original with another.
    continuation = [int(t) for t in reference("llama_gqa", PROMPT, NEW_TOKENS)[0]]
    detour = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    original.feed(model, torch.tensor([[PROMPT[-1]] + detour[:-1]]))
    forked_tokens, _ = generate(model, forked, torch.tensor([PROMPT]))
    assert forked_tokens[0].tolist() == continuation
    original_tokens, _ = generate(model, original, torch.tensor([PROMPT + detour]))
    assert original_tokens[0].tolist() == reference("llama_gqa", PROMPT + detour, NEW_TOKENS)[0]
    for cache in (original, forked):
        _, info = client.read_memory(cache.sequences[0], segment_count=1)
        assert info.segments == cache.segments
        client.delete_sequence(cache.sequences[0])


def test_a_forward_across_a_segment_boundary_is_refused(client):
    model = load_model("llama_gqa")
    cache = LomadCache(client, sequence=sequence_name("cross"), model="llama_gqa")
    with pytest.raises(ValueError, match=r"a forward of 22 tokens crosses a segment boundary .* at most 8 fit"):
        model(input_ids=torch.tensor([PROMPT]), past_key_values=cache, use_cache=True)
    assert cache.covered == 0 and cache.segments == 0


def test_rows_and_sequences_must_match(client):
    model = load_model("llama_gqa")
    cache = LomadCache(client, sequence=sequence_name("rows"), model="llama_gqa")
    with pytest.raises(ValueError, match="the batch has 2 rows but the cache has 1 sequences"):
        model(input_ids=torch.tensor([PROMPT[:4], PROMPT[4:8]]), past_key_values=cache, use_cache=True)
    with pytest.raises(ValueError, match="each batch row needs a sequence of its own"):
        LomadCache(client, sequence=["same", "same"], model="llama_gqa")


def test_a_model_the_daemon_does_not_serve_is_refused(daemon):
    """The daemon serves several fixtures: a cache must name one, and a model whose KV shape
    differs from it is refused at the first forward."""
    with Client(daemon.endpoint, timeout=30.0) as client:
        with pytest.raises(LookupError, match="serves no model"):
            LomadCache(client, sequence=sequence_name("none"))
        cache = LomadCache(client, sequence=sequence_name("shape"), model="llama_head_dim")
        with pytest.raises(ValueError, match="load the same checkpoint in both"):
            load_model("llama_gqa")(input_ids=torch.tensor([PROMPT[:4]]), past_key_values=cache, use_cache=True)


def test_generate_transformers_program_checks_against_the_reference():
    """The example program on Models/loma-tiny (byte tokenizer, its own daemon): --check passes."""
    program = REPO_ROOT / "Examples" / "generation" / "generate_transformers.py"
    completed = subprocess.run([sys.executable, str(program), "--prompt", "The Debian package manager",
                                "--max-new-tokens", "40", "--check"], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    assert "check passed: 40 tokens identical" in completed.stderr
    assert "2 segments compressed by lomad" in completed.stderr  # 26 + 39 positions: two whole segments of 32
