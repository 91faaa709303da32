"""Exports a trained model as a Hugging Face folder: config.json (with the `loma` section),
model.safetensors (f32) and tokenizer files. transformers loads it as `LlamaForCausalLM`
(the `loma` key is carried along as an extra attribute) and lomad as a LoMA checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from .config import RunConfig
from .model import LlamaForCausalLM
from .tokenizer import save_tokenizer


def hf_config(config: RunConfig) -> dict:
    shape, vocabulary = config.model, config.vocabulary
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": shape.hidden_size,
        "intermediate_size": shape.intermediate_size,
        "num_hidden_layers": shape.num_hidden_layers,
        "num_attention_heads": shape.num_attention_heads,
        "num_key_value_heads": shape.num_key_value_heads,
        "head_dim": shape.head_dim,
        "vocab_size": shape.vocab_size,
        "max_position_embeddings": shape.max_position_embeddings,
        "rms_norm_eps": shape.rms_norm_eps,
        "rope_theta": shape.rope_theta,
        "rope_parameters": {"rope_type": "default", "rope_theta": shape.rope_theta},
        "hidden_act": "silu",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "initializer_range": 0.02,
        "tie_word_embeddings": False,
        "bos_token_id": vocabulary.end_of_text_id,
        "eos_token_id": vocabulary.end_of_text_id,
        "pad_token_id": vocabulary.end_of_text_id,
        "dtype": "float32",
        "loma": {
            "segment_length": config.loma.segment_length,
            "compression_ratio": config.loma.compression_ratio,
            "memory_token_ids": vocabulary.memory_token_ids,
            "repetition_token_id": vocabulary.repetition_token_id,
            # "lm" marks the plain-LM baseline: same vocabulary, memory tokens never trained.
            "objective": config.training.objective,
            "repetition_weight": config.training.repetition_weight,
        },
    }


def export_folder(model: LlamaForCausalLM, config: RunConfig, folder: Path, summary: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: tensor.detach().to("cpu", torch.float32).contiguous()
               for name, tensor in model.state_dict().items()}
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(hf_config(config), indent=2) + "\n")
    save_tokenizer(config.vocabulary, folder)
    (folder / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def load_exported(folder: Path) -> tuple[LlamaForCausalLM, dict]:
    """The recipe's own model from an exported folder (used by verify_engine.py)."""
    from safetensors.torch import load_file

    from .config import ModelShape

    hf = json.loads((folder / "config.json").read_text())
    shape = ModelShape(**{field: hf[field] for field in ModelShape.__dataclass_fields__})
    model = LlamaForCausalLM(shape)
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval(), hf
