"""Chunk offsets under unusual text (issue 2): CRLF, lone CR, blank lines, no final newline, emoji, long paragraphs."""

from __future__ import annotations

import hashlib
import re

import pytest
from conftest import FakeEncoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportqa.chunking import chunk_document, chunk_documents, sentences_as_read
from reportqa.ingest import Document

count_tokens = FakeEncoder().count_tokens

WORDS = ["the", "IOPC", "report", "Mr.", "J.", "Smith", "2001/2002", "e.g.", "U.S.", "“quoted”", "‘single’",
         "café", "naïve", "😀", "👨‍👩‍👧", "中文", "https://example.org/a/very/long/path?with=query&and=more",
         "x" * 120, "end.", "Why?", "Yes!", "—", "(aside)", "3.5", "…", "```", "```sh", "~~~~", "# Heading", "| a |"]
BREAKS = [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\n \n", "\r\r", "\n\n\n", "\u00a0", "\u3000", "\f"]

texts = st.one_of(
    # words and breaks of every kind, optionally without a final newline
    st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(BREAKS)), max_size=120).map(
        lambda pairs: "".join(w + b for w, b in pairs)
    ),
    # one very long paragraph, with or without sentence ends
    st.tuples(st.integers(50, 600), st.booleans(), st.sampled_from(["\n", "\r\n", ""])).map(
        lambda t: " ".join(f"word{i}{'.' if t[1] and i % 17 == 16 else ''}" for i in range(t[0])) + t[2]
    ),
    # anything at all
    st.text(max_size=400),
    st.text(alphabet=st.sampled_from("ab .\n\r\t😀é?\u2028\u00a0"), max_size=400),
)


def line_of(text: str, offset: int) -> int:
    """1-based line, counting \\r\\n, \\r and \\n as one break each (as open(newline="") sees them)."""
    return 1 + len(re.findall(r"\r\n|\r|\n", text[:offset]))


def check_chunks(text: str, max_tokens: int) -> None:
    doc = Document("doc.txt", None, text, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
    chunks = chunk_document(doc, count_tokens, max_tokens, first_id=7)
    assert [c.id for c in chunks] == list(range(7, 7 + len(chunks)))
    last_end, last_paragraph = 0, 1
    for c in chunks:
        assert c.source == "doc.txt"
        assert text[c.start : c.end] == c.text and c.text  # exact offsets, never empty
        assert c.text == c.text.strip()  # trimmed
        assert c.start >= last_end  # in order, no overlap
        assert count_tokens(c.text) <= max_tokens, "a chunk is longer than the model's window"
        assert c.line == line_of(text, c.start)
        assert c.paragraph >= last_paragraph
        assert c.sentences and c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end
        prev = c.start
        for s, e in c.sentences:
            assert c.start <= prev <= s < e <= c.end  # inside the chunk, in order, not empty
            assert text[s:e] == text[s:e].strip()
            prev = e
        last_end, last_paragraph = c.end, c.paragraph
    # Nothing is lost: every non-space character is inside some chunk.
    covered = bytearray(len(text))
    for c in chunks:
        covered[c.start : c.end] = b"\x01" * (c.end - c.start)
    lost = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not lost, f"text dropped at {lost[:5]}: {text[lost[0]:lost[0] + 20]!r}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, max_tokens=st.sampled_from([8, 16, 40, 256]))
def test_chunk_offsets_lines_sentences_and_limits_hold_for_unusual_text(text, max_tokens):
    check_chunks(text, max_tokens)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n\r\n  \t\n",
        "No final newline",
        "Line one\r\nline two\r\n\r\nPara two\rwith a lone CR\n\nPara three\n",
        "Emoji 😀 first. 👨‍👩‍👧 family! 中文句子。Next.\n\n\n\nAfter many blank lines.",
        "A " * 3000,
        "x" * 5000,
        "Sentence one. " * 400 + "\r\n\r\n" + "Tail.",
    ],
    ids=["empty", "only-blank", "no-final-newline", "crlf-and-cr", "emoji", "long-paragraph", "one-long-word", "long-crlf"],
)
def test_chunking_examples(text):
    for max_tokens in (8, 64, 256):
        check_chunks(text, max_tokens)


def test_line_numbers_count_crlf_and_lone_cr_once():
    text = "Title\r\n\r\nSecond para\rstill second\n\nThird\r\n"
    chunks = chunk_document(Document("d.txt", None, text, ""), count_tokens, 256, first_id=0)
    found = {c.text.split()[0]: c.line for c in chunks}
    assert found == {"Title": 1, "Third": 6}  # "Third", a title line, opens a passage: line 6 (the lone CR ends line 3)
    assert [line_of(text, c.start) for c in chunks] == [c.line for c in chunks]


def test_ids_run_on_across_documents():
    docs = [Document(f"{n}.txt", None, f"Report {n}. It has two sentences.\n\nAnd a second paragraph.", "") for n in "abc"]
    chunks = chunk_documents(docs, count_tokens, 256)
    assert [c.id for c in chunks] == list(range(len(chunks))) and {c.source for c in chunks} == {"a.txt", "b.txt", "c.txt"}


@pytest.fixture(scope="module")
def model_tokens():
    from reportqa.embed import NumpyEncoder

    return NumpyEncoder().count_tokens  # the model's own tokenizer; the weights stay memory-mapped


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_no_chunk_exceeds_256_wordpieces_of_the_real_tokenizer(model_tokens, text):
    doc = Document("doc.txt", None, text, "")
    for c in chunk_document(doc, model_tokens, 256):
        assert text[c.start : c.end] == c.text
        assert model_tokens(c.text) <= 256


def test_sentences_as_read_find_a_table_header_in_an_earlier_passage_of_the_same_file_only():
    rows = "".join(f"| Site {i} | {i * 7} | {i % 3} |\n" for i in range(40))
    table = "| Site | Samples | Failures |\n|---|---|---|\n" + rows
    docs = [Document("a.md", None, "Intro.\n\n" + table, ""), Document("b.md", None, "| Site 99 | 1 | 2 |\n", "")]
    chunks = chunk_documents(docs, count_tokens, 64)  # the table is cut into several passages
    assert len({c.id for c in chunks if c.source == "a.md"}) > 2
    read = sentences_as_read(chunks)
    raw = [c.text[a - c.start : b - c.start] for c in chunks for a, b in c.sentences]
    assert read[raw.index("| Site 39 | 273 | 0 |")] == "Site: Site 39; Samples: 273; Failures: 0"  # far from its header
    assert read[raw.index("| Site | Samples | Failures |")] == "| Site | Samples | Failures |"
    assert read[-1] == "| Site 99 | 1 | 2 |"  # another file: no header of its own


def test_a_heading_opens_a_passage_with_what_it_labels_and_a_run_of_headings_stays_together():
    text = ("# Review\n\nThe intro paragraph says a little.\n\n2. Visits\n\n2.1 Numbers\n\nVisits rose by a tenth.\n\n"
            "## Costs\n\nThe service spent a lot.\n")
    chunks = chunk_documents([Document("r.md", None, text, "")], count_tokens, 256)
    assert [c.text.split("\n")[0] for c in chunks] == ["# Review", "2. Visits", "## Costs"]
    assert chunks[1].text == "2. Visits\n\n2.1 Numbers\n\nVisits rose by a tenth."
    assert not any(c.text.rstrip().endswith(("Visits", "Numbers", "Costs")) for c in chunks)


def test_a_heading_takes_what_it_labels_past_the_merging_limit_while_both_fit_the_model():
    steps = "".join(f"{i}. Step {i} is to " + " ".join(f"w{i}{j}" for j in range(14)) + ".\n" for i in range(1, 8))
    text = f"## What should I do\n\n{steps}\nThe end of the notice.\n"
    chunks = chunk_documents([Document("r.md", None, text, "")], count_tokens, 256)
    assert count_tokens(steps) > 128  # more than merging alone takes in
    assert chunks[0].text == f"## What should I do\n\n{steps.rstrip()}"  # not a heading alone
    assert chunks[1].text == "The end of the notice."
    # what does not fit the model with it still stands apart
    longer = "".join(f"{i}. Step {i} is to " + " ".join(f"w{i}{j}" for j in range(30)) + ".\n" for i in range(1, 8))
    chunks = chunk_documents([Document("r.md", None, f"## What should I do\n\n{longer}", "")], count_tokens, 256)
    assert chunks[0].text == "## What should I do"


def test_a_lead_in_keeps_the_list_it_introduces():
    prose = "The board found that " + " ".join(f"fact{i}" for i in range(90)) + "."

    def items(n: int) -> str:
        return "".join(f"- finding number {i} was about " + " ".join(f"w{i}{j}" for j in range(12)) + ";\n" for i in range(n))

    short, long = "Investigators also found that:", "Investigators working for the board also found, on closer inspection, that:"

    def holder(lead: str, n: int) -> str:
        text = f"{prose}\n\n{lead}\n\n{items(n)}\nThe board said more.\n"
        return next(c.text for c in chunk_documents([Document("r.md", None, text, "")], count_tokens, 256) if lead in c.text)

    # a short one opens a passage with its list, past the 128 wordpieces of merging; what follows the list does not join
    assert holder(short, 7) == f"{short}\n\n{items(7).rstrip()}" and count_tokens(holder(short, 7)) > 128
    # a long one says something of its own: it stays with the prose before it, and its list joins them while all fit 256
    assert holder(long, 7) == f"{prose}\n\n{long}\n\n{items(7).rstrip()}"
    assert holder(long, 9) == f"{prose}\n\n{long}"  # a longer list does not fit: a passage of its own
