"""Examples for the passage reader: a question with one of the index's own passages.

Each SQuAD article (``../shared/datasets/squad-train``, CC BY-SA 4.0) is laid out as the
benchmark reports are (its paragraphs joined by one blank line) and cut into passages by
reportqa's own chunker, with the encoder's 256-wordpiece window, so the reader trains on
what it reads at run time. An example is ``(question, passage text, start, end, group, kind)``
with character offsets of the answer in the passage, or ``-1, -1`` for "no answer":

* ``answer``: a SQuAD question with the passage that holds its gold span;
* ``on-topic``: the same question with a passage of its article that reportqa's lexical
  first stage (BM25 over stemmed content words, passages as documents) ranks high but that
  holds no gold answer text: what the reader gets when retrieval misses;
* ``impossible``: SQuAD 2.0's unanswerable questions with the passage of their paragraph;
* ``lure`` (``--lures``): for a question that asks when, how many or who
  (``qtype.answer_type``), a high-ranked passage of its article that holds no gold answer text
  but does hold a year, number or name the question does not: the passage that pulls a
  reader to a confident span of the right type, the wrong answer;
* ``swapped`` (``--swaps SHARE``): for that share of the answerable questions, the question with one name, year or figure that its answer's
  passage holds swapped for another of the same kind from its article that the passage does
  not hold (the sentence reader's twins, ``reader_data.swapped_question``), read with the
  same passage: it no longer answers it ("how many … in 2016" of a passage about 2017), as
  SQuAD 2.0's unanswerables were written.
* ``deleted`` (``--deletions SHARE``): for that share of the answerable questions, the answer's
  own passage with the sentences that hold the gold span taken out (and no other copy of an
  answer text left): the passage still talks about what the question names, in the same words,
  and no longer says what it asks ("how many men were convicted in 2016" of a passage that says
  only that men were convicted in 2016). SQuAD 2.0's annotators wrote such questions by hand;
  taking the answer's sentence out makes them from any answerable one.
* ``blanked`` (``--blanks SHARE``): for that share of the when, how-many and who questions, the
  answer's own passage with the answer itself taken out of its sentence (and a preposition
  right before it: "convicted in 2016" → "convicted"), kept only where that sentence still
  holds a year, figure or two names the question does not: the sentence that matches the
  question, with a wrong answer of the asked type inside it ("how many men were convicted in
  2016" of "they were convicted in 2016 – 14 years later").

``group`` is the question's number, shared by its examples.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from reportqa.chunking import Chunk, chunk_document
from reportqa.ingest import Document
from reportqa.lexical import BM25
from reportqa.models.encoder import MAX_TOKENS
from reportqa.reader.qtype import answer_type
from reportqa.settings import DEFAULT
from reportqa.text import sentence_spans, terms, typed_tokens
from training import reader_data

NO_ANSWER = -1


def norm(s: str) -> str:
    """Not ``evaluate.normalize`` (which also drops articles), on purpose: the passage reader's examples
    stay those its runs were built from, so a run resumes on the same data (docs/reader.md)."""
    return " ".join(re.sub(r"[^\w\s]", " ", s.lower()).split())


@dataclass(frozen=True)
class Example:
    question: str
    passage: str
    start: int  # answer offsets in the passage, or NO_ANSWER
    end: int
    group: int
    kind: str  # one of KINDS

KINDS = ("answer", "on-topic", "impossible", "lure", "swapped", "deleted", "blanked")
PREPOSITIONS = frozenset("in on at of by from since to for with during about around than as".split())


@dataclass
class Article:
    title: str
    text: str
    offsets: list[int]  # where each paragraph starts in text
    chunks: list[Chunk]
    bm25: BM25

    def chunk_holding(self, start: int, end: int) -> int | None:
        for i, c in enumerate(self.chunks):
            if c.start <= start and end <= c.end:
                return i
        return None

    def paragraph(self, pi: int) -> str:
        end = self.offsets[pi + 1] - 2 if pi + 1 < len(self.offsets) else len(self.text)
        return self.text[self.offsets[pi] : end]

    @cached_property
    def mentions(self) -> dict[str, list[str]]:
        """The article's names, years and figures by kind (``reader_data.mentions``), for swapped questions."""
        kinds: dict[str, set[str]] = {}
        for a, b, k in reader_data.mentions(self.text):
            kinds.setdefault(k, set()).add(self.text[a:b])
        return {k: sorted(v) for k, v in kinds.items()}

    def ranked(self, question: str) -> list[int]:
        """Passage numbers by BM25 score for the question, best first (ties in passage order)."""
        scores = self.bm25.scores(terms(question))
        return sorted(range(len(self.chunks)), key=lambda i: (-scores[i], i))


def layout(article: dict, count_tokens) -> Article:
    """An article as a report: paragraphs joined by a blank line, cut by reportqa's chunker."""
    paras = [p["context"] for p in article["paragraphs"]]
    offsets, pos = [], 0
    for p in paras:
        offsets.append(pos)
        pos += len(p) + 2
    text = "\n\n".join(paras)
    doc = Document(name=article["title"], path=Path(article["title"]), text=text, sha256="")
    chunks = chunk_document(doc, count_tokens, MAX_TOKENS)
    bm25 = BM25.from_docs([terms(c.text) for c in chunks], DEFAULT.retrieval.bm25_k1, DEFAULT.retrieval.bm25_b)
    return Article(article["title"], text, offsets, chunks, bm25)


def answer_spans(art: Article, pi: int, qa: dict) -> list[tuple[int, int]]:
    return [(art.offsets[pi] + a["answer_start"], art.offsets[pi] + a["answer_start"] + len(a["text"]))
            for a in qa.get("answers", [])]


def no_answer_passages(art: Article, qa: dict, exclude: set[int], n: int) -> list[int]:
    """The n best-ranked passages outside ``exclude`` that hold none of the question's answer texts."""
    golds = {norm(a["text"]) for a in qa.get("answers", []) if norm(a["text"])}
    out = []
    for i in art.ranked(qa["question"]):
        if len(out) == n:
            break
        if i in exclude or any(g in norm(art.chunks[i].text) for g in golds):
            continue  # another passage may answer it too: not a clean negative
        out.append(i)
    return out


def lure_passages(art: Article, qa: dict, exclude: set[int], n: int, depth: int = 8) -> list[int]:
    """Up to n of the ``depth`` best-ranked passages outside ``exclude`` that hold no answer text but hold
    a token of the type the question asks for (a year, a number, two names) that the question does not."""
    kind = answer_type(qa["question"])
    if kind is None or n <= 0:
        return []
    asked = typed_tokens(qa["question"], kind)
    need = 2 if kind == "person" else 1  # one capitalised word is too common to lure
    out = []
    for i in no_answer_passages(art, qa, exclude, depth):
        if len(typed_tokens(art.chunks[i].text, kind) - asked) >= need:
            out.append(i)
            if len(out) == n:
                break
    return out


def without_answer(passage: str, start: int, end: int, answers: list[str]) -> str | None:
    """The passage with the sentences that overlap passage[start:end] taken out, joined by the white space
    on either side of them that breaks more lines (a paragraph break stays one).

    None if nothing is left, or if what is left still holds an answer text or a name or figure of one
    ("Assad" of "Bashar al-Assad"): not a clean negative."""
    cut = [(a, b) for a, b in sentence_spans(passage) if a < end and start < b]
    if not cut:
        return None
    a, b = cut[0][0], cut[-1][1]
    head, tail = passage[:a].rstrip(), passage[b:].lstrip()
    around = (passage[len(head) : a], passage[b : len(passage) - len(tail)])
    joint = max(around, key=lambda w: (w.count("\n"), len(w))) if head and tail else ""
    rest = head + joint + tail
    return None if not rest.strip() or holds_answer(rest, answers) else rest


def holds_answer(text: str, answers: list[str]) -> bool:
    """Whether text still holds an answer text, or a name or figure of one ("Assad" of "Bashar al-Assad").

    Any capitalised word counts, a sentence-initial "The" of "The Beatles" too, so such answers give no
    deleted or blanked example: stricter than needed, kept as span-del and span-blank were built with it
    (docs/reader.md), so their commands rebuild the same data."""
    left = set(re.findall(r"\w+", text))
    return any((norm(answer) and norm(answer) in norm(text))
               or any(w in left for w in re.findall(r"\w+", answer) if w[0].isupper() or w[0].isdigit())
               for answer in answers)


def without_span(passage: str, start: int, end: int, answers: list[str], question: str) -> str | None:
    """The passage with passage[start:end] (and a preposition right before it) taken out of its sentence,
    if the question asks for a type (``answer_type``) and the sentence still holds a token of that type the
    question does not (two names for "who"); None otherwise, or if an answer is still in the passage."""
    kind = answer_type(question)
    holder = [(a, b) for a, b in sentence_spans(passage) if a <= start and end <= b]
    if kind is None or not holder:
        return None
    (a, b), tail = holder[0], passage[end:]
    head = passage[:start].rstrip()
    before = re.search(r"(\w+)$", head)
    if before and before.group(1).lower() in PREPOSITIONS:
        head = head[: before.start()].rstrip()
    if not head:
        tail = tail.lstrip()
    joint = " " if head and tail[:1].isalnum() else ""  # else the tail's own space or punctuation joins
    rest = head + joint + tail
    sentence = head[a:] + joint + passage[end:b]
    need = 2 if kind == "person" else 1
    if len(typed_tokens(sentence, kind) - typed_tokens(question, kind)) < need or holds_answer(rest, answers):
        return None
    return rest


def examples_for(art: Article, pi: int, qa: dict, group: int, on_topic: int, lures: int = 0,
                 swaps: float = 0.0, deletions: float = 0.0, blanks: float = 0.0) -> list[Example]:
    q = qa["question"].strip()
    if qa.get("is_impossible"):  # its own paragraph's best passage: on topic, and written not to answer
        lo, hi = art.offsets[pi], art.offsets[pi] + len(art.paragraph(pi))
        own = [i for i in art.ranked(q) if art.chunks[i].start < hi and lo < art.chunks[i].end]
        return [Example(q, art.chunks[i].text, NO_ANSWER, NO_ANSWER, group, "impossible") for i in own[:1]]
    spans = answer_spans(art, pi, qa)
    holder = art.chunk_holding(*spans[0])
    if holder is None:
        return []  # the answer crosses a passage edge (rare)
    c = art.chunks[holder]
    s, e = spans[0]
    out = [Example(q, c.text, s - c.start, e - c.start, group, "answer")]
    negatives = no_answer_passages(art, qa, {holder}, on_topic)
    for i in negatives:
        out.append(Example(q, art.chunks[i].text, NO_ANSWER, NO_ANSWER, group, "on-topic"))
    for i in lure_passages(art, qa, {holder, *negatives}, lures):
        out.append(Example(q, art.chunks[i].text, NO_ANSWER, NO_ANSWER, group, "lure"))
    twin_rng = random.Random(group)  # its own generator: the other examples do not depend on swaps
    if swaps and twin_rng.random() < swaps:
        changed = reader_data.swapped_question(q, c.text, art.mentions, twin_rng)
        if changed is not None:
            out.append(Example(changed, c.text, NO_ANSWER, NO_ANSWER, group, "swapped"))
    texts = [a["text"] for a in qa.get("answers", [])]
    silenced = (("deleted", deletions, lambda: without_answer(c.text, s - c.start, e - c.start, texts)),
                ("blanked", blanks, lambda: without_span(c.text, s - c.start, e - c.start, texts, q)))
    for kind, share, make in silenced:  # each with its own generator too
        if share and random.Random(f"{kind}-{group}").random() < share and (rest := make()) is not None:
            out.append(Example(q, rest, NO_ANSWER, NO_ANSWER, group, kind))
    return out


def pools(data: dict, heldout: set[str], rng: random.Random):
    """(answerable training questions, held-out questions, unanswerable ones) as (article, paragraph, qa),
    the first two shuffled by rng in that order, so a held-out sample does not depend on the training one's size."""
    articles = data["data"]
    pool = [(ai, pi, qa) for ai, a in enumerate(articles) for pi, p in enumerate(a["paragraphs"]) for qa in p["qas"]]
    impossible = [p for p in pool if p[2].get("is_impossible") and articles[p[0]]["title"] not in heldout]
    answerable = [p for p in pool if not p[2].get("is_impossible")]
    train_pool = [p for p in answerable if articles[p[0]]["title"] not in heldout]
    held_pool = [p for p in answerable if articles[p[0]]["title"] in heldout]
    rng.shuffle(train_pool)
    rng.shuffle(held_pool)
    return train_pool, held_pool, impossible


def held_out(data: dict, held_pool: list, n: int, count_tokens) -> list[tuple[Article, int, dict]]:
    """The first n held-out questions, each with its article laid out (once per article)."""
    laid: dict[int, Article] = {}
    out = []
    for ai, pi, qa in sorted(held_pool[:n], key=lambda p: (p[0], p[1])):
        if ai not in laid:
            laid[ai] = layout(data["data"][ai], count_tokens)
        out.append((laid[ai], pi, qa))
    return out


def build(data: dict, n_questions: int, heldout: set[str], rng: random.Random, count_tokens, log,
          on_topic: int = 1, held_questions: int = 400, skip: int = 0, lures: int = 0,
          swaps: float = 0.0, deletions: float = 0.0, blanks: float = 0.0) -> tuple[list[Example], list[tuple[Article, int, dict]]]:
    """Training examples, and the held-out questions (article, paragraph, qa) for ``span_eval``.

    ``skip`` passes over the first answerable questions of the seeded order, so a run that
    carries on from an earlier one (``--init PATH --skip-questions N``) reads new questions."""
    articles = data["data"]
    train_pool, held_pool, impossible = pools(data, heldout, rng)
    sample = sorted(train_pool[skip : skip + n_questions] + impossible, key=lambda p: (p[0], p[1]))
    current: dict[int, Article] = {}
    out: list[Example] = []
    for group, (ai, pi, qa) in enumerate(sample):  # in article order: each article laid out once
        if ai not in current:
            current = {ai: layout(articles[ai], count_tokens)}
        out.extend(examples_for(current[ai], pi, qa, group, on_topic, lures, swaps, deletions, blanks))
    rng.shuffle(out)
    held = held_out(data, held_pool, held_questions, count_tokens)
    kinds = {k: sum(1 for e in out if e.kind == k) for k in KINDS}
    log(f"questions: sampled {n_questions:,} answerable (after the first {skip:,}) + {len(impossible)} unanswerable; examples {kinds}; "
        f"held out {len(held)} questions from {len(heldout)} articles")
    return out, held
