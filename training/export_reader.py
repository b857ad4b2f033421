"""Export a trained reader (``train_reader.py``'s run folder) to the ONNX file reportqa ships.

    python -m training.export_reader                       # training/runs/reader -> src/reportqa/models/reader.onnx
    python -m training.export_reader --run DIR --out FILE [--store float16|int8|float32]

The graph is reportqa's own (``models.graph``, classifier head with token types), built
from the trained weights without torch. By default its weights are stored in half
precision with a cast to float32 after each (45 MB, computed in float32 exactly as
trained, to about 1e-3); ``--store int8`` quantises them dynamically with ONNX Runtime
(per output channel, 24 MB), which cost the listwise-trained reader 2 points of held-out
positive-first; ``--store float32`` is 90 MB, too big to commit. The run's
settings, data SHA-256 and figures go into the file's metadata, so the weights carry
their own description. The export checks the graph against the trained torch model on
held-out pairs and prints how far the built graph and the shipped one are from it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from reportqa.models import crossencoder, graph  # noqa: E402

PAIRS = [
    ("When did the IOPC publish its findings?", "Today (September 19), the IOPC has published their full finding of Operation Amazon."),
    ("When did the IOPC publish its findings?", "The force acknowledges and respects the IOPC's decision."),
    ("How long were the perpetrators jailed for?", "Five men were convicted of child sexual offences in 2016."),
    ("Who is the chief constable?", "A spokesperson for South Yorkshire Police said the force had changed."),
    ("What is the capital of France?", "Paris is the capital and most populous city of France."),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, default=ROOT / "training" / "runs" / "reader")
    ap.add_argument("--out", type=Path, default=crossencoder.READER_PATH)
    ap.add_argument("--store", choices=("float16", "int8", "float32"), default="float16",
                    help="how the weights are kept in the file: float16 (45 MB, computed in float32), int8 "
                         "(dynamic quantisation, 24 MB) or float32 (90 MB: too big to commit)")
    args = ap.parse_args(argv)

    import onnx
    from safetensors.numpy import load_file

    model_dir = args.run / "model"
    config = json.loads((model_dir / "config.json").read_text())
    weights = {k.removeprefix("bert."): v for k, v in load_file(str(model_dir / "model.safetensors")).items()}
    result = json.loads((args.run / "result.json").read_text())
    model = graph.build_graph(weights, config, head="classifier", name="reportqa-reader",
                              store="float16" if args.store == "float16" else "float32")
    meta = {
        "reportqa_reader": str(crossencoder.FORMAT),
        "base_model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_length": str(result["settings"]["max_len"]),
        "training": json.dumps({k: result[k] for k in ("settings", "data_sha256", "examples", "positives", "steps", "heldout")}),
        "store": args.store,
        "licence": "weights: Apache-2.0 base model fine-tuned on SQuAD (CC BY-SA 4.0); see docs/reader.md",
    }
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        onnx.save_model(model, str(fp32))
        if args.store != "int8":
            os.replace(fp32, args.out)
        else:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(args.out), weight_type=QuantType.QInt8, per_channel=True)
            quantised = onnx.load(str(args.out))
            del quantised.metadata_props[:]
            for key, value in meta.items():
                quantised.metadata_props.add(key=key, value=value)
            onnx.save_model(quantised, str(args.out))
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
        check(model_dir, fp32 if fp32.exists() else args.out, args.out)
    return 0


def check(model_dir: Path, fp32: Path, shipped: Path) -> None:
    """Logits of the torch model, the float32 graph and the shipped graph for the same pairs."""
    import torch
    from sentence_transformers import CrossEncoder

    ce = CrossEncoder(str(model_dir), device="cpu")
    with torch.inference_mode():
        want = np.asarray(ce.predict(PAIRS, activation_fn=torch.nn.Identity()), dtype=np.float32)
    for name, path in (("float32", fp32), ("shipped", shipped)):
        got = crossencoder.CrossEncoderModel(path).logits(
            [q for q, _ in PAIRS], [t for _, t in PAIRS]
        )
        print(f"{name}: max |logit - torch| = {float(np.abs(got - want).max()):.2e}  torch {np.round(want, 3)}  onnx {np.round(got, 3)}")


if __name__ == "__main__":
    raise SystemExit(main())
