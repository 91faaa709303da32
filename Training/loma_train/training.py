"""The training loop: AdamW with warmup + cosine decay, periodic held-out evaluation,
atomic checkpoints every N steps, `--resume`, and export at the end."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import torch
from tqdm import tqdm

from .config import RunConfig, TrainingSettings, preset
from .corpus import CorpusSplit, load_corpus
from .data import held_out_windows, training_windows
from .export import export_folder
from .layout import SequenceLayout, causal_layout, loma_layout
from .model import LlamaForCausalLM
from .objective import loss_terms


class TrainingError(RuntimeError):
    pass


def layout_for(config: RunConfig) -> SequenceLayout:
    t = config.training
    if t.objective == "loma":
        return loma_layout(t.segments_per_sequence, config.loma.segment_length, config.loma.compression_ratio,
                           config.vocabulary)
    if t.objective == "lm":
        return causal_layout(t.segments_per_sequence, config.loma.segment_length, config.vocabulary)
    raise TrainingError(f"training.objective '{t.objective}' is neither 'loma' nor 'lm'")


def learning_rate(settings: TrainingSettings, step: int) -> float:
    if step < settings.warmup_steps:
        return settings.learning_rate * (step + 1) / settings.warmup_steps
    progress = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return settings.min_learning_rate + (settings.learning_rate - settings.min_learning_rate) * cosine


class Trainer:
    def __init__(self, run: Path, config: RunConfig, corpus: CorpusSplit, corpus_stats: dict,
                 device: str, threads: int) -> None:
        self.run, self.config, self.corpus, self.corpus_stats = run, config, corpus, corpus_stats
        self.device = device
        self.threads = threads
        if device == "cpu":
            torch.set_num_threads(threads)
        torch.manual_seed(config.training.seed)
        self.model = LlamaForCausalLM(config.model).to(device)
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": config.training.weight_decay},
             {"params": no_decay, "weight_decay": 0.0}],
            lr=config.training.learning_rate, betas=(0.9, 0.95))
        self.layout = layout_for(config)
        self.step = 0
        self.elapsed = 0.0
        self.last_eval: dict = {}
        self.last_train: dict = {}

    # -- construction ---------------------------------------------------------------------

    @property
    def checkpoint_path(self) -> Path:
        return self.run / "checkpoint.pt"

    @staticmethod
    def create(run: Path, preset_name: str, cache: Path, resume: bool, steps: int | None,
               device: str | None, threads: int) -> "Trainer":
        config = preset(preset_name)
        if steps is not None:
            config = replace(config, training=replace(config.training, steps=steps))
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        checkpoint = run / "checkpoint.pt"
        if resume:
            if not checkpoint.exists():
                raise TrainingError(f"--resume: no checkpoint at {checkpoint}")
            return Trainer.from_checkpoint(run, cache, device=device, threads=threads, expected=config)
        if checkpoint.exists():
            raise TrainingError(f"{checkpoint} exists; pass --resume to continue it or choose another --run")
        corpus, stats = load_corpus(cache)
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.json").write_text(json.dumps({"preset": preset_name, **config.to_dict()}, indent=2) + "\n")
        return Trainer(run, config, corpus, stats, device, threads)

    @staticmethod
    def from_checkpoint(run: Path, cache: Path, device: str = "cpu", threads: int = 2,
                        expected: RunConfig | None = None) -> "Trainer":
        path = run / "checkpoint.pt"
        if not path.exists():
            raise TrainingError(f"no checkpoint at {path}")
        state = torch.load(path, map_location=device, weights_only=False)
        config = RunConfig.from_dict(state["config"])
        if expected is not None and expected != config:
            raise TrainingError(f"{path} was made with other settings than the requested preset/--steps:\n"
                                f"  checkpoint: {config}\n  requested:  {expected}")
        corpus, stats = load_corpus(cache)
        trainer = Trainer(run, config, corpus, stats, device, threads)
        trainer.model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.step, trainer.elapsed = state["step"], state["elapsed"]
        trainer.last_eval, trainer.last_train = state.get("last_eval", {}), state.get("last_train", {})
        return trainer

    # -- training ---------------------------------------------------------------------------

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16) if self.device.startswith("cuda") else nullcontext()

    def _log(self, record: dict) -> None:
        with open(self.run / "metrics.jsonl", "a") as log:
            log.write(json.dumps(record) + "\n")

    def train(self) -> None:
        settings = self.config.training
        self.model.train()
        totals = {"loss": 0.0, "lm": 0.0, "repetition": 0.0, "correct": 0, "count": 0, "steps": 0}
        bar = tqdm(total=settings.steps, initial=self.step, desc=self.run.name, unit="step", dynamic_ncols=True)
        while self.step < settings.steps:
            started = time.monotonic()
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(settings, self.step)
            windows = training_windows(self.corpus.train, settings.seed, self.step, settings.batch_size,
                                       self.layout.window_length)
            batch = self.layout.batch(windows, self.device)
            with self._autocast():
                terms = loss_terms(self.model, batch, settings.repetition_weight)
            self.optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), settings.grad_clip)
            self.optimizer.step()
            self.step += 1
            self.elapsed += time.monotonic() - started

            totals["loss"] += terms.total.item(); totals["lm"] += terms.lm.item(); totals["steps"] += 1
            if terms.repetition is not None:
                totals["repetition"] += terms.repetition.item()
                totals["correct"] += terms.repetition_correct; totals["count"] += terms.repetition_count
            postfix = {"lm": f"{terms.lm.item():.3f}"}
            if terms.repetition is not None:
                postfix["rep"] = f"{terms.repetition.item():.3f}"
            bar.set_postfix(postfix)
            bar.update(1)

            if self.step % settings.eval_every == 0 or self.step == settings.steps:
                self.last_train = self._summarise(totals)
                totals = {key: 0 for key in totals}
                self.last_eval = self.evaluate()
                record = {"step": self.step, "elapsed_s": round(self.elapsed, 1),
                          "lr": learning_rate(settings, self.step - 1),
                          "train": self.last_train, "held_out": self.last_eval}
                self._log(record)
                bar.write(json.dumps(record))
            if self.step % settings.checkpoint_every == 0 or self.step == settings.steps:
                self.save_checkpoint()
        bar.close()

    @staticmethod
    def _summarise(totals: dict) -> dict:
        steps = max(1, totals["steps"])
        summary = {"loss": totals["loss"] / steps, "lm_loss": totals["lm"] / steps}
        if totals["count"]:
            summary["repetition_loss"] = totals["repetition"] / steps
            summary["repetition_accuracy"] = totals["correct"] / totals["count"]
        return {key: round(value, 4) for key, value in summary.items()}

    @torch.no_grad()
    def evaluate(self) -> dict:
        settings = self.config.training
        self.model.eval()
        windows = held_out_windows(self.corpus.held_out, settings.eval_windows, self.layout.window_length)
        totals = {"loss": 0.0, "lm": 0.0, "repetition": 0.0, "correct": 0, "count": 0, "steps": 0}
        for chunk in windows.split(settings.batch_size):
            with self._autocast():
                terms = loss_terms(self.model, self.layout.batch(chunk, self.device), settings.repetition_weight)
            totals["loss"] += terms.total.item(); totals["lm"] += terms.lm.item(); totals["steps"] += 1
            if terms.repetition is not None:
                totals["repetition"] += terms.repetition.item()
                totals["correct"] += terms.repetition_correct; totals["count"] += terms.repetition_count
        self.model.train()
        return self._summarise(totals)

    def save_checkpoint(self) -> None:
        temporary = self.checkpoint_path.with_suffix(".tmp")
        torch.save({"config": self.config.to_dict(), "model": self.model.state_dict(),
                    "optimizer": self.optimizer.state_dict(), "step": self.step, "elapsed": self.elapsed,
                    "last_eval": self.last_eval, "last_train": self.last_train}, temporary)
        os.replace(temporary, self.checkpoint_path)

    def export(self, folder: Path) -> None:
        summary = {
            "steps": self.step,
            "training_seconds": round(self.elapsed, 1),
            "device": self.device if self.device != "cpu" else f"cpu, threads={self.threads}, {platform.machine()}",
            "parameters": self.model.parameter_count(),
            "tokens_per_step_raw": self.config.training.batch_size * self.config.training.segments_per_sequence
                                   * self.config.loma.segment_length,
            "final_train": self.last_train,
            "final_held_out": self.last_eval,
            "corpus": self.corpus_stats,
            "run_config": self.config.to_dict(),
            "torch": torch.__version__,
        }
        export_folder(self.model.to("cpu"), self.config, folder, summary)
