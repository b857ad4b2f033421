"""Would ordering the cited passages by the reader help retrieval? (issue 11 asks; measured, not kept)

    python -m benchmarks.rerank

``Assistant.answer`` cites the chosen answer's passage first and the rest in the fused
retrieval order. This compares that order with two reranks of the passages after the
first: by each passage's best reader logit (passages the reader did not read come after,
in fused order), and by each passage's best answer score. It prints hit@1, hit@3 and
MRR@10 over the answerable questions, answering all, for each SQuAD article (with the
shipped ``cross.json``, the same for every order), their macro average, and the bundled set.
"""

from __future__ import annotations

import numpy as np

from reportqa import Assistant
from reportqa.pipeline import citation
from reportqa.evaluate import cited_rank, load_questions, rank_figures
from reportqa.reader.base import decide, make_reader
from reportqa.settings import DEFAULT
from training import fit_data

ORDERS = ("fused", "reader", "answer score")
K = 10


def orders(a: Assistant, question: str) -> dict[str, list[int]]:
    """The cited passages' order under each variant, the answer's passage first in all."""
    query = a.query(question)
    ranking = query.ranking
    d = decide(a.reader, query, a.abstain_threshold)
    best = d.best.chunk_id if d.best is not None else None
    fused = {int(c): i for i, c in enumerate(ranking.order)}
    logits = d.scores.features[:, d.scores.names.index("reader")] if len(d.candidates) else np.zeros(0)
    unread = float(logits.min()) if len(logits) else 0.0
    by_reader: dict[int, float] = {}
    by_score: dict[int, float] = {}
    for c, logit, score in zip(d.candidates, logits, d.scores.values):
        if logit > unread:
            by_reader[c.chunk_id] = max(by_reader.get(c.chunk_id, -np.inf), float(logit))
        by_score[c.chunk_id] = max(by_score.get(c.chunk_id, -np.inf), float(score))
    pool = set(list(fused)[:30]) | set(by_score)

    def first_best(order: list[int]) -> list[int]:
        if best is not None:
            order = [best] + [c for c in order if c != best]
        return order[:K]

    return {
        "fused": first_best(sorted(pool, key=lambda c: fused.get(c, np.inf))),
        "reader": first_best(sorted(pool, key=lambda c: (-by_reader.get(c, -np.inf), fused.get(c, np.inf)))),
        "answer score": first_best(sorted(pool, key=lambda c: (-by_score.get(c, -np.inf), fused.get(c, np.inf)))),
    }


def figures(a: Assistant, questions: list[dict]) -> dict[str, tuple[float, float, float]]:
    ranks: dict[str, list] = {v: [] for v in ORDERS}
    for q in questions:
        if q.get("answerable", True) is False:
            continue
        for v, order in orders(a, q["q"]).items():
            ranks[v].append(cited_rank([citation(a.index.chunks[i], 0.0) for i in order], q))
    return {v: tuple(rank_figures(rs).values()) for v, rs in ranks.items()}


def main() -> int:
    sets = fit_data.assistants()
    shipped = make_reader(DEFAULT.reading.reader)  # fit_data.assistants' Assistants carry no reader of their own
    rows = {slug: figures(a.with_settings(a.settings, reader=shipped), qs) for slug, (a, qs) in sets.items()}
    rows["SQuAD macro"] = {v: tuple(float(np.mean([rows[s][v][i] for s in fit_data.ARTICLES])) for i in range(3)) for v in ORDERS}
    bundled = Assistant(encoder=sets[fit_data.ARTICLES[0]][0].encoder, notify=lambda m: None)
    bundled.load()
    rows["bundled"] = figures(bundled, load_questions(fit_data.ROOT / "tests" / "data" / "questions.jsonl"))
    print(f"{'':34} {'order':>13}  hit@1  hit@3  MRR@10")
    for name, by in rows.items():
        for v, (h1, h3, mrr) in by.items():
            print(f"{name:34} {v:>13}  {h1:.3f}  {h3:.3f}  {mrr:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
