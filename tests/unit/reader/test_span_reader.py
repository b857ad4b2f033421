"""Reader "span": a passage reader's margins as features of the linear scorer, and the answer span it
marks, on the tiny report with a fake passage reader that tokenizes as the real one does."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from reportqa.assistant import Assistant
from reportqa.errors import ReaderError
from reportqa.models.encoder import model_path
from reportqa.models.tokens import load_tokenizer
from reportqa.reader import LinearParams, SpanFeatures, SpanReader, candidates
from reportqa.reader.linear import shipped_params
from reportqa.render import Style, answer_text, why_text
from reportqa.settings import DEFAULT


class FakeSpanModel:
    """Start and end logits that put the answer on the words "Ann Lee" of a passage (start 5, end 5),
    "no answer" at 1 + 1, and -5 elsewhere; tokenized by all-MiniLM-L6-v2's own tokenizer."""

    fingerprint = "fake:span"

    def __init__(self, target: str = "Ann Lee"):
        self.target, self.calls = target, []
        self.tokenizer = load_tokenizer(model_path() / "tokenizer.json")
        self.tokenizer.enable_truncation(320, strategy="only_second")

    def logits(self, question, texts):
        self.calls.append(list(texts))
        encodings = self.tokenizer.encode_batch([(question, t) for t in texts])
        n = max(len(e.ids) for e in encodings)
        start, end = np.full((len(texts), n), -5.0, dtype=np.float32), np.full((len(texts), n), -5.0, dtype=np.float32)
        for k, (text, enc) in enumerate(zip(texts, encodings)):
            start[k, 0] = end[k, 0] = 1.0
            at = text.find(self.target)
            if at < 0:
                continue
            inside = [i for i, (s, (a, b)) in enumerate(zip(enc.sequence_ids, enc.offsets)) if s == 1 and a >= at and b <= at + len(self.target)]
            start[k, inside[0]] = end[k, inside[-1]] = 5.0
        return start, end, encodings


def span_params(weight: float = 50.0) -> LinearParams:
    """The shipped linear fit with the span reader's names added: its answer weighs only by the span margin."""
    p = shipped_params()
    return dataclasses.replace(
        p.with_answer_weights(**{n: 0.0 for n in p.answer}),
        answer={**{n: 0.0 for n in p.answer}, "span": weight, "best_span": 0.0},
        mean={**p.mean, "span_top": 0.0, "span_chosen": 0.0},
        scale={**p.scale, "span_top": 1.0, "span_chosen": 1.0},
        topic={**p.topic, "span_top": 0.0, "span_chosen": 0.0},
        answered={**p.answered, "span_top": 0.0, "span_chosen": 0.0},
        fitted_on={"span_passages": 2},
    )


@pytest.fixture
def span_assistant(tiny_source, fake_encoder, tmp_path):
    model = FakeSpanModel()
    reader = SpanReader(span_params(), model=model)
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, reader=reader,
                  settings=DEFAULT.with_(abstain_threshold=0.0), notify=lambda m: None)
    return a, model


LONGER_REPORT = (
    "The inspectors visited the bus depot in March 2021 and counted forty buses, twelve of them electric, "
    "parked in three rows beside the old workshop, with two more away for repairs at the time of the visit.\n\n"
    "The depot manager, Ann Lee, said the new roof was finished in May after a wet winter. Water no longer "
    "leaks into the workshop, and the mechanics have moved their benches back under the skylights again.\n\n"
    "The report recommends a second inspection in 2023, once the charging points are installed along the "
    "north wall and the drivers have been trained to use them safely during the night shifts.\n"
)


def test_a_candidate_scores_the_best_span_inside_it_and_unread_passages_score_below(fake_encoder, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "report.txt").write_text(LONGER_REPORT, encoding="utf-8")
    a = Assistant(tmp_path / "src", tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    model = FakeSpanModel()
    query = a.query("Who is the depot manager?")
    spans = candidates(query)
    features = SpanFeatures(model, passages=1)
    x = features.answer(query, spans, np.zeros((len(spans), 0)))
    read = set(query.top_passages[:1])
    assert len({c.chunk_id for c in spans}) > 1  # candidates from a passage not read, too
    assert len(model.calls) == 1 and len(model.calls[0]) == len(read)  # one call for the passages read
    holding = [i for i, c in enumerate(spans) if "Ann Lee" in query.table.span_text(c)]
    assert holding and all(spans[i].chunk_id in read for i in holding)
    assert x[holding, 0].max() == pytest.approx(10.0 - 2.0)  # 5 + 5 against "no answer" 1 + 1
    assert x[:, 0].argmax() in holding and x[x[:, 0].argmax(), 1] == 1 and x[:, 1].sum() == (x[:, 0] == x[:, 0].max()).sum()
    others_read = [i for i, c in enumerate(spans) if c.chunk_id in read and i not in holding]
    assert all(x[i, 0] == pytest.approx(-10.0 - 2.0) for i in others_read)  # the best span elsewhere: -5 - 5
    unread = [i for i, c in enumerate(spans) if c.chunk_id not in read]
    assert unread and all(x[i, 0] == pytest.approx(-12.0 - 1.0) for i in unread)  # the lowest margin read, minus one


def test_the_answer_span_is_exact_file_offsets_inside_the_quote(span_assistant, tiny_source):
    a, _ = span_assistant
    ans = a.answer("Who is the depot manager?")
    text = (tiny_source / "report.txt").read_text(encoding="utf-8")
    assert ans.answered and ans.span is not None
    assert text[ans.span.start : ans.span.end] == "Ann Lee"
    assert ans.quote.start <= ans.span.start and ans.span.end <= ans.quote.end
    assert text[ans.quote.start : ans.quote.end] == ans.text
    assert (ans.span.line, ans.span.paragraph) == (5, 3)
    out = ans.to_dict()
    assert out["span"] == {"source": "report.txt", "start": ans.span.start, "end": ans.span.end, "line": 5, "paragraph": 3}
    json.dumps(out)


def test_the_span_is_bold_in_a_terminal_and_on_its_own_line_in_a_pipe(span_assistant):
    a, _ = span_assistant
    ans = a.answer("Who is the depot manager?")
    colour = answer_text(ans, Style(color=True, width=100))
    assert "\x1b[1mAnn Lee\x1b[0m" in colour
    plain = answer_text(ans, Style())
    assert ans.text in plain  # the quote stays verbatim, for copying and checking
    assert "\n→ Ann Lee\n" in plain
    why = why_text(ans, Style())
    assert "answer span in the first candidate: score 10.00 against 2.00 for \"no answer\" (margin +8.00)" in why
    assert "Ann Lee" in why.split("no answer")[-1]


def test_a_declined_answer_has_no_span_but_why_still_shows_it(tiny_source, fake_encoder, tmp_path):
    reader = SpanReader(span_params(), model=FakeSpanModel())
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, reader=reader,
                  settings=DEFAULT.with_(abstain_threshold=1.0), notify=lambda m: None)
    ans = a.answer("Who is the depot manager?")
    assert not ans.answered and ans.span is None and "span" not in ans.to_dict()
    assert ans.span_found is not None and ans.span_found.text == "Ann Lee"


def test_the_span_reader_needs_its_own_fit():
    with pytest.raises(ReaderError, match="missing span, best_span"):
        SpanReader(shipped_params(), model=FakeSpanModel())
    reader = SpanReader(span_params(), model=FakeSpanModel())
    assert reader.passages == 2  # from fitted_on


def test_a_missing_passage_reader_says_what_to_do(tmp_path):
    from reportqa.errors import ModelError
    from reportqa.models.spanreader import SpanReaderModel

    with pytest.raises(ModelError, match=r"weights are missing \(.*nope.onnx\)"):
        SpanReaderModel(tmp_path / "nope.onnx")
