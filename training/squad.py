"""The SQuAD training set both readers train on, and the articles a run keeps out.

``DATA`` is ``../shared/datasets/squad-train`` (SQuAD 1.1/2.0 train, CC BY-SA 4.0).
``heldout_titles`` is shared so the sentence reader (``train_reader.py``), the passage reader
(``train_span_reader.py``) and the probes (``benchmarks/scorer_probe.py``) keep out the same
articles for one seed.
"""

from __future__ import annotations

import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "squad-train" / "squad-train.json.gz"


def heldout_titles(data: dict, seed: int, n: int) -> set[str]:
    """The n training articles a run keeps out, for its held-out figures: drawn with seed + 1
    from the articles without unanswerable questions (benchmarks/scorer_probe.py reads them too)."""
    titles = sorted(a["title"] for a in data["data"] if not any(q.get("is_impossible") for p in a["paragraphs"] for q in p["qas"]))
    return set(random.Random(seed + 1).sample(titles, n))
