"""When each job is next due (Europe/London wall clock, weekdays, intervals)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from pep_model.jobs import JOBS, JobSpec, job

LONDON_WINTER = datetime(2026, 11, 16, 7, 30, tzinfo=UTC)  # Monday, GMT


def test_daily_at_a_london_time() -> None:
    spec = JobSpec("x", "x", at=time(8, 0))
    assert spec.next_run(LONDON_WINTER) == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    summer = datetime(2026, 6, 1, 7, 30, tzinfo=UTC)  # 08:30 BST: today's 08:00 is past
    assert spec.next_run(summer) == datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


def test_weekdays_only_skips_the_weekend() -> None:
    spec = JobSpec("x", "x", at=time(8, 0), weekdays_only=True)
    friday_evening = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    assert spec.next_run(friday_evening) == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_every_and_the_list() -> None:
    assert job("outbox_sweep").next_run(LONDON_WINTER) == LONDON_WINTER + timedelta(minutes=1)
    assert len({s.name for s in JOBS}) == len(JOBS)
    with pytest.raises(ValueError):
        JobSpec("bad", "both", at=time(1), every=timedelta(minutes=1))
    with pytest.raises(KeyError):
        job("nope")


def test_weekly_on_a_given_day() -> None:
    from datetime import UTC, datetime

    from pep_model.jobs import WEEKLY_DIGEST, job

    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    due = job(WEEKLY_DIGEST).next_run(wednesday)
    assert (due.weekday(), due.hour, due.minute) == (0, 7, 30)
    assert due.date().isoformat() == "2026-11-30"
    assert job(WEEKLY_DIGEST).next_run(due).date().isoformat() == "2026-12-07"
