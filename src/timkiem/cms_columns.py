"""Column names of CMS exports: the Vietnamese and English names recognised for
each record field, and the staff's own ``--map field=column``."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from timkiem.errors import InvalidParameter

SUMMARY = "summary"  # a lead paragraph ("Tóm tắt", "Sapo"): put before the body
FIELDS = ("id", "title", "body", "date", "category", "url", "author", "tags", SUMMARY)

# Names as they are folded by ``fold``: no accents, lower case, single spaces.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "ma bai", "ma bai viet", "ma tin", "ma tin bai", "ma so", "article id", "post id"),
    "title": ("tieu de", "ten bai", "ten bai viet", "tieu de bai viet", "headline"),
    "body": ("noi dung", "noi dung bai viet", "noi dung chi tiet", "chi tiet", "content"),
    "date": (
        "ngay dang",
        "ngay xuat ban",
        "ngay dang bai",
        "thoi gian dang",
        "ngay",
        "published",
        "publish date",
        "published at",
        "pubdate",
    ),
    "category": ("chuyen muc", "danh muc", "the loai", "section"),
    "url": ("duong dan", "lien ket", "link", "url"),
    "author": ("tac gia", "nguoi viet", "but danh", "phong vien"),
    "tags": ("tu khoa", "the", "keywords"),
    SUMMARY: ("tom tat", "sapo", "mo ta", "trich dan", "summary", "description", "excerpt"),
}


def fold(name: str) -> str:
    """A column name without accents or case: "Ngày đăng" -> "ngay dang"."""
    text = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return re.sub(r"[\s_\-.]+", " ", text).strip().lower()


_BY_ALIAS = {alias: name for name, aliases in ALIASES.items() for alias in aliases}


def parse_mapping(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["title=Tên bài", ...]`` as ``{"title": "Tên bài"}``; a bad item raises
    :class:`InvalidParameter` naming ``--map``."""
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, column = item.partition("=")
        name, column = name.strip().lower(), column.strip()
        if not sep or not name or not column:
            raise InvalidParameter("--map", f"{item!r} is not FIELD=COLUMN (e.g. title=Tên bài)")
        if name not in FIELDS:
            raise InvalidParameter(
                "--map", f"{name!r} is not a record field; use one of {', '.join(FIELDS)}"
            )
        if name in mapping:
            raise InvalidParameter("--map", f"{name} is mapped twice")
        mapping[name] = column
    return mapping


@dataclass
class ColumnMap:
    """Renames the columns of one export's records to timkiem's field names."""

    explicit: dict[str, str] = field(default_factory=dict)  # field -> column, from --map
    _plans: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict, repr=False)

    def apply(self, data: Any) -> Any:
        """The record with its columns renamed; a field already present is never replaced."""
        if not isinstance(data, dict):
            return data
        keys = tuple(data)
        renames = self._plans.get(keys)
        if renames is None:
            if len(self._plans) >= 10_000:  # records of ever new shapes: do not grow forever
                self._plans.clear()
            renames = self._plans[keys] = self._plan(keys)
        if not renames and SUMMARY not in data:
            return data  # the common case: timkiem's own field names
        out = {k: v for k, v in data.items() if k not in renames}
        for key, name in renames.items():
            if name in out:  # the record has the field itself: keep the column as it is
                out[key] = data[key]
            else:
                out[name] = data[key]
        summary = out.pop(SUMMARY, None)
        if isinstance(summary, str) and summary.strip():
            body = out.get("body")
            if isinstance(body, str) and body.strip():
                if not body.lstrip().startswith(summary.strip()):
                    out["body"] = summary.strip() + "\n" + body
            elif body is None or body == "":
                out["body"] = summary
        elif summary is not None:
            out[SUMMARY] = summary
        return out

    def _plan(self, keys: tuple[str, ...]) -> dict[str, str]:
        """Column -> field for records with these keys (the first column found for a field)."""
        wanted = {fold(column): name for name, column in self.explicit.items()}
        renames: dict[str, str] = {}
        for key in keys:
            folded = fold(str(key))
            name = wanted.get(folded)
            if name is None and key not in FIELDS:
                name = _BY_ALIAS.get(folded)
                if name in self.explicit:  # the staff named another column for it
                    name = None
            if name is not None and name not in renames.values():
                renames[key] = name
        return renames


def explain_missing(message: str, data: Any, columns: ColumnMap) -> str:
    """A record error, with the columns the record has when a needed field is missing
    and some column was not recognised (it may hold that field under another name)."""
    if not isinstance(data, dict) or not (
        message == "id is missing" or message.startswith("title and body are both empty")
    ):
        return message
    if all(str(k) in FIELDS for k in data):
        return message
    field_name = "id" if message == "id is missing" else "title"
    names = ", ".join(repr(str(k)) for k in data) or "none"
    return (
        f"{message}; the columns found are {names}: name the one holding the {field_name} "
        f"with --map {field_name}=COLUMN"
    )
