"""Builds the application's parts from settings. No globals: one Container per process."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import SystemClock
from bot.settings import Settings
from pep_model.ports import Clock
from pep_model.rules import PepRules
from pep_model.services import PepService
from pep_model.terms import TermCalendar, calendar_from_rows, default_calendar
from store.database import make_engine
from store.unit_of_work import SqlUnitOfWorkFactory


def load_calendar(path: Path | None) -> TermCalendar:
    """PEP_TERM_DATES_FILE: CSV with columns term_id,start,end and optionally
    half_term_start,half_term_end (ISO dates); see pep_model.terms.calendar_from_rows."""
    if path is None:
        return default_calendar()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return calendar_from_rows(list(csv.DictReader(handle)))


def rules_from(settings: Settings) -> PepRules:
    return PepRules(
        attendance_threshold=settings.attendance_threshold,
        pupil_premium_cap_pence=_pence(settings.pupil_premium_cap),
        pupil_premium_bands_pence=tuple(_pence(b) for b in settings.pupil_premium_bands),
        return_days=settings.return_days,
        return_in_working_days=settings.return_in_working_days,
        transition_window_days=settings.transition_window_days,
        transition_alert_school_days=settings.transition_alert_school_days,
        meeting_day_start_hour=settings.meeting_day_start_hour,
        meeting_day_end_hour=settings.meeting_day_end_hour,
        term_pack_school_days=settings.term_pack_school_days,
        return_reminder_days=tuple(settings.return_reminder_days),
        next_pep_reason_min_words=settings.next_pep_reason_min_words,
    )


def _pence(pounds: Decimal) -> int:
    return int((pounds * 100).to_integral_exact())


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    uow: SqlUnitOfWorkFactory
    calendar: TermCalendar
    rules: PepRules
    clock: Clock
    service: PepService

    async def close(self) -> None:
        await self.engine.dispose()


def build_container(settings: Settings, clock: Clock | None = None) -> Container:
    engine = make_engine(settings.database_url)
    uow = SqlUnitOfWorkFactory(engine)
    calendar = load_calendar(settings.term_dates_file)
    rules = rules_from(settings)
    clock = clock or SystemClock()
    return Container(
        settings, engine, uow, calendar, rules, clock, PepService(uow, calendar, rules, clock)
    )
