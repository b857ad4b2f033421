"""Answer -> terminal text, shared by the CLI and the REPL: the answer with its citations,
/show, /why and /sources, and JSON. How a passage is laid out (which lines an excerpt
keeps, the context line above a quote) is ``passages.py``; styles and wrapping are
``console.py`` (their names are importable from here too).

Only the standard library is imported here: ``reportqa ask`` and the REPL's
first prompt must not wait for numpy or the model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .console import (  # noqa: F401 - re-exported: render has always offered them
    BOLD,
    DIM,
    ERROR,
    HIGHLIGHT,
    NO_COLOR_CODES,
    NUMBER,
    RESET,
    WARN,
    Style,
    cell_width,
    error_text,
    is_terminal,
    notice_text,
    paragraph,
    printable,
    terminal_width,
    wants_color,
    wrap,
)
from .passages import (  # noqa: F401 - re-exported: render has always offered them
    EXCERPT_CHARS,
    EXCERPT_LINES,
    PASSAGE_INDENT,
    citation_block,
    excerpt_lines,
    heading,
    location,
    open_quotation,
    quote_context,
)

if TYPE_CHECKING:  # pragma: no cover
    from .results import Answer, Citation, Quote

# Confidence bands shown next to the score; the score itself is always printed.
# The score is the reader's P(the quote answers the question), Platt-calibrated on SQuAD
# (reader/cross.py). The bands say how often quotes of that band answered on the SQuAD
# articles, leave-one-article-out (docs/quality.md, reliability table): "high" (>= 0.5),
# about 6 in 10; "medium" (0.3-0.5), about 4 to 5 in 10; "low", 4 in 10 from 0.2 (the lowest
# answered), fewer below.
CONFIDENCE_BANDS = ((0.5, "high"), (0.3, "medium"), (0.0, "low"))


def confidence_label(confidence: float) -> str:
    for floor, label in CONFIDENCE_BANDS:
        if confidence >= floor:
            return label
    return CONFIDENCE_BANDS[-1][1]


def answer_text(answer: Answer, style: Style) -> str:
    """The whole answer: the quote, its confidence, then the numbered citations."""
    parts: list[str] = []
    citations = answer.citations
    if answer.answered:
        quote_lines = []
        quote = quote_in(answer.quote, citations[0]) if citations else None
        frame = None
        if quote is not None:
            frame = quote_context(
                citations[0].text, quote.start - citations[0].start, quote.end - citations[0].start
            )
        if frame is not None:
            # The table's header row or the list's lead-in line: context, not part of the quote.
            context = citations[0].text[frame[0] : frame[1]]
            quote_lines += wrap(context, style.width, spans=[(0, len(context), DIM)], style=style)
        # A quote that starts or stops inside a quotation gets an ellipsis on that side
        # (dim, outside the bold quote), so the quotation's boundary is clear.
        begins_inside, ends_inside = open_quotation(answer.text)
        before, after = ("… " if begins_inside else ""), (" …" if ends_inside else "")
        shown = before + answer.text + after
        inner = span_in(answer)
        if inner is not None and (style.color or style.emphasis):
            # A passage reader's answer span: bold inside the quote, which is then plain.
            spans = [(len(before) + inner[0], len(before) + inner[1], BOLD)]
        else:
            spans = [(len(before), len(before) + len(answer.text), BOLD)]
        if before:
            spans.append((0, 1, DIM))
        if after:
            spans.append((len(shown) - 1, len(shown), DIM))
        if citations:  # the marker is wrapped with the quote, so it never runs past the width
            spans.append((len(shown) + 1, len(shown) + 4, NUMBER))
            shown += " [1]"
        quote_lines += wrap(shown, style.width, spans=spans, style=style)
        if inner is not None and not (style.color or style.emphasis):
            # Without styles the quote stays verbatim (it is what gets copied and checked) and
            # the span follows on its own line.
            quote_lines += wrap(f"→ {answer.text[inner[0] : inner[1]]}", style.width, style=style)
        parts.append("\n".join(quote_lines))
        parts.append(
            style.paint(
                f"confidence: {confidence_label(answer.confidence)} ({answer.confidence:.2f})", DIM
            )
        )
        blocks = []
        for i, c in enumerate(citations, 1):
            quote = quote_in(answer.quote, c) if i == 1 else None
            blocks.append(citation_block(i, c, style, quote=quote, excerpt=i > 1))
        if blocks:
            parts.append("\n".join(blocks))
    else:
        said = ("no passage answers this question." if answer.lacking is None else
                f"the question asks for {answer.lacking.what}, and the sentence that matches it best gives none.")
        parts.append(paragraph(f"Not in the report: {said}", style, code=BOLD))
        if citations:
            heading = "Closest passages, so you can judge:"
            blocks = [citation_block(i, c, style, excerpt=True) for i, c in enumerate(citations, 1)]
            parts.append("\n".join([style.paint(heading, DIM), *blocks]))
    return "\n\n".join(parts)


def followup_text(earlier: Sequence[str], style: Style) -> str:
    """One dim line: the earlier question(s) a follow-up was read with, most recent first."""
    asked = " after ".join(f"“{printable(q)}”" for q in earlier)
    return paragraph(f"read as a follow-up to: {asked}", style, code=DIM)


def span_in(answer: Answer) -> tuple[int, int] | None:
    """The answer span's offsets inside the quoted text, or None (no span, or not inside the quote)."""
    span, quote = answer.span, answer.quote
    if span is None or quote is None or span.source != quote.source:
        return None
    if not (quote.start <= span.start < span.end <= quote.end):
        return None
    return span.start - quote.start, span.end - quote.start


def quote_in(quote: Quote | None, citation: Citation) -> Quote | None:
    """The quote if it lies inside the citation's passage, else None."""
    if quote is None or quote.source != citation.source:
        return None
    return quote if citation.start <= quote.start and quote.end <= citation.end else None


def show_text(
    number: int,
    cited: Citation,
    passages: Sequence[Citation],
    style: Style,
    quote: Quote | None = None,
) -> str:
    """``/show N``: the cited passage, bright, between its dimmed neighbours."""
    passages = list(passages) or [cited]
    quote = quote_in(quote, cited)
    header = heading(number, location(quote or cited), style)
    blocks = [header]
    for p in passages:
        is_cited = p.start < cited.end and cited.start < p.end
        spans: list[tuple[int, int, str]] = []
        if not is_cited:
            spans.append((0, len(p.text), DIM))
        elif quote is not None and p.start <= quote.start and quote.end <= p.end:
            spans.append((quote.start - p.start, quote.end - p.start, HIGHLIGHT))
        label = f"line {p.line}, paragraph {p.paragraph}" + (" (cited)" if is_cited else "")
        body = wrap(p.text, style.width, indent=PASSAGE_INDENT, spans=spans, style=style)
        blocks.append("  " + style.paint(label, DIM) + "\n" + "\n".join(body))
    return "\n\n".join(blocks)


def why_text(answer: Answer, style: Style) -> str:
    """``/why``: why it answered or declined (the confidence against the threshold, and the best
    candidate quotes with their scores), then the retrieval signals of each cited passage."""
    parts = [p for p in (verdict_text(answer, style), signals_text(answer, style)) if p]
    return "\n\n".join(parts)


def verdict_text(answer: Answer, style: Style) -> str:
    """The confidence against the threshold, and the candidate quotes the reader weighed, best first."""
    if answer.threshold is None:
        return ""
    c, t = answer.confidence, answer.threshold
    digits = 2 if f"{c:.2f}" != f"{t:.2f}" else 4
    if answer.answered:
        head = f"Answered: the confidence, {c:.{digits}f}, is at least the threshold, {t:.{digits}f}."
    elif not answer.considered:
        head = "Not answered: no sentence of the closest passages could be a quote."
    else:
        head = f"Not answered: the confidence, {c:.{digits}f}, is below the threshold, {t:.{digits}f}."
    lines = [paragraph(head, style)]
    if answer.lacking is not None:
        lacking = answer.lacking
        capped = f", so the reader's confidence, {lacking.p_read:.2f}, is capped at {c:.2f}" if lacking.p_read > c else ""
        lines.append(paragraph(f"The question asks for {lacking.what}, and the best quote holds none{capped}.", style))
    spelled = answer.spelled
    if spelled is not None:
        lines.append(paragraph(
            f"The question asks what {spelled.short} {'is' if spelled.asked == 'what is' else 'stands for'}, and the report defines it "
            f"({location(spelled.quote)}), so the answer quotes the definition, whatever the reader ranks first:", style))
        lines.extend(excerpt_lines(spelled.text, style.width))
    if answer.considered:
        lines.append(paragraph("Best candidate quotes, by the reader's score (it ranks them; it is not a probability):", style))
        for n, cand in enumerate(answer.considered, 1):
            label = f"{n}. score {cand.score:.2f}, {location(cand.quote)}"
            lines.append(paragraph(label, style, indent="  ", code=DIM))
            lines.extend(excerpt_lines(cand.text, style.width))  # cut as the other passages are
    found = answer.span_found
    if found is not None:
        lines.append(paragraph(
            f"The passage reader's answer span in the first candidate: score {found.score:.2f} against "
            f"{found.null:.2f} for \"no answer\" (margin {found.score - found.null:+.2f}), {location(found.quote)}:", style))
        lines.extend(excerpt_lines(found.text, style.width))
    return "\n".join(lines)


def signals_text(answer: Answer, style: Style) -> str:
    """Lexical and dense rank and score, and the best sentence's cosine and late match, for each cited passage."""
    if not answer.citations:
        return "The last answer has no citations."
    if not answer.signals:
        return "No ranking signals were recorded for the last answer."
    rows = [("", "lexical", "", "dense", "", "sentence", "late", "fused")]
    rows.append(("", "rank", "score", "rank", "score", "cosine", "match", "score"))
    for i, (c, s) in enumerate(zip(answer.citations, answer.signals), 1):
        rows.append(
            (
                f"[{i}]",
                _rank(s.lexical_rank),
                f"{s.lexical_score:.3f}",
                _rank(s.dense_rank),
                f"{s.dense_score:.3f}",
                f"{s.sentence_score:.3f}",
                f"{s.late_score:.3f}",
                f"{s.fused_score:.4f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        line = "  ".join(
            cell.rjust(widths[i]) if i else cell.ljust(widths[i]) for i, cell in enumerate(row)
        )
        out.append(style.paint(line.rstrip(), DIM) if n < 2 else line.rstrip())
    out.append(style.paint("Ranks are 1-based, among all the passages.", DIM))
    return "\n".join(out)


def _rank(rank: int) -> str:
    return f"#{rank}" if rank and rank > 0 else "-"


def sources_text(info: dict, style: Style) -> str:
    """``/sources``: the source, the index, the model and each file."""
    files = info.get("files", [])
    lines = [
        f"source:  {printable(str(info.get('source', '?')))}",
        f"index:   {printable(str(info.get('index', '?')))}",
        f"model:   {info.get('model', '?')} ({info.get('backend', '?')} backend)",
        f"chunks:  {info.get('chunks', 0)} in {len(files)} file{'s' if len(files) != 1 else ''}",
    ]
    if files:
        name_width = max(cell_width(printable(f["name"])) for f in files)
        for f in files:
            name = printable(f["name"])
            pad = " " * (name_width - cell_width(name))
            lines.append(
                f"  {name}{pad}  {f.get('chars', 0):>9,} chars  {f.get('chunks', 0):>5} chunks"
            )
    return "\n".join(lines)


def answer_json(answer: Answer, *, indent: int | None = None) -> str:
    """The answer as JSON (``Answer.to_dict()``)."""
    return dumps(answer.to_dict(), indent=indent)


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """JSON for any result the CLI prints; lone surrogates fall back to \\u escapes."""
    text = json.dumps(obj, ensure_ascii=False, indent=indent, default=_jsonable)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True, indent=indent, default=_jsonable)
    return text


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "__fspath__"):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):  # numpy scalars and arrays from the evaluator
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
