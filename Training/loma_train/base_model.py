"""Loads a pretrained Llama or Qwen2 checkpoint into the recipe's own model.

Sources: a Hugging Face folder (`config.json` with one `model.safetensors` or a sharded index)
or a GGUF file (transformers dequantises it to float32 and undoes llama.cpp's Q/K permutation, so
the weights come out in the Hugging Face `[out, in]` layout the delta is defined in). The
checkpoint's own tokenizer comes along. The recipe's model (model.py) is used for training
rather than transformers' because the LoMA layout needs explicit positions and an arbitrary
boolean mask; its parameter names are transformers', so the state dict maps one to one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import ModelShape

SUPPORTED = ("llama", "qwen2")


class BaseModelError(RuntimeError):
    pass


@dataclass
class BaseCheckpoint:
    shape: ModelShape
    state: dict[str, torch.Tensor]     # float32, HF names; no lm_head.weight when tied
    hf_config: dict[str, Any]          # the checkpoint's config as transformers reads it
    tokenizer: Any                     # a transformers fast tokenizer
    source: Path                       # the folder or the .gguf file
    gguf_sha256: str | None            # of the .gguf file, for the delta's `base`


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rope_theta(config: Any) -> float:
    parameters = getattr(config, "rope_parameters", None) or {}
    if parameters.get("rope_type", "default") != "default":
        raise BaseModelError(f"rope type {parameters.get('rope_type')!r} is not supported (only default RoPE, "
                             "which is what lomad's engine implements)")
    theta = parameters.get("rope_theta", getattr(config, "rope_theta", None))
    if theta is None:
        raise BaseModelError("the config has no rope_theta")
    return float(theta)


def shape_of(config: Any) -> ModelShape:
    """The recipe's ModelShape for a transformers config, refusing what the engine cannot run."""
    if config.model_type not in SUPPORTED:
        raise BaseModelError(f"model_type {config.model_type!r} is not supported (supported: {', '.join(SUPPORTED)})")
    qwen = config.model_type == "qwen2"
    if not qwen and getattr(config, "mlp_bias", False):
        raise BaseModelError("mlp_bias=true is not supported")
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return ModelShape(
        hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers, num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads, head_dim=head_dim, vocab_size=config.vocab_size,
        rms_norm_eps=float(config.rms_norm_eps), rope_theta=_rope_theta(config),
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=bool(config.tie_word_embeddings),
        attention_bias=True if qwen else bool(getattr(config, "attention_bias", False)),
        output_bias=False if qwen else bool(getattr(config, "attention_bias", False)))


def load_base(source: Path) -> BaseCheckpoint:
    """`source`: a .gguf file, or a folder holding config.json + safetensors (or one .gguf)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    source = source.resolve()
    gguf: Path | None = None
    if source.is_file() and source.suffix == ".gguf":
        gguf = source
    elif source.is_dir() and not (source / "config.json").exists():
        found = sorted(source.glob("*.gguf"))
        if len(found) != 1:
            raise BaseModelError(f"{source}: no config.json, and {len(found)} .gguf files (need exactly one)")
        gguf = found[0]
    elif not source.is_dir():
        raise BaseModelError(f"{source}: neither a .gguf file nor a folder")
    folder, extra = (gguf.parent, {"gguf_file": gguf.name}) if gguf else (source, {})
    try:
        config = AutoConfig.from_pretrained(folder, **extra)
        shape = shape_of(config)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **extra)
        tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
    except (OSError, ValueError) as error:
        raise BaseModelError(f"{source}: cannot load ({error})") from error
    state = {name: tensor.detach().to(torch.float32).contiguous() for name, tensor in model.state_dict().items()
             if not name.endswith("rotary_emb.inv_freq")}
    if shape.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    if state["model.embed_tokens.weight"].shape[0] != shape.vocab_size:
        raise BaseModelError(f"embedding has {state['model.embed_tokens.weight'].shape[0]} rows, "
                             f"config.vocab_size is {shape.vocab_size}")
    hf_config = {key: value for key, value in config.to_dict().items() if not key.startswith("_")}
    return BaseCheckpoint(shape, state, hf_config, tokenizer, gguf or source,
                          sha256_of(gguf) if gguf else None)
