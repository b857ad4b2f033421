"""Is the answer scorer short of data or of features? Variants of the cross reader's scorer, LOAO.

    python -m benchmarks.scorer_probe      # about 4 minutes on 2 cores

The cross reader's answer scorer (``fitting.fit_softmax`` over the linear features and the
reader's) is fitted on two SQuAD dev articles and scored on the third, as ``quality.py``
does, answering every question (the scorer's own choice: no yes/no extension). Variants:

* **more data**: the six SQuAD *training* articles the shipped reader held out
  (``train_reader.py``: seed 13, ``--heldout-articles 6``; it never read them) join the
  fit, 905 answerable questions beside the dev articles' ~350;
* **reader rank**: two more answer features, 1 for the span the reader rates second and
  third (it already has ``best_reader`` for the first).

It prints hit@1 (the chosen span's passage holds a gold span) and contains (the span holds
a gold answer), macro over the three articles, and per article. docs/quality.md has the run.
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from reportqa import Assistant
from reportqa.evaluate import cited_rank
from training import fit_data, fitting
from training.squad import DATA as TRAIN, heldout_titles

READER_SEED, HELDOUT_ARTICLES = 13, 6  # the shipped reader's run (docs/reader.md)


def heldout_train_articles(folder: Path) -> dict[str, tuple[Path, list[dict]]]:
    """The training articles the shipped reader never read, as report files and question lists
    (chosen by training/squad.py's heldout_titles, as train_reader.py chose them)."""
    data = json.load(gzip.open(TRAIN, "rt", encoding="utf-8"))
    held = heldout_titles(data, READER_SEED, HELDOUT_ARTICLES)
    out = {}
    for art in data["data"]:
        if art["title"] not in held:
            continue
        text, questions = "", []
        for para in art["paragraphs"]:
            offset = len(text) + (2 if text else 0)
            text += ("\n\n" if text else "") + para["context"]
            for qa in para["qas"]:
                answers = qa["answers"]
                questions.append({"q": qa["question"], "answers": sorted({a["text"] for a in answers}),
                                  "spans": [[offset + a["answer_start"], offset + a["answer_start"] + len(a["text"])] for a in answers]})
        path = folder / f"{art['title']}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        out[art["title"]] = (path, questions)
    return out


def reader_rank(item: fit_data.Item, column: int) -> np.ndarray:
    """1 for the spans the reader rates second and third."""
    logits = item.features[:, column]
    rank = np.empty(len(logits))
    rank[np.argsort(-logits, kind="stable")] = np.arange(len(logits))
    return np.stack([rank == 1, rank == 2], axis=1).astype(float)


def main() -> int:
    for needed in (fit_data.SHARED, TRAIN):
        if not needed.exists():
            print(f"No benchmark data at {needed}.", file=sys.stderr)
            return 2
    started = time.perf_counter()
    sets = fit_data.assistants()
    names = fit_data.cross_features()
    items = [it for it in fit_data.collect(sets, names=names) if it.kind == "answerable"]
    questions = {(slug, q["q"]): q for slug, (_, qs) in sets.items() for q in qs}
    extra = []
    with tempfile.TemporaryDirectory() as tmp:
        for title, (path, qs) in heldout_train_articles(Path(tmp)).items():
            a = Assistant(source=path, encoder=next(iter(sets.values()))[0].encoder, notify=lambda m: None)
            a.load()
            extra += [fit_data.item(a, title, q, "answerable", names) for q in qs]
    print(f"{len(items)} answerable dev questions, {len(extra)} from the held-out training articles "
          f"({time.perf_counter() - started:.0f} s)\n")
    column = names.answer.index("reader")
    length = names.answer.index("length")

    def gold_passage(it: fit_data.Item, c: int) -> bool:
        chunk = it.query.table.index.chunks[it.spans[c].chunk_id]
        return cited_rank([chunk], questions[(it.article, it.question)]) is not None  # evaluate's own overlap test

    print("| variant | hit@1 | contains | " + " | ".join(f"{s} hit@1 / contains" for s in fit_data.ARTICLES) + " |")
    print("|---|---|---|" + "---|" * len(fit_data.ARTICLES))
    for label, more, ranks in (("shipped form (dev articles only)", False, False), ("+ held-out training articles", True, False),
                               ("+ reader rank 2nd / 3rd", False, True), ("+ both", True, True)):
        x = (lambda it: np.hstack([it.features, reader_rank(it, column)])) if ranks else (lambda it: it.features)
        per = []
        for held in fit_data.ARTICLES:
            train = [it for it in items if it.article != held] + (extra if more else [])
            w = fitting.fit_softmax([(x(it), it.labels.astype(float)) for it in train if it.labels.any()],
                                x(train[0]).shape[1], length)
            test = [it for it in items if it.article == held and len(it.spans)]
            picks = [int(np.argmax(x(it) @ w)) for it in test]
            per.append((np.mean([gold_passage(it, c) for it, c in zip(test, picks)]),
                        np.mean([bool(it.labels[c]) for it, c in zip(test, picks)])))
        h, c = np.mean(per, axis=0)
        print(f"| {label} | {h:.3f} | {c:.3f} | " + " | ".join(f"{a:.3f} / {b:.3f}" for a, b in per) + " |")
    print(f"\n{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
