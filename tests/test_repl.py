"""The chat REPL through prompt_toolkit's pipe input, with exact transcripts, and the renderer."""

from __future__ import annotations

import io
import re
import threading
import time

import pytest
from cli_helpers import REPORT, FakeAssistant
from hypothesis import given, settings
from hypothesis import strategies as st
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from reportqa import render
from reportqa.errors import IndexError_
from reportqa.paths import history_path
from reportqa.results import Answer, Citation, Quote
from reportqa.ui.repl import CommandCompleter, Repl, open_history
from reportqa.ui.session import Backend

CTRL_C, CTRL_D = "\x03", "\x04"


def backend_for(fake: FakeAssistant, **changes) -> Backend:
    return Backend(
        ask=changes.pop("ask", fake.answer),
        sources=fake.sources_info,
        surroundings=fake.surroundings,
        **changes,
    )


def run_repl(keys: str, backend: Backend | None = None, *, width: int = 60, **options):
    """Type ``keys`` into a fresh REPL, then Ctrl-D; return (status, transcript, fake)."""
    fake = FakeAssistant()
    out = io.StringIO()
    repl = Repl(backend or backend_for(fake), out=out, style=render.Style(width=width), **options)
    with create_pipe_input() as pipe:
        pipe.send_text(keys + CTRL_D)
        status = repl.run(repl.session(input=pipe, output=DummyOutput()))
    return status, out.getvalue(), fake


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
    class Tty(io.StringIO):
        def isatty(self):
            return True

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
    class Tty(io.StringIO):
        def isatty(self):
            return True

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


# -- history and completion ---------------------------------------------------------


def test_history_path_follows_env_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("REPORTQA_HISTORY", str(tmp_path / "h"))
    assert history_path() == tmp_path / "h"
    monkeypatch.delenv("REPORTQA_HISTORY")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert history_path() == tmp_path / "state" / "reportqa" / "history"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert history_path() == tmp_path / "home" / ".local" / "state" / "reportqa" / "history"


def test_history_folder_is_created_and_questions_are_saved(tmp_path):
    path = tmp_path / "deep" / "er" / "history"
    history, problem = open_history(path)
    assert problem == "" and isinstance(history, FileHistory) and path.is_file()
    fake = FakeAssistant()
    repl = Repl(backend_for(fake), out=io.StringIO(), style=render.Style())
    with create_pipe_input() as pipe:
        pipe.send_text("who is the depot manager\n/k 2\n" + CTRL_D)
        repl.run(repl.session(history, input=pipe, output=DummyOutput()))
    assert list(FileHistory(str(path)).load_history_strings()) == [
        "/k 2",
        "who is the depot manager",
    ]


def test_unwritable_history_falls_back_to_memory_with_a_notice(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    history, problem = open_history(blocker / "history")
    assert isinstance(history, InMemoryHistory)
    assert problem.startswith(
        f"History is not saved this session: cannot write {blocker / 'history'}"
    )


def run_with_typist(repl: Repl, type_like_a_person) -> None:
    """Run the REPL on a pipe while another thread types into it, as a person at a terminal.

    type_like_a_person(pipe, session) must end the session (Ctrl-D).
    """
    with create_pipe_input() as pipe:
        session = repl.session(input=pipe, output=DummyOutput())
        typist = threading.Thread(target=type_like_a_person, args=(pipe, session))
        typist.start()
        repl.run(session)
        typist.join()


def wait_until(condition, deadline: float) -> bool:
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def press_until(pipe, key: str, condition, deadline: float, every: float) -> None:
    """Press key, wait up to `every` seconds for condition, and again until it holds (or the deadline)."""
    while not condition() and time.monotonic() < deadline:
        pipe.send_text(key)
        wait_until(condition, min(time.monotonic() + every, deadline))


def test_up_arrow_recalls_the_previous_question():
    fake = FakeAssistant()
    repl = Repl(backend_for(fake), out=io.StringIO(), style=render.Style())

    def type_like_a_person(pipe, session):
        pipe.send_text("who is the depot manager\n")
        deadline = time.monotonic() + 10
        wait_until(lambda: fake.questions, deadline)
        # History loads in the background when a prompt starts: press Up until
        # the line shows the recalled question (Up at the oldest entry is a no-op),
        # then Enter.
        press_until(pipe, "\x1b[A", lambda: session.default_buffer.text == "who is the depot manager", deadline, 0.1)
        pipe.send_text("\n" + CTRL_D)

    run_with_typist(repl, type_like_a_person)
    assert [q for q, _ in fake.questions] == ["who is the depot manager"] * 2


def test_tab_completion_lists_commands_with_descriptions():
    from prompt_toolkit.document import Document

    completer = CommandCompleter(lambda name: f"about {name}")
    found = list(completer.get_completions(Document("/s"), None))
    assert [(c.text, c.display_meta_text) for c in found] == [
        ("/sources", "about /sources"),
        ("/show", "about /show"),
    ]
    assert list(completer.get_completions(Document("who /s"), None)) == []
    assert list(completer.get_completions(Document("/show 1"), None)) == []


def test_tab_completes_a_command_in_the_session():
    fake = FakeAssistant()
    out = io.StringIO()
    repl = Repl(backend_for(fake), out=out, style=render.Style())

    def type_like_a_person(pipe, session):
        # Completions are computed in the background, and a Tab pressed while
        # the completions for the typed text are still being computed only
        # shows the menu (prompt_toolkit runs one completion at a time). So,
        # like a person, press Tab again while the line still shows "/sou",
        # then press Enter once it shows the completed command (or give up).
        deadline = time.monotonic() + 10
        pipe.send_text("/sou")
        wait_until(lambda: session.default_buffer.text == "/sou", deadline)
        press_until(pipe, "\t", lambda: session.default_buffer.text == "/sources", deadline, 1.0)
        pipe.send_text("\n" + CTRL_D)

    run_with_typist(repl, type_like_a_person)
    assert out.getvalue().startswith("source:  report.txt\n")


# -- rendering ----------------------------------------------------------------------


def _passage_answer(text: str, quote_start: int, quote_end: int) -> Answer:
    c = Citation("r.txt", 100, 100 + len(text), 4, 2, text, 0.9)
    q = Quote("r.txt", 100 + quote_start, 100 + quote_end, 4, 2)
    return Answer("q", True, text[quote_start:quote_end], 0.5, (c,), q)


def test_highlight_follows_offsets_not_a_string_search():
    # The quoted sentence appears twice; the offsets point at the second one.
    text = "It rained. It rained. The end."
    answer = _passage_answer(text, 11, 21)
    out = render.answer_text(answer, render.Style(color=True, width=None))
    hl = f"\x1b[{render.HIGHLIGHT}m"
    assert f"    It rained. {hl}It rained.{render.RESET} The end." in out
    assert out.count(hl) == 1


def test_confidence_bands():
    assert [render.confidence_label(c) for c in (0.0, 0.29, 0.3, 0.49, 0.5, 1.0)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
    assert "confidence: high (0.50)" in render.answer_text(
        _passage_answer("A b.", 0, 4), render.Style()
    )


def test_no_color_env_and_non_tty_turn_colour_off(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert render.wants_color(Tty()) is True
    assert render.wants_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert render.wants_color(Tty()) is False
    monkeypatch.setenv("NO_COLOR", "")  # an empty value does not count (no-color.org)
    assert render.wants_color(Tty()) is True
    monkeypatch.setenv("TERM", "dumb")
    assert render.wants_color(Tty()) is False
    assert render.terminal_width(io.StringIO()) is None


def test_no_color_terminal_keeps_the_highlight_as_bold_underline(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    style = render.Style.for_stream(Tty())
    assert (style.color, style.emphasis) == (False, True)
    out = render.answer_text(_passage_answer("It rained. It rained. The end.", 11, 21), style)
    assert "\x1b[1;4mIt rained.\x1b[0m The end." in out
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", out)  # no foreground colour at all
    monkeypatch.delenv("NO_COLOR")
    piped = render.Style.for_stream(io.StringIO())
    assert (piped.color, piped.emphasis, piped.width) == (False, False, None)
    out = render.answer_text(_passage_answer("It rained. It rained. The end.", 11, 21), piped)
    assert "\x1b" not in out


def test_control_characters_in_the_source_cannot_reach_the_terminal():
    text = "Evil \x1b[2J text\x07 here.\x00"
    out = render.answer_text(_passage_answer(text, 0, len(text)), render.Style(width=None))
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out
    assert "Evil \ufffd[2J text\ufffd here.\ufffd" in out


def test_wide_characters_count_two_cells():
    lines = render.wrap("日本語の文章 です " * 3, 10)
    assert all(render.cell_width(line) <= 10 for line in lines)
    assert render.cell_width("日本") == 4 and render.cell_width("e\u0301") == 1


words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=30
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(words, st.sampled_from([" ", "  ", "\n", "\n\n", "\r\n\r\n", "\t"])), max_size=40
    ),
    st.integers(min_value=10, max_value=120),  # lines keep at least 8 cells beside the indent
)
def test_wrap_keeps_every_word_in_order_within_the_width(pieces, width):
    text = "".join(w + sep for w, sep in pieces)
    lines = render.wrap(text, width, indent="  ")
    for line in lines:
        assert render.cell_width(line) <= width or len(line.strip()) == 1
    assert "".join("".join(lines).split()) == "".join(render.printable(w) for w in text.split())


def test_sources_text_aligns_files():
    info = FakeAssistant().sources_info()
    info["files"].append({"name": "a-much-longer-name.md", "chars": 12345, "chunks": 7})
    lines = render.sources_text(info, render.Style()).splitlines()
    assert lines[-2:] == [
        "  report.txt                   251 chars      4 chunks",
        "  a-much-longer-name.md     12,345 chars      7 chunks",
    ]


def test_fake_report_offsets_are_exact():
    # Guards the fake itself: the transcripts above rely on real offsets.
    a = FakeAssistant().answer("when did the inspectors visit")
    for c in a.citations:
        assert REPORT[c.start : c.end] == c.text
    assert REPORT[a.quote.start : a.quote.end] == a.text


@settings(max_examples=200, deadline=None)
@given(st.lists(words, min_size=1, max_size=80), st.integers(min_value=20, max_value=120))
def test_excerpts_fit_the_width_ellipsis_included(passage_words, width):
    lines = render.excerpt_lines(" ".join(passage_words), width)
    assert 1 <= len(lines) <= render.EXCERPT_LINES
    for line in lines:
        assert render.cell_width(line) <= width or len(line.split()) <= 2


def test_unwrapped_excerpt_is_cut_at_a_word():
    text = "word " * 100
    (line,) = render.excerpt_lines(text, None)
    assert line.startswith("    word word") and line.endswith("word …")
    assert len(line) <= len(render.PASSAGE_INDENT) + render.EXCERPT_CHARS + 2


def test_unwrapped_excerpt_does_not_start_a_line_it_has_no_room_for():
    # A 150-character first line left room for "A …" of the next one.
    first = "word " * 29 + "end."
    (line,) = render.excerpt_lines(first + "\nA South Yorkshire Police spokesperson said", None)
    assert line == render.PASSAGE_INDENT + first + " …"
    lines = render.excerpt_lines("short first line\nA South Yorkshire Police spokesperson said", None)
    assert lines == [render.PASSAGE_INDENT + "short first line", render.PASSAGE_INDENT + "A South Yorkshire Police spokesperson said"]


def test_a_quote_inside_a_longer_passage_is_cited_at_its_own_line():
    start, end = REPORT.index("The inspectors"), REPORT.index("workshop.") + len("workshop.")
    passage = Citation("report.txt", start, end, 3, 2, REPORT[start:end], 0.9)
    q_start = REPORT.index("The depot manager")
    q_end = REPORT.index("in May.") + len("in May.")
    quote = Quote("report.txt", q_start, q_end, 5, 3)
    answer = Answer("who", True, REPORT[q_start:q_end], 0.9, (passage,), quote)
    out = render.answer_text(answer, render.Style(color=True, width=None))
    assert "[1]\x1b[0m report.txt, line 5, paragraph 3\n" in out
    hl = f"\x1b[{render.HIGHLIGHT}m"
    assert f"{hl}{REPORT[q_start:q_end]}{render.RESET} Water no longer" in out
    # Its paragraphs stay apart: a blank line between them.
    assert "40 buses.\n\n    " in out


def test_one_list_of_commands_drives_help_completion_dispatch_and_the_docs():
    from pathlib import Path

    from reportqa.ui import commands
    from reportqa.ui.commands import COMMANDS

    for name in COMMANDS:
        assert name == "/quit" or callable(getattr(commands, "cmd_" + name[1:]))
    docs = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    table = docs.split("## Commands", 1)[1].split("\n\n")[1]
    assert re.findall(r"^\| `(/\w+)", table, re.M) == list(COMMANDS)


def test_why_says_why_it_answered_or_declined_and_shows_the_near_misses():
    from reportqa.results import Answer, Citation, Considered, Quote, Signals

    text = "The depot manager, Ann Lee, said the new roof was finished in May."
    cite = Citation("report.txt", 100, 166, 5, 3, text, 0.5)
    quote = Quote("report.txt", 100, 166, 5, 3)
    signals = (Signals(1, 2.0, 2, 0.5, 0.6, 0.7, 0.0164),)
    long = "The inspectors visited the depot in March 2021. They counted 40 buses, of which 12 were out of service, and found that the workshop roof leaked over two of the bays."
    near = (Considered(quote, text, 4.25), Considered(Quote("report.txt", 40, 40 + len(long), 3, 2), long, 1.5))
    declined = Answer("who fixed the roof", False, "", 0.0912, (cite,), None, signals, considered=near, threshold=0.19)
    assert render.why_text(declined, render.Style()) == """\
Not answered: the confidence, 0.09, is below the threshold, 0.19.
Best candidate quotes, by the reader's score (it ranks them; it is not a probability):
  1. score 4.25, report.txt, line 5, paragraph 3
    The depot manager, Ann Lee, said the new roof was finished in May.
  2. score 1.50, report.txt, line 3, paragraph 2
    The inspectors visited the depot in March 2021. They counted 40 buses, of which 12 were out of service, and found that the workshop roof leaked over two of the …

     lexical         dense         sentence   late   fused
        rank  score   rank  score    cosine  match   score
[1]       #1  2.000     #2  0.500     0.600  0.700  0.0164
Ranks are 1-based, among all the passages."""
    at = Answer("who is the depot manager", True, text, 0.19, (cite,), quote, signals, considered=near[:1], threshold=0.19)
    assert render.why_text(at, render.Style()).startswith(
        "Answered: the confidence, 0.1900, is at least the threshold, 0.1900.\n"
    )
    bare = Answer("q", False, "", 0.0, (cite,), None, signals, considered=(), threshold=0.19)
    assert render.why_text(bare, render.Style()).startswith("Not answered: no sentence of the closest passages could be a quote.\n\n")
