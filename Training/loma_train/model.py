"""A Llama decoder (GQA, RMSNorm, SwiGLU, RoPE) in plain PyTorch.

Parameter names are transformers' `LlamaForCausalLM` names, so the state dict exports as is.
Unlike transformers' forward, this one takes explicit positions and an arbitrary boolean mask:
the LoMA objective needs both (memory tokens sit between reading tokens, repetition tokens reuse
reading positions), and it returns every layer's rotated keys/values, which is what lomad
produces and what `verify_engine.py` compares.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from .config import ModelShape


class RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in float32 whatever the activation dtype, as transformers does.
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


class RotaryEmbedding(nn.Module):
    """Default RoPE, rotate-half convention (HF Llama)."""

    def __init__(self, head_dim: int, theta: float) -> None:
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
        self.register_buffer("inv_freq", inv_freq.float(), persistent=False)

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos/sin `[batch, seq, head_dim]` for integer positions `[batch, seq]`."""
        angles = positions.float()[..., None] * self.inv_freq
        emb = torch.cat((angles, angles), dim=-1)
        return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """`x` is `[batch, heads, seq, head_dim]`; cos/sin broadcast over heads."""
    return x * cos[:, None] + rotate_half(x) * sin[:, None]


@dataclass
class LayerKV:
    """One layer's keys (already rotated) and values, `[batch, kv_heads, seq, head_dim]`."""

    keys: torch.Tensor
    values: torch.Tensor


class Attention(nn.Module):
    def __init__(self, shape: ModelShape) -> None:
        super().__init__()
        self.heads = shape.num_attention_heads
        self.kv_heads = shape.num_key_value_heads
        self.head_dim = shape.head_dim
        bias = shape.attention_bias
        self.q_proj = nn.Linear(shape.hidden_size, self.heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(shape.hidden_size, self.kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(shape.hidden_size, self.kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(self.heads * self.head_dim, shape.hidden_size, bias=shape.output_bias)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, LayerKV]:
        batch, seq, _ = x.shape
        q = self.q_proj(x).view(batch, seq, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(batch, seq, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, seq, self.kv_heads, self.head_dim).transpose(1, 2)
        q = apply_rotary(q, cos, sin)
        k = apply_rotary(k, cos, sin)
        # GQA: query head h reads kv head h // (heads / kv_heads), transformers' repeat_kv order.
        groups = self.heads // self.kv_heads
        out = F.scaled_dot_product_attention(
            q, k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1), attn_mask=mask)
        out = out.transpose(1, 2).reshape(batch, seq, self.heads * self.head_dim)
        return self.o_proj(out), LayerKV(k, v)


class MLP(nn.Module):
    def __init__(self, shape: ModelShape) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(shape.hidden_size, shape.intermediate_size, bias=False)
        self.up_proj = nn.Linear(shape.hidden_size, shape.intermediate_size, bias=False)
        self.down_proj = nn.Linear(shape.intermediate_size, shape.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, shape: ModelShape) -> None:
        super().__init__()
        self.self_attn = Attention(shape)
        self.mlp = MLP(shape)
        self.input_layernorm = RMSNorm(shape.hidden_size, shape.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(shape.hidden_size, shape.rms_norm_eps)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, LayerKV]:
        attended, kv = self.self_attn(self.input_layernorm(x), cos, sin, mask)
        x = x + attended
        return x + self.mlp(self.post_attention_layernorm(x)), kv


class LlamaBackbone(nn.Module):
    """`model.*` of `LlamaForCausalLM`."""

    def __init__(self, shape: ModelShape) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(shape.vocab_size, shape.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(shape) for _ in range(shape.num_hidden_layers))
        self.norm = RMSNorm(shape.hidden_size, shape.rms_norm_eps)
        self.rotary = RotaryEmbedding(shape.head_dim, shape.rope_theta)


@dataclass
class ForwardResult:
    logits: torch.Tensor
    kv: list[LayerKV]


class LlamaForCausalLM(nn.Module):
    def __init__(self, shape: ModelShape) -> None:
        super().__init__()
        self.shape = shape
        self.model = LlamaBackbone(shape)
        self.lm_head = nn.Linear(shape.hidden_size, shape.vocab_size, bias=False)
        # Recompute each layer in the backward pass instead of keeping its activations: what
        # lets long LoMA sequences of a real checkpoint fit (finetune.py turns it on).
        self.gradient_checkpointing = False
        self.apply(self._initialise)

    @staticmethod
    def _initialise(module: nn.Module) -> None:
        # transformers' Llama init (normal, std = initializer_range 0.02).
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def forward(self, input_ids: torch.Tensor, positions: torch.Tensor,
                mask: torch.Tensor) -> ForwardResult:
        """`input_ids`/`positions` `[batch, seq]`; `mask` boolean `[seq, seq]` (True: may attend)."""
        x = self.model.embed_tokens(input_ids)
        cos, sin = self.model.rotary(positions)
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        kv: list[LayerKV] = []
        for layer in self.model.layers:
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                x, layer_kv = checkpoint(layer, x, cos, sin, mask, use_reentrant=False)
            else:
                x, layer_kv = layer(x, cos, sin, mask)
            kv.append(layer_kv)
        return ForwardResult(self.lm_head(self.model.norm(x)), kv)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
