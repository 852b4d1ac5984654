"""Vietnamese typed with the keyboard's Vietnamese mode off: Telex and VNI.

A visitor whose input method is switched off types the keys of the method
as letters: Telex "coong ddoanf" and VNI "co6ng d9oa2n" both mean "công
đoàn". :func:`decode` reads one word the way the input method would have
(keys for marks and tones may come right after their vowel or at the end of
the word), and returns the word only if the result is a Vietnamese syllable:
"search" or "2025" decode to nothing. Whether a decoded word is more likely
than the literal one is for the caller to judge (``timkiem.spelling``):
"chaos" decodes to "cháo" but is also an English word.

Tone marks are placed by the new rule ("hoà", "thuỷ", "khoẻ": on the second
vowel of an open "oa", "oe", "uy") unless ``old_style`` asks for the old one
("hòa", "thủy", "khỏe"); both are one word to the index.
"""

from __future__ import annotations

import re
import unicodedata

TELEX = "telex"
VNI = "vni"
METHODS = (TELEX, VNI)

_TONES = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}
_VNI_TONES = {"1": "\u0301", "2": "\u0300", "3": "\u0309", "4": "\u0303", "5": "\u0323"}
_HAT = {"a": "â", "e": "ê", "o": "ô"}
_HORN = {"o": "ơ", "u": "ư"}
_BREVE = {"a": "ă"}
_VOWELS = set("aăâeêioôơuưy")
_INITIALS = (
    "ngh ng nh ch gh gi kh ph qu th tr b c d đ g h k l m n p r s t v x".split()
)
_FINALS = {"", "c", "ch", "m", "n", "ng", "nh", "p", "t"}
# The vowel groups of Vietnamese syllables (without tone).
_NUCLEI = set(
    """a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo ua uâ
    uê ui uô uơ uy ưa ưi ưu ươ yê iêu yêu oai oay oao oeo uây uôi ươi ươu uyê uya uyu""".split()
)
# Vowel groups after which only an open syllable (no final consonant) is Vietnamese.
_OPEN_ONLY = {"ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia", "iu", "oi", "ôi", "ơi",
              "ua", "ui", "ưa", "ưi", "ưu", "iêu", "yêu", "oai", "oay", "oao", "oeo", "uây",
              "uôi", "ươi", "ươu", "uya", "uyu"}
_NEW_STYLE = {"oa", "oe", "uy"}  # open groups whose tone the new rule puts on the second vowel
_TELEX_WORD = re.compile(r"[a-z]+")
_VNI_WORD = re.compile(r"[a-z]+[0-9][a-z0-9]*")


def decode(word: str, method: str, old_style: bool = False) -> str | None:
    """The Vietnamese syllable ``word`` types in ``method`` (``"telex"`` or ``"vni"``).

    None when ``word`` uses none of the method's keys, or does not make a
    syllable. Case follows the word's first letter.
    """
    lower = word.lower()
    if method == TELEX:
        if not _TELEX_WORD.fullmatch(lower):
            return None
        letters, tone = _telex(lower)
    elif method == VNI:
        if not _VNI_WORD.fullmatch(lower):
            return None
        letters, tone = _vni(lower)
    else:
        raise ValueError(f"unknown input method {method!r}")
    if letters is None or (letters == lower and tone is None):
        return None
    found = _syllable(letters, tone, old_style)
    if found is None or found == lower:
        return None
    return found[0].upper() + found[1:] if word[0].isupper() else found


def decode_text(text: str, method: str, old_style: bool = False) -> str:
    """``text`` with each word that decodes (see :func:`decode`) replaced."""
    return re.sub(
        r"[^\W_]+", lambda m: decode(m.group(0), method, old_style) or m.group(0), text
    )


def _mark(letters: list[str], table: dict[str, str], pair: bool = False) -> bool:
    """Put a mark on the last vowel that takes it; with ``pair``, a "uo" takes the
    horn on both ("ươ", except after "q")."""
    text = "".join(letters)
    if pair:
        at = max(text.rfind("uo"), text.rfind("ưo"), text.rfind("uơ"))
        if at >= 0 and not text[:at].endswith("q"):
            letters[at : at + 2] = ["ư", "ơ"]
            return True
    for at in range(len(letters) - 1, -1, -1):
        if letters[at] in table and not (letters[at] == "u" and text[:at].endswith("q")):
            letters[at] = table[letters[at]]
            return True
    return False


def _telex(word: str) -> tuple[str | None, str | None]:
    letters: list[str] = []
    tone: str | None = None
    for char in word:
        vowel_seen = any(c in _VOWELS for c in letters)
        if char in _TONES and vowel_seen:
            tone = _TONES[char]
        elif char == "z" and tone:
            tone = ""  # removes the tone typed before
        elif char == "w":
            if not _mark(letters, _HORN | _BREVE, pair=True):
                letters.append("ư")
        elif char in _HAT and letters and letters[-1] == char:
            letters[-1] = _HAT[char]
        elif char in _HAT and letters and letters[-1] == _HAT[char]:
            letters[-1] = char  # typed twice more: the plain letter back
            letters.append(char)
        elif char == "d" and letters == ["d"]:
            letters[0] = "đ"
        else:
            letters.append(char)
    return "".join(letters), tone or None


def _vni(word: str) -> tuple[str | None, str | None]:
    letters: list[str] = []
    tone: str | None = None
    for char in word:
        if char in _VNI_TONES:
            if not any(c in _VOWELS for c in letters):
                return None, None
            tone = _VNI_TONES[char]
        elif char == "0" and tone:
            tone = ""
        elif char == "6":
            if not _mark(letters, _HAT):
                return None, None
        elif char == "7":
            if not _mark(letters, _HORN, pair=True):
                return None, None
        elif char == "8":
            if not _mark(letters, _BREVE):
                return None, None
        elif char == "9":
            if not letters or letters[0] != "d":
                return None, None
            letters[0] = "đ"
        elif char.isdigit():
            return None, None
        else:
            letters.append(char)
    return "".join(letters), tone or None


def _split(letters: str) -> tuple[str, str, str] | None:
    """Initial consonant, vowel group and final consonant (None: not a syllable)."""
    initial = next((i for i in _INITIALS if letters.startswith(i)), "")
    rest = letters[len(initial) :]
    if initial == "gi" and not any(c in _VOWELS for c in rest):
        initial, rest = "g", letters[1:]  # "gì": the "i" is the vowel
    end = 0
    while end < len(rest) and rest[end] in _VOWELS:
        end += 1
    nucleus, final = rest[:end], rest[end:]
    if nucleus not in _NUCLEI or final not in _FINALS:
        return None
    if final and nucleus in _OPEN_ONLY:
        return None
    if initial == "qu" and nucleus.startswith("u"):
        return None
    return initial, nucleus, final


def _syllable(letters: str, tone: str | None, old_style: bool) -> str | None:
    parts = _split(letters)
    if parts is None:
        return None
    initial, nucleus, final = parts
    if tone:
        if final in ("c", "ch", "p", "t") and tone not in ("\u0301", "\u0323"):
            return None  # a syllable ending in a stop takes only sắc or nặng
        at = _tone_place(nucleus, final, old_style)
        toned = unicodedata.normalize("NFC", nucleus[at] + tone)
        nucleus = nucleus[:at] + toned + nucleus[at + 1 :]
    return initial + nucleus + final


def _tone_place(nucleus: str, final: str, old_style: bool) -> int:
    """Which vowel of the group carries the tone mark."""
    marked = [n for n, c in enumerate(nucleus) if c in "ăâêôơư"]
    if marked:
        return marked[-1]  # "ươ": the "ơ"
    if len(nucleus) == 1:
        return 0
    if final:
        return len(nucleus) - 1
    if len(nucleus) == 3:
        return 1
    if nucleus in _NEW_STYLE:
        return 0 if old_style else 1
    return 0
