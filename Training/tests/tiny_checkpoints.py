"""Tiny random pretrained-style checkpoints for the fine-tuning tests, made with transformers.

A byte-level tokenizer (the 256 bytes and `<|endoftext|>`, 257 tokens) and a random Llama (tied
embeddings, one safetensors file) or Qwen2 (untied, q/k/v biases, sharded safetensors), saved as
a Hugging Face folder exactly as a downloaded checkpoint is; and a fake `prose` corpus cache so
`FineTuner` runs without apt.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from loma_train.corpus import CORPORA
from loma_train.tokenizer import _byte_symbols

VOCAB = 257
TEXT = ("The memory of a segment is a few key/value rows that stand for many tokens. "
        "A reader attends to them instead of the raw past, which is what saves the cache. ")


def save_byte_tokenizer(folder: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {symbol: byte for byte, symbol in enumerate(_byte_symbols())}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(["<|endoftext|>"])
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>",
                            unk_token=None).save_pretrained(str(folder))


def make_checkpoint(folder: Path, kind: str) -> Path:
    """`kind`: "llama" (tied, single file) or "qwen2" (untied, biases, sharded)."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(7)
    common = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                  rms_norm_eps=1e-5, bos_token_id=256, eos_token_id=256)
    if kind == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common, head_dim=8, tie_word_embeddings=True,
                                             rope_parameters={"rope_type": "default", "rope_theta": 10000.0}))
        shard = "10GB"
    else:
        model = Qwen2ForCausalLM(Qwen2Config(**common, tie_word_embeddings=False,
                                             rope_parameters={"rope_type": "default", "rope_theta": 1e6}))
        shard = "20KB"
    with torch.no_grad():   # a random init has zero biases: make them count
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.normal_(0, 0.1)
    model.save_pretrained(str(folder), max_shard_size=shard)
    save_byte_tokenizer(folder)
    return folder


def make_prose_cache(cache: Path) -> None:
    """`cache/prose` as load_corpus leaves it, holding repeated text (no apt needed)."""
    prose = cache / "prose"
    prose.mkdir(parents=True, exist_ok=True)
    train = np.frombuffer((TEXT * 60).encode(), dtype=np.uint8)
    held_out = np.frombuffer((TEXT[::-1] * 20).encode(), dtype=np.uint8)
    train.tofile(prose / "train.bin")
    held_out.tofile(prose / "held_out.bin")
    (prose / "stats.json").write_text(json.dumps({"packages": CORPORA["prose"]}))
