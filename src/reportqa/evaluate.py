"""Score an Assistant on a question file (the ../shared/benchmarks format, or its superset).

A line is ``{"id", "q", "answers": [...], "spans": [[start, end], ...]}`` for an
answerable question, or ``{"id", "q", "answerable": false}``. Spans are str
offsets into the source file (``"source"`` names it when the source has more
than one). The project's own set adds ``"evidence"``: the passage text that the
answer must come from, whose offsets are its spans.
"""

from __future__ import annotations

import collections
import json
import re
import statistics
import time
import unicodedata
from pathlib import Path

from .errors import SourceError

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def load_questions(path: str | Path) -> list[dict]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SourceError(f"Cannot read the question file {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"The question file {path} is not UTF-8 (byte {exc.start}).") from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
            if not isinstance(q, dict) or not isinstance(q.get("q"), str):
                raise ValueError('each line needs a "q" string')
            if q.get("answerable", True) and not q.get("spans"):
                raise ValueError('an answerable question needs "spans"')
        except ValueError as exc:
            raise SourceError(f"{path}:{number}: not a question line ({exc}).") from None
        q.setdefault("id", f"line{number}")
        questions.append(q)
    if not questions:
        raise SourceError(f"{path} holds no questions.")
    return questions


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation or articles, single spaces."""
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text.lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(pred: str, gold: str) -> float:
    """SQuAD's token F1 of a predicted answer against a gold one, after ``normalize``."""
    p, g = normalize(pred).split(), normalize(gold).split()
    common = sum((collections.Counter(p) & collections.Counter(g)).values())
    if not p or not g or not common:
        return float(p == g)
    return 2 * common / (len(p) + len(g))


def contains_answer(text: str, answers: list[str]) -> bool:
    norm = f" {normalize(text)} "
    return any(f" {normalize(a)} " in norm for a in answers if normalize(a))


def _overlaps(citation, spans, source: str | None) -> bool:
    if source is not None and citation.source != source:
        return False
    return any(citation.start < e and s < citation.end for s, e in spans)


def cited_rank(citations, question: dict) -> int | None:
    """The 1-based rank of the first citation overlapping one of the question's gold spans, or None."""
    spans = [tuple(s) for s in question["spans"]]
    ranks = [i for i, c in enumerate(citations, start=1) if _overlaps(c, spans, question.get("source"))]
    return ranks[0] if ranks else None


def rank_figures(ranks: list[int | None]) -> dict:
    """hit@1, hit@3 and MRR@10 of answerable questions' ranks (None: not cited)."""
    n = len(ranks) or 1
    return {
        "hit@1": sum(r == 1 for r in ranks) / n,
        "hit@3": sum(r is not None and r <= 3 for r in ranks) / n,
        "mrr@10": sum(1 / r for r in ranks if r is not None and r <= 10) / n,
    }


def evaluate(assistant, questions: list[dict], k: int = 10) -> dict:
    """Run every question; return {"summary": figures, "misses": rows, "curve": rows}.

    Each question is asked once. A row records what the assistant decided (``answered``,
    at its threshold) and P(answerable); its text and citations are the answer it gave or,
    declined, the one it withheld (``Answer.withheld``), so answer quality is measured on
    every question, and the abstention curve sweeps other thresholds over the same rows.
    """
    threshold = assistant.abstain_threshold
    rows = []
    started = time.perf_counter()
    for q in questions:
        a = assistant.answer(q["q"], k=k)
        said = a.withheld or a
        answerable = q.get("answerable", True) is not False
        row = {"id": q["id"], "q": q["q"], "answerable": answerable, "answered": a.answered, "p": a.confidence,
               "text": said.text, "style": q.get("style", "")}
        if answerable:
            row.update(
                rank=cited_rank(said.citations, q),
                contains=contains_answer(said.text, q.get("answers", [])),
                answers=q.get("answers", []),
            )
        rows.append(row)
    seconds = time.perf_counter() - started
    return {
        "summary": summarize(rows, threshold) | {"seconds": round(seconds, 2)},
        "misses": misses(rows),
        "curve": curve(rows),
        "rows": rows,
    }


def reliability(rows: list[dict], bins: int = 10) -> tuple[list[dict], float | None]:
    """The confidence as P(the quote answers): per bin of width 1/bins, its mean and how often the
    quote held a gold answer (an unanswerable question's quote never does); and the ECE, the
    row-weighted mean gap between the two."""
    if not rows:
        return [], None
    table, gap = [], 0.0
    for i in range(bins):
        lo, hi = i / bins, (i + 1) / bins
        inside = [r for r in rows if lo <= r["p"] < hi or (i == bins - 1 and r["p"] == 1.0)]
        if not inside:
            table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": 0, "confidence": None, "correct": None})
            continue
        conf = statistics.fmean(r["p"] for r in inside)
        correct = statistics.fmean(float(r["answerable"] and r["contains"]) for r in inside)
        gap += len(inside) * abs(conf - correct)
        table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": len(inside), "confidence": conf, "correct": correct})
    return table, gap / len(rows)


def summarize(rows: list[dict], threshold: float) -> dict:
    """The figures of rows as decided (each row's ``answered``); ``threshold``, the one they were
    decided at, is reported with them."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    # SQuAD's unanswerable questions carry no style: they are on topic, written to look answerable.
    off = [r for r in una if r.get("style") == "off-topic"]
    on = [r for r in una if r.get("style") != "off-topic"]
    n = len(ans) or 1
    answered = [r for r in ans if r["answered"]]
    abstained_una = [r for r in una if not r["answered"]]
    abstained_all = [r for r in rows if not r["answered"]]
    answered_rate = len(answered) / n
    abstain_rate = len(abstained_una) / len(una) if una else None
    return {
        "answerable": len(ans),
        "unanswerable": len(una),
        **rank_figures([r["rank"] for r in ans]),
        "contains_all": sum(r["contains"] for r in ans) / n,
        "contains": sum(r["contains"] for r in answered) / n,
        "answer_chars": statistics.fmean(len(r["text"]) for r in ans) if ans else 0.0,
        "threshold": threshold,
        "answered_rate": answered_rate,
        "abstain_rate": abstain_rate,
        "balanced_accuracy": (answered_rate + abstain_rate) / 2 if una else None,
        "abstain_precision": len(abstained_una) / len(abstained_all) if abstained_all else None,
        "abstain_recall": abstain_rate,
        "abstain_on_topic": sum(not r["answered"] for r in on) / len(on) if on else None,
        "abstain_off_topic": sum(not r["answered"] for r in off) / len(off) if off else None,
        "ece": reliability(rows)[1],
    }


def curve(rows: list[dict], steps: int = 20) -> list[dict]:
    """Abstention trade-off at thresholds 0, 1/steps, ..., 1: a sweep over what-ifs, not the decision
    (which is each row's ``answered``, at the assistant's one threshold)."""
    ans = [r["p"] for r in rows if r["answerable"]]
    una = [r["p"] for r in rows if not r["answerable"]]
    out = []
    for i in range(steps + 1):
        t = i / steps
        answered = sum(p >= t for p in ans) / len(ans) if ans else 0.0
        abstained = sum(p < t for p in una) / len(una) if una else None
        out.append({
            "threshold": t,
            "answered_rate": answered,
            "abstain_rate": abstained,
            "balanced_accuracy": (answered + abstained) / 2 if una else None,
        })
    return out


def misses(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        if r["answerable"]:
            why = []
            if r["rank"] != 1:
                why.append(f"evidence at rank {r['rank']}" if r["rank"] else "evidence not retrieved")
            if not r["contains"]:
                why.append("answer lacks gold")
            if not r["answered"]:
                why.append("abstained")
            if why:
                out.append({"id": r["id"], "q": r["q"], "why": "; ".join(why), "got": r["text"], "expected": r["answers"]})
        elif r["answered"]:
            out.append({"id": r["id"], "q": r["q"], "why": "answered an unanswerable question", "got": r["text"], "expected": []})
    return out


def _pct(x) -> str:
    return "   n/a" if x is None else f"{x:6.3f}"


def format_report(result: dict, misses_shown: int = 50) -> str:
    s = result["summary"]
    lines = [
        f"questions      {s['answerable']} answerable, {s['unanswerable']} unanswerable ({s.get('seconds', 0):.1f} s)",
        f"hit@1          {_pct(s['hit@1'])}",
        f"hit@3          {_pct(s['hit@3'])}",
        f"MRR@10         {_pct(s['mrr@10'])}",
        f"contains       {_pct(s['contains_all'])}  (answering every question)",
        f"contains       {_pct(s['contains'])}  (with abstention at {s['threshold']:.2f}; abstaining counts as a miss)",
        f"answer chars   {s['answer_chars']:6.1f}  (mean)",
        f"answered       {_pct(s['answered_rate'])}  (of answerable questions)",
        f"abstained      {_pct(s['abstain_rate'])}  (of unanswerable questions)",
        f"  on topic     {_pct(s.get('abstain_on_topic'))}",
        f"  off topic    {_pct(s.get('abstain_off_topic'))}",
        f"balanced acc.  {_pct(s['balanced_accuracy'])}",
        f"abstention     precision {_pct(s['abstain_precision']).strip()}, recall {_pct(s['abstain_recall']).strip()}",
        f"ECE            {_pct(s.get('ece'))}  (the confidence as P(the quote answers), 10 bins)",
    ]
    shown = result["misses"][:misses_shown]
    if shown:
        lines += ["", f"misses ({len(result['misses'])}):", f"{'id':<10} {'why':<40} question"]
        for m in shown:
            lines.append(f"{str(m['id'])[:10]:<10} {m['why'][:40]:<40} {m['q'][:70]}")
        if len(result["misses"]) > misses_shown:
            lines.append(f"… and {len(result['misses']) - misses_shown} more (use --json for all)")
    return "\n".join(lines)
