"""The index's file format: what is in the folder, what a manifest declares, when it is stale.

    index/
      manifest.json             format, model id and weights fingerprint, chunking,
                                SHA-256 of every source file, file sizes, counts
      chunks.jsonl              one passage per line, with offsets and sentences
      embeddings.npy            float32 [chunks, dim], unit rows
      sentence_embeddings.npy   float32 [sentences, dim], in chunk order (each sentence as the models read it: chunking.sentences_as_read)
      lexical_vocab.json        the stemmed terms of lexical search, sorted
      lexical_chunks.npy        int32 (passage, term, count) rows, sorted by term
      lexical_sentences.npy     int32 (sentence, term, count) rows, sorted by term
      token_rows.npy            int32 (sentence, wordpiece id) of each stored wordpiece
      token_vectors.npy         int8 [wordpieces, dim]: the model's contextual vector
                                of each wordpiece of a sentence, read in its passage
                                (for late interaction), as unit rows quantised per row
      token_scales.npy          float32 [wordpieces]: row i is token_vectors[i] * scale[i]
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..chunking import CHUNKING, Chunk
from ..embed import Encoder
from ..errors import IndexError_
from ..ingest import source_hashes

FORMAT_VERSION = 3  # 2: lexical statistics are stored; 3: wordpiece vectors for late interaction
FILES = (
    "manifest.json",
    "chunks.jsonl",
    "embeddings.npy",
    "sentence_embeddings.npy",
    "lexical_vocab.json",
    "lexical_chunks.npy",
    "lexical_sentences.npy",
    "token_rows.npy",
    "token_vectors.npy",
    "token_scales.npy",
)
CHECKSUMMED = ("chunks.jsonl", "lexical_vocab.json")  # small files whose same-size edits must be caught


Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Index:
    path: Path
    manifest: dict
    chunks: list[Chunk]
    embeddings: np.ndarray  # [chunks, dim]
    sentence_embeddings: np.ndarray  # [sentences, dim]
    sentence_chunk: np.ndarray  # chunk id of each sentence row
    vocab: list[str]  # lexical terms; the postings' term ids index this list
    chunk_postings: np.ndarray  # int32 (chunk, term, count) rows, sorted by term
    sentence_postings: np.ndarray  # int32 (sentence row, term, count) rows, sorted by term
    token_rows: np.ndarray  # int32 (sentence row, wordpiece id), sorted by sentence row
    token_vectors: np.ndarray  # int8 [wordpieces, dim], memory-mapped
    token_scales: np.ndarray  # float32 [wordpieces]
    token_file: "RowReader"  # the same rows read on demand without mapping them


class RowReader:
    """Rows of a loaded .npy read with pread from a duplicate of its open handle.

    A large index reads a few thousand wordpiece vectors per question, scattered over
    gigabytes. Through the memory map each read would map whole large pages of the
    file into the process (its RSS grows towards the file size); pread copies only
    the bytes asked for. The handle is the one the load opened, so the rows always
    come from the same build as the rest of the index.
    """

    def __init__(self, fh, offset: int, shape: tuple[int, int], dtype, where: str):
        self.fd = os.dup(fh.fileno())
        weakref.finalize(self, os.close, self.fd)
        self.offset, self.shape, self.dtype, self.where = offset, shape, np.dtype(dtype), where
        self.row_bytes = int(shape[1]) * self.dtype.itemsize

    def read(self, ranges: Sequence[tuple[int, int]]) -> np.ndarray:
        """Rows a:b of each (a, b), concatenated."""
        total = sum(b - a for a, b in ranges)
        buf = bytearray(total * self.row_bytes)
        view, pos = memoryview(buf), 0
        for a, b in ranges:
            n = (b - a) * self.row_bytes
            if n and os.preadv(self.fd, [view[pos : pos + n]], self.offset + a * self.row_bytes) != n:
                raise IndexError_(f"token_vectors.npy in {self.where} was cut short while in use: run `reportqa index --force`.")
            pos += n
        return np.frombuffer(buf, dtype=self.dtype).reshape(total, self.shape[1])


@dataclass(frozen=True)
class BuildSummary:
    files: int
    chunks: int
    sentences: int
    seconds: float
    rebuilt: bool  # False when the index was already fresh



def expected_manifest(source: Path, encoder: Encoder) -> dict:
    """What a fresh index for this source and model must declare."""
    return describe(encoder, source_hashes(source))


def describe(encoder: Encoder, sources: dict[str, str]) -> dict:
    """The manifest fields that decide whether an index is fresh."""
    return {
        "format": FORMAT_VERSION,
        "model": {
            "id": encoder.model_id,
            "fingerprint": encoder.fingerprint,
            "dim": encoder.dim,
            "max_tokens": encoder.max_tokens,
        },
        "chunking": dict(CHUNKING, max_tokens=encoder.max_tokens),
        "sources": sources,
    }


def staleness(manifest: dict, expected: dict) -> str | None:
    """Why the index does not match the sources and model, or None when it does."""
    if manifest.get("format") != expected["format"]:
        return f"index format {manifest.get('format')!r}, this reportqa reads {expected['format']}"
    model = manifest.get("model") or {}
    if model.get("id") != expected["model"]["id"] or model.get("fingerprint") != expected["model"]["fingerprint"]:
        return "the embedding model changed"
    if model.get("dim") != expected["model"]["dim"]:
        return "the embedding dimension changed"
    if manifest.get("chunking") != expected["chunking"]:
        return "the chunking settings changed"
    have, want = manifest.get("sources") or {}, expected["sources"]
    if have != want:
        changed = sorted(n for n in set(have) | set(want) if have.get(n) != want.get(n))
        return f"the source changed ({', '.join(changed[:3])}{' …' if len(changed) > 3 else ''})"
    return None




def manifest_problem(manifest) -> str | None:
    """What is malformed in a parsed manifest (so later checks can trust its types)."""
    if not isinstance(manifest, dict):
        return "not a JSON object"
    fmt = manifest.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        return f"format {fmt!r} is not a number"
    model = manifest.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("dim"), int) or model["dim"] < 1:
        return "no model dimension"
    for key, kind in (("sources", str), ("sizes", int), ("sha256", str)):
        value = manifest.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, kind) for k, v in value.items()):
            return f"{key!r} is malformed"
    if not manifest.get("sources"):
        return "no sources listed"
    return None

