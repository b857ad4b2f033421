"""The chat session shared by the terminal and the pipe (``ui/session.py``), without prompt_toolkit."""

from __future__ import annotations

import io
import json

from cli_helpers import FakeAssistant

from reportqa import render
from reportqa.ui.commands import ALIASES, COMMANDS
from reportqa.ui.session import Backend, Session


def piped(json_mode: bool) -> tuple[Session, io.StringIO, io.StringIO]:
    fake = FakeAssistant()
    out, err = io.StringIO(), io.StringIO()
    backend = Backend(ask=fake.answer, sources=fake.sources_info, surroundings=fake.surroundings)
    session = Session(backend, out=out, err=err, style=render.Style(color=False), json_mode=json_mode, piped=True)
    return session, out, err


def test_in_json_lines_no_command_writes_anything_but_json_to_stdout():
    # One rule in the session, so a command added later keeps it too.
    session, out, err = piped(json_mode=True)
    assert session.handle("who is the depot manager")
    lines = [f"{name} 1" for name in [*COMMANDS, *ALIASES] if name not in ("/json", "/quit", "/exit", "/q")]
    for line in [*lines, "/k", "/nope", "/show 9"]:
        assert session.handle(line)
    assert session.handle("price of tea")
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["question"] for a in answers] == ["who is the depot manager", "price of tea"]
    assert len(answers[1]["citations"]) == 1  # /k 1 applied
    assert "Showing 1 passage per answer from now on." in err.getvalue()
    assert "New conversation" in err.getvalue() and "error: unknown command /nope." in err.getvalue()


def test_piped_text_keeps_commands_among_the_answers():
    session, out, err = piped(json_mode=False)
    for line in ("/k 2", "who is the depot manager", "/new"):
        assert session.handle(line)
    assert not session.handle("/quit")
    assert out.getvalue().startswith("Showing 2 passages per answer from now on.\n\nQ: who is the depot manager\n")
    assert out.getvalue().endswith("\n\nNew conversation: the next question is read on its own.\n")
    assert err.getvalue() == ""
