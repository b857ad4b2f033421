"""The sentence reader's examples: (question, candidate span, label, group) from SQuAD train.

Spans are cut as the answer candidates are at run time (``reader.candidates.passage_spans``
over reportqa's own sentence splitter: one sentence, or two adjacent sentences that
``text.joins`` allows, at most ``answer_max_chars`` long, lone sentences with too few
content words left out), and a gold answer is matched as ``evaluate.normalize`` reads it.
``train_reader.py``'s docstring says which examples a question gets.
"""

from __future__ import annotations

import random
import re

from reportqa.evaluate import normalize
from reportqa.lexical import BM25
from reportqa.reader.candidates import passage_spans
from reportqa.settings import DEFAULT
from reportqa.text import sentence_spans, terms


def spans_of(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """Sentences of a paragraph, and its candidate spans (start, end, width) as at run time: those of
    ``reader.candidates`` with the paragraph as the passage (all spans when none passes the word floor)."""
    sents = sentence_spans(text)
    texts = [text[a:b] for a, b in sents]
    counts = [len(set(terms(t))) for t in texts]

    def cut(min_terms: int) -> list[tuple[int, int, int]]:
        return [(sents[j][0], sents[j + width - 1][1], width)
                for j, width in passage_spans(sents, texts.__getitem__, counts.__getitem__, min_terms, DEFAULT.candidates.answer_max_chars)]

    return sents, cut(DEFAULT.candidates.min_answer_terms) or cut(0)


# Names and numbers in a question or an article: capitalised runs (not the question's first
# word) and figures. A swap keeps the kind: a year for a year, a figure for a figure.
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’-]*)*")
_FIGURE = re.compile(r"\b\d[\d,.]*\d\b|\b\d\b")


def _kind(token: str) -> str:
    if token[0].isdigit():
        return "year" if re.fullmatch(r"1\d{3}|20\d{2}", token) else "figure"
    return "name"


def mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of the names and figures in a text."""
    found = [(m.start(), m.end(), _kind(m.group())) for m in _NAME.finditer(text)]
    found += [(m.start(), m.end(), _kind(m.group())) for m in _FIGURE.finditer(text)]
    return sorted(found)


def swapped_question(q: str, span: str, article_mentions: dict[str, list[str]], rng: random.Random) -> str | None:
    """The question with one name or figure that its answer span contains swapped for another
    of the same kind from the same article that the span does not contain, or None.

    This is how many of SQuAD 2.0's unanswerable questions were written: on topic, near
    the answer's words, but about something the text does not say. The span that answered
    the original is the hardest negative there is for the swapped one."""
    span_l = span.lower()
    slots = [(a, b, k) for a, b, k in mentions(q) if q[a:b].lower() in span_l]
    if not slots:
        return None
    a, b, kind = rng.choice(slots)
    others = [t for t in article_mentions.get(kind, []) if t.lower() not in span_l and t.lower() not in q.lower()]
    if not others:
        return None
    return q[:a] + rng.choice(others) + q[b:]


def build_examples(data: dict, n_questions: int, heldout: set[str], rng: random.Random, log,
                   same_para: int = 2, mined: int = 1, swap: float = 0.0, seed: int = 0) -> tuple[list, list]:
    """(train, heldout) lists of (question, span text, label, group id).

    Each answerable question gets ``same_para`` negatives from its own paragraph and
    ``mined`` on-topic negatives from the article's other paragraphs. With ``swap`` > 0,
    that share of them also gets a swapped twin (``swapped_question``) whose group is all
    negatives: the original's answer span first, then one other span of the paragraph.
    The twins draw from their own generator, so ``swap=0`` builds exactly what it did
    before the option existed."""
    swap_rng = random.Random(seed * 7 + 3)
    articles = data["data"]
    pool = []  # (article index, paragraph index, qa)
    for ai, art in enumerate(articles):
        for pi, para in enumerate(art["paragraphs"]):
            for qa in para["qas"]:
                pool.append((ai, pi, qa))
    impossible = [p for p in pool if p[2].get("is_impossible")]
    answerable = [p for p in pool if not p[2].get("is_impossible")]
    train_pool = [p for p in answerable if articles[p[0]]["title"] not in heldout]
    held_pool = [p for p in answerable if articles[p[0]]["title"] in heldout]
    rng.shuffle(train_pool)
    rng.shuffle(held_pool)
    sample = train_pool[:n_questions] + [p for p in impossible if articles[p[0]]["title"] not in heldout]
    held_sample = held_pool[: max(200, n_questions // 40)]
    log(f"questions: {len(answerable):,} answerable and {len(impossible)} unanswerable in {len(articles)} articles; "
        f"sampled {n_questions:,} answerable + {len(sample) - n_questions} unanswerable; held out {len(held_sample)} "
        f"from {len(heldout)} articles")

    cache: dict[int, dict] = {}

    def article(ai: int) -> dict:
        if ai not in cache:
            paras = articles[ai]["paragraphs"]
            rows = []  # (paragraph, start, end) of every sentence of the article
            per_para = []
            kinds: dict[str, set[str]] = {}
            for pi, para in enumerate(paras):
                sents, cands = spans_of(para["context"])
                per_para.append((sents, cands))
                rows.extend((pi, a, b) for a, b in sents)
                if swap:
                    for a, b, k in mentions(para["context"]):
                        kinds.setdefault(k, set()).add(para["context"][a:b])
            bm25 = BM25.from_docs([terms(paras[pi]["context"][a:b]) for pi, a, b in rows], DEFAULT.retrieval.bm25_k1, DEFAULT.retrieval.bm25_b)
            cache[ai] = {"per_para": per_para, "rows": rows, "bm25": bm25,
                         "mentions": {k: sorted(v) for k, v in kinds.items()}}
        return cache[ai]

    def make(items, with_mined: bool) -> list:
        out = []
        for gid, (ai, pi, qa) in enumerate(items):
            art = article(ai)
            text = articles[ai]["paragraphs"][pi]["context"]
            sents, cands = art["per_para"][pi]
            q = qa["question"].strip()
            golds = [(a["answer_start"], a["answer_start"] + len(a["text"])) for a in qa.get("answers", [])]
            gold_texts = {normalize(a["text"]) for a in qa.get("answers", []) if normalize(a["text"])}
            holds = [c for c in cands if golds and any(c[0] <= s and e <= c[1] for s, e in golds)]
            clear = [c for c in cands if not any(c[0] < e and s < c[1] for s, e in golds)]
            if golds:
                if not holds:
                    continue  # the answer is cut by a span edge the splitter made (rare)
                singles = [c for c in holds if c[2] == 1]
                pos = [singles[0] if singles else min(holds, key=lambda c: c[1] - c[0])]
                pairs = [c for c in holds if c[2] == 2 and c not in pos]
                if pairs and rng.random() < 0.3:
                    pos.append(rng.choice(pairs))
                for c in pos:
                    out.append((q, text[c[0] : c[1]], 1.0, gid))
                negs = rng.sample(clear, min(same_para, len(clear)))
                if swap and swap_rng.random() < swap:
                    twin = swapped_question(q, text[pos[0][0] : pos[0][1]], art["mentions"], swap_rng)
                    if twin is not None:
                        out.append((twin, text[pos[0][0] : pos[0][1]], 0.0, -gid - 1))
                        if clear:
                            c = swap_rng.choice(clear)
                            out.append((twin, text[c[0] : c[1]], 0.0, -gid - 1))
            else:  # unanswerable: the paragraph's closest spans are all negatives
                scores = BM25.from_docs([terms(text[a:b]) for a, b, _ in cands], DEFAULT.retrieval.bm25_k1, DEFAULT.retrieval.bm25_b).scores(terms(q))
                negs = [cands[i] for i in sorted(range(len(cands)), key=lambda i: -scores[i])[:3]]
            for c in negs:
                out.append((q, text[c[0] : c[1]], 0.0, gid))
            if with_mined:
                scores = art["bm25"].scores(terms(q))
                want = mined if golds else 0
                for r in sorted(range(len(scores)), key=lambda r: -scores[r]):
                    if want == 0 or scores[r] <= 0:
                        break
                    p2, a, b = art["rows"][r]
                    if p2 == pi:
                        continue
                    s = articles[ai]["paragraphs"][p2]["context"][a:b]
                    if any(g in normalize(s) for g in gold_texts):
                        continue  # another paragraph may well answer it too
                    out.append((q, s, 0.0, gid))
                    want -= 1
        return out

    train = make(sample, True)
    held = make(held_sample, True)
    if swap:
        twins = len({e[3] for e in train if e[3] < 0})
        log(f"swapped twins: {twins:,} in training, {len({e[3] for e in held if e[3] < 0})} held out; "
            f"e.g. {next((e[0] for e in train if e[3] < 0), '')!r}")
    return train, held
