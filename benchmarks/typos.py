"""Mistyped questions: what reading a typo as the report's word (``reader/typos.py``) does.

    python -m benchmarks.typos                # the bundled fixed set and the three SQuAD articles
    python -m benchmarks.typos --copies 3     # each question mistyped three ways (seeded)

Each question is asked as written and with one word mistyped (a word of four letters or more
that is no stopword: two neighbouring letters swapped, one left out, one added or one changed; the
word, the kind, the position and the letter drawn with a seed from the question's id), and each
is read both as typed and as reportqa reads it, with the shipped reader and fit. It prints hit@1,
contains (the quote holds a gold answer, answered or not), contains with abstention, answered
and declined, and how many mistyped words were read as another word, and as the one that was
mistyped. The SQuAD articles are scored with the fit made on all three (``cross.json``), so
their level is not held out; the ways of reading are compared on the same fit.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import time
from pathlib import Path

from benchmarks.tables import table
from benchmarks.variants import BUNDLED_QUESTIONS
from reportqa import Assistant, pipeline
from reportqa.evaluate import evaluate, load_questions
from reportqa.reader.typos import MIN_LETTERS
from reportqa.text import STOPWORDS
from training.fit_data import ARTICLES, SHARED

KINDS = ("swapped", "left out", "added", "changed")
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def mistype(question: str, seed: str) -> tuple[str, str, str] | None:
    """(the question with one word mistyped, the word, the typo) or None if no word may be."""
    rng = random.Random(seed)
    spans, start = [], 0
    for word in question.split():
        at = question.index(word, start)
        start = at + len(word)
        core = word.strip("?!.,;:\"'()“”‘’")
        if len(core) >= MIN_LETTERS and core.isalpha() and core.lower() not in STOPWORDS:
            spans.append((question.index(core, at), core))
    if not spans:
        return None
    at, word = rng.choice(spans)
    kind = rng.choice(KINDS)
    i = rng.randrange(len(word) - 1) if kind == "swapped" else rng.randrange(len(word))
    if kind == "swapped":
        typo = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    elif kind == "left out":
        typo = word[:i] + word[i + 1 :]
    elif kind == "added":
        typo = word[:i] + rng.choice(LETTERS) + word[i:]
    else:
        typo = word[:i] + rng.choice(LETTERS.replace(word[i].lower(), "")) + word[i + 1 :]
    if typo == word:  # two equal letters swapped
        return None
    return question[:at] + typo + question[at + len(word) :], word, typo


@contextlib.contextmanager
def as_typed():
    """Questions read as typed: no word read as another."""
    saved = pipeline.corrected
    pipeline.corrected = lambda query: (query.text, ())
    try:
        yield
    finally:
        pipeline.corrected = saved


COLUMNS = [("hit@1", "hit@1"), ("contains", "contains_all"), ("contains (abst.)", "contains"),
           ("answered", "answered_rate"), ("abstained", "abstain_rate"), ("abst. on-topic", "abstain_on_topic")]


def run(a: Assistant, questions: list[dict], copies: int) -> tuple[dict, dict]:
    typed = []
    for q in questions:
        for c in range(copies):
            made = mistype(q["q"], f"{q['id']}:{c}")
            if made is not None:
                typed.append(q | {"q": made[0], "id": f"{q['id']}:{c}", "word": made[1], "typo": made[2]})
    with as_typed():
        rows = {"as written, read as typed": evaluate(a, questions, k=3)["summary"]}
    rows["as written, read as reportqa reads it"] = evaluate(a, questions, k=3)["summary"]
    with as_typed():
        rows["one word mistyped, read as typed"] = evaluate(a, typed, k=3)["summary"]
    rows["one word mistyped, read as reportqa reads it"] = evaluate(a, typed, k=3)["summary"]
    read = right = 0
    for q in typed:
        _, fixed, _ = a.pipeline._expanded_query(q["q"])
        read += bool(fixed)
        right += any(t == q["typo"] and w.lower() == q["word"].lower() for t, w in fixed)
    return rows, {"mistyped": len(typed), "read as another word": read, "read as the word mistyped": right}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=1, help="mistyped versions of each question (default 1)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sets = {"bundled, fixed set": (Assistant(notify=lambda m: None), load_questions(BUNDLED_QUESTIONS))}
    for slug in ARTICLES:
        sets[f"SQuAD {slug}"] = (Assistant(source=SHARED / f"{slug}.txt", notify=lambda m: None),
                                 load_questions(Path(SHARED / f"{slug}.questions.jsonl")))
    for name, (a, questions) in sets.items():
        a.load()
        rows, counts = run(a, questions, args.copies)
        print(table(f"{name} ({len(questions)} questions)", rows, COLUMNS) + "\n")
        print(", ".join(f"{k}: {v}" for k, v in counts.items()) + "\n", flush=True)
    print(f"measured in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
