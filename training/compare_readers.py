"""The passage reader against the shipped sentence reader, on the same held-out questions and passages.

    python -m training.compare_readers --run training/runs/span-proto        # a run's torch model
    python -m training.compare_readers --onnx src/reportqa/models/span_reader.onnx

Held out: the training articles ``squad.heldout_titles`` keeps out (no reader saw
them), the first ``--questions`` of their shuffled questions, each read once with its
answer's passage among three and once with three passages that do not answer
(``span_eval``). Prints both readers' figures as JSON.
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

from training import span_data, span_eval  # noqa: E402
from training.reader_data import spans_of  # noqa: E402
from training.squad import DATA, heldout_titles  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, help="a train_span_reader.py run folder (its model/)")
    ap.add_argument("--onnx", type=Path, help="an exported passage reader")
    ap.add_argument("--questions", type=int, default=400)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--heldout-articles", type=int, default=6)
    ap.add_argument("--no-cross", action="store_true", help="skip the shipped sentence reader")
    args = ap.parse_args(argv)

    from reportqa.models.encoder import load_tokenizer, model_path

    tok = load_tokenizer(model_path() / "tokenizer.json")
    count = lambda text: len(tok.encode(text).ids)  # noqa: E731 - as the encoder counts
    data = json.load(gzip.open(DATA, "rt", encoding="utf-8"))
    heldout = heldout_titles(data, args.seed, args.heldout_articles)
    _, held_pool, _ = span_data.pools(data, heldout, random.Random(args.seed))
    rows = span_eval.items(span_data.held_out(data, held_pool, args.questions, count))
    out = {"questions": len(rows), "articles": sorted(heldout)}
    if args.onnx:
        from reportqa.models.spanreader import SpanReaderModel

        t0 = time.time()
        out["span (onnx)"] = span_eval.span_figures(SpanReaderModel(args.onnx).read, rows)
        out["span (onnx)"]["seconds"] = round(time.time() - t0, 1)
    if args.run:
        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        torch.set_num_threads(2)
        model = AutoModelForQuestionAnswering.from_pretrained(str(args.run / "model")).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(args.run / "model"))
        max_len = json.loads((args.run / "result.json").read_text())["settings"]["max_len"]
        out["span (torch)"] = span_eval.span_figures(span_eval.torch_reader(model, tokenizer, max_len, torch), rows)
    if not args.no_cross:
        from reportqa.models.crossencoder import CrossEncoderModel

        t0 = time.time()
        out["cross (shipped)"] = span_eval.cross_figures(CrossEncoderModel().logits, rows, spans_of)
        out["cross (shipped)"]["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
