"""Export a trained passage reader (``train_span_reader.py``'s run folder) to the ONNX file reportqa ships.

    python -m training.export_span_reader --run DIR [--out FILE] [--store float16|float32]

The graph is reportqa's own (``models.graph``, span head with token types), built from the
trained weights without torch, stored in half precision with a cast to float32 after each
(``--store float16``, the default: 45 MB). The run's settings, data SHA-256 and held-out
figures go into the file's metadata. The export checks the graph against the trained torch
model: the start and end logits of a few (question, passage) pairs, and their best spans.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from reportqa.models import graph, spanreader  # noqa: E402

PAIRS = [
    ("When did the IOPC publish its findings?",
     "Today (September 19), the IOPC has published their full finding of Operation Amazon. It was an investigation "
     "into how South Yorkshire Police dealt with reports of child sexual abuse."),
    ("Who is the chief constable?", "A spokesperson for South Yorkshire Police said the force had changed."),
    ("What is the capital of France?", "Paris is the capital and most populous city of France. It lies on the Seine."),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="the training run's folder (holds model/ and result.json)")
    ap.add_argument("--out", type=Path, default=spanreader.SPAN_READER_PATH)
    ap.add_argument("--store", choices=("float16", "float32"), default="float16",
                    help="float16 (45 MB, computed in float32) or float32 (90 MB: too big to commit)")
    args = ap.parse_args(argv)

    import onnx
    from safetensors.numpy import load_file

    model_dir = args.run / "model"
    config = json.loads((model_dir / "config.json").read_text())
    weights = {k.removeprefix("bert."): v for k, v in load_file(str(model_dir / "model.safetensors")).items()}
    result = json.loads((args.run / "result.json").read_text())
    model = graph.build_graph(weights, config, head="span", name="reportqa-span-reader", store=args.store)
    meta = {
        "reportqa_span_reader": str(spanreader.FORMAT),
        "base_model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_length": str(result["settings"]["max_len"]),
        "training": json.dumps({k: result[k] for k in ("settings", "data_sha256", "examples", "steps", "heldout")}),
        "store": args.store,
        "licence": "weights: Apache-2.0 base model fine-tuned on SQuAD (CC BY-SA 4.0); see docs/reader.md",
    }
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".onnx.tmp")
    onnx.save_model(model, str(tmp))
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    check(model_dir, args.out)
    return 0


def check(model_dir: Path, path: Path) -> None:
    """The torch model's logits and best spans against the exported graph's, for the same pairs."""
    import torch
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(str(model_dir)).eval()
    reader = spanreader.SpanReaderModel(path)
    for question, text in PAIRS:
        start, end, encs = reader.logits(question, [text])
        feeds = {"input_ids": torch.tensor([encs[0].ids]), "token_type_ids": torch.tensor([encs[0].type_ids]),
                 "attention_mask": torch.ones((1, len(encs[0].ids)), dtype=torch.long)}
        with torch.inference_mode():
            out = model(**feeds)
        diff = max(float(np.abs(start[0] - out.start_logits[0].numpy()).max()),
                   float(np.abs(end[0] - out.end_logits[0].numpy()).max()))
        span = reader.read(question, [text])[0]
        print(f"max |logit - torch| = {diff:.2e}; {question!r} -> {text[span.start:span.end]!r} "
              f"(score {span.score:.2f}, no answer {span.null:.2f})")


if __name__ == "__main__":
    raise SystemExit(main())
