"""Follow-up questions in a chat: detection on tests/data/followups.jsonl and not_followups.jsonl, the
conversation's memory and /new. The gain with the real model is in tests/quality/test_followup_accuracy.py."""

from __future__ import annotations

import io
import json

import pytest
from cli_helpers import FakeAssistant
from conftest import DATA
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from reportqa import render
from reportqa.conversation import Conversation, is_followup
from reportqa.ui.repl import Repl
from reportqa.ui.session import Backend

FOLLOWUPS = [json.loads(line) for line in (DATA / "followups.jsonl").read_text(encoding="utf-8").splitlines()]
STANDALONE = [json.loads(line) for line in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
# Complete questions holding "they", "it" or "any", and greetings, each after a previous question
# (written before the detector was changed to pass them).
NOT_FOLLOWUPS = [json.loads(line) for line in (DATA / "not_followups.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    "question",
    [
        "What about in the later years?",  # opens with "what about"
        "And when was it launched?",  # "and"
        "Why not?",  # no content word
        "How so?",  # "how so"
        "When did it happen?",  # a pronoun
        "What did she do?",
        "When?",  # no content word
        "Rotherham?",  # one content word
        "Any convictions?",  # one, and no subject of its own
        "Did the police act on it?",  # an object pronoun cannot refer to its clause's subject
        "How many strands did it have?",  # the question's own subject is a pronoun
        "Has this changed since?",  # "this" points back, unless it is the report ("who wrote this?")
        "Who is responsible for this?",
        "What did its report say?",  # a possessive with nothing before it
        "What was the outcome?",  # "what is X?" of a word, not a name
        "What is it?",
        "Which one?",  # no verb: elliptical
        "How many victims?",
        "What about victims?",
        "What was that?",  # no content word
        "When was that operation launched?",  # "that" as a determiner points back
        "What happened in that year?",
    ],
)
def test_short_or_anaphoric_questions_are_follow_ups(question):
    assert is_followup(question)


@pytest.mark.parametrize(
    "question",
    [
        "How did the watchdog rate the force's overall response?",
        "Who is Jayne Senior?",
        # A pronoun or "why" in a question that names its own subject is not a follow-up.
        "On what date did the IOPC release its full Operation Amazon finding?",
        "Why couldn't the IOPC judge how effective Operation Forced had been?",
        # Short, but complete: "why" alone does not lean on anything, nor does a pronoun that
        # refers to a noun before it in the question, nor a subject of its own.
        "Why did SYP disagree?",
        "Did SYP admit they had failed?",
        "When did SYP publish its apology?",
        "Is it true that SYP apologised?",
        "Was anyone charged?",
        "Did the report say that officers failed?",  # "that" opens a clause
        # One content word, but a whole wh-question: its word is no reference back.
        "How many convictions were there?",
        "Who was convicted?",
        "who is the secretary",  # "the" before a role is no reference back
        # "What is X?" of a name: typed with a capital, or no word the model knows.
        "What is the IOPC?",
        "whats the iopc",
        "what is cse/a",
        "Who is Jayne?",
        # "this" that is the report itself: it names the document, or is what was written or published.
        "who wrote this",
        "When was this published?",
        "who published this report?",
        "whats this about",
        # Not questions at all.
        "hi",
        "Thanks!",
        "thank you very much",
    ],
)
def test_questions_that_stand_alone_are_not(question):
    assert not is_followup(question)


def test_every_follow_up_of_the_set_is_detected():
    assert all(is_followup(q["q"]) for q in FOLLOWUPS)


def test_no_complete_question_or_greeting_of_the_set_is_read_as_a_follow_up():
    assert len([q for q in NOT_FOLLOWUPS if q["kind"] == "complete"]) >= 10
    assert {q["q"].lower() for q in NOT_FOLLOWUPS} >= {"hi", "thanks"}
    read_as_followups = [q["q"] for q in NOT_FOLLOWUPS if is_followup(q["q"])]
    assert read_as_followups == []
    for q in NOT_FOLLOWUPS:  # in a chat, right after the previous question: asked as typed
        r = Recorder()
        chat = Conversation(r.answer)
        chat.ask(q["previous"])
        assert chat.ask(q["q"]).followup_to == () and r.asked[-1] == q["q"]


class Recorder:
    """Answers with the fake report, recording the text each question was asked as."""

    def __init__(self):
        self.fake = FakeAssistant()
        self.asked: list[str] = []

    def answer(self, question: str, k: int = 3):
        self.asked.append(question)
        return self.fake.answer(question, k=k)


def test_a_follow_up_is_asked_with_the_previous_question_and_new_forgets_it():
    r = Recorder()
    chat = Conversation(r.answer)
    first = chat.ask("When did the inspectors visit the depot?")
    assert first.followup_to == () and "followup_to" not in first.to_dict()
    second = chat.ask("And why?")  # the report does not answer it on its own: asked again, with the earlier question
    assert r.asked[-2:] == ["And why?", "And why? When did the inspectors visit the depot?"]
    # The answer is the one to the question typed; it names what it was read with.
    assert second.question == "And why?"
    assert second.followup_to == ("When did the inspectors visit the depot?",)
    assert second.to_dict()["followup_to"] == ["When did the inspectors visit the depot?"]
    # A thread of follow-ups keeps the previous question and the one that opened the thread.
    chat.ask("What about it?")
    assert r.asked[-1] == "What about it? And why? When did the inspectors visit the depot?"
    chat.new()
    chat.ask("And why?")
    assert r.asked[-1] == "And why?"


def test_a_follow_up_the_report_answers_on_its_own_is_read_on_its_own_and_opens_a_thread():
    r = Recorder()
    chat = Conversation(r.answer)
    chat.ask("When did the inspectors visit the depot?")
    # "they" marks a follow-up, but the report answers the question as typed ("They counted 40 buses.")
    answer = chat.ask("How many buses did they count?")
    assert answer.answered and answer.followup_to == ()
    assert r.asked[-1] == "How many buses did they count?" and len(r.asked) == 2
    chat.ask("And why?")  # follows up the question read on its own, not the first one
    assert r.asked[-1] == "And why? How many buses did they count?"


def test_a_standalone_question_is_asked_as_typed_even_after_another():
    r = Recorder()
    chat = Conversation(r.answer)
    chat.ask("When did the inspectors visit the depot?")
    chat.ask("Who is the depot manager?")
    assert r.asked[-1] == "Who is the depot manager?"


def test_no_question_of_the_bundled_set_is_changed_when_asked_first():
    # quality.py asks every question on its own: the detector never has a previous turn there.
    for q in STANDALONE:
        r = Recorder()
        Conversation(r.answer).ask(q["q"])
        assert r.asked == [q["q"]]


def test_the_answer_api_stays_stateless():
    fake = FakeAssistant()
    a = fake.answer("When did the inspectors visit the depot?")
    b = fake.answer("How many buses did they count?")
    assert a.followup_to == b.followup_to == ()


@pytest.mark.parametrize("forget", ["/new", "/clear", "/reset"])
def test_the_chat_shows_a_follow_up_on_one_dim_line_and_new_forgets_it(forget):
    r = Recorder()
    chat = Conversation(r.answer)
    backend = Backend(ask=chat.ask, sources=r.fake.sources_info, surroundings=r.fake.surroundings, new=chat.new)
    out = io.StringIO()
    repl = Repl(backend, out=out, style=render.Style(color=True, width=200))
    keys = f"When did the inspectors visit the depot?\nAnd why?\n{forget}\nAnd why?\n"
    with create_pipe_input() as pipe:
        pipe.send_text(keys + "\x04")
        assert repl.run(repl.session(input=pipe, output=DummyOutput())) == 0
    text = out.getvalue()
    dim = f"\x1b[{render.DIM}mread as a follow-up to: “When did the inspectors visit the depot?”{render.RESET}\n"
    assert text.count("read as a follow-up to") == 1
    assert dim in text
    assert "New conversation: the next question is read on its own." in text
    assert r.asked == [
        "When did the inspectors visit the depot?",
        "And why?",  # asked on its own first: declined, so read with the question before it
        "And why? When did the inspectors visit the depot?",
        "And why?",
    ]


def test_new_is_listed_in_help_and_completed_by_tab():
    from prompt_toolkit.document import Document

    from reportqa.ui.commands import COMMANDS
    from reportqa.ui.repl import CommandCompleter

    assert "/new" in COMMANDS
    found = [c.text for c in CommandCompleter(lambda name: "").get_completions(Document("/n"), None)]
    assert found == ["/new"]
