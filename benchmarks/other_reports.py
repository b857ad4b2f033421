"""Three reports unlike the bundled one, with questions typed as a reader would: what reportqa does there.

    python -m benchmarks.other_reports                    # the shipped reader
    python -m benchmarks.other_reports --show             # also each question's outcome
    python -m benchmarks.other_reports --reader gated --fits DIR --span-model P.onnx   # a named reader's fits
    python -m benchmarks.other_reports --questions tests/data/section_questions.jsonl   # another question set
    python -m benchmarks.other_reports --questions Q.jsonl --reports DIR   # questions on reports of your own

The reports in tests/data: a news article on a sleep study (plain text with a headline, a byline
and a date line), a society's minutes (a header of "key: value" lines, numbered sections,
ACTION lines) and a software incident review (Markdown: a metadata line, a timeline of bullets,
numbered actions). Their 88 questions (tests/data/other_reports.jsonl, 66 the report answers and
22 on its topic that it does not) were written before any was run, as probes of the chat; the
gold answers were written from the text afterwards. Nothing is fitted on them: they show how
the fits made on SQuAD and the bundled report carry to reports of other shapes.

`--questions` scores another set of questions on the reports in tests/data:
section_questions.jsonl (24 questions: 17 answered by the report, 7 on its topic that it does not) asks about what a Markdown
report's lists say under their headings ("what went wrong", "what actions has the utility
committed to"), written before the lists were read with their headings (docs/quality.md,
"A list item is read after its section's heading").
blind_questions.jsonl (96 questions, 28 of them silent) asks about four reports (an inspection,
a council news story, a charity's annual review, a research summary) that a writer who never saw
reportqa wrote with their questions (docs/quality.md, "Four reports written blind").
blind2_questions.jsonl (96 questions, 28 of them silent) asks about four more reports written the
same way (a product recall notice, a match report, a planning decision notice, a product FAQ),
measured first on the code as it stood (docs/quality.md, "Four more reports written blind").
keyword_questions.jsonl (64 keyword queries, 32 of them silent, on those eight reports) was written
blind the same way (docs/quality.md, "Keyword queries written blind").

Per report and pooled: hit@1 (the first citation holds the gold evidence), the quote holds a
gold answer and was shown (contains, abst.), answered (of the answerable), **answered wrong**
(shown with no gold answer in it, of the answerable), on-topic declined, and the ECE.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "tests" / "data"
QUESTIONS = REPORTS / "other_reports.jsonl"


def figures(rows: list[dict]) -> dict:
    from reportqa.evaluate import summarize

    s = summarize(rows, float("nan"))
    ans = [r for r in rows if r["answerable"]]
    s["answered_wrong"] = sum(r["answered"] and not r["contains"] for r in ans) / (len(ans) or 1)
    return s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show", action="store_true", help="also print each question's outcome")
    ap.add_argument("--reader", default=None, help="a named reader (linear, cross, span, span+cross, gated)")
    ap.add_argument("--fits", type=Path, metavar="DIR", help="its fits (benchmarks/readers.py --save-fits DIR)")
    ap.add_argument("--span-model", type=Path, help="a passage reader .onnx, for span, span+cross and gated")
    ap.add_argument("--questions", type=Path, default=QUESTIONS, metavar="FILE",
                    help=f"the questions, each with its report's name in \"source\" (default: {QUESTIONS.relative_to(ROOT)})")
    ap.add_argument("--reports", type=Path, default=REPORTS, metavar="DIR",
                    help=f"the folder the questions' reports are in (default: {REPORTS.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from reportqa import Assistant
    from reportqa.evaluate import evaluate, load_questions

    reader = None
    if args.reader:
        from benchmarks.reader_speed import make

        span_model = None
        if args.span_model:
            from reportqa.models.spanreader import SpanReaderModel

            span_model = SpanReaderModel(args.span_model)
        reader = make(args.reader, args.fits, span_model)
    by_source: dict[str, list[dict]] = defaultdict(list)
    for q in load_questions(args.questions):
        by_source[q["source"]].append(q)
    rows_of: dict[str, list[dict]] = {}
    for source, questions in by_source.items():
        a = Assistant(source=args.reports / source, notify=lambda m: None)
        a.load()
        if reader is not None:
            a = a.with_settings(a.settings, reader=reader)
        rows_of[source] = evaluate(a, questions)["rows"]
        if args.show:
            for r in rows_of[source]:
                verdict = ("right" if r["contains"] else "WRONG") if r["answered"] and r["answerable"] else (
                    "QUOTED" if r["answered"] else "declined")
                print(f"{source:22s} {verdict:8s} {r['p']:.2f} {r['q']}")
    pooled = [r for rows in rows_of.values() for r in rows]
    print(f"\nreader: {args.reader or 'shipped'}\n")
    print("| report | answerable / silent | hit@1 | contains (abst.) | answered | answered wrong | on-topic declined | ECE |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in [*rows_of.items(), (f"all {len(rows_of)}" if len(rows_of) != 3 else "all three", pooled)]:
        s = figures(rows)
        print(f"| {name} | {s['answerable']} / {s['unanswerable']} | {s['hit@1']:.3f} | {s['contains']:.3f} | "
              f"{s['answered_rate']:.3f} | {s['answered_wrong']:.3f} | {s['abstain_on_topic']:.3f} | {s['ece']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
