"""Refitted ablations: each variant's figures with everything fitted re-fitted for it.

    python -m benchmarks.sweep                                   # the round-3 table of docs/quality.md
    python -m benchmarks.sweep '[{"w_late": 1}, {"answer_passages": 4}]'
    python -m benchmarks.sweep '[{"drop": ["late", "best_late"]}]' --length-penalty 0.6

A variant is a JSON object of ``Settings`` fields to change, plus an optional
``"drop"``: answer features (``reader.features.ANSWER_FEATURES`` names) left out of the fit.
For each variant the answer scorer, both abstention models and the threshold are
fitted leave-one-article-out on the SQuAD articles (as ``python -m training.fit --loao``), and each
held-out article is scored with the fit on the other two; the bundled set is scored
with the fit on all three, and is never used to choose anything. Unlike the rows of
``quality.py``, which zero a part of the shipped settings, these rows are what the
variant would give had it been shipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from reportqa import Assistant
from reportqa.embed import default_encoder
from reportqa.evaluate import evaluate, load_questions
from reportqa.reader import LinearReader
from reportqa.reader.features import ANSWER_FEATURES, BEST_OF
from reportqa.settings import DEFAULT
from training import fit_data, fitting

BUNDLED_QUESTIONS = fit_data.ROOT / "tests" / "data" / "questions.jsonl"
KEYS = ("hit@1", "hit@3", "mrr@10", "contains_all", "contains", "answer_chars")
ROUND_3 = [
    {},
    {"drop": [f"best_{name}" for name in BEST_OF]},
    {"drop": ["late", "best_late"]},
    {"w_late": 0.0},
    {"w_late": 0.0, "drop": ["late", "best_late"]},
]


def common_threshold_balanced(curves: list[list[dict]]) -> float:
    """Best balanced accuracy of the macro curve at one threshold for every article."""
    best = 0.0
    for i in range(len(curves[0])):
        abstained = [c[i]["abstain_rate"] for c in curves if c[i]["abstain_rate"] is not None]
        if abstained:
            best = max(best, (np.mean([c[i]["answered_rate"] for c in curves]) + np.mean(abstained)) / 2)
    return float(best)


def run(variant: dict, encoder) -> dict:
    change = dict(variant)
    drop = change.pop("drop", [])
    unknown = [n for n in drop if n not in ANSWER_FEATURES]
    if unknown:
        raise SystemExit(f"unknown answer features {unknown}; they are {', '.join(ANSWER_FEATURES)}")
    sets = fit_data.assistants(encoder, settings=DEFAULT.with_(**change))
    items = fit_data.collect(sets)
    for it in items:
        for name in drop:
            it.features[:, ANSWER_FEATURES.index(name)] = 0.0
    summaries, curves = [], []
    for held in fit_data.ARTICLES:
        a, qs = sets[held]
        result = evaluate(a.with_settings(a.settings, reader=LinearReader(fitting.fitted_params(sets, items, exclude=held))), qs)
        summaries.append(result["summary"])
        curves.append(result["curve"])
    squad = {k: float(np.mean([s[k] for s in summaries])) for k in KEYS}
    squad["balanced"] = common_threshold_balanced(curves)
    settings = next(iter(sets.values()))[0].settings  # the variant's hand-set settings
    bundled = Assistant(encoder=encoder, settings=settings, reader=LinearReader(fitting.fitted_params(sets, items)), notify=lambda m: None)
    return {"squad": squad, "bundled": evaluate(bundled, load_questions(BUNDLED_QUESTIONS))["summary"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="?", help="a JSON list of variants (default: the round-3 table)")
    ap.add_argument("--length-penalty", type=float, default=fitting.LENGTH_PENALTY,
                    help=f"taken off the fitted weight of answer length (default {fitting.LENGTH_PENALTY})")
    args = ap.parse_args(argv)
    if not fit_data.SHARED.is_dir():
        print(f"No benchmark data in {fit_data.SHARED}.", file=sys.stderr)
        return 2
    variants = json.loads(args.variants) if args.variants else ROUND_3
    fitting.LENGTH_PENALTY = args.length_penalty
    encoder = fit_data.MemoEncoder(default_encoder())
    print(f"length penalty {fitting.LENGTH_PENALTY}; SQuAD: macro over the held-out articles; bundled: fit on all three\n")
    print("| variant | SQuAD hit@1 | hit@3 | contains | contains (abst.) | chars | bal. acc. | bundled hit@1 | hit@3 | contains | contains (abst.) | chars |")
    print("|---" * 12 + "|")
    for variant in variants:
        started = time.perf_counter()
        r = run(variant, encoder)
        q, b = r["squad"], r["bundled"]
        print(
            f"| {json.dumps(variant) if variant else 'shipped'} | {q['hit@1']:.3f} | {q['hit@3']:.3f} | {q['contains_all']:.3f} | "
            f"{q['contains']:.3f} | {q['answer_chars']:.0f} | {q['balanced']:.3f} | {b['hit@1']:.3f} | {b['hit@3']:.3f} | "
            f"{b['contains_all']:.3f} | {b['contains']:.3f} | {b['answer_chars']:.0f} |",
            flush=True,
        )
        print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
