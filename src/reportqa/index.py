"""The index: a folder of plain files, built atomically and checked on load.

    index/
      manifest.json             format, model id and weights fingerprint, chunking,
                                SHA-256 of every source file, file sizes, counts
      chunks.jsonl              one passage per line, with offsets and sentences
      embeddings.npy            float32 [chunks, dim], unit rows
      sentence_embeddings.npy   float32 [sentences, dim], in chunk order
      lexical_vocab.json        the stemmed terms of lexical search, sorted
      lexical_chunks.npy        int32 (passage, term, count) rows, sorted by term
      lexical_sentences.npy     int32 (sentence, term, count) rows, sorted by term
      token_rows.npy            int32 (sentence, wordpiece id) of each stored wordpiece
      token_vectors.npy         int8 [wordpieces, dim]: the model's contextual vector
                                of each wordpiece of a sentence, read in its passage
                                (for late interaction), as unit rows quantised per row
      token_scales.npy          float32 [wordpieces]: row i is token_vectors[i] * scale[i]

Nothing in the folder is ever imported or unpickled; vectors are memory-mapped,
so loading a large index copies nothing. A build writes a sibling
temp folder under a lock file and swaps it in with one atomic exchange
(renameat2 RENAME_EXCHANGE on Linux; elsewhere two renames, with recovery of a
build killed between them), so a reader sees the old index or the new one,
never a mix, and a killed build leaves the previous index in place.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .chunking import CHUNKING, Chunk, chunk_documents
from .embed import Encoder
from .errors import IndexError_, IndexFormatError
from .ingest import read_documents, source_hashes
from .lexical import build_postings, build_vocabulary, postings_problem
from .text import terms

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
LOCK_TIMEOUT = 120.0  # seconds; $REPORTQA_LOCK_TIMEOUT overrides it

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


# --- paths and locking -----------------------------------------------------


def _sibling(index_dir: Path, kind: str) -> Path:
    return index_dir.parent / f".{index_dir.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def lock_path(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.lock"


@contextlib.contextmanager
def build_lock(index_dir: Path, timeout: float | None = None, notify: Callable[[str], None] | None = None):
    """An exclusive flock beside the index folder; waits up to timeout seconds.

    If there is no index folder when it is released (the first build of a source
    failed, say because a file is not UTF-8), the lock file is removed too, so a
    source that could not be read leaves nothing behind. A process that was
    waiting on the removed file sees that it is no longer the one at the path
    and locks the new one instead.
    """
    import fcntl

    if timeout is None:
        timeout = _lock_timeout()
    path = lock_path(index_dir)
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            # Its folder was removed with a failed first build's lock file: make it again.
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise IndexError_(f"Cannot create the lock file {path}: {exc.strerror}.") from None
        except OSError as exc:
            raise IndexError_(f"Cannot create the lock file {path}: {exc.strerror}.") from None
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise IndexError_(
                            f"Another reportqa process has been building {index_dir} for over {timeout:g} s: "
                            f"wait for it, or remove {path} if no build is running."
                        ) from None
                    if not told and notify:
                        notify(f"reportqa: waiting for another process that is building {index_dir} …")
                        told = True
                    time.sleep(0.1)
            try:
                current = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)  # the holder removed this file on release: lock the one at the path now
    try:
        yield
    finally:
        try:
            if not os.path.lexists(index_dir):
                with contextlib.suppress(OSError):
                    os.unlink(path)  # still holding the lock, so no one else is using this file
        finally:
            os.close(fd)


def _lock_timeout() -> float:
    try:
        return float(os.environ.get("REPORTQA_LOCK_TIMEOUT", LOCK_TIMEOUT))
    except ValueError:
        return LOCK_TIMEOUT


def _recover(index_dir: Path) -> None:
    """Put back an index left aside by a build killed between its two renames (hold the lock)."""
    if index_dir.exists():
        return
    olds = sorted(index_dir.parent.glob(f".{index_dir.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        with contextlib.suppress(OSError):
            os.rename(olds[-1], index_dir)


def _clean_leftovers(index_dir: Path) -> None:
    """Remove temp folders of builds that were killed (we hold the lock)."""
    for kind in ("tmp", "old"):
        for p in index_dir.parent.glob(f".{index_dir.name}.{kind}-*"):
            shutil.rmtree(p, ignore_errors=True)


def _looks_like_index(index_dir: Path) -> bool:
    """Is index_dir missing, empty, or one of ours? Anything else must never be replaced."""
    if not index_dir.exists():
        return True
    if not index_dir.is_dir():
        return False
    try:
        names = set(os.listdir(index_dir))
    except OSError:
        return False
    return not names or bool(names & set(FILES))


def _writable(index_dir: Path) -> bool:
    """Can we create the sibling temp folder and rename it over index_dir?"""
    parent = index_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # mkdir(parents=True) will create the rest
    return os.access(parent, os.W_OK | os.X_OK) and (not index_dir.exists() or os.access(index_dir, os.W_OK))


# --- manifest and staleness ---------------------------------------------------


def expected_manifest(source: Path, encoder: Encoder) -> dict:
    """What a fresh index for this source and model must declare."""
    return _describe(encoder, source_hashes(source))


def _describe(encoder: Encoder, sources: dict[str, str]) -> dict:
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


# --- reading ----------------------------------------------------------------


def read_index(index_dir: Path, dim: int | None = None) -> Index:
    """Load and validate an index folder; raise IndexError_ saying what is wrong."""
    for attempt in range(5):
        try:
            return _read_consistent(index_dir, dim)
        except (FileNotFoundError, NotADirectoryError) as exc:
            # A concurrent build may have swapped the folder between our opens,
            # or a killed one left it aside; only recover when no build runs.
            _recover_if_unlocked(index_dir, timeout=0)
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


def _manifest_problem(manifest) -> str | None:
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
    problem = _manifest_problem(manifest)
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


PASSAGE_GROUP = 1024  # passages encoded per call at build time; their float32 wordpieces are then quantised


def _encode_passages(encoder: Encoder, chunks: list[Chunk], batch_size: int, tick) -> tuple[np.ndarray, ...]:
    """Passage vectors and their sentences' wordpieces, a group of passages at a time.

    The float32 wordpiece vectors of a whole large report would not fit in memory (about
    130 KB per passage); each group's are quantised to int8 before the next is encoded.
    """
    emb, rows, vectors, scales = [], [], [], []
    first_row = 0
    for lo in range(0, len(chunks), PASSAGE_GROUP):
        group = chunks[lo : lo + PASSAGE_GROUP]
        e, pieces = encoder.encode_tokens([c.text for c in group], batch_size=batch_size, progress=tick)
        r, v, sc = sentence_tokens(group, pieces, encoder.dim, first_row)
        emb.append(e), rows.append(r), vectors.append(v), scales.append(sc)
        first_row += sum(len(c.sentences) for c in group)
    if not chunks:
        return (np.zeros((0, encoder.dim), np.float32), np.zeros((0, 2), np.int32),
                np.zeros((0, encoder.dim), np.int8), np.zeros(0, np.float32))
    return np.concatenate(emb), np.concatenate(rows), np.concatenate(vectors), np.concatenate(scales)


def sentence_tokens(chunks: list[Chunk], pieces: list, dim: int, first_row: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The wordpieces of each passage's sentences: int32 (sentence row, id) rows, and their vectors quantised.

    Each passage was encoded whole, so a wordpiece's vector carries its passage's
    context. Wordpieces between sentences or without a letter or digit are left out.
    """
    rows, keep = [], []
    row = first_row  # sentence row of the first passage's first sentence
    for chunk, tok in zip(chunks, pieces):
        starts = [s for s, _ in chunk.sentences]
        for j, ((a, b), wid) in enumerate(zip(tok.spans.tolist(), tok.ids.tolist())):
            at = chunk.start + a
            k = bisect.bisect_right(starts, at) - 1  # np.searchsorted would copy starts per wordpiece
            if k < 0 or at >= chunk.sentences[k][1] or not any(ch.isalnum() for ch in chunk.text[a:b]):
                continue
            rows.append((row + k, wid))
            keep.append(tok.vectors[j])
        row += len(chunk.sentences)
    vectors = np.asarray(keep, dtype=np.float32).reshape(len(keep), dim)
    return np.asarray(rows, dtype=np.int32).reshape(len(rows), 2), *quantise(vectors)


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows as int8 times a float32 scale per row (max |error| about 1e-3 on unit rows).

    Half the size of float16, and int8 converts to float32 an order of magnitude
    faster, which matters when a question reads thousands of rows. Answers on the
    bundled set and the SQuAD articles are the same as with float32 rows.
    """
    scales = np.abs(vectors).max(axis=1) / 127 if len(vectors) else np.zeros(0, dtype=np.float32)
    scales = np.maximum(scales, np.float32(1e-12)).astype(np.float32)
    return np.round(vectors / scales[:, None]).astype(np.int8), scales


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


# --- building -----------------------------------------------------------------


def build_index(
    source: Path,
    index_dir: Path,
    encoder: Encoder,
    *,
    progress: Progress | None = None,
    batch_size: int = 32,
    notify: Callable[[str], None] | None = None,
    announce: str = "",
) -> BuildSummary:
    """Embed source into a temp folder, then swap it in for index_dir (caller holds the lock).

    announce, when given, is passed to notify once the source has been read
    and the slow part, embedding, begins.
    """
    started = time.perf_counter()
    docs = read_documents(source, notify=notify)
    chunks = chunk_documents(docs, encoder.count_tokens, encoder.max_tokens)
    if notify and announce:
        notify(announce)
    texts = {d.name: d.text for d in docs}
    sentence_texts = [texts[c.source][s:e] for c in chunks for s, e in c.sentences]
    total = len(chunks) + len(sentence_texts)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    emb, token_rows, token_vectors, token_scales = _encode_passages(encoder, chunks, batch_size, tick)
    sent = encoder.encode(sentence_texts, batch_size=batch_size, progress=tick)
    hashes = {d.name: d.sha256 for d in docs}
    manifest = {
        **_describe(encoder, hashes),
        "reportqa_version": __version__,
        "counts": {"files": len(docs), "chunks": len(chunks), "sentences": len(sentence_texts)},
    }
    chunk_bytes = "".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in chunks).encode("utf-8")
    chunk_terms = [terms(c.text) for c in chunks]
    sentence_terms = [terms(t) for t in sentence_texts]
    vocab = build_vocabulary(chunk_terms, sentence_terms)
    term_ids = {t: i for i, t in enumerate(vocab)}
    vocab_bytes = json.dumps(vocab, ensure_ascii=False).encode("utf-8")
    manifest["sha256"] = {
        "chunks.jsonl": hashlib.sha256(chunk_bytes).hexdigest(),
        "lexical_vocab.json": hashlib.sha256(vocab_bytes).hexdigest(),
    }
    tmp = None
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-{os.getpid()}-", dir=index_dir.parent))
        _write_file(tmp / "chunks.jsonl", chunk_bytes)
        _write_npy(tmp / "embeddings.npy", emb)
        _write_npy(tmp / "sentence_embeddings.npy", sent)
        _write_file(tmp / "lexical_vocab.json", vocab_bytes)
        _write_npy(tmp / "lexical_chunks.npy", build_postings(chunk_terms, term_ids), np.int32)
        _write_npy(tmp / "lexical_sentences.npy", build_postings(sentence_terms, term_ids), np.int32)
        _write_npy(tmp / "token_rows.npy", token_rows, np.int32)
        _write_npy(tmp / "token_vectors.npy", token_vectors, np.int8)
        _write_npy(tmp / "token_scales.npy", token_scales)
        manifest["sizes"] = {n: (tmp / n).stat().st_size for n in FILES if n != "manifest.json"}
        _write_file(tmp / "manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        os.chmod(tmp, 0o755)
        _fsync_dir(tmp)
        _swap_in(tmp, index_dir)
    except BaseException as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise IndexError_(
                f"Cannot write the index in {index_dir} ({exc.strerror or exc}); the previous index is unchanged: "
                "free some space or fix the folder's permissions, or pass --index with another folder."
            ) from None
        raise
    return BuildSummary(len(docs), len(chunks), len(sentence_texts), time.perf_counter() - started, True)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _write_npy(path: Path, arr: np.ndarray, dtype=np.float32) -> None:
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(arr, dtype=dtype), allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux renameat2); False where that is unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(tmp: Path, index_dir: Path) -> None:
    if index_dir.exists() and _exchange(tmp, index_dir):
        # tmp now holds the previous index; a reader never sees index_dir missing.
        _fsync_dir(index_dir.parent)
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = None
    if index_dir.exists():
        old = _sibling(index_dir, "old")
        os.rename(index_dir, old)
    try:
        os.rename(tmp, index_dir)
    except BaseException:
        if old is not None:
            os.rename(old, index_dir)
        raise
    _fsync_dir(index_dir.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def ensure_index(
    source: Path,
    index_dir: Path,
    encoder: Encoder,
    *,
    force: bool = False,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    lock_timeout: float | None = None,
) -> tuple[Index, BuildSummary | None]:
    """A fresh index for source: load it, or (re)build it under the lock when it is stale.

    A stale or broken index is rebuilt with a notice; one from a newer reportqa
    is refused unless force, so an upgrade is never undone silently.
    """
    index_dir = Path(index_dir)
    if index_dir.is_symlink():
        index_dir = index_dir.resolve()  # rebuild the folder the link points at, and keep the link
    _recover_if_unlocked(index_dir)
    expected = expected_manifest(source, encoder)
    reason = None
    if not force:
        try:
            index = read_index(index_dir, encoder.dim)
            reason = staleness(index.manifest, expected)
            if reason is None:
                _clean_if_unlocked(index_dir)
                return index, None
        except IndexFormatError:
            raise
        except IndexError_ as exc:
            reason = str(exc).split(": run")[0] if index_dir.exists() else None
    if not _looks_like_index(index_dir):
        raise IndexError_(
            f"{index_dir} exists and is not a reportqa index, so it is left alone: "
            "pass --index with a new or empty folder."
        )
    if not _writable(index_dir):
        raise IndexError_(
            f"The index in {index_dir} needs a rebuild ({reason or 'it is missing'}) but the folder is not writable: "
            "fix its permissions, or pass --index with a writable folder."
        )
    made = _missing_folders(index_dir.parent)
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)  # the lock file lives there
    except OSError as exc:
        raise IndexError_(
            f"Cannot create {index_dir.parent} ({exc.strerror or exc}): pass --index with a writable folder."
        ) from None
    try:
        with build_lock(index_dir, timeout=lock_timeout, notify=notify):
            _recover(index_dir)
            # Someone else may have built it while we waited for the lock.
            if not force:
                try:
                    index = read_index(index_dir, encoder.dim)
                    if staleness(index.manifest, expected) is None:
                        return index, None
                except IndexFormatError:
                    raise
                except IndexError_:
                    pass
            _clean_leftovers(index_dir)
            if notify and reason:
                notify(f"reportqa: rebuilding the index in {index_dir}: {reason}.")
            # On first use of a source, say why this answer takes longer than the next
            # (`reportqa index` shows a progress bar instead).
            first_use = "" if reason or progress or force else f"reportqa: building the index of {source} in {index_dir} (first use) …"
            summary = build_index(source, index_dir, encoder, progress=progress, notify=notify, announce=first_use)
    except BaseException:
        if not os.path.lexists(index_dir):
            # Nothing was built (the source could not be read, say): leave no folder behind either.
            for folder in reversed(made):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if still empty
        raise
    return read_index(index_dir, encoder.dim), summary


def _missing_folders(folder: Path) -> list[Path]:
    """The folders from the first missing ancestor of folder down to folder itself."""
    missing = []
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def _clean_if_unlocked(index_dir: Path) -> None:
    """Remove what a killed build left beside a fresh index, unless a build is running now."""
    if any(index_dir.parent.glob(f".{index_dir.name}.tmp-*")) or any(index_dir.parent.glob(f".{index_dir.name}.old-*")):
        with contextlib.suppress(IndexError_, OSError):
            with build_lock(index_dir, timeout=0):
                _clean_leftovers(index_dir)


def _recover_if_unlocked(index_dir: Path, timeout: float = 5) -> None:
    """Recover a build killed between its renames, unless a build is running now."""
    if not index_dir.exists() and any(index_dir.parent.glob(f".{index_dir.name}.old-*")):
        with contextlib.suppress(IndexError_, OSError):
            with build_lock(index_dir, timeout=timeout):
                _recover(index_dir)
