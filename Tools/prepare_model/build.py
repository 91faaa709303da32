"""Writing the model folder: `model.safetensors` in a fixed byte layout, config and tokenizer.

The safetensors file is written tensor by tensor in sorted name order with a fixed header
(`{"format": "pt"}` metadata, compact JSON, space padding to 8 bytes), so equal tensors give an
equal file and the sha256 recorded in the delta identifies the result.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from Tools.loma_reference.safetensors_np import write_streaming

from .delta import TOKENIZER_FILES, Delta, DeltaError
from .gguf_base import GGUFBase
from .merge import result_tensor

_LAYER = re.compile(r"^model\.layers\.(\d+)\.")
#: Written next to the model so a later run knows the folder is its own to replace.
STAMP = "prepare_model.json"


def checked_config(delta: Delta, base: GGUFBase, layers: int | None) -> dict:
    """The delta's config.json after checking it describes the base plus the delta; with
    `layers`, cut to the first `layers` decoder layers (a test slice)."""
    config = delta.config()
    shape = base.shape
    where = delta.directory / "config.json"
    expected = {
        "hidden_size": shape.hidden,
        "intermediate_size": shape.intermediate,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "num_key_value_heads": shape.kv_heads,
        "vocab_size": shape.vocabulary + delta.new_token_rows,
        "tie_word_embeddings": shape.tied,
    }
    # Hugging Face's defaults for keys a config may leave out (LlamaConfig / Qwen2Config).
    defaults = {"num_key_value_heads": config.get("num_attention_heads"), "tie_word_embeddings": False}
    for key, value in expected.items():
        actual = config.get(key, defaults.get(key))
        if actual != value:
            raise DeltaError(f"{where}: {key} is {actual!r} but the base with the delta's new rows has {value!r}")
    if "loma" not in config:
        raise DeltaError(f"{where}: no 'loma' section; lomad serves LoMA checkpoints only")
    if layers is not None:
        if not 1 <= layers <= shape.layers:
            raise DeltaError(f"--layers {layers}: the base has {shape.layers} layers")
        config["num_hidden_layers"] = layers
    return config


def tensor_names(base: GGUFBase, layers: int | None) -> list[str]:
    """Sorted names of the result's tensors (layers >= `layers` dropped for a slice)."""
    def kept(name: str) -> bool:
        match = _LAYER.match(name)
        return layers is None or match is None or int(match.group(1)) < layers
    return sorted(name for name in base.names if kept(name))


def check_delta_covers(delta: Delta, names: list[str], layers: int | None) -> None:
    """Every LoRA factor and replaced tensor of the delta must land on a tensor of the result,
    so a delta made for another architecture fails instead of being partly ignored."""
    wanted = set(names)
    for name in delta.tensors:
        if name.endswith((".lora_A", ".lora_B")):
            target = name[: -len(".lora_A")] + ".weight"
            match = _LAYER.match(target)
            sliced_off = layers is not None and match is not None and int(match.group(1)) >= layers
            if target not in wanted and not sliced_off:
                raise DeltaError(f"{delta.directory / 'delta.safetensors'}: {name} adapts {target}, which the base lacks")
    for name in delta.replaced:
        if name not in wanted:
            raise DeltaError(f"{delta.directory / 'delta.json'}: replaced tensor {name} is not in the base")
    if delta.tensors.get("lm_head.new_rows") is not None and "lm_head.weight" not in wanted:
        raise DeltaError(f"{delta.directory}: lm_head.new_rows given but the base ties its embeddings")


def write_model(delta: Delta, base: GGUFBase, output: Path, layers: int | None, log=print) -> None:
    """Writes the whole folder into `output` (which must not exist yet)."""
    config = checked_config(delta, base, layers)
    names = tensor_names(base, layers)
    check_delta_covers(delta, names, layers)
    output.mkdir(parents=True)
    layout = {}
    for name in names:
        shape = list(base.tensor_shape(name))
        if name in delta.replaced:
            shape = list(delta.tensors[name].shape)
        elif name in ("model.embed_tokens.weight", "lm_head.weight"):
            shape[0] += delta.new_token_rows
        layout[name] = ("F32", tuple(shape))
    done = 0

    def produce(name: str):
        nonlocal done
        done += 1
        if done % 50 == 0 or done == len(names):
            log(f"  {done}/{len(names)} tensors")
        return result_tensor(name, lambda: base.tensor(name), delta)

    write_streaming(output / "model.safetensors", layout, produce, metadata={"format": "pt"})
    if layers is None:  # the delta's own file, byte for byte
        shutil.copyfile(delta.directory / "config.json", output / "config.json")
    else:
        (output / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    copied = [name for name in TOKENIZER_FILES if (delta.directory / name).is_file()]
    if "tokenizer.json" not in copied:
        raise DeltaError(f"{delta.directory}: no tokenizer.json in the delta")
    for name in copied:
        shutil.copyfile(delta.directory / name, output / name)


def same_small_files(delta: Delta, folder: Path) -> bool:
    """Whether `folder` holds the model file and the delta's config and tokenizer files unchanged
    (what a finished build of this delta left there, apart from the weights' own sha256)."""
    if not (folder / "model.safetensors").is_file():
        return False
    for name in ("config.json", *TOKENIZER_FILES):
        source, copy = delta.directory / name, folder / name
        if source.is_file() != copy.is_file() or source.is_file() and source.read_bytes() != copy.read_bytes():
            return False
    return True


def write_stamp(output: Path, delta: Delta, sha256: str, layers: int | None) -> None:
    stamp = {"delta": delta.name, "base": delta.base.pypi, "layers": layers, "model.safetensors": sha256}
    (output / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def read_stamp(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
