"""When a question points in time: "four weeks ago", "last month", "in March", "on May 5th", "yesterday".

:func:`time_windows` reads the time expressions of a question, relative to the moment it is
asked, into windows of time ``(start, end)``.  Retrieval uses them to look for notes from then
(and to prefer them), since a question like "What did I mention four weeks ago?" shares few
words or little meaning with its answer.  English only, rule-based, no dependencies.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

__all__ = ["TimeWindow", "time_windows"]

TimeWindow = tuple[datetime, datetime]

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a couple": 2, "couple of": 2,
    "a few": 3, "few": 3, "several": 4,
}
_NUM = r"(\d{1,3}|" + "|".join(sorted((re.escape(k) for k in _NUMBERS), key=len, reverse=True)) + r")"
_UNITS = "weekend|day|week|month|year"
_UNIT = rf"({_UNITS})s?"
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | {
    m.lower(): i for i, m in enumerate(calendar.month_abbr) if m and m != "May"}
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}

_AGO = re.compile(rf"\b{_NUM}\s+{_UNIT}\s+(?:ago|back|earlier|before now)\b", re.I)
_PAST = re.compile(rf"\b(?:in|over|during|within|for)\s+the\s+(?:past|last|previous)\s+(?:{_NUM}\s+)?{_UNIT}\b", re.I)
_LAST = re.compile(rf"\b(last|this|previous|past)\s+({_UNITS}|{'|'.join(_WEEKDAYS)})\b", re.I)
_DAY_WORDS = re.compile(r"\b(yesterday|last night|the day before yesterday)\b", re.I)
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?", re.I)
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b(?:,?\s+(\d{{4}}))?", re.I)
_IN_MONTH = re.compile(rf"\b(?:in|during|since|early|late|mid|around|of)\s+(?:early\s+|late\s+|mid-?)?{_MONTH}"
                       rf"(?:\s+(\d{{4}}))?\b", re.I)
_ISO_DATE = re.compile(r"\b(\d{4})[-/](\d{1,2})[-/](\d{1,2})\b")

_UNIT_DAYS = {"day": 1.0, "week": 7.0, "weekend": 7.0, "month": 30.4, "year": 365.25}


def _number(text: str) -> int:
    t = text.lower().strip()
    return int(t) if t.isdigit() else _NUMBERS.get(t, 1)


def _day(dt: datetime) -> datetime:
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


def _past_date(now: datetime, month: int, day: int | None, year: int | None) -> TimeWindow | None:
    """The month (or day) named, in ``year`` or else the latest one not after ``now``."""
    y = year or now.year
    if year is None and (month, day or 1) > (now.month, now.day):
        y -= 1
    try:
        if day is not None:
            start = now.replace(year=y, month=month, day=day, hour=0, minute=0, second=0, microsecond=0)
            return start - timedelta(days=1), start + timedelta(days=2)
        start = now.replace(year=y, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    except ValueError:
        return None
    return start, start + timedelta(days=calendar.monthrange(y, month)[1])


def _previous(today: datetime, unit: str) -> TimeWindow:
    """The calendar week, weekend, month or year before the current one, a day wider on each side."""
    day = timedelta(days=1)
    if unit == "day":
        return today - 2 * day, today
    if unit in ("week", "weekend"):
        monday = today - timedelta(days=today.weekday() + 7)
        start = monday + 5 * day if unit == "weekend" else monday
        return start - day, monday + 8 * day
    if unit == "month":
        first = today.replace(day=1)
        start = (first - day).replace(day=1)
        return start - day, first + day
    start = today.replace(year=today.year - 1, month=1, day=1)
    return start - day, today.replace(month=1, day=1) + day


def time_windows(query: str, now: datetime) -> list[TimeWindow]:
    """The periods a question refers to, relative to ``now`` (timezone-aware); empty when it names none.

    A point in the past ("four weeks ago") becomes a window around it that widens with the
    distance (people round: "a month ago" may be five weeks), never reaching past ``now``.
    """
    out: list[TimeWindow] = []
    today = _day(now)
    for m in _AGO.finditer(query):
        days = _number(m.group(1)) * _UNIT_DAYS[m.group(2).lower()]
        slack = max(1.5, 0.2 * days)
        centre = now - timedelta(days=days)
        out.append((centre - timedelta(days=slack), min(now, centre + timedelta(days=slack))))
    for m in _PAST.finditer(query):
        n = _number(m.group(1)) if m.group(1) else 1
        out.append((now - timedelta(days=n * _UNIT_DAYS[m.group(2).lower()] + 1), now))
    taken = [m.span() for m in _PAST.finditer(query)]
    for m in _LAST.finditer(query):
        if any(a <= m.start() < b for a, b in taken):
            continue
        which, unit = m.group(1).lower(), m.group(2).lower()
        if unit in _WEEKDAYS:
            back = (today.weekday() - _WEEKDAYS[unit]) % 7 or 7
            if which == "this" and back == 7:
                back = 0
            day = today - timedelta(days=back)
            out.append((day - timedelta(days=1), day + timedelta(days=2)))
        elif which != "this":  # "this weekend" may lie ahead: the present is every note's time anyway
            out.append(_previous(today, unit))
    for m in _DAY_WORDS.finditer(query):
        back = {"yesterday": 1, "last night": 1, "the day before yesterday": 2}[m.group(1).lower()]
        day = today - timedelta(days=back)
        out.append((day - timedelta(days=1), min(now, day + timedelta(days=1))))
    for m in _ISO_DATE.finditer(query):
        w = _past_date(now, int(m.group(2)), int(m.group(3)), int(m.group(1))) if 1 <= int(m.group(2)) <= 12 else None
        if w:
            out.append(w)
    for m in _MONTH_DAY.finditer(query):
        w = _past_date(now, _MONTHS[m.group(1).lower().rstrip(".")], int(m.group(2)),
                       int(m.group(3)) if m.group(3) else None)
        if w:
            out.append(w)
    for m in _DAY_MONTH.finditer(query):
        w = _past_date(now, _MONTHS[m.group(2).lower().rstrip(".")], int(m.group(1)),
                       int(m.group(3)) if m.group(3) else None)
        if w:
            out.append(w)
    if not any(r.search(query) for r in (_MONTH_DAY, _DAY_MONTH)):
        for m in _IN_MONTH.finditer(query):
            w = _past_date(now, _MONTHS[m.group(1).lower().rstrip(".")], None, int(m.group(2)) if m.group(2) else None)
            if w:
                out.append(w)
    # nothing said before the question can come from after it (calendar windows are a day wider each side)
    return sorted({(a, min(b, now)) for a, b in out if a < now})
