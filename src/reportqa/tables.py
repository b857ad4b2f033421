"""A Markdown table's data row as the models read it: with its header's names."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .text import is_table_delimiter, is_table_row


def table_cells(row: str) -> list[str]:
    """The cells of a table row, stripped ("| Lead | 612 |" → ["Lead", "612"]); an escaped "\\|" stays in its cell."""
    inner = row.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", inner)]


def read_text(sentences: Sequence[str], i: int, first: int = 0) -> str:
    """Sentence i as the models read it: itself, except that a table's data row is read with its
    header's names ("| Lead | 612 | 3 |" under "| Metal | Samples | Failures |" is read as
    "Metal: Lead; Samples: 612; Failures: 3"), so that "how many lead samples failed?" can match
    the row that answers it. The quote is still the row as written.

    ``sentences[first:]`` are a document's sentences in order (the header may stand in an
    earlier passage); the header is the row above the table's delimiter row.
    """
    text = sentences[i]
    if not is_table_row(text) or is_table_delimiter(text):
        return text
    j = i - 1
    while j > first and is_table_row(sentences[j]) and not is_table_delimiter(sentences[j]):
        j -= 1  # up through the data rows above
    if j <= first or not is_table_delimiter(sentences[j]) or not is_table_row(sentences[j - 1]):
        return text  # a header row, or rows with no header
    names = table_cells(sentences[j - 1])
    cells = table_cells(text)
    pairs = [f"{name}: {cell}" if name else cell for name, cell in zip(names, cells) if cell]
    return "; ".join(pairs + [cell for cell in cells[len(names):] if cell]) or text
