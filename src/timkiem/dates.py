"""Dates of articles and of query ranges, in Vietnam time (+07:00)."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")

_VN_DATE = re.compile(
    r"^\s*(?:(?P<h1>\d{1,2})[:h](?P<m1>\d{2})(?::(?P<s1>\d{2}))?\s*[-,]?\s*)?"
    r"(?P<d>\d{1,2})/(?P<mo>\d{1,2})/(?P<y>\d{4})"
    r"(?:\s*[-,]?\s*(?P<h2>\d{1,2})[:h](?P<m2>\d{2})(?::(?P<s2>\d{2}))?)?\s*$"
)
RANGE_PATTERN = r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$"
"""The form of a range bound: YYYY, YYYY-MM or YYYY-MM-DD."""
_RANGE = re.compile(RANGE_PATTERN)


def parse_article_date(text: str) -> datetime:
    """Parse an article date: ISO 8601, "13/04/2020" or "15:00 - 13/04/2020".

    A date without an offset is Vietnam time. Raises ``ValueError`` with a
    reason a person can act on.
    """
    value = text.strip()
    if not value:
        raise ValueError("date is empty")
    match = _VN_DATE.match(value)
    if match:
        hour = match["h1"] or match["h2"] or "0"
        minute = match["m1"] or match["m2"] or "0"
        second = match["s1"] or match["s2"] or "0"
        try:
            parsed = datetime(
                int(match["y"]),
                int(match["mo"]),
                int(match["d"]),
                int(hour),
                int(minute),
                int(second),
            )
        except ValueError as exc:
            raise ValueError(f"date {text!r} does not exist ({exc})") from None
    else:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"date {text!r} is not ISO 8601 (2020-04-13T09:30:00+07:00), "
                "DD/MM/YYYY or HH:MM - DD/MM/YYYY"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VIETNAM)
    return parsed


def to_timestamp(moment: datetime) -> int:
    """Seconds since the epoch."""
    return int(moment.timestamp())


def from_timestamp(seconds: int) -> datetime:
    """The Vietnam-time datetime of an epoch timestamp."""
    return datetime.fromtimestamp(seconds, VIETNAM)


def isoformat(seconds: int) -> str:
    """ISO 8601 in Vietnam time, as the API returns dates."""
    return from_timestamp(seconds).isoformat()


def day_of(seconds: int) -> str:
    """The calendar day (YYYY-MM-DD), in Vietnam time."""
    return from_timestamp(seconds).date().isoformat()


def year_of(seconds: int) -> int:
    """The calendar year, in Vietnam time."""
    return from_timestamp(seconds).year


def parse_range_bound(text: str, *, end: bool) -> int:
    """Turn "YYYY", "YYYY-MM" or "YYYY-MM-DD" into an inclusive timestamp bound.

    With ``end`` the bound is the last second of that period, else the first.
    """
    match = _RANGE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a date: use YYYY-MM-DD, YYYY-MM or YYYY")
    year = int(match[1])
    month = int(match[2]) if match[2] else None
    day = int(match[3]) if match[3] else None
    try:
        if month is None:
            first = date(year, 1, 1)
            last = date(year, 12, 31)
        elif day is None:
            first = date(year, month, 1)
            last = date(year, month, calendar.monthrange(year, month)[1])
        else:
            first = last = date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date ({exc})") from None
    if year < 1900 or year > 9998:
        raise ValueError(f"{text!r} is outside the years 1900-9998")
    chosen = last if end else first
    moment = datetime(chosen.year, chosen.month, chosen.day, tzinfo=VIETNAM)
    if end:
        moment += timedelta(days=1)
        return to_timestamp(moment) - 1
    return to_timestamp(moment)
