"""Loading an index: every file is checked before use, and nothing is ever unpickled or imported.

Vectors are memory-mapped, so loading a large index copies nothing. All files are
opened through one directory handle, so they come from the same build even if a
concurrent build swaps the folder while we read.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from ..chunking import Chunk
from ..errors import IndexError_, IndexFormatError
from ..lexical import postings_problem
from .format import CHECKSUMMED, FILES, FORMAT_VERSION, Index, RowReader, manifest_problem
from .store import recover_if_unlocked


def read_index(index_dir: Path, dim: int | None = None) -> Index:
    """Load and validate an index folder; raise IndexError_ saying what is wrong."""
    for attempt in range(5):
        try:
            return _read_consistent(index_dir, dim)
        except (FileNotFoundError, NotADirectoryError) as exc:
            # A concurrent build may have swapped the folder between our opens,
            # or a killed one left it aside; only recover when no build runs.
            recover_if_unlocked(index_dir, timeout=0)
            if attempt == 4 or not (index_dir / "manifest.json").exists():
                if not (index_dir / "manifest.json").exists():
                    raise IndexError_(f"No index in {index_dir}: run `reportqa index`.") from None
                raise IndexError_(
                    f"The index in {index_dir} is incomplete ({exc.filename or exc} is missing): "
                    "run `reportqa index --force`."
                ) from None
            time.sleep(0.05)
    raise AssertionError("unreachable")


def _read_consistent(index_dir: Path, dim: int | None) -> Index:
    # Open every file through one directory handle first, so all four come from
    # the same build even if the folder is swapped while we read.
    dir_fd = os.open(index_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        handles = {name: os.open(name, os.O_RDONLY, dir_fd=dir_fd) for name in FILES}
    finally:
        os.close(dir_fd)
    try:
        files = {name: os.fdopen(fd, "rb") for name, fd in handles.items()}
    except Exception:
        for fd in handles.values():
            os.close(fd)
        raise
    try:
        return _parse(index_dir, files, dim)
    finally:
        for fh in files.values():
            fh.close()


def _parse(index_dir: Path, files: dict, dim: int | None) -> Index:
    where = str(index_dir)
    try:
        manifest = json.loads(files["manifest.json"].read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexError_(f"The manifest in {where} is corrupt ({exc}): run `reportqa index --force`.") from None
    if isinstance(manifest, dict) and type(manifest.get("format")) is int and manifest["format"] > FORMAT_VERSION:
        raise IndexFormatError(
            f"The index in {where} has format {manifest['format']}, newer than this reportqa reads ({FORMAT_VERSION}): "
            "upgrade reportqa, or run `reportqa index --force` to replace it."
        )
    problem = manifest_problem(manifest)
    if problem:
        raise IndexError_(f"The manifest in {where} is corrupt ({problem}): run `reportqa index --force`.")
    sizes = manifest.get("sizes", {})
    for name, fh in files.items():
        if name in sizes and os.fstat(fh.fileno()).st_size != sizes[name]:
            raise IndexError_(f"{name} in {where} is truncated or altered: run `reportqa index --force`.")
    raws = {name: files[name].read() for name in CHECKSUMMED}
    for name, data in raws.items():
        want_sha = manifest.get("sha256", {}).get(name)
        if want_sha is not None and hashlib.sha256(data).hexdigest() != want_sha:
            raise IndexError_(f"{name} in {where} was altered (checksum differs): run `reportqa index --force`.")
    raw = raws["chunks.jsonl"]
    try:
        chunks = [Chunk.from_dict(json.loads(line)) for line in raw.decode("utf-8").splitlines() if line.strip()]
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise IndexError_(f"chunks.jsonl in {where} is corrupt ({exc!r}): run `reportqa index --force`.") from None
    emb = _load_npy(files["embeddings.npy"], where, "embeddings.npy")
    sent = _load_npy(files["sentence_embeddings.npy"], where, "sentence_embeddings.npy")
    try:
        vocab = json.loads(raws["lexical_vocab.json"].decode("utf-8"))
        if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab):
            raise ValueError("not a list of terms")
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexError_(f"lexical_vocab.json in {where} is corrupt ({exc}): run `reportqa index --force`.") from None
    chunk_postings = _load_npy(files["lexical_chunks.npy"], where, "lexical_chunks.npy", np.int32)
    sentence_postings = _load_npy(files["lexical_sentences.npy"], where, "lexical_sentences.npy", np.int32)
    token_rows = _load_npy(files["token_rows.npy"], where, "token_rows.npy", np.int32)
    token_vectors = _load_npy(files["token_vectors.npy"], where, "token_vectors.npy", np.int8)
    token_scales = _load_npy(files["token_scales.npy"], where, "token_scales.npy")
    token_file = RowReader(files["token_vectors.npy"], getattr(token_vectors, "offset", 0), token_vectors.shape, np.int8, where)
    want_dim = dim or manifest["model"]["dim"]
    n_sent = sum(len(c.sentences) for c in chunks)
    problems = []
    if not chunks:
        problems.append("no chunks")
    bad = next((c for c in chunks if not _chunk_ok(c, manifest["sources"])), None)
    if bad is not None:
        problems.append(f"chunk {bad.id} has impossible offsets or source")
    if emb.ndim != 2 or emb.shape[0] != len(chunks):
        problems.append(f"{emb.shape[0] if emb.ndim else 0} vectors for {len(chunks)} chunks")
    if sent.ndim != 2 or sent.shape[0] != n_sent:
        problems.append(f"{sent.shape[0] if sent.ndim else 0} sentence vectors for {n_sent} sentences")
    # One sum per array: NaN or inf anywhere makes it non-finite, without a temporary mask.
    if not (np.isfinite(emb.sum()) and np.isfinite(sent.sum())):
        problems.append("vectors that are not finite numbers")
    if emb.ndim == 2 and (emb.shape[1] != want_dim or sent.ndim != 2 or sent.shape[1] != want_dim):
        problems.append(f"dimension {emb.shape[1]}, expected {want_dim}")
    if any(c.id != i for i, c in enumerate(chunks)):
        problems.append("chunk ids out of order")
    problem = _tokens_problem(token_rows, token_vectors, token_scales, n_sent, want_dim)
    if problem:
        problems.append(problem)
    for name, postings, n_docs in (
        ("lexical_chunks.npy", chunk_postings, len(chunks)),
        ("lexical_sentences.npy", sentence_postings, n_sent),
    ):
        problem = postings_problem(postings, n_docs, len(vocab))
        if problem:
            problems.append(f"{name}: {problem}")
    if problems:
        raise IndexError_(f"The index in {where} is inconsistent ({'; '.join(problems)}): run `reportqa index --force`.")
    sentence_chunk = np.fromiter((c.id for c in chunks for _ in c.sentences), dtype=np.int64, count=n_sent)
    return Index(
        index_dir, manifest, chunks, emb, sent, sentence_chunk, vocab, chunk_postings, sentence_postings,
        token_rows, token_vectors, token_scales, token_file,
    )


def _tokens_problem(rows: np.ndarray, vectors: np.ndarray, scales: np.ndarray, n_sent: int, dim: int) -> str | None:
    if rows.ndim != 2 or rows.shape[1] != 2 or vectors.ndim != 2 or vectors.shape[0] != rows.shape[0] or scales.shape != rows.shape[:1]:
        return f"token_rows.npy {rows.shape} does not match token_vectors.npy {vectors.shape} and token_scales.npy {scales.shape}"
    if len(rows) and vectors.shape[1] != dim:
        return f"token vectors of dimension {vectors.shape[1]}, expected {dim}"
    if len(rows) and (rows[:, 0].min() < 0 or rows[:, 0].max() >= n_sent or rows[:, 1].min() < 0 or np.any(np.diff(rows[:, 0]) < 0)):
        return "token_rows.npy is out of range or order"
    if len(rows) and not np.isfinite(scales.sum()):
        return "token scales that are not finite numbers"
    return None


def _chunk_ok(c: Chunk, sources: dict) -> bool:
    return (
        c.source in sources
        and 0 <= c.start <= c.end
        and c.end - c.start == len(c.text)
        and all(c.start <= s <= e <= c.end for s, e in c.sentences)
    )


def _load_npy(fh, where: str, name: str, want=np.float32) -> np.ndarray:
    """Memory-map a float32 (or int32, int8) .npy from an open file; nothing is copied or unpickled.

    Only the header is parsed (``np.lib.format``, which never unpickles); the
    data is mapped read-only from the already-open handle, so the mapping stays
    with this build even if the folder is swapped, and a large index loads in
    constant time.
    """
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        if dtype != want:  # checked before mapping: an object array is never read
            raise IndexError_(f"{name} in {where} holds {dtype}, not {np.dtype(want)}: run `reportqa index --force`.")
        if 0 in shape:
            return np.zeros(shape, dtype=want)
        # A truncated file fails here: "mmap length is greater than file size".
        return np.memmap(fh, dtype=dtype, mode="r", offset=fh.tell(), shape=shape, order="F" if fortran else "C")
    except (ValueError, OSError, EOFError) as exc:
        raise IndexError_(f"{name} in {where} is unreadable ({exc}): run `reportqa index --force`.") from None


