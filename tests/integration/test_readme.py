"""Every code block of README.md that shows output is run, and its output compared.

* A block that starts with `$ reportqa` is a chat session (in README.md, and the one in
  docs/cli.md): the same questions are
  typed into `reportqa` in a real 88-column pseudo-terminal (NO_COLOR, TERM=dumb),
  and the screen must read exactly as the block does.
* In a ```python block, a line `EXPRESSION  # VALUE` whose VALUE reads as a Python
  value (a string, True/False/None, a number, `Name(...)`) must be the repr of
  EXPRESSION; `…` stands for any text. Other comments are explanations.
* Any other block with a `$ ` line followed by output is refused, so a new example
  cannot be added without a check.
"""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest
from conftest import ROOT

README = ROOT / "README.md"
CLI_DOC = ROOT / "docs" / "cli.md"
PROMPT = "reportqa> "
VALUE = re.compile(r"""^(['"]|True\b|False\b|None\b|-?\d|[A-Z]\w+\()""")


def blocks(path: Path = README) -> list[tuple[str, str]]:
    """(language, text) of each fenced code block."""
    return re.findall(r"^```(\w*)\n(.*?)^```$", path.read_text(encoding="utf-8"), re.M | re.S)


def sessions() -> list[str]:
    found = [text for path in (README, CLI_DOC) for _, text in blocks(path) if text.startswith("$ reportqa\n")]
    return [text.removesuffix("$\n") for text in found]  # a capture may end with the shell's prompt after Ctrl-D


def python_blocks() -> list[str]:
    return [text for lang, text in blocks() if lang == "python"]


def screen(raw: str) -> str:
    """What a terminal shows for raw output: \\r returns to column 0, ESC[K erases to the end."""
    lines = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        cells: list[str] = []
        col = 0
        for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b.|\r|[^\x1b\r]", line):
            if token == "\r":
                col = 0
            elif token == "\x1b[K":
                del cells[col:]
            elif token.startswith("\x1b"):
                continue
            else:
                cells[col : col + 1] = [token]
                col += 1
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)


def test_every_block_with_output_is_checked_here():
    for lang, text in blocks():
        if text.startswith("$ reportqa\n") or lang == "python":
            continue
        lines = text.splitlines()
        shown = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        assert all(i + 1 == len(lines) or lines[i + 1].startswith("$ ") for i in shown), (
            f"README block shows output that no test checks:\n{text}"
        )
    assert sessions() and python_blocks()


@pytest.mark.parametrize("shown", sessions(), ids=lambda s: re.findall(r"^reportqa> (.+)$", s, re.M)[0][:30])
def test_a_chat_session_in_the_readme_is_what_the_terminal_shows(shown, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    questions = re.findall(r"^reportqa> (.+)$", shown, re.M)
    env = dict(os.environ, TERM="dumb", NO_COLOR="1", REPORTQA_HISTORY=str(tmp_path / "history"))
    log = io.StringIO()
    child = pexpect.spawn(sys.executable, ["-m", "reportqa"], env=env, encoding="utf-8",
                          dimensions=(50, 88), timeout=120, cwd=str(tmp_path))
    child.logfile_read = log
    try:
        child.expect_exact(PROMPT)
        for question in questions:
            child.sendline(question)
            child.expect_exact(PROMPT)
        child.sendline("/quit")  # what Ctrl-D does; a plain prompt may not see an early Ctrl-D
        child.expect(pexpect.EOF)
    finally:
        child.close()
    seen = screen(log.getvalue())
    seen = seen[: seen.rindex(PROMPT) + len(PROMPT)].rstrip()  # up to the last prompt, before /quit
    assert seen.lstrip("\n") == shown.removeprefix("$ reportqa\n").rstrip()


def _matches(value_repr: str, shown: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in shown.split("…"))
    return re.fullmatch(pattern, value_repr, re.S) is not None


@pytest.mark.parametrize("code", python_blocks(), ids=lambda c: c.splitlines()[0][:30])
def test_the_python_api_block_shows_true_values(code):
    namespace: dict = {}
    checked = 0
    for line in code.splitlines():
        statement, _, comment = line.partition("  # ")
        comment = comment.strip()
        if comment and VALUE.match(comment):
            value = eval(statement, namespace)  # noqa: S307 - the README's own example
            assert _matches(repr(value), comment), f"README: {statement.strip()}  # {comment}\nactual: {value!r}"
            checked += 1
        elif statement.strip():
            exec(statement, namespace)  # noqa: S102
    assert checked >= 4


def setup_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## Setup\n", 1)[1].split("\n## ", 1)[0]


def test_setup_says_how_to_start_again_and_that_the_first_run_prepares_the_model():
    setup = setup_section()
    install = re.findall(r"^```sh\n(.*?)^```$", setup, re.M | re.S)
    # The first block makes the venv; a later one starts the tool again from it.
    assert install[0].startswith("python3 -m venv .venv && . .venv/bin/activate")
    assert ". .venv/bin/activate && reportqa\n" in install[1:]
    # The notice it quotes is the one the first run prints.
    from reportqa.models import cache

    quoted = re.search(r"\(`(reportqa: preparing the ONNX model once, in) …`\)", setup)
    assert quoted and f'notify(f"{quoted.group(1)} {{self.folder}} …")' in Path(cache.__file__).read_text(encoding="utf-8")


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "activate").is_file(), reason="no .venv made as the README's setup makes it")
def test_the_command_that_starts_it_again_works(tmp_path):
    import subprocess

    env = {**os.environ, "NO_COLOR": "1", "REPORTQA_HISTORY": str(tmp_path / "history")}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(["sh", "-c", ". .venv/bin/activate && reportqa"], cwd=ROOT, env=env, input="/help\n",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Type a question to get an answer quoted from the report, or a command:\n")
