"""How often the long form found for "what does X stand for?" is right: the confidence reader/spelled.py gives.

Every question of the SQuAD training set that ``abbreviations.asked`` takes for such a question
is asked of its whole article (its paragraphs joined, as a report): the long form comes from a
definition in the article ("long form (SF)"), else from a run of words whose initials spell X
and no other run that does. It is right when its words and a gold answer's overlap with token F1
of at least 0.5 (SQuAD's normalisation). A definition's figure is the confidence of the answers
``spelled_out`` gives; the initials' is how often the long form ``expanded`` reads into a
question is the right one (initials are never an answer on their own). A question that is only
"what is X?" (``abbreviations.asked_what_is``) counts apart, and only where the article defines
X: its figure is the confidence of those answers. This is training data, which the rules were
written on: the dev articles of ../shared/benchmarks are not used here.

    python -m benchmarks.abbreviations [--show]
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from reportqa.evaluate import normalize
from reportqa.reader import abbreviations as ab

ROOT = Path(__file__).resolve().parent.parent
SQUAD_TRAIN = ROOT.parent / "shared" / "datasets" / "squad-train" / "squad-train.json.gz"


@dataclass
class Counts:
    """Questions asked, and for each way of finding a long form how many it found and how many were right."""

    asked: int = 0
    found: Counter = field(default_factory=Counter)  # "defined", "initials", "ambiguous", "none", "what is"
    right: Counter = field(default_factory=Counter)
    wrong: list = field(default_factory=list)  # (how, question, long form, gold)


def f1(a: str, b: str) -> float:
    x, y = normalize(a).split(), normalize(b).split()
    common = sum((Counter(x) & Counter(y)).values())
    return 0.0 if not common else 2 * common / (len(x) + len(y))


def long_form(text: str, defined: dict, short: str) -> tuple[str, str | None]:
    """How the long form of ``short`` was found in ``text``, and its text (as reader/spelled.py finds it)."""
    found = defined.get(ab.key(short))
    if found:
        return "defined", found[0].long
    runs = [text[a:b] for a, b in ab.initials(text, short)]
    if not runs:
        return "none", None
    if not all(ab.same_phrase(runs[0], r) for r in runs):
        return "ambiguous", None
    return "initials", runs[0]


def measure(path: Path = SQUAD_TRAIN) -> Counts:
    data = json.load(gzip.open(path, "rt", encoding="utf-8"))["data"]
    counts = Counts()
    for article in data:
        text = "\n\n".join(p["context"] for p in article["paragraphs"])
        defined = defaultdict(list)
        for d in ab.definitions(text):
            defined[ab.key(d.short)].append(d)
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                short = ab.asked(qa["question"], defined.__contains__)
                what_is = ab.asked_what_is(qa["question"], defined.__contains__) if short is None else None
                if (short is None and what_is is None) or qa.get("is_impossible"):
                    continue
                if what_is is not None:  # only where the article defines it
                    short, how, long = what_is, "what is", defined[ab.key(what_is)][0].long
                else:
                    counts.asked += 1
                    how, long = long_form(text, defined, short)
                counts.found[how] += 1
                if long is None:
                    continue
                gold = [a["text"] for a in qa["answers"]]
                if max(f1(long, g) for g in gold) >= 0.5:
                    counts.right[how] += 1
                else:
                    counts.wrong.append((how, qa["question"], long, gold[0]))
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list the questions where the long form was wrong")
    args = parser.parse_args(argv)
    t = time.perf_counter()
    counts = measure()
    print(f"{counts.asked} answerable questions asked what an abbreviation stands for ({time.perf_counter() - t:.0f} s)\n")
    print("| found by | questions | right | P (right + 1) / (found + 2) |\n|---|---|---|---|")
    for how in ("defined", "initials"):
        n, r = counts.found[how], counts.right[how]
        print(f"| {how} | {n} | {r} | {(r + 1) / (n + 2):.3f} |")
    for how in ("ambiguous", "none"):
        print(f"| {how} (the reader answers) | {counts.found[how]} | – | – |")
    n, r = counts.found["what is"], counts.right["what is"]
    print(f"\n{n} answerable questions were only \"what is X?\" of an X their article defines\n")
    print(f"| found by | questions | right | P (right + 1) / (found + 2) |\n|---|---|---|---|\n"
          f"| defined | {n} | {r} | {(r + 1) / (n + 2):.3f} |")
    if args.show:
        print()
        for row in counts.wrong:
            print(*row, sep=" | ")


if __name__ == "__main__":
    main()
