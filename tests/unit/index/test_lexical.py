"""Stored lexical statistics: BM25 from the index files equals BM25 from the text, and damage is caught."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

from reportqa.index import ensure_index, read_index
from reportqa.lexical import BM25
from reportqa.text import terms


def reference_bm25(docs: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """Okapi BM25 written out term by term, as the oracle."""
    n = len(docs)
    avg = sum(len(d) for d in docs) / n
    out = np.zeros(n)
    for term in set(query):
        df = sum(term in d for d in docs)
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, doc in enumerate(docs):
            tf = Counter(doc)[term]
            out[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avg))
    return out


def test_bm25_from_the_stored_postings_matches_the_oracle(tiny_source, tmp_path, fake_encoder):
    index, _ = ensure_index(tiny_source, tmp_path / "index", fake_encoder, notify=lambda m: None)
    chunk_docs = [terms(c.text) for c in index.chunks]
    sentence_docs = [terms(c.text[a - c.start : b - c.start]) for c in index.chunks for a, b in c.sentences]
    stored_chunks = BM25(index.vocab, index.chunk_postings, len(index.chunks), 1.2, 0.75)
    stored_sentences = BM25(index.vocab, index.sentence_postings, len(sentence_docs), 1.2, 0.75)
    vocab = sorted({t for d in chunk_docs for t in d})
    assert vocab and set(vocab) <= set(index.vocab)
    for query in ([vocab[0]], vocab[:3], [vocab[-1], "nosuchterm"], vocab):
        np.testing.assert_allclose(stored_chunks.scores(query), reference_bm25(chunk_docs, query), rtol=1e-5)
        np.testing.assert_allclose(stored_sentences.scores(query), reference_bm25(sentence_docs, query), rtol=1e-5)
        assert stored_chunks.idf(query[0]) == pytest.approx(BM25.from_docs(chunk_docs, 1.2, 0.75).idf(query[0]))


def test_the_postings_are_memory_mapped_not_copied(tiny_source, tmp_path, fake_encoder):
    ensure_index(tiny_source, tmp_path / "index", fake_encoder, notify=lambda m: None)
    index = read_index(tmp_path / "index")
    assert isinstance(index.chunk_postings, np.memmap) and isinstance(index.embeddings, np.memmap)


@pytest.mark.parametrize("damage", ["out of range", "unsorted", "float", "vocab same size"])
def test_damaged_lexical_files_are_rebuilt_not_used(tiny_source, tmp_path, fake_encoder, damage):
    index_dir = tmp_path / "index"
    ensure_index(tiny_source, index_dir, fake_encoder, notify=lambda m: None)
    path = index_dir / "lexical_chunks.npy"
    postings = np.load(path, allow_pickle=False)
    if damage == "out of range":
        postings[0, 1] = 10**6
    elif damage == "unsorted":
        postings = postings[::-1].copy()
    elif damage == "float":
        postings = postings.astype(np.float32)
    if damage == "vocab same size":
        vocab_path = index_dir / "lexical_vocab.json"
        vocab = json.loads(vocab_path.read_text("utf-8"))
        vocab[0] = "z" * len(vocab[0])  # same length, so only the checksum can tell
        vocab_path.write_text(json.dumps(vocab, ensure_ascii=False), "utf-8")
    else:
        with open(path, "wb") as fh:
            np.save(fh, postings, allow_pickle=False)
        if damage != "float":  # same byte size: the size check alone would pass
            assert path.stat().st_size == json.loads((index_dir / "manifest.json").read_text())["sizes"][path.name]
    notes: list[str] = []
    index, summary = ensure_index(tiny_source, index_dir, fake_encoder, notify=notes.append)
    assert summary is not None and any("rebuilding" in n for n in notes), notes
    assert read_index(index_dir).vocab == index.vocab


def test_document_counts_without_some_documents_equal_those_of_the_rest():
    docs = [["police", "report", "2017"], ["report", "council"], ["police", "apology"], ["report"]]
    bm25 = BM25.from_docs(docs, 1.2, 0.75)
    rest = BM25.from_docs([docs[0], docs[3]], 1.2, 0.75)
    without = bm25.without([frozenset(docs[1]), frozenset(docs[2])])
    assert without.n == 2
    assert without.df == rest.df  # "council" and "apology" gone, "police" and "report" counted once less
    for t in ("police", "report", "council", "2017", "never"):
        assert without.idf(t) == pytest.approx(rest.idf(t))
    assert bm25.df["report"] == 3  # the full statistics are untouched
