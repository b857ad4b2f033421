"""Answer candidates, the fitted scorers' shapes, and paragraph merging, on the tiny report with the fake encoder."""

from __future__ import annotations

from reportqa import chunking
from reportqa.assistant import Assistant
from reportqa.chunking import chunk_document
from reportqa.extract import ABSTENTION_FEATURES, ANSWER_FEATURES, candidates, decide, key_terms
from reportqa.ingest import read_documents
from reportqa.settings import DEFAULT
from reportqa.text import terms


def test_fitted_weights_match_the_features():
    assert len(DEFAULT.answer_weights) == len(ANSWER_FEATURES)
    for field in ("abstain_mean", "abstain_scale", "topic_weights", "abstain_weights"):
        assert len(getattr(DEFAULT, field)) == len(ABSTENTION_FEATURES), field
    assert 0.0 <= DEFAULT.abstain_threshold <= 1.0


def test_short_paragraphs_merge_within_the_budget(tiny_source, fake_encoder):
    doc = read_documents(tiny_source)[0]
    merged = chunk_document(doc, fake_encoder.count_tokens, fake_encoder.max_tokens, merge_tokens=40)
    single = chunk_document(doc, fake_encoder.count_tokens, fake_encoder.max_tokens, merge_tokens=0)
    assert len(single) == 4 and len(merged) < len(single)
    for c in merged:
        assert doc.text[c.start : c.end] == c.text
        if "\n\n" in c.text:  # a passage of several paragraphs stays within the merge budget
            assert fake_encoder.count_tokens(c.text) <= 40
        assert all(doc.text[a:b].strip() == doc.text[a:b] for a, b in c.sentences)
    # merging never changes the sentences, only how they are grouped
    assert [s for c in merged for s in c.sentences] == [s for c in single for s in c.sentences]
    assert chunking.CHUNKING["merge_tokens"] == chunking.MERGE_TOKENS


def test_candidates_are_sentences_and_adjacent_pairs_of_one_passage(tiny_source, fake_encoder, tmp_path):
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    a.load()
    question = "When did the inspectors visit the bus depot?"
    q_terms = terms(question)
    ranking = a._retriever.rank(q_terms, fake_encoder.encode([question])[0])
    spans, features = candidates(a.index, a._retriever, question, q_terms, ranking, a.settings)
    assert features.shape == (len(spans), len(ANSWER_FEATURES))
    pair = ANSWER_FEATURES.index("pair")
    for (cid, start, end), row in zip(spans, features):
        chunk = a.index.chunks[cid]
        starts = [s for s, _ in chunk.sentences]
        ends = [e for _, e in chunk.sentences]
        assert start in starts and end in ends  # whole sentences only
        width = ends.index(end) - starts.index(start) + 1
        assert width == (2 if row[pair] else 1)
        assert end - start <= a.settings.answer_max_chars or width == 1
    decision = decide(a.index, a._retriever, question, q_terms, ranking, a.settings)
    assert 0.0 <= decision.p <= 1.0
    assert len(decision.abstention_features) == len(ABSTENTION_FEATURES)


def test_key_terms_are_names_and_numbers():
    assert key_terms("When did Operation Forced run in 2001?") == {"oper", "forc", "2001"}
    assert key_terms("what is the capital of australia") == set()


def test_a_report_of_short_lines_still_gets_answers(tmp_path, fake_encoder):
    source = tmp_path / "lines.txt"
    source.write_text("Budget 2024\n\nStaff: 12\n\nOffices: Leeds\n", encoding="utf-8")
    a = Assistant(source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    a.load()
    question = "How many staff?"
    q_terms = terms(question)
    ranking = a._retriever.rank(q_terms, fake_encoder.encode([question])[0])
    spans, _ = candidates(a.index, a._retriever, question, q_terms, ranking, a.settings)
    assert spans
