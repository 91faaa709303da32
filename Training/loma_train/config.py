"""Model shape, LoMA parameters and training settings, with the presets the README documents.

Field names follow the Hugging Face `config.json` keys so export is a plain mapping.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from .vocabulary import Vocabulary


@dataclass(frozen=True)
class ModelShape:
    hidden_size: int = 128
    intermediate_size: int = 384
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 32
    vocab_size: int = 0
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 4096
    # Pretrained checkpoints (finetune.py): SmolLM2 ties lm_head to the embedding; Qwen2 has
    # biases on q/k/v (attention_bias) but not on o_proj, Llama's attention_bias covers all four.
    tie_word_embeddings: bool = False
    attention_bias: bool = False
    output_bias: bool = False


@dataclass(frozen=True)
class LoMAShape:
    segment_length: int = 32
    compression_ratio: int = 4

    @property
    def memory_tokens(self) -> int:
        """`t = segment_length / compression_ratio`."""
        return self.segment_length // self.compression_ratio


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that determines a run; saved with every checkpoint so `--resume` can refuse a
    checkpoint made with different settings."""

    objective: str = "loma"            # "loma" (loma-spec 3.4) or "lm" (plain causal LM baseline)
    segments_per_sequence: int = 4
    batch_size: int = 16
    steps: int = 350
    learning_rate: float = 2e-3
    min_learning_rate: float = 2e-4
    warmup_steps: int = 30
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    repetition_weight: float = 1.0     # lambda in loss = LM + lambda * repetition
    seed: int = 1234
    eval_every: int = 50
    eval_windows: int = 64
    checkpoint_every: int = 25


@dataclass(frozen=True)
class RunConfig:
    model: ModelShape = field(default_factory=ModelShape)
    loma: LoMAShape = field(default_factory=LoMAShape)
    training: TrainingSettings = field(default_factory=TrainingSettings)

    @property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary(memory_tokens=self.loma.memory_tokens)

    def with_vocabulary(self) -> "RunConfig":
        """The model's vocab_size follows the memory-token count (bytes + specials + t)."""
        return replace(self, model=replace(self.model, vocab_size=self.vocabulary.size))

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict) -> "RunConfig":
        return RunConfig(ModelShape(**data["model"]), LoMAShape(**data["loma"]),
                         TrainingSettings(**data["training"]))


def preset(name: str) -> RunConfig:
    """Named recipes. `tiny` is the shipped default (`Models/loma-tiny`); `tiny-r2`, `tiny-r8` and
    `tiny-lm` differ from it in one thing each (ratio, or the objective); `small` is for a GPU."""
    tiny = RunConfig()
    presets = {
        "tiny": tiny,
        "tiny-r2": replace(tiny, loma=LoMAShape(32, 2)),
        "tiny-r8": replace(tiny, loma=LoMAShape(32, 8)),
        "tiny-lm": replace(tiny, training=replace(tiny.training, objective="lm")),
        "small": RunConfig(
            ModelShape(hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
                       num_attention_heads=8, num_key_value_heads=4, head_dim=64),
            LoMAShape(64, 4),
            replace(tiny.training, segments_per_sequence=8, batch_size=32, steps=20000,
                    learning_rate=1e-3, min_learning_rate=1e-4, warmup_steps=500,
                    eval_every=500, checkpoint_every=500)),
    }
    if name not in presets:
        raise ValueError(f"unknown preset '{name}' (known: {', '.join(sorted(presets))})")
    return presets[name].with_vocabulary()
