"""The chat REPL through prompt_toolkit's pipe input, with exact transcripts: answers, commands,
loading and errors. History and Tab completion are in test_repl_keys.py; the renderer in
tests/unit/reportqa/test_render.py."""

from __future__ import annotations

import io
import re
import threading

import pytest
from cli_helpers import CTRL_C, CTRL_D, FakeAssistant, Tty, backend_for, run_repl
from conftest import ROOT
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from reportqa import render
from reportqa.errors import IndexError_
from reportqa.ui.repl import Repl


INSPECTORS = """\
The inspectors visited the depot in March 2021. [1]

confidence: high (0.82)

[1] report.txt, line 3, paragraph 2
    The inspectors visited the depot in March 2021. They
    counted 40 buses.
[2] report.txt, line 5, paragraph 3
    The depot manager, Ann Lee, said the new roof was
    finished in May. Water no longer leaks into the …
[3] report.txt, line 1, paragraph 1
    Inspection report

"""


def test_a_question_gets_the_quote_citations_and_confidence():
    status, out, fake = run_repl("When did the inspectors visit the depot?\n")
    assert status == 0
    assert out == INSPECTORS
    assert fake.questions == [("When did the inspectors visit the depot?", 3)]


def test_not_in_the_report_lists_the_closest_passages():
    status, out, _ = run_repl("What is the price of tea?\n")
    assert status == 0
    assert (
        out
        == """\
Not in the report: no passage answers this question.

Closest passages, so you can judge:
[1] report.txt, line 1, paragraph 1
    Inspection report
[2] report.txt, line 3, paragraph 2
    The inspectors visited the depot in March 2021. They
    counted 40 buses.
[3] report.txt, line 5, paragraph 3
    The depot manager, Ann Lee, said the new roof was
    finished in May. Water no longer leaks into the …

"""
    )


def test_k_show_and_why_transcript():
    keys = "/k 2\nwho is the depot manager\n/show 1\n/why\n/k\n"
    status, out, fake = run_repl(keys)
    assert status == 0
    assert fake.questions == [("who is the depot manager", 2)]
    assert (
        out
        == """\
Showing 2 passages per answer from now on.
The depot manager, Ann Lee, said the new roof was finished
in May. [1]

confidence: high (0.82)

[1] report.txt, line 5, paragraph 3
    The depot manager, Ann Lee, said the new roof was
    finished in May. Water no longer leaks into the
    workshop.
[2] report.txt, line 3, paragraph 2
    The inspectors visited the depot in March 2021. They
    counted 40 buses.

[1] report.txt, line 5, paragraph 3

  line 3, paragraph 2
    The inspectors visited the depot in March 2021. They
    counted 40 buses.

  line 5, paragraph 3 (cited)
    The depot manager, Ann Lee, said the new roof was
    finished in May. Water no longer leaks into the
    workshop.

  line 7, paragraph 4
    The report recommends a second inspection in 2023.

     lexical         dense         sentence   late   fused
        rank  score   rank  score    cosine  match   score
[1]       #1  2.000     #2  0.500     0.600  0.700  0.0164
[2]       #2  1.000     #1  0.400     0.500  0.600  0.0161
Ranks are 1-based, among all the passages.

Showing 2 passages per answer. Change it with /k N (1 to 20).
"""
    )


def test_json_toggle_prints_the_last_answer_and_the_next_ones():
    import json

    status, out, _ = run_repl(
        "who is the depot manager\n/json\nwhen did the inspectors visit\n/json\n"
    )
    assert status == 0
    text_answer, rest = out.split("JSON output on.\n", 1)
    assert text_answer.startswith("The depot manager, Ann Lee, said")
    json_part, tail = rest.split("JSON output off.\n", 1)
    assert tail == ""
    objects = [json.loads(chunk) for chunk in json_part.strip().split("\n\n")]
    assert [o["question"] for o in objects] == [
        "who is the depot manager",
        "when did the inspectors visit",
    ]
    assert objects[1]["text"] == "The inspectors visited the depot in March 2021."


def test_sources_and_help():
    status, out, _ = run_repl("/sources\n/help\n")
    assert status == 0
    assert (
        out
        == """\
source:  report.txt
index:   index
model:   fake-model (fake backend)
chunks:  4 in 1 file
  report.txt        251 chars      4 chunks

Type a question to get an answer quoted from the report, or a command:
  /help     list these commands and keys
  /sources  the files, index and model in use
  /show N   citation N in full, with the passages around it
  /k N      show N passages per answer (now 3)
  /json     toggle JSON output of the last and next answers
  /why      why the last answer was given or declined, and how its passages ranked
  /new      forget the previous question: the next one is read on its own
  /quit     leave (Ctrl-D does the same)
Keys: Up and Down recall earlier questions, Right accepts
the grey suggestion, Ctrl-R searches the history, Tab
completes commands, Ctrl-C clears the line, Ctrl-D quits.

"""
    )


def test_unknown_commands_and_bad_arguments_get_one_helpful_line():
    keys = "/nope\n/jsn\n/show 1\n/why\nwho is the depot manager\n/show 9\n/show x\n/k 0\n/k 21\n"
    status, out, _ = run_repl(keys, width=200)
    assert status == 0
    lines = out.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == [
        "error: unknown command /nope. Did you mean /new? Type /help to list the commands.",
        "error: unknown command /jsn. Did you mean /json? Type /help to list the commands.",
        "error: nothing to show yet: ask a question first, then /show 1.",
        "error: nothing to explain yet: ask a question first, then /why.",
        "error: /show needs a citation number from 1 to 3, for example /show 1.",
        "error: /show needs a citation number from 1 to 3, for example /show 1.",
        "error: /k needs a whole number from 1 to 20, for example /k 5.",
        "error: /k needs a whole number from 1 to 20, for example /k 5.",
    ]
    assert "Traceback" not in out


def test_ctrl_c_clears_the_line_and_ctrl_d_leaves_with_status_0():
    status, out, fake = run_repl("half a question" + CTRL_C + "/k 4\n")
    assert status == 0
    assert fake.questions == []
    assert out == "Showing 4 passages per answer from now on.\n"


def test_ctrl_c_on_an_empty_line_says_once_how_to_leave():
    status, out, _ = run_repl(CTRL_C + "typing" + CTRL_C + CTRL_C + "/k 4\n" + CTRL_C)
    assert status == 0
    assert out == "(Ctrl-D or /quit leaves the chat)\nShowing 4 passages per answer from now on.\n"


@pytest.mark.parametrize("leave", ["/quit", "/exit", "quit", "/QUIT"])
def test_quit_ends_the_session_and_ignores_the_rest(leave):
    status, out, fake = run_repl(f"{leave}\nwho is the depot manager\n")
    assert status == 0
    assert out == ""
    assert fake.questions == []


def test_an_error_while_answering_is_one_line_and_the_session_goes_on():
    fake = FakeAssistant()
    calls = []

    def ask(question, k):
        calls.append(question)
        if len(calls) == 1:
            raise IndexError_("No index in /x/index: run `reportqa index`.")
        if len(calls) == 2:
            raise RuntimeError("boom")
        return fake.answer(question, k)

    keys = "first\nsecond\nwhen did the inspectors visit the depot\n"
    status, out, _ = run_repl(keys, backend_for(fake, ask=ask), width=200)
    assert status == 0
    assert out.startswith(
        "error: No index in /x/index: run `reportqa index`.\n"
        "error: unexpected RuntimeError: boom (set REPORTQA_DEBUG=1 for details)\n"
        "The inspectors visited the depot in March 2021. [1]\n"
    )
    assert "Traceback" not in out


def test_empty_and_blank_lines_run_nothing():
    status, out, fake = run_repl("\n   \n\t\n")
    assert (status, out, fake.questions) == (0, "", [])


def test_a_question_before_loading_ends_says_loading_then_answers():
    fake = FakeAssistant()
    loaded = threading.Event()
    repl_box = {}

    def finish_loading():
        repl_box["repl"].notify("The index was stale and has been rebuilt.")
        loaded.set()

    timer = threading.Timer(0.2, finish_loading)

    def ready() -> bool:
        # The load ends 0.2 s after the first question starts waiting for it,
        # however slowly the session itself starts on a busy machine.
        if not timer.is_alive() and not loaded.is_set():
            timer.start()
        return loaded.is_set()

    backend = backend_for(fake, ready=ready)
    out = io.StringIO()
    repl = Repl(backend, out=out, style=render.Style(width=200))
    repl_box["repl"] = repl
    with create_pipe_input() as pipe:
        pipe.send_text("When did the inspectors visit the depot?\n" + CTRL_D)
        status = repl.run(repl.session(input=pipe, output=DummyOutput()))
    timer.join()
    assert status == 0
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        "loading…",
        "The index was stale and has been rebuilt.",
        "The inspectors visited the depot in March 2021. [1]",
    ]


def test_on_a_terminal_loading_counts_seconds_then_clears_its_line():
    fake = FakeAssistant()
    out = Tty()

    def ready() -> bool:
        # The load ends once the line has counted two seconds, however busy the machine.
        return "loading… 2 s" in out.getvalue()

    repl = Repl(backend_for(fake, ready=ready), out=out, style=render.Style(width=200))
    repl.question("When did the inspectors visit the depot?")
    text = out.getvalue()
    assert text.startswith("\rloading…\x1b[K\rloading… 2 s\x1b[K\r\x1b[K")
    assert text.split("\r\x1b[K", 1)[1].startswith("The inspectors visited the depot in March 2021. [1]")


def test_a_dumb_terminal_gets_no_escape_sequences_while_loading(monkeypatch):
    # Emacs shell buffers and the like set TERM=dumb: "\x1b[K" would show as junk there.
    monkeypatch.setenv("TERM", "dumb")
    fake = FakeAssistant()
    out = Tty()
    repl = Repl(backend_for(fake, ready=lambda: "loading… 2 s" in out.getvalue()), out=out, style=render.Style(width=200))
    repl.question("When did the inspectors visit the depot?")
    text = out.getvalue()
    assert "\x1b" not in text
    assert text.startswith("\rloading…\r" + " " * 8 + "\rloading… 2 s\r" + " " * 12 + "\r")
    assert "The inspectors visited the depot in March 2021. [1]" in text


def test_on_start_runs_once_when_the_first_prompt_is_up():
    started = []
    fake = FakeAssistant()
    repl = Repl(backend_for(fake), out=io.StringIO(), style=render.Style())
    with create_pipe_input() as pipe:
        pipe.send_text("/k 2\n/k 3\n" + CTRL_D)
        repl.run(repl.session(input=pipe, output=DummyOutput()), on_start=lambda: started.append(1))
    assert started == [1]


def test_answer_notice_is_shown_before_the_answer():
    _, out, _ = run_repl("depot " * 300 + "\n", width=400)
    assert out.splitlines()[0] == "question truncated to 256 wordpieces"


def test_one_list_of_commands_drives_help_completion_dispatch_and_the_docs():
    from reportqa.ui import commands
    from reportqa.ui.commands import COMMANDS

    for name in COMMANDS:
        assert name == "/quit" or callable(getattr(commands, "cmd_" + name[1:]))
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    table = docs.split("## Commands", 1)[1].split("\n\n")[1]
    assert re.findall(r"^\| `(/\w+)", table, re.M) == list(COMMANDS)
