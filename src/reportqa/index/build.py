"""Building an index: embed the source into a temp folder, then swap it in; and ensure_index.

The wordpiece vectors are quantised to int8 a group of passages at a time, so a large
report never holds all of its float32 vectors in memory. Every file is written and
fsynced into a sibling temp folder under the build lock (``store``), and the folder
is swapped in only when whole.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import __version__
from ..atomic import Data, fsync_dir, write_durable
from ..chunking import Chunk, chunk_documents, sentences_as_read
from ..embed import Encoder
from ..errors import IndexError_, IndexFormatError
from ..faults import fault
from ..ingest import read_documents
from ..lexical import build_postings, build_vocabulary
from ..text import terms
from .format import FILES, BuildSummary, Index, Progress, describe, expected_manifest, staleness
from .load import read_index
from .store import (
    build_lock,
    clean_if_unlocked,
    clean_leftovers,
    looks_like_index,
    missing_folders,
    recover,
    recover_if_unlocked,
    swap_in,
    writable,
)

PASSAGE_GROUP = 1024  # passages encoded per call at build time; their float32 wordpieces are then quantised


def _encode_passages(encoder: Encoder, chunks: list[Chunk], batch_size: int, tick, group_size: int) -> tuple[np.ndarray, ...]:
    """Passage vectors and their sentences' wordpieces, a group of passages at a time.

    The float32 wordpiece vectors of a whole large report would not fit in memory (about
    130 KB per passage); each group's are quantised to int8 before the next is encoded.
    """
    emb, rows, vectors, scales = [], [], [], []
    first_row = 0
    for lo in range(0, len(chunks), group_size):
        group = chunks[lo : lo + group_size]
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



def build_index(
    source: Path,
    index_dir: Path,
    encoder: Encoder,
    *,
    progress: Progress | None = None,
    batch_size: int = 32,
    notify: Callable[[str], None] | None = None,
    announce: str = "",
    passage_group: int = PASSAGE_GROUP,
) -> BuildSummary:
    """Embed source into a temp folder, then swap it in for index_dir (caller holds the lock).

    announce, when given, is passed to notify once the source has been read
    and the slow part, embedding, begins. passage_group passages are encoded per
    call (the index is the same whatever the group size).
    """
    started = time.perf_counter()
    docs = read_documents(source, notify=notify)
    chunks = chunk_documents(docs, encoder.count_tokens, encoder.max_tokens)
    if notify and announce:
        notify(announce)
    sentence_texts = sentences_as_read(chunks)  # a table row read with its header's names
    total = len(chunks) + len(sentence_texts)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    emb, token_rows, token_vectors, token_scales = _encode_passages(encoder, chunks, batch_size, tick, passage_group)
    sent = encoder.encode(sentence_texts, batch_size=batch_size, progress=tick)
    hashes = {d.name: d.sha256 for d in docs}
    manifest = {
        **describe(encoder, hashes),
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
        contents: list[tuple[str, Data]] = [
            ("chunks.jsonl", chunk_bytes),
            ("embeddings.npy", npy_bytes(emb)),
            ("sentence_embeddings.npy", npy_bytes(sent)),
            ("lexical_vocab.json", vocab_bytes),
            ("lexical_chunks.npy", npy_bytes(build_postings(chunk_terms, term_ids), np.int32)),
            ("lexical_sentences.npy", npy_bytes(build_postings(sentence_terms, term_ids), np.int32)),
            ("token_rows.npy", npy_bytes(token_rows, np.int32)),
            ("token_vectors.npy", npy_bytes(token_vectors, np.int8)),
            ("token_scales.npy", npy_bytes(token_scales)),
        ]
        for name, data in contents:
            fault("index.write", name)
            write_durable(tmp / name, data)
        manifest["sizes"] = {n: (tmp / n).stat().st_size for n in FILES if n != "manifest.json"}
        fault("index.write", "manifest.json")
        write_durable(tmp / "manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        os.chmod(tmp, 0o755)
        fsync_dir(tmp)
        swap_in(tmp, index_dir)
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


def npy_bytes(arr: np.ndarray, dtype=np.float32) -> Callable:
    """What writes arr as a .npy of dtype (never pickled), for write_durable."""
    return lambda fh: np.save(fh, np.ascontiguousarray(arr, dtype=dtype), allow_pickle=False)


def write_npy(path: Path, arr: np.ndarray, dtype=np.float32) -> None:
    """Write arr to path as a .npy of dtype, fsynced."""
    write_durable(path, npy_bytes(arr, dtype))



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
    recover_if_unlocked(index_dir)
    expected = expected_manifest(source, encoder)
    reason = None
    if not force:
        try:
            index = read_index(index_dir, encoder.dim)
            reason = staleness(index.manifest, expected)
            if reason is None:
                clean_if_unlocked(index_dir)
                return index, None
        except IndexFormatError:
            raise
        except IndexError_ as exc:
            reason = str(exc).split(": run")[0] if index_dir.exists() else None
    if not looks_like_index(index_dir):
        raise IndexError_(
            f"{index_dir} exists and is not a reportqa index, so it is left alone: "
            "pass --index with a new or empty folder."
        )
    if not writable(index_dir):
        raise IndexError_(
            f"The index in {index_dir} needs a rebuild ({reason or 'it is missing'}) but the folder is not writable: "
            "fix its permissions, or pass --index with a writable folder."
        )
    made = missing_folders(index_dir.parent)
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)  # the lock file lives there
    except OSError as exc:
        raise IndexError_(
            f"Cannot create {index_dir.parent} ({exc.strerror or exc}): pass --index with a writable folder."
        ) from None
    try:
        with build_lock(index_dir, timeout=lock_timeout, notify=notify):
            recover(index_dir)
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
            clean_leftovers(index_dir)
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


