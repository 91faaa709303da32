#!/usr/bin/env python3
"""Writes a LoMA checkpoint (Hugging Face folder) as a GGUF file llama.cpp loads, f32 or f16.

    python3 Examples/llamacpp/convert_to_gguf.py Models/loma-tiny /tmp/loma-tiny-f32.gguf --dtype f32

The checkpoint is read with the numpy reference's own loaders (Tools/loma_reference), so the GGUF
holds exactly the weights lomad serves; the `gguf` package writes the file. What llama.cpp needs
that a Hugging Face checkpoint says differently:

- **Rotary layout.** llama.cpp's `llama` architecture rotates adjacent pairs (2i, 2i+1) of a head,
  Hugging Face rotates halves (i, i + head_dim/2). Like llama.cpp's own converter, the rows of
  q_proj and k_proj are permuted within each head so the two compute the same attention; the keys
  llama.cpp caches are then in the permuted order, which `llama_state.keys_to_hf` undoes before
  they go to lomad (and `keys_from_hf` redoes for the memory coming back).
- **RoPE scaling.** `linear` and `llama3` become a `rope_freqs` tensor of per-frequency divisors
  (default inverse frequencies over the scaled ones, from the reference's `inverse_frequencies`),
  which llama.cpp applies to every layer.
- **Vocabulary.** The examples feed token ids, never text, so the file carries llama.cpp's
  tokenizer-less vocabulary (`tokenizer.ggml.model = "none"` with `llama.vocab_size`): llama.cpp
  accepts ids below the vocabulary size and needs no token strings.

Only what llama.cpp's `llama` graph computes is accepted: Llama checkpoints without biases
(docs/loma-spec.md 3.1 lists what lomad accepts; Qwen2 and biased Llama are refused here).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
for path in (REPO_ROOT, REPO_ROOT / "Examples" / "generation"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from Tools.loma_reference.config import ModelConfig, RopeConfig, inverse_frequencies, load_config  # noqa: E402
from Tools.loma_reference.weights import load_weights  # noqa: E402
from llama_numpy import read_checkpoint_tensor  # noqa: E402  (the final norm and LM head the reference skips)

import gguf  # noqa: E402

DTYPES = {"f32": (np.float32, gguf.LlamaFileType.ALL_F32), "f16": (np.float16, gguf.LlamaFileType.MOSTLY_F16)}


class ConversionError(ValueError):
    """The checkpoint is something llama.cpp's `llama` architecture would compute differently."""


def permute_rows_for_pairs(weight: np.ndarray, heads: int) -> np.ndarray:
    """q_proj / k_proj rows `[heads * head_dim, in]` from rotate-half order to adjacent pairs:
    within a head, row `s * head_dim/2 + i` moves to `2 * i + s` (llama.cpp's convert_hf_to_gguf
    does the same)."""
    rows = weight.shape[0]
    half = rows // heads // 2
    return weight.reshape(heads, 2, half, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def rope_frequency_divisors(rope: RopeConfig, head_dim: int) -> np.ndarray | None:
    """Per-frequency divisors llama.cpp applies (`rope_freqs`), or None for unscaled RoPE."""
    if rope.rope_type == "default":
        return None
    unscaled = inverse_frequencies(RopeConfig("default", rope.theta), head_dim)
    return (unscaled / inverse_frequencies(rope, head_dim)).astype(np.float32)


def check_supported(config: ModelConfig, where: Path) -> None:
    if config.architecture != "llama":
        raise ConversionError(f"{where}: architecture {config.architecture!r} is not converted (only Llama)")
    if config.attention_bias or config.output_bias or config.mlp_bias:
        raise ConversionError(f"{where}: biases are not converted (llama.cpp's llama graph has none)")
    if config.head_dim % 2:
        raise ConversionError(f"{where}: head_dim {config.head_dim} is odd; RoPE needs pairs")


def convert(model_dir: Path, output: Path, dtype: str = "f32") -> Path:
    """Writes `output` and returns it; raises ConversionError for checkpoints it cannot express."""
    if dtype not in DTYPES:
        raise ConversionError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    config = load_config(model_dir)
    check_supported(config, model_dir)
    weights = load_weights(model_dir, config, np.float32)
    norm = read_checkpoint_tensor(model_dir, "model.norm.weight")
    if norm is None:
        raise ConversionError(f"{model_dir}: checkpoint has no model.norm.weight")
    lm_head = None if config.tie_word_embeddings else read_checkpoint_tensor(model_dir, "lm_head.weight")
    numpy_type, file_type = DTYPES[dtype]

    writer = gguf.GGUFWriter(str(output), "llama")
    writer.add_name(model_dir.name)
    writer.add_file_type(file_type)
    writer.add_context_length(_max_positions(model_dir))
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_key_length(config.head_dim)
    writer.add_value_length(config.head_dim)
    writer.add_rope_dimension_count(config.head_dim)
    writer.add_rope_freq_base(config.rope.theta)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_tokenizer_model("none")

    def matrix(values: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(values, dtype=numpy_type)

    def vector(values: np.ndarray) -> np.ndarray:  # norms and rope_freqs stay f32, as llama.cpp's converter keeps them
        return np.ascontiguousarray(values, dtype=np.float32)

    writer.add_tensor("token_embd.weight", matrix(weights.embed_tokens))
    divisors = rope_frequency_divisors(config.rope, config.head_dim)
    if divisors is not None:
        writer.add_tensor("rope_freqs.weight", vector(divisors))
    for index, layer in enumerate(weights.layers):
        prefix = f"blk.{index}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", vector(layer.input_layernorm))
        writer.add_tensor(f"{prefix}.attn_q.weight", matrix(permute_rows_for_pairs(layer.q_proj.weight, config.num_attention_heads)))
        writer.add_tensor(f"{prefix}.attn_k.weight", matrix(permute_rows_for_pairs(layer.k_proj.weight, config.num_key_value_heads)))
        writer.add_tensor(f"{prefix}.attn_v.weight", matrix(layer.v_proj.weight))
        writer.add_tensor(f"{prefix}.attn_output.weight", matrix(layer.o_proj.weight))
        writer.add_tensor(f"{prefix}.ffn_norm.weight", vector(layer.post_attention_layernorm))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", matrix(layer.gate_proj.weight))
        writer.add_tensor(f"{prefix}.ffn_up.weight", matrix(layer.up_proj.weight))
        writer.add_tensor(f"{prefix}.ffn_down.weight", matrix(layer.down_proj.weight))
    writer.add_tensor("output_norm.weight", vector(norm))
    if lm_head is not None:  # tied checkpoints: llama.cpp reuses token_embd when `output` is absent
        writer.add_tensor("output.weight", matrix(lm_head))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return output


def _max_positions(model_dir: Path) -> int:
    return int(json.loads((model_dir / "config.json").read_text()).get("max_position_embeddings", 4096))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="Hugging Face checkpoint folder with a loma table")
    parser.add_argument("output", type=Path, help="GGUF file to write")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32", help="matrix type (default: %(default)s)")
    arguments = parser.parse_args(argv)
    try:
        convert(arguments.model, arguments.output, arguments.dtype)
    except (ValueError, OSError) as error:  # ConfigError, WeightsError and ConversionError are ValueErrors
        print(f"convert_to_gguf.py: {error}", file=sys.stderr)
        return 1
    print(f"wrote {arguments.output} ({arguments.dtype})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
