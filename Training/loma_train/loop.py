"""What the two training loops share: `Trainer` (training.py, a model from scratch) and
`FineTuner` (finetune.py, a pretrained checkpoint). The schedule, one optimiser step, the
held-out pass, the loss totals, the metrics log and the checkpoint bookkeeping are the same
for both; each class keeps only what differs (its model, optimiser groups and export)."""

from __future__ import annotations

import json
import math
import os
import platform
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch

from .data import held_out_windows, training_windows
from .layout import SequenceLayout
from .objective import loss_terms


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def learning_rate(settings: Any, step: int) -> float:
    """Linear warmup, then cosine decay to the minimum. `settings`: a `TrainingSettings` or a
    `FineTuneSettings` (`learning_rate`, `min_learning_rate`, `warmup_steps`, `steps`)."""
    if step < settings.warmup_steps:
        return settings.learning_rate * (step + 1) / settings.warmup_steps
    progress = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return settings.min_learning_rate + (settings.learning_rate - settings.min_learning_rate) * cosine


class LossTotals:
    """Loss terms summed over steps (or held-out chunks), and their means."""

    def __init__(self) -> None:
        self.loss = self.lm = self.repetition = 0.0
        self.correct = self.count = self.steps = 0

    def add(self, terms) -> None:
        self.loss += terms.total.item(); self.lm += terms.lm.item(); self.steps += 1
        if terms.repetition is not None:
            self.repetition += terms.repetition.item()
            self.correct += terms.repetition_correct; self.count += terms.repetition_count

    def summary(self) -> dict:
        steps = max(1, self.steps)
        summary = {"loss": self.loss / steps, "lm_loss": self.lm / steps}
        if self.count:
            summary["repetition_loss"] = self.repetition / steps
            summary["repetition_accuracy"] = self.correct / self.count
        return {key: round(value, 4) for key, value in summary.items()}


class TrainingLoop:
    """Mixin for a run folder trained step by step. The class sets `run`, `device`, `threads`,
    `corpus`, `layout`, `optimizer`, `step`, `elapsed`, `last_eval` and `last_train`."""

    run: Path
    device: str
    threads: int
    layout: SequenceLayout
    optimizer: torch.optim.Optimizer
    step: int
    elapsed: float
    last_eval: dict
    last_train: dict

    @property
    def checkpoint_path(self) -> Path:
        return self.run / "checkpoint.pt"

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16) if self.device.startswith("cuda") else nullcontext()

    def _log(self, record: dict) -> None:
        with open(self.run / "metrics.jsonl", "a") as log:
            log.write(json.dumps(record) + "\n")

    def _device_description(self) -> str:
        return self.device if self.device != "cpu" else f"cpu, threads={self.threads}, {platform.machine()}"

    def _train_step(self, model: torch.nn.Module, parameters, settings: Any):
        """One optimiser step on the next training batch (learning rates already set); returns
        the batch and its loss terms."""
        windows = training_windows(self.corpus.train, settings.seed, self.step, settings.batch_size,
                                   self.layout.window_length)
        batch = self.layout.batch(windows, self.device)
        with self._autocast():
            terms = loss_terms(model, batch, settings.repetition_weight)
        self.optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(parameters, settings.grad_clip)
        self.optimizer.step()
        self.step += 1
        return batch, terms

    @staticmethod
    def _show_step(bar, terms, **extra: str) -> None:
        """The progress bar after a step: LM loss, `extra`, repetition loss."""
        postfix = {"lm": f"{terms.lm.item():.3f}", **extra}
        if terms.repetition is not None:
            postfix["rep"] = f"{terms.repetition.item():.3f}"
        bar.set_postfix(postfix)
        bar.update(1)

    def _record_extras(self) -> dict:
        """Keys a subclass adds to each metrics record, after `lr`."""
        return {}

    def _evaluate_and_checkpoint(self, settings: Any, totals: LossTotals, bar) -> LossTotals:
        """After a step: every `eval_every` steps (and at the last) the training means, a held-out
        pass and a metrics record; every `checkpoint_every` steps (and at the last) a checkpoint.
        Returns the totals to go on summing into."""
        if self.step % settings.eval_every == 0 or self.step == settings.steps:
            self.last_train = totals.summary()
            totals = LossTotals()
            self.last_eval = self.evaluate()
            record = {"step": self.step, "elapsed_s": round(self.elapsed, 1),
                      "lr": learning_rate(settings, self.step - 1), **self._record_extras(),
                      "train": self.last_train, "held_out": self.last_eval}
            self._log(record)
            bar.write(json.dumps(record))
        if self.step % settings.checkpoint_every == 0 or self.step == settings.steps:
            self.save_checkpoint()
        return totals

    @torch.no_grad()
    def _held_out(self, model: torch.nn.Module, settings: Any) -> dict:
        """Mean loss terms on the held-out windows (the model left in training mode)."""
        model.eval()
        windows = held_out_windows(self.corpus.held_out, settings.eval_windows, self.layout.window_length)
        totals = LossTotals()
        for chunk in windows.split(settings.batch_size):
            with self._autocast():
                totals.add(loss_terms(model, self.layout.batch(chunk, self.device), settings.repetition_weight))
        model.train()
        return totals.summary()

    def _save_checkpoint(self, contents: dict) -> None:
        """Writes `contents` with the optimiser and the progress, atomically."""
        temporary = self.checkpoint_path.with_suffix(".tmp")
        torch.save({**contents, "optimizer": self.optimizer.state_dict(), "step": self.step,
                    "elapsed": self.elapsed, "last_eval": self.last_eval, "last_train": self.last_train},
                   temporary)
        os.replace(temporary, self.checkpoint_path)

    def _restore_progress(self, state: dict) -> None:
        """The optimiser and the progress from a checkpoint `_save_checkpoint` wrote."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.elapsed = state["step"], state["elapsed"]
        self.last_eval, self.last_train = state.get("last_eval", {}), state.get("last_train", {})
