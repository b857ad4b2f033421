"""The sentence reader's example builders (training/reader_data.py, training/squad.py; no torch: only main() trains).

The repository's top is on the path in tests (pyproject.toml's ``pythonpath``), as it is for
``python -m training.…`` run from there.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest

from training import loop, reader_data, squad


def test_a_swapped_twin_changes_one_name_or_figure_the_answer_holds_for_one_it_does_not():
    span = "Beyoncé released Dangerously in Love in 2003, with Jay-Z on one track."
    article = {"name": ["Beyoncé", "Destiny's Child", "Kelly Rowland"], "year": ["2003", "2006"], "figure": ["20"]}
    seen = set()
    for seed in range(40):
        twin = reader_data.swapped_question("When did Beyoncé release Dangerously in Love?", span, article, random.Random(seed))
        assert twin is not None
        seen.add(twin)
    # Capitalised runs of the question that the span holds ("Beyoncé", "Dangerously", "Love":
    # the lower-case "in" ends a run), each swapped for a name the span lacks.
    q = "When did Beyoncé release Dangerously in Love?"
    expected = {q.replace(old, new) for old in ("Beyoncé", "Dangerously", "Love") for new in ("Destiny's Child", "Kelly Rowland")}
    assert seen <= expected and len(seen) >= 4
    assert reader_data.swapped_question("In 2003 who sang on it?", "It came out in 2003.", article, random.Random(0)) == \
        "In 2006 who sang on it?"  # a year for a year


def test_no_twin_when_the_question_names_nothing_its_answer_holds():
    article = {"name": ["Paris", "Lyon"], "year": ["1900"]}
    assert reader_data.swapped_question("What is the capital?", "Paris is the capital.", article, random.Random(0)) is None
    assert reader_data.swapped_question("Why did Rome fall?", "It fell slowly.", article, random.Random(0)) is None
    # Nothing of the same kind to swap in: no twin either.
    assert reader_data.swapped_question("When did Paris grow?", "Paris and Lyon grew.", {"name": ["Paris", "Lyon"]}, random.Random(0)) is None


def test_the_heldout_articles_are_drawn_from_those_without_unanswerable_questions():
    data = {"data": [{"title": f"a{i}", "paragraphs": [{"qas": [{"is_impossible": i % 3 == 0}]}]} for i in range(12)]}
    held = squad.heldout_titles(data, 13, 4)
    assert len(held) == 4 and held == squad.heldout_titles(data, 13, 4)
    assert not held & {"a0", "a3", "a6", "a9"}


PARAGRAPH = (
    "The inspectors visited the bus depot in March 2019 and found the brakes worn. "
    "Yes. "
    "It was not the first time. "
    "The operator replaced every brake pad within a fortnight, at a cost of 40,000 pounds."
)


def test_training_spans_are_the_candidates_the_reader_weighs_at_run_time(tmp_path, fake_encoder):
    """reader_data.spans_of cuts a paragraph as reader.candidates cuts a passage: the lone "Yes." is no
    candidate (too few content words), the pairs are those text.joins allows (the copy it replaced kept "Yes.")."""
    from reportqa import Assistant
    from reportqa.reader import candidates

    (tmp_path / "report.txt").write_text(PARAGRAPH, encoding="utf-8")
    a = Assistant(tmp_path / "report.txt", tmp_path / "index", encoder=fake_encoder, reader="linear", notify=lambda m: None)
    a.load()
    assert len(a.index.chunks) == 1
    at_run_time = {(c.start, c.end, c.width) for c in candidates(a.query("When did the inspectors visit the depot?"))}
    sentences, spans = reader_data.spans_of(PARAGRAPH)
    assert set(spans) == at_run_time
    yes = PARAGRAPH.index("Yes.")
    assert (yes, yes + 4) in sentences and (yes, yes + 4, 1) not in spans


def test_a_checkpoint_keeps_its_format_and_a_run_resumes_from_it(tmp_path):
    """loop.py's checkpoint is the one both trainers wrote before it existed, so a run started then resumes."""
    torch = pytest.importorskip("torch")
    said = []
    args = SimpleNamespace(out=tmp_path, resume=False, freeze_word_embeddings=False, lr=1e-2, warmup=0.1)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer, schedule = loop.optimiser(model, args, 10, torch)
    assert loop.resume(args, model, optimizer, schedule, 10, torch, said.append) == loop.Resumed(0, [], False)
    model(torch.ones(2, 3)).sum().backward()
    optimizer.step()
    schedule.step()
    loop.save_checkpoint(tmp_path, model, optimizer, schedule, 1, [(1, 0.5)], torch)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert set(state) == {"model", "optimizer", "schedule", "torch_rng", "step", "curve"} and state["step"] == 1

    assert loop.resume(args, model, optimizer, schedule, 10, torch, said.append) is None  # no --resume: refused
    assert "pass --resume" in said[-1]
    args.resume = True
    again = torch.nn.Linear(3, 1)
    optimizer2, schedule2 = loop.optimiser(again, args, 10, torch)
    at = loop.resume(args, again, optimizer2, schedule2, 10, torch, said.append)
    assert (at.step, at.curve, at.resumed) == (1, [(1, 0.5)], True) and said[-1] == "resumed at step 1 of 10"
    assert torch.equal(again.weight, model.weight) and schedule2.get_last_lr() == schedule.get_last_lr()


def _town_article():
    from training import span_data

    paras = ["The council talks about roads and the budget in the old hall, and the council talks about roads a lot. " * 2,
             "In 1901 the council first met in the old hall, and the mayor, John Smith, opened the session. " * 2,
             "The council talks about the roads every spring, and the hall is open to all who wish to listen. " * 2,
             "The hall itself was built by Mary Jones of the county, long before the roads came to the town. " * 2]
    return span_data.layout({"title": "T", "paragraphs": [{"context": p, "qas": []} for p in paras]}, len)  # one paragraph a passage


def test_a_lure_holds_a_token_of_the_asked_type_and_no_answer():
    from training import span_data

    art = _town_article()
    assert len(art.chunks) == 4
    qa = {"question": "When does the council talk about the roads?", "answers": [{"text": "every spring", "answer_start": 0}]}
    # Passage 1 is the only one with a year; the answer's passage (2) is excluded, passage 0 holds no year.
    assert span_data.lure_passages(art, qa, {2}, 1) == [1]
    assert span_data.lure_passages(art, qa, {1, 2}, 1) == []  # no other passage holds a year
    why = dict(qa, question="Why does the council talk about the roads?")
    assert span_data.lure_passages(art, why, {2}, 1) == []  # no answer type asked: no lure
    assert span_data.lure_passages(art, qa, {2}, 0) == []


def test_a_swapped_question_reads_its_own_passage_as_no_answer_and_changes_nothing_else():
    from training import span_data

    art = _town_article()
    text = art.chunks[1].text
    qa = {"question": "When did John Smith open the session in the old hall?",
          "answers": [{"text": "1901", "answer_start": text.index("1901")}]}
    plain = span_data.examples_for(art, 1, qa, 7, on_topic=1)
    both = span_data.examples_for(art, 1, qa, 7, on_topic=1, swaps=1.0)
    assert [e.kind for e in plain] == ["answer", "on-topic"]
    assert both[: len(plain)] == plain  # the other examples do not depend on swaps
    (twin,) = [e for e in both if e.kind == "swapped"]
    assert twin.passage == art.chunks[1].text and twin.start == twin.end == span_data.NO_ANSWER
    assert twin.question != qa["question"] and "John Smith" not in twin.question
    new = twin.question.replace("When did ", "").split(" open")[0]
    assert new in art.text and new not in twin.passage  # a name of the article that the passage lacks


def test_a_deleted_passage_loses_the_answers_sentence_and_keeps_the_rest():
    from training import span_data

    text = "The hall opened in 1901. John Smith was its first mayor.\n\nHe served until 1920. The roads came later."
    s = text.index("John Smith")
    rest = span_data.without_answer(text, s, s + len("John Smith"), ["John Smith"])
    assert rest == "The hall opened in 1901.\n\nHe served until 1920. The roads came later."
    # An answer text still in what is left (another copy, or another accepted answer): no example.
    assert span_data.without_answer(text, s, s + 4, ["John", "1920"]) is None
    # A name or figure of the answer left (the surname of a full name): no example either.
    assert span_data.without_answer(text.replace("He served", "Smith served"), s, s + 10, ["John Smith"]) is None
    # Nothing left: no example.
    assert span_data.without_answer("John Smith was mayor.", 0, 10, ["John Smith"]) is None
    # The first sentence: the joint is dropped with it.
    assert span_data.without_answer(text, 19, 23, ["1901"]) == "John Smith was its first mayor.\n\nHe served until 1920. The roads came later."


def test_a_deleted_example_reads_the_question_with_its_passage_silent_and_changes_nothing_else():
    from training import span_data

    paras = ["The council talks about roads and the budget in the old hall, and the council talks about roads a lot. " * 2,
             "The council first met in the old hall in 1901. John Smith, the mayor, opened that session with a long "
             "speech about the roads. The hall was full of people from the town and from the farms around it."]
    art = span_data.layout({"title": "T", "paragraphs": [{"context": p, "qas": []} for p in paras]}, len)
    text = art.chunks[1].text
    qa = {"question": "When did the council first meet in the old hall?",
          "answers": [{"text": "1901", "answer_start": paras[1].index("1901")}]}
    plain = span_data.examples_for(art, 1, qa, 7, on_topic=1)
    both = span_data.examples_for(art, 1, qa, 7, on_topic=1, deletions=1.0)
    assert [e.kind for e in plain] == ["answer", "on-topic"]
    assert both[: len(plain)] == plain  # the other examples do not depend on deletions
    (cut,) = [e for e in both if e.kind == "deleted"]
    assert cut.question == qa["question"] and cut.start == cut.end == span_data.NO_ANSWER
    assert cut.passage.startswith("John Smith, the mayor, opened") and "1901" not in cut.passage
    assert text.endswith(cut.passage)
    # With the answer said twice in its passage, taking one sentence out leaves it: no example.
    twice = dict(qa, answers=[{"text": "hall", "answer_start": paras[1].index("hall")}])
    assert [e.kind for e in span_data.examples_for(art, 1, twice, 7, on_topic=0, deletions=1.0)] == ["answer"]


def test_a_blanked_passage_loses_the_answer_and_keeps_a_wrong_one_of_its_type_beside_the_question():
    from training import span_data

    text = "They went on. The men were convicted in 2016, five of them, 14 years later. Police said so."
    s = text.index("five")
    rest = span_data.without_span(text, s, s + 4, ["five"], "How many men were convicted in 2016?")
    # The answer is gone; "14" (a figure the question does not hold) stays in the sentence that matches.
    assert rest == "They went on. The men were convicted in 2016, of them, 14 years later. Police said so."
    s = text.index("2016")
    # "When": the preposition goes with the year, and no other year is left in the sentence: no example.
    assert span_data.without_span(text, s, s + 4, ["2016"], "When were the men convicted?") is None
    # Who: two names of others must be left in the answer's sentence.
    names = "The hall opened in 1901. John Smith ran it with Tom Brown until 1920."
    s = names.index("John Smith")
    assert span_data.without_span(names, s, s + 10, ["John Smith"], "Who ran the hall?") == \
        "The hall opened in 1901. ran it with Tom Brown until 1920."
    # No asked type ("what"), or the answer still elsewhere in the passage: no example.
    assert span_data.without_span(text, text.index("five"), text.index("five") + 4, ["five"], "What happened?") is None
    twice = text + " All five were jailed."
    assert span_data.without_span(twice, text.index("five"), text.index("five") + 4, ["five"], "How many were convicted?") is None


def test_a_reader_graph_starts_a_smaller_reader():
    """train_reader --init GRAPH --keep-layers: the graph's weights, head included, load into a fresh
    model that then computes the graph's logits; keeping layers gives a model the graph builder reads."""
    torch = pytest.importorskip("torch")
    import numpy as np
    from transformers import BertConfig, BertForSequenceClassification

    from reportqa.models import graph
    from training import train_reader

    config = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, num_labels=1)
    torch.manual_seed(0)
    trained = BertForSequenceClassification(config).eval()
    torch.nn.init.normal_(trained.classifier.weight, std=1.0)
    built = graph.build_graph({k.removeprefix("bert."): v.numpy() for k, v in trained.state_dict().items()},
                              config.to_dict(), head="classifier")
    torch.manual_seed(1)
    fresh = BertForSequenceClassification(config).eval()
    missing, unexpected = fresh.load_state_dict(train_reader.graph_state(built, torch), strict=False)
    assert [k for k in missing if not k.endswith("position_ids")] == [] and unexpected == []

    ids = torch.from_numpy(np.random.default_rng(2).integers(1, 120, size=(2, 7)))
    feeds = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    with torch.inference_mode():
        assert torch.allclose(fresh(**feeds).logits, trained(**feeds).logits, atol=1e-5)
        train_reader.keep_layers(fresh, [0, 2], lambda _: None)
        small = fresh(**feeds).logits.squeeze(-1).numpy()
    assert fresh.config.num_hidden_layers == 2
    assert not np.allclose(small, trained(**feeds).logits.squeeze(-1).detach().numpy(), atol=1e-3)
    smaller = graph.build_graph({k.removeprefix("bert."): v.numpy() for k, v in fresh.state_dict().items()},
                                fresh.config.to_dict(), head="classifier")
    import onnxruntime as ort

    session = ort.InferenceSession(smaller.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {k: v.numpy() for k, v in feeds.items()})[0]
    assert np.abs(got - small).max() < 1e-4

    with pytest.raises(SystemExit):
        train_reader.keep_layers(fresh, [5], lambda _: None)


def _overlapping_scores(seed: int, n_pos: int = 100, n_neg: int = 200):
    """Calibrated-looking P for answerable and unanswerable questions whose ranges overlap, as the fit's do."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pos = 1 / (1 + np.exp(-rng.normal(-0.8, 1.3, n_pos)))
    neg = 1 / (1 + np.exp(-rng.normal(-2.0, 1.3, n_neg)))
    return np.concatenate([pos, neg]), np.r_[np.ones(n_pos, dtype=bool), np.zeros(n_neg, dtype=bool)]


def test_one_question_moves_the_one_se_threshold_but_not_the_steady_one():
    from training.fitting import best_balanced_threshold, steady_threshold

    p, answerable = _overlapping_scores(9)
    changed = p.copy()
    changed[0] = 0.0  # one answerable question now read with no confidence at all
    assert abs(best_balanced_threshold(changed, answerable) - best_balanced_threshold(p, answerable)) >= 0.05
    assert abs(steady_threshold(changed, answerable) - steady_threshold(p, answerable)) <= 0.01


def test_the_steady_threshold_ignores_the_items_order_and_keeps_a_clean_cut():
    import numpy as np

    from training.fitting import best_balanced_threshold, steady_threshold

    p, answerable = _overlapping_scores(3)
    order = np.random.default_rng(1).permutation(len(p))
    assert steady_threshold(p[order], answerable[order]) == steady_threshold(p, answerable)
    # separated classes, the highest unanswerable P shared by many: every resample cuts just above it
    clean = np.r_[np.linspace(0.6, 0.9, 50), np.full(30, 0.3), np.linspace(0.0, 0.3, 70)]
    labels = np.r_[np.ones(50, dtype=bool), np.zeros(100, dtype=bool)]
    assert steady_threshold(clean, labels) == best_balanced_threshold(clean, labels) == 0.31


DEPOT_REPORT = "\n\n".join([
    "The inspectors visited the bus depot in March 2021 and counted forty buses in the yard, "
    "each of them checked for worn brakes, cracked mirrors, leaking fuel lines and faded signs.",
    "The depot manager, Ann Lee, said the new roof over the workshop was finished in May, so "
    "water no longer leaks onto the lifts where the mechanics work through the winter months.",
    "The report recommends a second inspection in 2023, with the fuel store and the wash bay "
    "looked at first, since both were closed for repairs on the day of the first visit.",
])


def test_an_absent_question_reads_the_report_as_if_its_answers_passage_were_not_there(tmp_path, fake_encoder):
    """fit_data.absent_item hides the answer's passage from the ranking and from the statistics that
    say which words the report uses: "manager" is then no word of the report, as in a report that
    never said who the manager is, and the question's share of report words (in_corpus) falls."""
    from reportqa import Assistant
    from reportqa.retrieve import zscore
    from reportqa.text import terms
    from training import fit_data

    source = tmp_path / "report.txt"
    source.write_text(DEPOT_REPORT, encoding="utf-8")
    a = Assistant(source, tmp_path / "index", encoder=fake_encoder, reader="linear", notify=lambda m: None)
    a.load()
    chunks = a.index.chunks
    assert len(chunks) == 3
    at = DEPOT_REPORT.index("Ann Lee")
    q = {"q": "Who is the depot manager?", "answers": ["Ann Lee"], "spans": [[at, at + len("Ann Lee")]]}
    query = a.query(q["q"])
    hidden = fit_data.absent_item(a, "depot", q, fit_data.FEATURES, query)
    assert hidden is not None and hidden.kind == "absent"
    answer_chunk = next(i for i, c in enumerate(chunks) if c.start <= at < c.end)
    assert answer_chunk not in hidden.query.ranking.order.tolist()
    assert hidden.spans and all(c.chunk_id != answer_chunk for c in hidden.spans)
    manager, depot = terms("manager")[0], terms("depot")[0]
    assert query.bm25.df[manager] == 1 and manager not in hidden.query.bm25.df
    assert hidden.query.bm25.df[depot] == query.bm25.df[depot] - 1
    assert hidden.query.bm25.n == query.bm25.n - 1
    assert hidden.query.coverage(hidden.query.bm25.df) < query.coverage(query.bm25.df)
    # its scores count for nothing in the z-scores: how far a passage stands out is measured against the other two
    assert np.isnan(hidden.query.ranking.dense[answer_chunk]) and np.isnan(hidden.query.fused_z[answer_chunk])
    kept = [i for i in range(3) if i != answer_chunk]
    assert np.allclose(hidden.query.fused_z[kept], zscore(query.ranking.fused[kept]))
