"""The Whoosh schema of the article index.

Each text is indexed three ways: folded syllables (diacritic-insensitive
recall), accented syllables (exact-accent matches rank first) and folded
syllable pairs (adjacent syllables of a word rank as a unit). The record itself
is stored once, as JSON.
"""

from __future__ import annotations

from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Frequency

from timkiem.analysis import accented_analyzer, bigram_analyzer, folded_analyzer

TEXT_FIELDS = ("title", "body")
ACCENTED = "{}_a"
FOLDED = "{}_f"
BIGRAM = "{}_b"


def _text(analyzer_factory, field_boost: float = 1.0) -> TEXT:  # type: ignore[no-untyped-def]
    field = TEXT(analyzer=analyzer_factory(), phrase=False, field_boost=field_boost)
    field.format = Frequency(field_boost=field_boost)
    return field


def build_schema() -> Schema:
    """A new schema for an empty index."""
    schema = Schema(
        id=ID(unique=True, stored=True),
        record=STORED(),
        timestamp=NUMERIC(bits=64, signed=True, sortable=True),
        category=ID(sortable=True),
    )
    for name in TEXT_FIELDS:
        schema.add(FOLDED.format(name), _text(folded_analyzer))
        schema.add(ACCENTED.format(name), _text(accented_analyzer))
        schema.add(BIGRAM.format(name), _text(bigram_analyzer))
    return schema


# The fields whose terms are scored: each text's folded, accented and pair fields.
SCORED_FIELDS = tuple(p.format(n) for n in TEXT_FIELDS for p in (FOLDED, ACCENTED, BIGRAM))
