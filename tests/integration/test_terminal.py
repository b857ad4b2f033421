"""One real chat session in a pseudo-terminal, driven like a person would drive it.

It starts ``python -m reportqa`` under pexpect with the real core and the
bundled report, asks a question, reads the answer and its citation from the
screen, uses Tab, Ctrl-C, /help and /show 1, and leaves with Ctrl-D.
"""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest
from conftest import ROOT

pexpect = pytest.importorskip("pexpect")

try:
    import reportqa.assistant  # noqa: F401

    CORE = True
except ImportError:
    CORE = False

pytestmark = [
    pytest.mark.skipif(not CORE, reason="reportqa.assistant (the core) is not importable yet"),
    pytest.mark.skipif(sys.platform == "win32", reason="pexpect needs a POSIX pseudo-terminal"),
]

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\r|\x08")
PROMPT = "reportqa> "
QUESTION = "When did the IOPC publish the full findings of Operation Amazon?"


def screen_text(raw: str) -> str:
    """What the terminal showed, without escape codes, with runs of spaces collapsed."""
    return re.sub(r"[ \t]+", " ", ANSI.sub("", raw))


def flat(text: str) -> str:
    return " ".join(text.split())


class Session:
    def __init__(self, tmp_path: Path):
        env = dict(os.environ, REPORTQA_HISTORY=str(tmp_path / "history"), TERM="xterm-256color")
        # A real terminal answers prompt_toolkit's cursor-position request; pexpect does
        # not, and each prompt would then wait a second for the reply before returning.
        env["PROMPT_TOOLKIT_NO_CPR"] = "1"
        env.pop("NO_COLOR", None)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "reportqa"],
            cwd=str(tmp_path),
            env=env,
            encoding="utf-8",
            dimensions=(50, 110),
            timeout=60,
        )
        self.shown = ""

    def step(self, keys: str, *marks: str) -> str:
        """Type keys; return what the screen showed up to the marks and the next prompt.

        The prompt can be drawn more than once, so each step first waits for text
        that only its own output contains (regular expressions, in order).
        """
        self.child.send(keys)
        seen = []
        for mark in (*marks, re.escape(PROMPT)):
            self.child.expect(mark)
            seen.append(self.child.before + self.child.after)
        text = screen_text("".join(seen))
        self.shown += text
        return text


@pytest.fixture
def session(tmp_path):
    s = Session(tmp_path)
    yield s
    if s.child.isalive():
        s.child.terminate(force=True)


def test_a_real_chat_session(session, tmp_path):
    banner = session.step("", r"/help for commands")
    assert "reportqa " in banner and "Ctrl-D to quit" in banner

    answer = session.step(QUESTION + "\r", r"confidence: ", r"\[3\]")
    report = (ROOT / "source_text" / "iopc-operation-amazon.txt").read_text(encoding="utf-8")
    quoted = "the Independent Office for Police Conduct (IOPC) has published their full finding"
    assert quoted in report
    assert quoted in flat(answer)
    assert re.search(r"\[1\] iopc-operation-amazon\.txt, line \d+, paragraph \d+", answer)
    assert "Traceback" not in answer

    # Ctrl-C clears a half-typed line and the session goes on.
    session.child.send("this line is thrown away")
    k = session.step("\x03/k 2\r", r"from now on\.")
    assert "Showing 2 passages per answer from now on." in k

    # Tab completes a command: type, wait for the menu, Tab, Enter.
    session.child.send("/he")
    session.child.expect_exact("list these commands")  # the completion menu's description
    helped = session.step("\t\r", r"Type a question to get an answer", r"Ctrl-D\s+quits\.")
    for command in ("/sources", "/show N", "/k N", "/json", "/why", "/quit"):
        assert command in helped

    shown = session.step("/show 1\r", r"\(cited\)")
    assert re.search(r"\[1\] iopc-operation-amazon\.txt, line \d+, paragraph \d+", shown)
    assert quoted in flat(shown)

    unknown = session.step("/nonsense\r", r"to list the\s+commands\.")
    assert "unknown command /nonsense" in unknown

    session.child.send("\x04")  # Ctrl-D on an empty line leaves
    session.child.expect(pexpect.EOF)
    session.child.close()
    assert session.child.exitstatus == 0
    assert "Traceback" not in session.shown

    history = (tmp_path / "history").read_text(encoding="utf-8")
    assert f"+{QUESTION}" in history and "+/show 1" in history
    assert "thrown away" not in history


def test_a_dumb_terminal_still_loads_and_answers(tmp_path):
    # With TERM=dumb prompt_toolkit falls back to a plain prompt that never runs the hook
    # starting the background load; the first question must start it instead of waiting forever.
    env = dict(os.environ, REPORTQA_HISTORY=str(tmp_path / "history"), TERM="dumb", NO_COLOR="1")
    child = pexpect.spawn(sys.executable, ["-m", "reportqa"], cwd=str(tmp_path), env=env,
                          encoding="utf-8", dimensions=(50, 110), timeout=60)
    log = io.StringIO()
    child.logfile_read = log
    try:
        try:
            child.expect_exact(PROMPT)
        except pexpect.EOF:
            # Seen once in a full CI-style run and never again alone (15 runs): the child left
            # before writing a byte. Say how it ended, so a next failure can be told apart.
            child.close()
            pytest.fail(f"reportqa ended before its prompt: exit status {child.exitstatus}, "
                        f"signal {child.signalstatus}, output {log.getvalue()!r}")
        child.sendline(QUESTION)
        child.expect(r"confidence: \w+ \(")
        child.expect_exact(PROMPT)
        assert "[1] iopc-operation-amazon.txt" in screen_text(child.before)
        child.sendline("/quit")  # a typed line waits in the tty until read; a Ctrl-D this early may not
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    # A dumb terminal prints escape codes as text: none may reach it (prompt_toolkit's own
    # "show the cursor" included).
    assert "\x1b" not in log.getvalue(), repr(log.getvalue()[:300])
