"""How often a right answer's sentence holds the kind its question asks for (reader/asked.py).

Every answerable question of the SQuAD training set whose opening phrase ``asked.asked_kind``
reads as asking for a count, an amount of money, an age, a year, a name, a time or a length: does the sentence
that holds its gold answer (reportqa's own sentence cutting, ``text.sentence_spans``, over the
paragraph) hold one, by ``asked.holds``? A sentence that does not is a right answer the rule
would decline. This is training data, which the rule was written on: the dev articles of
../shared/benchmarks are not used here.

    python -m benchmarks.asked_kinds [--show N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections import Counter
from pathlib import Path

from reportqa.reader import asked
from reportqa.text import sentence_spans

ROOT = Path(__file__).resolve().parent.parent
SQUAD_TRAIN = ROOT.parent / "shared" / "datasets" / "squad-train" / "squad-train.json.gz"
KINDS = ("count", "money", "age", "year", "name", "time", "length")


def answer_sentence(context: str, start: int, end: int) -> str:
    """The sentences of context that the answer [start, end) overlaps, joined as they stand."""
    spans = [(s, e) for s, e in sentence_spans(context) if s < end and start < e]
    return context[spans[0][0]: spans[-1][1]] if spans else context


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show", type=int, default=0, metavar="N", help="also show N sentences of each kind that hold none")
    args = ap.parse_args(argv)
    data = json.loads(gzip.open(SQUAD_TRAIN).read())
    held, missed = Counter(), {k: [] for k in KINDS}
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                kind = asked.asked_kind(qa["question"])
                if qa.get("is_impossible") or kind is None:
                    continue
                gold = qa["answers"][0]
                sentence = answer_sentence(context, gold["answer_start"], gold["answer_start"] + len(gold["text"]))
                if asked.holds(kind, qa["question"], sentence):
                    held[kind] += 1
                else:
                    missed[kind].append((qa["question"], gold["text"], sentence))
    print("| kind | answerable training questions | sentence holds the kind |")
    print("|---|---|---|")
    for kind in KINDS:
        n = held[kind] + len(missed[kind])
        print(f"| {kind} | {n:,} | {held[kind] / max(n, 1):.1%} |")
    rng = random.Random(13)
    for kind in KINDS:
        for question, gold, sentence in rng.sample(missed[kind], min(args.show, len(missed[kind]))):
            print(f"{kind}: {question!r} (gold {gold!r}): {sentence[:160]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
