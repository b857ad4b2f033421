"""The public API on the bundled report, with the real model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import DATA, ROOT

import reportqa
from reportqa.assistant import BUNDLED_INDEX, BUNDLED_SOURCE, Assistant
from reportqa.embed import default_encoder
from reportqa.index import expected_manifest, read_index, staleness
from reportqa.results import Answer, Citation

REPORT = ROOT / "source_text" / "iopc-operation-amazon.txt"
SHARED_REPORT = ROOT.parent / "shared" / "report" / "iopc-operation-amazon.txt"
QUESTIONS = [json.loads(line) for line in (DATA / "questions.jsonl").read_text("utf-8").splitlines() if line.strip()]


def file_text(name: str, source: Path = BUNDLED_SOURCE) -> str:
    path = source / name if source.is_dir() else source
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def test_bundled_report_is_a_byte_copy_of_shared():
    if not SHARED_REPORT.exists():
        pytest.skip(f"{SHARED_REPORT} is absent; nothing to compare with")
    assert REPORT.read_bytes() == SHARED_REPORT.read_bytes()


def test_committed_index_is_fresh_for_source_text_and_model():
    index = read_index(BUNDLED_INDEX)
    assert staleness(index.manifest, expected_manifest(BUNDLED_SOURCE, default_encoder())) is None
    assert len(index.chunks) == index.embeddings.shape[0] > 0


def test_staleness_names_a_changed_source_and_a_changed_model(tmp_path):
    index = read_index(BUNDLED_INDEX)
    copy = tmp_path / "src"
    shutil.copytree(BUNDLED_SOURCE, copy)
    expected = expected_manifest(copy, default_encoder())
    assert staleness(index.manifest, expected) is None
    (copy / REPORT.name).write_text(file_text(REPORT.name) + "\nOne more line.\n", encoding="utf-8")
    assert "source changed" in staleness(index.manifest, expected_manifest(copy, default_encoder()))
    other_model = dict(expected, model=dict(expected["model"], fingerprint="sha256:0000"))
    assert "model changed" in staleness(index.manifest, other_model)


def test_module_answer_quotes_the_report_with_checkable_citations():
    a = reportqa.answer("When did the IOPC publish the full findings of Operation Amazon?")
    assert isinstance(a, Answer) and a.answered
    assert "September 19" in a.text
    first = a.citations[0]
    assert isinstance(first, Citation) and first.source == REPORT.name
    text = file_text(first.source)
    assert text[first.start : first.end] == first.text
    assert text[a.quote.start : a.quote.end] == a.text
    assert first.start <= a.quote.start < a.quote.end <= first.end
    assert text.count("\n", 0, first.start) + 1 == first.line
    assert 0.0 <= a.confidence <= 1.0
    json.dumps(a.to_dict())  # plain JSON
    assert set(a.to_dict()) >= {"question", "answered", "text", "confidence", "citations"}
    assert set(a.to_dict()["citations"][0]) == {"source", "start", "end", "line", "paragraph", "text", "score"}


def test_answers_are_frozen():
    a = reportqa.answer("Who is Jayne Senior?")
    with pytest.raises(AttributeError):
        a.text = "something else"  # type: ignore[misc]


def test_every_citation_of_every_fixed_question_matches_the_file(bundled):
    text = file_text(REPORT.name)
    for q in QUESTIONS:
        a = bundled.answer(q["q"], k=5)
        assert len(a.citations) == 5
        for c in a.citations:
            assert text[c.start : c.end] == c.text, q["id"]
        if a.answered:
            assert text[a.quote.start : a.quote.end] == a.text, q["id"]
            assert a.citations[0].start <= a.quote.start and a.quote.end <= a.citations[0].end
        else:
            assert a.text == "" and a.quote is None and a.citations  # closest passages still listed


def test_k_bounds_the_citations(bundled):
    assert len(bundled.answer("Operation Linden", k=1).citations) == 1
    with pytest.raises(ValueError):
        bundled.answer("Operation Linden", k=0)


def test_another_report_through_assistant_source(tmp_path):
    report = tmp_path / "notes.md"
    report.write_text(
        "# Garden notes\n\nThe greenhouse was built in 1987 by Maria Lopez.\n\n"
        "Tomatoes are watered every morning at six. The roses need pruning in March.\n",
        encoding="utf-8",
    )
    a = Assistant(source=report, index_dir=tmp_path / "idx", notify=lambda m: None)
    got = a.answer("Who built the greenhouse?")
    assert got.answered and "Maria Lopez" in got.text
    assert got.citations[0].source == "notes.md"
    assert report.read_text(encoding="utf-8")[got.quote.start : got.quote.end] == got.text
    assert (tmp_path / "idx" / "manifest.json").exists()


def test_quote_line_and_paragraph_are_those_of_the_quote_itself(bundled):
    text = file_text(REPORT.name)
    for q in QUESTIONS:
        a = bundled.answer(q["q"])
        if not a.answered:
            continue
        assert a.quote.line == text.count("\n", 0, a.quote.start) + 1, q["id"]
        # Paragraphs are separated by blank lines in this report.
        assert a.quote.paragraph == text.count("\n\n", 0, a.quote.start) + 1, q["id"]
