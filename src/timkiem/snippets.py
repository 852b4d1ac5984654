"""HTML snippets: an escaped excerpt of the original text with matches marked."""

from __future__ import annotations

import html
from collections.abc import Iterable

from whoosh.analysis import Token
from whoosh.highlight import ContextFragmenter, Formatter, get_text, highlight

from timkiem.analysis import folded_analyzer

SNIPPET_CHARS = 200


class MarkFormatter(Formatter):
    """Escape the text; wrap each match in a bare ``<mark>``."""

    between = " … "

    def _text(self, text: str) -> str:
        return html.escape(text, quote=True)

    def format_token(self, text: str, token: Token, replace: bool = False) -> str:
        return "<mark>" + html.escape(get_text(text, token, replace), quote=True) + "</mark>"


_FRAGMENTER = ContextFragmenter(maxchars=SNIPPET_CHARS, surround=50)
_FORMATTER = MarkFormatter()


def _plain(text: str, limit: int = SNIPPET_CHARS) -> str:
    if len(text) <= limit:
        return html.escape(text)
    cut = text.rfind(" ", 0, limit)
    return html.escape(text[: cut if cut > limit // 2 else limit]) + " …"


def make_snippet(text: str, folded_terms: Iterable[str]) -> str:
    """Excerpt ``text`` (NFC, as stored) around the terms, which are folded.

    Matching is on the folded form, so a visitor typing "cong doan" sees
    "<mark>Công</mark> <mark>đoàn</mark>" in the original spelling.
    """
    terms = frozenset(folded_terms)
    if not text:
        return ""
    if terms:
        marked = highlight(
            text, terms, folded_analyzer(), _FRAGMENTER, _FORMATTER, top=1, minscore=1
        )
        if marked:
            return str(marked)
    return _plain(text)
