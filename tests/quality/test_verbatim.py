"""Late interaction with the real model: every sentence of the bundled report (of six terms or more),
asked word for word, is the sentence it finds first."""

from __future__ import annotations

import numpy as np

from reportqa.text import terms


def _sentences(index) -> list[str]:
    return [c.text[a - c.start : b - c.start] for c in index.chunks for a, b in c.sentences]


def test_asking_a_sentence_verbatim_finds_it_by_late_interaction(bundled):
    # With the real model: each word of a copied sentence matches itself, so that sentence scores highest.
    sentences = _sentences(bundled.index)
    found = 0
    checked = [i for i, sentence in enumerate(sentences) if len(terms(sentence)) >= 6]
    for i in checked:
        ranking = bundled.rank(sentences[i])
        found += int(np.argmax(ranking.late)) == i
    print(f"{found} of {len(checked)} sentences found by their own words")
    assert found == len(checked)
