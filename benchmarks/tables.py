"""benchmarks/quality.py's figures as Markdown: the columns, a run's summary, macro averages, and the tables."""

from __future__ import annotations

import numpy as np

from reportqa.evaluate import reliability
from reportqa.render import CONFIDENCE_BANDS

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

def summary(result: dict) -> dict:
    s = dict(result["summary"])
    bal = [c["balanced_accuracy"] for c in result["curve"] if c["balanced_accuracy"] is not None]
    s["best_balanced"] = max(bal) if bal else None
    return s


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
