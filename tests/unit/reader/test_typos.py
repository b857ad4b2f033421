"""A mistyped question word read as the report's word (reader/typos.py), on a tiny report with
the fake encoder and a stand-in reader that records what it was asked."""

from __future__ import annotations

import pytest
from conftest import FakeReader, assistant_over

from reportqa.reader.typos import ReportWords, fold, one_typo

REPORT = (
    "# The inquiry\n\n"
    "The committee published its decision in 2021. Hervé Dubois chaired it.\n\n"
    "The council disagreed with the decision. Senior officers gave evidence to Jayne Senior and the SYP.\n\n"
    "The budget was spent on surveillance. The deal was signed, and the money dealt with.\n\n"
    "Forty people gave evidence over three years. The info desk was closed.\n\n"
    "Its key performance indicators were missed. The night staff took kips.\n"
)


@pytest.fixture
def typo_assistant(tmp_path, fake_encoder):
    return assistant_over(REPORT, tmp_path, fake_encoder, FakeReader(p=0.9))


def test_one_typo_is_a_swap_a_letter_left_out_one_too_many_or_one_changed_but_not_the_first():
    near = one_typo("decision")
    assert {"edcision", "decison", "deccision", "decisiom"} <= near
    assert "xecision" not in near and "decision" not in near
    assert "dceisoin" not in near  # two typos from it


def test_accents_and_capitals_do_not_count_and_names_are_the_words_written_with_a_capital_inside_a_sentence():
    assert fold("Hervé") == "herve"
    words = ReportWords([REPORT])
    assert "herve" in words and words.spelling("herve") == "hervé"
    assert words.is_name("senior")  # "Jayne Senior"; "Senior officers" opens a sentence
    assert not words.is_name("officers") and not words.is_name("the")


@pytest.mark.parametrize("question, read, pairs", [
    ("what did the council say about the decison", "what did the council say about the decision", [("decison", "decision")]),
    ("Who is Jayne Sneior?", "Who is Jayne Senior?", [("Sneior", "Senior")]),  # a name, read as a name
    ("who chaired it, herve dubois?", "who chaired it, hervé dubois?", [("herve", "hervé")]),  # without its accent
    ("What was the bugdet spent on?", "What was the budget spent on?", [("bugdet", "budget")]),
])
def test_a_mistyped_word_is_read_as_the_report_word_and_the_notice_says_so(typo_assistant, question, read, pairs):
    answer = typo_assistant.answer(question)
    assert typo_assistant.reader.seen[-1][0] == read
    assert answer.question == question  # the answer keeps the question as typed
    for typed, word in pairs:
        assert f'Read "{typed}" as "{word}"' in answer.notice


@pytest.mark.parametrize("question", [
    "What did the council decide?",           # every word the report's or the model's
    "What was the cost of the inquiry?",      # "cost": a word the report does not use, no typo of one
    "Who is Jayne Seniors?",                  # the report's word in another inflection
    "What did the committee publsh?",         # "publish" is no word of the report ("published" is)
    "Was the deat signed?",                   # ambiguous: "deal" and "dealt" are each one typo away
    "Who are the Oficers?",                   # a name typed: "officers" is no name in the report
    "What did the xouncil say?",              # the first letter is not read as another
    "What did SYPP say?",                     # capitals: an abbreviation, not a typo
])
def test_other_words_are_read_as_typed(typo_assistant, question):
    answer = typo_assistant.answer(question)
    assert typo_assistant.reader.seen[-1][0] == question and answer.notice == ""


def test_an_abbreviation_the_report_spells_out_is_read_before_typos(typo_assistant):
    # "kpis" is the report's "kips" with two letters swapped, but its initials spell "key performance indicators"
    answer = typo_assistant.answer("were the kpis missed")
    assert typo_assistant.reader.seen[-1][0] == "were the key performance indicators missed"
    assert "one typo away" not in answer.notice and "key performance indicators" in answer.notice


def test_the_notice_reads_in_the_order_the_question_was_read_abbreviations_first(typo_assistant):
    answer = typo_assistant.answer("were the kpis missed by the comittee")
    assert typo_assistant.reader.seen[-1][0] == "were the key performance indicators missed by the committee"
    assert answer.notice == ('Read "kpis" as "key performance indicators" (the report\'s words whose initials spell it). '
                             'Read "comittee" as "committee" (the report\'s word, one typo away).')
    assert [r.how for r in answer.readings] == ["initials", "typo"]


def test_a_follow_up_notes_only_the_words_read_in_it_not_those_of_the_question_it_follows(typo_assistant):
    typo_assistant.reader.p = 0.1  # nothing answered on its own: each follow-up is read with the question before it
    chat = typo_assistant.chat()
    first = chat.ask("what did the council say about the decison")
    assert 'Read "decison" as "decision"' in first.notice
    followup = chat.ask("and the comittee?")  # read with the first question appended
    assert followup.followup_to == ("what did the council say about the decison",)
    assert typo_assistant.reader.seen[-1][0] == "and the committee? what did the council say about the decision"
    assert followup.notice == 'Read "comittee" as "committee" (the report\'s word, one typo away).'
    assert [r.typed for r in followup.readings] == ["comittee"]
    again = chat.ask("and in 2021?")  # nothing of its own read: no notice at all
    assert again.followup_to and again.notice == "" and again.readings == ()


@pytest.mark.parametrize("question, read, pairs", [
    ("how many ppl gave evidence", "how many people gave evidence", [("ppl", "people")]),
    ("Ppl who gave evidence?", "People who gave evidence?", [("Ppl", "People")]),  # a capital first is kept
    ("evidence over how many yrs", "evidence over how many years", [("yrs", "years")]),
])
def test_chat_shorthand_is_read_as_the_word_the_report_uses_and_the_notice_says_so(typo_assistant, question, read, pairs):
    answer = typo_assistant.answer(question)
    assert typo_assistant.reader.seen[-1][0] == read
    assert answer.notice == "Read " + "; ".join(f'"{t}" as "{w}"' for t, w in pairs) + " (shorthand)."
    assert [r.how for r in answer.readings] == ["shorthand"] * len(pairs)


@pytest.mark.parametrize("question", [
    "was the info desk open",        # the report itself uses the shorthand
    "how many hrs of evidence",      # the report does not use "hours"
    "what did PPL say",              # capitals: an abbreviation
])
def test_shorthand_the_report_uses_or_whose_word_it_lacks_is_read_as_typed(typo_assistant, question):
    answer = typo_assistant.answer(question)
    assert typo_assistant.reader.seen[-1][0] == question and answer.notice == ""
