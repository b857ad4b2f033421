"""Abbreviations a report spells out (reader/abbreviations.py) and the answer to "what does X
stand for?" built from them (reader/spelled.py), on small texts and a tiny report with the fake encoder."""

from __future__ import annotations

import pytest
from conftest import FakeReader, assistant_over

from reportqa.reader import abbreviations as ab
from reportqa.reader.spelled import DEFINED_P, WHAT_IS_P
from reportqa.render import Style, why_text

IOPC = "Today (September 19), the Independent Office for Police Conduct (IOPC) has published its findings."


def _longs(text):
    return [(d.short, d.long, text[d.long_start : d.long_end], text[d.short_start : d.short_end]) for d in ab.definitions(text)]


def test_a_definition_gives_the_long_form_and_both_offsets():
    assert _longs(IOPC) == [("IOPC", "Independent Office for Police Conduct", "Independent Office for Police Conduct", "IOPC")]
    text = "Victims of child sexual exploitation or abuse (CSE/A) were named."
    assert _longs(text) == [("CSE/A", "child sexual exploitation or abuse", "child sexual exploitation or abuse", "CSE/A")]
    text = "Officers of SYP (South Yorkshire Police) were named."
    assert _longs(text) == [("SYP", "South Yorkshire Police", "South Yorkshire Police", "SYP")]


def test_a_plural_short_form_and_a_quoted_long_form_are_definitions_too():
    text = "- Medicine administration records (MARs) had gaps."
    assert _longs(text) == [("MARs", "Medicine administration records", "Medicine administration records", "MARs")]
    text = 'Missed appointments, often called DNAs ("did not attend"), cost money.'
    assert _longs(text) == [("DNAs", "did not attend", "did not attend", "DNAs")]
    assert ab.keys("MARs") == {"mars", "mar"} and ab.keys("NHS") == {"nhs"} and ab.keys("LoC") == {"loc"}


def test_a_plural_definition_answers_the_singular_and_the_plural(tmp_path, fake_encoder):
    a = assistant_over("# Care\n\nMedicine administration records (MARs) had gaps for nine people.\n", tmp_path, fake_encoder,
                       FakeReader(p=0.1))
    for question in ("what does MAR stand for", "what does mars stand for", "what are MARs?"):
        answer = a.answer(question)
        assert answer.answered and answer.text == "Medicine administration records (MARs)", (question, answer.text)


@pytest.mark.parametrize("text", [
    "The work of Operation Forced (2001/2002) was praised.",       # no letters
    "As the historian said (Burke), it was so.",                   # a name, one capital
    "It was not taken up (see above) by the force.",               # words, not a short form
    "The Home Office set targets (HMRC) for the force.",           # letters that do not match
])
def test_a_parenthesis_that_is_no_definition_gives_none(text):
    assert ab.definitions(text) == []


@pytest.mark.parametrize("question, short", [
    ("what does iopc stand for", "iopc"),
    ("What does the acronym CSE/A stand for?", "CSE/A"),
    ("What did SPECTRE originally stand for?", "SPECTRE"),
    ("wat dos KPI stand for", "KPI"),
    ("What is NATO short for?", "NATO"),
    ("what's the full form of SYP?", "SYP"),
    ("KPI stands for what?", "KPI"),
    ("What does the SAW in M249 SAW stand for?", "SAW"),
    ("What does KPI mean?", "KPI"),  # "mean": asked in capitals
])
def test_questions_that_ask_what_an_abbreviation_stands_for(question, short):
    assert ab.asked(question) == short


def test_what_does_x_mean_counts_in_lower_case_only_for_a_short_form_the_report_defines():
    assert ab.asked("what does cse/a mean") is None
    assert ab.asked("what does cse/a mean", lambda k: k == "csea") == "cse/a"
    assert ab.asked("What does the IOPC mean by actionable intelligence?") is None


@pytest.mark.parametrize("question", [
    "What did the FCC chairman say the first amendment stands for?",
    "What does the IOPC say about SYP?",
    "What is the IOPC?",
    "Who does Jayne Senior stand for?",
])
def test_other_questions_are_not_taken_for_one(question):
    assert ab.asked(question) is None


def test_initials_find_a_long_form_the_text_never_defines():
    text = "Targets such as key performance indicators set by the Home Office came first."
    assert [text[a:b] for a, b in ab.initials(text, "kpi")] == ["key performance indicators"]
    text = "It stored read-only memory chips. The Bank for International Settlements agreed."
    assert [text[a:b] for a, b in ab.initials(text, "ROM")] == ["read-only memory"]
    assert [text[a:b] for a, b in ab.initials(text, "BIS")] == ["Bank for International Settlements"]


@pytest.mark.parametrize("text, short", [
    ("The rules are firmly established by now.", "AFE"),         # a function word opens the run
    ("They reached the metropolitan area and San Diego.", "MAS"),  # cases mixed, and "and" gives no letter
    ("It was found in inscription found in stone.", "IFI"),        # a small word cannot end it
    ("An early sign and trace.", "ES"),                            # two letters: too likely by chance
])
def test_initials_by_chance_are_not_a_long_form(text, short):
    assert ab.initials(text, short) == []


def test_same_phrase_reads_through_capitals_and_plurals():
    assert ab.same_phrase("Central business districts", "central business district")
    assert not ab.same_phrase("Airport and London Stansted", "approach lighting system")


SPELLED_REPORT = (
    "# The audit\n\n"
    "The National Audit Office (NAO) reviewed the scheme in 2019. It found waste.\n\n"
    "The scheme ran for ten years. Its key performance indicators were missed each year.\n\n"
    "Staff used a case management system. Each case went through a customer management service.\n\n"
    "The Serious Fraud Office took the case over. The SFO closed it in 2021.\n"
)


@pytest.fixture
def spelled_assistant(tmp_path, fake_encoder):
    return assistant_over(SPELLED_REPORT, tmp_path, fake_encoder, FakeReader(prefer="ten years", p=0.1))


def test_the_answer_quotes_the_definition_with_the_long_form_as_its_span(spelled_assistant):
    answer = spelled_assistant.answer("what does nao stand for")
    assert answer.answered and answer.confidence == DEFINED_P  # the reader alone (P 0.1) would decline
    assert answer.text == "National Audit Office (NAO)"  # the definition, not its whole sentence
    assert SPELLED_REPORT[answer.span.start : answer.span.end] == "National Audit Office"
    assert SPELLED_REPORT[answer.quote.start : answer.quote.end] == answer.text
    assert answer.to_dict()["span"]["start"] == answer.span.start
    why = why_text(answer, Style(color=False, width=100))
    assert "The question asks what nao stands for, and the report defines it" in why


@pytest.mark.parametrize("question, short", [
    ("what is cse/a", "cse/a"),
    ("What is the IOPC?", "IOPC"),
    ("whats the iopc", "iopc"),
    ("What are CDPs?", "CDPs"),
])
def test_what_is_x_asks_the_long_form_of_an_abbreviation_the_report_defines(question, short):
    assert ab.asked_what_is(question, lambda k: k in {"csea", "iopc", "cdps"}) == short


@pytest.mark.parametrize("question", [
    "What is KPI?",                   # not defined by the report: the reader answers
    "What is the IOPC doing?",        # asks more than what it is
    "So what is the IOPC, and who runs it?",
    "What is Amazon?",                # no short form the report defines (definitions have two capitals)
])
def test_other_what_is_questions_are_not_asking_the_long_form(question):
    assert ab.asked_what_is(question, lambda k: k == "iopc") is None


def test_what_is_x_is_answered_with_the_definition_at_its_own_measured_confidence(spelled_assistant):
    answer = spelled_assistant.answer("what is the nao")
    assert answer.answered and answer.confidence == WHAT_IS_P < DEFINED_P  # the reader alone (P 0.1) would decline
    assert answer.text == "National Audit Office (NAO)"
    assert SPELLED_REPORT[answer.span.start : answer.span.end] == "National Audit Office"
    why = why_text(answer, Style(color=False, width=100))
    assert "The question asks what nao is, and the report defines it" in why
    assert spelled_assistant.answer("what is the sfo").spelled is None  # used, never defined: the reader answers


@pytest.mark.parametrize("question, read", [
    ("What does KPI stand for?", "What does key performance indicators stand for?"),
    ("what does kpi stand for", "what does key performance indicators stand for"),  # asked: lower case counts
])
def test_initials_are_no_answer_on_their_own_but_the_reader_reads_the_long_form(spelled_assistant, question, read):
    answer = spelled_assistant.answer(question)
    assert spelled_assistant.reader.seen[-1][0] == read
    assert answer.spelled is None and not answer.answered and answer.confidence == 0.1  # the reader's decision
    assert "key performance indicators" in answer.notice


def test_the_reader_decides_where_the_report_does_not_spell_it_out_or_two_long_forms_fit(spelled_assistant):
    for question in ("What does CMS stand for?", "What does GDP stand for?"):  # two runs fit CMS; none GDP
        answer = spelled_assistant.answer(question)
        assert not answer.answered and answer.confidence == 0.1 and answer.spelled is None and answer.notice == ""


def test_an_abbreviation_the_report_never_uses_is_read_as_its_long_form(spelled_assistant):
    reader = spelled_assistant.reader
    answer = spelled_assistant.answer("Were the KPIs missed?")
    assert reader.seen[-1][0] == "Were the key performance indicators missed?"  # searched and read so
    assert answer.question == "Were the KPIs missed?"
    assert answer.notice == 'Read "KPIs" as "key performance indicators" (the report\'s words whose initials spell it).'
    assert answer.spelled is None


@pytest.mark.parametrize("question, read", [
    ("were the kpis missed?", "were the key performance indicators missed?"),  # no word: the plural's initials
    ("were kpi missed", "were key performance indicators missed"),
])
def test_one_typed_in_lower_case_is_read_so_if_it_is_no_word(spelled_assistant, question, read):
    answer = spelled_assistant.answer(question)
    assert spelled_assistant.reader.seen[-1][0] == read
    assert "key performance indicators" in answer.notice


def test_a_lower_case_word_or_a_typo_of_one_is_no_abbreviation():
    from reportqa.models.encoder import known_words
    from reportqa.reader.spelled import _mistyped

    known = known_words()
    assert "era" in known and "kpi" not in known  # a word the model knows, and one it does not
    for typo in ("aws", "wsa", "wat", "whta", "svyp", "hgs"):  # was, what (swapped, short of a letter), syp, has
        assert _mistyped(typo, known, {"syp"}), typo
    for coined in ("kpi", "kpis", "nspcc"):
        assert not _mistyped(coined, known, {"syp"}), coined


@pytest.mark.parametrize("question", [
    "What did the NAO find?",  # the report uses it
    "What did the CMS do?",  # two long forms fit
    "what did the cms do",  # in lower case too
])
def test_other_questions_are_read_as_asked(spelled_assistant, question):
    answer = spelled_assistant.answer(question)
    assert spelled_assistant.reader.seen[-1][0] == question and answer.notice == ""


@pytest.mark.parametrize("question, short", [
    ("In computer terms, what does PC stand for?", "PC"),  # a clause of its own
    ("and what about IOPC what does CSE/A stand for?", None),  # a follow-up read with the question before it
    ("and what about IOPC? what does CSE/A stand for?", None),
])
def test_the_asking_opens_the_question(question, short):
    assert ab.asked(question) == short


def test_an_abbreviation_the_report_uses_but_never_defines_is_asked_with_its_long_form(spelled_assistant):
    answer = spelled_assistant.answer("What does SFO stand for?")
    assert spelled_assistant.reader.seen[-1][0] == "What does SFO (Serious Fraud Office) stand for?"
    assert answer.spelled is None and answer.confidence == 0.1  # the reader decides
    assert spelled_assistant.answer("When did the SFO close it?").notice == ""  # not asked about: as typed


@pytest.mark.parametrize("question, read", [
    ("What is the SFO?", "What is the SFO (Serious Fraud Office)?"),
    ("whats sfo", "whats sfo (Serious Fraud Office)"),  # in lower case: the report writes it in capitals
])
def test_what_is_x_of_an_abbreviation_the_report_uses_but_never_defines_reads_its_long_form_too(spelled_assistant,
                                                                                                question, read):
    answer = spelled_assistant.answer(question)
    assert spelled_assistant.reader.seen[-1][0] == read
    assert answer.spelled is None and answer.confidence == 0.1  # the reader decides, as for "stand for"
    assert answer.notice.startswith('Read "') and "Serious Fraud Office" in answer.notice


def test_what_is_x_in_lower_case_counts_where_the_report_writes_x_in_capitals(tmp_path, fake_encoder):
    # "cse" is "case" short of a letter, so typed alone it would be no abbreviation; the report writes "CSE"
    report = "Child sexual exploitation was reported in 2002.\n\nCSE went on for years after that.\n"
    a = assistant_over(report, tmp_path, fake_encoder, FakeReader(p=0.1))
    a.answer("whats cse")
    assert a.reader.seen[-1][0] == "whats cse (Child sexual exploitation)"


def test_what_is_x_of_a_word_asks_no_long_form(tmp_path, fake_encoder):
    # "case" is a word: its initials in "customer acquisition scheme energy" are chance, not asked about
    report = SPELLED_REPORT + "\nThe customer acquisition scheme energy was one case.\n"
    a = assistant_over(report, tmp_path, fake_encoder, FakeReader(prefer="ten years", p=0.1))
    answer = a.answer("what is the case")
    assert a.reader.seen[-1][0] == "what is the case" and answer.notice == ""
