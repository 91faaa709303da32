"""The committed delta of a fine-tuned checkpoint (Models/deltas/NAME/, format `lomad-delta/1`).

What git holds instead of weights: LoRA factors, the new embedding rows, the full config with
the `loma` section and the extended tokenizer. `write_delta` is the training side;
`merge_delta` is the rebuild, in numpy, done exactly as Tools/prepare-model.sh does it (float64,
one rank at a time, elementwise products only, so no BLAS rounding enters), which lets the tests
check the round trip and lets `finetune export` serve the very weights prepare-model rebuilds.
The training side never writes `result`: `prepare-model.sh NAME --record` fills it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "lomad-delta/1"
# What transformers' save_pretrained writes for a tokenizer (chat_template.jinja: an instruct
# model's chat template, kept so the result chats as its base does).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")


@dataclass
class DeltaContents:
    factors: dict[str, tuple[np.ndarray, np.ndarray]]   # module name -> (A [rank, in], B [out, rank])
    new_rows: dict[str, np.ndarray]                     # "model.embed_tokens" / "lm_head" -> rows
    replaced: dict[str, np.ndarray]                     # full tensors carried whole
    rank: int
    alpha: float
    targets: list[str]


def write_delta(folder: Path, contents: DeltaContents, name: str, base: dict[str, str], config: dict[str, Any],
                tokenizer: Any, factor_dtype: str = "float16") -> None:
    """Writes delta.json, delta.safetensors, config.json and the tokenizer files into `folder`."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, np.ndarray] = {}
    for module, (a, b) in contents.factors.items():
        tensors[f"{module}.lora_A"] = np.ascontiguousarray(a.astype(factor_dtype))
        tensors[f"{module}.lora_B"] = np.ascontiguousarray(b.astype(factor_dtype))
    for owner, rows in contents.new_rows.items():
        tensors[f"{owner}.new_rows"] = np.ascontiguousarray(rows.astype(np.float32))
    for tensor_name, tensor in contents.replaced.items():
        tensors[tensor_name] = np.ascontiguousarray(tensor.astype(np.float32))
    save_file(dict(sorted(tensors.items())), str(folder / "delta.safetensors"), metadata={"format": FORMAT})
    rows = {r.shape[0] for r in contents.new_rows.values()}
    if len(rows) > 1:
        raise ValueError(f"new embedding and head rows disagree in count: {sorted(rows)}")
    description = {
        "format": FORMAT,
        "name": name,
        "base": base,
        "lora": {"rank": contents.rank, "alpha": contents.alpha, "targets": contents.targets},
        "new_token_rows": rows.pop() if rows else 0,
        "replaced": sorted(contents.replaced),
    }
    (folder / "delta.json").write_text(json.dumps(description, indent=2) + "\n")
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tokenizer.save_pretrained(str(folder))


def read_delta(folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    from safetensors.numpy import load_file

    description = json.loads((folder / "delta.json").read_text())
    if description.get("format") != FORMAT:
        raise ValueError(f"{folder / 'delta.json'}: format {description.get('format')!r}, expected {FORMAT!r}")
    return description, load_file(str(folder / "delta.safetensors"))


def merge_delta(base: dict[str, np.ndarray], folder: Path) -> dict[str, np.ndarray]:
    """The result's float32 tensors: `W + (alpha/rank) B A` accumulated in float64 one rank at a
    time, new rows appended, replaced tensors swapped in (delta-format, "Determinism")."""
    description, tensors = read_delta(folder)
    lora = description["lora"]
    scale = float(lora["alpha"]) / float(lora["rank"])
    merged = dict(base)
    for key in sorted(tensors):
        if not key.endswith(".lora_A"):
            continue
        module = key[: -len(".lora_A")]
        weight_name = f"{module}.weight"
        if weight_name not in base:
            raise ValueError(f"delta factor {key}: the base has no {weight_name}")
        a = tensors[key].astype(np.float64)
        b = tensors[f"{module}.lora_B"].astype(np.float64)
        w = base[weight_name].astype(np.float64)
        if b.shape[0] != w.shape[0] or a.shape[1] != w.shape[1]:
            raise ValueError(f"{module}: factors {b.shape} x {a.shape} do not fit weight {w.shape}")
        for k in range(a.shape[0]):
            w += scale * (b[:, k:k + 1] * a[k:k + 1, :])
        merged[weight_name] = w.astype(np.float32)
    for owner in ("model.embed_tokens", "lm_head"):
        rows = tensors.get(f"{owner}.new_rows")
        if rows is not None:
            if f"{owner}.weight" not in base:
                raise ValueError(f"delta has {owner}.new_rows, the base has no {owner}.weight")
            merged[f"{owner}.weight"] = np.concatenate([base[f"{owner}.weight"], rows.astype(np.float32)])
    for name in description["replaced"]:
        merged[name] = tensors[name].astype(np.float32)
    return merged


def write_model_folder(folder: Path, merged: dict[str, np.ndarray], delta_folder: Path) -> None:
    """A loadable Hugging Face folder: model.safetensors (float32, sorted) plus the delta's config
    and tokenizer files."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({name: np.ascontiguousarray(merged[name], dtype=np.float32) for name in sorted(merged)},
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    for name in ("config.json", *TOKENIZER_FILES):
        source = delta_folder / name
        if source.exists():
            (folder / name).write_bytes(source.read_bytes())
