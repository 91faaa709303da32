"""docs/quality.md keeps one section per evaluated checkpoint family: a BPE run (`--section`)
replaces only its own section, and a rewrite of the byte models' page keeps the sections; the
text vocabulary KL is taken over stops at the first LoMA token of any model.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

TRAINING = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TRAINING))

import evaluate  # noqa: E402
from quality_report import (  # noqa: E402
    FULL_ATTENTION,
    NO_MEMORY,
    LanguageModelScore,
    ModelUnderTest,
    QualityResults,
    RepetitionScore,
    write_docs,
)


def model(name: str, ratio: int, repetition: int, objective: str = "loma") -> ModelUnderTest:
    loma = SimpleNamespace(segment_length=8, compression_ratio=ratio, memory_tokens=8 // ratio,
                           memory_token_ids=list(range(repetition + 1, repetition + 1 + 8 // ratio)))
    return ModelUnderTest(name, SimpleNamespace(config=SimpleNamespace(loma=loma)), repetition, objective)


def results(unit: str, offset: float) -> QualityResults:
    base, twin, loma = model("base", 4, 100, "base"), model("twin", 4, 100, "lm"), model("loma", 4, 100)
    out = QualityResults(baseline=base, loma_models=[loma], windows=3, window_tokens=16, twin=twin, unit=unit)
    rng = np.random.default_rng(0)
    for key in [(base.name, FULL_ATTENTION), (twin.name, FULL_ATTENTION), (base.name, NO_MEMORY),
                *[(loma.name, m) for m in ("loma", "mean_pool", "strided", NO_MEMORY)]]:
        score = out.language_model.setdefault(key, LanguageModelScore())
        for _ in range(3):
            score.add(offset + rng.random(8), rng.random(8))
    for method in ("loma", "mean_pool", "strided", NO_MEMORY):
        out.repetition[(loma.name, method)] = RepetitionScore(10, 16, 1, 2)
    out.reference_errors = {"loma": 1e-7}
    return out


def test_sections_are_replaced_and_kept(tmp_path: Path) -> None:
    write_docs(results("byte", 1.0), tmp_path, "python Training/evaluate.py")
    write_docs(results("token", 2.0), tmp_path, "first", section="real")
    page = (tmp_path / "quality.md").read_text()
    assert page.count("<!-- section:real -->") == 1 and "nats/token" in page and "full attention (b)" in page
    write_docs(results("token", 3.0), tmp_path, "second", section="real")
    page = (tmp_path / "quality.md").read_text()
    assert page.count("<!-- section:real -->") == 1 and "`second`" in page and "`first`" not in page
    write_docs(results("byte", 1.5), tmp_path, "python Training/evaluate.py --windows 3")
    page = (tmp_path / "quality.md").read_text()
    assert page.startswith("# What compression costs in quality") and "`second`" in page
    assert (tmp_path / "quality.png").exists() and (tmp_path / "quality-real.png").exists()


def test_text_vocabulary_stops_at_the_first_loma_token() -> None:
    assert evaluate.text_vocabulary([model("a", 4, 257), model("b", 8, 257)]) == 257
    assert evaluate.text_vocabulary([model("a", 4, 49152)]) == 49152
    log_probs = np.log(np.full((2, 6), 1 / 6))
    renormalised = evaluate.text_distribution(log_probs, 3)
    np.testing.assert_allclose(np.exp(renormalised).sum(axis=1), 1.0)
