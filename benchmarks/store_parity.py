"""The Milvus store against the files store: the same questions, the same figures? (issue 20)

    python -m benchmarks.store_parity [--store-passages 50] [--articles bundled,normans,...] [--together]

For the bundled report and each SQuAD article of ../shared/benchmarks: builds the
index folder and a Milvus Lite collection (in a temp folder), runs the question
file through both (reportqa.evaluate), and prints hit@1, contains and the
abstention rate side by side, the seconds per question, and whether every answer
from the store quotes its file exactly (file[start:end] == quote).

With --together, the chosen reports are copied into one folder and indexed once, and
each question set is asked of that whole corpus: more passages than the store returns
(--store-passages), so the local stage sees only the engine's best ones, where the
files store sees them all.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT.parent / "shared" / "benchmarks" / "squad2-articles"
KEYS = ("hit@1", "contains", "abstain_rate")


def sets() -> dict[str, tuple[Path, Path]]:
    out = {"bundled": (ROOT / "source_text", ROOT / "tests" / "data" / "questions.jsonl")}
    for q in sorted(ARTICLES.glob("*.questions.jsonl")):
        name = q.name.removesuffix(".questions.jsonl")
        out[name] = (ARTICLES / f"{name}.txt", q)
    return out


def exact_quotes(assistant, questions: list[dict], source: Path) -> tuple[int, int]:
    """(answers checked, answers whose quote is file[start:end]) with abstention off."""
    probe = assistant.with_settings(assistant.settings.with_(abstain_threshold=0.0))
    checked = exact = 0
    for q in questions:
        a = probe.answer(q["q"])
        if a.answered and a.quote is not None:
            path = source / a.quote.source if source.is_dir() else source
            checked += 1
            exact += path.read_text(encoding="utf-8")[a.quote.start : a.quote.end] == a.text
    return checked, exact


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store-passages", type=int, default=50)
    ap.add_argument("--articles", default="", help="comma-separated names (default: all)")
    ap.add_argument("--together", action="store_true", help="one corpus of all the chosen reports, each set asked of it")
    ap.add_argument("--ask", default="", help="with --together: the sets whose questions are asked (default: all)")
    args = ap.parse_args()
    from reportqa.assistant import Assistant
    from reportqa.evaluate import evaluate, load_questions
    from reportqa.settings import DEFAULT

    chosen = sets()
    if args.articles:
        chosen = {k: v for k, v in chosen.items() if k in args.articles.split(",")}
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = None
        if args.together:
            corpus = Path(tmp) / "corpus"
            corpus.mkdir()
            for name, (source, _) in chosen.items():
                for path in sorted(source.glob("*.txt")) if source.is_dir() else [source]:
                    shutil.copyfile(path, corpus / f"{name}--{path.name}")
            chosen = {name: (corpus, qpath) for name, (_, qpath) in chosen.items()
                      if not args.ask or name in args.ask.split(",")}
        for name, (source, qpath) in chosen.items():
            questions = load_questions(qpath)
            files = Assistant(source, Path(tmp) / f"{name}-index", notify=lambda m: None,
                              encoder=files.encoder if files else None)
            store = Assistant(source, notify=lambda m: None, encoder=files.encoder,
                              settings=DEFAULT.with_(store=f"milvus:{tmp}/{name}.db", store_passages=args.store_passages))
            started = time.perf_counter()
            built = store.build()
            build_s = time.perf_counter() - started
            row = {"passages": built.chunks, "questions": len(questions), "store_build_s": round(build_s, 2)}
            for label, a in (("files", files), ("milvus", store)):
                a.load()
                times = []
                for q in questions[:20]:
                    t = time.perf_counter()
                    a.answer(q["q"])
                    times.append(time.perf_counter() - t)
                r = evaluate(a, questions)["summary"]
                row[label] = {k: round(r[k], 4) for k in KEYS} | {"p50_ms": round(statistics.median(times) * 1000, 1)}
            row["diff"] = {k: round(row["milvus"][k] - row["files"][k], 4) for k in KEYS}
            row["exact_quotes"] = exact_quotes(store, questions, source)
            report[name] = row
            print(name, json.dumps(row), flush=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
