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


def accented_field(text: str) -> str:
    """The field of a text's accented syllables ("title" -> "title_a")."""
    return f"{text}_a"


def folded_field(text: str) -> str:
    """The field of a text's folded syllables ("title" -> "title_f")."""
    return f"{text}_f"


def pair_field(text: str) -> str:
    """The field of a text's folded syllable pairs ("title" -> "title_b")."""
    return f"{text}_b"


FIELD_KINDS = (folded_field, accented_field, pair_field)


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
        schema.add(folded_field(name), _text(folded_analyzer))
        schema.add(accented_field(name), _text(accented_analyzer))
        schema.add(pair_field(name), _text(bigram_analyzer))
    return schema


# The fields whose terms are scored: each text's folded, accented and pair fields.
SCORED_FIELDS = tuple(kind(n) for n in TEXT_FIELDS for kind in FIELD_KINDS)
