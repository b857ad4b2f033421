"""The reader seam, answer candidates, the fitted parameters' file, and paragraph merging,
on the tiny report with the fake encoder (and the fake reader of conftest.py)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from conftest import FakeReader

from reportqa import chunking
from reportqa.assistant import Assistant
from reportqa.chunking import chunk_document
from reportqa.errors import ReaderError, ReportQAError
from reportqa.ingest import read_documents
from reportqa.reader import READERS, LinearParams, LinearReader, candidates, decide, extend_yes_no, key_terms
from reportqa.reader.features import ABSTENTION_FEATURES, ANSWER_FEATURES, ANSWERED_FEATURES, TOPIC_FEATURES
from reportqa.reader.linear import PARAMS_PATH
from reportqa.settings import DEFAULT


def test_the_shipped_parameters_are_keyed_by_the_features():
    params = LinearParams.load()
    LinearReader(params)  # checks every name
    assert list(params.answer) == list(ANSWER_FEATURES)
    assert list(params.mean) == list(params.scale) == list(ABSTENTION_FEATURES)
    assert list(params.topic) == list(TOPIC_FEATURES) and list(params.answered) == list(ANSWERED_FEATURES)
    assert 0.0 <= params.threshold <= 1.0
    assert DEFAULT.reading.abstain_threshold is None  # the reader's fitted threshold applies
    fitted_on = params.fitted_on
    assert fitted_on["data"] and all(len(digest) == 64 for digest in fitted_on["data"].values())
    assert {"settings_sha256", "encoder", "git_commit"} <= set(fitted_on)


def test_each_abstention_model_reads_only_its_features():
    # the topic model reads the raw cosines, the answered model their z-scores over the report
    assert set(TOPIC_FEATURES) <= set(ABSTENTION_FEATURES) and set(ANSWERED_FEATURES) <= set(ABSTENTION_FEATURES)
    assert {"top_dense", "answer_cosine"} <= set(TOPIC_FEATURES) - set(ANSWERED_FEATURES)
    assert {"top_dense_z", "answer_cosine_z"} <= set(ANSWERED_FEATURES) - set(TOPIC_FEATURES)
    reader = LinearReader()
    for name, w_topic, w_answered in zip(ABSTENTION_FEATURES, reader.topic, reader.answered):
        if name not in TOPIC_FEATURES:
            assert w_topic == 0.0, name
        if name not in ANSWERED_FEATURES:
            assert w_answered == 0.0, name


def _edited_params(tmp_path, edit):
    data = json.loads(PARAMS_PATH.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "linear.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_parameters_for_renamed_or_missing_features_are_refused(tmp_path):
    def rename(data):
        w = data["answer"]["weights"]
        w["cosine_similarity"] = w.pop("cosine")

    with pytest.raises(ReaderError) as e:
        LinearReader(LinearParams.load(_edited_params(tmp_path, rename)))
    assert isinstance(e.value, ReportQAError)
    assert "answer weights: missing cosine; unknown cosine_similarity" in str(e.value)
    with pytest.raises(ReaderError, match="topic weights: missing rare_missing"):
        LinearReader(LinearParams.load(_edited_params(tmp_path, lambda d: d["topic"]["weights"].pop("rare_missing"))))
    with pytest.raises(ReaderError, match="standardising scales: unknown novelty"):
        LinearReader(LinearParams.load(_edited_params(tmp_path, lambda d: d["standardise"]["scale"].update(novelty=1.0))))
    with pytest.raises(ReaderError, match="version"):
        LinearParams.load(_edited_params(tmp_path, lambda d: d.update(version=99)))
    with pytest.raises(ReaderError, match="malformed"):
        LinearParams.load(_edited_params(tmp_path, lambda d: d["answered"].pop("bias")))
    with pytest.raises(ReaderError, match="Cannot read"):
        LinearParams.load(tmp_path / "missing.json")


def test_a_swapped_reader_chooses_the_answer_and_whether_to_answer(tiny_source, fake_encoder, tmp_path):
    question = "When did the inspectors visit the bus depot?"
    fake = FakeReader(prefer="Ann Lee", p=0.9)
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, reader=fake, notify=lambda m: None)
    answer = a.answer(question)
    assert answer.answered and "Ann Lee" in answer.text and answer.confidence == 0.9
    assert a.index.chunks[0].text[answer.quote.start - a.index.chunks[0].start :].startswith(answer.text)
    assert fake.seen[-1][0] == question and answer.text in fake.seen[-1][1]  # chosen among the candidates it was given
    doubtful = FakeReader(prefer="Ann Lee", p=0.3, threshold=0.5)
    b = a.with_settings(a.settings, reader=doubtful)
    assert b.abstain_threshold == 0.5 and not b.answer(question).answered
    c = b.with_settings(b.settings.with_(abstain_threshold=0.2))  # the setting overrides the reader's threshold
    assert c.reader is doubtful and c.answer(question).answered
    linear = a.with_settings(a.settings, reader=LinearReader())
    assert "Ann Lee" not in linear.answer(question).text


def test_readers_are_found_by_name(tiny_source, fake_encoder, tmp_path, monkeypatch):
    monkeypatch.setitem(READERS, "fake", lambda: FakeReader(prefer="roof"))
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, settings=DEFAULT.with_(reader="fake"), notify=lambda m: None)
    assert isinstance(a.reader, FakeReader) and "roof" in a.answer("When did the inspectors visit?").text
    assert isinstance(Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder).reader, LinearReader)
    lost = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, settings=DEFAULT.with_(reader="nope"), notify=lambda m: None)
    with pytest.raises(ReaderError, match="no reader named 'nope'.*linear"):
        lost.answer("When did the inspectors visit?")


class EchoFeature:
    """An extra per-candidate feature (what a cross-encoder's score would be): 1 for spans naming Ann Lee."""

    answer_names = ("echo",)
    abstention_names = ("echo_best", "echo_margin")

    def answer(self, query, spans, base):
        return np.array([[float("Ann Lee" in query.table.span_text(c))] for c in spans])

    def abstention(self, query, spans, features, scores, choice):
        col = features[:, -1] if len(features) else np.zeros(1)
        return [float(col.max()), float(col.max() - np.median(col))]


def test_an_extra_feature_joins_the_linear_scorer_and_both_abstention_models(tiny_source, fake_encoder, tmp_path):
    with pytest.raises(ReaderError, match="missing echo"):
        LinearReader(extra=EchoFeature())  # the shipped fit does not know it
    shipped = LinearParams.load()
    params = LinearParams(
        answer={**shipped.answer, "echo": 5.0},
        mean={**shipped.mean, "echo_best": 0.5, "echo_margin": 0.0},
        scale={**shipped.scale, "echo_best": 0.5, "echo_margin": 1.0},
        topic={**shipped.topic, "echo_best": 0.1, "echo_margin": 0.0},
        topic_bias=shipped.topic_bias,
        answered={**shipped.answered, "echo_best": 0.2, "echo_margin": 0.3},
        answered_bias=shipped.answered_bias,
        threshold=shipped.threshold,
    )
    reader = LinearReader(params, extra=EchoFeature())
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, reader=reader, notify=lambda m: None)
    query = a.query("When did the inspectors visit the bus depot?")
    spans = candidates(query)
    scores = reader.score(query, spans)
    base = LinearReader().score(query, spans)
    assert scores.names == ANSWER_FEATURES + ("echo",) and scores.features.shape == (len(spans), len(ANSWER_FEATURES) + 1)
    assert np.allclose(scores.values, base.values + 5.0 * scores.features[:, -1])
    assert len(reader.abstention_features(query, spans, scores)) == len(ABSTENTION_FEATURES) + 2
    assert 0.0 <= reader.p_answerable(query, spans, scores) <= 1.0
    assert "Ann Lee" in a.answer("When did the inspectors visit the bus depot?").text


def test_short_paragraphs_merge_within_the_budget(tiny_source, fake_encoder):
    doc = read_documents(tiny_source)[0]
    merged = chunk_document(doc, fake_encoder.count_tokens, fake_encoder.max_tokens, merge_tokens=40)
    single = chunk_document(doc, fake_encoder.count_tokens, fake_encoder.max_tokens, merge_tokens=0)
    assert len(single) == 4 and len(merged) < len(single)
    for c in merged:
        assert doc.text[c.start : c.end] == c.text
        if "\n\n" in c.text:  # a passage of several paragraphs stays within the merge budget
            assert fake_encoder.count_tokens(c.text) <= 40
        assert all(doc.text[a:b].strip() == doc.text[a:b] for a, b in c.sentences)
    # merging never changes the sentences, only how they are grouped
    assert [s for c in merged for s in c.sentences] == [s for c in single for s in c.sentences]
    assert chunking.CHUNKING["merge_tokens"] == chunking.MERGE_TOKENS


def test_candidates_are_sentences_and_adjacent_pairs_of_one_passage(tiny_source, fake_encoder, tmp_path):
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, reader="linear", notify=lambda m: None)
    a.load()
    question = "When did the inspectors visit the bus depot?"
    query = a.query(question)
    spans = candidates(query)
    features = a.reader.score(query, spans).features
    assert features.shape == (len(spans), len(ANSWER_FEATURES))
    pair = ANSWER_FEATURES.index("pair")
    for c, row in zip(spans, features):
        chunk = a.index.chunks[c.chunk_id]
        starts = [s for s, _ in chunk.sentences]
        ends = [e for _, e in chunk.sentences]
        assert c.start in starts and c.end in ends  # whole sentences only
        width = ends.index(c.end) - starts.index(c.start) + 1
        assert width == c.width == len(c.rows) == (2 if row[pair] else 1)
        assert c.end - c.start <= a.settings.candidates.answer_max_chars or width == 1
        if width == 1:
            assert query.table.span_text(c) == query.table.texts[c.rows[0]]
        assert c.passage_rank == query.top_passages.index(c.chunk_id)
    decision = decide(a.reader, query, a.abstain_threshold)
    assert 0.0 <= decision.p <= 1.0 and decision.best == spans[decision.choice]
    assert decision.answered == (decision.p >= a.abstain_threshold)
    assert decision.scores.names == ANSWER_FEATURES
    assert len(a.reader.abstention_features(query, spans, decision.scores)) == len(ABSTENTION_FEATURES)
    assert decision.p == a.reader.p_answerable(query, spans, decision.scores)


def test_key_terms_are_names_and_numbers():
    assert key_terms("When did Operation Forced run in 2001?") == {"oper", "forc", "2001"}
    assert key_terms("what is the capital of australia") == set()


def test_a_report_of_short_lines_still_gets_answers(tmp_path, fake_encoder):
    source = tmp_path / "lines.txt"
    source.write_text("Budget 2024\n\nStaff: 12\n\nOffices: Leeds\n", encoding="utf-8")
    a = Assistant(source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    a.load()
    assert candidates(a.query("How many staff?"))


def test_answer_type_reads_the_opening_wh_phrase():
    from reportqa.reader import answer_type

    assert answer_type("When did the IOPC share its findings?") == "time"
    assert answer_type("In what year was the complaint made?") == "time"
    assert answer_type("operation forced year") == "time"  # a keyword query naming a year
    assert answer_type("How many strands made up Operation Linden?") == "number"
    assert answer_type("how many years did it go on") == "number"
    assert answer_type("Who responded for the force?") == "person"
    # a "when" or "whose" inside a clause is no answer type
    assert answer_type("What evidence did the force point to when it pushed back?") is None
    assert answer_type("Did SYP act on the men whose names came up?") is None


def test_typed_tokens():
    from reportqa.text import typed_tokens

    assert typed_tokens("Operation Forced in 2001/2002 and the 1990s, in May", "time") == {"2001/2002", "1990s", "may"}
    assert typed_tokens("It secured five convictions, 93 strands", "number") == {"five", "93"}
    assert typed_tokens("A spokesperson for South Yorkshire Police said", "person") == {"south", "yorkshire", "police"}


def test_yes_no_answer_takes_the_short_verdict_after_it(tmp_path, fake_encoder):
    from reportqa.reader import is_yes_no

    assert is_yes_no("Did it turn out to be feasible?") and is_yes_no("were the victims able to testify")
    assert not is_yes_no("Is the output simple or complex?")  # an alternative question
    assert not is_yes_no("What did the force do?")
    source = tmp_path / "r.txt"
    source.write_text(
        "Officers were tasked with assessing whether surveillance of the suspects was viable. "
        "It appears that it was not. The inspectors then wrote a long report about the depot, its buses, its drivers and its timetables.\n",
        encoding="utf-8",
    )
    a = Assistant(source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    a.load()
    chunk = a.index.chunks[0]
    (s0, e0), (s1, e1), (s2, e2) = chunk.sentences
    q = a.query("Was surveillance of the suspects viable?")
    first, second = q.table.candidate(0, s0, e0), q.table.candidate(0, s1, e1)
    assert extend_yes_no(q, first).span == (0, s0, e1) and extend_yes_no(q, first).width == 2
    assert extend_yes_no(a.query("What was assessed?"), first) == first
    assert extend_yes_no(q, second) == second  # the next one is long
    off = a.with_settings(a.settings.with_(yes_no_next_chars=0))
    assert extend_yes_no(off.query("Was surveillance of the suspects viable?"), first) == first


MARKDOWN_REPORT = """# Annual review of the depot

## Summary

The depot handled 4,200 parcels in 2023. Staff numbers rose to 58.

## Findings

- The roof leaked in three places
- Fire doors were blocked on two visits
- The manager, Jane Okafor, was appointed in May 2022

| Year | Parcels |
|------|---------|
| 2023 | 4,200   |

---

Did the roof leak? It did.
### Next steps for the depot roof

To reset the alarm, run:

```sh
alarmctl reset --zone north. Then wait
```
"""


def test_a_markdown_report_keeps_headings_tables_bullets_and_code_apart(tmp_path, fake_encoder):
    source = tmp_path / "review.md"
    source.write_text(MARKDOWN_REPORT, encoding="utf-8")
    a = Assistant(source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    a.load()
    a = a.with_settings(a.settings.with_(answer_passages=len(a.index.chunks)))  # every passage gives candidates
    sentences = {}  # (chunk id, start, end) -> text, for every sentence of the report
    for c in a.index.chunks:
        for s, e in c.sentences:
            sentences[c.id, s, e] = c.text[s - c.start : e - c.start]
    assert {"## Findings", "- Fire doors were blocked on two visits", "| 2023 | 4,200   |"} <= set(sentences.values())
    pairs = set()
    for question in ("How many staff?", "Who is the manager?", "Were fire doors blocked?", "parcels 2023", "reset the alarm"):
        query = a.query(question)
        pairs |= {text for text in map(query.table.span_text, candidates(query)) if text not in sentences.values()}
    assert pairs == {
        "The depot handled 4,200 parcels in 2023. Staff numbers rose to 58.",
        "Did the roof leak? It did.",
        "To reset the alarm, run:\n\n```sh\nalarmctl reset --zone north. Then wait\n```",
    }
    # A heading is never an answer on its own, however many words it shares with the question.
    question = "next steps for the depot roof"
    query = a.query(question)
    texts = {query.table.span_text(c) for c in candidates(query)}
    assert "### Next steps for the depot roof" in sentences.values()  # four content words: long enough
    assert "- The roof leaked in three places" in texts and not any(t.startswith("#") for t in texts)
    # A yes/no answer takes the short next sentence, but never a heading.
    table = query.table
    by_text = {text: table.candidate(*key) for key, text in sentences.items()}
    assert extend_yes_no(a.query("Did it leak?"), by_text["It did."]) == by_text["It did."]
    cid, start, _ = by_text["Did the roof leak?"].span
    assert extend_yes_no(a.query("Did the roof leak?"), by_text["Did the roof leak?"]).span == (cid, start, by_text["It did."].end)


def test_a_headline_takes_neither_its_byline_as_a_pair_nor_as_a_yes_no_verdict(tmp_path, fake_encoder):
    source = tmp_path / "news.txt"
    source.write_text("Teenagers who use phones after midnight sleep less and score lower, study finds\n\nBy Priya"
                      " Natarajan, Health Correspondent\nPublished 14 March 2024\n\nTeenagers who use their phones after"
                      " midnight sleep 48 minutes less.\n", encoding="utf-8")
    a = Assistant(source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    a.load()
    query = a.query("Did the study find that phones cost sleep?")
    texts = [query.table.span_text(c) for c in candidates(query)]
    assert texts[0].endswith("study finds") and not any("Priya" in t and "finds" in t for t in texts)
    assert extend_yes_no(query, candidates(query)[0]) == candidates(query)[0]


def test_a_missing_key_term_weighs_by_its_rarity_in_the_report(tmp_path, fake_encoder):
    """A name the report never uses missing from the quote counts in full, one it seldom uses for
    less, and the report's subject (in every passage here) is no key term at all; a number is one
    however common."""
    from reportqa.reader.context import SUBJECT_SHARE
    from reportqa.reader.features import abstention_features

    filler = (" The weather that season was mild and the roads stayed open for most of the year, so the drivers"
              " kept to their usual routes and timetables without any delay at all.")  # one passage per paragraph
    source = tmp_path / "depot.txt"
    source.write_text("\n\n".join(p + filler for p in (
        "Acme runs the bus depot on the edge of the town, and Acme hired forty new drivers for it in 2019.",
        "Inspectors sent by Acme visited the depot in March 2019 and found worn brakes on six buses.",
        "Acme replaced the worn brakes within a month of 2019, but never published the cost.",
        "The council asked Acme for the bill, and was told the figure was private.",
        "The depot first opened in 1998 with room for sixty buses.",
        "Its roof was repaired in 2005 after a winter storm tore part of it away.",
    )) + "\n", encoding="utf-8")
    a = Assistant(source, tmp_path / "index", encoder=fake_encoder, reader="linear", notify=lambda m: None)
    a.load()
    missing = ABSTENTION_FEATURES.index("keys_missing_span")
    values = {}
    for name in ("Acme", "Zorblat", "Council"):
        query = a.query(f"When did the {name} depot first open?")
        spans = candidates(query)
        choice = next(i for i, c in enumerate(spans) if query.table.span_text(c).startswith("The depot first opened"))
        scores = a.reader.score(query, spans)
        values[name] = abstention_features(query, spans, scores.features, scores.values, choice)[missing]
    assert len(a.index.chunks) == 6
    assert a.query("When did Acme open the depot?").keys == set()  # in 4 passages of 6: the subject
    assert a.query("When did Zorblat open the depot in 2019?").keys == {"zorblat", "2019"}  # 2019: in 3 of 6
    assert a.query("When did the Council open the depot?").keys == {"council"}  # in 1 of 6
    assert 1 / 6 < SUBJECT_SHARE <= 4 / 6
    assert values["Acme"] == 0.0
    assert values["Zorblat"] == pytest.approx(1.0)
    assert 0.0 < values["Council"] < 1.0


def test_answer_weights_are_read_without_the_abstention_part():
    shipped = LinearParams.load()
    names = list(ANSWER_FEATURES)
    assert shipped.answer_vector(names).tolist() == [shipped.answer[n] for n in names]
    stale = dataclasses.replace(shipped, mean={}, scale={})  # abstention numbers of other features
    assert stale.answer_vector(names).shape == (len(names),)
    with pytest.raises(ReaderError, match="no answer weights for novel"):
        shipped.answer_vector(names + ["novel"])


def test_an_answer_records_the_candidates_it_weighed_and_the_threshold(tiny_source, fake_encoder, tmp_path):
    """/why's facts: the best candidate quotes by the reader's score, none overlapping a better one,
    with checkable offsets; the first is the one quoted; the threshold is the assistant's."""
    fake = FakeReader(prefer="Ann Lee", p=0.9, threshold=0.5)
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, reader=fake, notify=lambda m: None)
    answer = a.answer("Who is the depot manager?")
    assert answer.answered and answer.threshold == 0.5
    assert 1 < len(answer.considered) <= 3
    first = answer.considered[0]
    assert first.quote == answer.quote and first.text == answer.text
    scores = [c.score for c in answer.considered]
    assert scores == sorted(scores, reverse=True)
    text = (tiny_source / first.quote.source).read_text(encoding="utf-8") if tiny_source.is_dir() else tiny_source.read_text(encoding="utf-8")
    for c in answer.considered:
        assert text[c.quote.start : c.quote.end] == c.text
    spans = [(c.quote.start, c.quote.end) for c in answer.considered]
    assert all(e1 <= s2 or e2 <= s1 for i, (s1, e1) in enumerate(spans) for s2, e2 in spans[i + 1 :])
    declined = a.with_settings(a.settings, reader=FakeReader(prefer="Ann Lee", p=0.1, threshold=0.5)).answer("Who is the depot manager?")
    assert not declined.answered and declined.considered[0].text == first.text  # the near miss stays visible
    assert "considered" not in answer.to_dict() and "threshold" not in answer.to_dict()  # /why only, not the JSON
