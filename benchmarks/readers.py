"""The named readers side by side: linear, cross, span, span+cross and gated, in one run.

    python -m benchmarks.readers                          # every reader (span ones need a shipped passage reader)
    python -m benchmarks.readers --readers cross span     # some of them
    python -m benchmarks.readers --span-model PATH.onnx   # a passage reader not (yet) shipped
    python -m benchmarks.readers --passages 1 --candidates 4   # span readers read 1 passage, the cross-encoder 4 candidates
    python -m benchmarks.readers --cross-model PATH.onnx  # another cross-encoder (cross, span+cross, gated)
    python -m benchmarks.readers --rows rows.json         # also each bundled question's outcome, per reader
    python -m benchmarks.readers --save-fits DIR          # also each reader's fit on all three articles (DIR/NAME.json)

Each reader is fitted (``fitting.fitted_params``) on the SQuAD 2.0 dev articles in
``../shared/benchmarks`` leaving the scored article out, and scored on it (macro over the
three); the bundled set is scored with the fit on all three articles, as shipped. "gated" reads
the cross and span+cross fits of the same run (fitted once, if those readers are measured too). The
columns are ``quality.py``'s, plus the bundled set's confidence bands (how often a quote
shown as high, medium or low held the answer), the ECE, and how many answerable bundled
questions are declined although their best candidate is right ("declined, right first").
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import tables
from benchmarks.variants import BUNDLED_QUESTIONS
from reportqa import Assistant
from reportqa.evaluate import curve, evaluate, load_questions, summarize, token_f1
from reportqa.reader import CrossReader, GatedReader, LinearReader, SpanCrossReader, SpanReader
from reportqa.render import CONFIDENCE_BANDS
from training import fit_data, fitting

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("REPORTQA_CACHE_DIR", "/tmp/rqa-cache")

READERS = ("linear", "cross", "span", "span+cross", "gated")
PARTS = {"gated": ("cross", "span+cross")}  # a reader made of other readers' fits
CASUAL_QUESTIONS = ROOT / "tests" / "data" / "casual.jsonl"  # typed as a new user would; written before measuring
EXTRA_COLUMNS = [("span F1", "span_f1"), ("declined, right first", "declined_right_first")]


def make_reader(name: str, params, names):
    if name == "gated":
        (quote, gate), (_, both) = params, names
        return GatedReader(quote, gate, model=both.extra.span.model, cross_model=both.extra.cross.model,
                           passages=both.extra.span.passages, candidates=both.extra.cross.candidates)
    extra = names.extra
    if name == "linear":
        return LinearReader(params)
    if name == "cross":
        return CrossReader(params, model=extra.model, candidates=extra.candidates)
    if name == "span":
        return SpanReader(params, model=extra.model, passages=extra.passages)
    return SpanCrossReader(params, model=extra.span.model, cross_model=extra.cross.model, passages=extra.span.passages,
                           candidates=extra.cross.candidates)


def settings_of(names) -> dict:
    """What a fit's reader must be made with to read as it was fitted (LinearParams.fitted_on)."""
    extra, out = names.extra, {}
    for part in (extra, getattr(extra, "span", None), getattr(extra, "cross", None)):
        if hasattr(part, "passages"):
            out["span_passages"] = part.passages
        if hasattr(part, "candidates"):
            out["reader_candidates"] = part.candidates
    return out


def span_f1(a: Assistant, questions: list[dict]) -> float | None:
    """F1 of the answer span against the gold answers (x 100), over the answerable questions whose
    answer lies in a passage the reader read; None for a reader without spans."""
    reader = a.reader
    if not hasattr(reader, "span_of"):
        return None
    scores = []
    for q in questions:
        if q.get("answerable", True) is False or not q.get("spans"):
            continue
        query = a.query(q["q"])
        chunks = [query.index.chunks[c] for c in query.top_passages[: reader.passages]]
        if not any(c.start <= s and e <= c.end for c in chunks for s, e in q["spans"]):
            continue
        found = a.answer(q["q"]).span_found
        scores.append(max(token_f1(found.text if found else "", g) for g in q["answers"]))
    return 100 * float(np.mean(scores)) if scores else None


def figures(result: dict) -> dict:
    s = tables.summary(result)
    rows = [r for r in result["rows"] if r["answerable"]]
    s["declined_right_first"] = sum(r["contains"] and not r["answered"] for r in rows) / max(1, len(rows))
    return s


def bands(rows: list[dict]) -> str:
    """The answered rows by band of confidence: how many, and the share whose quote holds a gold answer."""
    out, top = [], 1.01
    for floor, label in CONFIDENCE_BANDS:
        inside = [r for r in rows if r["answered"] and floor <= r["p"] < top]
        top = floor
        right = f"{np.mean([r['answerable'] and r['contains'] for r in inside]):.2f}" if inside else "–"
        out.append(f"{label} {len(inside)} ({right} right)")
    return ", ".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readers", nargs="+", choices=READERS, default=list(READERS))
    ap.add_argument("--span-model", type=Path, help="a passage reader .onnx (default: the shipped one)")
    ap.add_argument("--passages", type=int, default=None, help="passages the span readers read (default 3)")
    ap.add_argument("--cross-model", type=Path, help="a cross-encoder .onnx (default: the shipped one)")
    ap.add_argument("--candidates", type=int, default=fit_data.DEFAULT_CANDIDATES,
                    help=f"candidates the cross-encoder reads (default {fit_data.DEFAULT_CANDIDATES})")
    ap.add_argument("--rows", type=Path, help="write each bundled question's outcome (both sets), per reader, to this JSON file")
    ap.add_argument("--save-fits", type=Path, metavar="DIR",
                    help="write each reader's fit on all three articles to DIR/NAME.json (for benchmarks/reader_speed.py; "
                         "the shipped fits come from training/fit.py)")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    from reportqa.embed import default_encoder

    encoder = fit_data.MemoEncoder(default_encoder())
    sets = fit_data.assistants(encoder)
    bundled = Assistant(encoder=encoder, notify=lambda m: None)
    bundled.load()
    bqs = load_questions(BUNDLED_QUESTIONS)
    cqs = load_questions(CASUAL_QUESTIONS)
    span_model = None
    if args.span_model:
        from reportqa.models.spanreader import SpanReaderModel

        span_model = SpanReaderModel(args.span_model)
    squad_rows, bundled_rows, casual_rows, both_rows, band_lines, outcomes = {}, {}, {}, {}, [], {}
    collected = {}  # reader -> (its feature names, its fitting items), each collected once

    @functools.cache
    def cross_model():
        """One cross-encoder for the run, so cross and span+cross share its remembered logits."""
        from reportqa.models.crossencoder import CrossEncoderModel

        return fit_data.MemoModel(CrossEncoderModel(args.cross_model) if args.cross_model else CrossEncoderModel())

    def collect(name: str):
        if name not in collected:
            if name.startswith("span"):
                names = fit_data.span_features(span_model, args.passages,
                                               cross_model() if name == "span+cross" else None, args.candidates)
            elif name == "cross":
                names = fit_data.cross_features(cross_model(), args.candidates)
            else:  # linear: no model of its own
                names = fit_data.reader_features(name)
            collected[name] = names, fit_data.collect(sets, names=names, absent=name != "linear")
        return collected[name]

    def fit(name: str, exclude: str | None = None):
        """(params, names) of a reader fitted without the article exclude; tuples for a reader of PARTS."""
        got = []
        for part in PARTS.get(name, (name,)):
            names, items = collect(part)
            params = fitting.fitted_params(sets, items, exclude=exclude, names=names, fitted_on=settings_of(names))
            if exclude is None and args.save_fits:
                args.save_fits.mkdir(parents=True, exist_ok=True)
                params.save(args.save_fits / f"{part}.json")
            got.append((params, names))
        return got[0] if len(got) == 1 else tuple(zip(*got))

    for name in args.readers:
        t0 = time.perf_counter()
        per = []
        for slug, (a, qs) in sets.items():
            target = a.with_settings(a.settings, reader=make_reader(name, *fit(name, exclude=slug)))
            s = figures(evaluate(target, qs))
            s["span_f1"] = span_f1(target, qs)
            per.append(s)
        squad_rows[name] = {key: (float(np.mean(v)) if (v := [p[key] for p in per if p.get(key) is not None]) else None)
                            for _, key in tables.COLUMNS + EXTRA_COLUMNS}
        reader = make_reader(name, *fit(name))
        target = bundled.with_settings(bundled.settings, reader=reader)
        result = evaluate(target, bqs + cqs)
        outcomes[name] = result["rows"]
        n = len(bqs)
        for rows, qs, part in ((bundled_rows, bqs, slice(0, n)), (casual_rows, cqs, slice(n, None)), (both_rows, None, slice(None))):
            sub = result["rows"][part]
            rows[name] = figures({"rows": sub, "summary": summarize(sub, reader.threshold), "curve": curve(sub)})
        band_lines.append(f"{name}: threshold {reader.threshold:.2f}; answered quotes of both sets by band shown: "
                          f"{bands(result['rows'])}")
        print(f"# {name} measured in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    columns = tables.COLUMNS + EXTRA_COLUMNS
    print(tables.table("SQuAD 2.0 articles, macro, leave-one-article-out", squad_rows, columns))
    print()
    print(tables.table(f"Bundled report, fixed set ({len(bqs)} questions; fitted on the three SQuAD articles)", bundled_rows, columns))
    print()
    print(tables.table(f"Bundled report, casual set ({len(cqs)} questions)", casual_rows, columns))
    print()
    print(tables.table(f"Bundled report, both sets ({len(bqs) + len(cqs)} questions)", both_rows, columns))
    print()
    print("\n".join(band_lines))
    if args.rows:
        args.rows.write_text(json.dumps(outcomes, indent=1, default=str), encoding="utf-8")
        print(f"\neach bundled question's outcome, per reader: {args.rows}")
    print(f"\nmeasured in one run of benchmarks/readers.py in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
