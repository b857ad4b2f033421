"""Held-out figures for passage readers and sentence readers, on the same questions and passages.

Each held-out question (an article ``squad.heldout_titles`` keeps out) is read twice:

* **answerable**: the passage that holds its answer and the two best-ranked passages of its
  article that hold no answer text (what the reader gets when retrieval finds it);
* **no answer**: the three best-ranked passages that hold no answer text (retrieval missed).

Figures:

* ``f1`` / ``em``: SQuAD's token F1 and exact match of the span read from the answer's own passage;
* ``quote_contains``: the quote (the sentence, or the sentences, holding the best span of the
  three answerable passages) contains a gold answer, as reportqa would cite it;
* ``auc``: how well the best margin (span score minus "no answer" score) over a reading tells
  the answerable readings from the no-answer ones; ``answer_rate`` / ``decline_rate`` at a
  margin of 0, and ``balanced`` their mean.

``cross_figures`` gives the sentence reader (the shipped cross-encoder) the same readings: it
scores every candidate span (sentence or joinable pair) of the passages, and its best logit
stands for the margin.
"""

from __future__ import annotations

import numpy as np

from reportqa.evaluate import normalize, token_f1
from reportqa.reader.spans import best_span
from reportqa.text import sentence_spans
from training import span_data


def items(held) -> list[dict]:
    out = []
    for art, pi, qa in held:
        golds = span_data.answer_spans(art, pi, qa)
        holder = art.chunk_holding(*golds[0])
        if holder is None:
            continue
        others = span_data.no_answer_passages(art, qa, {holder}, 3)
        if len(others) < 3:
            continue
        out.append({"question": qa["question"].strip(), "answers": [a["text"] for a in qa["answers"]],
                    "golds": golds, "chunks": [art.chunks[i] for i in [holder] + others]})
    return out


def quote_of(chunk, start: int, end: int) -> tuple[int, int]:
    """The sentence (or run of sentences) of a passage that holds [start, end), in file offsets."""
    sents = sentence_spans(chunk.text) or [(0, len(chunk.text))]
    hold = [(a, b) for a, b in sents if a < max(end, start + 1) and start < b] or [min(sents, key=lambda s: abs(s[0] - start))]
    return chunk.start + hold[0][0], chunk.start + hold[-1][1]


def auc(pos: list[float], neg: list[float]) -> float:
    pos_, neg_ = np.array(pos)[:, None], np.array(neg)[None, :]
    return float(((pos_ > neg_).sum() + 0.5 * (pos_ == neg_).sum()) / (pos_.size * neg_.size))


def summary(f1s, ems, contains, pos, neg, cut: float) -> dict:
    answer_rate = float(np.mean([p > cut for p in pos]))
    decline_rate = float(np.mean([n <= cut for n in neg]))
    out = {"questions": len(pos), "quote_contains": round(float(np.mean(contains)), 4), "auc": round(auc(pos, neg), 4),
           "answer_rate": round(answer_rate, 4), "decline_rate": round(decline_rate, 4),
           "balanced": round((answer_rate + decline_rate) / 2, 4)}
    if f1s:
        out = {"f1": round(100 * float(np.mean(f1s)), 1), "em": round(100 * float(np.mean(ems)), 1), **out}
    return out


def span_figures(read, rows: list[dict]) -> dict:
    """``read(question, texts) -> [SpanScore | None]``: a passage reader's figures."""
    f1s, ems, contains, pos, neg = [], [], [], [], []
    for r in rows:
        scores = read(r["question"], [c.text for c in r["chunks"]])
        own = scores[0]
        pred = r["chunks"][0].text[own.start : own.end] if own else ""
        f1s.append(max(token_f1(pred, a) for a in r["answers"]))
        ems.append(max(float(normalize(pred) == normalize(a)) for a in r["answers"]))
        margins = [s.margin if s else -1e9 for s in scores]
        best = int(np.argmax(margins[:3]))
        a, b = quote_of(r["chunks"][best], scores[best].start, scores[best].end) if scores[best] else (0, 0)
        contains.append(any(a <= s and e <= b for s, e in r["golds"]))
        pos.append(max(margins[:3]))
        neg.append(max(margins[1:]))
    return summary(f1s, ems, contains, pos, neg, 0.0)


def cross_figures(logits, rows: list[dict], spans_of) -> dict:
    """``logits(questions, texts)``: the sentence reader on every candidate span of the same passages."""
    contains, pos, neg = [], [], []
    for r in rows:
        cands = [(k, c.start + a, c.start + b) for k, c in enumerate(r["chunks"]) for a, b, _ in spans_of(c.text)[1]]
        texts = [r["chunks"][k].text[a - r["chunks"][k].start : b - r["chunks"][k].start] for k, a, b in cands]
        got = logits([r["question"]] * len(texts), texts)
        in_answerable = [i for i, (k, _, _) in enumerate(cands) if k < 3]
        in_missed = [i for i, (k, _, _) in enumerate(cands) if k >= 1]
        best = max(in_answerable, key=lambda i: got[i])
        contains.append(any(cands[best][1] <= s and e <= cands[best][2] for s, e in r["golds"]))
        pos.append(float(max(got[i] for i in in_answerable)))
        neg.append(float(max(got[i] for i in in_missed)))
    return summary([], [], contains, pos, neg, 0.0)


def torch_reader(model, tokenizer, max_len: int, torch):
    """``read`` for a torch ``BertForQuestionAnswering``."""

    def read(question: str, texts: list[str]):
        enc = tokenizer([question] * len(texts), texts, truncation="only_second", max_length=max_len,
                        return_offsets_mapping=True, padding=True, return_tensors="pt")
        with torch.inference_mode():
            out = model(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"], attention_mask=enc["attention_mask"])
        res = []
        for k in range(len(texts)):
            seq = enc.sequence_ids(k)
            passage = np.array([s == 1 for s in seq])
            offsets = [tuple(o) for o in enc["offset_mapping"][k].tolist()]
            res.append(best_span(out.start_logits[k].float().numpy(), out.end_logits[k].float().numpy(), offsets, passage))
        return res

    return read


def evaluate(model, tokenizer, held, max_len: int, torch) -> dict:
    was_training = model.training
    model.eval()
    try:
        return span_figures(torch_reader(model, tokenizer, max_len, torch), items(held))
    finally:
        model.train(was_training)
