"""The `prose` corpus's extraction: English HTML pages and POD prose, translations, code and
headings left out, and a cache holding another corpus refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loma_train.corpus import _TRANSLATED_HTML, CORPORA, CorpusError, _pod_paragraphs, load_corpus, prose_paragraphs

POD = """=head1 NAME

perlfoo - what the module does

=head1 DESCRIPTION

The C<open> function returns a handle; see L<perlfunc/open> for the B<full> story.

    my $code = 'verbatim, never prose';
"""


def test_pod_keeps_prose_and_strips_formatting_codes() -> None:
    assert _pod_paragraphs(POD) == [
        "perlfoo - what the module does",
        "The open function returns a handle; see perlfunc/open for the full story.",
    ]


def test_translated_pages_are_recognised() -> None:
    assert _TRANSLATED_HTML.search("index.fr.html") and _TRANSLATED_HTML.search("ch01.pt-br.html")
    assert not _TRANSLATED_HTML.search("index.en.html") and not _TRANSLATED_HTML.search("sql-select.html")


def test_prose_reads_extra_html_and_pod(tmp_path: Path) -> None:
    root = tmp_path
    (root / "usr/share/debian-reference").mkdir(parents=True)
    import gzip

    with gzip.open(root / "usr/share/debian-reference/debian-reference.en.txt.gz", "wt") as handle:
        handle.write("Reference paragraph.\n")
    (root / "usr/share/doc/gnu-standards").mkdir(parents=True)
    handbook = root / "usr/share/doc/debian-handbook/html/en-US"
    handbook.mkdir(parents=True)
    (handbook / "a.html").write_text("<p>Handbook paragraph.</p>")
    extra = root / "usr/share/doc/postgresql-doc-15/html"
    extra.mkdir(parents=True)
    (extra / "sql.html").write_text("<p>English page.</p><pre>SELECT 1;</pre>")
    (extra / "sql.fr.html").write_text("<p>Page traduite.</p>")
    pod = root / "usr/share/perl/5.36/pod"
    pod.mkdir(parents=True)
    (pod / "perlfoo.pod").write_text(POD)
    sources = root / "usr/share/doc/python3.11/html/_sources"
    sources.mkdir(parents=True)
    (sources / "x.html").write_text("<p>Source copy.</p>")
    paragraphs = prose_paragraphs(root)
    assert "English page." in paragraphs and "Handbook paragraph." in paragraphs
    assert "Page traduite." not in paragraphs and "Source copy." not in paragraphs
    assert not any("SELECT" in p for p in paragraphs)
    assert any(p.startswith("The open function") for p in paragraphs)


def test_a_cache_of_another_corpus_is_refused(tmp_path: Path) -> None:
    for name in ("train.bin", "held_out.bin"):
        (tmp_path / name).write_bytes(b"text")
    (tmp_path / "stats.json").write_text(json.dumps({"packages": CORPORA["docs"]}))
    with pytest.raises(CorpusError, match="not 'prose'"):
        load_corpus(tmp_path, "prose")
    with pytest.raises(CorpusError, match="unknown corpus"):
        load_corpus(tmp_path, "novels")
