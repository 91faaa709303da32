"""The training loop: AdamW with warmup + cosine decay, periodic held-out evaluation,
atomic checkpoints every N steps, `--resume`, and export at the end."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import torch
from tqdm import tqdm

from .config import RunConfig, preset
from .corpus import CorpusSplit, load_corpus
from .export import export_folder
from .layout import SequenceLayout, causal_layout, loma_layout
from .loop import LossTotals, TrainingLoop, default_device, learning_rate
from .model import LlamaForCausalLM


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


class Trainer(TrainingLoop):
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

    @staticmethod
    def create(run: Path, preset_name: str, cache: Path, resume: bool, steps: int | None,
               device: str | None, threads: int) -> "Trainer":
        config = preset(preset_name)
        if steps is not None:
            config = replace(config, training=replace(config.training, steps=steps))
        device = device or default_device()
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
        trainer._restore_progress(state)
        return trainer

    # -- training ---------------------------------------------------------------------------

    def train(self) -> None:
        settings = self.config.training
        self.model.train()
        totals = LossTotals()
        bar = tqdm(total=settings.steps, initial=self.step, desc=self.run.name, unit="step", dynamic_ncols=True)
        while self.step < settings.steps:
            started = time.monotonic()
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(settings, self.step)
            _, terms = self._train_step(self.model, self.model.parameters(), settings)
            self.elapsed += time.monotonic() - started

            totals.add(terms)
            self._show_step(bar, terms)
            totals = self._evaluate_and_checkpoint(settings, totals, bar)
        bar.close()

    def evaluate(self) -> dict:
        return self._held_out(self.model, self.config.training)

    def save_checkpoint(self) -> None:
        self._save_checkpoint({"config": self.config.to_dict(), "model": self.model.state_dict()})

    def export(self, folder: Path) -> None:
        summary = {
            "steps": self.step,
            "training_seconds": round(self.elapsed, 1),
            "device": self._device_description(),
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
