"""Article records: validation and normalization of what staff ingest."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from timkiem.dates import isoformat, parse_article_date, to_timestamp
from timkiem.errors import RecordError

KNOWN_FIELDS = ("id", "title", "body", "date", "category", "url", "author", "tags")
MAX_ID_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Article:
    """One validated article, all text in NFC."""

    id: str
    title: str = ""
    body: str = ""
    timestamp: int | None = None
    category: str | None = None
    url: str | None = None
    author: str | None = None
    tags: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The record as the API returns it; unknown input fields kept."""
        data: dict[str, Any] = dict(self.extra)
        data.update(
            id=self.id,
            title=self.title,
            body=self.body,
            date=isoformat(self.timestamp) if self.timestamp is not None else None,
            category=self.category,
            url=self.url,
            author=self.author,
            tags=list(self.tags),
        )
        return data


def _nfc_deep(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc_deep(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _nfc_deep(v) for k, v in value.items()}
    return value


def _optional_text(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name} must be a string, not {type(value).__name__}")
    value = value.strip()
    return value or None


def record_id(raw: Any) -> str | None:
    """The id of a raw record when it has a usable one, for error messages."""
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    return None


def parse_article(raw: Any, max_text_length: int = 1_000_000) -> Article:
    """Validate one raw record and return it as an :class:`Article`.

    Raises :class:`RecordError` naming the field and what is wrong.
    """
    if not isinstance(raw, dict):
        raise RecordError(f"a record must be a JSON object, not {type(raw).__name__}")
    raw = _nfc_deep(raw)
    rid = raw.get("id")
    if isinstance(rid, bool) or not isinstance(rid, (str, int)):
        if rid is None:
            raise RecordError("id is missing")
        raise RecordError(f"id must be a string, not {type(rid).__name__}")
    rid = str(rid).strip()
    if not rid:
        raise RecordError("id is empty")
    if len(rid) > MAX_ID_LENGTH:
        raise RecordError(f"id is longer than {MAX_ID_LENGTH} characters")
    if _CONTROL.search(rid):
        raise RecordError("id contains control characters")

    title = _optional_text(raw, "title") or ""
    body = _optional_text(raw, "body") or ""
    if not title and not body:
        raise RecordError("title and body are both empty; at least one is required")
    for name, text in (("title", title), ("body", body)):
        if len(text) > max_text_length:
            raise RecordError(
                f"{name} has {len(text):,} characters, over the limit of {max_text_length:,}"
            )

    timestamp = None
    date_value = raw.get("date")
    if date_value is not None and date_value != "":
        if not isinstance(date_value, str):
            raise RecordError(f"date must be a string, not {type(date_value).__name__}")
        try:
            timestamp = to_timestamp(parse_article_date(date_value))
        except (ValueError, OverflowError) as exc:
            raise RecordError(str(exc)) from None

    tags_value = raw.get("tags")
    tags: list[str] = []
    if tags_value is not None:
        if isinstance(tags_value, str):
            tags_value = [t for t in re.split(r"[;|]", tags_value)]
        if not isinstance(tags_value, list) or not all(isinstance(t, str) for t in tags_value):
            raise RecordError("tags must be a list of strings")
        tags = [t.strip() for t in tags_value if t.strip()]

    extra = {k: v for k, v in raw.items() if k not in KNOWN_FIELDS}
    return Article(
        id=rid,
        title=title,
        body=body,
        timestamp=timestamp,
        category=_optional_text(raw, "category"),
        url=_optional_text(raw, "url"),
        author=_optional_text(raw, "author"),
        tags=tags,
        extra=extra,
    )


def record_hash(record: dict[str, Any]) -> str:
    """A fingerprint of a record's content (keys in any order; empty fields ignored)."""
    kept = {k: v for k, v in record.items() if v is not None and v != [] and v != ""}
    text = json.dumps(kept, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
