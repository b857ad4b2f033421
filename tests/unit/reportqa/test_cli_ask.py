"""`reportqa ask` and piped questions (stdin mode) through ``main([...])``, with the fake assistant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import REPORT, FakeAssistant, stdin, valid_answer

from reportqa import cli
from reportqa.errors import QuestionError


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
