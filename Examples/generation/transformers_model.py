"""A transformers model behind the `forward(ids, positions, cache)` of `llama_numpy.LlamaModel`.

`generation.Generation` drives it like the numpy model: the cache arrives as numpy KV, is rebuilt
into a `DynamicCache` on every call, and the new tokens' KV comes back as numpy. That is slow (one
full copy of the cache per step), and that is the point: it shares no code with
`lomad_client.hf.LomadCache`, so the tests use it, with memory from the numpy reference, as the
independent generation LomadCache must equal token for token.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from llama_numpy import KV  # first: importing llama_numpy puts the checkout's Tools on sys.path
from Tools.loma_reference.config import load_config


class TransformersModel:
    def __init__(self, model_dir: Path, dtype: str = "float64"):
        import torch
        from transformers import AutoModelForCausalLM

        self.torch = torch
        self.dtype = getattr(torch, dtype)
        self.config = load_config(model_dir)  # the loma section, which transformers ignores
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=self.dtype, attn_implementation="eager")
        self.model.eval()
        # transformers 5.2x renamed `past_key_values` to `cache`; accept both generations.
        parameters = inspect.signature(self.model.forward).parameters
        self.cache_argument = "cache" if "cache" in parameters else "past_key_values"

    def forward(self, token_ids: np.ndarray, positions: np.ndarray, cache: KV) -> tuple[np.ndarray, KV]:
        from transformers import DynamicCache

        torch = self.torch
        past = DynamicCache()
        for layer in range(self.config.num_hidden_layers):
            past.update(torch.from_numpy(cache.keys[layer][None]).to(self.dtype),
                        torch.from_numpy(cache.values[layer][None]).to(self.dtype), layer)
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
        keys = np.stack([k[0, :, held:].double().numpy() for k in held_keys])
        values = np.stack([v[0, :, held:].double().numpy() for v in held_values])
        return output.logits[0].double().numpy(), KV(keys, values)
