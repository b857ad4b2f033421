"""The scoring helpers behind `reportqa eval` and benchmarks/quality.py."""

from __future__ import annotations

import json

import pytest

from reportqa.evaluate import contains_answer, curve, misses, reliability, summarize


def row(p: float, answerable: bool, contains: bool = False, style: str = "", rank=1, answered: bool | None = None) -> dict:
    """A result row; decided as an assistant at threshold 0.5 would have, unless answered says otherwise."""
    answered = p >= 0.5 if answered is None else answered
    r = {"id": "x", "q": "q", "answerable": answerable, "answered": answered, "p": p, "text": "t", "style": style}
    if answerable:
        r.update(contains=contains, rank=rank, answers=["a"])
    return r


def test_reliability_bins_and_ece():
    rows = [row(0.95, True, True), row(0.95, True, False), row(0.15, False), row(0.15, True, True)]
    table, ece = reliability(rows)
    by_bin = {b["bin"]: b for b in table}
    assert by_bin["0.9-1.0"]["n"] == 2 and by_bin["0.9-1.0"]["correct"] == 0.5
    assert by_bin["0.1-0.2"]["n"] == 2 and by_bin["0.1-0.2"]["correct"] == 0.5
    assert ece == pytest.approx((2 * 0.45 + 2 * 0.35) / 4)
    assert reliability([row(1.0, True, True)])[0][-1]["n"] == 1  # 1.0 falls in the last bin
    assert reliability([]) == ([], None)


def test_calibrated_confidence_has_no_gap():
    rows = [row(0.75, True, True)] * 3 + [row(0.75, False)]
    assert reliability(rows)[1] == pytest.approx(0.0)


def test_on_and_off_topic_abstention_are_counted_apart():
    rows = [row(0.9, True, True), row(0.01, False, style="off-topic"), row(0.01, False, style="on-topic"),
            row(0.9, False, style="on-topic"), row(0.9, False)]  # no style: SQuAD's, on topic
    s = summarize(rows, threshold=0.5)
    assert s["abstain_off_topic"] == 1.0
    assert s["abstain_on_topic"] == pytest.approx(1 / 3)
    assert s["abstain_rate"] == pytest.approx(2 / 4)


def test_the_summary_and_misses_read_each_rows_decision_not_the_confidence():
    """The decision is made once, by the pipeline; the summary at the threshold never re-decides it from p."""
    rows = [row(0.9, True, True, answered=False), row(0.1, False, answered=True), row(0.9, True, True, answered=True)]
    s = summarize(rows, threshold=0.5)
    assert s["answered_rate"] == 0.5 and s["abstain_rate"] == 0.0 and s["threshold"] == 0.5
    assert s["contains"] == 0.5 and s["contains_all"] == 1.0
    assert [m["why"] for m in misses(rows)] == ["abstained", "answered an unanswerable question"]
    # the curve is a sweep over what-if thresholds: it reads p
    at_half = next(c for c in curve(rows) if c["threshold"] == 0.5)
    assert at_half["answered_rate"] == 1.0 and at_half["abstain_rate"] == 1.0


def _gold_rows():
    from conftest import DATA, ROOT

    for path in sorted(DATA.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            q = json.loads(line) if line.strip() else {}
            if q.get("answers") and q.get("spans"):
                source = DATA / q["source"] if q.get("source") else ROOT / "source_text" / "iopc-operation-amazon.txt"
                yield pytest.param(q, source, id=f"{path.name}:{n}")


@pytest.mark.parametrize("q, source", list(_gold_rows()))
def test_every_gold_answer_can_match_the_paragraph_of_its_span(q, source):
    # contains_answer matches whole words, so a gold answer typed without the report's currency sign or
    # unit ("410,000" for "£410,000") would score a right quote as wrong.
    text = source.read_text(encoding="utf-8")
    paragraphs = [text[text.rfind("\n\n", 0, s) + 1 : (text.find("\n\n", e) + 1 or len(text))] for s, e in q["spans"]]
    assert any(contains_answer(p, q["answers"]) for p in paragraphs), (q["q"], q["answers"])
