"""A passage as a row of the store, and the rows a question reached as an in-memory ``Index``.

What the retriever and the reader need of a passage besides its text is stored in
its row: the passage vector (also the ANN field), each sentence's vector (float16),
and the wordpiece vectors of its sentences for late interaction (int8 with a scale
per row, as in the index folder), packed as base64 text because a Milvus row holds
no byte strings. The question's ``Index`` is made of the returned rows only, so the
retriever's fusion, late interaction and the reader run on them as on a small report.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import numpy as np

from ..chunking import Chunk, sentences_as_read
from ..errors import StoreError
from ..index import Index
from ..lexical import build_postings, build_vocabulary
from ..text import terms

MAX_TEXT = 65535  # bytes in a Milvus VARCHAR
PIECE_FIELDS = ("pieces0", "pieces1", "pieces2")  # a long passage's wordpieces span up to three fields
READ_FIELDS = ("source", "start", "end", "line", "paragraph", "text", "terms", "dense", "sentences", "sentence_vectors", *PIECE_FIELDS)


def chunk_id(name: str, sha256: str, start: int, end: int) -> str:
    """A passage's primary key: from its file's SHA-256, name and offsets, so a rebuild upserts the same rows."""
    return hashlib.sha256(f"{sha256}\0{name}\0{start}\0{end}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def pack_row(chunk: Chunk, sha256: str, vector: np.ndarray, sentence_vectors: np.ndarray,
             piece_rows: np.ndarray, piece_vectors: np.ndarray, piece_scales: np.ndarray) -> dict:
    """One passage as a row; piece_rows are (sentence of this passage, wordpiece id)."""
    pieces = _b64(
        np.int32(len(piece_rows)).tobytes()
        + np.ascontiguousarray(piece_rows, dtype=np.int32).tobytes()
        + np.ascontiguousarray(piece_scales, dtype=np.float32).tobytes()
        + np.ascontiguousarray(piece_vectors, dtype=np.int8).tobytes()
    )
    parts = [pieces[i : i + MAX_TEXT] for i in range(0, len(pieces), MAX_TEXT)] or [""]
    if len(parts) > len(PIECE_FIELDS):
        raise StoreError(f"A passage of {chunk.source} at {chunk.start} has too many wordpieces to store ({len(piece_rows)}).")
    parts += [""] * (len(PIECE_FIELDS) - len(parts))
    row = {
        "id": chunk_id(chunk.source, sha256, chunk.start, chunk.end),
        "source": chunk.source,
        "sha": sha256,
        "start": chunk.start,
        "end": chunk.end,
        "line": chunk.line,
        "paragraph": chunk.paragraph,
        "text": chunk.text,
        "terms": " ".join(terms(chunk.text)),  # reportqa's stemmed terms: the engine's BM25 reads these
        "dense": np.asarray(vector, dtype=np.float32).tolist(),
        "sentences": json.dumps([list(s) for s in chunk.sentences]),
        "sentence_vectors": _b64(np.ascontiguousarray(sentence_vectors, dtype=np.float16).tobytes()),
        **dict(zip(PIECE_FIELDS, parts)),
    }
    for key in ("text", "terms", "sentence_vectors"):
        if len(row[key].encode("utf-8")) > MAX_TEXT:
            raise StoreError(f"A passage of {chunk.source} at {chunk.start} is too long to store ({key}).")
    return row


def unpack_pieces(row: dict, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = base64.b64decode("".join(row[f] for f in PIECE_FIELDS))
    if not data:
        return np.zeros((0, 2), np.int32), np.zeros(0, np.float32), np.zeros((0, dim), np.int8)
    n = int(np.frombuffer(data[:4], dtype=np.int32)[0])
    rows = np.frombuffer(data, dtype=np.int32, count=2 * n, offset=4).reshape(n, 2)
    scales = np.frombuffer(data, dtype=np.float32, count=n, offset=4 + 8 * n)
    vectors = np.frombuffer(data, dtype=np.int8, count=n * dim, offset=4 + 12 * n).reshape(n, dim)
    return rows, scales, vectors


def rows_index(rows: list[dict], dim: int, manifest: dict, where: str) -> Index:
    """The rows as an Index (chunk ids 0..n-1 in file order), for one question's retrieval and reading."""
    rows = sorted(rows, key=lambda r: (r["source"], r["start"]))
    chunks = [
        Chunk(i, r["source"], int(r["start"]), int(r["end"]), int(r["line"]), int(r["paragraph"]), r["text"],
              tuple((int(a), int(b)) for a, b in json.loads(r["sentences"])))
        for i, r in enumerate(rows)
    ]
    embeddings = np.asarray([r["dense"] for r in rows], dtype=np.float32).reshape(len(rows), dim)
    sentence_vectors = [np.frombuffer(base64.b64decode(r["sentence_vectors"]), dtype=np.float16).reshape(-1, dim) for r in rows]
    sentence_embeddings = np.concatenate(sentence_vectors).astype(np.float32) if rows else np.zeros((0, dim), np.float32)
    sentence_chunk = np.asarray([c.id for c in chunks for _ in c.sentences], dtype=np.int64)
    if len(sentence_embeddings) != len(sentence_chunk):
        raise StoreError(f"A passage in {where} has {len(sentence_embeddings)} sentence vectors for {len(sentence_chunk)} sentences: run `reportqa index --force` with this --store.")
    chunk_terms = [r["terms"].split() for r in rows]  # terms() of the passage, stored at build
    # as read (a table row with its header's names, a list item after its section's title; one
    # whose header's or heading's passage this question did not reach is read as written, though
    # its stored vector was made with it)
    sentence_terms = [terms(t) for t in sentences_as_read(chunks)]
    vocab = build_vocabulary(chunk_terms, sentence_terms)
    ids = {t: i for i, t in enumerate(vocab)}
    token_rows, token_scales, token_vectors = [], [], []
    first = 0
    for chunk, row in zip(chunks, rows):
        r, s, v = unpack_pieces(row, dim)
        token_rows.append(r + np.array([first, 0], dtype=np.int32)), token_scales.append(s), token_vectors.append(v)
        first += len(chunk.sentences)
    return Index(
        path=Path(where),
        manifest=manifest,
        chunks=chunks,
        embeddings=embeddings,
        sentence_embeddings=sentence_embeddings,
        sentence_chunk=sentence_chunk,
        vocab=vocab,
        chunk_postings=build_postings(chunk_terms, ids),
        sentence_postings=build_postings(sentence_terms, ids),
        token_rows=np.concatenate(token_rows) if rows else np.zeros((0, 2), np.int32),
        token_vectors=np.concatenate(token_vectors) if rows else np.zeros((0, dim), np.int8),
        token_scales=np.concatenate(token_scales) if rows else np.zeros(0, np.float32),
        token_file=None,  # type: ignore[arg-type] - the few rows' wordpieces are in memory (Retriever.token_matrix)
    )
