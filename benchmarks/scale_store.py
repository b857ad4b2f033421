"""The Milvus store at scale (issue 20): build, query and memory, beside the files store.

    python -m benchmarks.scale --store milvus:/tmp/scale.db --sizes 10000,100000 [--base DIR]

Rows are the passages of an index folder (--base, default the bundled report's),
repeated under new file names up to each size, with their real text (the engine's
BM25 reads it) and synthetic vectors: random unit passage and sentence vectors, and
random int8 wordpiece vectors, as many per sentence as the base has. They are
upserted a batch at a time (the build time is the engine's: embedding is left out,
it costs the same as for the files store). Each size is then queried in a fresh
process: answer() end to end with the real model and reader, the store's part of it
(search and unpacking the rows), resident memory and the store's disk use.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BATCH = 1000


def fill(base: Path, n: int, store: str, seed: int = 0) -> dict:
    """Upsert n synthetic rows into the store; the seconds it took."""
    from reportqa.chunking import Chunk
    from reportqa.index import quantise, read_index
    from reportqa.stores import parse_store
    from reportqa.stores.milvus import MilvusStore
    from reportqa.stores.rows import pack_row

    index = read_index(base)
    rng = np.random.default_rng(seed)
    spec = parse_store(store)
    s = MilvusStore(spec)
    s.drop()
    manifest = dict(index.manifest)
    manifest = {"format": 1, "model": manifest["model"], "chunking": manifest["chunking"]}
    s.create(manifest)
    s.load()
    starts = np.searchsorted(index.token_rows[:, 0], np.arange(len(index.sentence_chunk) + 1))
    first_sentence = np.concatenate([[0], np.cumsum([len(c.sentences) for c in index.chunks])])

    def unit(rows: int) -> np.ndarray:
        v = rng.standard_normal((rows, 384), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    started, rows, files = time.perf_counter(), [], {}
    for i in range(n):
        k, j = divmod(i, len(index.chunks))
        c = index.chunks[j]
        name = f"rep{k:05d}/{c.source}"
        sha = f"{k:064x}"
        a, b = first_sentence[j], first_sentence[j + 1]
        token_rows = index.token_rows[starts[a] : starts[b]].copy()
        token_rows[:, 0] -= a
        q, sc = quantise(unit(len(token_rows)))
        chunk = Chunk(i, name, c.start, c.end, c.line, c.paragraph, c.text, c.sentences)
        rows.append(pack_row(chunk, sha, unit(1)[0], unit(len(c.sentences)), token_rows, q, sc))
        files[name] = (sha, files.get(name, (sha, 0))[1] + 1)
        if len(rows) == BATCH or i == n - 1:
            s.upsert(rows)
            rows = []
    for name, (sha, count) in files.items():
        s.client.upsert(s.files_name, [{"source": name, "sha": sha, "chunks": count, "sentences": 0, "unused": [0.0, 0.0]}])
    seconds = time.perf_counter() - started
    s.close()
    if spec.embedded:  # Milvus Lite serves one process: let the querying child open it
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(spec.uri)
    return {"rows": n, "build_s": seconds}


def disk_mb(path: str) -> float:
    out = subprocess.run(["du", "-sm", path], capture_output=True, text=True, check=False).stdout.split()
    return float(out[0]) if out else float("nan")


def child(store: str, n_questions: int) -> dict:
    from benchmarks.scale import peak_mb, questions, rss_mb

    started = time.perf_counter()
    from reportqa.assistant import Assistant
    from reportqa.embed import default_encoder
    from reportqa.settings import DEFAULT
    from reportqa.text import terms

    encoder = default_encoder()
    encoder.encode(["warm up"])
    r = {"import_and_model_s": time.perf_counter() - started, "rss_model_mb": rss_mb()}
    a = Assistant(encoder=encoder, notify=lambda m: None, settings=DEFAULT.with_(store=store))
    t = time.perf_counter()
    a.load()
    r["load_s"] = time.perf_counter() - t
    qs = questions(n_questions)
    a.answer(qs[0])
    r["rss_after_first_answer_mb"] = rss_mb()
    store_t, answer_t = [], []
    for q in qs:
        vec = encoder.encode([q])[0]
        t = time.perf_counter()
        a._store.candidates(terms(q), vec, a.settings.retrieval.store_passages, a._store_manifest)
        store_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        a.answer(q)
        answer_t.append(time.perf_counter() - t)
    r["store_p50_ms"] = statistics.median(store_t) * 1e3
    r["answer_p50_ms"] = statistics.median(answer_t) * 1e3
    r["answer_p95_ms"] = sorted(answer_t)[round(0.95 * (len(answer_t) - 1))] * 1e3
    r["rss_end_mb"] = rss_mb()
    r["peak_rss_mb"] = peak_mb()
    return r


def run(store: str, sizes: list[int], base: Path, n_questions: int) -> list[dict]:
    from reportqa.stores import parse_store

    spec = parse_store(store)
    out = []
    for n in sizes:
        if spec.embedded:
            shutil.rmtree(spec.uri, ignore_errors=True)
        b = fill(base, n, store)
        # the child is `python -m benchmarks.scale` from the checkout's top, as the parent was run
        res = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--store", store, "--child-store",
                              "--queries", str(n_questions)], capture_output=True, text=True, check=False,
                             cwd=Path(__file__).resolve().parents[1])
        if res.returncode:
            sys.exit(res.stderr[-3000:])
        r = b | json.loads(res.stdout.strip().splitlines()[-1])
        if spec.embedded:
            r["disk_mb"] = disk_mb(spec.uri)
        out.append(r)
        print(json.dumps(r), flush=True)
    keys = ["rows", "build_s", "disk_mb", "load_s", "store_p50_ms", "answer_p50_ms", "answer_p95_ms", "rss_after_first_answer_mb", "peak_rss_mb"]
    print("\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for r in out:
        print("| " + " | ".join(f"{r.get(k, float('nan')):,.1f}" for k in keys) + " |")
    return out
