"""Questions: odd input through answer(), `reportqa ask`, stdin mode and the REPL."""

from __future__ import annotations

import io
import json
import time

import pytest
from conftest import FakeEncoder

import reportqa
from reportqa.assistant import (
    BUNDLED_SOURCE,
    MAX_QUESTION_CHARS,
    Assistant,
    clean_question,
)
from reportqa.errors import QuestionError
from reportqa.results import Answer

REPORT_NAME = "iopc-operation-amazon.txt"

# name -> question; each must give an Answer (answered or not) with checkable citations.
ODD_QUESTIONS = {
    "control_chars": "\x1b[31mWho made the complaint?\x1b[0m\x07",
    "nul": "Who made\x00 the complaint?",
    "lone_surrogates": "Who \ud800made the complaint\udfff?",
    "emoji": "\U0001f600 Who made the complaint? \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "french": "Qui a déposé la plainte contre la police du South Yorkshire ?",
    "chinese": "谁提出了投诉？",
    "arabic": "من قدم الشكوى؟",
    "only_stopwords": "what is the of and it",
    "zero_width_and_bidi": "Who\u200b made\u200e the\u202e complaint?",
    "tabs_and_newlines": "Who\tmade\r\nthe\ncomplaint?",
}
EMPTY_QUESTIONS = {"empty": "", "spaces": "   ", "whitespace": " \t\r\n\u3000\u2028 ", "only_controls": "\x00\x01\x1b\x7f"}
WORDLESS_QUESTIONS = {"only_punctuation": "?!.,;:…—\"'()", "only_emoji": "\U0001f600\U0001f525\u2764\ufe0f"}


def file_text(name: str = REPORT_NAME) -> str:
    with open(BUNDLED_SOURCE / name, encoding="utf-8", newline="") as fh:
        return fh.read()


def check_answer(a: Answer) -> None:
    """What every answer must satisfy, whatever the question."""
    text = file_text()
    assert isinstance(a, Answer) and 0.0 <= a.confidence <= 1.0 and a.citations
    for c in a.citations:
        assert text[c.start : c.end] == c.text
    if a.answered:
        assert a.quote is not None and text[a.quote.start : a.quote.end] == a.text
    json.dumps(a.to_dict())  # JSON-ready


# --- answer() --------------------------------------------------------------------------------


def refused_before_anything_runs(question: str, message: str, tmp_path) -> None:
    encoder = FakeEncoder()
    fresh = Assistant(index_dir=tmp_path / "index", encoder=encoder)
    with pytest.raises(QuestionError, match=message):
        fresh.answer(question)
    # nothing loaded, nothing run: loading would have built the index there, with the encoder
    assert encoder.encoded == 0 and not (tmp_path / "index").exists()


@pytest.mark.parametrize("question", EMPTY_QUESTIONS.values(), ids=EMPTY_QUESTIONS.keys())
def test_empty_or_whitespace_question_is_refused_before_anything_runs(question, tmp_path):
    refused_before_anything_runs(question, "The question is empty: type a question", tmp_path)


@pytest.mark.parametrize("question", WORDLESS_QUESTIONS.values(), ids=WORDLESS_QUESTIONS.keys())
def test_question_of_only_punctuation_or_emoji_is_refused_clearly(question, tmp_path):
    refused_before_anything_runs(question, "has no words in it", tmp_path)


@pytest.mark.parametrize("question", ODD_QUESTIONS.values(), ids=ODD_QUESTIONS.keys())
def test_odd_question_gets_a_normal_answer_with_exact_citations(bundled, question):
    check_answer(bundled.answer(question))


def test_module_level_answer_handles_odd_questions():
    for question in ODD_QUESTIONS.values():
        check_answer(reportqa.answer(question))
    with pytest.raises(QuestionError):
        reportqa.answer("  ")


def test_control_characters_and_nul_separate_words_like_spaces(bundled):
    plain = bundled.answer("Who made the complaint?")
    for name in ("control_chars", "nul", "zero_width_and_bidi", "tabs_and_newlines"):
        assert bundled.answer(ODD_QUESTIONS[name]).text == plain.text, name


def test_a_1_mb_question_is_cut_with_a_notice_and_answered_quickly(bundled):
    question = ("Who made the complaint about South Yorkshire Police? " * 20_000)[: 2**20]
    started = time.process_time()  # CPU time, not wall time: a busy machine must not fail it
    a = bundled.answer(question)
    seconds = time.process_time() - started
    check_answer(a)
    # The answer records what was asked of the report: the question as cut, not the megabyte.
    assert a.question == clean_question(question)[0] and question.startswith(a.question)
    assert "1,048,576 characters long; only its first" in a.notice
    # Deliberately loose (a 1 MB scan that grew quadratic would take minutes of CPU); typical: ~0.01 s.
    assert seconds < 5, seconds


def test_a_1_mb_question_of_white_space_with_a_word_at_the_end(bundled):
    a = bundled.answer(" " * 2**20 + "complaint?")
    check_answer(a)
    assert a.notice == ""


def test_clean_question_keeps_at_most_the_limit_and_cuts_at_a_space():
    text, notice = clean_question("word " * 1000)
    assert len(text) <= MAX_QUESTION_CHARS and text.endswith("word") and notice
    text, notice = clean_question("x" * (MAX_QUESTION_CHARS + 5))
    assert text == "x" * MAX_QUESTION_CHARS and notice
    text, notice = clean_question("y" * MAX_QUESTION_CHARS)
    assert len(text) == MAX_QUESTION_CHARS and notice == ""


def test_clean_question_rejects_non_strings():
    with pytest.raises(TypeError):
        clean_question(b"bytes?")  # a programmer mistake stays a builtin exception


def test_only_stopwords_question_is_not_answered(bundled):
    # Nothing to look up, so "not in the report" (with the closest passages), not a guess.
    a = bundled.answer(ODD_QUESTIONS["only_stopwords"])
    check_answer(a)
    assert a.answered is False and a.text == ""


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli(bundled, monkeypatch):
    from reportqa import cli

    monkeypatch.setattr(cli, "make_assistant", lambda args, notify: bundled)
    return cli


def run(cli, argv, capsys, monkeypatch, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


@pytest.mark.parametrize("question", list(ODD_QUESTIONS.values()), ids=list(ODD_QUESTIONS.keys()))
def test_ask_handles_odd_questions(cli, capsys, monkeypatch, question):
    status, out, err = run(cli, ["ask", "--json", question], capsys, monkeypatch)
    assert status == 0, err
    data = json.loads(out)
    text = file_text()
    assert data["citations"] and all(text[c["start"] : c["end"]] == c["text"] for c in data["citations"])


@pytest.mark.parametrize(
    "question", [*EMPTY_QUESTIONS.values(), *WORDLESS_QUESTIONS.values()],
    ids=[*EMPTY_QUESTIONS.keys(), *WORDLESS_QUESTIONS.keys()],
)
def test_ask_refuses_empty_or_wordless_questions_with_status_2(cli, capsys, monkeypatch, question):
    status, out, err = run(cli, ["ask", question], capsys, monkeypatch)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and ("empty" in err or "no words" in err), err


def test_ask_reads_a_1_mb_question_from_stdin_with_a_notice(cli, capsys, monkeypatch):
    question = "Who made the complaint? " * 45_000
    status, out, err = run(cli, ["ask", "--json", "-"], capsys, monkeypatch, stdin=question)
    assert status == 0
    assert "only its first" in err and json.loads(out)["citations"]


def test_a_1_mb_piped_question_is_echoed_cut_as_it_was_asked(cli, capsys, monkeypatch):
    # The "Q:" line and the JSON "question" used to be the whole megabyte.
    question = ("Who made the complaint about South Yorkshire Police? " * 20_000)[: 2**20]
    status, out, err = run(cli, ["chat"], capsys, monkeypatch, stdin=question + "\n")
    assert status == 0 and "characters long; only its first" in err
    echo = out.splitlines()[0]
    assert echo.startswith("Q: Who made the complaint about South Yorkshire Police? Who made")
    assert len(echo) <= len("Q: ") + MAX_QUESTION_CHARS and question.startswith(echo[3:])
    for argv, stdin in ((["chat", "--json"], question + "\n"), (["ask", "--json", "-"], question)):
        status, out, err = run(cli, argv, capsys, monkeypatch, stdin=stdin)
        data = json.loads(out)
        assert data["question"] == echo[3:] and data["notice"] in err, argv


def test_stdin_mode_answers_good_lines_and_reports_bad_ones(cli, capsys, monkeypatch):
    lines = ["Who made the complaint?", "?!?", "\x00\x01", "谁提出了投诉？", "\U0001f600 complaint", "what is the of"]
    status, out, err = run(cli, ["chat", "--json"], capsys, monkeypatch, stdin="\n".join(lines) + "\n")
    assert status == 0
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["question"] for a in answers] == ["Who made the complaint?", "谁提出了投诉？", "\U0001f600 complaint", "what is the of"]
    assert err.count("no words") == 1 and err.count("is empty") == 1


def test_repl_shows_one_error_line_for_bad_questions_and_goes_on(bundled):
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from reportqa import render
    from reportqa.ui import repl as repl_mod
    from reportqa.ui import session as session_mod

    backend = session_mod.Backend(
        ask=lambda q, k: bundled.answer(q, k=k),
        sources=bundled.sources_info,
        surroundings=lambda c, n: bundled.surroundings(c, n),
    )
    out = io.StringIO()
    repl = repl_mod.Repl(backend, out=out, style=render.Style(color=False, width=80))
    with create_pipe_input() as pipe:
        # A terminal cannot send NUL or lone surrogates, and Ctrl-A/Ctrl-B are editing keys there.
        pipe.send_text("?!?\n   \n\U0001f600\nWho made the complaint? \U0001f600\n/quit\n")
        status = repl.run(repl.session(input=pipe, output=DummyOutput()))
    text = out.getvalue()
    assert status == 0 and "Traceback" not in text and "unexpected" not in text
    assert text.count("no words in it") == 2
    assert repl.last is not None and repl.last.citations  # the real question in between was answered


def test_invalid_utf8_bytes_in_argv_and_stdin_are_answered_not_a_traceback(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "NO_COLOR": "1"}
    ask = subprocess.run(
        [sys.executable, "-m", "reportqa", "ask", "--json", b"who made the caf\xe9 complaint?"],
        capture_output=True, timeout=120, env=env, check=False,
    )
    assert ask.returncode == 0 and b"Traceback" not in ask.stderr, ask.stderr
    assert json.loads(ask.stdout)["citations"]
    chat = subprocess.run(
        [sys.executable, "-m", "reportqa", "chat", "--json"],
        input=b"who made\x00 the complaint?\n\xff\xfe junk about the report\n\x01\x02\n", capture_output=True, timeout=120, env=env, check=False,
    )
    assert chat.returncode == 0 and b"Traceback" not in chat.stderr, chat.stderr
    assert len(chat.stdout.splitlines()) == 2 and b"is empty" in chat.stderr


def test_a_1_mb_question_pasted_into_the_repl_in_a_real_terminal(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    import os
    import sys
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm", "REPORTQA_HISTORY": str(tmp_path / "history")}
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"  # pexpect does not answer the cursor-position request
    child = pexpect.spawn(sys.executable, ["-m", "reportqa"], env=env, encoding="utf-8", timeout=60, dimensions=(40, 120))
    try:
        child.expect("reportqa> ")
        question = ("Who made the complaint? " * 50_000)[: 2**20]
        # Terminals send a paste as one bracketed block; prompt_toolkit takes it in one go.
        child.send("\x1b[200~" + question + "\x1b[201~\r")
        child.expect(r"1,048,576 characters")
        child.expect(r"iopc-operation-amazon\.txt, line \d+, paragraph \d+")
        child.expect("reportqa> ")
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
