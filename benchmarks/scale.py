"""How cost grows with the number of chunks: build, load, query and memory (issue 4, "Scale").

    python -m benchmarks.scale [--sizes 1000,10000,100000] [--build 1000] [--queries 60]
    python -m benchmarks.scale --store milvus:/tmp/scale.db --sizes 10000,100000   (scale_store.py)

* Build: the three SQuAD articles of ../shared/benchmarks, copied as separate
  files until there are about --build chunks, indexed from scratch with the
  default encoder (chunking + embedding every chunk and every sentence).
* Load and query at each size: an index folder made of those real chunks,
  repeated (each copy under its own file name) up to the size, with synthetic
  unit vectors; search cost does not depend on the vectors' values. Each size
  runs in a fresh process, which reports:
    - read_index (vectors and lexical postings memory-mapped), and a bare
      np.load(mmap_mode="r") of the two vector files for comparison;
    - the retriever's setup (BM25 weights from the stored postings);
    - per question: encoding, brute-force dense products, the whole answer();
    - resident memory after loading and at the end, and the peak.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT.parent / "shared" / "benchmarks" / "squad2-articles"


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child
    # would report the parent's peak from before the exec.
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


def questions(limit: int) -> list[str]:
    out = []
    for path in sorted(ARTICLES.glob("*.questions.jsonl")):
        out += [json.loads(line)["q"] for line in path.open(encoding="utf-8") if line.strip()][: limit // 3 + 1]
    return out[:limit]


# --- building from real text ----------------------------------------------------


def build_real(target_chunks: int, workdir: Path) -> dict:
    from reportqa.assistant import Assistant

    probe = workdir / "probe"
    probe.mkdir()
    for f in ARTICLES.glob("*.txt"):
        shutil.copy(f, probe / f.name)
    per_copy = Assistant(source=probe, index_dir=workdir / "probe-index", notify=lambda m: None).build(force=True).chunks
    copies = max(1, round(target_chunks / per_copy))
    src = workdir / "src"
    src.mkdir()
    for k in range(copies):
        for f in ARTICLES.glob("*.txt"):
            shutil.copy(f, src / f"copy{k:04d}-{f.name}")
    assistant = Assistant(source=src, index_dir=workdir / "index", notify=lambda m: None)
    started = time.perf_counter()
    s = assistant.build(force=True)
    seconds = time.perf_counter() - started
    return {"chunks": s.chunks, "sentences": s.sentences, "files": s.files, "seconds": seconds,
            "per_1k_chunks": seconds / s.chunks * 1000, "index": str(workdir / "index")}


def make_index(base: Path, n: int, out: Path, seed: int = 0) -> None:
    """n chunks repeated from base's chunks.jsonl, with random unit vectors, in the index format."""
    from reportqa.atomic import write_durable
    from reportqa.index import FILES, quantise, write_npy
    from reportqa.lexical import build_postings
    from reportqa.text import terms

    manifest = json.loads((base / "manifest.json").read_text())
    base_chunks = [json.loads(line) for line in (base / "chunks.jsonl").open(encoding="utf-8")]
    out.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    lines, n_sent, sources = [], 0, {}
    for i in range(n):
        c = dict(base_chunks[i % len(base_chunks)])
        c["id"], c["source"] = i, f"rep{i // len(base_chunks):05d}/{c['source']}"
        sources[c["source"]] = manifest["sources"].get(c["source"].split("/", 1)[1], "0" * 64)
        n_sent += len(c["sentences"])
        lines.append(json.dumps(c, ensure_ascii=False))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    write_durable(out / "chunks.jsonl", data)
    manifest["sources"] = sources
    manifest["sha256"] = {"chunks.jsonl": hashlib.sha256(data).hexdigest()}

    def unit(rows: int) -> np.ndarray:
        v = rng.standard_normal((rows, 384), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    write_npy(out / "embeddings.npy", unit(n))
    write_npy(out / "sentence_embeddings.npy", unit(n_sent))
    # Wordpieces: the base index's rows repeated per copy (same count per sentence), random vectors.
    base_rows = np.load(base / "token_rows.npy", allow_pickle=False)
    base_sent = sum(len(c["sentences"]) for c in base_chunks)
    reps = -(-n_sent // base_sent)
    rows = np.concatenate([base_rows + np.array([k * base_sent, 0], dtype=np.int32) for k in range(reps)])
    rows = rows[rows[:, 0] < n_sent]
    write_npy(out / "token_rows.npy", rows, np.int32)
    scales = []
    with open(out / "token_vectors.npy", "wb") as fh:  # written in blocks: 100k chunks is gigabytes
        np.lib.format.write_array_header_1_0(fh, {"descr": "|i1", "fortran_order": False, "shape": (len(rows), 384)})
        for lo in range(0, len(rows), 1 << 18):
            q, sc = quantise(unit(min(1 << 18, len(rows) - lo)))
            fh.write(q.tobytes())
            scales.append(sc)
    write_npy(out / "token_scales.npy", np.concatenate(scales))
    # Lexical postings of the base chunks, repeated with each copy's row offsets.
    vocab_bytes = (base / "lexical_vocab.json").read_bytes()
    vocab = {t: i for i, t in enumerate(json.loads(vocab_bytes))}
    chunk_terms = [terms(c["text"]) for c in base_chunks]
    sentence_terms = [terms(c["text"][a - c["start"] : b - c["start"]]) for c in base_chunks for a, b in c["sentences"]]
    for name, docs, total in (("lexical_chunks.npy", chunk_terms, n), ("lexical_sentences.npy", sentence_terms, n_sent)):
        one = build_postings(docs, vocab)
        reps = -(-total // len(docs))
        tiled = np.concatenate([one + np.array([k * len(docs), 0, 0], dtype=np.int32) for k in range(reps)])
        tiled = tiled[tiled[:, 0] < total]
        write_npy(out / name, tiled[np.lexsort((tiled[:, 0], tiled[:, 1]))], np.int32)
    write_durable(out / "lexical_vocab.json", vocab_bytes)
    manifest["sha256"]["lexical_vocab.json"] = hashlib.sha256(vocab_bytes).hexdigest()
    manifest["counts"] = {"files": n // len(base_chunks) + 1, "chunks": n, "sentences": n_sent}
    manifest["sizes"] = {f: (out / f).stat().st_size for f in FILES if f != "manifest.json"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))


# --- one size, in a fresh process -------------------------------------------------------


def child(index_dir: Path, n_questions: int) -> dict:
    started = time.perf_counter()
    from reportqa.assistant import Assistant
    from reportqa.embed import default_encoder
    from reportqa.index import read_index
    from reportqa.text import terms

    encoder = default_encoder()
    encoder.encode(["warm up"])
    r = {"import_and_model_s": time.perf_counter() - started, "rss_model_mb": rss_mb()}

    t = time.perf_counter()
    emb = np.load(index_dir / "embeddings.npy", mmap_mode="r", allow_pickle=False)
    sent = np.load(index_dir / "sentence_embeddings.npy", mmap_mode="r", allow_pickle=False)
    r["mmap_npy_s"] = time.perf_counter() - t
    del emb, sent

    t = time.perf_counter()
    index = read_index(index_dir)
    r["read_index_s"] = time.perf_counter() - t
    r["rss_after_read_mb"] = rss_mb()
    r["chunks"], r["sentences"] = len(index.chunks), int(index.sentence_embeddings.shape[0])
    r["vectors_mb"] = (index.embeddings.nbytes + index.sentence_embeddings.nbytes) / 2**20
    r["wordpiece_mb"] = index.token_vectors.nbytes / 2**20

    assistant = Assistant(source=index_dir, index_dir=index_dir, encoder=encoder, notify=lambda m: None)
    t = time.perf_counter()
    assistant.use_index(index)  # the retriever and its BM25 statistics, as load() does
    r["retriever_setup_s"] = time.perf_counter() - t
    r["rss_after_setup_mb"] = rss_mb()

    qs = questions(n_questions)
    t = time.perf_counter()
    assistant.answer(qs[0])  # also builds what the retriever computes lazily on first use
    r["first_answer_s"] = time.perf_counter() - t
    r["rss_after_first_answer_mb"] = rss_mb()
    enc_t, dense_t, rank_t, answer_t, cpu_t = [], [], [], [], []
    for q in qs:
        t = time.perf_counter()
        vecs, pieces = encoder.encode_tokens([q])
        v = vecs[0]
        enc_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        index.embeddings @ v
        index.sentence_embeddings @ v
        dense_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        assistant.retriever.rank(terms(q), v, q, pieces[0])
        rank_t.append(time.perf_counter() - t)
        t, c = time.perf_counter(), time.process_time()
        assistant.answer(q)
        answer_t.append(time.perf_counter() - t)
        cpu_t.append(time.process_time() - c)
    r["encode_ms"] = statistics.median(enc_t) * 1e3
    r["dense_products_ms"] = statistics.median(dense_t) * 1e3
    r["rank_ms"] = statistics.median(rank_t) * 1e3
    r["answer_p50_ms"] = statistics.median(answer_t) * 1e3
    r["answer_p95_ms"] = sorted(answer_t)[round(0.95 * (len(answer_t) - 1))] * 1e3
    # CPU seconds of this process (all its threads): less sensitive than wall
    # time to other processes competing for the two cores.
    r["answer_cpu_p50_ms"] = statistics.median(cpu_t) * 1e3
    r["rss_end_mb"] = rss_mb()
    r["peak_rss_mb"] = peak_mb()
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,3000,10000,30000,100000")
    ap.add_argument("--build", type=int, default=1000, help="chunks of real text to index from scratch (0: skip)")
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--store", default="files", help="files, or a Milvus store (milvus:PATH.db, milvus://HOST:PORT): see scale_store.py")
    ap.add_argument("--base", type=Path, default=ROOT / "index", help="with --store: the index folder whose passages are repeated")
    ap.add_argument("--child-store", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.store != "files":
        from benchmarks import scale_store

        if args.child_store:
            print(json.dumps(scale_store.child(args.store, args.queries)))
        else:
            scale_store.run(args.store, [int(s) for s in args.sizes.split(",")], args.base, args.queries)
        return
    if args.child:
        print(json.dumps(child(Path(args.child), args.queries)))
        return

    print(f"# {os.cpu_count()} CPUs · load {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="reportqa-scale-") as tmp:
        work = Path(tmp)
        if args.build:
            b = build_real(args.build, work)
            print(f"build from scratch: {b['files']} files, {b['chunks']} chunks + {b['sentences']} sentences "
                  f"in {b['seconds']:.1f} s = {b['per_1k_chunks']:.0f} s per 1k chunks "
                  f"(10k ≈ {b['per_1k_chunks'] * 10 / 60:.0f} min, 100k ≈ {b['per_1k_chunks'] * 100 / 3600:.1f} h at that rate)", flush=True)
            base = Path(b["index"])
        else:
            base = ROOT / "index"
        rows = []
        for n in (int(s) for s in args.sizes.split(",")):
            out = work / f"idx-{n}"
            make_index(base, n, out)
            res = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--child", str(out), "--queries", str(args.queries)],
                                 capture_output=True, text=True, check=False, cwd=ROOT)
            if res.returncode:
                sys.exit(res.stderr[-2000:])
            r = json.loads(res.stdout.strip().splitlines()[-1])
            rows.append(r)
            print(json.dumps(r), flush=True)
            shutil.rmtree(out)
    keys = [("chunks", "{:,}"), ("sentences", "{:,}"), ("vectors_mb", "{:.0f}"), ("wordpiece_mb", "{:.0f}"), ("read_index_s", "{:.3f}"),
            ("mmap_npy_s", "{:.4f}"), ("retriever_setup_s", "{:.3f}"), ("first_answer_s", "{:.3f}"),
            ("encode_ms", "{:.2f}"),
            ("dense_products_ms", "{:.2f}"), ("rank_ms", "{:.2f}"), ("answer_p50_ms", "{:.1f}"), ("answer_p95_ms", "{:.1f}"),
            ("answer_cpu_p50_ms", "{:.1f}"), ("rss_after_first_answer_mb", "{:.0f}"), ("peak_rss_mb", "{:.0f}")]
    print("\n| " + " | ".join(k for k, _ in keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(f.format(r[k]) for k, f in keys) + " |")
    print(f"\nload {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
