"""A list item is read after the title of its section (``chunking.Sections``, ``read_sentence``), as a
table row is read with its header's names; the quote stays the item as written."""

from __future__ import annotations

from conftest import FakeEncoder

from reportqa.assistant import Assistant
from reportqa.chunking import Sections, chunk_documents, section_title, sentences_as_read
from reportqa.ingest import Document
from reportqa.reader.candidates import candidates

count_tokens = FakeEncoder().count_tokens

REVIEW = (
    "# Incident review\n\n"
    "- A bullet under the report's title.\n\n"
    "## What went badly\n\n"
    "- It took 97 minutes to find the cap.\n"
    "- Dashboards did not show pool usage.\n\n"
    "The team met on Friday.\n\n"
    "## 3. Actions:\n\n"
    "1. Split the files (owner: Platform team).\n"
)

MINUTES = (
    "RIVERSIDE SOCIETY\nMinutes of the AGM\n\n"
    "Date: 2 March 2024\nChair: Margaret Doyle\n\n"
    "- A note under the header lines.\n\n"
    "1. Apologies\nApologies were received from Ian Pryce.\n- Ann Lee sent hers late.\n\n"
    "Finances\n\n"
    "- Income was £8,940.\n"
)


def read_of(*docs: tuple[str, str], max_tokens: int = 256) -> dict[str, str]:
    chunks = chunk_documents([Document(name, None, text, "") for name, text in docs], count_tokens, max_tokens)
    raw = [c.text[a - c.start : b - c.start] for c in chunks for a, b in c.sentences]
    return dict(zip(raw, sentences_as_read(chunks)))


def test_a_markdown_list_item_is_read_after_its_sections_title_and_prose_as_written():
    read = read_of(("review.md", REVIEW))
    assert read["- It took 97 minutes to find the cap."] == "What went badly: - It took 97 minutes to find the cap."
    assert read["- Dashboards did not show pool usage."] == "What went badly: - Dashboards did not show pool usage."
    assert read["1. Split the files (owner: Platform team)."] == "Actions: 1. Split the files (owner: Platform team)."
    assert read["The team met on Friday."] == "The team met on Friday."  # prose says what it is about itself
    assert read["- A bullet under the report's title."] == "- A bullet under the report's title."  # a title heads no section


def test_a_plain_text_title_line_heads_a_section_and_label_lines_do_not():
    read = read_of(("minutes.txt", MINUTES))
    assert read["- Ann Lee sent hers late."] == "Apologies: - Ann Lee sent hers late."  # "1. Apologies" opens its paragraph
    assert read["- Income was £8,940."] == "Finances: - Income was £8,940."  # a title line alone in its paragraph
    assert read["- A note under the header lines."] == "- A note under the header lines."  # "Chair: Margaret Doyle" is a label


def test_a_section_reaches_across_passages_of_its_file_but_not_across_a_gap_or_into_another_file():
    items = "".join(f"- Item {i} of the long list.\n" for i in range(60))
    text = "Intro line.\n\n## Findings\n\n" + items
    chunks = chunk_documents([Document("a.md", None, text, ""), Document("b.md", None, "Prose.\n\n- Alone.\n", "")],
                             count_tokens, 48)
    far = [i for i, c in enumerate(chunks) if "Item 59 " in c.text][0]
    assert far > 2  # the list is cut into several passages
    assert set(Sections(chunks).titles(far)) == {"Findings"}
    assert read_of(("a.md", text), ("b.md", "Prose.\n\n- Alone.\n"), max_tokens=48)["- Alone."] == "- Alone."
    # a store's question reads only the passages it reached: no heading is taken across a missing one
    reached = [chunks[0], chunks[far]]
    assert Sections(reached).titles(1) == [None] * len(chunks[far].sentences)


def test_section_titles_lose_their_marks_and_numbers():
    assert section_title("## 3. Actions:") == "Actions"
    assert section_title("2.1 Visitor numbers") == "Visitor numbers"
    assert section_title("### Timeline (UTC) ###") == "Timeline (UTC)"
    assert section_title("2024") == "2024"  # a number that is the whole title stays


def test_the_reader_sees_an_item_with_its_title_and_quotes_it_as_written(tmp_path, fake_encoder):
    (tmp_path / "review.md").write_text(REVIEW, encoding="utf-8")
    a = Assistant(tmp_path / "review.md", tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    query = a.query("what went badly")
    spans = candidates(query)
    item = next(s for s in spans if query.table.span_text(s) == "- It took 97 minutes to find the cap.")
    assert query.table.read_span_text(item) == "What went badly: - It took 97 minutes to find the cap."
    assert {"went", "bad"} & query.table.term_sets[item.rows[0]]  # its terms are the title's too
    assert query.table.read[item.rows[0]] == sentences_as_read(a.index.chunks)[item.rows[0]]


NEWS = ("Councillors back £6.8m plan to rebuild Kingsmead swimming pool\nBy Hannah Okafor\nThursday 6 February 2025\n\n"
        "Councillors voted for the plan. By Friday it was signed.\n\nBy the council's count, 31 voted for it\n")


def test_a_byline_is_read_as_who_wrote_it_and_quoted_as_written(tmp_path, fake_encoder):
    read = read_of(("news.txt", NEWS), ("other.txt", "A first line.\n\n" + NEWS))
    assert read["By Hannah Okafor"] == "Written by Hannah Okafor"  # both files' bylines
    assert read["By Friday it was signed."] == "By Friday it was signed."  # prose, not a label
    assert read["By the council's count, 31 voted for it"] == "By the council's count, 31 voted for it"  # no capital
    late = read_of(("late.txt", "One.\n\nTwo.\n\nThree.\n\nFour.\n\nFive.\n\nBy Ann Lee\n"))
    assert late["By Ann Lee"] == "By Ann Lee"  # past a file's first five sentences: no byline
    (tmp_path / "news.txt").write_text(NEWS, encoding="utf-8")
    a = Assistant(tmp_path / "news.txt", tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    table = a.query("who wrote this").table
    row = next(r for r in range(len(table.texts)) if table.texts[r] == "By Hannah Okafor")
    assert table.read[row] == sentences_as_read(a.index.chunks)[row] == "Written by Hannah Okafor"
