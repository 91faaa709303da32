#!/usr/bin/env python3
"""The numpy generation example on Hugging Face transformers: same cache handling, HF model.

The model runs in torch (float64, eager attention) through `TransformersModel`, which offers the
`forward(ids, positions, cache)` of `llama_numpy.LlamaModel`, so the segment-by-segment
compression in `generation.py` drives both. After every segment the raw KV is replaced by the
memory KV lomad returns; new tokens keep their absolute positions (`position_ids`) while the
cache, and so the slots transformers counts, is shorter than those positions.

Needs torch and transformers (large; not run by CI):

    pip install torch transformers
    python3 Examples/generation/generate_transformers.py --prompt "The Debian package manager"
"""

from __future__ import annotations

import argparse
import inspect
import sys
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_common import DEFAULT_MODEL, delete_if_created  # noqa: E402
from compressors import DaemonCompressor, ReferenceCompressor  # noqa: E402
from generation import Generation  # noqa: E402
from llama_numpy import KV  # noqa: E402
from lomad_client import Client  # noqa: E402
from lomad_client.daemon import LocalDaemon  # noqa: E402
from Tools.loma_reference.config import load_config  # noqa: E402


class TransformersModel:
    def __init__(self, model_dir: Path):
        import torch
        from transformers import AutoModelForCausalLM

        self.torch = torch
        self.config = load_config(model_dir)  # the loma section, which transformers ignores
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float64, attn_implementation="eager")
        self.model.eval()
        # transformers 5.2x renamed `past_key_values` to `cache`; accept both generations.
        parameters = inspect.signature(self.model.forward).parameters
        self.cache_argument = "cache" if "cache" in parameters else "past_key_values"

    def forward(self, token_ids: np.ndarray, positions: np.ndarray, cache: KV) -> tuple[np.ndarray, KV]:
        from transformers import DynamicCache

        torch = self.torch
        past = DynamicCache()
        for layer in range(self.config.num_hidden_layers):
            past.update(torch.from_numpy(cache.keys[layer][None]), torch.from_numpy(cache.values[layer][None]), layer)
        held, count = cache.tokens, len(token_ids)
        with torch.no_grad():
            output = self.model(
                input_ids=torch.tensor([list(token_ids)]),
                position_ids=torch.tensor([list(positions)]),
                attention_mask=torch.ones(1, held + count, dtype=torch.long),
                use_cache=True,
                **{self.cache_argument: past},
            )
        # The cache was extended in place; cache slots (not positions) start the new tokens at `held`.
        if hasattr(past, "layers"):
            held_keys = [layer.keys for layer in past.layers]
            held_values = [layer.values for layer in past.layers]
        else:  # transformers 4.x before the per-layer cache objects
            held_keys, held_values = past.key_cache, past.value_cache
        keys = np.stack([k[0, :, held:].numpy() for k in held_keys])
        values = np.stack([v[0, :, held:].numpy() for v in held_values])
        return output.logits[0].numpy(), KV(keys, values)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--endpoint", help="a running lomad that serves the model; default: start one")
    parser.add_argument("--model-name", default="")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--check", action="store_true", help="compare with the in-process reference memory")
    arguments = parser.parse_args(argv)

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(arguments.model))
    ids = tokenizer(arguments.prompt, add_special_tokens=False)["input_ids"]
    model = TransformersModel(arguments.model)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731

    daemon = None if arguments.endpoint else LocalDaemon({"model": arguments.model}, search_from=__file__).start()
    try:
        with Client(arguments.endpoint or daemon.endpoint, timeout=60.0) as client:
            sequence = f"hf-{uuid.uuid4().hex[:12]}"
            compressor = DaemonCompressor(client, arguments.model_name, sequence)
            print(arguments.prompt, end="", flush=True)
            produced = []
            try:
                for token in Generation(model, compressor, log=log).greedy(ids, arguments.max_new_tokens):
                    produced.append(token)
                    print(tokenizer.decode([token]), end="", flush=True)
                print()
            finally:
                delete_if_created(client, sequence)
    finally:
        if daemon:
            daemon.stop()
    print("tokens:", ",".join(map(str, produced)))
    if arguments.check:
        reference = list(Generation(model, ReferenceCompressor(arguments.model, model.config)).greedy(ids, arguments.max_new_tokens))
        same = reference == produced
        print(f"check {'passed' if same else 'FAILED'}: in-process reference memory gives "
              f"{'the same' if same else 'different'} tokens", file=sys.stderr)
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
