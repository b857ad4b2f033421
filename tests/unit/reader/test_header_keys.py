"""What a report's header names (its title, byline and date line) is no key term of a question
(``SentenceTable.header_terms``, ``Query.keys``), on small reports with the fake encoder."""

from __future__ import annotations

from conftest import FakeReader, assistant_over

REVIEW = (
    "Calder Valley Food Network\nAnnual Review 2023/24\n\n"
    "Our total income for the year was £612,400, compared with £498,000 in 2022/23.\n\n"
    "In 2019 we opened our first pantry in Todmorden.\n"
)


def test_a_number_or_name_the_header_gives_is_no_key_term(tmp_path, fake_encoder):
    a = assistant_over(REVIEW, tmp_path, fake_encoder, FakeReader())
    assert {"2023", "24", "calder", "annual"} <= a.query("x").table.header_terms
    assert "total" not in a.query("x").table.header_terms  # prose ends the header
    assert a.query("total income 2023/24").keys == set()  # the year the whole review is about
    assert a.query("what opened in 2019").keys == {"2019"}  # a number of the body is one


def test_a_report_that_opens_with_prose_has_no_header(tmp_path, fake_encoder):
    a = assistant_over("In 2019 we opened a pantry.\n\nIncome in 2023/24 was £612,400.\n", tmp_path, fake_encoder, FakeReader())
    assert a.query("x").table.header_terms == frozenset()
    assert a.query("income 2023/24").keys == {"2023", "24"}
