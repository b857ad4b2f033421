"""Lexical statistics: Okapi BM25 over stemmed terms, stored as flat arrays.

The index build writes each level's term counts (passages, sentences) as one
int32 array of ``(document, term, count)`` rows sorted by term, plus a shared
vocabulary. Loading maps those arrays and derives every BM25 weight in a few
vectorised steps, so a large index needs no re-tokenising on load.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np


def build_postings(docs: list[list[str]], vocab: dict[str, int]) -> np.ndarray:
    """int32 rows (document, term id, count), sorted by term id, then document."""
    rows = [(i, vocab[t], n) for i, doc in enumerate(docs) for t, n in Counter(doc).items()]
    arr = np.array(rows, dtype=np.int32).reshape(-1, 3)
    return arr[np.lexsort((arr[:, 0], arr[:, 1]))] if len(arr) else arr


def build_vocabulary(*levels: list[list[str]]) -> list[str]:
    return sorted({t for docs in levels for doc in docs for t in doc})


def postings_problem(postings: np.ndarray, n_docs: int, n_terms: int) -> str | None:
    """Why an array cannot be these postings, or None."""
    if postings.dtype != np.int32 or postings.ndim != 2 or postings.shape[1] != 3:
        return f"postings of shape {postings.shape} and type {postings.dtype}"
    if len(postings) == 0:
        return None
    doc, term, tf = postings[:, 0], postings[:, 1], postings[:, 2]
    if doc.min() < 0 or doc.max() >= n_docs or term.min() < 0 or term.max() >= n_terms or tf.min() < 1:
        return "postings out of range"
    if np.any(np.diff(term) < 0):
        return "postings not sorted by term"
    return None


def idf(n: int, df: int) -> float:
    """BM25's IDF of a term found in df of n documents."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


class DocumentFrequencies:
    """The statistics a reader reads of a BM25 (``n``, ``df``, ``idf``) without its postings."""

    def __init__(self, n: int, df: dict[str, int]):
        self.n, self.df = n, df

    def idf(self, term: str) -> float:
        return idf(self.n, self.df.get(term, 0))


class BM25(DocumentFrequencies):
    """Okapi BM25; the postings of term i are rows ptr[i]:ptr[i+1]."""

    def __init__(self, vocab: list[str], postings: np.ndarray, n_docs: int, k1: float, b: float):
        self.n = n_docs
        self.ids = {t: i for i, t in enumerate(vocab)}
        doc = postings[:, 0].astype(np.int64)
        term = postings[:, 1]
        tf = postings[:, 2].astype(np.float32)
        lengths = np.bincount(doc, weights=tf, minlength=n_docs).astype(np.float32)
        avg = float(lengths.mean()) if n_docs and lengths.sum() else 1.0
        norm = k1 * (1 - b + b * lengths / avg)
        self.doc = doc
        self.weights = (tf * (k1 + 1) / (tf + norm[doc])).astype(np.float32)
        counts = np.bincount(term, minlength=len(vocab))
        self.ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.df = {t: int(c) for t, c in zip(vocab, counts.tolist()) if c}

    @classmethod
    def from_docs(cls, docs: list[list[str]], k1: float, b: float) -> "BM25":
        vocab = build_vocabulary(docs)
        return cls(vocab, build_postings(docs, {t: i for i, t in enumerate(vocab)}), len(docs), k1, b)

    def without(self, term_sets: list[frozenset[str]]) -> "DocumentFrequencies":
        """The document counts as if the documents with these term sets were not there (the
        abstention fit's "absent" questions: a report that does not hold the answer's passages)."""
        df = dict(self.df)
        for doc in term_sets:
            for t in doc:
                if df.get(t, 0) > 1:
                    df[t] -= 1
                else:
                    df.pop(t, None)
        return DocumentFrequencies(self.n - len(term_sets), df)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        for term in set(query_terms):
            i = self.ids.get(term)
            if i is None:
                continue
            rows = slice(self.ptr[i], self.ptr[i + 1])
            out[self.doc[rows]] += self.idf(term) * self.weights[rows]
        return out
