"""The command line through ``main([...])`` with the fake assistant: help and usage, `index`, `eval`,
and a light start. `ask` and piped questions are in test_cli_ask.py; the installed command against the
real core in tests/integration/test_cli_installed.py."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from cli_helpers import BrokenAssistant, FakeAssistant, Tty, stdin, valid_answer

from reportqa import __version__, cli


# -- help and usage -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["chat", "ask", "index", "eval"])
def test_every_command_has_help_with_examples(command, capsys):
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: reportqa {command} ")
    assert "examples:" in out
    assert f"reportqa {command}" in out.split("examples:")[1]
    assert "--source PATH" in out and "--index DIR" in out


def test_every_command_is_listed_with_a_description(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    commands = out.split("commands:\n  COMMAND\n", 1)[1].split("\n\n", 1)[0].splitlines()
    listed = {line.split()[0]: line.split(None, 1)[1] for line in commands}
    assert set(listed) == {"chat", "ask", "index", "eval"}
    assert all(len(description) > 10 for description in listed.values())
    assert "exit status:" in out


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"reportqa {__version__}\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["ask"], "the following arguments are required: QUESTION"),
        (["ask", "-k", "0", "q"], "argument -k: must be 1 or more, got 0"),
        (["ask", "-k", "many", "q"], "argument -k: expected a whole number, got 'many'"),
        (["ask", "--bogus", "q"], "unrecognized arguments: --bogus"),
        (["index", "--force", "extra"], "unrecognized arguments: extra"),
        (["eval"], "the following arguments are required: QUESTIONS.jsonl"),
    ],
)
def test_usage_errors_exit_2(argv, message, capsys, fake):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert "it" not in fake  # nothing was loaded


@pytest.mark.parametrize(
    "argv, usage, message",
    [
        (["ask", "--index-dir", "/tmp/i", "q"], "usage: reportqa ask ",
         "reportqa ask: error: unrecognized arguments: --index-dir (did you mean --index?)"),
        (["index", "--sorce=notes.md"], "usage: reportqa index ",
         "reportqa index: error: unrecognized arguments: --sorce=notes.md (did you mean --source?)"),
        (["chat", "--zzz"], "usage: reportqa chat ", "reportqa chat: error: unrecognized arguments: --zzz\n"),
        (["--bogus"], "usage: reportqa [-h]", "reportqa: error: unrecognized arguments: --bogus\n"),
    ],
)
def test_an_unknown_option_is_reported_by_its_command_with_the_nearest_one(argv, usage, message, capsys, fake):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and message in err
    assert "it" not in fake


def test_a_question_typed_as_a_command_gets_a_hint(capsys):
    assert cli.main(["When did it happen?"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'When did it happen?'" in err
    assert 'reportqa ask "YOUR QUESTION"' in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--source", "notes.md", "--index", "/tmp/notes-index", "-k", "2", "--json"],
        ["--json", "-k2", "--source=notes.md", "--index=/tmp/notes-index"],
        ["--sou", "notes.md", "--ind", "/tmp/notes-index", "-k", "2", "--js"],  # abbreviations, as chat takes
    ],
)
def test_reportqa_alone_takes_the_chat_options(argv, capsys, fake, monkeypatch):
    # The README's `reportqa --source ~/reports/annual-review/`: the chat, without the word chat.
    stdin(monkeypatch, "who is the depot manager\n")
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert fake["it"].source == Path("notes.md") and fake["it"].index_dir == Path("/tmp/notes-index")
    assert fake["it"].questions == [("who is the depot manager", 2)]
    assert valid_answer(json.loads(captured.out))["answered"] is True


def test_reportqa_alone_is_the_chat_with_its_defaults(capsys, fake, monkeypatch):
    stdin(monkeypatch, "who is the depot manager\n")
    assert cli.main([]) == 0
    assert fake["it"].source == Path("report.txt")  # the fake's stand-in for "no --source"
    assert fake["it"].questions == [("who is the depot manager", 3)]
    assert capsys.readouterr().out.startswith("Q: who is the depot manager\n")


def test_the_chat_options_are_in_the_main_help(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: reportqa [-h] [--version] [--source PATH] [--index DIR] [--store URI]")
    for option in ("--source PATH", "--index DIR", "--store URI", "-k N", "--json"):
        assert f"  {option}" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sorce", "notes.md"], "reportqa: error: unrecognized arguments: --sorce (did you mean --source?)\n"),
        (["-k", "0"], "reportqa: error: argument -k: must be 1 or more, got 0\n"),
        (["--json", "ask", "q"], "reportqa: error: --json goes after the command: reportqa ask --json …\n"),
        (["--source", "x", "index"], "reportqa: error: --source goes after the command: reportqa index --source …\n"),
    ],
)
def test_chat_options_without_a_command_give_usage_errors(argv, message, capsys, fake):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: reportqa [-h]") and err.endswith(message)
    assert "it" not in fake

# -- index ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["ask", "who is the depot manager"], ["index"], ["chat"], []])
def test_an_index_folder_whose_parent_is_missing_is_an_error_not_created(capsys, fake, tmp_path, command):
    # `--index /nonexistent/dir` used to create /nonexistent too, without a word.
    wanted = tmp_path / "nonexistent" / "dir"
    assert cli.main([*command, "--index", str(wanted)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "it" not in fake
    assert captured.err == (
        f"reportqa: error: There is no folder {wanted.parent} to hold the index {wanted.name}: "
        "create it first, or pass --index with a folder inside an existing one.\n"
    )
    assert not wanted.parent.exists()


def test_an_index_folder_whose_parent_exists_is_made(capsys, fake, tmp_path):
    assert cli.main(["index", "--index", str(tmp_path / "new-index")]) == 0
    assert fake["it"].index_dir == tmp_path / "new-index"


def test_the_real_assistant_is_not_reached_with_a_missing_parent(capsys, tmp_path):
    wanted = tmp_path / "nonexistent" / "dir"
    assert cli.main(["index", "--index", str(wanted)]) == 1
    assert "There is no folder" in capsys.readouterr().err and not wanted.parent.exists()


def test_index_shows_progress_on_a_terminal_and_a_summary(capsys, fake, monkeypatch):
    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    assert cli.main(["index", "--force", "--index", "/tmp/x-index"]) == 0
    assert capsys.readouterr().out == "Indexed 1 file, 4 chunks in 0.2 s -> /tmp/x-index\n"
    drawn = err.getvalue()
    assert "\rEmbedding [" in drawn and "] 100% 4/4  ETA 0:00" in drawn
    assert drawn.endswith("\r\x1b[K")  # the bar is cleared before the summary


def test_index_without_a_terminal_prints_no_progress(capsys, fake):
    assert cli.main(["index"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == "Index is up to date: 1 file, 4 chunks in index (--force rebuilds it)\n"


def test_progress_bar_draws_done_total_and_eta():
    err = Tty()
    bar = cli.ProgressBar(err)
    bar.started -= 10  # ten seconds in, a quarter done: thirty to go
    bar(25, 100)
    assert "]  25% 25/100  ETA 0:30" in err.getvalue()
    assert "[" + "#" * 10 in err.getvalue()

# -- eval -----------------------------------------------------------------------------


@pytest.fixture
def fake_evaluate(monkeypatch):
    module = types.ModuleType("reportqa.evaluate")
    seen = {}

    def load_questions(path):
        seen["path"] = Path(path)
        return [
            {"id": "q1", "q": "who is the depot manager", "answers": ["Ann Lee"], "spans": [[0, 1]]}
        ]

    def evaluate(assistant, questions):
        seen["questions"] = questions
        return {"summary": {"hit@1": 1.0, "hit@3": 1.0}, "misses": []}

    module.load_questions = load_questions
    module.evaluate = evaluate
    module.format_report = lambda result: f"hit@1 {result['summary']['hit@1']:.3f}"
    monkeypatch.setitem(sys.modules, "reportqa.evaluate", module)
    return seen


def test_eval_prints_the_report(capsys, fake, fake_evaluate, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("{}\n")
    assert cli.main(["eval", str(questions)]) == 0
    assert capsys.readouterr().out == "hit@1 1.000\n"
    assert fake_evaluate["path"] == questions


def test_eval_json(capsys, fake, fake_evaluate, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("{}\n")
    assert cli.main(["eval", str(questions), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "summary": {"hit@1": 1.0, "hit@3": 1.0},
        "misses": [],
    }


def test_eval_missing_question_file_exits_2(capsys, fake, tmp_path):
    assert cli.main(["eval", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"reportqa eval: error: no question file at {tmp_path / 'nope.jsonl'}: give the path of a .jsonl file.\n"
    )

# -- startup stays light ------------------------------------------------------------------


def test_cli_and_repl_import_nothing_heavy():
    code = (
        "import sys; import reportqa.cli, reportqa.ui.repl, reportqa.render; "
        "from reportqa.cli import build_parser; build_parser(); "
        "heavy = [m for m in ('numpy', 'torch', 'sentence_transformers', 'tokenizers', "
        "'reportqa.assistant', 'reportqa.index') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_background_loader_reports_a_failure_then_retries():
    attempts = []

    def factory():
        attempts.append(1)
        if len(attempts) == 1:
            return BrokenAssistant()
        return FakeAssistant()

    loader = cli.BackgroundAssistant(factory)
    loader.start()
    with pytest.raises(Exception, match="No index"):
        loader.get()
    assistant = loader.get()  # the retry started by the failed get()
    assert isinstance(assistant, FakeAssistant) and assistant.loaded == 1
    assert loader.ready()

def test_chat_in_a_terminal_refuses_a_missing_source_before_opening(tmp_path, fake):
    args = cli.build_parser().parse_args(["chat", "--source", str(tmp_path / "nope")])
    with pytest.raises(cli.SourceError, match="nope does not exist"):
        cli.chat_terminal(args)
    assert "it" not in fake
