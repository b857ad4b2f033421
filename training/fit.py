"""Fit the answer scorer and the abstention model across the SQuAD articles.

    python -m training.fit                  # fit on all three articles, write src/reportqa/reader/linear.json
    python -m training.fit --reader cross   # the default reader's: src/reportqa/reader/cross.json
    python -m training.fit --out P.json     # write the fit elsewhere
    python -m training.fit --loao           # also print the leave-one-article-out fits (JSON, not written)

Run from the top of the checkout, with reportqa installed (``pip install -e .``). It writes the
shipped numbers, so it lives in training/; the benchmarks that refit a reader leaving one
article out use ``fit_data`` and ``fitting`` in memory and write nothing. The linear fit took
192 s and the cross fit 2,479 s on 2 busy cores (nice 10, a model training beside it).

Both are fitted in numpy (``fitting.py``) on questions from ``../shared/benchmarks/squad2-articles``
(``fit_data.py``):

* the answer scorer is a linear score over ``reader.features.ANSWER_FEATURES``, fitted as a
  softmax over each question's candidate spans (the targets are the spans that
  contain a gold answer), with a length penalty added afterwards so the mean answer
  stays near 200 characters (the smallest penalty, in steps of 0.1, that keeps the SQuAD
  leave-one-article-out mean at or under 200);
* the abstention model is a logistic regression over ``reader.features.ABSTENTION_FEATURES``.
  Its negatives are SQuAD's unanswerable questions (on topic, written to look
  answerable) and off-topic questions: the *other* articles' questions asked of
  this article. The bundled report's question set is never used for fitting.

The result is the "linear" reader's parameter file (``reader.LinearParams``): every
number keyed by feature name, with a ``fitted_on`` fingerprint of the data, the
hand-set settings, the encoder and the code it was fitted with.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from reportqa.reader import cross
from reportqa.reader.cross import DEFAULT_CANDIDATES
from reportqa.reader.linear import PARAMS_PATH

from training import fitting
from training.fit_data import ARTICLES, OFF_TOPIC_PER_ARTICLE, ROOT, SHARED, assistants, collect, reader_features
from training.fitting import fitted_params


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(sets: dict, exclude: str | None = None) -> dict:
    """What a fit was made from: the article and question files, the hand-set settings, the encoder, the code."""
    a = next(iter(sets.values()))[0]
    settings = a.settings.flat()  # by field name, as before the settings were grouped: the same fingerprint
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "training"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", ""
    return {
        "data": {
            f"squad2-articles/{name}": _sha256(SHARED / name)
            for slug in ARTICLES
            if slug != exclude
            for name in (f"{slug}.txt", f"{slug}.questions.jsonl")
        },
        "off_topic_per_article": OFF_TOPIC_PER_ARTICLE,
        "length_penalty": fitting.LENGTH_PENALTY,
        "answered_at_least": fitting.ANSWERED_AT_LEAST,
        "settings_sha256": hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest(),
        "encoder": getattr(a.encoder, "fingerprint", type(a.encoder).__name__),
        "git_commit": commit + ("+uncommitted changes" if dirty else ""),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reader", choices=("linear", "cross", "span", "span+cross"), default="linear",
                    help="which reader's parameters to fit")
    ap.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES, help="spans the cross reader reads per question")
    ap.add_argument("--passages", type=int, default=None, help="passages the span reader reads per question (default 3)")
    ap.add_argument("--span-model", type=Path, help="the passage reader to fit with (default: the shipped one)")
    ap.add_argument("--out", type=Path, help=f"where to write the fit (default {PARAMS_PATH.relative_to(ROOT)}, "
                    f"or the reader's own file beside it: cross.json, span.json, span_cross.json)")
    ap.add_argument("--loao", action="store_true", help="also fit leaving each article out and print those fits")
    args = ap.parse_args(argv)
    if not SHARED.is_dir():
        print(f"No benchmark data in {SHARED}.", file=sys.stderr)
        return 2
    from reportqa.reader import span

    names = reader_features(args.reader, args.candidates, args.passages, args.span_model)
    args.out = args.out or {"linear": PARAMS_PATH, "cross": cross.PARAMS_PATH, "span": span.PARAMS_PATH,
                            "span+cross": span.BOTH_PARAMS_PATH}[args.reader]
    sets = assistants()
    items = collect(sets, names=names, absent=names.extra is not None)
    fitted_on = fingerprint(sets)
    if args.reader in ("cross", "span+cross"):
        cross_part = names.extra if args.reader == "cross" else names.extra.cross
        fitted_on |= {"reader_candidates": args.candidates, "reader_model": cross_part.model.fingerprint,
                      "preselect": "reader/linear.json"}
    if names.extra is not None:  # fitting.steady_threshold's resampling, so the threshold can be checked
        fitted_on |= {"threshold_resamples": fitting.THRESHOLD_RESAMPLES, "threshold_seed": fitting.THRESHOLD_SEED}
    if args.reader in ("span", "span+cross"):
        span_part = names.extra if args.reader == "span" else names.extra.span
        fitted_on |= {"span_passages": span_part.passages, "span_model": span_part.model.fingerprint}
    params = fitted_params(sets, items, fitted_on=fitted_on, names=names)
    params.save(args.out)
    print(f"fitted on all three articles: wrote {args.out}")
    if args.loao:
        for held in ARTICLES:
            print(f"# without {held}:")
            print(json.dumps(fitted_params(sets, items, exclude=held, fitted_on=fingerprint(sets, held), names=names).to_json(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
