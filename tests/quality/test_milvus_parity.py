"""The Milvus store answers as the files store does (issue 20), with the real model and reader.

Every other question of the bundled set and of one SQuAD 2.0 article (the one
test_squad_accuracy.py guards) is run through both stores: hit@1 and contains within
0.01, the abstention rate within 0.02, and every quote from the store is its file's
text at its offsets. The whole sets, and the other two articles, are measured by
``benchmarks/store_parity.py`` (docs/speed.md); they are left out here for CI's time.

Each store is built from scratch here: an index folder, and a Milvus Lite collection.
"""

from __future__ import annotations

from importlib.util import find_spec

import pytest
from conftest import DATA, ROOT

from reportqa.assistant import Assistant
from reportqa.evaluate import evaluate, load_questions
from reportqa.settings import DEFAULT

ARTICLE = ROOT.parent / "shared" / "benchmarks" / "squad2-articles" / "southern-california.txt"
SETS = {
    "bundled": (ROOT / "source_text", DATA / "questions.jsonl"),
    "squad": (ARTICLE, ARTICLE.with_suffix(".questions.jsonl")),
}

pytestmark = pytest.mark.skipif(
    find_spec("pymilvus") is None or find_spec("milvus_lite") is None,
    reason="pymilvus / milvus-lite are not installed: pip install -e '.[test,milvus]' (as .ci/run does)",
)


@pytest.fixture(scope="module", params=sorted(SETS))
def compared(request, tmp_path_factory, bundled):
    source, questions_file = SETS[request.param]
    if not source.exists():
        pytest.skip(f"{source} is absent: the SQuAD benchmark lives in ../shared beside the repo")
    tmp = tmp_path_factory.mktemp(f"parity-{request.param}")
    questions = load_questions(questions_file)[::2]  # every other question: CI's time (the full sets: docs/speed.md)
    files = Assistant(source, tmp / "index", encoder=bundled.encoder, notify=lambda m: None)
    store = Assistant(source, encoder=bundled.encoder, notify=lambda m: None,
                      settings=DEFAULT.with_(store=f"milvus:{tmp}/store.db"))
    store.build()
    out = {}
    answers = []
    for label, a in (("files", files), ("milvus", store)):
        r = evaluate(Recording(a, answers) if label == "milvus" else a, questions)
        out[label] = r
        s = r["summary"]
        print(f"\n{request.param} {label}: hit@1 {s['hit@1']:.3f} contains {s['contains']:.3f} abstain {s['abstain_rate']:.3f}")
    out["answers"] = answers
    return source, out


class Recording:
    """The assistant as evaluate() uses it, keeping every Answer it gives or withholds (for their offsets)."""

    def __init__(self, assistant, answers: list):
        self.assistant, self.answers = assistant, answers

    def __getattr__(self, name):
        return getattr(self.assistant, name)

    def with_settings(self, settings, **kw):
        return Recording(self.assistant.with_settings(settings, **kw), self.answers)

    def answer(self, question, k=3):
        a = self.assistant.answer(question, k=k)
        self.answers.append(a.withheld or a)  # declined: the answer it withheld, whose quote is checked too
        return a


@pytest.mark.parametrize("key, tolerance", [("hit@1", 0.01), ("contains", 0.01), ("abstain_rate", 0.02)])
def test_same_figures_as_the_files_store(compared, key, tolerance):
    _, out = compared
    files, milvus = out["files"]["summary"][key], out["milvus"]["summary"][key]
    assert abs(milvus - files) <= tolerance, f"{key}: milvus {milvus:.3f}, files {files:.3f}"


def test_every_store_quote_is_exact(compared):
    source, out = compared
    answers = [a for a in out["answers"] if a.answered]
    assert len(answers) >= 15
    texts = {}
    for a in answers:
        path = source / a.quote.source if source.is_dir() else source
        text = texts.setdefault(path, path.read_text(encoding="utf-8"))
        assert text[a.quote.start : a.quote.end] == a.text
        assert all(text[c.start : c.end] == c.text for c in a.citations)
