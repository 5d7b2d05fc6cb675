"""How many articles a date range holds, from the count table instead of the articles.

article_counts (app.models.ArticleCount) holds each UTC day's and month's count by source
and language, kept by triggers. A range [from, to] splits into at most two partial days
at its ends, counted exactly from the articles' (published_at, id) index, and whole days
and months between, summed from article_counts: a few hundred rows at most, however many
articles the range holds. The result is exact.
"""

from calendar import monthrange
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, literal, select, union_all

from app.models import Article, ArticleCount

EVERY_SOURCE = 0  # article_counts.source_id of the rows that sum every source


def count_in_range(
    connection: Connection,
    start: datetime | None,
    end: datetime | None,
    source_ids: Sequence[int],
    languages: Sequence[str],
) -> int:
    """Articles published in [start, end] (None: open), of these sources and languages
    (empty: any)."""
    parts: list[Any] = []

    def exact(low: datetime | None, high: datetime | None) -> None:
        where: list[ColumnElement[bool]] = []
        if low is not None:
            where.append(Article.published_at >= low)
        if high is not None:
            where.append(Article.published_at <= high)
        if source_ids:
            where.append(Article.source_id.in_(source_ids))
        if languages:
            where.append(Article.language.in_(languages))
        parts.append(select(func.count().label("n")).select_from(Article).where(*where))

    def summed(span: str, first: str | None, last: str | None) -> None:
        where = [
            ArticleCount.span == span,
            ArticleCount.source_id.in_(source_ids)
            if source_ids
            else ArticleCount.source_id == EVERY_SOURCE,
        ]
        if first is not None:
            where.append(ArticleCount.period >= first)
        if last is not None:
            where.append(ArticleCount.period <= last)
        if languages:
            where.append(ArticleCount.language.in_(languages))
        total = func.coalesce(func.sum(ArticleCount.articles), literal(0))
        parts.append(select(total.label("n")).where(*where))

    start, end = _utc(start), _utc(end)
    try:
        _split(start, end, exact, summed)
    except OverflowError:  # a range at the calendar's ends: count it all from the articles
        parts.clear()
        exact(start, end)
    statement = select(func.sum(union_all(*parts).subquery().c.n))
    return int(connection.scalar(statement) or 0)


def _split(start: datetime | None, end: datetime | None, exact: Any, summed: Any) -> None:
    """Hand the partial days at the ends to exact() and the whole days to summed()."""
    if start is not None and end is not None and start.date() == end.date():
        exact(start, end)  # within one day
    else:
        first_day: date | None = None
        if start is not None:
            first_day = start.date()
            if start.time() != time.min:
                exact(start, _day_start(first_day + timedelta(days=1)) - _EPSILON)
                first_day += timedelta(days=1)
        last_day: date | None = None
        if end is not None:
            last_day = end.date()
            if end.time() != time.max:
                exact(_day_start(last_day), end)
                last_day -= timedelta(days=1)
        if first_day is None or last_day is None or first_day <= last_day:
            _whole_days(first_day, last_day, summed)


_EPSILON = timedelta(microseconds=1)


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _whole_days(first: date | None, last: date | None, summed: Any) -> None:
    """Sum the whole days first..last (None: open) as days at the ragged ends and months
    between."""
    month_first: str | None = None
    if first is not None:
        if first.day == 1:
            month_first = f"{first:%Y-%m}"
        else:
            end_of_month = first.replace(day=monthrange(first.year, first.month)[1])
            if last is not None and last <= end_of_month:
                summed("day", f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}")
                return
            summed("day", f"{first:%Y-%m-%d}", f"{end_of_month:%Y-%m-%d}")
            following = end_of_month + timedelta(days=1)
            month_first = f"{following:%Y-%m}"
    month_last: str | None = None
    if last is not None:
        if last.day == monthrange(last.year, last.month)[1]:
            month_last = f"{last:%Y-%m}"
        else:
            summed("day", f"{last.replace(day=1):%Y-%m-%d}", f"{last:%Y-%m-%d}")
            previous = last.replace(day=1) - timedelta(days=1)
            month_last = f"{previous:%Y-%m}"
    if month_first is None or month_last is None or month_first <= month_last:
        summed("month", month_first, month_last)
