"""Low-rank adapters (LoRA) on the recipe's Llama, and the extended (tied or untied) embedding.

`W x` becomes `W x + (alpha / rank) * B (A x)` with `W` frozen, `A` `[rank, in]` and `B`
`[out, rank]`: the factors are exactly the delta's `lora_A` / `lora_B` (docs/loma-spec.md and
Models/deltas: merge `W' = W + (alpha/rank) B A` in the `[out, in]` layout), so export needs no
conversion. `B` starts at zero, so the adapted model starts as the base model.

The LoMA tokens get new embedding rows that train while the base rows stay frozen:
`ExtendedEmbedding` holds the base matrix as a frozen parameter and the new rows as a trainable
one and serves both the input embedding and, when tied, the LM head.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .model import LlamaForCausalLM

ALL_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        if rank < 1:
            raise ValueError(f"LoRA rank must be at least 1 (got {rank})")
        self.base = base
        for parameter in base.parameters():
            parameter.requires_grad_(False)
        self.rank, self.alpha = rank, alpha
        # A as nn.Linear's default (Kaiming-uniform), B zero: the product starts at zero.
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * F.linear(F.linear(x, self.lora_A), self.lora_B)

    def merged_weight(self) -> torch.Tensor:
        return self.base.weight + self.scale * (self.lora_B @ self.lora_A)


def apply_lora(model: LlamaForCausalLM, rank: int, alpha: float, targets: list[str]) -> dict[str, LoRALinear]:
    """Wraps every target projection of every layer; returns them by their HF module name
    (`model.layers.3.self_attn.q_proj`)."""
    unknown = sorted(set(targets) - set(ALL_TARGETS))
    if unknown:
        raise ValueError(f"unknown LoRA targets {unknown} (known: {', '.join(ALL_TARGETS)})")
    adapters: dict[str, LoRALinear] = {}
    for index, layer in enumerate(model.model.layers):
        for owner_name, owner in (("self_attn", layer.self_attn), ("mlp", layer.mlp)):
            for target in targets:
                base = getattr(owner, target, None)
                if isinstance(base, nn.Linear):
                    adapter = LoRALinear(base, rank, alpha)
                    setattr(owner, target, adapter)
                    adapters[f"model.layers.{index}.{owner_name}.{target}"] = adapter
    return adapters


class ExtendedEmbedding(nn.Module):
    """The base embedding `[base, hidden]` (frozen unless full fine-tuning) plus `new_rows`."""

    def __init__(self, base_weight: torch.Tensor, new_rows: torch.Tensor, train_base: bool) -> None:
        super().__init__()
        self.base_weight = nn.Parameter(base_weight, requires_grad=train_base)
        self.new_rows = nn.Parameter(new_rows)

    @property
    def weight(self) -> torch.Tensor:
        return torch.cat([self.base_weight, self.new_rows])

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight)


class ExtendedHead(nn.Module):
    """The LM head over the extended vocabulary: the embedding's matrix when tied, else its own
    extended matrix."""

    def __init__(self, weights: ExtendedEmbedding) -> None:
        super().__init__()
        self.weights = weights

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return F.linear(hidden, self.weights.weight)


def new_rows_like(base_weight: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """Rows for new tokens: the mean of the existing rows plus noise of a tenth of their spread.

    Why: a random row at the init scale of a fresh model is far from the trained rows' statistics
    (SmolLM2's rows have norms several times 0.02 * sqrt(hidden)) and, in a tied head, a row
    unlike the others gets arbitrary logits; the mean row sits inside the trained distribution,
    so the new tokens start as 'an average token' and the model's outputs on text are barely
    moved, and the small noise gives each memory slot its own starting point so they can diverge.
    """
    mean = base_weight.mean(0)
    spread = base_weight.std(0)
    noise = torch.randn(count, base_weight.shape[1], generator=generator, dtype=base_weight.dtype)
    return mean + 0.1 * spread * noise
