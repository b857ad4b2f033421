"""The chat REPL's keys: history (its file, the up arrow) and Tab completion, typed through a pipe."""

from __future__ import annotations

import io
import threading
import time

from cli_helpers import CTRL_D, FakeAssistant, backend_for
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from reportqa import render
from reportqa.paths import history_path
from reportqa.ui.repl import CommandCompleter, Repl, open_history


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
