"""The answer path in one place: Pipeline(searcher, reader, settings).answer(question).

The retriever takes the question as asked (its terms and encoding are its own), the
decision is made once against the threshold, and a store's passages go through the same
path as an index folder's.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import FakeReader

from reportqa.assistant import Assistant
from reportqa.evaluate import evaluate
from reportqa.pipeline import IndexSearcher, Pipeline, Searched, StoreSearcher
from reportqa.reader import SentenceTable
from reportqa.retrieve import Encoded
from reportqa.settings import DEFAULT
from reportqa.text import terms

QUESTION = "Who is the depot manager?"


@pytest.fixture
def tiny(tiny_source, fake_encoder, tmp_path) -> Assistant:
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    a.load()
    return a


def pipeline(a: Assistant, reader, settings=DEFAULT, searcher=None) -> Pipeline:
    return Pipeline(searcher or IndexSearcher(a.retriever, SentenceTable(a.index)), reader, settings)


@pytest.mark.parametrize("p, answered", [(0.49, False), (0.5, True), (0.51, True)])
def test_answered_is_decided_against_the_threshold(tiny, p, answered):
    a = pipeline(tiny, FakeReader(prefer="Ann Lee", p=p, threshold=0.5)).answer(QUESTION)
    assert a.answered is answered and a.confidence == p and a.threshold == 0.5
    assert ("Ann Lee" in a.text) is answered and (a.quote is not None) is answered
    if not answered:  # declined: what it would have said is kept aside, for scoring every question
        assert a.withheld is not None and a.withheld.answered and "Ann Lee" in a.withheld.text
        assert a.withheld.citations[0].start <= a.withheld.quote.start < a.withheld.citations[0].end
        assert "withheld" not in a.to_dict()
    else:
        assert a.withheld is None


def test_the_setting_overrides_the_readers_threshold(tiny):
    reader = FakeReader(prefer="Ann Lee", p=0.3, threshold=0.5)
    assert not pipeline(tiny, reader).answer(QUESTION).answered
    lowered = pipeline(tiny, reader, DEFAULT.with_(abstain_threshold=0.2))
    assert lowered.threshold == 0.2 and lowered.answer(QUESTION).answered


class Counted(float):
    """A probability that counts how often it is compared."""

    comparisons = 0

    def _count(self, other, op):
        Counted.comparisons += 1
        return getattr(float(self), op)(other)

    def __ge__(self, other):
        return self._count(other, "__ge__")

    def __gt__(self, other):
        return self._count(other, "__gt__")

    def __le__(self, other):
        return self._count(other, "__le__")

    def __lt__(self, other):
        return self._count(other, "__lt__")


@pytest.mark.parametrize("p", [0.2, 0.8])
def test_the_confidence_is_compared_with_the_threshold_once(tiny, p):
    Counted.comparisons = 0
    answer = pipeline(tiny, FakeReader(prefer="Ann Lee", p=Counted(p), threshold=0.5)).answer(QUESTION)
    assert answer.answered is (p >= 0.5)
    assert Counted.comparisons == 1


def test_the_retriever_owns_the_terms_and_the_encoding(tiny):
    question = "When did the inspectors visit the bus depot?"
    ranking = tiny.retriever.search(question)
    vectors, tokens = tiny.encoder.encode_tokens([question])
    by_hand = tiny.retriever.rank(terms(question), vectors[0], question, tokens[0])
    assert ranking.terms == terms(question)
    assert np.array_equal(ranking.fused, by_hand.fused) and np.array_equal(ranking.order, by_hand.order)
    encoded = tiny.retriever.search(Encoded.of(question, tiny.encoder))  # encoded once, elsewhere
    assert np.array_equal(encoded.fused, ranking.fused)


class Recording:
    def __init__(self, inner):
        self.inner, self.asked = inner, []

    def search(self, question: str) -> Searched:
        self.asked.append(question)
        return self.inner.search(question)


def test_the_searcher_gets_the_cleaned_question_and_the_reader_its_ranking(tiny):
    searcher = Recording(IndexSearcher(tiny.retriever, SentenceTable(tiny.index)))
    reader = FakeReader(prefer="Ann Lee", p=0.9)
    answer = pipeline(tiny, reader, searcher=searcher).answer("  Who is\x00the depot   manager?\u200b ")
    assert searcher.asked == ["Who is the depot manager?"] and reader.seen[-1][0] == "Who is the depot manager?"
    assert answer.question == "  Who is\x00the depot   manager?\u200b "  # echoed as asked
    assert answer.answered and replace(answer, question=QUESTION) == tiny.with_settings(tiny.settings, reader=reader).answer(QUESTION)


class FakeStore:
    """Stands in for MilvusStore.candidates: every passage of the index, and what it was asked."""

    def __init__(self, index):
        self.index, self.asked = index, []

    def candidates(self, query_terms, query_vec, limit, manifest):
        self.asked.append((query_terms, query_vec.shape, limit, manifest))
        return self.index


def test_a_stores_passages_go_through_the_same_path(tiny):
    """A store's searcher makes its Retriever over the passages the engine returns; with all of
    them, the answer is the index folder's (the question encoded once, for both)."""
    reader = FakeReader(prefer="Ann Lee", p=0.9)
    store = FakeStore(tiny.index)
    settings = DEFAULT.with_(store_passages=7)
    searcher = StoreSearcher(store, {"model": "m"}, tiny.encoder, settings.retrieval)
    from_store = pipeline(tiny, reader, settings, searcher).answer(QUESTION, k=2)
    assert store.asked == [(terms(QUESTION), (tiny.index.embeddings.shape[1],), 7, {"model": "m"})]
    assert from_store == pipeline(tiny, reader, settings).answer(QUESTION, k=2)
    assert from_store.answered and [s.fused_score for s in from_store.signals] == [
        s.fused_score for s in pipeline(tiny, reader, settings).answer(QUESTION, k=2).signals]


def test_evaluate_records_the_decision_and_scores_the_withheld_answer(tiny):
    """Rows carry the pipeline's own decision; a declined answer's quote is still scored as an answer."""
    a = tiny.with_settings(tiny.settings, reader=FakeReader(prefer="Ann Lee", p=0.3, threshold=0.5))
    at = (tiny.source / "report.txt").read_text(encoding="utf-8").index("Ann Lee")
    questions = [{"id": "1", "q": QUESTION, "answers": ["Ann Lee"], "spans": [[at, at + len("Ann Lee")]]}]
    result = evaluate(a, questions)
    (row,) = result["rows"]
    assert row["answered"] is False and row["p"] == 0.3 and "Ann Lee" in row["text"] and row["contains"] and row["rank"] == 1
    s = result["summary"]
    assert s["answered_rate"] == 0.0 and s["contains_all"] == 1.0 and s["contains"] == 0.0 and s["threshold"] == 0.5
    assert result["misses"][0]["why"].endswith("abstained")


def test_searching_needs_no_threshold(tiny):
    """The fits (benchmarks/fit.py) query through an Assistant whose stand-in reader has no threshold."""

    class NoReader:
        name = "none"

    a = tiny.with_settings(tiny.settings, reader=NoReader())
    assert a.query(QUESTION).ranking.terms == terms(QUESTION)
