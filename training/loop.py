"""What the two training scripts share around their step: the run folder's log, the seed,
the optimiser and its schedule, checkpoints with ``--resume``, progress, and ``result.json``.

A checkpoint is ``{"model", "optimizer", "schedule", "torch_rng", "step", "curve"}`` in
``checkpoint.pt`` (written to ``checkpoint.tmp`` and moved into place), as it always was, so
a run started before this module existed carries on with ``--resume``. torch is passed in:
importing this module does not need it.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from reportqa.checksums import file_sha256


@dataclass
class Run:
    log: Callable[[str], None]  # a line to the terminal and to train.log
    settings: dict  # the command line, JSON-ready
    data_sha256: str


def start(args, torch) -> Run:
    """The run folder and its log, the threads and the seed of every generator; logs the settings and the data's SHA-256."""
    import numpy as np

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
    return Run(log, settings, data_sha)


def optimiser(model, args, total: int, torch):
    """AdamW (weight decay 0.01) over the trained weights (all but the word embeddings with
    ``--freeze-word-embeddings``) and a linear warm-up over ``args.warmup`` of the steps, then a linear decay."""
    if args.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    warm = max(1, int(total * args.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (total - step) / max(1, total - warm)))
    )
    return optimizer, schedule


@dataclass
class Resumed:
    step: int
    curve: list  # (step, mean loss) every 25 steps so far
    resumed: bool  # False: a fresh start


def resume(args, model, optimizer, schedule, total: int, torch, log) -> Resumed | None:
    """Where the run starts: the checkpoint's step with ``--resume``, else step 0; None (after saying
    why) when a checkpoint exists and ``--resume`` was not given."""
    ckpt = args.out / "checkpoint.pt"
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed at step {state['step']} of {total}")
        return Resumed(state["step"], state["curve"], True)
    if ckpt.exists():
        log(f"{ckpt} exists: pass --resume to carry on from it, or remove it to start again")
        return None
    return Resumed(0, [], False)


def save_checkpoint(out: Path, model, optimizer, schedule, step: int, curve: list, torch) -> None:
    ckpt = out / "checkpoint.pt"
    tmp = ckpt.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                "torch_rng": torch.get_rng_state(), "step": step, "curve": curve}, tmp)
    os.replace(tmp, ckpt)


class Progress:
    """The running loss: every 25 steps (and the last) its mean joins the curve and a line is logged
    with the learning rate, the throughput (``unit``: pairs, examples) and the time left."""

    def __init__(self, step: int, total: int, curve: list, log, unit: str):
        self.total, self.curve, self.log, self.unit = total, curve, log, unit
        self.started, self.done_at_start, self.running, self.seen = time.time(), step, [], 0

    def add(self, step: int, loss: float, n: int, lr: float) -> None:
        self.seen += n
        self.running.append(loss)
        if step % 25 == 0 or step == self.total:
            rate = (step - self.done_at_start) / (time.time() - self.started)
            eta = (self.total - step) / rate if rate else 0
            mean = sum(self.running) / len(self.running)
            self.curve.append((step, round(mean, 4)))
            self.running = []
            self.log(f"step {step}/{self.total} loss {mean:.4f} lr {lr:.2e} "
                     f"{self.seen / (time.time() - self.started):.1f} {self.unit}/s, ETA {eta / 60:.1f} min")


def write_result(out: Path, result: dict) -> None:
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
