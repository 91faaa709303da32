"""Fine-tuning a pretrained checkpoint: loading (single and sharded safetensors, tied and untied),
vocabulary extension, a few LoRA steps, resume, the delta's round trip through the numpy merge,
and the exported folder loaded back by transformers.

    cd Training && /path/to/venv/bin/python -m pytest tests -q
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from loma_train.base_model import BaseModelError, load_base
from loma_train.bpe_vocabulary import BPEVocabulary, extend_tokenizer
from loma_train.delta import merge_delta, read_delta
from loma_train.finetune import FineTuner, FineTuneSettings, build_model
from tiny_checkpoints import VOCAB, make_checkpoint, make_prose_cache

SEGMENT, RATIO = 16, 4


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def checkpoint(request, tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture()
def cache(tmp_path) -> Path:
    make_prose_cache(tmp_path / "cache")
    return tmp_path / "cache"


def settings_for(checkpoint: Path, **changes) -> FineTuneSettings:
    return replace(FineTuneSettings(base=str(checkpoint), segment_length=SEGMENT, compression_ratio=RATIO,
                                    segments_per_sequence=2, batch_size=2, steps=6, learning_rate=1e-2,
                                    warmup_steps=1, lora_rank=4, lora_alpha=8.0, eval_every=3, eval_windows=2,
                                    checkpoint_every=3, gradient_checkpointing=True), **changes)


def test_base_model_matches_transformers(checkpoint: Path) -> None:
    """The recipe's model with the base weights gives transformers' logits on the text vocabulary
    (the new rows only add columns), so the mapping of names, biases and tying is right."""
    from transformers import AutoModelForCausalLM

    base = load_base(checkpoint)
    tuned = build_model(base, settings_for(checkpoint)).model.eval()
    ids = torch.tensor([[72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100]])
    positions = torch.arange(ids.shape[1])[None]
    mask = torch.ones(ids.shape[1], ids.shape[1], dtype=torch.bool).tril()
    with torch.no_grad():
        ours = tuned(ids, positions, mask).logits
        theirs = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()(ids).logits
    assert ours.shape[-1] == VOCAB + 1 + SEGMENT // RATIO
    torch.testing.assert_close(ours[..., :VOCAB], theirs, rtol=1e-4, atol=1e-4)


def test_vocabulary_extension(checkpoint: Path) -> None:
    base = load_base(checkpoint)
    vocabulary = BPEVocabulary(VOCAB, SEGMENT // RATIO)
    extend_tokenizer(base.tokenizer, vocabulary)
    assert len(base.tokenizer) == vocabulary.size == VOCAB + 5
    ids = base.tokenizer("a<|repeat|><|memory_3|>b", add_special_tokens=False).input_ids
    assert ids == [97, VOCAB, VOCAB + 4, 98]
    with pytest.raises(ValueError, match="already has"):
        extend_tokenizer(base.tokenizer, BPEVocabulary(len(base.tokenizer), 4))


def test_new_rows_start_inside_the_embedding_distribution(checkpoint: Path) -> None:
    base = load_base(checkpoint)
    tuned = build_model(base, settings_for(checkpoint))
    rows = tuned.model.model.embed_tokens.new_rows.detach()
    embedding = base.state["model.embed_tokens.weight"]
    assert rows.shape == (1 + SEGMENT // RATIO, embedding.shape[1])
    assert torch.all((rows - embedding.mean(0)).norm(dim=1) < 0.5 * (embedding - embedding.mean(0)).norm(dim=1).mean())
    assert len({tuple(row.tolist()) for row in rows}) == rows.shape[0]   # each slot its own start


def test_refuses_unsupported_checkpoints(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "vocab_size": 10}))
    with pytest.raises(BaseModelError):
        load_base(tmp_path)
    with pytest.raises(BaseModelError, match="neither"):
        load_base(tmp_path / "missing.bin")


@pytest.mark.parametrize("objective", ["loma", "lm"])
def test_finetune_resume_export_round_trip(checkpoint: Path, cache: Path, tmp_path: Path, objective: str) -> None:
    settings = settings_for(checkpoint, objective=objective)
    straight = FineTuner.create(tmp_path / "straight", settings, cache, "cpu", 1)
    before = straight.evaluate()
    straight.train()
    after = straight.last_eval
    # A few steps at a high rate on a repetitive corpus: the held-out loss must move down.
    assert after["loss"] < before["loss"]
    if objective == "loma":
        assert "repetition_accuracy" in after
    metrics = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [3, 6]

    # Interrupted after the checkpoint of step 3, then resumed: the same parameters as straight through.
    interrupted = FineTuner.create(tmp_path / "split", settings, cache, "cpu", 1)
    interrupted.train(until=3)
    resumed = FineTuner.resume(tmp_path / "split", cache, "cpu", 1)
    assert resumed.step == 3
    resumed.train()
    for name, parameter in straight.tuned.trainable().items():
        torch.testing.assert_close(resumed.tuned.trainable()[name], parameter, rtol=1e-5, atol=1e-6)

    delta, folder = tmp_path / "delta", tmp_path / "model"
    straight.export_delta(delta, "tiny-test")
    description, tensors = read_delta(delta)
    assert description["format"] == "lomad-delta/1" and "result" not in description
    assert description["new_token_rows"] == 1 + SEGMENT // RATIO
    assert description["lora"] == {"rank": 4, "alpha": 8.0, "targets": list(settings.lora_targets)}
    assert tensors["model.layers.1.mlp.down_proj.lora_A"].dtype == np.float16
    assert ("lm_head.new_rows" in tensors) == (checkpoint.name.startswith("qwen2"))
    config = json.loads((delta / "config.json").read_text())
    assert config["vocab_size"] == VOCAB + 5 and config["loma"]["objective"] == objective
    assert config["loma"]["repetition_token_id"] == VOCAB
    assert config["loma"]["memory_token_ids"] == [VOCAB + 1 + j for j in range(SEGMENT // RATIO)]

    # The numpy merge of the delta gives the trained torch weights (up to the float16 factors).
    base = {name: tensor.numpy() for name, tensor in straight.base.state.items()}
    merged = merge_delta(base, delta)
    trained = straight.tuned.merged_state()
    assert set(merged) == set(trained)
    changed = 0
    for name, tensor in trained.items():
        np.testing.assert_allclose(merged[name], tensor.numpy(), rtol=0, atol=2e-3, err_msg=name)
        changed += not np.array_equal(merged[name], base.get(name))
    assert changed > 4 * 2   # the adapted projections and the embedding moved

    # The exported folder loads in transformers and computes what the recipe's model computes.
    from transformers import AutoModelForCausalLM, AutoTokenizer

    straight.export_folder(folder, delta)
    loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = tokenizer("memory rows<|repeat|>", return_tensors="pt").input_ids
    assert ids[0, -1].item() == VOCAB
    model = straight.tuned.model.eval()
    with torch.no_grad():
        ours = model(ids, torch.arange(ids.shape[1])[None],
                     torch.ones(ids.shape[1], ids.shape[1], dtype=torch.bool).tril()).logits
        theirs = loaded(ids).logits
    torch.testing.assert_close(theirs, ours, rtol=0, atol=5e-3)


def test_resume_refuses_a_missing_checkpoint(cache: Path, tmp_path: Path) -> None:
    from loma_train.finetune import FineTuneError

    with pytest.raises(FineTuneError, match="no checkpoint"):
        FineTuner.resume(tmp_path / "nothing", cache, "cpu", 1)
