import datetime as dt

import pytest

from anbi.core.clock import parse_date


@pytest.mark.parametrize("text, date", [("2025-03-01", dt.date(2025, 3, 1)), ("01-03-2025", dt.date(2025, 3, 1)),
                                        ("1-3-2025", dt.date(2025, 3, 1)), (" 2024-02-29 ", dt.date(2024, 2, 29)),
                                        ("1900-01-01", dt.date(1900, 1, 1)), ("31-12-2200", dt.date(2200, 12, 31))])
def test_both_ways_people_write_a_date(text, date):
    assert parse_date(text) == date


@pytest.mark.parametrize("text", ["2025-02-29", "31-02-2025", "2025/03/01", "03-01", "", "tomorrow", "2025-3-1"])
def test_what_is_not_a_date(text):
    with pytest.raises(ValueError, match="is not a date"):
        parse_date(text)


@pytest.mark.parametrize("text", ["9999-12-31", "0001-01-01", "31-12-1899", "01-01-2201"])
def test_a_date_outside_the_years_anbi_counts_is_refused(text):
    """9999-12-31 (another system's "no end") once reached a term's end and ended in a
    traceback (`agreements list`: year 10004 is out of range)."""
    with pytest.raises(ValueError, match="is outside the years 1900 to 2200"):
        parse_date(text)


def test_timestamps_are_bound_as_utc_on_both_databases():
    import datetime as dt

    import pytest
    from sqlalchemy.dialects import postgresql, sqlite

    from anbi.core.db import UTCDateTime

    summer = dt.timezone(dt.timedelta(hours=2))
    for dialect, expected in ((sqlite.dialect(), "2025-06-30 22:30:00.000000"),
                              (postgresql.psycopg.dialect(), dt.datetime(2025, 6, 30, 22, 30, tzinfo=dt.UTC))):
        bind = UTCDateTime()._cached_bind_processor(dialect)
        assert bind(dt.datetime(2025, 7, 1, 0, 30, tzinfo=summer)) == expected
        assert bind(dt.datetime(2025, 6, 30, 22, 30, tzinfo=dt.UTC)) == expected
        assert bind(None) is None
        with pytest.raises(ValueError, match="naive"):
            bind(dt.datetime(2025, 7, 1))  # noqa: DTZ001 - a naive time is what must be refused
