"""A quote that ends on a line introducing a list takes in the list (``candidates.extend_lead_in``),
on small reports with the fake encoder and the fake reader of conftest.py."""

from __future__ import annotations

from conftest import FakeReader, assistant_over

from reportqa.reader import extend_lead_in

REPORT = (
    "# Water quality\n\n"
    "The utility sampled 1,840 taps across the district in 2024.\n\n"
    "The utility has committed to three actions:\n"
    "- Replace 400 lead service pipes by the end of 2026.\n"
    "- Offer free water testing to every household. Tests are posted out within a week.\n"
    "- Publish the sampling results every quarter.\n\n"
    "Households can ask for a free test by phone or online.\n\n"
    "The inspectors gave the following reasons:\n\n"
    "1. The pipes were old.\n\n"
    "2. The pumps had failed twice.\n\n"
    "Their report was sent to the council. It names the streets:\n\n"
    "Mill Lane and Bridge Street were the worst.\n\n"
    "The board made two recommendations:\n\n"
    "| Number | Recommendation |\n"
    "|---|---|\n"
    "| 1 | Keep the depth alarms on |\n"
    "| 2 | Audit the working hours |\n\n"
    "The agency accepted both of them.\n\n"
    "To test your water, run:\n\n"
    "```sh\nwatertest --street Mill\n```\n\n"
    "```sh\nwatertest --report\n```\n"
)
TABLE = "| Number | Recommendation |\n|---|---|\n| 1 | Keep the depth alarms on |"


def quote(a, question: str, lead: str):
    """The candidate whose text is the sentence ``lead``, and what extend_lead_in makes of it."""
    query = a.query(question)
    table = query.table
    for chunk in a.index.chunks:
        for s, e in chunk.sentences:
            if chunk.text[s - chunk.start : e - chunk.start] == lead:
                best = table.candidate(chunk.id, s, e)
                return best, extend_lead_in(query, best), table
    raise AssertionError(f"no sentence {lead!r}")


def test_a_lead_in_takes_in_its_whole_list_and_stops_where_the_list_ends(tmp_path, fake_encoder):
    a = assistant_over(REPORT, tmp_path, fake_encoder, FakeReader())
    best, longer, table = quote(a, "What will the utility do?", "The utility has committed to three actions:")
    assert table.span_text(longer) == (
        "The utility has committed to three actions:\n"
        "- Replace 400 lead service pipes by the end of 2026.\n"
        "- Offer free water testing to every household. Tests are posted out within a week.\n"
        "- Publish the sampling results every quarter."
    )  # an item's second sentence is part of it; the prose after the blank line is not
    assert longer.start == best.start and longer.rows.start == best.rows.start and longer.chunk_id == best.chunk_id
    # a loose list: a blank line before the list and between its items
    _, loose, table = quote(a, "Why?", "The inspectors gave the following reasons:")
    assert table.span_text(loose).endswith("1. The pipes were old.\n\n2. The pumps had failed twice.")
    _, rows, table = quote(a, "What did the board recommend?", "The board made two recommendations:")
    assert table.span_text(rows) == "The board made two recommendations:\n\n" + TABLE + "\n| 2 | Audit the working hours |"


def test_a_lead_in_takes_in_the_one_code_block_after_it(tmp_path, fake_encoder):
    a = assistant_over(REPORT, tmp_path, fake_encoder, FakeReader())
    _, block, table = quote(a, "How do I test my water?", "To test your water, run:")
    assert table.span_text(block) == "To test your water, run:\n\n```sh\nwatertest --street Mill\n```"


def test_a_lead_in_before_prose_or_a_list_item_is_left_as_it_is(tmp_path, fake_encoder):
    a = assistant_over(REPORT, tmp_path, fake_encoder, FakeReader())
    best, same, _ = quote(a, "Which streets?", "It names the streets:")
    assert same == best  # prose follows it, not a list
    item, same, _ = quote(a, "How many pipes?", "- Replace 400 lead service pipes by the end of 2026.")
    assert same == item  # no colon
    assert extend_lead_in(a.query("What?"), None) is None


def test_only_whole_items_within_the_limit_are_taken_in(tmp_path, fake_encoder):
    a = assistant_over(REPORT, tmp_path, fake_encoder, FakeReader())
    lead = "The utility has committed to three actions:"
    two_items = len(lead + "\n- Replace 400 lead service pipes by the end of 2026.\n")
    short = a.with_settings(a.settings.with_(lead_in_list_chars=two_items + 20))  # the second item does not fit
    _, cut, table = quote(short, "What will the utility do?", lead)
    assert table.span_text(cut) == lead + "\n- Replace 400 lead service pipes by the end of 2026."
    lead = "The board made two recommendations:"
    for limit, through in ((len(lead) + len(TABLE) + 10, TABLE), (len(lead) + len(TABLE) - 10, "")):
        # a table's header and delimiter rows go with its first row, or not at all
        _, cut, table = quote(a.with_settings(a.settings.with_(lead_in_list_chars=limit)), "recommendations", lead)
        assert table.span_text(cut) == lead + ("\n\n" + through if through else "")
    lead = "The utility has committed to three actions:"
    for limit in (len(lead) + 5, 0):  # not even the first item fits; off
        best, same, _ = quote(a.with_settings(a.settings.with_(lead_in_list_chars=limit)), "What will the utility do?", lead)
        assert same == best


def test_the_answer_quotes_the_list_with_its_offsets(tmp_path, fake_encoder):
    a = assistant_over(REPORT, tmp_path, fake_encoder, FakeReader(prefer="committed to three actions"))
    answer = a.answer("What has the utility committed to?")
    text = (tmp_path / "report.txt").read_text(encoding="utf-8")
    assert answer.answered and answer.text.startswith("The utility has committed") and answer.text.endswith("every quarter.")
    assert text[answer.quote.start : answer.quote.end] == answer.text
    first, *others = answer.considered  # /why shows the choice as quoted, and no item of it again
    assert first.text == answer.text
    assert all(o.quote.end <= answer.quote.start or answer.quote.end <= o.quote.start for o in others)
