"""Exactness of the memory pass on a prepared SmolLM2 checkpoint: lomad vs numpy vs transformers.

The KV to compress is real: the prepared model itself reads an English text with transformers
(float64) and its cache is taken as the input, the first segment as context and the next segments
as the block to compress. Three implementations then compute the memory of that block:

* lomad, serving the folder (`lomad serve --model smollm2=DIR`), through the Python client, f32;
* the numpy reference (`Tools/loma_reference`), float64;
* transformers with a 4-D all-visible mask over a `DynamicCache` (the method of
  `Tools/loma_reference/crosscheck_transformers.py`), float64, with RoPE angles in float64.

lomad must agree with the reference within docs/loma-spec.md 7's f32 bound (relative error
1e-4) and the two float64 implementations with each other to 1e-6, as the fixture tests require.

Full 30-layer check (after `Tools/prepare-model.sh loma-smollm2-135m`), from the repository root
with the examples venv that Examples/run-tests.sh builds:

    .build/examples-venv/bin/python Examples/smollm2/exactness.py Models/loma-smollm2-135m
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
from Tools.loma_reference.config import inverse_frequencies, load_config  # noqa: E402
from Tools.loma_reference.crosscheck_transformers import cache_layer, patch_rotary_float64, transformers_block  # noqa: E402
from Tools.loma_reference.model import open_model  # noqa: E402

#: f32 engine vs float64 reference: docs/loma-spec.md 7 (the bound every golden case meets).
ENGINE_TOLERANCE = 1e-4
#: float64 vs float64 (reference vs transformers), as crosscheck_transformers requires.
FLOAT64_TOLERANCE = 1e-6
TEXT = (
    "The lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a tin of oil and "
    "a cloth for the great lens. Ships passing the rocky headland had relied on its beam for more than "
    "a century, and the keeper took pride in never letting the light fail, not even during the winter "
    "storms that shook the tower and rattled the windows. In the mornings he wrote the weather in a "
    "leather logbook: wind direction, the height of the swell, the colour of the sky at sunrise, and any "
    "vessel that had signalled during the night. His daughter, who went to school in the village across "
    "the bay, liked to read the old entries aloud, inventing stories about the captains and their cargo. "
)


@dataclass(frozen=True)
class Errors:
    """Relative errors of one comparison run (norm-relative for lomad, max-relative for float64)."""

    lomad_vs_reference: float
    reference_vs_transformers: float
    lomad_vs_transformers: float
    lomad_vs_transformers_float32_angles: float
    positions_agree: bool
    tokens: int
    memory_tokens: int

    @property
    def passed(self) -> bool:
        return (self.lomad_vs_reference < ENGINE_TOLERANCE and self.reference_vs_transformers < FLOAT64_TOLERANCE
                and self.lomad_vs_transformers < ENGINE_TOLERANCE and self.positions_agree)


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """||actual - expected|| / ||expected|| (docs/loma-spec.md 7)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def max_relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


def load_transformers_model(model_dir: Path, float64_angles: bool):
    import torch
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(model_dir), dtype=torch.float64, attn_implementation="eager").eval()
    if float64_angles:
        config = load_config(model_dir)
        patch_rotary_float64(model, torch, inverse_frequencies(config.rope, config.head_dim))
    return model


def prompt_kv(model, model_dir: Path, tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys (rotated) and values `[layers, kv_heads, tokens, head_dim]` of the model reading TEXT,
    rounded to float32 as an inference server would hand them over."""
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    ids = tokenizer(TEXT * (1 + tokens // 100))["input_ids"][:tokens]
    assert len(ids) == tokens, f"TEXT gives {len(ids)} tokens, {tokens} needed"
    with torch.no_grad():
        cache = model.model(input_ids=torch.tensor([ids]), use_cache=True).past_key_values
    layers = [cache_layer(cache, i) for i in range(model.config.num_hidden_layers)]
    keys = np.stack([k[0].numpy() for k, _ in layers]).astype(np.float32)
    values = np.stack([v[0].numpy() for _, v in layers]).astype(np.float32)
    return keys, values


def check(model_dir: Path, segments: int = 2, lomad_binary: str | None = None) -> Errors:
    """One context segment then `segments` segments to compress, through all three."""
    import torch
    import transformers
    from lomad_client import Client
    from lomad_client.daemon import LocalDaemon

    config = load_config(model_dir)
    seg = config.loma.segment_length
    exact = load_transformers_model(model_dir, float64_angles=True)
    keys, values = prompt_kv(exact, model_dir, seg * (1 + segments))
    context = (keys[:, :, :seg], values[:, :, :seg])
    block = (keys[:, :, seg:], values[:, :, seg:])
    position = seg

    reference = open_model(model_dir).block(
        block[0].astype(np.float64), block[1].astype(np.float64), position,
        context[0].astype(np.float64), context[1].astype(np.float64))
    as64 = [array.astype(np.float64) for array in (*block, *context)]
    theirs = transformers_block(exact, config, as64[0], as64[1], position, as64[2], as64[3], torch, transformers)
    del exact
    stock = load_transformers_model(model_dir, float64_angles=False)
    theirs_stock = transformers_block(stock, config, as64[0], as64[1], position, as64[2], as64[3], torch, transformers)
    del stock

    with LocalDaemon({"smollm2": model_dir}, binary=lomad_binary, startup_timeout=300.0,
                     search_from=REPO_ROOT) as daemon, Client(daemon.endpoint, timeout=300.0) as client:
        memory = client.compress(block[0], block[1], context=context, model="smollm2", position=position,
                                 output_dtype="f32", output_layout="heads_major")
    ours = (memory.keys, memory.values)
    return Errors(
        lomad_vs_reference=max(relative_error(ours[i], (reference.keys, reference.values)[i]) for i in (0, 1)),
        reference_vs_transformers=max(max_relative_error((reference.keys, reference.values)[i], theirs[i]) for i in (0, 1)),
        lomad_vs_transformers=max(relative_error(ours[i], theirs[i]) for i in (0, 1)),
        lomad_vs_transformers_float32_angles=max(relative_error(ours[i], theirs_stock[i]) for i in (0, 1)),
        positions_agree=bool(np.array_equal(memory.positions, reference.positions)),
        tokens=seg * segments,
        memory_tokens=int(memory.keys.shape[2]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="prepared model folder, e.g. Models/loma-smollm2-135m")
    parser.add_argument("--segments", type=int, default=2, help="segments to compress after one context segment")
    parser.add_argument("--lomad", help="lomad binary (default: $LOMAD_BIN, PATH, then this checkout's build)")
    arguments = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    errors = check(arguments.model, arguments.segments, arguments.lomad)
    print(f"{arguments.model}: {errors.tokens} tokens -> {errors.memory_tokens} memory tokens per layer and head")
    print(f"  lomad (f32) vs numpy reference (f64):        {errors.lomad_vs_reference:.2e}  (bound {ENGINE_TOLERANCE:g})")
    print(f"  numpy reference vs transformers, 4-D mask:   {errors.reference_vs_transformers:.2e}  (bound {FLOAT64_TOLERANCE:g})")
    print(f"  lomad vs transformers:                       {errors.lomad_vs_transformers:.2e}  (bound {ENGINE_TOLERANCE:g})")
    print(f"  lomad vs transformers, stock f32 RoPE angles: {errors.lomad_vs_transformers_float32_angles:.2e}  (not bounded)")
    print(f"  positions agree: {errors.positions_agree}")
    print("ok" if errors.passed else "FAIL")
    return 0 if errors.passed else 1


if __name__ == "__main__":
    sys.exit(main())
