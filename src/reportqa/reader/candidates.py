"""Answer candidates: the sentences of the top passages and pairs of adjacent sentences.

A one-line sentence often needs its neighbour ("It subsequently appears that it
was not."), so a pair of adjacent sentences of one passage is a candidate too,
when the two read as one thought. Every reader scores the same candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ..chunking import BLANK_LINES, is_lead_in, is_list_item
from ..text import (is_heading, is_question, is_structural, is_table_delimiter, is_table_row, is_title_line, joins,
                    opens_code_block, words)
from .candidate import Candidate
from .context import Query
from .qtype import is_yes_no


def candidates(query: Query) -> list[Candidate]:
    """Spans of the top passages, in passage order, then sentence order, single before pair.

    Lone sentences with fewer than min_answer_terms content words, lone headings (Markdown's,
    a table's header row, a plain-text title paragraph such as "3. Finances") and lone questions
    that restate the asked one (``restates``) are left out, unless the top passages hold nothing
    else (a report of short lines).
    """
    spans = _candidates(query, query.settings.min_answer_terms)
    return spans or _candidates(query, 0)


def _candidates(query: Query, min_terms: int) -> list[Candidate]:
    table, s = query.table, query.settings
    new_terms = s.question_new_terms if min_terms else -1
    spans: list[Candidate] = []
    for rank, cid in enumerate(query.top_passages):
        chunk = query.index.chunks[cid]
        first = int(table.starts[cid])
        for j, width in passage_spans(
            chunk.sentences, lambda j: table.texts[first + j], lambda j: len(table.term_sets[first + j]), min_terms, s.answer_max_chars,
            titled=lambda j, chunk=chunk, first=first: is_title_line(table.texts[first + j]) and _whole_paragraph(chunk, j),
            broken=lambda j, chunk=chunk: _paragraph_break(chunk, j),
        ):
            if width == 1 and restates(query, first + j, new_terms):
                continue
            a, b = chunk.sentences[j][0], chunk.sentences[j + width - 1][1]
            spans.append(Candidate(cid, a, b, range(first + j, first + j + width), rank))
    return spans


def restates(query: Query, row: int, new_terms: int) -> bool:
    """Is sentence ``row`` a question with at most ``new_terms`` content words that the asked question
    lacks ("SAM: What is the biggest threat?" for "what is the biggest threat": only the speaker)?
    It restates the question, as an interview or an FAQ asks it; its answer is what follows it."""
    return new_terms >= 0 and is_question(query.table.texts[row]) and len(query.table.term_sets[row] - query.term_set) <= new_terms


def passage_spans(
    sentences: Sequence[tuple[int, int]], text: Callable[[int], str], term_count: Callable[[int], int], min_terms: int, max_chars: int,
    titled: Callable[[int], bool] = lambda j: False, broken: Callable[[int], bool] = lambda j: False,
) -> list[tuple[int, int]]:
    """The candidates of one passage as (first sentence, width 1 or 2), in sentence order, single before pair.

    ``sentences`` are the passage's (start, end) offsets, ``text(j)`` sentence j's text,
    ``term_count(j)`` its number of distinct content words (``text.terms``; a sentence with fewer
    than ``min_terms`` is left out alone unless it introduces a list or table, ``introduces``) and ``titled(j)``
    whether it is a plain-text heading ("3. Finances": a paragraph of one title line), ``broken(j)``
    whether a blank line parts sentences j and j + 1 (``text.joins``: a label pairs with the next
    sentence only inside its paragraph, a byline with its date line, not a headline with the
    byline under it). Training
    (``training/reader_data.py``) cuts its examples with this too, so it reads what use reads.
    """
    out: list[tuple[int, int]] = []
    n = len(sentences)

    def header(j: int) -> bool:  # a heading, or the row above a table's delimiter row ("|---|---|")
        return is_heading(text(j)) or titled(j) or (j + 1 < n and is_table_row(text(j)) and is_table_delimiter(text(j + 1)))

    def short(j: int) -> bool:  # too few content words, unless it introduces a list or table (``extend_lead_in``)
        return term_count(j) < min_terms and not (j + 1 < n and introduces(text(j), text(j + 1)))

    for j in range(n):
        for width in (1, 2):
            if j + width > n:
                break
            a, b = sentences[j][0], sentences[j + width - 1][1]
            if width == 1 and (short(j) or (min_terms and header(j))):
                continue  # a caption, a stray label ("| Google Maps"), a heading or a table's header row is no answer on its own
            if width == 2 and (b - a > max_chars or not joins(text(j), text(j + 1), broken(j)) or titled(j) or titled(j + 1)):
                continue  # too long, or not one thought (a heading beside prose, two bullets)
            out.append((j, width))
    return out


def introduces(sentence: str, after: str) -> bool:
    """Does the sentence introduce a list or table that starts with the sentence ``after`` it ("…found that:")?"""
    return is_lead_in(sentence) and (is_list_item(after) or is_table_row(after))


def _paragraph_break(chunk, j: int) -> bool:
    """Whether a blank line parts sentence j of a passage from sentence j + 1."""
    sentences, at = chunk.sentences, chunk.start
    return BLANK_LINES.search(chunk.text, sentences[j][1] - at, sentences[j + 1][0] - at) is not None


def _whole_paragraph(chunk, j: int) -> bool:
    """Whether sentence j of a passage is a paragraph of its own (a blank line, or the passage's edge, either side)."""
    before = j == 0 or _paragraph_break(chunk, j - 1)
    after = j == len(chunk.sentences) - 1 or _paragraph_break(chunk, j)
    return before and after


def extend_yes_no(query: Query, best: Candidate | None) -> Candidate | None:
    """For a yes/no question, add the next sentence when it is short.

    The sentence that matches a polar question best usually restates it, and the
    verdict is the short one after it: "…assessing whether surveillance of named
    perpetrators was viable." / "It subsequently appears that it was not."
    Only a single-sentence answer is extended, within its passage.
    """
    s = query.settings
    if best is None or not s.yes_no_next_chars or not is_yes_no(query.text) or best.width != 1:
        return best
    table = query.table
    sentences = query.index.chunks[best.chunk_id].sentences
    row = best.rows[0]
    j = row - int(table.starts[best.chunk_id])
    if j + 1 >= len(sentences):
        return best  # the last sentence of its passage
    if not joins(table.texts[row], table.texts[row + 1], _paragraph_break(query.index.chunks[best.chunk_id], j)):
        return best  # a heading, a table row, the next bullet or the byline under a headline is no verdict
    x, y = sentences[j + 1]
    return replace(best, end=y, rows=range(row, row + 2)) if y - x <= s.yes_no_next_chars else best


def extend_lead_in(query: Query, best: Candidate | None) -> Candidate | None:
    """A quote that ends on a line introducing a list, a table or a code block takes it in, within its passage.

    "The utility has committed to three actions:" matches "what will the utility do?" best and
    answers nothing; the items under it do. The quote runs on through each whole item (a list
    item's marked line and the sentences of its paragraph after it, a blank line allowed between
    two items; a table's header and delimiter rows with its first row, then each row; a fenced code
    block, one sentence) while the whole quote stays within ``lead_in_list_chars``. A lead-in
    followed by prose is left as it is.
    """
    limit = query.settings.lead_in_list_chars
    if best is None or not limit:
        return best
    table, chunk = query.table, query.index.chunks[best.chunk_id]
    first, sentences = int(table.starts[best.chunk_id]), chunk.sentences
    j = best.rows[-1] - first
    if not is_lead_in(table.texts[first + j]):
        return best

    def part(k: int) -> str | None:
        """Does sentence k open an item ("new"), go on with the one before ("more"), or end the list (None)?"""
        text, before, gap = table.texts[first + k], table.texts[first + k - 1], _paragraph_break(chunk, k - 1)
        if is_list_item(text):
            return "new"
        if opens_code_block(text):
            return "new" if k == j + 1 else None  # a code block: "To install it, run:" and its one block
        if is_table_row(text):
            if k == j + 1:
                return "new"  # a table's header row
            if not is_table_row(before) or gap:
                return None
            return "more" if is_table_delimiter(text) or is_table_delimiter(before) else "new"
        return None if k == j + 1 or gap or is_structural(text) or is_table_row(before) else "more"

    whole, k = j, j + 1  # whole: the last sentence of the last whole item that fits
    while k < len(sentences) and (kind := part(k)):
        if kind == "new":
            whole = k - 1  # the item before this one (if any) is whole
        if sentences[k][1] - best.start > limit:
            k = whole + 1  # this item does not fit
            break
        k += 1
    if k - 1 == j:
        return best
    return replace(best, end=sentences[k - 1][1], rows=range(best.rows[0], first + k))


def extend_section(query: Query, best: Candidate | None) -> Candidate | None:
    """A list item quoted where the question asks what its section says takes in the whole list.

    "what should i do" matches every step under "## What should I do" alike (each is read after
    the section's title), and the reader picks one of them. Where every word of the section's
    title (two words or more) is in the question, the quote runs from the list's first item on
    through each whole item while it stays within ``lead_in_list_chars`` (the list being the run of
    items and their sentences within one paragraph of the passage), if that reaches the item chosen;
    otherwise the quote stays as it is.
    """
    limit, table = query.settings.lead_in_list_chars, query.table
    if best is None or not limit or not is_list_item(table.texts[best.rows[0]]):
        return best
    chunk, title = query.index.chunks[best.chunk_id], table.section_title(best.rows[0])
    said = set(words(title or ""))
    if len(said) < 2 or not said <= set(words(query.text)):
        return best
    first, sentences = int(table.starts[best.chunk_id]), chunk.sentences
    lo, hi = best.rows[0] - first, best.rows[-1] - first
    while lo > 0 and not _paragraph_break(chunk, lo - 1) and not is_structural(table.texts[first + lo - 1]):
        lo -= 1
    while hi + 1 < len(sentences) and not _paragraph_break(chunk, hi) and not is_structural(table.texts[first + hi + 1]):
        hi += 1
    if not is_list_item(table.texts[first + lo]):
        return best
    end, k = None, lo  # end: the last sentence of the last whole item that fits, from the first item on
    while k <= hi:
        after = next((n for n in range(k + 1, hi + 1) if is_list_item(table.texts[first + n])), hi + 1)
        if sentences[after - 1][1] - sentences[lo][0] > limit:
            break
        end, k = after - 1, after
    if end is None or first + end < best.rows[-1] or (lo, end) == (best.rows[0] - first, best.rows[-1] - first):
        return best  # the items that fit do not reach the chosen one, or add nothing to it
    return replace(best, start=sentences[lo][0], end=sentences[end][1], rows=range(first + lo, first + end + 1))
