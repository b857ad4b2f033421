"""Probe how to use the reader: how many candidates, which features, before it is wired in.

    python -m benchmarks.reader_probe [--reader FILE] [--top N ...] [--limit Q]

For every SQuAD question (answerable, SQuAD-unanswerable, off-topic) and every
bundled question it collects today's candidates and features (training/fit_data.py), scores the
top N candidates by today's linear scorer with the reader, and prints, leave one
article out: contains for today's choice, the reader's choice among the N, and a
refitted linear scorer with the reader's logit as a feature.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reportqa.evaluate import load_questions
from reportqa.models.crossencoder import READER_PATH, CrossEncoderModel
from reportqa.reader import LinearReader
from reportqa.reader.features import ANSWER_FEATURES
from training import fit_data, fitting

LINEAR = LinearReader().weights  # the shipped linear scorer, which also picks the spans to read

BUNDLED_Q = fit_data.ROOT / "tests" / "data" / "questions.jsonl"


def reader_logits(model, a, it, top: int) -> np.ndarray:
    """Logits for the top candidates by today's scorer; -inf for the rest."""
    out = np.full(len(it.spans), -np.inf)
    if not it.spans:
        return out
    base = it.features @ LINEAR
    order = np.argsort(-base, kind="stable")[:top]
    out[order] = model.logits([it.question] * len(order), [it.query.table.span_text(it.spans[i]) for i in order])
    return out


def with_reader(features: np.ndarray, logits: np.ndarray) -> np.ndarray:
    finite = np.isfinite(logits)
    low = logits[finite].min() - 1.0 if finite.any() else 0.0
    r = np.where(finite, logits, low)
    best = (r >= r.max() - 1e-9).astype(float) if len(r) else r
    return np.hstack([features, r[:, None], best[:, None]])


def fit_softmax(data, n_feat: int) -> np.ndarray:
    return fitting.fit_softmax(data, n_feat, ANSWER_FEATURES.index("length"), iters=400)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reader", type=Path, default=READER_PATH)
    ap.add_argument("--top", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--limit", type=int, default=0, help="questions per article (0: all)")
    args = ap.parse_args(argv)
    model = CrossEncoderModel(args.reader)
    sets = fit_data.assistants()
    if args.limit:
        sets = {k: (a, qs[: args.limit]) for k, (a, qs) in sets.items()}
    items = fit_data.collect(sets, off_topic=0)
    from reportqa import Assistant

    bundled = Assistant(encoder=next(iter(sets.values()))[0].encoder)
    bundled.load()
    bq = load_questions(BUNDLED_Q)
    b_items = [fit_data.item(bundled, "bundled", q, "answerable" if q.get("answerable", True) is not False else q.get("style", "unanswerable")) for q in bq]
    for top in args.top:
        logits = [reader_logits(model, sets[it.article][0], it, top) for it in items]
        b_logits = [reader_logits(model, bundled, it, top) for it in b_items]
        print(f"\n## top {top}")
        rows = []
        for held in fit_data.ARTICLES:
            train = [(with_reader(it.features, lg), it.labels.astype(float)) for it, lg in zip(items, logits)
                     if it.article != held and it.kind == "answerable" and it.labels.any()]
            w_base = fitting.fit_answer([it for it in items if it.article != held])
            w = fit_softmax(train, len(ANSWER_FEATURES) + 2)
            test = [(it, lg) for it, lg in zip(items, logits) if it.article == held and it.kind == "answerable"]
            base = np.mean([it.labels[int(np.argmax(it.features @ w_base))] if it.spans else 0 for it, _ in test])
            alone = np.mean([it.labels[int(np.argmax(lg))] if it.spans else 0 for it, lg in test])
            comb = np.mean([it.labels[int(np.argmax(with_reader(it.features, lg) @ w))] if it.spans else 0 for it, lg in test])
            rows.append((held, base, alone, comb))
            print(f"{held:34s} contains: linear {base:.3f}  reader alone {alone:.3f}  linear+reader {comb:.3f}")
        print("macro".ljust(34), " ".join(f"{np.mean([r[i] for r in rows]):.3f}" for i in (1, 2, 3)))
        # bundled: fitted on all three SQuAD articles
        train = [(with_reader(it.features, lg), it.labels.astype(float)) for it, lg in zip(items, logits) if it.kind == "answerable" and it.labels.any()]
        w = fit_softmax(train, len(ANSWER_FEATURES) + 2)
        ans = [(it, lg) for it, lg in zip(b_items, b_logits) if it.kind == "answerable"]
        base = np.mean([it.labels[int(np.argmax(it.features @ LINEAR))] for it, _ in ans])
        alone = np.mean([it.labels[int(np.argmax(lg))] for it, lg in ans])
        comb = np.mean([it.labels[int(np.argmax(with_reader(it.features, lg) @ w))] for it, lg in ans])
        print(f"{'bundled':34s} contains: linear {base:.3f}  reader alone {alone:.3f}  linear+reader {comb:.3f}")
        for kind in ("answerable", "unanswerable", "on-topic", "off-topic"):
            tops = [float(np.max(lg)) for it, lg in zip(items + b_items, logits + b_logits) if it.kind == kind and len(lg)]
            if tops:
                print(f"  max logit, {kind:12s} n={len(tops):4d} median {np.median(tops):+.2f}  p10 {np.percentile(tops, 10):+.2f}  p90 {np.percentile(tops, 90):+.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
