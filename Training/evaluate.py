#!/usr/bin/env python3
"""What LoMA compression costs in quality, measured through a running lomad on the held-out split.

Every memory comes from the daemon (compress into a sequence, as a client would), and the text is
read by the numpy Llama of Examples/generation exactly as `generation.Generation` generates: each
segment attends to the memory of the earlier segments and causally to itself, and is compressed
as soon as it is complete. Two measurements, on N windows of `--segments` segments each:

* language modelling: perplexity of every token of segments >= 1 (segment 0 has no past in any
  variant, so the variants differ only in what stands for the past) when the past is held as
  LoMA memory, as the daemon's `mean_pool` / `strided` baselines (same memory size, same model),
  or not at all (each segment alone); against (a) the plain-LM baseline model of the same size
  reading the whole raw past with full attention. KL(a || variant) of next-token distributions.
* repetition: from the memory of a segment alone (computed with the earlier memory as context,
  as in training), the repetition zone (marker, then the segment shifted right) predicts the
  segment teacher-forced: token accuracy, and the share of segments reproduced entirely (the
  segments greedy decoding from memory would reconstruct exactly).

BPE checkpoints fine-tuned by `loma_train finetune` are read the same way on the `prose` corpus's
held-out split, tokenised by the baseline folder's tokenizer (`--corpus prose`); (a) is then the
original base model (`loma_train base-folder`) and `--twin` adds (b), the plain-LM twin, with full
attention. Their results go to their own section of docs/quality.md (`--section`).

Prints markdown tables and writes docs/quality.md and docs/quality.png (needs matplotlib).

    python Training/evaluate.py                          # starts a private daemon (.build/release/lomad)
    python Training/evaluate.py --endpoint ipc:///tmp/eval.sock --windows 64
    python Training/evaluate.py --models-dir Training/runs/eval-models --corpus prose --section smollm2 \
        --baseline smollm2-base --twin lm-smollm2-135m-twin \
        --loma-models loma-smollm2-135m,loma-smollm2-135m-r8 --segments 2 --windows 8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

# The matrices here are tiny (32 x 128): OpenBLAS threads only contend for the cores (on two busy
# cores a forward call ran 20x slower with them). Set before numpy loads OpenBLAS, and unset again
# so the daemon this script may start keeps its own threading.
_SET_BLAS_THREADS = "OPENBLAS_NUM_THREADS" not in os.environ
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

if _SET_BLAS_THREADS:
    del os.environ["OPENBLAS_NUM_THREADS"]

TRAINING = Path(__file__).resolve().parent
REPO_ROOT = TRAINING.parent
for path in (REPO_ROOT / "Examples" / "generation", REPO_ROOT / "Examples" / "python"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from compressors import DaemonCompressor, ReferenceCompressor  # noqa: E402
from generation import Generation  # noqa: E402
from llama_numpy import KV, LlamaModel  # noqa: E402
from loma_train.corpus import CorpusError, load_corpus  # noqa: E402
from lomad_client import Client  # noqa: E402
from lomad_client.daemon import LocalDaemon, find_lomad  # noqa: E402
from quality_report import (  # noqa: E402
    FULL_ATTENTION,
    NO_MEMORY,
    LanguageModelScore,
    ModelUnderTest,
    QualityResults,
    RepetitionScore,
    markdown_tables,
    write_docs,
)

DAEMON_METHODS = ("loma", "mean_pool", "strided")
REFERENCE_TOLERANCE = 1e-4  # loma-spec 7: relative error of the memory pass in f32


class EvaluationError(RuntimeError):
    pass


# ---- reading a window ----------------------------------------------------------------------


class LogitRecorder:
    """Stands in for the model inside `Generation` and keeps the logits of every token it runs,
    so perplexity is measured on exactly the forward calls generation makes."""

    def __init__(self, model: LlamaModel):
        self.model = model
        self.logits: list[np.ndarray] = []

    @property
    def config(self):
        return self.model.config

    def forward(self, token_ids: np.ndarray, positions: np.ndarray, cache: KV) -> tuple[np.ndarray, KV]:
        logits, new = self.model.forward(token_ids, positions, cache)
        self.logits.append(logits)
        return logits, new


class MethodClient:
    """A client whose compress requests ask for `method`, so `compressors.DaemonCompressor` (which
    leaves the method at its default, loma) also serves the daemon's baselines. The daemon keeps
    only LoMA memory in sequences (a baseline reads no context: it pools the segment alone), so
    baseline requests go without the sequence and the reader holds their memory itself."""

    def __init__(self, client: Client, method: str):
        self.client, self.method = client, method

    @property
    def keeps_sequence(self) -> bool:
        return self.method == "loma"

    def compress(self, *args, **kwargs):
        if not self.keeps_sequence:
            kwargs["sequence"] = ""
        return self.client.compress(*args, method=self.method, **kwargs)


class ReferenceCheckedCompressor:
    """Compresses through `daemon` and records how far its memory is from the in-process numpy
    reference on the same input: evidence that what is measured is the real memory pass."""

    def __init__(self, daemon, reference: ReferenceCompressor):
        self.daemon, self.reference = daemon, reference
        self.worst_relative_error = 0.0

    def __call__(self, segment: KV, position: int, held_memory: KV) -> KV:
        memory = self.daemon(segment, position, held_memory)
        expected = self.reference(segment, position, held_memory)
        for got, want in ((memory.keys, expected.keys), (memory.values, expected.values)):
            error = float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30))
            self.worst_relative_error = max(self.worst_relative_error, error)
        return memory


@dataclass
class Reading:
    """One variant's reading of one window: log-probabilities of the scored tokens' predictions
    `[scored, vocab]` and the memory of every segment (None when the variant keeps none)."""

    log_probs: np.ndarray
    memories: list[KV] | None


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def scored_predictions(logits: np.ndarray, segment_length: int) -> np.ndarray:
    """Log-probabilities of the predictions of every token of segments >= 1: the logits at
    positions segment_length-1 .. end-1 (the last one would predict past the window)."""
    return log_softmax(logits[segment_length - 1:-1])


def read_with_memory(model: LlamaModel, compress, window: np.ndarray) -> Reading:
    recorder = LogitRecorder(model)
    generation = Generation(recorder, compress)
    generation.feed(window)
    t = model.config.loma.memory_tokens
    memory = generation.cache.memory
    segments = len(window) // model.config.loma.segment_length
    if memory.tokens != segments * t:
        raise EvaluationError(f"{model.directory.name}: {memory.tokens} memory tokens after {segments} segments, "
                              f"expected {segments * t}")
    memories = [memory.slice(i * t, (i + 1) * t) for i in range(segments)]
    logits = np.concatenate(recorder.logits)
    return Reading(scored_predictions(logits, model.config.loma.segment_length), memories)


def read_without_memory(model: LlamaModel, window: np.ndarray) -> Reading:
    """Each segment alone (at its true positions; with nothing cached, RoPE makes them irrelevant)."""
    tc = model.config.loma.segment_length
    empty = KV.empty(model.config)
    logits = [model.forward(window[p:p + tc], np.arange(p, p + tc), empty)[0] for p in range(0, len(window), tc)]
    return Reading(scored_predictions(np.concatenate(logits), tc), None)


def read_full_attention(model: LlamaModel, window: np.ndarray) -> Reading:
    logits, _ = model.forward(window, np.arange(len(window)), KV.empty(model.config))
    return Reading(scored_predictions(logits, model.config.loma.segment_length), None)


# ---- scoring -------------------------------------------------------------------------------


def text_vocabulary(models: list[ModelUnderTest]) -> int:
    """Ids below the first LoMA token of any model: every id a text target can take (257 for the
    byte models: the bytes and <|endoftext|>; the base vocabulary for a fine-tuned BPE model,
    whose LoMA tokens are appended after it)."""
    return min(min(m.repetition_token_id, *m.model.config.loma.memory_token_ids) for m in models)


def text_distribution(log_probs: np.ndarray, vocabulary: int) -> np.ndarray:
    """Log-probabilities renormalised over the text vocabulary, so models whose vocabularies differ
    in their memory tokens (one per slot) compare on the same support."""
    text = log_probs[:, :vocabulary]
    return text - np.log(np.exp(text).sum(axis=-1, keepdims=True))


def kl_divergence(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """KL(reference || candidate) per token, both text-vocabulary log-probabilities."""
    return (np.exp(reference) * (reference - candidate)).sum(axis=-1)


def score_reading(results: QualityResults, key: tuple[str, str], reading: Reading, targets: np.ndarray,
                  reference: np.ndarray) -> None:
    """Adds a reading's NLL of `targets` and its KL from `reference` (text-vocabulary log-probs of (a))."""
    nll = -reading.log_probs[np.arange(len(targets)), targets]
    kl = kl_divergence(reference, text_distribution(reading.log_probs, reference.shape[1]))
    results.language_model.setdefault(key, LanguageModelScore()).add(nll, kl)


def repetition(model: LlamaModel, window: np.ndarray, memories: list[KV | None], marker: int) -> tuple[int, int]:
    """(tokens predicted right, segments predicted entirely right) of the repetition zones of the
    window's segments, each attending to its memory only (loma-spec 3.4)."""
    tc = model.config.loma.segment_length
    correct = exact = 0
    for index, memory in enumerate(memories):
        p = index * tc
        segment = window[p:p + tc]
        zone = np.concatenate(([marker], segment[:-1]))
        cache = KV.empty(model.config) if memory is None else memory
        logits, _ = model.forward(zone, np.arange(p, p + tc), cache)
        right = int((logits.argmax(axis=-1) == segment).sum())
        correct += right
        exact += right == tc
    return correct, exact


# ---- models, daemon, data ------------------------------------------------------------------


def load_model(folder: Path, daemon_name: str) -> ModelUnderTest:
    config_path = folder / "config.json"
    try:
        raw = json.loads(config_path.read_text())
    except (OSError, ValueError) as error:
        raise EvaluationError(f"{config_path}: cannot read ({error})") from error
    loma = raw.get("loma")
    if not isinstance(loma, dict) or not isinstance(loma.get("repetition_token_id"), int):
        raise EvaluationError(f"{config_path}: no loma.repetition_token_id (not a model from Training/loma_train)")
    model = LlamaModel(folder)
    return ModelUnderTest(daemon_name, model, int(loma["repetition_token_id"]), str(loma.get("objective", "loma")))


def check_served(client: Client, models: list[ModelUnderTest]) -> None:
    for under_test in models:
        try:
            info = client.model_info(under_test.name)
        except LookupError as error:
            raise EvaluationError(str(error)) from error
        loma = under_test.model.config.loma
        if (info.segment_length, info.compression_ratio) != (loma.segment_length, loma.compression_ratio):
            raise EvaluationError(
                f"daemon model {under_test.name!r} has segment_length {info.segment_length}, ratio "
                f"{info.compression_ratio}; {under_test.model.directory} has {loma.segment_length}, "
                f"{loma.compression_ratio}: serve that folder under that name")


def held_out_windows(cache: Path, count: int, length: int, corpus: str = "docs",
                     tokenizer_folder: Path | None = None) -> tuple[np.ndarray, int]:
    """`count` (0: all) non-overlapping windows spread evenly over the training recipe's held-out
    split: its bytes for the byte-level models, its tokens under `tokenizer_folder`'s tokenizer for
    BPE models. Returns the windows and the split's size in the same unit."""
    try:
        split, _ = load_corpus(cache, corpus)
    except CorpusError as error:
        raise EvaluationError(f"held-out split ({cache}): {error}") from error
    held_out = split.held_out
    if tokenizer_folder is not None:
        from transformers import AutoTokenizer

        from loma_train.bpe_corpus import encode_text

        held_out = encode_text(AutoTokenizer.from_pretrained(tokenizer_folder), held_out)
    slots = held_out.size // length
    count = count or slots
    if count > slots:
        raise EvaluationError(f"--windows {count}: the held-out split ({held_out.size} tokens) holds only "
                              f"{slots} non-overlapping windows of {length} tokens")
    chosen = np.linspace(0, slots - 1, count).round().astype(np.int64)
    windows = np.stack([held_out[s * length:(s + 1) * length] for s in chosen]).astype(np.int64)
    return windows, int(held_out.size)


def default_lomad() -> Path:
    """The release build the brief benchmarks with, else whatever `find_lomad` finds."""
    release = REPO_ROOT / ".build" / "release" / "lomad"
    if not os.environ.get("LOMAD_BIN") and os.access(release, os.X_OK):
        return release
    return find_lomad(REPO_ROOT)


# ---- the run -------------------------------------------------------------------------------


def evaluate(client: Client, baseline: ModelUnderTest, loma_models: list[ModelUnderTest], windows: np.ndarray,
             log, twin: ModelUnderTest | None = None) -> QualityResults:
    results = QualityResults(baseline=baseline, loma_models=loma_models, windows=len(windows),
                             window_tokens=windows.shape[1], twin=twin)
    vocabulary = text_vocabulary([baseline, *loma_models, *([twin] if twin else [])])
    run = uuid.uuid4().hex[:8]
    checked: dict[str, ReferenceCheckedCompressor] = {}
    started = time.monotonic()
    for index, window in enumerate(windows):
        full = read_full_attention(baseline.model, window)
        reference = text_distribution(full.log_probs, vocabulary)
        targets = window[baseline.model.config.loma.segment_length:]
        score_reading(results, (baseline.name, FULL_ATTENTION), full, targets, reference)
        if twin is not None:
            score_reading(results, (twin.name, FULL_ATTENTION), read_full_attention(twin.model, window), targets,
                          reference)
        score_reading(results, (baseline.name, NO_MEMORY), read_without_memory(baseline.model, window), targets,
                      reference)
        for under_test in loma_models:
            model = under_test.model
            for method in DAEMON_METHODS:
                sequence = f"eval-{run}-{under_test.name}-{method}-{index}"
                method_client = MethodClient(client, method)
                compress = DaemonCompressor(method_client, under_test.name, sequence)
                if index == 0 and method == "loma":
                    compress = checked.setdefault(under_test.name, ReferenceCheckedCompressor(
                        compress, ReferenceCompressor(model.directory, model.config)))
                reading = read_with_memory(model, compress, window)
                if method_client.keeps_sequence:
                    client.delete_sequence(sequence)
                score_reading(results, (under_test.name, method), reading, targets, reference)
                right, exact = repetition(model, window, reading.memories, under_test.repetition_token_id)
                results.repetition.setdefault((under_test.name, method), RepetitionScore()).add(
                    right, exact, len(window), len(reading.memories))
            alone = read_without_memory(model, window)
            score_reading(results, (under_test.name, NO_MEMORY), alone, targets, reference)
            segments = len(window) // model.config.loma.segment_length
            right, exact = repetition(model, window, [None] * segments, under_test.repetition_token_id)
            results.repetition.setdefault((under_test.name, NO_MEMORY), RepetitionScore()).add(
                right, exact, len(window), segments)
        if log and (index + 1) % max(1, len(windows) // 8) == 0:
            log(f"[{index + 1}/{len(windows)} windows, {time.monotonic() - started:.0f} s]")
    for name, compressor in checked.items():
        results.reference_errors[name] = compressor.worst_relative_error
        if compressor.worst_relative_error > REFERENCE_TOLERANCE:
            raise EvaluationError(f"{name}: daemon memory differs from the numpy reference by relative error "
                                  f"{compressor.worst_relative_error:.2e} (tolerance {REFERENCE_TOLERANCE:g})")
    results.seconds = time.monotonic() - started
    return results


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "Models", help="default: %(default)s")
    parser.add_argument("--loma-models", default="loma-tiny-r2,loma-tiny,loma-tiny-r8",
                        help="comma-separated folders of --models-dir trained with the LoMA objective, "
                             "served under their folder names (default: %(default)s)")
    parser.add_argument("--baseline", default="lm-tiny-baseline",
                        help="folder of the plain-LM full-attention baseline (default: %(default)s)")
    parser.add_argument("--twin", help="folder of the plain-LM twin of the LoMA models (row (b), full attention)")
    parser.add_argument("--corpus", default="docs", choices=("docs", "prose"),
                        help="held-out split: docs (byte models) or prose (BPE models, tokenised by the "
                             "baseline folder's tokenizer; cache next to --cache) (default: %(default)s)")
    parser.add_argument("--section", help="write the results as this named section of quality.md (plot "
                                          "quality-SECTION.png) instead of rewriting the whole page")
    parser.add_argument("--windows", type=int, default=0,
                        help="held-out windows (default: every non-overlapping window of the split)")
    parser.add_argument("--segments", type=int, default=4,
                        help="segments per window, as in training (default: %(default)s)")
    parser.add_argument("--cache", type=Path, default=TRAINING / "cache" / "corpus",
                        help="the training recipe's corpus cache (default: %(default)s)")
    parser.add_argument("--endpoint", help="a running lomad serving every model under its folder name; "
                                           "default: start a private one")
    parser.add_argument("--lomad", type=Path, help="daemon binary to start (default: .build/release/lomad)")
    parser.add_argument("--docs", type=Path, default=REPO_ROOT / "docs",
                        help="where quality.md and quality.png go (default: %(default)s)")
    parser.add_argument("--no-docs", action="store_true", help="print the tables only")
    arguments = parser.parse_args(argv)
    if arguments.windows == 1 or arguments.windows < 0:
        parser.error("--windows must be at least 2 (the error bars need two), or 0 for all")
    if arguments.segments < 2:
        parser.error("--segments must be at least 2 (segment 0 is never scored)")
    return arguments


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        names = [name.strip() for name in arguments.loma_models.split(",") if name.strip()]
        loma_models = [load_model(arguments.models_dir / name, name) for name in names]
        for under_test in loma_models:
            if under_test.objective != "loma":
                raise EvaluationError(f"{under_test.model.directory / 'config.json'}: loma.objective is "
                                      f"{under_test.objective!r}; --loma-models takes models trained with 'loma'")
        baseline = load_model(arguments.models_dir / arguments.baseline, arguments.baseline)
        twin = load_model(arguments.models_dir / arguments.twin, arguments.twin) if arguments.twin else None
        segment_lengths = {m.model.config.loma.segment_length for m in [baseline, *loma_models]}
        if len(segment_lengths) != 1:
            raise EvaluationError(f"the models disagree on segment_length ({sorted(segment_lengths)})")
        length = arguments.segments * segment_lengths.pop()
        bpe = arguments.corpus == "prose"
        cache = arguments.cache.parent / "prose" if bpe else arguments.cache
        windows, held_out_size = held_out_windows(cache, arguments.windows, length, arguments.corpus,
                                                  baseline.model.directory if bpe else None)
        log(f"[{len(windows)} held-out windows of {length} tokens ({held_out_size} tokens in the split); "
            f"models: {', '.join(m.name for m in loma_models)}; baseline {baseline.name}]")
        served = {m.name: m.model.directory for m in loma_models}
        daemon = None
        if not arguments.endpoint:
            daemon = LocalDaemon(served, binary=arguments.lomad or default_lomad()).start()
        try:
            with Client(arguments.endpoint or daemon.endpoint, timeout=60.0) as client:
                check_served(client, loma_models)
                results = evaluate(client, baseline, loma_models, windows, log, twin)
        finally:
            if daemon:
                daemon.stop()
        results.held_out_bytes = held_out_size
        results.unit = "token" if bpe else "byte"
    except (EvaluationError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(markdown_tables(results))
    if not arguments.no_docs:
        command = "python Training/evaluate.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
        markdown, plot = write_docs(results, arguments.docs, command, arguments.section)
        log(f"[wrote {markdown} and {plot}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
