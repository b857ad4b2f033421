"""Lexical (BM25) and dense retrieval over an index, fused by weighted z-scores.

Besides whole-text cosines, the dense side scores sentences by late interaction
(as in ColBERT, with the model's own wordpiece vectors, not trained for it):
each content wordpiece of the question takes its best cosine with any wordpiece
of the sentence, and the sentence's score is their IDF-weighted mean. A
sentence that shares the report's topic but answers nothing scores low on it,
where its pooled vector can still sit closest to the question's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .embed import Encoder, Tokens, unit_rows
from .index import Index
from .lexical import BM25
from .settings import RetrievalSettings
from .text import STOPWORDS, terms


@dataclass(frozen=True)
class Ranking:
    """The signals of one question: per-passage arrays are indexed by chunk id, per-sentence
    ones (``sentence_cos``, ``sentence_lexical``, ``context_cos``, ``late``) by sentence row."""

    lexical: np.ndarray
    dense: np.ndarray
    sentence: np.ndarray  # best sentence cosine in each passage
    sentence_cos: np.ndarray  # cosine of every sentence row
    sentence_lexical: np.ndarray  # BM25 of every sentence row, sentences as documents
    context_cos: np.ndarray  # cosine of every sentence row blended with its neighbours
    late: np.ndarray  # late-interaction score of every sentence row (the lowest one where not computed)
    passage_late: np.ndarray  # best late-interaction score of a sentence in each passage
    fused: np.ndarray
    order: np.ndarray  # chunk ids, best first
    terms: list[str] = field(default_factory=list)  # the question's stemmed terms, as BM25 read them

    def rank_of(self, signal: np.ndarray, chunk_id: int) -> int:
        """1-based rank of chunk_id under one signal (ties share the better rank)."""
        return int((signal > signal[chunk_id]).sum()) + 1


@dataclass(frozen=True, eq=False)
class Encoded:
    """A question as retrieval reads it: its text, stemmed terms, vector and wordpiece vectors."""

    text: str
    terms: list[str]
    vector: np.ndarray
    tokens: Tokens | None

    @classmethod
    def of(cls, question: str, encoder: Encoder) -> "Encoded":
        vectors, tokens = encoder.encode_tokens([question])
        return cls(question, terms(question), vectors[0], tokens[0])


def zscore(values: np.ndarray, of: float | None = None):
    """values z-scored over themselves; or, given ``of``, that one number z-scored against values.

    Constant (or empty) values give zeros. The array case stays in the values' dtype;
    a single number is computed in Python floats. NaN values count for nothing (the abstention
    fit's "absent" questions mark the passages a report is made to lack so: fit_data.ranking_without).
    """
    mean, std = spread(values)
    if of is None:
        if values.size == 0:
            return values
        return (values - mean) / std if std > 1e-9 else np.zeros_like(values)
    return (of - mean) / std if std > 1e-9 else 0.0


def spread(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of values, NaN ones skipped ((0, 0) when there are none)."""
    if not values.size:
        return 0.0, 0.0
    mean = float(values.mean())
    if mean != mean:  # a NaN among them: the slower functions that skip it
        kept = values[~np.isnan(values)]
        return (float(kept.mean()), float(kept.std())) if kept.size else (0.0, 0.0)
    return mean, float(values.std())


def rrf(x: np.ndarray, k: int) -> np.ndarray:
    """Reciprocal rank fusion term 1 / (k + rank) for every item."""
    ranks = np.empty(len(x), dtype=np.float32)
    ranks[np.argsort(-x, kind="stable")] = np.arange(1, len(x) + 1, dtype=np.float32)
    return 1.0 / (k + ranks)


# OpenBLAS runs a matrix product on one thread when m * n * k is below this. Late interaction's
# products are a few hundred microseconds of work; waking threads for them (which then contend
# with ONNX Runtime's) cost more than they save, so they are done in blocks under this size.
_ONE_THREAD_PRODUCT = 1 << 18


def _products(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """vectors @ rows.T, in blocks of rows small enough for a single-threaded product."""
    block = max(1, _ONE_THREAD_PRODUCT // max(1, vectors.shape[0] * vectors.shape[1]) - 1)
    if len(rows) <= block:
        return vectors @ rows.T
    return np.concatenate([vectors @ rows[i : i + block].T for i in range(0, len(rows), block)], axis=1)


# Keep the wordpiece vectors in memory as float32 up to this size (about 43,000 wordpieces, a
# report of some 500 passages); beyond it each question reads only its candidates' rows.
LATE_MEMORY_BYTES = 64 << 20


class Retriever:
    """Scores every passage of an index for a question.

    Everything that depends only on the index (BM25 statistics, neighbour-blended
    sentence vectors, wordpiece statistics) is computed once here, not per question.
    What answer selection reads of each sentence lives in reader.SentenceTable.
    """

    def __init__(self, index: Index, settings: RetrievalSettings, encoder: Encoder | None = None):
        self.index = index
        self.settings = settings
        self.encoder = encoder  # encodes the questions search() is given as text
        # Sentences of a passage are consecutive rows; reduceat needs each start.
        counts = np.array([len(c.sentences) for c in index.chunks], dtype=np.int64)
        self.sentence_starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        for name in ("bm25", "sentence_bm25", "context_embeddings", "token_starts", "wordpiece_df", "token_matrix"):
            getattr(self, name)

    @cached_property
    def token_starts(self) -> np.ndarray:
        """First stored wordpiece of each sentence row, plus the total at the end."""
        rows = self.index.token_rows[:, 0]
        return np.searchsorted(rows, np.arange(len(self.index.sentence_chunk) + 1)).astype(np.int64)

    @cached_property
    def wordpiece_df(self) -> np.ndarray:
        """Sentences holding each wordpiece id (indexed by id)."""
        rows = self.index.token_rows
        if not len(rows):
            return np.zeros(0, dtype=np.int64)
        ids = rows[:, 1].astype(np.int64)
        width = int(ids.max()) + 1
        key = rows[:, 0].astype(np.int64) * width + ids
        key.sort()
        first = np.r_[True, key[1:] != key[:-1]]  # each (sentence, id) pair once
        return np.bincount(key[first] % width, minlength=width)

    def question_pieces(self, text: str, tokens: Tokens) -> tuple[np.ndarray, np.ndarray]:
        """The question's content wordpiece vectors and their IDF weights over the report's sentences."""
        n = len(self.index.sentence_chunk)
        keep, weights = [], []
        for j, (a, b) in enumerate(tokens.spans.tolist()):
            piece = text[a:b].lower()
            if any(ch.isalnum() for ch in piece) and piece not in STOPWORDS:
                keep.append(j)
                wid = int(tokens.ids[j])
                df = int(self.wordpiece_df[wid]) if wid < len(self.wordpiece_df) else 0
                weights.append(np.log((n + 1) / (df + 0.5)))
        return tokens.vectors[keep], np.asarray(weights, dtype=np.float32)

    @cached_property
    def token_matrix(self) -> np.ndarray | None:
        """The wordpiece vectors as float32 in memory when they fit LATE_MEMORY_BYTES, else None (read per question)."""
        vectors = self.index.token_vectors
        if vectors.shape[0] * vectors.shape[1] * 4 > LATE_MEMORY_BYTES:
            return None
        return np.asarray(vectors, dtype=np.float32) * np.asarray(self.index.token_scales)[:, None]

    @cached_property
    def _all_token_sentences(self) -> tuple[np.ndarray, np.ndarray]:
        """(sentence row, first wordpiece) of every sentence that has stored wordpieces."""
        rows = np.asarray(self.index.token_rows[:, 0])
        bounds = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else np.zeros(0, dtype=np.int64)
        return rows[bounds], bounds

    def late_scores(self, chunk_ids: np.ndarray, vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Late-interaction score of the sentences of the given passages; NaN for the others."""
        out = np.full(len(self.index.sentence_chunk), np.nan, dtype=np.float32)
        if not len(weights) or float(weights.sum()) <= 0 or not len(self.index.token_rows):
            return out
        if len(chunk_ids) == len(self.index.chunks) and self.token_matrix is not None:
            sims = _products(vectors, self.token_matrix)  # [question pieces, wordpieces]
            sentences, bounds = self._all_token_sentences
        else:
            starts = self.token_starts
            first = self.sentence_starts[chunk_ids]
            last = np.append(self.sentence_starts, len(self.index.sentence_chunk))[chunk_ids + 1]
            ranges = [(int(starts[a]), int(starts[b])) for a, b in zip(first, last) if starts[b] > starts[a]]
            if not ranges:
                return out
            take = np.concatenate([np.arange(a, b) for a, b in ranges])
            if self.token_matrix is not None:
                sims = _products(vectors, self.token_matrix[take])
            else:  # int8 rows read from the file, scaled after the product
                sims = _products(vectors, self.index.token_file.read(ranges).astype(np.float32)) * self.index.token_scales[take]
            rows = self.index.token_rows[take, 0]
            bounds = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            sentences = rows[bounds]
        best = np.maximum.reduceat(sims, bounds, axis=1)  # [question pieces, sentences]
        out[sentences] = (weights @ best) / float(weights.sum())
        return out

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
        return unit_rows(ctx)

    @cached_property
    def bm25(self) -> BM25:
        i, s = self.index, self.settings
        return BM25(i.vocab, i.chunk_postings, len(i.chunks), s.bm25_k1, s.bm25_b)

    def search(self, question: str | Encoded) -> Ranking:
        """Every passage scored for a question, as asked: its terms and encoding are the retriever's own.

        A question already encoded (``Encoded.of``, e.g. to ask a store for passages first) is not encoded again."""
        if isinstance(question, str):
            if self.encoder is None:
                raise TypeError("Retriever.search(text) needs the Retriever made with an encoder")
            question = Encoded.of(question, self.encoder)
        return self.rank(question.terms, question.vector, question.text, question.tokens)

    def rank(self, query_terms: list[str], query_vec: np.ndarray, question: str = "", tokens: Tokens | None = None) -> Ranking:
        """Every passage scored for a question: its terms, its vector and, for late interaction, its wordpieces."""
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
        fused = self._fuse(signals)
        late = np.full(len(sentence_cos), np.nan, dtype=np.float32)
        if tokens is not None and sentence_cos.size:
            # Late interaction re-ranks the first stage's best passages (all of them in a small report).
            candidates = np.sort(np.argsort(-fused, kind="stable")[: s.late_passages])
            late = self.late_scores(candidates, *self.question_pieces(question, tokens))
        scored = np.isfinite(late)
        late[~scored] = late[scored].min() if scored.any() else 0.0  # unscored sentences rank last on it
        passage_late = np.maximum.reduceat(late, self.sentence_starts) if late.size else np.zeros_like(dense)
        if s.w_late and late.size:  # fusion is a sum over signals, so the late term is added on
            fused = fused + self._fuse([(s.w_late, passage_late)])
        order = np.argsort(-fused, kind="stable")
        return Ranking(lexical, dense, sentence, sentence_cos, sentence_lexical, context_cos, late, passage_late, fused, order,
                       list(query_terms))

    def _fuse(self, signals: list[tuple[float, np.ndarray]]) -> np.ndarray:
        s = self.settings
        if s.fusion == "rrf":
            fused = sum(w * rrf(x, s.rrf_k) for w, x in signals if w)
        else:
            fused = sum(w * zscore(x) for w, x in signals if w)
        return np.asarray(fused, dtype=np.float32) if not np.isscalar(fused) else np.zeros(len(signals[0][1]), dtype=np.float32)
