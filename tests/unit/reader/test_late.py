"""Late interaction: wordpiece vectors stored per sentence, and the scores read from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reportqa import retrieve
from reportqa.assistant import Assistant
from reportqa.reader import candidates
from reportqa.reader.features import ANSWER_FEATURES, BEST_OF


@pytest.fixture
def tiny(tiny_source, fake_encoder, tmp_path) -> Assistant:
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    a.load()
    return a


def _long_report(folder: Path) -> Path:
    source = folder / "long.txt"
    source.write_text("\n\n".join(
        f"Paragraph {i} says the depot number {i} has {i * 7} buses. " * 4 for i in range(6)
    ), encoding="utf-8")
    return source


@pytest.fixture
def several(fake_encoder, tmp_path) -> Assistant:
    """A report the fake encoder's 64-piece window splits into several passages."""
    a = Assistant(_long_report(tmp_path), tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    a.load()
    assert len(a.index.chunks) >= 3
    return a


def test_every_word_of_every_sentence_is_stored_under_its_sentence(tiny):
    index = tiny.index
    sentences = _sentences(index)
    rows = index.token_rows[:, 0]
    assert np.all(np.diff(rows) >= 0)  # sorted by sentence row, as reduceat needs
    per_sentence = np.bincount(rows, minlength=len(sentences))
    for sentence, n in zip(sentences, per_sentence):
        assert n == len(retrieve_pieces(sentence)), sentence
    assert index.token_vectors.dtype == np.int8 and index.token_vectors.shape == (len(rows), tiny.encoder.dim)
    assert index.token_scales.dtype == np.float32 and index.token_scales.shape == (len(rows),)


def test_quantised_rows_are_within_a_thousandth_of_the_vectors():
    from reportqa.index import quantise

    rng = np.random.default_rng(0)
    v = rng.standard_normal((500, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v[0] = 0.0  # a zero row stays zero
    q, scales = quantise(v)
    assert q.dtype == np.int8 and scales.dtype == np.float32
    back = q.astype(np.float32) * scales[:, None]
    assert np.abs(back - v).max() <= 0.5 * scales.max() + 1e-7 and np.abs(back - v).max() < 2e-3
    assert not back[0].any()


def _sentences(index) -> list[str]:
    return [c.text[a - c.start : b - c.start] for c in index.chunks for a, b in c.sentences]


def retrieve_pieces(sentence: str) -> list[str]:
    from conftest import PIECE

    return [p for p in PIECE.findall(sentence) if any(ch.isalnum() for ch in p)]


def test_scores_of_some_passages_equal_those_of_all_and_the_rest_are_nan(several, monkeypatch):
    a, r = several, several.retriever
    question = "How many buses does depot number 4 have?"
    _, pieces = a.encoder.encode_tokens([question])
    vectors, weights = r.question_pieces(question, pieces[0])
    everything = r.late_scores(np.arange(len(a.index.chunks)), vectors, weights)
    assert not np.isnan(everything).any()
    some = r.late_scores(np.array([0, 2]), vectors, weights)
    rows = [int(row) for row, chunk in enumerate(a.index.sentence_chunk) if chunk in (0, 2)]
    assert np.allclose(some[rows], everything[rows])
    assert np.isnan(np.delete(some, rows)).all() and len(rows) < len(some)
    # a report too large to keep in memory reads its candidates' rows from the index file
    monkeypatch.setattr(retrieve, "LATE_MEMORY_BYTES", 0)
    big = retrieve.Retriever(a.index, a.settings.retrieval)
    assert big.token_matrix is None
    assert np.allclose(big.late_scores(np.array([0, 2]), vectors, weights)[rows], everything[rows])
    assert np.allclose(big.late_scores(np.arange(len(a.index.chunks)), vectors, weights), everything)


def test_stopwords_carry_no_weight_and_rare_words_the_most(tiny):
    question = "Was the roof of the depot new?"
    _, pieces = tiny.encoder.encode_tokens([question])
    vectors, weights = tiny.retriever.question_pieces(question, pieces[0])
    assert len(vectors) == len(weights) == 3  # roof, depot, new; not was / the / of / "?"
    roof, depot, new = weights.tolist()
    assert roof == new > depot  # "roof" and "new" are in one sentence, "depot" in three


def test_a_question_without_content_words_gets_no_late_signal(tiny):
    ranking = tiny.rank("Was it that?")
    assert np.all(ranking.late == 0.0)


def test_best_of_candidates_flags_exactly_the_spans_with_the_top_value(tiny):
    question = "When did the inspectors visit the bus depot?"
    query = tiny.query(question)
    features = tiny.reader.score(query, candidates(query)).features
    for name in BEST_OF:
        values = features[:, ANSWER_FEATURES.index(name)]
        flags = features[:, ANSWER_FEATURES.index(f"best_{name}")]
        assert set(np.flatnonzero(flags)) == set(np.flatnonzero(values >= values.max() - 1e-9)), name


def test_building_in_small_groups_of_passages_gives_the_same_wordpieces(tmp_path):
    # Large reports are encoded a group of passages at a time (their float32 wordpieces would not fit).
    from conftest import FakeEncoder

    from reportqa.index import build_index, read_index

    class Counting(FakeEncoder):
        calls = 0

        def encode_tokens(self, *args, **kwargs):
            self.calls += 1
            return super().encode_tokens(*args, **kwargs)

    source = _long_report(tmp_path)
    by_whole, by_one = Counting(), Counting()
    build_index(source, tmp_path / "whole", by_whole)
    build_index(source, tmp_path / "grouped", by_one, passage_group=1)
    whole, grouped = read_index(tmp_path / "whole"), read_index(tmp_path / "grouped")
    assert len(whole.chunks) > 1
    assert by_whole.calls == 1 and by_one.calls == len(grouped.chunks)  # one passage per group, really
    assert np.array_equal(whole.token_rows, grouped.token_rows)
    assert np.array_equal(whole.token_vectors, grouped.token_vectors)
    assert np.array_equal(whole.token_scales, grouped.token_scales)
    assert np.allclose(whole.embeddings, grouped.embeddings)
