"""Everything timed, stated once: which jobs exist and when each is next due.

The job runner (bot/jobs_runner.py, inside `pep-companion serve` and as `pep-companion
jobs run-due` for cron) claims a due job with a lease in the store, so with several
instances running each job runs once per due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

from pep_model.meetings import TZ


@dataclass(frozen=True)
class JobSpec:
    """Either every `every`, or daily at `at` (Europe/London wall clock), optionally on
    weekdays only."""

    name: str
    description: str
    at: time | None = None
    every: timedelta | None = None
    weekdays_only: bool = False
    lease: timedelta = timedelta(minutes=30)
    weekday: int | None = None  # with `at`: only on this day (0 = Monday)

    def __post_init__(self) -> None:
        if (self.at is None) == (self.every is None):
            raise ValueError(f"job {self.name}: give exactly one of at / every")

    def next_run(self, after: datetime) -> datetime:
        """The first due time strictly after `after` (timezone-aware)."""
        if self.every is not None:
            return after + self.every
        assert self.at is not None
        local = after.astimezone(TZ)
        day = local.date()
        for _ in range(8):
            candidate = datetime.combine(day, self.at, tzinfo=TZ)
            if (
                candidate > local
                and not (self.weekdays_only and day.weekday() >= 5)
                and self.weekday in (None, day.weekday())
            ):
                return candidate
            day += timedelta(days=1)
        raise AssertionError("unreachable: a weekday comes within 8 days")


TERM_START = "term_start"
TRANSITION_ALERTS = "transition_alerts"
RETURN_REMINDERS = "return_reminders"
OVERDUE_RETURNS = "overdue_returns"
NEXT_DATE_NAGS = "next_date_nags"
OUTBOX_SWEEP = "outbox_sweep"
WEEKLY_DIGEST = "weekly_digest"
INBOX_IMPORT = "inbox_import"

JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        TERM_START,
        "term-start packs to designated teachers, in the first school "
        "days of each term (resumes where it stopped)",
        at=time(7, 0),
        weekdays_only=True,
        lease=timedelta(hours=1),
    ),
    JobSpec(
        TRANSITION_ALERTS,
        "alert the Virtual School about transition and complex cases with no PEP meeting scheduled",
        at=time(8, 0),
        weekdays_only=True,
    ),
    JobSpec(
        RETURN_REMINDERS,
        "remind the lead on day 3 and day 5 after the meeting",
        at=time(8, 15),
        weekdays_only=True,
    ),
    JobSpec(
        OVERDUE_RETURNS,
        "list overdue returns for the Virtual School",
        at=time(8, 30),
        weekdays_only=True,
    ),
    JobSpec(
        NEXT_DATE_NAGS,
        "ask for next term's PEP date where a meeting ended without it",
        at=time(16, 0),
        weekdays_only=True,
    ),
    JobSpec(
        WEEKLY_DIGEST,
        "the term's overview to the Virtual School Head, Monday mornings",
        at=time(7, 30),
        weekday=0,
    ),
    JobSpec(
        OUTBOX_SWEEP,
        "deliver whatever is due in the outbox (the dispatcher in "
        "`serve` does this continuously; this catches up under cron)",
        every=timedelta(minutes=1),
        lease=timedelta(minutes=10),
    ),
    JobSpec(
        INBOX_IMPORT,
        "save PEP forms e-mailed back into the inbox folder (PEP_INBOX_DIR) and answer each sender",
        every=timedelta(minutes=5),
        lease=timedelta(minutes=15),
    ),
)


def job(name: str) -> JobSpec:
    for spec in JOBS:
        if spec.name == name:
            return spec
    raise KeyError(name)


class JobRepository(Protocol):
    async def ensure(self, name: str, next_run_at: datetime) -> None:
        """Create the job's row if it is missing (first start)."""
        ...

    async def due(self, now: datetime) -> list[str]:
        """Names of jobs due and not leased by anyone."""
        ...

    async def claim(self, name: str, owner: str, now: datetime, lease_until: datetime) -> bool:
        """Take the job if it is due and nobody holds it (one conditional UPDATE)."""
        ...

    async def finish(
        self, name: str, owner: str, now: datetime, next_run_at: datetime, outcome: str
    ) -> bool:
        """Record the run and when it is next due; release the lease."""
        ...
