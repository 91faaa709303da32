"""Scores of `evaluate.py` and how they are reported: markdown tables, docs/quality.md, the plot.

Error bars are 95 % intervals over windows (1.96 standard errors); a difference between two
variants is taken per window (paired), since every variant reads the same windows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FULL_ATTENTION = "full attention"
NO_MEMORY = "no memory"
METHOD_LABELS = {"loma": "LoMA memory", "mean_pool": "mean_pool", "strided": "strided",
                 NO_MEMORY: "no memory (segment alone)", FULL_ATTENTION: "full attention (a)"}
Z95 = 1.96


@dataclass
class ModelUnderTest:
    name: str            # the folder name, which is also its name in the daemon
    model: Any           # llama_numpy.LlamaModel
    repetition_token_id: int
    objective: str       # "loma" or "lm" (config.json loma.objective)

    @property
    def ratio(self) -> int:
        return self.model.config.loma.compression_ratio

    @property
    def memory_tokens(self) -> int:
        return self.model.config.loma.memory_tokens

    @property
    def segment_length(self) -> int:
        return self.model.config.loma.segment_length


@dataclass
class LanguageModelScore:
    """Per-window means, so intervals and paired differences are over windows."""

    window_nll: list[float] = field(default_factory=list)
    window_kl: list[float] = field(default_factory=list)
    tokens: int = 0

    def add(self, nll: np.ndarray, kl: np.ndarray) -> None:
        self.window_nll.append(float(nll.mean()))
        self.window_kl.append(float(kl.mean()))
        self.tokens += int(nll.size)

    @property
    def nll(self) -> float:
        """Nats per byte: windows score equally many tokens, so this is the mean over tokens."""
        return float(np.mean(self.window_nll))

    @property
    def perplexity(self) -> float:
        return math.exp(self.nll)

    @property
    def kl(self) -> float:
        return float(np.mean(self.window_kl))


@dataclass
class RepetitionScore:
    correct: int = 0
    tokens: int = 0
    exact: int = 0
    segments: int = 0

    def add(self, correct: int, exact: int, tokens: int, segments: int) -> None:
        self.correct += correct
        self.exact += exact
        self.tokens += tokens
        self.segments += segments

    @property
    def accuracy(self) -> float:
        return self.correct / self.tokens

    @property
    def exact_rate(self) -> float:
        return self.exact / self.segments


@dataclass
class QualityResults:
    baseline: ModelUnderTest
    loma_models: list[ModelUnderTest]
    windows: int
    window_tokens: int
    language_model: dict[tuple[str, str], LanguageModelScore] = field(default_factory=dict)
    repetition: dict[tuple[str, str], RepetitionScore] = field(default_factory=dict)
    reference_errors: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    held_out_bytes: int = 0         # the held-out split's size in `unit`s
    twin: ModelUnderTest | None = None   # (b): the plain-LM twin of the LoMA models, full attention
    unit: str = "byte"              # what one token is: "byte" (byte-level models) or "token" (BPE)

    @property
    def full_attention_key(self) -> tuple[str, str]:
        return (self.baseline.name, FULL_ATTENTION)

    @property
    def segments(self) -> int:
        return self.window_tokens // self.baseline.segment_length

    def paired_difference(self, key: tuple[str, str], against: tuple[str, str]) -> tuple[float, float]:
        """Mean NLL of `key` minus that of `against` and its 95 % half-width, paired by window."""
        difference = np.array(self.language_model[key].window_nll) - np.array(self.language_model[against].window_nll)
        return float(difference.mean()), Z95 * float(difference.std(ddof=1)) / math.sqrt(difference.size)


# ---- tables --------------------------------------------------------------------------------


def _past_tokens(results: QualityResults, under_test: ModelUnderTest, method: str) -> int:
    """KV entries standing for the past when the window's last segment is read."""
    past_segments = results.segments - 1
    if method == FULL_ATTENTION:
        return past_segments * under_test.segment_length
    return 0 if method == NO_MEMORY else past_segments * under_test.memory_tokens


def _rows(results: QualityResults):
    yield results.baseline, FULL_ATTENTION
    if results.twin is not None:
        yield results.twin, FULL_ATTENTION
    yield results.baseline, NO_MEMORY
    for under_test in sorted(results.loma_models, key=lambda m: m.ratio):
        for method in ("loma", "mean_pool", "strided", NO_MEMORY):
            yield under_test, method


def language_model_table(results: QualityResults) -> str:
    lines = [
        (f"| model | ratio | past held as | past KV tokens | perplexity | NLL (nats/{results.unit}) | ΔNLL vs (a), 95 % "
         "| KL(a ‖ ·) (nats/token) |"),
        "|---|---|---|---|---|---|---|---|",
    ]
    for under_test, method in _rows(results):
        key = (under_test.name, method)
        score = results.language_model[key]
        if key == results.full_attention_key:
            ratio, delta, kl = "-", "-", "0 (reference)"
        else:
            mean, half = results.paired_difference(key, results.full_attention_key)
            ratio = "-" if under_test in (results.baseline, results.twin) else str(under_test.ratio)
            delta, kl = f"{mean:+.3f} ± {half:.3f}", f"{score.kl:.3f}"
        past = _past_tokens(results, under_test, method)
        label = "full attention (b)" if under_test is results.twin else METHOD_LABELS[method]
        lines.append(f"| `{under_test.name}` | {ratio} | {label} | {past} "
                     f"| {score.perplexity:.3f} | {score.nll:.3f} | {delta} | {kl} |")
    return "\n".join(lines)


def repetition_table(results: QualityResults) -> str:
    methods = ("loma", "mean_pool", "strided", NO_MEMORY)
    lines = [
        "| ratio | model | memory tokens / segment | " + " | ".join(METHOD_LABELS[m] for m in methods) + " |",
        "|---|---|---|" + "---|" * len(methods),
    ]
    for under_test in sorted(results.loma_models, key=lambda m: m.ratio):
        cells = []
        for method in methods:
            score = results.repetition[(under_test.name, method)]
            cells.append(f"{score.accuracy:.3f} / {score.exact_rate:.3f}")
        lines.append(f"| {under_test.ratio} | `{under_test.name}` | {under_test.memory_tokens} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_tables(results: QualityResults) -> str:
    scored = results.language_model[results.full_attention_key].tokens
    segments = results.repetition[(results.loma_models[0].name, "loma")].segments
    return (
        f"Language modelling: {results.windows} held-out windows of {results.segments} segments x "
        f"{results.baseline.segment_length} {results.unit}s; {scored} tokens scored per row (segments >= 1).\n\n"
        f"{language_model_table(results)}\n\n"
        f"Repetition from memory: token accuracy / exact-match rate over {segments} segments per cell "
        f"(teacher-forced argmax; exact = every {results.unit} of the segment right).\n\n"
        f"{repetition_table(results)}\n"
    )


# ---- findings ------------------------------------------------------------------------------


def _versus(unit: str, mean: float, half: float) -> str:
    """A paired NLL difference (first minus second) in words; `unit` is what one token is."""
    verdict = "within noise" if abs(mean) <= half else ("worse" if mean > 0 else "better")
    return f"{mean:+.3f} ± {half:.3f} nats/{unit} ({verdict})"


def findings(results: QualityResults) -> list[str]:
    """Statements computed from this run's numbers, so they stay true when it is rerun."""
    full = results.full_attention_key
    full_ppl = results.language_model[full].perplexity
    models = sorted(results.loma_models, key=lambda m: m.ratio)
    raw_past = results.paired_difference((results.baseline.name, NO_MEMORY), full)
    gains = []
    for m in models:
        gain = results.paired_difference((m.name, NO_MEMORY), (m.name, "loma"))
        share = f", {gain[0] / raw_past[0]:.0%} of what the raw past gives (a)" if raw_past[0] > raw_past[1] else ""
        gains.append(f"ratio {m.ratio} {_versus(results.unit, *gain)}{share}")
    lines = [(f"What the past is worth here: (a) reading each segment alone instead of with its raw past costs "
              f"{_versus(results.unit, *raw_past)}. Dropping the LoMA memory costs each LoMA model: {'; '.join(gains)}.")]
    for under_test in models:
        name = under_test.name
        loma = results.language_model[(name, "loma")]
        versus = {method: results.paired_difference((name, "loma"), (name, method))
                  for method in ("mean_pool", "strided")}
        lines.append(
            f"Ratio {under_test.ratio} (`{name}`): perplexity {loma.perplexity:.3f} with LoMA memory, "
            f"{full_ppl:.3f} for (a) ({loma.perplexity / full_ppl - 1:+.1%}, "
            f"{_versus(results.unit, *results.paired_difference((name, 'loma'), full))}; KL {loma.kl:.3f} nats/token). "
            f"Same model, same memory size: LoMA memory vs mean_pool {_versus(results.unit, *versus['mean_pool'])}, "
            f"vs strided {_versus(results.unit, *versus['strided'])}.")
    own_kl = results.language_model[(results.baseline.name, NO_MEMORY)].kl
    lowest = [m for m in models if min(("loma", "mean_pool", "strided", NO_MEMORY),
                                       key=lambda method: results.language_model[(m.name, method)].kl) == "loma"]
    lowest_text = ("at every ratio" if len(lowest) == len(models)
                   else f"at ratio {', '.join(str(m.ratio) for m in lowest)}" if lowest else "at no ratio")
    closest = min(results.language_model[(m.name, method)].kl
                  for m in models for method in ("loma", "mean_pool", "strided", NO_MEMORY))
    networks = "(a) and its fine-tune" if results.twin is not None else "two separately trained networks"
    kl_source = (f"KL(a ‖ ·) is mostly the distance between {networks}: (a) reading each "
                 f"segment alone is only {own_kl:.3f} nats/token from itself with the full past, while every "
                 f"LoMA-model row is {closest:.3f} or more." if own_kl < closest else
                 f"(a) reading each segment alone is {own_kl:.3f} nats/token from itself with the full past; the "
                 f"LoMA-model rows start at {closest:.3f}.")
    lines.append(f"{kl_source} Within one model, LoMA memory gives the lowest KL of the four pasts {lowest_text}.")
    repetition = [results.repetition[(m.name, "loma")] for m in models]
    accuracies = ", ".join(f"ratio {m.ratio} {score.accuracy:.3f} (exact {score.exact_rate:.3f})"
                           for m, score in zip(models, repetition))
    floor = ", ".join(f"{results.repetition[(m.name, NO_MEMORY)].accuracy:.3f}" for m in models)
    lossy = [str(m.ratio) for m, score in zip(models, repetition) if score.exact < score.segments]
    lossless = f"not lossless at ratio {', '.join(lossy)}" if lossy else "lossless on every segment"
    lines.append(f"Repetition from LoMA memory: {accuracies}. With no memory the same models still get {floor} "
                 f"of the {results.unit}s right (the teacher-forced zone is itself a language model of the segment), so "
                 f"what memory holds is the difference; these models' memory is {lossless}.")
    return lines


# ---- docs ----------------------------------------------------------------------------------

METHOD_NOTES = """\
## How it is measured

`Training/evaluate.py` starts (or connects to) lomad serving the three LoMA models and reads
held-out text with the numpy Llama of `Examples/generation` (float64), driven by
`generation.Generation`, the code the generation example uses: each segment of 32 bytes attends
to the memory of the earlier segments and causally to itself, and as soon as it is complete its
raw KV goes to the daemon (`compress` into a sequence, `compressors.DaemonCompressor`) and the
memory that comes back replaces it. `mean_pool` and `strided` are the daemon's baselines
(loma-spec 3.5) asked for per request, with the same memory size, read by the same LoMA model. On
the first window every LoMA memory the daemon returns is compared with the independent numpy
memory pass (`Tools/loma_reference`); the run fails above 1e-4 relative error.

* Windows: non-overlapping windows of 4 segments spread evenly over the training recipe's
  held-out split (`loma_train.corpus.load_corpus`, 5 % of paragraphs by SHA-256, never trained
  on), the layout the models were trained on.
* Language modelling: the log-likelihood of every byte of segments 1-3, each predicted from the
  previous position as generation proceeds (the first byte of a segment from the last byte of the
  one before). Segment 0 has no past in any variant and is not scored. Perplexity =
  exp(mean NLL). "past KV tokens" is what stands for the past while the last segment is read.
* (a) is `lm-tiny-baseline`: the same model size, data, seed and steps with plain causal LM loss,
  reading the whole window with full attention. KL(a ‖ variant) is computed per scored position
  on the next-byte distributions renormalised over the text vocabulary (256 bytes and
  `<|endoftext|>`; the models' vocabularies differ only in memory-token ids), then averaged.
* Repetition: for every segment (segment 0 included), its memory alone (computed with the earlier
  memory as context, as in training) feeds the repetition zone: `<|repeat|>` then the segment
  shifted right, at the segment's positions. Token accuracy is the share of argmax predictions
  equal to the segment's bytes (teacher-forced, as the training recipe reports it); exact match is
  the share of segments with every byte right, which are exactly the segments greedy decoding from
  the memory reconstructs.
* Intervals are 95 % over windows (paired by window for differences). They cover the choice of
  text, not training noise: the LoMA models and (a) are different training runs, and the training
  README reports about ±0.04 nats/byte between such runs, so a LoMA-vs-(a) gap smaller than that
  says little. Comparisons within one model (LoMA memory vs mean_pool, strided, none) share the
  weights and carry no such noise.
"""

CAVEATS = """\
These are demonstration models: 0.86 M parameters, 350 steps on two CPU cores, one seed. The
numbers show whether the memory tokens learned to carry their segment and what that buys a reader
over cheap baselines; they say nothing about how LoMA behaves at scale. `mean_pool` and
`strided` are read by a model never trained on such memory, so they show what training the
memory buys, not the best a pooling scheme could do with a model adapted to it.
"""


def quality_markdown(results: QualityResults, command: str, plot_name: str) -> str:
    errors = ", ".join(f"`{name}` {error:.1e}" for name, error in results.reference_errors.items())
    bullets = "\n".join(f"- {line}" for line in findings(results))
    return (
        "# What compression costs in quality\n\n"
        "Measured through a running lomad on the held-out split of the training recipe; regenerate "
        f"with `{command}` (this run: {results.windows} windows, {results.seconds:.0f} s on two shared CPU cores; "
        f"daemon memory vs numpy reference on the first window, relative error: {errors}).\n\n"
        f"{markdown_tables(results)}\n"
        f"![perplexity per variant and repetition accuracy per ratio]({plot_name})\n\n"
        "## What the numbers show\n\n"
        f"{bullets}\n\n{CAVEATS}\n"
        f"{METHOD_NOTES}"
    )


def plot(results: QualityResults, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = sorted(results.loma_models, key=lambda m: m.ratio)
    ratios = [m.ratio for m in models]
    methods = ("loma", "mean_pool", "strided", NO_MEMORY)
    colors = {"loma": "tab:blue", "mean_pool": "tab:orange", "strided": "tab:green", NO_MEMORY: "tab:gray"}
    figure, (perplexity_axis, repetition_axis) = plt.subplots(1, 2, figsize=(12, 5))

    width = 0.8 / len(methods)
    positions = np.arange(len(models))
    for offset, method in enumerate(methods):
        values = [results.language_model[(m.name, method)].perplexity for m in models]
        perplexity_axis.bar(positions + (offset - (len(methods) - 1) / 2) * width, values, width,
                            label=METHOD_LABELS[method], color=colors[method])
    full = results.language_model[results.full_attention_key].perplexity
    perplexity_axis.axhline(full, color="black", linestyle="--", linewidth=1, label=METHOD_LABELS[FULL_ATTENTION])
    if results.twin is not None:
        twin = results.language_model[(results.twin.name, FULL_ATTENTION)].perplexity
        perplexity_axis.axhline(twin, color="black", linestyle=":", linewidth=1, label="plain-LM twin, full attention (b)")
        full = min(full, twin)
    perplexity_axis.set_xticks(positions, [f"ratio {r}" for r in ratios])
    scored = "segment 1" if results.segments == 2 else f"segments 1-{results.segments - 1}"
    perplexity_axis.set_ylabel(f"perplexity ({results.unit}s), {scored}")
    low = min(min(p.get_height() for p in perplexity_axis.patches), full)
    perplexity_axis.set_ylim(bottom=max(0.0, low * 0.9))
    perplexity_axis.set_title("Language modelling on held-out text (lower is better)")
    perplexity_axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)

    for method in methods:
        values = [results.repetition[(m.name, method)].accuracy for m in models]
        repetition_axis.plot(ratios, values, marker="o", color=colors[method],
                             label=f"{METHOD_LABELS[method]}: token accuracy")
    exact = [results.repetition[(m.name, "loma")].exact_rate for m in models]
    repetition_axis.plot(ratios, exact, marker="s", linestyle="--", color=colors["loma"],
                         label="LoMA memory: exact segments")
    repetition_axis.set_xscale("log", base=2)
    repetition_axis.set_xticks(ratios, [str(r) for r in ratios])
    repetition_axis.set_xlabel("compression ratio")
    repetition_axis.set_ylim(0, 1.02)
    repetition_axis.set_title("Repeating a segment from its memory")
    repetition_axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


SECTION_START, SECTION_END = "<!-- section:{} -->", "<!-- /section:{} -->"
_SECTION = re.compile(r"<!-- section:([\w-]+) -->.*?<!-- /section:\1 -->\n?", re.S)


def section_markdown(results: QualityResults, command: str, plot_name: str, name: str) -> str:
    """A fine-tuned checkpoint's results as a section of quality.md: its own tables, findings and
    plot, and the notes of BPE_NOTES instead of the byte models' METHOD_NOTES."""
    errors = ", ".join(f"`{model}` {error:.1e}" for model, error in results.reference_errors.items())
    bullets = "\n".join(f"- {line}" for line in findings(results))
    twin = f"(b) is `{results.twin.name}`, the plain-LM twin (same data, adapters and steps), with full attention. " \
        if results.twin else ""
    return (
        f"{SECTION_START.format(name)}\n"
        f"## A real checkpoint: `{results.baseline.name}` and its LoMA fine-tunes\n\n"
        f"Regenerate with `{command}` (this run: {results.windows} windows, {results.seconds:.0f} s on two shared "
        f"CPU cores; daemon memory vs numpy reference on the first window, relative error: {errors}). "
        f"(a) is `{results.baseline.name}`, the original base model, with full attention. {twin}"
        f"Units are the checkpoint's BPE tokens.\n\n"
        f"{markdown_tables(results)}\n"
        f"![perplexity per variant and repetition accuracy per ratio]({plot_name})\n\n"
        f"### What the numbers show\n\n{bullets}\n\n{BPE_NOTES}"
        f"{SECTION_END.format(name)}\n")


BPE_NOTES = """\
Same procedure as above (daemon memory, numpy reader, paired 95 % intervals over windows), on the
held-out split of the `prose` corpus (docs/training.md) tokenised by the checkpoint's own tokenizer.
KL(a ‖ ·) is taken on the next-token distributions renormalised over the base vocabulary (the
LoMA tokens are appended after it). The fine-tunes here are the short CPU run of docs/training.md,
not a trained model: read the rows as a check that the whole path works on a real checkpoint,
not as what LoMA costs once trained.
"""


def write_docs(results: QualityResults, docs: Path, command: str, section: str | None = None) -> tuple[Path, Path]:
    """Rewrites quality.md and quality.png; with `section`, replaces (or appends) only that named
    section of quality.md and writes quality-SECTION.png. A full rewrite keeps existing sections."""
    docs.mkdir(parents=True, exist_ok=True)
    markdown_path = docs / "quality.md"
    existing = markdown_path.read_text() if markdown_path.exists() else ""
    if section is None:
        plot_path = docs / "quality.png"
        plot(results, plot_path)
        kept = "".join(match.group(0) for match in _SECTION.finditer(existing))
        markdown_path.write_text(quality_markdown(results, command, plot_path.name) + ("\n" + kept if kept else ""))
        return markdown_path, plot_path
    plot_path = docs / f"quality-{section}.png"
    plot(results, plot_path)
    text = section_markdown(results, command, plot_path.name, section)
    pattern = re.compile(re.escape(SECTION_START.format(section)) + ".*?" + re.escape(SECTION_END.format(section))
                         + "\n?", re.S)
    if pattern.search(existing):
        updated = pattern.sub(lambda _: text, existing)
    else:
        updated = existing.rstrip("\n") + "\n\n" + text
    markdown_path.write_text(updated)
    return markdown_path, plot_path
