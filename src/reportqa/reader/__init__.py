"""The reader: picks the answer span in the retrieved passages and says whether the report answers.

    base.py        the Reader protocol, Scores, Decision, decide() and the registry (READERS)
    context.py     SentenceTable (per index) and Query (per question): what readers read
    candidates.py  Candidate spans (sentences and adjacent pairs) and the yes/no extension
    qtype.py       question typing: answer_type, is_yes_no, key_terms
    features.py    the linear reader's features, by name
    linear.py      the "linear" reader and its fitted parameters (linear.json)
    cross.py       the "cross" reader: the linear one plus a cross-encoder's logits (cross.json)
    spans.py       decoding a passage reader's start/end logits into the best span and "no answer"
    span.py        the "span" and "span+cross" readers: a passage reader's margins (span.json, span_cross.json)
    gated.py       the "gated" reader: cross chooses the quote, span+cross decides whether to answer
    abbreviations.py  abbreviations a text spells out, and questions asking what one stands for
    spelled.py     the answer to "what does X stand for?" where the report defines X (used by decide),
                   and an abbreviation read as its long form (used by the pipeline)
    typos.py       a mistyped question word read as the report's word one typo from it (used by the pipeline)
"""

from __future__ import annotations

from .base import READERS, Decision, Reader, Scores, decide, make_reader, register
from .candidates import Candidate, candidates, extend_lead_in, extend_section, extend_yes_no
from .context import Query, SentenceTable
from .cross import CrossFeatures, CrossReader
from .gated import GatedReader
from .linear import ExtraFeatures, LinearFeatures, LinearParams, LinearReader
from .qtype import answer_type, is_yes_no, key_terms
from .span import SpanCrossReader, SpanFeatures, SpanReader

register("linear", LinearReader)
register("cross", CrossReader)
register("span", SpanReader)
register("span+cross", SpanCrossReader)
register("gated", GatedReader)

__all__ = [
    "READERS",
    "Candidate",
    "CrossFeatures",
    "CrossReader",
    "Decision",
    "ExtraFeatures",
    "GatedReader",
    "LinearFeatures",
    "LinearParams",
    "LinearReader",
    "Query",
    "Reader",
    "Scores",
    "SentenceTable",
    "SpanCrossReader",
    "SpanFeatures",
    "SpanReader",
    "answer_type",
    "candidates",
    "decide",
    "extend_lead_in",
    "extend_section",
    "extend_yes_no",
    "is_yes_no",
    "key_terms",
    "make_reader",
    "register",
]
