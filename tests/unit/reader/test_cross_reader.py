"""Reader "cross": the cross-encoder's logits as features of the linear scorer, on the tiny report with
a fake cross-encoder, and the shipped reader's fit and fallback."""

from __future__ import annotations

import numpy as np
import pytest

from reportqa.assistant import Assistant
from reportqa.errors import ModelError, ReaderError
from reportqa.reader import READERS, CrossFeatures, CrossReader, LinearParams, LinearReader, candidates
from reportqa.reader.cross import shipped_cross_params
from reportqa.reader.features import ABSTENTION_FEATURES, ANSWER_FEATURES
from reportqa.reader.linear import calibrate
from reportqa.settings import DEFAULT


class FakeCrossEncoder:
    """Logit 3 for a span naming Ann Lee, else -2; counts the pairs it reads."""

    fingerprint = "fake:cross"

    def __init__(self):
        self.read = []

    def logits(self, questions, texts):
        self.read.extend(texts)
        return np.array([3.0 if "Ann Lee" in t else -2.0 for t in texts], dtype=np.float32)


def test_only_the_best_candidates_by_the_linear_score_are_read(tiny_source, fake_encoder, tmp_path):
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    query = a.query("Who is the depot manager?")
    spans = candidates(query)
    base = LinearReader().score(query, spans)
    model = FakeCrossEncoder()
    features = CrossFeatures(model, LinearReader().weights, candidates=2)
    x = features.answer(query, spans, base.features)
    assert x.shape == (len(spans), 2) and len(model.read) == 2
    read = np.argsort(-base.values, kind="stable")[:2]
    assert {query.table.span_text(spans[i]) for i in read} == set(model.read)
    unread = np.setdiff1d(np.arange(len(spans)), read)
    assert np.all(x[unread, 0] == x[read, 0].min() - 1.0)  # below every logit read
    assert x[:, 1].sum() >= 1 and np.all(x[x[:, 1] == 1, 0] == x[:, 0].max())


def test_abstention_features_are_the_best_logit_its_margin_and_the_choice(tiny_source, fake_encoder, tmp_path):
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    query = a.query("Who is the depot manager?")
    spans = candidates(query)
    features = CrossFeatures(FakeCrossEncoder(), LinearReader().weights, candidates=len(spans))
    x = np.hstack([LinearReader().score(query, spans).features, features.answer(query, spans, LinearReader().score(query, spans).features)])
    named = [i for i, c in enumerate(spans) if "Ann Lee" in query.table.span_text(c)]
    other = next(i for i in range(len(spans)) if i not in named)
    top, margin, chosen = features.abstention(query, spans, x, np.zeros(len(spans)), other)
    assert top == 3.0 and chosen == -2.0
    assert margin == (0.0 if len(named) > 1 else 5.0)
    assert features.abstention(query, [], np.zeros((0, 19)), np.zeros(0), None) == [-10.0, 0.0, -10.0]


def test_the_cross_reader_needs_its_own_fit(tiny_source, fake_encoder, tmp_path):
    with pytest.raises(ReaderError, match="missing reader, best_reader"):
        CrossReader(LinearParams.load(), model=FakeCrossEncoder())  # the linear fit names no reader features
    params = shipped_cross_params()
    reader = CrossReader(params, model=FakeCrossEncoder())
    assert reader.features.answer == ANSWER_FEATURES + ("reader", "best_reader")
    assert reader.features.abstention == ABSTENTION_FEATURES + ("reader_top", "reader_margin", "reader_chosen")
    assert reader.candidates == params.fitted_on["reader_candidates"]


def test_a_strong_logit_decides_the_answer(tiny_source, fake_encoder, tmp_path):
    shipped = shipped_cross_params()
    params = shipped.with_answer_weights(reader=50.0)
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, reader=CrossReader(params, model=FakeCrossEncoder()),
                  settings=DEFAULT.with_(abstain_threshold=0.0), notify=lambda m: None)
    assert "Ann Lee" in a.answer("When was the new roof finished?").text


def test_calibration_is_platt_scaling():
    assert calibrate(0.3, {"slope": 1.0, "intercept": 0.0}) == 0.3
    assert calibrate(0.5, {"slope": 2.0, "intercept": 0.0}) == pytest.approx(0.5)
    assert calibrate(0.5, {"slope": 1.0, "intercept": np.log(3)}) == pytest.approx(0.75)
    assert calibrate(0.9, {"slope": 0.5, "intercept": 0.0}) == pytest.approx(0.75)


def test_a_reader_that_cannot_run_falls_back_to_linear_and_says_so(tiny_source, fake_encoder, tmp_path, monkeypatch):
    def broken():
        raise ModelError("The reader's weights are missing (reader.onnx): reinstall reportqa.")

    monkeypatch.setitem(READERS, "cross", broken)
    said = []
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, settings=DEFAULT.with_(reader="cross"), notify=said.append)
    assert a.answer("When did the inspectors visit?").text
    assert isinstance(a.reader, LinearReader)
    assert said[-1] == "reportqa: The reader's weights are missing (reader.onnx): reinstall reportqa. Answering without the cross reader."
    assert sum("cross reader" in m for m in said) == 1  # said once, not per question


def test_bad_fitted_numbers_are_not_hidden_by_the_fallback(tiny_source, fake_encoder, tmp_path, monkeypatch):
    def misfitted():
        raise ReaderError("cross.json do not match the features this reportqa computes")

    monkeypatch.setitem(READERS, "cross", misfitted)
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, settings=DEFAULT.with_(reader="cross"), notify=lambda m: None)
    with pytest.raises(ReaderError):
        a.answer("When did the inspectors visit?")


class QuestionRecorder(FakeCrossEncoder):
    """FakeCrossEncoder that also keeps the questions it was given."""

    def __init__(self):
        super().__init__()
        self.questions = []

    def logits(self, questions, texts):
        self.questions.extend(questions)
        return super().logits(questions, texts)


@pytest.mark.parametrize(
    "typed, read",
    [
        ("who is the depot manager", "who is the depot manager?"),
        ("who is the depot manager  ", "who is the depot manager?"),
        ("Who is the depot manager?", "Who is the depot manager?"),
        ("Name the depot manager.", "Name the depot manager."),
    ],
)
def test_the_cross_encoder_reads_a_question_ending_as_squad_questions_do(typed, read, tiny_source, fake_encoder, tmp_path):
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    query = a.query(typed)
    spans = candidates(query)
    model = QuestionRecorder()
    CrossFeatures(model, LinearReader().weights, candidates=2).answer(query, spans, LinearReader().score(query, spans).features)
    assert model.questions and set(model.questions) == {read}


TABLE_REPORT = (
    "# Results\n\n"
    "The utility sampled 1,840 taps in 2024.\n\n"
    "| Metal | Samples | Failures |\n|---|---|---|\n| Lead | 612 | 3 |\n| Copper | 598 | 0 |\n"
)


def _candidates_over(folder, encoder, name: str, text: str, question: str):
    """The Assistant over one report of this text (folder/name), the question's Query, its candidates and their quotes."""
    source = folder / name
    source.write_text(text, encoding="utf-8")
    a = Assistant(source, folder / "index", encoder=encoder, notify=lambda m: None)
    query = a.query(question)
    spans = candidates(query)
    return a, query, spans, [query.table.span_text(s) for s in spans]


def test_a_table_row_is_read_with_its_header_names_and_quoted_as_written(tmp_path, fake_encoder):
    a, query, spans, quoted = _candidates_over(tmp_path, fake_encoder, "report.md", TABLE_REPORT, "How many lead samples failed?")
    assert "| Lead | 612 | 3 |" in quoted and "| Copper | 598 | 0 |" in quoted
    assert "| Metal | Samples | Failures |" not in quoted  # a header row is no answer on its own
    model = FakeCrossEncoder()
    CrossFeatures(model, LinearReader().weights, candidates=len(spans)).answer(query, spans, LinearReader().score(query, spans).features)
    assert "Metal: Lead; Samples: 612; Failures: 3" in model.read and "| Lead | 612 | 3 |" not in model.read
    row = next(r for r in range(len(a.index.sentence_chunk)) if query.table.texts[r] == "| Lead | 612 | 3 |")
    assert {"sampl", "failur"} <= query.table.term_sets[row]  # its terms are the header's too


PLAIN_REPORT = (
    "ANNUAL REVIEW 2023-24\n\n"
    "3. Finances\n\n"
    "The service spent £7.9 million against a budget of £8.2 million. Vacant posts explained the underspend.\n\n"
    "4. Staffing and Volunteers\n\n"
    "Around 230 volunteers gave 19,000 hours to the home library service.\n"
    "Staff numbers rose to 142 in the year\n"
)


def test_a_plain_text_heading_is_no_answer_and_joins_no_neighbour(tmp_path, fake_encoder):
    question = "What were the finances of the staffing and volunteers?"
    *_, quoted = _candidates_over(tmp_path, fake_encoder, "review.txt", PLAIN_REPORT, question)
    assert not any(("Finances" in q or "Volunteers" in q or "ANNUAL" in q) for q in quoted), quoted
    assert "The service spent £7.9 million against a budget of £8.2 million." in quoted
    # a short line without a stop inside a paragraph is no heading: it stays an answer
    assert "Staff numbers rose to 142 in the year" in quoted


INTERVIEW = (
    "Transcript: The Weekly Harbour, episode 112\n\n"
    "SAM: What is the biggest threat to the seagrass?\n\n"
    "INES: Storms, mainly. The January storm tore out almost half a hectare in one night.\n"
)


def test_a_question_of_the_report_that_restates_the_asked_one_is_no_answer_alone(tmp_path, fake_encoder):
    asked = "SAM: What is the biggest threat to the seagrass?"
    *_, quoted = _candidates_over(tmp_path, fake_encoder, "podcast.txt", INTERVIEW, "what is the biggest threat to the seagrass")
    assert asked not in quoted  # only "SAM" is new in it: it asks, the next paragraph answers
    assert f"{asked}\n\nINES: Storms, mainly." in quoted  # with its answer it is still a candidate
    (tmp_path / "other").mkdir()
    *_, quoted = _candidates_over(tmp_path / "other", fake_encoder, "podcast.txt", INTERVIEW, "what is the threat")
    assert asked in quoted  # it says more than that question asks ("biggest", "seagrass")
