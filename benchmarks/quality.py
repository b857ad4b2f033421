"""Answer-quality benchmark: the final pipeline and its ablations, measured in one run.

    python -m benchmarks.quality                                  # bundled set + SQuAD (leave-one-article-out)
    python -m benchmarks.quality --source R.txt --questions Q.jsonl   # any report and question file
    python -m benchmarks.quality --followups                      # only the follow-up figures

Question files use the ../shared/benchmarks format (see reportqa.evaluate). For
each variant it prints hit@1, hit@3, MRR@10, answer-contains (answering every
question, and with the default abstention), mean answer length and the abstention
figures. On the three SQuAD articles the fitted parts (answer scorer, abstention
models, threshold) are refitted without the article being scored, and the
figures are macro averages over the articles. The bundled report's set is scored
with the shipped settings, which never saw it.

Indexes for other reports go to $REPORTQA_CACHE_DIR (default /tmp/rqa-cache here).

The variants are ``variants.py``'s, the tables ``tables.py``'s and the chat figures ``followups.py``'s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import variants
from benchmarks.followups import run_followups
from benchmarks.tables import curve_table, macro, precision_recall, reliability_table, summary, table
from benchmarks.variants import BUNDLED_QUESTIONS, VARIANTS, reader_for, score, unmerged
from reportqa import Assistant
from reportqa.embed import default_encoder
from reportqa.evaluate import load_questions
from reportqa.reader.cross import shipped_cross_params
from reportqa.reader.linear import shipped_params
from reportqa.settings import DEFAULT
from training import fit_data, fitting

os.environ.setdefault("REPORTQA_CACHE_DIR", "/tmp/rqa-cache")


def latency(a: Assistant, questions: list[dict], encoder) -> str:
    """Warm per-question time (median) with the real encoder and reader, with and without the reader."""
    qs = [q["q"] for q in questions][:60]
    out = []
    for reader in ("cross", "linear"):
        b = Assistant(a.source, a.index_dir, encoder=encoder, settings=DEFAULT.with_(reader=reader), notify=lambda m: None)
        b.answer(qs[0])
        times = []
        for q in qs:
            t0 = time.perf_counter()
            b.answer(q)
            times.append(time.perf_counter() - t0)
        out.append(f"{reader} reader {np.median(times) * 1000:.1f} ms (p95 {np.percentile(times, 95) * 1000:.1f})")
    t0 = time.perf_counter()
    for q in qs:
        encoder.encode([q])
    enc = (time.perf_counter() - t0) / len(qs) * 1000
    return f"warm answer, median per question: {'; '.join(out)}; encoding the question takes {enc:.1f} ms"


def run_one(source: Path, questions_path: Path, encoder) -> str:
    a = Assistant(source, encoder=encoder, notify=lambda m: None)
    a.load()
    qs = load_questions(questions_path)
    plain = unmerged(a)
    shipped = {"cross": shipped_cross_params(), "linear": shipped_params()}
    results = {name: score(a, qs, DEFAULT, shipped, name, plain) for name in VARIANTS}
    out = [table(f"{source.name} ({len(qs)} questions, shipped settings)", {n: summary(r) for n, r in results.items()})]
    out.append(precision_recall("default abstention", [results["final"]["summary"]]))
    out.append(curve_table("abstention curve", [results["final"]["curve"]]))
    out.append(reliability_table("Reliability of the confidence", results["final"]["rows"]))
    return "\n\n".join(out)


def run_default(encoder) -> str:
    started = time.perf_counter()
    out = []
    sets = fit_data.assistants(encoder)
    reader_for(shipped_cross_params())  # makes variants.MODEL
    names = fit_data.cross_features(variants.MODEL, int(shipped_cross_params().fitted_on.get("reader_candidates", fit_data.DEFAULT_CANDIDATES)))
    items = fit_data.collect(sets, names=names, absent=True)  # the cross reader's features; the linear fit reads the first columns
    fitted = {
        held: {"cross": fitting.fitted_params(sets, items, exclude=held, names=names), "linear": fitting.fitted_params(sets, items, exclude=held)}
        for held in fit_data.ARTICLES
    }
    plains = {slug: unmerged(a) for slug, (a, _) in sets.items()}
    per_article = {name: {} for name in VARIANTS}
    for name in VARIANTS:
        for slug, (a, qs) in sets.items():
            per_article[name][slug] = score(a, qs, a.settings, fitted[slug], name, plains[slug])

    bundled = Assistant(encoder=encoder, notify=lambda m: None)
    bqs = load_questions(BUNDLED_QUESTIONS)
    bplain = unmerged(bundled)
    shipped = {"cross": shipped_cross_params(), "linear": shipped_params()}
    b_results = {name: score(bundled, bqs, DEFAULT, shipped, name, bplain) for name in VARIANTS}

    out.append(table(f"Bundled report, fixed set ({len(bqs)} questions; shipped settings)", {n: summary(r) for n, r in b_results.items()}))
    out.append(
        table(
            "SQuAD 2.0 articles, macro average, leave-one-article-out",
            {n: macro([summary(r) for r in per_article[n].values()]) for n in VARIANTS},
        )
    )
    out.append(table("SQuAD per article, final (leave-one-article-out)", {slug: summary(r) for slug, r in per_article["final"].items()}))
    out.append(precision_recall("Bundled default abstention", [b_results["final"]["summary"]]))
    out.append(precision_recall("SQuAD default abstention (macro, LOAO)", [r["summary"] for r in per_article["final"].values()]))
    out.append(curve_table("Abstention curve, SQuAD macro (LOAO)", [r["curve"] for r in per_article["final"].values()]))
    out.append(curve_table("Abstention curve, bundled set", [b_results["final"]["curve"]]))
    out.append(reliability_table("Reliability of the confidence, SQuAD pooled (LOAO)", [r for res in per_article["final"].values() for r in res["rows"]]))
    out.append(reliability_table("Reliability of the confidence, bundled set", b_results["final"]["rows"]))
    out.append(latency(bundled, bqs, encoder.enc if isinstance(encoder, fit_data.MemoEncoder) else encoder))
    out.append(run_followups(encoder, sets=sets, fitted={slug: f["cross"] for slug, f in fitted.items()}))
    out.append(f"measured in one run of benchmarks/quality.py in {time.perf_counter() - started:.0f} s")
    return "\n\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, help="a report (.txt/.md file or folder)")
    ap.add_argument("--questions", type=Path, help="its question file (../shared/benchmarks format)")
    ap.add_argument("--followups", action="store_true", help="only the follow-up figures (tests/data/followups.jsonl)")
    args = ap.parse_args(argv)
    encoder = fit_data.MemoEncoder(default_encoder())
    if args.followups:
        print(run_followups(encoder))
        return 0
    if args.source or args.questions:
        if not (args.source and args.questions):
            ap.error("--source and --questions go together")
        print(run_one(args.source, args.questions, encoder))
        return 0
    if not fit_data.SHARED.is_dir():
        print(f"No benchmark data in {fit_data.SHARED}: pass --source and --questions.", file=sys.stderr)
        return 2
    print(run_default(encoder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
