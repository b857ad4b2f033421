"""The command line through ``main([...])``: help, exit codes, JSON, stdin mode, progress.

Most tests use the fake assistant; the ones at the end run the installed
command against the real core in a subprocess.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import jsonschema
import pytest
from cli_helpers import REPORT, BrokenAssistant, FakeAssistant

from reportqa import __version__, cli
from reportqa.errors import QuestionError

ROOT = Path(__file__).resolve().parents[1]
CITATION_SCHEMA = {
    "type": "object",
    "required": ["source", "start", "end", "line", "paragraph", "text", "score"],
    "properties": {
        "source": {"type": "string", "minLength": 1},
        "start": {"type": "integer", "minimum": 0},
        "end": {"type": "integer", "minimum": 0},
        "line": {"type": "integer", "minimum": 1},
        "paragraph": {"type": "integer", "minimum": 1},
        "text": {"type": "string", "minLength": 1},
        "score": {"type": "number"},
    },
    "additionalProperties": False,
}
ANSWER_SCHEMA = {
    "type": "object",
    "required": ["question", "answered", "text", "confidence", "citations"],
    "properties": {
        "question": {"type": "string"},
        "answered": {"type": "boolean"},
        "text": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "citations": {"type": "array", "items": CITATION_SCHEMA},
        "quote": {
            "type": ["object", "null"],
            "required": ["source", "start", "end", "line", "paragraph"],
        },
        "notice": {"type": "string"},
        # a passage reader's answer span inside the quote, with the quote's fields
        "span": {"type": "object", "required": ["source", "start", "end", "line", "paragraph"]},
    },
    "additionalProperties": False,
    # Answered: a non-empty quote with its offsets; not answered: no text, no quote.
    "if": {"properties": {"answered": {"const": True}}},
    "then": {"properties": {"text": {"minLength": 1}, "quote": {"type": "object"}}},
    "else": {"properties": {"text": {"maxLength": 0}, "quote": {"type": "null"}}},
}


def valid_answer(obj: dict) -> dict:
    jsonschema.validate(obj, ANSWER_SCHEMA)
    for c in obj["citations"]:
        assert c["end"] - c["start"] == len(c["text"])
    return obj


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def fake(monkeypatch):
    """Route the CLI to one FakeAssistant and return it."""
    made = {}

    def make(args, notify):
        made["it"] = FakeAssistant(args.source, args.index_dir, notify=notify)
        return made["it"]

    monkeypatch.setattr(cli, "make_assistant", make)
    return made


@pytest.fixture
def broken(monkeypatch):
    monkeypatch.setattr(
        cli, "make_assistant", lambda args, notify: BrokenAssistant(args.source, args.index_dir)
    )


def stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


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


# -- ask ------------------------------------------------------------------------------


# What the fake core answers to "When did the inspectors visit the depot?", printed to a pipe.
DEPOT_ANSWER = (
        "The inspectors visited the depot in March 2021. [1]\n"
        "\n"
        "confidence: high (0.82)\n"
        "\n"
        "[1] report.txt, line 3, paragraph 2\n"
        "    The inspectors visited the depot in March 2021. They counted 40 buses.\n"
        "[2] report.txt, line 5, paragraph 3\n"
        "    The depot manager, Ann Lee, said the new roof was finished in May. "
        "Water no longer leaks into the workshop.\n"
        "[3] report.txt, line 1, paragraph 1\n"
        "    Inspection report\n"
)


def test_ask_prints_the_answer_and_citations(capsys, fake):
    assert cli.main(["ask", "When did the inspectors visit the depot?"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    # Not a terminal: no colour, no wrapping; the first line is the quote.
    assert captured.out == DEPOT_ANSWER


def test_ask_joins_words_and_passes_k_source_and_index(capsys, fake):
    argv = ["ask", "-k", "2", "--source", "x.md", "--index", "idx", "who", "is", "the", "manager"]
    assert cli.main(argv) == 0
    assert fake["it"].questions == [("who is the manager", 2)]
    assert (fake["it"].source, fake["it"].index_dir) == (Path("x.md"), Path("idx"))
    assert capsys.readouterr().out.count("\n[") == 2


def test_ask_json_is_one_valid_object(capsys, fake):
    assert cli.main(["ask", "--json", "who is the depot manager"]) == 0
    obj = valid_answer(json.loads(capsys.readouterr().out))
    assert obj["answered"] is True
    assert obj["text"] == "The depot manager, Ann Lee, said the new roof was finished in May."
    first = obj["citations"][0]
    assert REPORT[first["start"] : first["end"]] == first["text"]


def test_ask_json_not_in_the_report_exits_0(capsys, fake):
    assert cli.main(["ask", "--json", "price of tea"]) == 0
    obj = valid_answer(json.loads(capsys.readouterr().out))
    assert obj["answered"] is False and obj["text"] == "" and len(obj["citations"]) == 3


def test_ask_plain_not_in_the_report_exits_0(capsys, fake):
    assert cli.main(["ask", "price of tea"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Not in the report: no passage answers this question.\n\nClosest passages"
    )


def test_ask_dash_reads_the_question_from_stdin(capsys, fake, monkeypatch):
    stdin(monkeypatch, "who is the\ndepot manager\n")
    assert cli.main(["ask", "-", "--json"]) == 0
    assert fake["it"].questions == [("who is the\ndepot manager", 3)]
    valid_answer(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize(
    "argv, text", [(["ask", ""], ""), (["ask", "  ", "\t"], ""), (["ask", "-"], " \n")]
)
def test_ask_empty_question_is_a_usage_error(argv, text, capsys, fake, monkeypatch):
    stdin(monkeypatch, text)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == "reportqa ask: error: the question is empty: ask something about the report.\n"
    assert "it" not in fake


def test_ask_question_the_core_refuses_exits_2(capsys, monkeypatch):
    class Refusing(FakeAssistant):
        def answer(self, question, k=3):
            raise QuestionError("The question has no words: type a question about the report.")

    monkeypatch.setattr(cli, "make_assistant", lambda args, notify: Refusing())
    assert cli.main(["ask", "?!"]) == 2
    assert capsys.readouterr().err == (
        "reportqa ask: error: The question has no words: type a question about the report.\n"
    )


def test_ask_notice_goes_to_stderr_and_into_the_json(capsys, fake):
    assert cli.main(["ask", "--json", "depot " * 300]) == 0
    captured = capsys.readouterr()
    assert captured.err == "question truncated to 256 wordpieces\n"
    assert json.loads(captured.out)["notice"] == "question truncated to 256 wordpieces"


@pytest.mark.parametrize(
    "argv",
    [["ask", "anything"], ["index"], ["chat"], [], ["ask", "--json", "x"]],
)
def test_source_or_index_problems_exit_1_with_one_line(argv, capsys, broken, monkeypatch):
    stdin(monkeypatch, "a question\n")
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("reportqa: error: ")
    assert ("run `reportqa index`" in captured.err) or (
        "choose another with --index" in captured.err
    )


def test_unreadable_file_from_the_core_exits_1(capsys, monkeypatch):
    def make(args, notify):
        raise PermissionError(13, "Permission denied", "/root/report.txt")

    monkeypatch.setattr(cli, "make_assistant", make)
    assert cli.main(["ask", "q"]) == 1
    assert capsys.readouterr().err == (
        "reportqa: error: [Errno 13] Permission denied: '/root/report.txt'\n"
    )


# -- stdin mode -------------------------------------------------------------------------


def test_piped_lines_are_answered_in_turn_without_prompts(capsys, fake, monkeypatch):
    stdin(monkeypatch, "When did the inspectors visit the depot?\n\n   \nprice of tea\n")
    assert cli.main([]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "\x1b" not in captured.out and "reportqa>" not in captured.out
    assert captured.out == (
        "Q: When did the inspectors visit the depot?\n"
        + DEPOT_ANSWER
        + "\n"
        "Q: price of tea\n"
        "Not in the report: no passage answers this question.\n"
        "\n"
        "Closest passages, so you can judge:\n"
        "[1] report.txt, line 1, paragraph 1\n"
        "    Inspection report\n"
        "[2] report.txt, line 3, paragraph 2\n"
        "    The inspectors visited the depot in March 2021. They counted 40 buses.\n"
        "[3] report.txt, line 5, paragraph 3\n"
        "    The depot manager, Ann Lee, said the new roof was finished in May. "
        "Water no longer leaks into the workshop.\n"
    )


def test_piped_lines_with_json_give_json_lines(capsys, fake, monkeypatch):
    stdin(monkeypatch, "who is the depot manager\nprice of tea\n\nwhen did the inspectors visit\n")
    assert cli.main(["chat", "--json", "-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    objects = [valid_answer(json.loads(line)) for line in lines]
    assert [o["question"] for o in objects] == [
        "who is the depot manager",
        "price of tea",
        "when did the inspectors visit",
    ]
    assert [o["answered"] for o in objects] == [True, False, True]
    assert all(len(o["citations"]) == 2 for o in objects)


def test_a_refused_line_is_reported_and_the_rest_answered(capsys, monkeypatch):
    class Refusing(FakeAssistant):
        def answer(self, question, k=3):
            if question == "?!":
                raise QuestionError("The question has no words.")
            return super().answer(question, k)

    monkeypatch.setattr(cli, "make_assistant", lambda args, notify: Refusing())
    stdin(monkeypatch, "?!\nwho is the depot manager\n")
    assert cli.main(["chat", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "reportqa: The question has no words. (question: ?!)\n"
    assert json.loads(captured.out)["question"] == "who is the depot manager"


def test_a_piped_slash_command_is_a_command_not_a_question(capsys, fake, monkeypatch):
    # `printf '/help\n' | reportqa` used to answer "/help" as a question about the report.
    stdin(monkeypatch, "/help\n")
    assert cli.main([]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Type a question to get an answer quoted from the report, or a command:\n")
    assert "  /why " in captured.out and "Q: " not in captured.out
    assert captured.err == "" and fake["it"].questions == []


def test_piped_commands_run_in_turn_with_the_questions(capsys, fake, monkeypatch):
    stdin(
        monkeypatch,
        "/k 1\nWhen did the inspectors visit the depot?\n/jsn\n/show 1\n/quit\nnot asked\n",
    )
    assert cli.main([]) == 0
    captured = capsys.readouterr()
    # An unknown command: the chat's own one-line error, on stderr; the other lines go on.
    assert captured.err == "error: unknown command /jsn. Did you mean /json? Type /help to list the commands.\n"
    assert fake["it"].questions == [("When did the inspectors visit the depot?", 1)]  # /k 1 applied; /quit stopped
    shown = captured.out.split("\n\n")
    assert shown[0] == "Showing 1 passage per answer from now on."
    assert shown[1].startswith("Q: When did the inspectors visit the depot?\nThe inspectors visited the depot")
    assert "(cited)" in captured.out  # /show 1 showed the last answer's citation


@pytest.mark.parametrize("leave", ["quit", "EXIT", "  exit  "])
def test_a_piped_bare_quit_stops_as_in_the_chat(capsys, fake, monkeypatch, leave):
    stdin(monkeypatch, f"who is the depot manager\n{leave}\nnot asked\n")
    assert cli.main([]) == 0
    assert fake["it"].questions == [("who is the depot manager", 3)]
    assert "Q: " + leave.strip() not in capsys.readouterr().out


@pytest.mark.parametrize("forget", ["/new", "/clear", "/reset"])
def test_piped_new_in_json_mode_writes_nothing_but_json_lines(capsys, fake, monkeypatch, forget):
    # It used to write "New conversation: …" as a plain line among the JSON Lines.
    stdin(monkeypatch, f"who is the depot manager\n{forget}\nprice of tea\n")
    assert cli.main(["--json"]) == 0
    captured = capsys.readouterr()
    objects = [valid_answer(json.loads(line)) for line in captured.out.splitlines()]
    assert [o["question"] for o in objects] == ["who is the depot manager", "price of tea"]
    assert captured.err == "New conversation: the next question is read on its own.\n"


def test_piped_new_in_plain_mode_still_says_so(capsys, fake, monkeypatch):
    stdin(monkeypatch, "who is the depot manager\n/new\n")
    assert cli.main([]) == 0
    assert capsys.readouterr().out.endswith("\n\nNew conversation: the next question is read on its own.\n")


def test_piped_json_command_switches_to_json_lines(capsys, fake, monkeypatch):
    stdin(monkeypatch, "/json\nwho is the depot manager\n")
    assert cli.main([]) == 0
    captured = capsys.readouterr()
    # "JSON output on." used to be the first line of the JSON Lines: now it goes to stderr.
    assert captured.err == "JSON output on.\n"
    (line,) = captured.out.splitlines()
    assert valid_answer(json.loads(line))["question"] == "who is the depot manager"


def test_piped_json_toggles_between_text_and_json_lines(capsys, fake, monkeypatch):
    # /json on after an answer writes that answer first, as one JSON line (it used to be indented).
    stdin(monkeypatch, "who is the depot manager\n/json\nprice of tea\n/json\n/k 1\n")
    assert cli.main([]) == 0
    captured = capsys.readouterr()
    assert captured.err == "JSON output on.\n"
    _, json_lines, tail = captured.out.split("\n\n")[-3:]
    assert captured.out.startswith("Q: who is the depot manager\nThe depot manager, Ann Lee")
    first, second, off = json_lines.splitlines()
    assert [valid_answer(json.loads(line))["question"] for line in (first, second)] == ["who is the depot manager", "price of tea"]
    assert off == "JSON output off."
    assert tail == "Showing 1 passage per answer from now on.\n"


def test_piped_json_lines_hold_nothing_but_answers(capsys, fake, monkeypatch):
    # /k N and every other command used to write plain-text lines among the JSON Lines.
    lines = "who is the depot manager\n/k 2\n/k\n/why\n/show 1\n/sources\n/help\n/nope\n/new\nprice of tea\n"
    stdin(monkeypatch, lines)
    assert cli.main(["--json"]) == 0
    captured = capsys.readouterr()
    objects = [valid_answer(json.loads(line)) for line in captured.out.splitlines()]
    assert [(o["question"], len(o["citations"])) for o in objects] == [("who is the depot manager", 3), ("price of tea", 2)]
    err = captured.err
    for said in ("Showing 2 passages per answer from now on.\n", "Showing 2 passages per answer. Change it",
                 "lexical", "(cited)", "source:  report.txt", "Type a question", "unknown command /nope.",
                 "New conversation"):
        assert said in err, said


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


# -- against the real core, through the installed entry point --------------------------------

QUESTION = "When did the IOPC publish the full findings of Operation Amazon?"


def core_available() -> bool:
    try:
        import reportqa.assistant  # noqa: F401
    except ImportError:
        return False
    return True


real = pytest.mark.skipif(
    not core_available(), reason="reportqa.assistant (the core) is not importable"
)


def run(args, tmp_path, stdin_text=None):
    env = dict(
        os.environ,
        REPORTQA_HISTORY=str(tmp_path / "history"),
        NO_COLOR="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "reportqa", *args],
        input=stdin_text,
        check=False,  # the exit status is what these tests check
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # any working directory works
        timeout=300,
    )


@real
def test_real_ask_json(tmp_path):
    done = run(["ask", "--json", QUESTION], tmp_path)
    assert done.returncode == 0, done.stderr
    obj = valid_answer(json.loads(done.stdout))
    assert obj["answered"] is True and obj["question"] == QUESTION
    source = (ROOT / "source_text" / obj["citations"][0]["source"]).read_text(encoding="utf-8")
    q = obj["quote"]
    assert source[q["start"] : q["end"]] == obj["text"]
    for c in obj["citations"]:
        assert source[c["start"] : c["end"]] == c["text"]


@real
def test_real_ask_plain(tmp_path):
    done = run(["ask", QUESTION], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "[1] iopc-operation-amazon.txt, line " in done.stdout
    assert "confidence: " in done.stdout


@real
def test_real_missing_source_exits_1_with_one_line(tmp_path):
    done = run(["ask", "--source", str(tmp_path / "missing"), QUESTION], tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    # One error line, last; a first run may print a one-time model notice before it.
    errors = [line for line in done.stderr.splitlines() if line.startswith("reportqa: error: ")]
    assert len(errors) == 1 and done.stderr.splitlines()[-1] == errors[0]
    assert str(tmp_path / "missing") in errors[0]
    assert "Traceback" not in done.stderr


@real
def test_real_stdin_mode(tmp_path):
    done = run([], tmp_path, stdin_text=f"{QUESTION}\n\nWho made the complaint in 2017?\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\nQ: ") + done.stdout.startswith("Q: ") == 2
    assert "\x1b" not in done.stdout and "reportqa>" not in done.stdout
    json_done = run(
        ["chat", "--json"], tmp_path, stdin_text=f"{QUESTION}\nWho made the complaint?\n"
    )
    assert json_done.returncode == 0, json_done.stderr
    assert len([valid_answer(json.loads(line)) for line in json_done.stdout.splitlines()]) == 2


@real
def test_real_index_and_eval_on_another_report(tmp_path):
    report = tmp_path / "depot.txt"
    report.write_text(REPORT, encoding="utf-8")
    index = tmp_path / "depot-index"
    built = run(["index", "--source", str(report), "--index", str(index)], tmp_path)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("Indexed 1 file, ") and str(index) in built.stdout
    again = run(["index", "--source", str(report), "--index", str(index)], tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("Index is up to date: 1 file, ")

    start = REPORT.index("Ann Lee")
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "a",
                "q": "Who is the depot manager?",
                "answers": ["Ann Lee"],
                "spans": [[start, start + 7]],
            }
        )
        + "\n"
        + json.dumps({"id": "b", "q": "What is the capital of Peru?", "answerable": False})
        + "\n",
        encoding="utf-8",
    )
    where = ["--source", str(report), "--index", str(index)]
    scored = run(["eval", str(questions), *where], tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert "hit@1" in scored.stdout and "MRR@10" in scored.stdout
    scored_json = run(["eval", str(questions), "--json", *where], tmp_path)
    assert scored_json.returncode == 0, scored_json.stderr
    result = json.loads(scored_json.stdout)
    assert {"summary", "misses"} <= set(result)
    assert result["summary"]["hit@1"] == 1.0


@real
def test_real_bad_question_file_exits_1(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("not json\n", encoding="utf-8")
    done = run(["eval", str(questions)], tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("reportqa: error: ")
    assert "q.jsonl:1" in done.stderr and "Traceback" not in done.stderr


def test_chat_in_a_terminal_refuses_a_missing_source_before_opening(tmp_path, fake):
    args = cli.build_parser().parse_args(["chat", "--source", str(tmp_path / "nope")])
    with pytest.raises(cli.SourceError, match="nope does not exist"):
        cli.chat_terminal(args)
    assert "it" not in fake


@real
def test_real_another_report_with_the_default_index_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fresh-cache"))
    monkeypatch.delenv("REPORTQA_CACHE_DIR", raising=False)
    report = tmp_path / "depot.txt"
    report.write_text(REPORT, encoding="utf-8")
    done = run(["ask", "--json", "--source", str(report), "Who is the depot manager?"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Ann Lee" in valid_answer(json.loads(done.stdout))["text"]
