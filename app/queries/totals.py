"""How many articles a date range holds, from the count table instead of the articles.

article_counts (app.models.ArticleCount) holds each UTC day's and month's count by source
and language, kept by triggers. A range [from, to] splits into at most two partial days
at its ends, counted exactly from the articles' (published_at, id) index, and whole days
and months between, summed from article_counts: a few hundred rows at most, however many
articles the range holds. The result is exact. The statement is built once per shape of
split (app.queries.statements).
"""

from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, literal, select, union_all

from app.db import UTCDateTime
from app.models import Article, ArticleCount
from app.queries.statements import built

EVERY_SOURCE = 0  # article_counts.source_id of the rows that sum every source
_EPSILON = timedelta(microseconds=1)

# A part of a split: ("exact", has low, has high) or ("day" | "month", has first, has last).
Part = tuple[str, bool, bool]


@dataclass
class _Split:
    parts: list[Part] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def exact(self, low: datetime | None, high: datetime | None) -> None:
        i = len(self.parts)
        self.parts.append(("exact", low is not None, high is not None))
        self._bind(f"low_{i}", low)
        self._bind(f"high_{i}", high)

    def summed(self, span: str, first: str | None, last: str | None) -> None:
        i = len(self.parts)
        self.parts.append((span, first is not None, last is not None))
        self._bind(f"first_{i}", first)
        self._bind(f"last_{i}", last)

    def _bind(self, name: str, value: object) -> None:
        if value is not None:
            self.params[name] = value


def count_in_range(
    connection: Connection,
    start: datetime | None,
    end: datetime | None,
    source_ids: Sequence[int],
    languages: Sequence[str],
) -> int:
    """Articles published in [start, end] (None: open), of these sources and languages
    (empty: any)."""
    split = _Split()
    start, end = _utc(start), _utc(end)
    try:
        _split(start, end, split)
    except OverflowError:  # a range at the calendar's ends: count it all from the articles
        split = _Split()
        split.exact(start, end)
    sources, langs = bool(source_ids), bool(languages)
    shape = ("totals", tuple(split.parts), sources, langs)
    statement = built(shape, lambda: _statement(split.parts, sources, langs))
    params = dict(split.params)
    if sources:
        params["source_ids"] = list(source_ids)
    if langs:
        params["languages"] = list(languages)
    return int(connection.scalar(statement, params) or 0)


def _statement(parts: list[Part], sources: bool, languages: bool) -> Any:
    selects: list[Any] = []
    for i, (kind, has_low, has_high) in enumerate(parts):
        if kind == "exact":
            where: list[ColumnElement[bool]] = []
            if has_low:
                where.append(Article.published_at >= bindparam(f"low_{i}", type_=UTCDateTime()))
            if has_high:
                where.append(Article.published_at <= bindparam(f"high_{i}", type_=UTCDateTime()))
            if sources:
                where.append(Article.source_id.in_(bindparam("source_ids", expanding=True)))
            if languages:
                where.append(Article.language.in_(bindparam("languages", expanding=True)))
            selects.append(select(func.count().label("n")).select_from(Article).where(*where))
            continue
        where = [
            ArticleCount.span == kind,
            ArticleCount.source_id.in_(bindparam("source_ids", expanding=True))
            if sources
            else ArticleCount.source_id == EVERY_SOURCE,
        ]
        if has_low:
            where.append(ArticleCount.period >= bindparam(f"first_{i}"))
        if has_high:
            where.append(ArticleCount.period <= bindparam(f"last_{i}"))
        if languages:
            where.append(ArticleCount.language.in_(bindparam("languages", expanding=True)))
        total = func.coalesce(func.sum(ArticleCount.articles), literal(0))
        selects.append(select(total.label("n")).where(*where))
    if not selects:
        return select(literal(0))
    return select(func.sum(union_all(*selects).subquery().c.n))


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _split(start: datetime | None, end: datetime | None, split: _Split) -> None:
    """Hand the partial days at the ends to exact counts and the whole days to sums."""
    if start is not None and end is not None and start.date() == end.date():
        split.exact(start, end)  # within one day
        return
    first_day: date | None = None
    if start is not None:
        first_day = start.date()
        if start.time() != time.min:
            split.exact(start, _day_start(first_day + timedelta(days=1)) - _EPSILON)
            first_day += timedelta(days=1)
    last_day: date | None = None
    if end is not None:
        last_day = end.date()
        if end.time() != time.max:
            split.exact(_day_start(last_day), end)
            last_day -= timedelta(days=1)
    if first_day is None or last_day is None or first_day <= last_day:
        _whole_days(first_day, last_day, split)


def _whole_days(first: date | None, last: date | None, split: _Split) -> None:
    """Sum the whole days first..last (None: open) as days at the ragged ends and months
    between."""
    month_first: str | None = None
    if first is not None:
        if first.day == 1:
            month_first = f"{first:%Y-%m}"
        else:
            end_of_month = first.replace(day=monthrange(first.year, first.month)[1])
            if last is not None and last <= end_of_month:
                split.summed("day", f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}")
                return
            split.summed("day", f"{first:%Y-%m-%d}", f"{end_of_month:%Y-%m-%d}")
            following = end_of_month + timedelta(days=1)
            month_first = f"{following:%Y-%m}"
    month_last: str | None = None
    if last is not None:
        if last.day == monthrange(last.year, last.month)[1]:
            month_last = f"{last:%Y-%m}"
        else:
            split.summed("day", f"{last.replace(day=1):%Y-%m-%d}", f"{last:%Y-%m-%d}")
            previous = last.replace(day=1) - timedelta(days=1)
            month_last = f"{previous:%Y-%m}"
    if month_first is None or month_last is None or month_first <= month_last:
        split.summed("month", month_first, month_last)
