"""Lexical (BM25) and dense retrieval over an index, fused by weighted z-scores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .index import Index
from .lexical import BM25
from .settings import Settings
from .text import terms, typed_tokens


@dataclass(frozen=True)
class Ranking:
    """Per-passage signals for one question; arrays are indexed by chunk id."""

    lexical: np.ndarray
    dense: np.ndarray
    sentence: np.ndarray  # best sentence cosine in each passage
    sentence_cos: np.ndarray  # cosine of every sentence row
    sentence_lexical: np.ndarray  # BM25 of every sentence row, sentences as documents
    context_cos: np.ndarray  # cosine of every sentence row blended with its neighbours
    fused: np.ndarray
    order: np.ndarray  # chunk ids, best first

    def rank_of(self, signal: np.ndarray, chunk_id: int) -> int:
        """1-based rank of chunk_id under one signal (ties share the better rank)."""
        return int((signal > signal[chunk_id]).sum()) + 1


def zscore(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x
    std = float(x.std())
    return (x - float(x.mean())) / std if std > 1e-9 else np.zeros_like(x)


def rrf(x: np.ndarray, k: int) -> np.ndarray:
    """Reciprocal rank fusion term 1 / (k + rank) for every item."""
    ranks = np.empty(len(x), dtype=np.float32)
    ranks[np.argsort(-x, kind="stable")] = np.arange(1, len(x) + 1, dtype=np.float32)
    return 1.0 / (k + ranks)


class Lazy(Sequence):
    """A read-only list whose item i is made by make(i) on first use, then kept."""

    def __init__(self, n: int, make: Callable[[int], object]):
        self._items: list = [_MISSING] * n
        self._make = make

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):
        item = self._items[i]
        if item is _MISSING:
            item = self._items[i] = self._make(range(len(self._items))[i])
        return item


_MISSING = object()


class Retriever:
    """Scores every passage of an index for a question.

    Everything that depends only on the index (BM25 statistics, sentence terms,
    neighbour-blended sentence vectors) is computed once here, not per question.
    """

    def __init__(self, index: Index, settings: Settings):
        self.index = index
        self.settings = settings
        # Sentences of a passage are consecutive rows; reduceat needs each start.
        counts = np.array([len(c.sentences) for c in index.chunks], dtype=np.int64)
        self.sentence_starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        # Sentence rows -> (chunk, start, end); the per-sentence and per-passage term
        # sets that answer selection reads are made on first use, for the few
        # passages a question reaches, so loading stays cheap for a large index.
        rows = [(c, a, b) for c in index.chunks for a, b in c.sentences]
        self.sentence_texts = Lazy(len(rows), lambda r: rows[r][0].text[rows[r][1] - rows[r][0].start : rows[r][2] - rows[r][0].start])
        self.sentence_term_sets = Lazy(len(rows), lambda r: frozenset(terms(self.sentence_texts[r])))
        self.passage_term_sets = Lazy(len(index.chunks), lambda i: frozenset(terms(index.chunks[i].text)))
        # years, numbers and names of each sentence, for answer-type matching (extract.answer_type)
        self.sentence_typed = Lazy(
            len(rows), lambda r: {k: typed_tokens(self.sentence_texts[r], k) for k in ("time", "number", "person")}
        )
        for name in ("bm25", "sentence_bm25", "context_embeddings"):
            getattr(self, name)

    @cached_property
    def sentence_bm25(self) -> BM25:
        i, s = self.index, self.settings
        return BM25(i.vocab, i.sentence_postings, len(i.sentence_chunk), s.bm25_k1, s.bm25_b)

    @cached_property
    def context_embeddings(self) -> np.ndarray:
        """Each sentence vector plus context_weight times its neighbours' in the same file, re-normalised."""
        sent = self.index.sentence_embeddings
        if sent.shape[0] == 0:
            return sent
        sources = [c.source for c in self.index.chunks for _ in c.sentences]
        same_prev = np.array([i > 0 and sources[i - 1] == sources[i] for i in range(len(sources))])
        prev = np.zeros_like(sent)
        prev[1:] = sent[:-1]
        prev[~same_prev] = 0
        nxt = np.zeros_like(sent)
        nxt[:-1] = sent[1:]
        same_next = np.append(same_prev[1:], False)
        nxt[~same_next] = 0
        ctx = sent + self.settings.context_weight * (prev + nxt)
        return (ctx / np.maximum(np.linalg.norm(ctx, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    @cached_property
    def bm25(self) -> BM25:
        i, s = self.index, self.settings
        return BM25(i.vocab, i.chunk_postings, len(i.chunks), s.bm25_k1, s.bm25_b)

    def rank(self, query_terms: list[str], query_vec: np.ndarray) -> Ranking:
        s = self.settings
        lexical = self.bm25.scores(query_terms)
        dense = self.index.embeddings @ query_vec
        sentence_cos = self.index.sentence_embeddings @ query_vec
        sentence = np.maximum.reduceat(sentence_cos, self.sentence_starts) if sentence_cos.size else dense.copy()
        sentence_lexical = self.sentence_bm25.scores(query_terms) if sentence_cos.size else lexical.copy()
        context_cos = self.context_embeddings @ query_vec
        signals = [(s.w_lexical, lexical), (s.w_dense, dense), (s.w_sentence, sentence)]
        if s.w_sentence_lexical and sentence_cos.size:
            signals.append((s.w_sentence_lexical, np.maximum.reduceat(sentence_lexical, self.sentence_starts)))
        if s.w_context and sentence_cos.size:
            signals.append((s.w_context, np.maximum.reduceat(context_cos, self.sentence_starts)))
        if s.fusion == "rrf":
            fused = sum(w * rrf(x, s.rrf_k) for w, x in signals if w)
        else:
            fused = sum(w * zscore(x) for w, x in signals if w)
        fused = np.asarray(fused, dtype=np.float32) if not np.isscalar(fused) else np.zeros_like(dense)
        order = np.argsort(-fused, kind="stable")
        return Ranking(lexical, dense, sentence, sentence_cos, sentence_lexical, context_cos, fused, order)
