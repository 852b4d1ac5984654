"""Vietnamese text analysis: normalization, folding and the Whoosh analyzers.

Every analyzer here starts from the same canonical text: NFC, lower case, and
one tone placement for the syllable-final clusters "oa", "oe" and "uy"
("hoà" and "hòa" both become "hòa", "thuỷ" and "thủy" become "thủy").
Canonicalization never changes the length of NFC text, so token offsets point
into the NFC form of the original text, which is what the index stores.

Whoosh pickles the schema, analyzers included, into the index: the classes in
this module keep their names and import path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import Any

import numpy as np
from unidecode import unidecode
from whoosh.analysis import (
    BiWordFilter,
    Filter,
    LowercaseFilter,
    Token,
    Tokenizer,
)
from whoosh.analysis.analyzers import CompositeAnalyzer

TOKEN_PATTERN = re.compile(r"[^\W_]+")

# Old-style tone placement on the second vowel of an open "oa", "oe" or "uy"
# (not after "q", where "u" belongs to the consonant: "quý" is standard).


def _tone_map() -> dict[str, str]:
    mapping: dict[str, str] = {}
    for toned, plain, first in (
        ("àáảãạ", "a", "òóỏõọ"),
        ("èéẻẽẹ", "e", "òóỏõọ"),
    ):
        for mark, head in zip(toned, first):
            mapping["o" + mark] = head + plain
    for mark, head in zip("ỳýỷỹỵ", "ùúủũụ"):
        mapping["u" + mark] = head + "y"
    return mapping


_TONE_MAP = _tone_map()
_TONE_RE = re.compile(r"(?:o[àáảãạèéẻẽẹ]|(?<!q)u[ỳýỷỹỵ])(?![^\W\d_])")


def _build_fold_table() -> dict[int, str]:
    """Map every accented Latin letter to its bare ASCII letter, via unidecode."""
    table: dict[int, str] = {}
    for block in (range(0x00C0, 0x0250), range(0x1E00, 0x1F00)):
        for code in block:
            char = chr(code)
            if not char.isalpha():
                continue
            folded = unidecode(char)
            if len(folded) == 1 and folded.isascii() and folded.isalpha():
                table[code] = folded
    return table


FOLD_TABLE = _build_fold_table()


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC."""
    return unicodedata.normalize("NFC", text)


def canonical_tones(text: str) -> str:
    """Move old-style tone marks ("hoà", "thuỷ") to one canonical placement."""
    return _TONE_RE.sub(lambda m: _TONE_MAP[m.group(0)], text)


def canonical(text: str) -> str:
    """NFC, lower case and canonical tone placement: the form every term comes from."""
    return canonical_tones(nfc(text).lower())


def _fold_codes() -> np.ndarray:
    codes = np.arange(0x2000, dtype=np.uint32)
    for code, folded in FOLD_TABLE.items():
        codes[code] = ord(folded)
    return codes


_FOLD_CODES = _fold_codes()
_LONG_TEXT = 400  # characters from which folding through NumPy is quicker


def fold(text: str) -> str:
    """Remove diacritics from Vietnamese (Latin) letters; "đ" becomes "d".

    Every character keeps its place (one folds to one). A long text goes
    through a NumPy table: ``str.translate`` looks each character up in a dict.
    """
    if len(text) < _LONG_TEXT:
        return text.translate(FOLD_TABLE)
    # surrogatepass: a lone surrogate (JSON allows "\ud83d") stays itself
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    low = codes < len(_FOLD_CODES)
    folded = np.where(low, _FOLD_CODES[np.where(low, codes, 0)], codes)
    return folded.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


def has_accents(text: str) -> bool:
    """True when ``text`` carries a diacritic that folding would remove."""
    return fold(text) != text


def syllables(text: str) -> list[str]:
    """The canonical (accented, lower-case) syllables of ``text``."""
    return TOKEN_PATTERN.findall(canonical(text))


def folded_words(text: str) -> str:
    """The folded syllables of ``text`` joined by spaces: the same for any case, accents,
    tone placement and punctuation ("Hoạt động - Công đoàn", "hoat-dong cong doan")."""
    return " ".join(fold(s) for s in syllables(text))


class VietnameseTokenizer(Tokenizer):
    """Split NFC-normalized text into syllables (runs of letters and digits)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        text = nfc(value)
        if not tokenize:
            token.original = token.text = text
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(text)
            yield token
            return
        for pos, match in enumerate(TOKEN_PATTERN.finditer(text), start_pos):
            token.text = match.group(0)
            token.boost = 1.0
            if keeporiginal:
                token.original = token.text
            token.stopped = False
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


class ToneFilter(Filter):
    """Rewrite old-style tone placement to the canonical one."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = canonical_tones(token.text)
            yield token


class FoldFilter(Filter):
    """Strip diacritics so that "Đoàn" and "doan" index as the same term."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = token.text.translate(FOLD_TABLE)
            yield token


BIGRAM_SEPARATOR = "_"


@cache
def accented_analyzer() -> CompositeAnalyzer:
    """Syllables with their accents: exact-accent matching."""
    return VietnameseTokenizer() | LowercaseFilter() | ToneFilter()


@cache
def folded_analyzer() -> CompositeAnalyzer:
    """Syllables without accents: diacritic-insensitive matching."""
    return VietnameseTokenizer() | LowercaseFilter() | ToneFilter() | FoldFilter()


@cache
def bigram_analyzer() -> CompositeAnalyzer:
    """Adjacent folded syllable pairs ("cong_doan"): words of two syllables."""
    return folded_analyzer() | BiWordFilter(sep=BIGRAM_SEPARATOR)


def folded_syllables(text: str) -> list[str]:
    """The terms ``folded_analyzer`` gives for ``text``, in one pass over the
    whole text (for analysing stored articles again quickly)."""
    return TOKEN_PATTERN.findall(fold(canonical(text)))


def syllable_pairs(folded: list[str]) -> list[str]:
    """The terms ``bigram_analyzer`` gives for a text of ``folded`` syllables."""
    if len(folded) == 1:
        return folded[:]
    return [BIGRAM_SEPARATOR.join(pair) for pair in zip(folded, folded[1:])]
