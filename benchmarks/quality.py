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
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from reportqa import Assistant, chunking
from reportqa.embed import default_encoder
from reportqa.evaluate import evaluate, load_questions, reliability
from reportqa.reader import CrossReader, LinearParams, LinearReader
from reportqa.render import CONFIDENCE_BANDS
from reportqa.reader.cross import shipped_cross_params
from reportqa.reader.features import BEST_OF
from reportqa.reader.linear import shipped_params
from reportqa.settings import DEFAULT, DEFAULT_K, Settings
from training import fit_data, fitting

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("REPORTQA_CACHE_DIR", "/tmp/rqa-cache")

BUNDLED_QUESTIONS = ROOT / "tests" / "data" / "questions.jsonl"
FOLLOWUP_QUESTIONS = ROOT / "tests" / "data" / "followups.jsonl"
NOT_FOLLOWUPS = ROOT / "tests" / "data" / "not_followups.jsonl"  # complete questions and greetings


def _zero(m: LinearParams, *names: str) -> LinearParams:
    """The fitted parameters with these answer features' weights set to 0."""
    return m.with_answer_weights(**{n: 0.0 for n in names})


def _same(s: Settings, m: LinearParams) -> tuple[Settings, LinearParams]:
    return s, m


def _only(m: LinearParams, name: str) -> LinearParams:
    """The fitted parameters with every answer weight 0 but this one (1)."""
    return m.with_answer_weights(**{n: float(n == name) for n in m.answer})


OLD_PIPELINE = "without the reader (the old pipeline: linear reader)"


# name -> change to the hand-set settings and the (fitted) reader parameters.
# "no paragraph merging" swaps the index instead.
VARIANTS = {
    "final": _same,
    OLD_PIPELINE: _same,  # scored with the linear reader's own fit
    "reader alone (its logit picks the span)": lambda s, m: (s, _only(m, "reader")),
    "- reader (answer; abstention keeps it)": lambda s, m: (s, _zero(m, "reader", "best_reader")),
    "BM25 only": lambda s, m: (s.with_(w_dense=0.0, w_sentence=0.0, w_sentence_lexical=0.0), m),
    "dense only (whole passage)": lambda s, m: (s.with_(w_lexical=0.0, w_dense=1.0, w_sentence=0.0, w_sentence_lexical=0.0), m),
    "plain RRF (BM25 + dense)": lambda s, m: (s.with_(fusion="rrf", w_lexical=1.0, w_dense=1.0, w_sentence=0.0, w_sentence_lexical=0.0), m),
    "no paragraph merging": _same,
    "- best-sentence cosine (retrieval)": lambda s, m: (s.with_(w_sentence=0.0), m),
    "- sentence BM25 (retrieval)": lambda s, m: (s.with_(w_sentence_lexical=0.0), m),
    "- two-sentence spans": lambda s, m: (s.with_(answer_max_chars=0), m),
    "- neighbour-blended cosine (answer)": lambda s, m: (s, _zero(m, "context")),
    "- neighbour coverage (answer)": lambda s, m: (s, _zero(m, "context_coverage")),
    "- lexical answer signals (coverages, sentence BM25)": lambda s, m: (s, _zero(m, "coverage", "context_coverage", "sentence_lexical")),
    "- answer type (answer)": lambda s, m: (s, _zero(m, "answer_type")),
    "- late interaction (retrieval)": lambda s, m: (s.with_(w_late=0.0), m),
    "- late interaction (answer)": lambda s, m: (s, _zero(m, "late", "best_late")),
    "- late interaction (both)": lambda s, m: (s.with_(w_late=0.0), _zero(m, "late", "best_late")),
    "- best-of-candidates indicators (answer)": lambda s, m: (s, _zero(m, *(f"best_{n}" for n in BEST_OF))),
    "- yes/no next sentence (answer)": lambda s, m: (s.with_(yes_no_next_chars=0), m),
    "- abstention (answer everything)": lambda s, m: (s.with_(abstain_threshold=0.0), m),
}
COLUMNS = [
    ("hit@1", "hit@1"),
    ("hit@3", "hit@3"),
    ("MRR@10", "mrr@10"),
    ("contains", "contains_all"),
    ("contains (abst.)", "contains"),
    ("chars", "answer_chars"),
    ("answered", "answered_rate"),
    ("abstained", "abstain_rate"),
    ("bal. acc.", "balanced_accuracy"),
    ("best bal. acc.", "best_balanced"),
    ("abst. on-topic", "abstain_on_topic"),
    ("abst. off-topic", "abstain_off_topic"),
    ("ECE", "ece"),
]
MODEL = None  # the reader's cross-encoder, shared by every variant (fit_data.MemoModel)


def reader_for(m: LinearParams):
    """The reader these parameters are for: cross when they weigh its logit, else linear."""
    global MODEL
    if "reader" not in m.answer:
        return LinearReader(m)
    if MODEL is None:
        from reportqa.models.crossencoder import CrossEncoderModel

        MODEL = fit_data.MemoModel(CrossEncoderModel())
    return CrossReader(m, model=MODEL)


@contextlib.contextmanager
def merge_tokens(n: int):
    """Build/load indexes with another paragraph-merging budget (benchmark only)."""
    old = chunking.MERGE_TOKENS
    chunking.MERGE_TOKENS, chunking.CHUNKING["merge_tokens"] = n, n
    try:
        yield
    finally:
        chunking.MERGE_TOKENS, chunking.CHUNKING["merge_tokens"] = old, old


def unmerged(a: Assistant) -> Assistant:
    """The same report indexed one passage per paragraph, in its own cache folder."""
    folder = Path(os.environ["REPORTQA_CACHE_DIR"]) / "unmerged" / a.index_dir.name
    folder.parent.mkdir(parents=True, exist_ok=True)  # index.build_lock needs the parent to exist
    with merge_tokens(0):
        b = Assistant(a.source, folder, encoder=a.encoder, settings=a.settings, notify=lambda m: None)
        b.load()
    return b


def summary(result: dict) -> dict:
    s = dict(result["summary"])
    bal = [c["balanced_accuracy"] for c in result["curve"] if c["balanced_accuracy"] is not None]
    s["best_balanced"] = max(bal) if bal else None
    return s


def score(a: Assistant, questions: list[dict], settings: Settings, params: dict[str, LinearParams], name: str, plain: Assistant | None) -> dict:
    """One variant: params holds the "cross" and the "linear" reader's fits."""
    target = plain if name == "no paragraph merging" else a
    s, m = VARIANTS[name](settings, params["linear" if name == OLD_PIPELINE else "cross"])
    return evaluate(target.with_settings(s, reader=reader_for(m)), questions)


def macro(summaries: list[dict]) -> dict:
    out = {}
    for _, key in COLUMNS:
        vals = [s[key] for s in summaries if s.get(key) is not None]
        out[key] = float(np.mean(vals)) if vals else None
    return out


def cell(s: dict, key: str) -> str:
    v = s.get(key)
    if key == "fired":  # questions read as follow-ups
        return f"{v} of {s['n']}"
    return "–" if v is None else (f"{v:.0f}" if key == "answer_chars" else f"{v:.3f}")


def table(title: str, rows: dict[str, dict], columns: list[tuple[str, str]] = COLUMNS) -> str:
    head = "| variant | " + " | ".join(c for c, _ in columns) + " |"
    lines = [f"### {title}", "", head, "|---" * (len(columns) + 1) + "|"]
    for name, s in rows.items():
        lines.append(f"| {name} | " + " | ".join(cell(s, key) for _, key in columns) + " |")
    return "\n".join(lines)


def curve_table(title: str, curves: list[list[dict]]) -> str:
    lines = [f"### {title}", "", "| threshold | answerable answered | unanswerable abstained | balanced accuracy |", "|---|---|---|---|"]
    for i, point in enumerate(curves[0]):
        ans = np.mean([c[i]["answered_rate"] for c in curves])
        abst = [c[i]["abstain_rate"] for c in curves if c[i]["abstain_rate"] is not None]
        if not abst:
            continue
        lines.append(f"| {point['threshold']:.2f} | {ans:.3f} | {np.mean(abst):.3f} | {(ans + np.mean(abst)) / 2:.3f} |")
    return "\n".join(lines)


def reliability_table(title: str, rows: list[dict]) -> str:
    """The shown confidence against how often the quote held a gold answer, 10 bins, and the ECE."""
    bins, ece = reliability(rows)
    lines = [f"### {title}: ECE {ece:.3f} over {len(rows)} questions", "",
             "| confidence bin | questions | mean confidence | quote answers |", "|---|---|---|---|"]
    for b in bins:
        if b["n"]:
            lines.append(f"| {b['bin']} | {b['n']} | {b['confidence']:.3f} | {b['correct']:.3f} |")
    lines += ["", "| band shown | questions | quote answers |", "|---|---|---|"]
    top = 1.01
    for floor, label in CONFIDENCE_BANDS:
        inside = [r for r in rows if floor <= r["p"] < top]
        top = floor
        share = f"{np.mean([r['answerable'] and r['contains'] for r in inside]):.3f}" if inside else "–"
        lines.append(f"| {label} (≥ {floor:.1f}) | {len(inside)} | {share} |")
    return "\n".join(lines)


def precision_recall(title: str, summaries: list[dict]) -> str:
    m = {k: np.mean([s[k] for s in summaries if s[k] is not None]) for k in ("abstain_precision", "abstain_recall", "answered_rate", "threshold")}
    return (
        f"{title}: threshold {m['threshold']:.2f}, abstention precision {m['abstain_precision']:.3f}, "
        f"recall {m['abstain_recall']:.3f}; answerable questions answered {m['answered_rate']:.3f}"
    )


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


class Chat:
    """evaluate() adapter: questions asked in a chat (``Assistant.chat()``) instead of alone.

    ``previous`` maps a question to the one asked just before it (a follow-up pair);
    without it, the questions are one chat in the order evaluate() asks them (a file's
    standalone questions, each after the one before it). ``mode``: "alone" (no context),
    "chat" (the shipped Conversation: question, then the earlier one), "previous first"
    (the earlier question, then this one) or "any length" (a pronoun or an opening
    marks a follow-up however many content words the question has).
    """

    def __init__(self, a: Assistant, mode: str = "chat", previous: dict[str, str] | None = None, fired: list | None = None):
        self.a, self.mode, self.previous = a, mode, previous
        self.conversation = a.chat()
        if mode == "any length":
            from reportqa.conversation import Conversation, is_followup

            self.conversation = Conversation(a.answer, lambda q: is_followup(q, max_terms=None))
        self.fired = fired if fired is not None else []  # shared with with_settings() twins

    @property
    def settings(self) -> Settings:
        return self.a.settings

    @property
    def abstain_threshold(self) -> float:
        return self.a.abstain_threshold

    def with_settings(self, settings: Settings) -> "Chat":
        return Chat(self.a.with_settings(settings), self.mode, self.previous, self.fired)

    def answer(self, question: str, k: int = DEFAULT_K):
        if self.mode == "alone":
            return self.a.answer(question, k=k)
        if self.previous is not None:
            self.conversation.new()
            self.conversation.ask(self.previous[question], k=k)
        if self.mode == "previous first":
            earlier = self.conversation.context(question)
            self.conversation.ask(question, k=k)  # keeps the thread as the chat would
            if earlier:
                self.fired.append(question)
                return self.a.answer(" ".join([*reversed(earlier), question]), k=k)
            return self.a.answer(question, k=k)
        answer = self.conversation.ask(question, k=k)
        if answer.followup_to:
            self.fired.append(question)
        return answer


def chat_score(a: Assistant, questions: list[dict], mode: str, pairs: bool) -> dict:
    """evaluate() through a Chat; the summary gains "fired" (questions read as follow-ups)."""
    previous = {q["q"]: q["previous"] for q in questions} if pairs else None
    if previous is not None:
        assert len(previous) == len(questions), "follow-up questions must be distinct"
    chat = Chat(a, mode, previous)
    s = summary(evaluate(chat, questions))
    s["fired"], s["n"] = len(chat.fired), len(questions)
    return s


FOLLOWUP_COLUMNS = [("hit@1", "hit@1"), ("hit@3", "hit@3"), ("MRR@10", "mrr@10"), ("contains", "contains_all"),
                    ("contains (abst.)", "contains"), ("chars", "answer_chars"), ("answered", "answered_rate"),
                    ("abstained", "abstain_rate"), ("read as follow-ups", "fired")]


def followup_table(title: str, rows: dict[str, dict]) -> str:
    return table(title, rows, FOLLOWUP_COLUMNS)


def run_followups(encoder, squad: bool = True, sets: dict | None = None, fitted: dict | None = None) -> str:
    """Follow-up pairs with and without the previous question, and what a chat does to standalone questions."""
    bundled = Assistant(encoder=encoder, notify=lambda m: None)
    bundled.load()
    fqs = load_questions(FOLLOWUP_QUESTIONS)
    out = [followup_table(
        f"Follow-up pairs ({len(fqs)} questions, each asked right after its previous question)",
        {
            "without context (the question alone)": chat_score(bundled, fqs, "alone", True),
            "with context (shipped: question + previous question)": chat_score(bundled, fqs, "chat", True),
            "with context, previous question first": chat_score(bundled, fqs, "previous first", True),
            "with context, detector without the length cap": chat_score(bundled, fqs, "any length", True),
        },
    )]
    bqs = load_questions(BUNDLED_QUESTIONS)
    rows = {
        "bundled set, each question alone": chat_score(bundled, bqs, "alone", False),
        "bundled set, one chat in file order": chat_score(bundled, bqs, "chat", False),
        "bundled set, one chat, detector without the length cap": chat_score(bundled, bqs, "any length", False),
    }
    if squad and fit_data.SHARED.is_dir():
        if sets is None or fitted is None:  # the shipped reader, refitted leaving each article out
            sets = fit_data.assistants(encoder)
            names = fit_data.cross_features(reader_for(shipped_cross_params()).model, reader_for(shipped_cross_params()).candidates)
            items = fit_data.collect(sets, names=names, absent=True)
            fitted = {held: fitting.fitted_params(sets, items, exclude=held, names=names) for held in fit_data.ARTICLES}
        for mode, label in (
            ("alone", "each question alone"),
            ("chat", "one chat per article in file order"),
            ("any length", "one chat per article, detector without the length cap"),
        ):
            per = [chat_score(a.with_settings(a.settings, reader=reader_for(fitted[slug])), qs, mode, False) for slug, (a, qs) in sets.items()]
            row = macro(per)
            row["fired"], row["n"] = sum(p["fired"] for p in per), sum(p["n"] for p in per)
            rows[f"SQuAD macro (LOAO), {label}"] = row
    out.append(followup_table("Standalone questions in a chat", rows))
    out.append(not_followups_line())
    return "\n\n".join(out)


def not_followups_line() -> str:
    """How many complete questions (holding they, it or any) and greetings the detector reads as follow-ups."""
    from reportqa.conversation import is_followup

    rows = [json.loads(line) for line in NOT_FOLLOWUPS.read_text(encoding="utf-8").splitlines()]
    fired = {kind: sum(is_followup(r["q"]) for r in rows if r["kind"] == kind) for kind in ("complete", "greeting")}
    counts = {kind: sum(r["kind"] == kind for r in rows) for kind in fired}
    return (f"Read as follow-ups right after another question ({NOT_FOLLOWUPS.name}): "
            f"{fired['complete']} of {counts['complete']} complete questions, {fired['greeting']} of {counts['greeting']} greetings")


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
    reader_for(shipped_cross_params())  # makes MODEL
    names = fit_data.cross_features(MODEL, int(shipped_cross_params().fitted_on.get("reader_candidates", fit_data.DEFAULT_CANDIDATES)))
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
