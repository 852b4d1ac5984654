"""Spelling variants of one word: i/y, place names, document codes.

**i/y.** Vietnamese writes the vowel /i/ alone after a consonant either as
"i" or as "y": "kỹ thuật"/"kĩ thuật", "lý do"/"lí do", "mỹ"/"mĩ", "hy
sinh"/"hi sinh", "tỷ"/"tỉ", "sỹ"/"sĩ", "quý"/"quí". The school rules of
1984 and 2018 (Quy định về chính tả tiếng Việt) ask for "i" after a
consonant, while the press and most official text keep the traditional "y"
of Sino-Vietnamese words, so both occur for the same word. Only a syllable
that is an initial consonant (h, k, l, m, s, t, or "qu") plus this lone vowel
(with any tone) swaps. Nothing else does: "y" starting a syllable ("y tế",
"ý kiến"), "y" of the rhymes "ay", "ây", "uy" ("máy", "thủy", "tuyên"),
"i" of "ai", "oi", "ui", "ia" and closed syllables ("kinh", "lịch"), and
other consonants, where "i" and "y" spell different names ("Vi"/"Vy",
"Thi"/"Thy"). Folded fields keep "i" and "y" apart, so the query searches
both spellings (:mod:`timkiem.expansion`): no reindex.

**Place names** with two spellings in use: :data:`NAME_VARIANTS`, in the
format of the synonyms file.

**Document codes.** The analyzer splits at every punctuation mark and space,
so "05-CT/TW", "05/CT-TW", "05 CT/TW" and "05-CT-TW" are already the same
syllables (05 ct tw). A number glued to letters ("05CT/TW") is one syllable
("05ct"): the query also searches it split ("05 ct") and the split form glued,
when the letters look like a code's (consonants, but for the first letter:
"CT", "NĐ", "UBND", "mg"; "1 tháng" is no code).
"""

from __future__ import annotations

import re

from timkiem.query import Word

NAME_VARIANTS = """
Bắc Kạn = Bắc Cạn
Đắk Lắk = Đắc Lắc = Đắk Lắc
Đắk Nông = Đắc Nông
Buôn Ma Thuột = Buôn Mê Thuột
Kon Tum = Kontum
Pleiku = Plây Cu
Krông Pắc = Krông Pắk
"""

_I = "iìíỉĩị"
_Y = "yỳýỷỹỵ"
_SWAP = {**dict(zip(_I, _Y)), **dict(zip(_Y, _I))}
_LONE_I = re.compile(rf"(qu|[hklmst])([{_I}{_Y}])")
# The letters of a code: consonants, but for the first ("ct", "nđ", "ubnd",
# "mg"); not a syllable ("1 tháng" is not a code)
_CODE_LETTERS = "[a-zđ][bcdđfghjklmnpqrstvwxz]*"
_GLUED_CODE = re.compile(rf"(\d+)({_CODE_LETTERS})")
_NUMBER = re.compile(r"\d+")
_LETTERS = re.compile(_CODE_LETTERS)


def iy_variant(syllable: str) -> str | None:
    """The other spelling of a lone i/y syllable ("kỹ" -> "kĩ"), else None."""
    if len(syllable) > 3 or syllable[-1] not in _SWAP:
        return None
    match = _LONE_I.fullmatch(syllable)
    if match is None:
        return None
    return match.group(1) + _SWAP[match.group(2)]


def split_code(syllable: str) -> tuple[str, str] | None:
    """A number glued to letters, apart ("05ct" -> ("05", "ct")), else None."""
    if not syllable[0].isdigit() or syllable[-1].isdigit():
        return None
    match = _GLUED_CODE.fullmatch(syllable)
    return (match.group(1), match.group(2)) if match else None


def glued_code(first: Word, second: Word) -> str | None:
    """A number and the letters after it as one syllable ("05", "ct" -> "05ct")."""
    if not (first.accented[-1].isdigit() and second.accented[0].isalpha()):
        return None
    if _NUMBER.fullmatch(first.accented) and _LETTERS.fullmatch(second.accented):
        return first.accented + second.accented
    return None
