"""Article dates and query date bounds, in Vietnam time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from timkiem.dates import (
    VIETNAM,
    isoformat,
    parse_article_date,
    parse_range_bound,
    to_timestamp,
    year_of,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13/04/2020", datetime(2020, 4, 13, tzinfo=VIETNAM)),
        ("3/4/2020", datetime(2020, 4, 3, tzinfo=VIETNAM)),
        ("15:00 - 13/04/2020", datetime(2020, 4, 13, 15, 0, tzinfo=VIETNAM)),
        ("08:05:09 - 13/04/2020", datetime(2020, 4, 13, 8, 5, 9, tzinfo=VIETNAM)),
        ("13/04/2020 15:00", datetime(2020, 4, 13, 15, 0, tzinfo=VIETNAM)),
        ("  15:00 - 13/04/2020  ", datetime(2020, 4, 13, 15, 0, tzinfo=VIETNAM)),
        ("2020-04-13", datetime(2020, 4, 13, tzinfo=VIETNAM)),
        ("2020-04-13T09:30:00", datetime(2020, 4, 13, 9, 30, tzinfo=VIETNAM)),
        ("2020-04-13T09:30:00+07:00", datetime(2020, 4, 13, 9, 30, tzinfo=VIETNAM)),
        ("2020-04-13T02:30:00Z", datetime(2020, 4, 13, 9, 30, tzinfo=VIETNAM)),
        ("2020-04-13T09:30:00+09:00", datetime(2020, 4, 13, 7, 30, tzinfo=VIETNAM)),
    ],
)
def test_article_date_forms(text: str, expected: datetime) -> None:
    parsed = parse_article_date(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_no_offset_means_vietnam_time() -> None:
    parsed = parse_article_date("2020-04-13T00:30:00")
    assert parsed.utcoffset() == timedelta(hours=7)
    # 00:30 in Hà Nội is still the previous day in UTC.
    assert parsed.astimezone(UTC).day == 12
    assert parse_article_date("13/04/2020").utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("32/01/2020", "does not exist"),
        ("29/02/2021", "does not exist"),
        ("25:00 - 13/04/2020", "does not exist"),
        ("yesterday", "ISO 8601"),
        ("2020/04/13", "ISO 8601"),
        ("13-04-2020", "ISO 8601"),
    ],
)
def test_bad_article_dates_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_article_date(text)


def test_isoformat_is_vietnam_time() -> None:
    stamp = to_timestamp(datetime(2020, 12, 31, 17, 30, tzinfo=UTC))
    assert isoformat(stamp) == "2021-01-01T00:30:00+07:00"
    assert year_of(stamp) == 2021


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2020", datetime(2020, 1, 1), datetime(2020, 12, 31, 23, 59, 59)),
        ("2020-02", datetime(2020, 2, 1), datetime(2020, 2, 29, 23, 59, 59)),
        ("2021-02", datetime(2021, 2, 1), datetime(2021, 2, 28, 23, 59, 59)),
        ("2020-04-13", datetime(2020, 4, 13), datetime(2020, 4, 13, 23, 59, 59)),
    ],
)
def test_range_bounds_are_inclusive_calendar_days_in_vietnam(
    text: str, first: datetime, last: datetime
) -> None:
    assert parse_range_bound(text, end=False) == to_timestamp(first.replace(tzinfo=VIETNAM))
    assert parse_range_bound(text, end=True) == to_timestamp(last.replace(tzinfo=VIETNAM))


@pytest.mark.parametrize(
    "text", ["2020-13", "2020-02-30", "20", "2020-4", "13/04/2020", "abc", "0000", "2020-01-01x"]
)
def test_bad_range_bounds(text: str) -> None:
    with pytest.raises(ValueError, match="date|years"):
        parse_range_bound(text, end=False)
