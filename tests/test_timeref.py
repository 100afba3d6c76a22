"""memkit.timeref.time_windows: the periods a question points to, relative to when it is asked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from memkit.timeref import time_windows

UTC = timezone.utc
# a Wednesday afternoon
NOW = datetime(2023, 5, 17, 15, 0, tzinfo=UTC)


def d(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def one(query: str, now: datetime = NOW) -> tuple[datetime, datetime]:
    windows = time_windows(query, now)
    assert len(windows) == 1, (query, windows)
    return windows[0]


# -- "N units ago": a window around the point, wider with the distance -------------------------------------------
def test_weeks_ago_is_a_window_around_the_point_widening_with_distance():
    start, end = one("What did I mention four weeks ago?")
    point, slack = NOW - timedelta(days=28), timedelta(days=0.2 * 28)
    assert start == point - slack and end == point + slack
    assert end < NOW
    near_start, near_end = one("What did I mention one week ago?")
    assert (end - start) > (near_end - near_start)  # the further back, the wider


def test_days_ago_has_at_least_a_day_and_a_half_of_slack():
    start, end = one("Where did I eat 2 days ago?")
    assert start == NOW - timedelta(days=3.5) and end == NOW - timedelta(days=0.5)


def test_ago_window_never_reaches_past_now():
    start, end = one("What did I buy a day ago?")  # slack 1.5 days would end half a day after now
    assert start == NOW - timedelta(days=2.5)
    assert end == NOW


@pytest.mark.parametrize(("query", "days"), [
    ("What did I cook a couple of days ago?", 2),
    ("I started a course a few weeks ago", 21),
    ("three months back I moved", 3 * 30.4),
    ("10 days earlier I said", 10),
    ("two years ago", 2 * 365.25),
])
def test_number_words_and_synonyms_of_ago(query, days):
    start, end = one(query)
    point = NOW - timedelta(days=days)
    assert start < point < end < NOW
    assert abs(start + (end - start) / 2 - point) < timedelta(seconds=1)  # centred on the point named


# -- "in the past N units": up to now ------------------------------------------------------------------------------
def test_in_the_past_three_months_reaches_up_to_now():
    start, end = one("How many plants did I buy in the past three months?")
    assert end == NOW
    assert start == NOW - timedelta(days=3 * 30.4 + 1)


def test_in_the_last_week_is_one_window_not_also_the_calendar_week():
    start, end = one("What did I read in the last week?")
    assert (start, end) == (NOW - timedelta(days=8), NOW)


def test_over_the_last_2_weeks():
    assert one("over the last 2 weeks") == (NOW - timedelta(days=15), NOW)


# -- "last week/weekend/month/year": the previous calendar period, a day wider on each side -----------------------
def test_last_week_is_the_previous_calendar_week():
    start, end = one("Where did I go last week?")
    # Mon 8 May .. Sun 14 May, a day wider on each side
    assert (start, end) == (d(2023, 5, 7), d(2023, 5, 16))


def test_last_weekend_is_the_previous_saturday_and_sunday():
    start, end = one("What game did I beat last weekend?")
    assert (start, end) == (d(2023, 5, 12), d(2023, 5, 16))
    assert start < d(2023, 5, 13) and d(2023, 5, 14, 23) < end
    assert not start <= d(2023, 5, 10) <= end  # a weekday of that week is outside


def test_last_month_is_the_previous_calendar_month():
    assert one("What certification did I complete last month?") == (d(2023, 3, 31), d(2023, 5, 2))
    # across a year boundary
    assert one("last month", d(2023, 1, 10, 9)) == (d(2022, 11, 30), d(2023, 1, 2))


def test_last_year_is_the_previous_calendar_year():
    assert one("Where did I travel last year?") == (d(2021, 12, 31), d(2023, 1, 2))


# -- "last Tuesday": the most recent such weekday before today ------------------------------------------------------
def test_last_tuesday_on_a_wednesday_is_yesterday():
    start, end = one("Who did I meet for lunch last Tuesday?")
    assert start < d(2023, 5, 16) and d(2023, 5, 16, 23) < end  # Tuesday 16 May
    assert start == d(2023, 5, 15)
    assert not start <= d(2023, 5, 9, 12) <= end  # not the Tuesday before


def test_last_wednesday_on_a_wednesday_is_a_week_ago():
    start, end = one("What did I do last Wednesday?")
    assert start <= d(2023, 5, 10, 12) <= end
    assert end < NOW - timedelta(days=4)


def test_last_thursday_is_six_days_back():
    start, end = one("How much cashback did I earn last Thursday?")
    assert (start, end) == (d(2023, 5, 10), d(2023, 5, 13))


# -- day words ---------------------------------------------------------------------------------------------------
def test_yesterday_and_last_night():
    start, end = one("What did I watch yesterday?")
    assert (start, end) == (d(2023, 5, 15), d(2023, 5, 17))
    assert one("What did I eat last night?") == (start, end)
    # both name the same window: it is listed once
    assert time_windows("yesterday, or last night", NOW) == [(start, end)]


def test_the_day_before_yesterday():
    assert one("What did I buy the day before yesterday?") == (d(2023, 5, 14), d(2023, 5, 16))


# -- named dates: the latest one not after now, or the year given -------------------------------------------------
@pytest.mark.parametrize("query", ["What happened on May 5th?", "on 5 May", "the 5th of May", "on May 5"])
def test_a_day_of_a_month(query):
    assert one(query) == (d(2023, 5, 4), d(2023, 5, 7))


def test_a_day_later_in_the_year_means_last_year():
    assert one("What did I do on June 3rd?") == (d(2022, 6, 2), d(2022, 6, 5))


def test_a_day_with_its_year():
    assert one("on May 5th, 2021") == (d(2021, 5, 4), d(2021, 5, 7))


def test_in_march_is_the_latest_past_march():
    assert one("What did I plant in March?") == (d(2023, 3, 1), d(2023, 4, 1))
    assert one("What did I plant in March?", d(2023, 2, 10)) == (d(2022, 3, 1), d(2022, 4, 1))
    assert one("in early March 2021") == (d(2021, 3, 1), d(2021, 4, 1))


def test_a_month_has_its_calendar_length():
    start, end = one("in February", d(2024, 6, 1))
    assert (start, end) == (d(2024, 2, 1), d(2024, 3, 1))  # a leap year: 29 days
    assert end - start == timedelta(days=29)


def test_iso_dates():
    assert one("What did I say on 2023-03-04?") == (d(2023, 3, 3), d(2023, 3, 6))
    assert one("the 2022/11/30 meeting") == (d(2022, 11, 29), d(2022, 12, 2))
    assert time_windows("on 2023-13-01", NOW) == []  # no 13th month
    assert time_windows("on 2023-02-30", NOW) == []  # no such day


# -- no window ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    "What did I do this week?", "What is on today?", "Where shall we eat tonight?", "What is the name of my cat?",
    "What should I serve this weekend?", "How did this month go?", "", "Can you suggest a hotel in Miami?",
])
def test_no_time_words_no_window(query):
    assert time_windows(query, NOW) == []


def test_several_periods_each_give_a_window_sorted():
    windows = time_windows("Did I run more last week or two months ago?", NOW)
    assert len(windows) == 2
    assert windows == sorted(windows)
    assert windows[0][1] < windows[1][0]  # two months ago ends before last week starts


@pytest.mark.parametrize("query", [
    "four weeks ago", "2 days ago", "a day ago", "in the past three months", "in the last week", "yesterday",
    "the day before yesterday", "last night",
])
def test_windows_of_relative_points_end_by_now(query):
    for start, end in time_windows(query, NOW):
        assert start < end <= NOW


@pytest.mark.parametrize("query", [
    "four weeks ago", "last week", "last weekend", "last month", "last year", "last Tuesday", "last Wednesday",
    "yesterday", "on May 5th", "in March", "on March 4th", "in the past three months",
])
@pytest.mark.parametrize("now", [NOW, d(2023, 5, 15, 10), d(2023, 5, 1, 10), d(2023, 1, 1, 10)])
def test_windows_start_before_now(query, now):
    windows = time_windows(query, now)
    assert windows
    for start, end in windows:
        assert start < end and start < now


# Nothing said before a question comes from after it: every window, calendar ones too, ends by ``now``
# (a window reaching past it would lift notes from the days to come when searching without ``as_of``).
@pytest.mark.parametrize(("query", "now"), [
    ("What did I do last Tuesday?", NOW),
    ("What happened on May 17th?", NOW),
    ("Where did I go last week?", d(2023, 5, 15, 10)),
    ("What did I buy last month?", d(2023, 5, 1, 10)),
])
def test_windows_of_past_points_do_not_reach_past_now(query, now):
    for _start, end in time_windows(query, now):
        assert end <= now
