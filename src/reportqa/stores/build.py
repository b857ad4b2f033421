"""``reportqa index --store milvus…``: bring a Milvus collection up to date with a source, in batches.

A file whose SHA-256 is recorded as done is skipped. A new or changed file is chunked,
embedded and upserted a batch of passages at a time (the keys come from its SHA-256,
name and offsets, so doing it again writes the same rows); then its older rows are
deleted and it is recorded as done. A file gone from the source loses its rows. A
build killed half-way therefore leaves every finished file in place, and the next
run redoes only the file it was in, without duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ..chunking import chunk_documents, sentences_as_read
from ..embed import Encoder
from ..errors import StoreError
from ..faults import fault
from ..index import BuildSummary, Progress, sentence_tokens
from ..ingest import read_documents
from .milvus import STORE_FORMAT, MilvusStore, expected_manifest, manifest_mismatch
from .rows import pack_row

BATCH = 64  # passages embedded and upserted per call


def sync_store(
    store: MilvusStore,
    source: Path,
    encoder: Encoder,
    *,
    force: bool = False,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    batch: int | None = None,
) -> BuildSummary:
    started = time.perf_counter()
    batch = batch or BATCH
    docs = read_documents(source, notify=notify)
    expected = expected_manifest(encoder)
    manifest = store.manifest()
    if manifest is not None:
        newer = isinstance(manifest.get("format"), int) and manifest["format"] > STORE_FORMAT
        if newer and not force:
            raise StoreError(
                f"The index in the Milvus store {store.spec.label} has format {manifest['format']}, newer than this "
                f"reportqa writes ({STORE_FORMAT}): upgrade reportqa, or pass --force to replace it."
            )
        reason = "--force" if force else manifest_mismatch(manifest, expected)
        if reason:
            if notify and reason != "--force":
                notify(f"reportqa: rebuilding the index in the Milvus store {store.spec.label}: {reason}.")
            store.drop()
            manifest = None
    if manifest is None:
        store.create(expected)
    store.load()
    done = store.files()
    todo = [d for d in docs if (done.get(d.name) or {}).get("sha") != d.sha256]
    gone = sorted(set(done) - {d.name for d in docs})
    chunked = [(d, chunk_documents([d], encoder.count_tokens, encoder.max_tokens)) for d in todo]
    total = sum(len(chunks) + sum(len(c.sentences) for c in chunks) for _, chunks in chunked)
    count = 0

    def tick(n: int) -> None:
        nonlocal count
        count += n
        if progress:
            progress(count, total)

    if progress:
        progress(0, total)
    for doc, chunks in chunked:
        read = sentences_as_read(chunks)  # the whole file's: a table row's header may be in an earlier group
        at = 0
        for lo in range(0, len(chunks), batch):
            group = chunks[lo : lo + batch]
            vectors, pieces = encoder.encode_tokens([c.text for c in group], progress=tick)
            in_group = sum(len(c.sentences) for c in group)
            sentence_vectors = encoder.encode(read[at : at + in_group], progress=tick)
            at += in_group
            rows, first = [], 0
            for chunk, vector, piece in zip(group, vectors, pieces):
                n = len(chunk.sentences)
                token_rows, token_vectors, token_scales = sentence_tokens([chunk], [piece], encoder.dim)
                rows.append(pack_row(chunk, doc.sha256, vector, sentence_vectors[first : first + n], token_rows, token_vectors, token_scales))
                first += n
            store.upsert(rows)
            fault("store.batch", doc.name)
        store.finish_file(doc.name, doc.sha256, len(chunks), sum(len(c.sentences) for c in chunks))
    for name in gone:
        store.remove_file(name)
    files = store.files()
    rebuilt = bool(todo or gone)
    return BuildSummary(len(files), sum(int(r["chunks"]) for r in files.values()),
                        sum(int(r["sentences"]) for r in files.values()), time.perf_counter() - started, rebuilt)
