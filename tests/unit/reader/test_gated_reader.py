"""Reader "gated": the cross fit chooses the quote, the span+cross fit gives P(answerable) and the
threshold, from one reading of each model; on the tiny report with fake models that disagree."""

from __future__ import annotations

import dataclasses

import pytest
from test_cross_reader import FakeCrossEncoder
from test_span_reader import FakeSpanModel

from reportqa.assistant import Assistant
from reportqa.errors import ModelError, ReaderError
from reportqa.reader import GatedReader, SpanCrossReader, candidates, make_reader
from reportqa.reader.cross import shipped_cross_params
from reportqa.settings import DEFAULT

SPAN_NAMES, SPAN_ABSTENTION = ("span", "best_span"), ("span_top", "span_chosen")


class CountingCross(FakeCrossEncoder):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def logits(self, questions, texts):
        self.calls += 1
        return super().logits(questions, texts)


def quote_params():
    """The shipped cross fit, whose answer goes by the cross-encoder: the sentence naming Ann Lee."""
    return shipped_cross_params().with_answer_weights(reader=50.0)


def gate_params(threshold: float = 0.5):
    """A span+cross fit whose answer goes by the passage reader only, and whose P(answered) reads the
    margin of the span it chooses itself (so P shows which choice it was computed at)."""
    p = shipped_cross_params()
    zero = {n: 0.0 for n in p.answer}
    return dataclasses.replace(
        p,
        answer={**zero, "span": 50.0, "best_span": 0.0},
        mean={**p.mean, "span_top": 0.0, "span_chosen": 0.0},
        scale={**p.scale, "span_top": 1.0, "span_chosen": 1.0},
        topic={**{n: 0.0 for n in p.topic}, "span_top": 0.0, "span_chosen": 0.0},
        topic_bias=10.0,
        answered={**{n: 0.0 for n in p.answered}, "span_top": 0.0, "span_chosen": 0.5},
        answered_bias=0.0,
        calibration={"slope": 1.0, "intercept": 0.0},
        threshold=threshold,
        fitted_on={**p.fitted_on, "span_passages": 3},
    )


@pytest.fixture
def report(tiny_source, fake_encoder, tmp_path):
    def make(reader, threshold=None):
        settings = DEFAULT if threshold is None else DEFAULT.with_(abstain_threshold=threshold)
        return Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, reader=reader, settings=settings,
                         notify=lambda m: None)
    return make


def test_the_quote_is_the_cross_choice_and_p_is_the_gate_s_own(report):
    cross, span = CountingCross(), FakeSpanModel(target="2023")
    gated = GatedReader(quote_params(), gate_params(), model=span, cross_model=cross)
    a = report(gated)
    question = "When will the depot be inspected again?"
    ans = a.answer(question)
    assert "Ann Lee" in ans.text  # the cross fit's choice, not the passage reader's
    assert cross.calls == 1 and len(span.calls) == 1  # each model read once for the question

    gate = SpanCrossReader(gate_params(), model=FakeSpanModel(target="2023"), cross_model=FakeCrossEncoder(),
                           candidates=gated.candidates)
    alone = report(gate).answer(question)
    assert "2023" in alone.text  # the gate alone would quote the sentence it reads the span in
    assert ans.confidence == pytest.approx(alone.confidence) and ans.confidence > 0.9  # P at the gate's own choice: margin +8
    assert gated.threshold == 0.5 and ans.answered

    query = a.query(question)
    spans = candidates(query)
    scores = gated.score(query, spans)
    assert scores.names == gate.features.answer  # every column, for /why and the fits
    own = gate.score(query, spans)
    assert scores.choice != own.choice


def test_the_span_shown_lies_inside_the_quote(report, tiny_source):
    gated = GatedReader(quote_params(), gate_params(), model=FakeSpanModel(target="Ann Lee"), cross_model=FakeCrossEncoder())
    ans = report(gated).answer("Who is the depot manager?")
    text = (tiny_source / "report.txt").read_text(encoding="utf-8")
    assert ans.answered and text[ans.span.start : ans.span.end] == "Ann Lee"
    assert ans.quote.start <= ans.span.start and ans.span.end <= ans.quote.end


def test_the_gate_s_threshold_declines(report):
    gated = GatedReader(quote_params(), gate_params(threshold=0.99), model=FakeSpanModel(target="nothing here"),
                        cross_model=FakeCrossEncoder())
    ans = report(gated).answer("Who is the depot manager?")
    assert not ans.answered  # margins of about -12: P(answered) near 0


def test_the_two_fits_must_read_the_same_candidates():
    gate = dataclasses.replace(gate_params(), fitted_on={**gate_params().fitted_on, "reader_candidates": 3})
    with pytest.raises(ReaderError, match="different numbers of candidates"):
        GatedReader(quote_params(), gate, model=FakeSpanModel(), cross_model=FakeCrossEncoder())


def test_it_is_a_named_reader_that_says_what_it_lacks():
    from reportqa.models.spanreader import SPAN_READER_PATH

    assert not SPAN_READER_PATH.exists()  # when a passage reader ships, make_reader("gated") returns one: test that instead
    with pytest.raises(ModelError, match="No passage reader ships"):
        make_reader("gated")
