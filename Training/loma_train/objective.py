"""Loss = LM + lambda * repetition (docs/loma-spec.md 3.4), and the metrics the log and README report."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .layout import Batch
from .model import LlamaForCausalLM


@dataclass
class LossTerms:
    total: torch.Tensor
    lm: torch.Tensor
    repetition: torch.Tensor | None
    repetition_correct: int
    repetition_count: int

    @property
    def repetition_accuracy(self) -> float | None:
        return self.repetition_correct / self.repetition_count if self.repetition_count else None


def _cross_entropy(logits: torch.Tensor, slots: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    selected = logits[:, slots].float()
    return F.cross_entropy(selected.flatten(0, 1), labels.flatten()), selected.argmax(-1)


def loss_terms(model: LlamaForCausalLM, batch: Batch, repetition_weight: float) -> LossTerms:
    logits = model(batch.input_ids, batch.positions, batch.mask).logits
    lm, _ = _cross_entropy(logits, batch.lm_slots, batch.lm_labels)
    if batch.repetition_slots.numel() == 0:
        return LossTerms(lm, lm, None, 0, 0)
    repetition, predicted = _cross_entropy(logits, batch.repetition_slots, batch.repetition_labels)
    correct = int((predicted == batch.repetition_labels).sum())
    return LossTerms(lm + repetition_weight * repetition, lm, repetition, correct, batch.repetition_labels.numel())
