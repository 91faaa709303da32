"""The English corpora: prose from Debian documentation packages, fetched with apt.

Two corpora share the code. `docs` (three packages, ~1.5 MB of text) is what the byte-level
`tiny` models were trained on and stays unchanged so they stay reproducible. `prose` adds the
large manuals (Python, PostgreSQL, Git, Perl, Bash, Autoconf, gettext, Debian policy and guides)
for fine-tuning real BPE checkpoints, which need far more text than a byte model of 0.86 M
parameters.

`apt-get download` + `dpkg -x` need no root and work on any Debian/Ubuntu machine with the
package lists present; the .deb files and the extracted text are cached under the cache dir.

Documents are paragraphs: the blank-line-separated blocks of each manual, whitespace-normalised,
kept when they read as prose (mostly letters, long enough), deduplicated by content. The split is
by the SHA-256 of each paragraph, so it does not depend on order, seeds or the machine.
"""

from __future__ import annotations

import gzip
import hashlib
import html.parser
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Whatever version apt offers is used; the README records the Debian 12 versions and the corpus
# size the shipped model was trained on.
PACKAGES = ["debian-reference-en", "debian-handbook", "gnu-standards"]
# The `prose` corpus: PACKAGES plus these, whose English HTML pages and Perl POD manuals are read.
PROSE_EXTRA_PACKAGES = ["python3.11-doc", "postgresql-doc-15", "git-doc", "perl-doc", "bash-doc",
                        "autoconf-doc", "gettext-doc", "debian-policy", "developers-reference",
                        "maint-guide", "debian-faq"]
CORPORA = {"docs": PACKAGES, "prose": PACKAGES + PROSE_EXTRA_PACKAGES}

HELD_OUT_PERCENT = 5
MIN_PARAGRAPH_CHARS = 120
MIN_LETTER_FRACTION = 0.8


class CorpusError(RuntimeError):
    pass


@dataclass(frozen=True)
class CorpusSplit:
    train: np.ndarray      # uint8 bytes, paragraphs joined by "\n\n"
    held_out: np.ndarray


class _ParagraphExtractor(html.parser.HTMLParser):
    """Text of paragraphs (`<p>` and DocBook/Publican `<div class="para">`), skipping code."""

    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[str] = []
        self._open: list[bool] = []   # per open <p>/<div>: does it start a paragraph?
        self._depth = 0               # paragraphs currently open (nested ones join the outer)
        self._skip = 0
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "div"):
            starts = tag == "p" or ("class", "para") in attrs
            self._open.append(starts)
            self._depth += starts
        elif tag in ("pre", "script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "div") and self._open:
            if self._open.pop():
                self._depth -= 1
                if not self._depth:
                    self.paragraphs.append("".join(self._parts))
                    self._parts = []
        elif tag in ("pre", "script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._depth and not self._skip:
            self._parts.append(data)


def fetch_packages(cache: Path, packages: list[str] = PACKAGES) -> Path:
    """Downloads and unpacks the documentation packages; returns the unpacked root."""
    debs, root = cache / "debs", cache / "root"
    debs.mkdir(parents=True, exist_ok=True)
    for package in packages:
        if not list(debs.glob(f"{package}_*.deb")):
            result = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True, text=True)
            if result.returncode != 0:
                raise CorpusError(f"apt-get download {package} failed (is the package list current? "
                                  f"try 'apt-get update'):\n{result.stderr.strip()}")
    root.mkdir(exist_ok=True)
    for deb in sorted(debs.glob("*.deb")):
        marker = root / f".{deb.name}.unpacked"
        if not marker.exists():
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
            marker.touch()
    return root


def _text_paragraphs(text: str) -> list[str]:
    return re.split(r"\n\s*\n", text)


def raw_paragraphs(root: Path) -> list[str]:
    """Every candidate paragraph, in a fixed order (sources sorted by path)."""
    sources: list[tuple[str, list[str]]] = []
    reference = root / "usr/share/debian-reference/debian-reference.en.txt.gz"
    standards = sorted((root / "usr/share/doc/gnu-standards").glob("*.text.gz"))
    handbook = sorted((root / "usr/share/doc/debian-handbook/html/en-US").glob("*.html"))
    for path in [reference, *standards]:
        if not path.exists():
            raise CorpusError(f"{path} is missing from the unpacked packages")
        sources.append((str(path), _text_paragraphs(gzip.open(path, "rt", encoding="utf-8", errors="replace").read())))
    if not handbook:
        raise CorpusError(f"no English HTML under {root / 'usr/share/doc/debian-handbook/html/en-US'}")
    for path in handbook:
        extractor = _ParagraphExtractor()
        extractor.feed(path.read_text(encoding="utf-8", errors="replace"))
        sources.append((str(path), extractor.paragraphs))
    return [paragraph for _, paragraphs in sorted(sources) for paragraph in paragraphs]


# A language tag before .html (page.fr.html): translations are left out, the corpus is English.
_TRANSLATED_HTML = re.compile(r"\.(?!en\.)[a-z]{2}(?:[-_][A-Za-z]{2,4})?\.html$")
_POD_CODE = re.compile(r"[A-Z]<+(?:\s)?([^<>]*?)(?:\s)?>+")


def _pod_paragraphs(text: str) -> list[str]:
    """POD prose: blank-line blocks that are neither commands (`=head1`) nor verbatim (indented),
    with formatting codes (`C<...>`, `L<...>`) reduced to their text."""
    paragraphs = []
    for block in _text_paragraphs(text):
        stripped = block.strip("\n")
        if not stripped or stripped.startswith("=") or stripped[0].isspace():
            continue
        previous = None
        while previous != stripped:
            previous, stripped = stripped, _POD_CODE.sub(r"\1", stripped)
        paragraphs.append(stripped)
    return paragraphs


def prose_paragraphs(root: Path) -> list[str]:
    """The `prose` corpus: the `docs` paragraphs, then every English HTML page and POD manual of
    PROSE_EXTRA_PACKAGES, sources sorted by path. Sphinx's `_sources` copies are skipped (the HTML
    carries the same text)."""
    paragraphs = raw_paragraphs(root)
    sources: list[tuple[str, list[str]]] = []
    known = [root / "usr/share/debian-reference", root / "usr/share/doc/gnu-standards",
             root / "usr/share/doc/debian-handbook"]
    for path in sorted((root / "usr/share").rglob("*")):
        if not path.is_file() or any(path.is_relative_to(k) for k in known) or "_sources" in path.parts:
            continue
        if path.suffix == ".html" and not _TRANSLATED_HTML.search(path.name):
            extractor = _ParagraphExtractor()
            extractor.feed(path.read_text(encoding="utf-8", errors="replace"))
            sources.append((str(path), extractor.paragraphs))
        elif path.suffix == ".pod":
            sources.append((str(path), _pod_paragraphs(path.read_text(encoding="utf-8", errors="replace"))))
    if not sources:
        raise CorpusError(f"no HTML or POD pages under {root / 'usr/share'}")
    return paragraphs + [paragraph for _, texts in sources for paragraph in texts]


def is_prose(paragraph: str) -> bool:
    if len(paragraph) < MIN_PARAGRAPH_CHARS:
        return False
    letters = sum(ch.isalpha() or ch.isspace() for ch in paragraph)
    return letters / len(paragraph) >= MIN_LETTER_FRACTION


def build_split(root: Path, corpus: str = "docs") -> tuple[CorpusSplit, dict]:
    seen: set[str] = set()
    train: list[str] = []
    held_out: list[str] = []
    candidates = raw_paragraphs(root) if corpus == "docs" else prose_paragraphs(root)
    for paragraph in candidates:
        paragraph = " ".join(paragraph.split())
        if not is_prose(paragraph):
            continue
        digest = hashlib.sha256(paragraph.encode("utf-8")).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        (held_out if int(digest[:8], 16) % 100 < HELD_OUT_PERCENT else train).append(paragraph)

    def pack(paragraphs: list[str]) -> np.ndarray:
        return np.frombuffer("\n\n".join(paragraphs).encode("utf-8"), dtype=np.uint8).copy()

    split = CorpusSplit(pack(train), pack(held_out))
    stats = {"packages": CORPORA[corpus], "candidate_paragraphs": len(candidates),
             "train_paragraphs": len(train), "held_out_paragraphs": len(held_out),
             "train_bytes": int(split.train.size), "held_out_bytes": int(split.held_out.size)}
    return split, stats


def load_corpus(cache: Path, corpus: str = "docs") -> tuple[CorpusSplit, dict]:
    """The split, built once and cached as raw byte files next to its statistics. `corpus` is a key
    of CORPORA; give each corpus its own cache folder."""
    if corpus not in CORPORA:
        raise CorpusError(f"unknown corpus '{corpus}' (known: {', '.join(sorted(CORPORA))})")
    train_path, held_out_path, stats_path = cache / "train.bin", cache / "held_out.bin", cache / "stats.json"
    if not (train_path.exists() and held_out_path.exists() and stats_path.exists()):
        split, stats = build_split(fetch_packages(cache, CORPORA[corpus]), corpus)
        cache.mkdir(parents=True, exist_ok=True)
        split.train.tofile(train_path)
        split.held_out.tofile(held_out_path)
        stats_path.write_text(json.dumps(stats, indent=2) + "\n")
    split = CorpusSplit(np.fromfile(train_path, dtype=np.uint8), np.fromfile(held_out_path, dtype=np.uint8))
    stats = json.loads(stats_path.read_text())
    if stats["packages"] != CORPORA[corpus]:
        raise CorpusError(f"{cache} holds a corpus of {stats['packages']}, not '{corpus}'; use another --cache")
    return split, stats
