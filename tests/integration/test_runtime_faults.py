"""Runtime faults and fuzzing: no network, and answer() survives arbitrary text with exact citations."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT, FakeEncoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reportqa
from reportqa.assistant import BUNDLED_SOURCE, Assistant, clean_question
from reportqa.errors import QuestionError

OFFLINE = r"""
import io, json, os, socket, sys, tempfile
from pathlib import Path

attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args[1:2]))
    raise OSError("network disabled by the no-network test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.socket.sendto = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse

import reportqa
from reportqa import cli
from reportqa.assistant import Assistant

work = Path(sys.argv[1])
# answering, with the real model and the bundled index
a = reportqa.answer("When did the IOPC publish the full findings of Operation Amazon?")
assert a.answered and a.citations, a
print("ANSWER", a.text[:60])

# indexing another report, with the real model
(work / "src").mkdir()
(work / "src" / "notes.md").write_text("The depot opened in 1999. It closed in 2024 after a fire.\n", encoding="utf-8")
summary = Assistant(work / "src", work / "index").build(force=True)
print("INDEXED", summary.chunks, summary.rebuilt)
assert summary.rebuilt and summary.chunks >= 1

# the command line: ask, index, and stdin (non-terminal) chat
assert cli.main(["ask", "--json", "When did the depot close?", "--source", str(work / "src"), "--index", str(work / "index")]) == 0
assert cli.main(["index", "--force", "--source", str(work / "src"), "--index", str(work / "index2")]) == 0
sys.stdin = io.StringIO("Who made the complaint?\nWhat did SYP disagree with?\n")
assert cli.main(["chat"]) == 0

# the REPL loop, through prompt_toolkit pipe input
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from reportqa import render
from reportqa.ui.repl import Repl
from reportqa.ui.session import Backend
bundled = Assistant()
out = io.StringIO()
repl = Repl(Backend(ask=lambda q, k: bundled.answer(q, k=k), sources=bundled.sources_info,
                    surroundings=lambda c, n: bundled.surroundings(c, n)),
            out=out, style=render.Style(color=False, width=80))
with create_pipe_input() as pipe:
    pipe.send_text("Who made the complaint?\n/sources\n/show 1\n/quit\n")
    assert repl.run(repl.session(input=pipe, output=DummyOutput())) == 0
assert repl.last is not None and repl.last.citations
print("REPL", len(out.getvalue()))
print("ATTEMPTS", json.dumps(attempts))
"""


def test_answering_indexing_cli_and_repl_work_with_the_network_disabled(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env["REPORTQA_CACHE_DIR"] = str(tmp_path / "cache")  # a cold cache: any one-time export runs offline too
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE, str(tmp_path)], capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if line.split(" ", 1)[0].isupper() and " " in line)
    assert lines["ATTEMPTS"] == "[]", f"network was attempted: {lines['ATTEMPTS']}"
    assert "ANSWER" in lines and "INDEXED" in lines and "REPL" in lines
    assert "Traceback" not in result.stderr


# --- fuzzing --------------------------------------------------------------------------------


def file_text(name: str) -> str:
    with open(BUNDLED_SOURCE / name, encoding="utf-8", newline="") as fh:
        return fh.read()


REPORT_WORDS = sorted(set(file_text("iopc-operation-amazon.txt").split()))

questions = st.one_of(
    st.text(max_size=300),
    st.text(st.characters(exclude_categories=()), max_size=120),  # lone surrogates, controls, private use
    st.lists(st.sampled_from(REPORT_WORDS), min_size=1, max_size=30).map(" ".join),
    st.tuples(st.lists(st.sampled_from(REPORT_WORDS), max_size=8).map(" ".join), st.text(max_size=40)).map("".join),
)


def check(assistant_answer, question: str, texts: dict[str, str]) -> None:
    try:
        a = assistant_answer(question)
    except QuestionError:
        # Only for questions that are empty or have no words once cleaned.
        with pytest.raises(QuestionError):
            clean_question(question)
        return
    assert a.citations
    for c in a.citations:
        assert texts[c.source][c.start : c.end] == c.text
    if a.answered:
        assert texts[a.quote.source][a.quote.start : a.quote.end] == a.text
    assert 0.0 <= a.confidence <= 1.0


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(question=questions)
def test_answer_never_raises_and_citations_match_the_file_for_1000_arbitrary_questions(question):
    texts = {"iopc-operation-amazon.txt": file_text("iopc-operation-amazon.txt")}
    check(lambda q: reportqa.answer(q), question, texts)


ODD_REPORT = (
    "Title line 😀\r\n\r\nFirst para\r\nwith CRLF lines. Second sentence here!\r\n\r\n"
    "Lone\rcarriage returns\rinside.\n\n\n\n中文段落。还有一句。\n\n"
    + "A very long paragraph without any full stop " * 60
    + "\n\nLast line without newline"
)


@pytest.fixture(scope="module")
def odd_assistant(tmp_path_factory):
    source = tmp_path_factory.mktemp("odd") / "src"
    source.mkdir()
    with open(source / "odd.txt", "w", encoding="utf-8", newline="") as fh:
        fh.write(ODD_REPORT)
    a = Assistant(source, source.parent / "index", encoder=FakeEncoder(max_tokens=32), notify=lambda m: None)
    a.load()
    return a


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(question=questions)
def test_answers_over_a_crlf_emoji_report_cite_exact_offsets(odd_assistant, question):
    check(lambda q: odd_assistant.answer(q, k=5), question, {"odd.txt": ODD_REPORT})


@pytest.mark.slow
def test_memory_stays_flat_over_10000_answers():
    """benchmarks/soak.py in a fresh process; measured +2.0 MB over 10,000 answers (the bounded stem cache)."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.soak", "--answers", "10000", "--max-growth-mb", "20"],
        capture_output=True, text=True, timeout=1800, check=False, cwd=ROOT,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10000 answers" in result.stdout
