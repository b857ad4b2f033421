"""A list item quoted where the question asks what its section says takes in the list
(``candidates.extend_section``), on a small report with the fake encoder and the fake reader."""

from __future__ import annotations

from conftest import FakeReader, assistant_over

from reportqa.reader import extend_section
from reportqa.settings import Settings

STEPS = (
    "1. Stop using the kettle and unplug it.\n"
    "2. Find the batch code under the base.\n"
    "3. Register the kettle online. It takes a minute.\n"
    "4. Post the kettle back in the bag.\n"
)
REPORT = (
    "# Kettle recall\n\n"
    "Some kettles can overheat.\n\n"
    "## What should I do\n\n" + STEPS + "\n"
    "Do not take the kettle back to the shop.\n\n"
    "## Contact\n\n"
    "- Call the helpline on weekdays.\n"
    "- Write to the company.\n"
)


def extended(a, question: str, sentence: str):
    query = a.query(question)
    for chunk in a.index.chunks:
        for s, e in chunk.sentences:
            if chunk.text[s - chunk.start : e - chunk.start] == sentence:
                best = query.table.candidate(chunk.id, s, e)
                return query.table.span_text(extend_section(query, best))
    raise AssertionError(f"no sentence {sentence!r}")


def test_an_item_quoted_for_its_sections_title_takes_in_the_whole_list(tmp_path, fake_encoder):
    a = assistant_over(REPORT, tmp_path, fake_encoder, FakeReader())
    # every word of "What should I do" is in the question: the steps from the first, the prose after them not
    assert extended(a, "what should i do if i have one", "3. Register the kettle online.") == STEPS.rstrip()
    assert extended(a, "What should I do?", "4. Post the kettle back in the bag.") == STEPS.rstrip()


def test_otherwise_the_item_stays_as_it_is(tmp_path, fake_encoder):
    a = assistant_over(REPORT, tmp_path, fake_encoder, FakeReader())
    # the question does not ask what the section says
    assert extended(a, "how do i register the kettle", "3. Register the kettle online.") == "3. Register the kettle online."
    # a title of one word is too little to go on ("## Contact")
    assert extended(a, "contact details", "- Write to the company.") == "- Write to the company."
    # prose under the title is no list item
    assert extended(a, "what should i do", "Do not take the kettle back to the shop.") == "Do not take the kettle back to the shop."


def test_a_list_longer_than_the_limit_is_quoted_as_far_as_it_fits_if_that_reaches_the_item(tmp_path, fake_encoder):
    reader = FakeReader()
    a = assistant_over(REPORT, tmp_path, fake_encoder, reader).with_settings(Settings(lead_in_list_chars=90), reader=reader)
    two = "1. Stop using the kettle and unplug it.\n2. Find the batch code under the base."
    assert extended(a, "what should i do", "2. Find the batch code under the base.") == two
    assert extended(a, "what should i do", "4. Post the kettle back in the bag.") == "4. Post the kettle back in the bag."
