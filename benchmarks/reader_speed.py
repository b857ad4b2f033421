"""Warm ``answer()`` time of each named reader on the bundled report: p50 and p95, medians over runs.

    python -m benchmarks.reader_speed                                  # the shipped readers that can be made
    python -m benchmarks.reader_speed --readers cross gated --span-model P.onnx --fits DIR
    python -m benchmarks.reader_speed --readers cross --cross-model C.onnx --fits DIR   # another cross-encoder

``--fits DIR`` reads each reader's fit from DIR/NAME.json (``benchmarks/readers.py --save-fits DIR``;
"gated" reads DIR/cross.json and DIR/span+cross.json), for a passage reader that is not shipped.
The readers take turns within each run over the fixed question set, so load from other processes
hits them alike; the 1-minute load average is printed before and after. Each reader answers one
question first, untimed, so its models are loaded and warm. A question is timed once per run: the
passage readings' small memo (16 questions) never holds it again by the time it comes round.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READERS = ("linear", "cross", "span", "span+cross", "gated")


def make(name: str, fits: Path | None, span_model, cross_model=None):
    from reportqa.reader import CrossReader, GatedReader, LinearParams, LinearReader, SpanCrossReader, SpanReader

    def params(part):
        return LinearParams.load(fits / f"{part}.json") if fits else None

    if name == "linear":
        return LinearReader(params("linear"))
    if name == "cross":
        return CrossReader(params("cross"), model=cross_model)
    if name == "span":
        return SpanReader(params("span"), model=span_model)
    if name == "span+cross":
        return SpanCrossReader(params("span+cross"), model=span_model, cross_model=cross_model)
    return GatedReader(params("cross"), params("span+cross"), model=span_model, cross_model=cross_model)


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readers", nargs="+", choices=READERS, default=["linear", "cross"])
    ap.add_argument("--span-model", type=Path, help="a passage reader .onnx (default: the shipped one)")
    ap.add_argument("--cross-model", type=Path, help="a cross-encoder .onnx (default: the shipped one)")
    ap.add_argument("--fits", type=Path, metavar="DIR", help="the readers' fits (default: the shipped ones)")
    ap.add_argument("--runs", type=int, default=5, help="passes over the question set (at least 3)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from reportqa import Assistant
    from reportqa.evaluate import load_questions

    span_model = None
    if args.span_model:
        from reportqa.models.spanreader import SpanReaderModel

        span_model = SpanReaderModel(args.span_model)
    cross_model = None
    if args.cross_model:
        from reportqa.models.crossencoder import CrossEncoderModel

        cross_model = CrossEncoderModel(args.cross_model)
    questions = [q["q"] for q in load_questions(ROOT / "tests" / "data" / "questions.jsonl")]
    base = Assistant(notify=lambda m: None)
    base.load()
    assistants = {}
    for name in args.readers:
        assistants[name] = base.with_settings(base.settings, reader=make(name, args.fits, span_model, cross_model))
        assistants[name].answer("What did the investigation find?")
    load_before = os.getloadavg()[0]
    p50s: dict[str, list[float]] = {n: [] for n in assistants}
    p95s: dict[str, list[float]] = {n: [] for n in assistants}
    for run in range(max(3, args.runs)):
        times: dict[str, list[float]] = {n: [] for n in assistants}
        for q in questions:
            for name, a in assistants.items():
                t = time.perf_counter()
                a.answer(q)
                times[name].append((time.perf_counter() - t) * 1000)
        for name, xs in times.items():
            p50s[name].append(percentile(xs, 50))
            p95s[name].append(percentile(xs, 95))
        print(f"# run {run + 1}: " + ", ".join(f"{n} p50 {p50s[n][-1]:.0f} ms" for n in assistants), file=sys.stderr, flush=True)
    print(f"warm answer() on the bundled report, {len(questions)} questions, median over {len(p50s[args.readers[0]])} runs "
          f"(min–max); 1-minute load {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print("| reader | p50 ms | p95 ms |\n|---|---|---|")
    for name in assistants:
        print(f"| {name} | {statistics.median(p50s[name]):.0f} ({min(p50s[name]):.0f}–{max(p50s[name]):.0f}) "
              f"| {statistics.median(p95s[name]):.0f} ({min(p95s[name]):.0f}–{max(p95s[name]):.0f}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
