"""A PEP meeting as the social worker schedules it: when, who is invited, what the
invitation says, and the checks a requested time must pass."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from pep_model.errors import FieldError
from pep_model.m365 import LONDON, Invitee
from pep_model.rules import PepRules
from pep_model.sections import parse_date
from pep_model.terms import Term, TermCalendar, british_date

TZ = ZoneInfo(LONDON)
FORM = "schedule"  # FieldError.section for the scheduling card's fields

_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"']+$")


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class MeetingAttendee:
    email: str
    name: str
    role: str  # a Role value, or "other" for an extra address
    required: bool = True

    @property
    def key(self) -> str:
        return attendee_key(self.email)

    def invitee(self) -> Invitee:
        return Invitee(self.email, self.name, self.required)


def attendee_key(email: str) -> str:
    """A stable short id for an address (card input ids carry it, not the address)."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:10]


@dataclass
class PepMeeting:
    """One PEP's meeting this term. generation counts schedulings after cancellations,
    so a new meeting never reuses the idempotency keys of a cancelled one."""

    pep_id: str
    child_id: str
    term_id: str
    organiser_id: str  # the social worker's person id (email)
    starts_at: datetime
    ends_at: datetime
    attendees: tuple[MeetingAttendee, ...]
    status: MeetingStatus = MeetingStatus.SCHEDULED
    virtual_school_attending: tuple[str, ...] = ()  # person ids
    generation: int = 1
    version: int = 0

    @property
    def sequence(self) -> str:
        return f"meeting:{self.pep_id}"

    @property
    def create_key(self) -> str:
        return self.key("create")

    def key(self, what: str) -> str:
        return f"meeting:{self.pep_id}:g{self.generation}:{what}"

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def live(self) -> bool:
        return self.status is MeetingStatus.SCHEDULED


class MeetingRepository(Protocol):
    async def get(self, pep_id: str) -> PepMeeting | None: ...

    async def add(self, meeting: PepMeeting) -> bool:
        """Insert at version 0, or replace a cancelled meeting (taking its place at
        version 0); False (nothing written) when a scheduled meeting is there."""
        ...

    async def save(self, meeting: PepMeeting, expected_version: int) -> None:
        """Compare-and-swap on the version, like PepRepository.save (StaleVersion)."""
        ...

    async def find(self, term_id: str) -> list[PepMeeting]: ...


# ---- what the invitation says ----------------------------------------------------

DEFAULT_AGENDA = (
    "Welcome and introductions",
    "The child's voice",
    "Attendance, attainment and how school feel the child is doing",
    "Review of last term's SMART targets",
    "This term's SMART targets and Pupil Premium Plus requests",
    "Summary, actions and the date of next term's PEP",
)
PLACEHOLDERS = ("initials", "lcs_id", "school", "term")


@dataclass(frozen=True)
class MeetingWording:
    """Subject and body of the invitation: only what every invitee may see. Templates
    may use {initials}, {lcs_id}, {school} and {term}; never the child's name."""

    subject: str = "{initials} PEP"
    agenda: tuple[str, ...] = DEFAULT_AGENDA
    authority_name: str = ""

    def __post_init__(self) -> None:
        check_template(self.subject)

    def subject_for(self, values: dict[str, str]) -> str:
        return " ".join(self.subject.format(**values).split())

    def body_html(self, values: dict[str, str]) -> str:
        e = html.escape
        items = "".join(f"<li>{e(line)}</li>" for line in self.agenda)
        by = f" for {e(self.authority_name)}" if self.authority_name else ""
        return (
            f"<p>Personal Education Plan meeting{by}, {e(values['term'])}.</p>"
            f"<p>School: {e(values['school'])}</p>"
            f"<p>Agenda:</p><ol>{items}</ol>"
            "<p>The PEP is shown in the meeting chat by PEP Companion. Please do not "
            "forward this invitation.</p>"
        )


def check_template(template: str) -> None:
    try:
        template.format(**dict.fromkeys(PLACEHOLDERS, "x"))
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"the meeting subject {template!r} may only use "
            f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
        ) from exc


# ---- the requested time and people ------------------------------------------------


@dataclass(frozen=True)
class ScheduleRequest:
    """What the scheduling card sent, as typed."""

    child_id: str
    day: str = ""
    at: str = ""
    minutes: str = ""
    invited: frozenset[str] = frozenset()  # attendee keys ticked
    extra: str = ""  # more addresses, comma or line separated
    accept_out_of_hours: bool = False


@dataclass(frozen=True)
class CheckedTime:
    starts_at: datetime | None
    ends_at: datetime | None
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_day(text: str) -> date | None:
    """ISO or dd/mm/yyyy, as a PEP field reads it; None when it is not a date."""
    try:
        return parse_date(text)
    except ValueError:
        return None


def parse_time(text: str) -> time | None:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?::\d{2})?", text.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def check_time(
    request: ScheduleRequest, term: Term, calendar: TermCalendar, rules: PepRules, now: datetime
) -> CheckedTime:
    """Inside the term, not in the past, a known length; outside school hours or on a
    non-school day is a warning the person must accept."""
    errors: list[FieldError] = []
    warnings: list[str] = []
    day = parse_day(request.day) if request.day else None
    at = parse_time(request.at) if request.at else None
    minutes = int(request.minutes) if str(request.minutes).strip().isdigit() else None
    if not request.day:
        errors.append(FieldError(FORM, "date", "choose the date of the meeting"))
    elif day is None:
        errors.append(FieldError(FORM, "date", "enter a date like 24/11/2026"))
    elif not term.contains(day):
        errors.append(
            FieldError(
                FORM,
                "date",
                f"choose a date in the {term.label} "
                f"({british_date(term.start)} to {british_date(term.end)})",
            )
        )
    if not request.at:
        errors.append(FieldError(FORM, "time", "choose the start time"))
    elif at is None:
        errors.append(FieldError(FORM, "time", "enter a time like 14:30"))
    if minutes not in rules.meeting_minutes:
        allowed = ", ".join(str(m) for m in rules.meeting_minutes)
        errors.append(FieldError(FORM, "duration", f"choose a length: {allowed} minutes"))
    if day is None or at is None or minutes is None or errors:
        return CheckedTime(None, None, errors, warnings)
    starts = datetime.combine(day, at, tzinfo=TZ)
    ends = starts + timedelta(minutes=minutes)
    if starts <= now:
        errors.append(
            FieldError(
                FORM,
                "time" if day == now.astimezone(TZ).date() else "date",
                "the meeting must be in the future",
            )
        )
        return CheckedTime(None, None, errors, warnings)
    if not calendar.is_working_day(day):
        what = day.strftime("%A") if day.weekday() >= 5 else "a bank holiday"
        warnings.append(f"{british_date(day)} is {what}, not a school day.")
    end_local = ends.astimezone(TZ)
    late = end_local.date() > day or end_local.time() > time(rules.meeting_day_end_hour)
    if at < time(rules.meeting_day_start_hour) or late:
        warnings.append(
            f"{at.strftime('%H:%M')} to {end_local.strftime('%H:%M')} is outside "
            f"school hours ({rules.meeting_day_start_hour:02d}:00 to "
            f"{rules.meeting_day_end_hour:02d}:00)."
        )
    return CheckedTime(starts, ends, errors, warnings)


def parse_extra(text: str) -> tuple[list[str], list[FieldError]]:
    """Extra addresses: one per line or separated by commas/semicolons."""
    found: list[str] = []
    bad: list[str] = []
    for part in re.split(r"[,;\s]+", text or ""):
        part = part.strip().strip("<>")
        if not part:
            continue
        if _EMAIL.match(part):
            if part.lower() not in (f.lower() for f in found):
                found.append(part)
        else:
            bad.append(part)
    errors = []
    if bad:
        shown = ", ".join(bad[:3]) + (" …" if len(bad) > 3 else "")
        errors.append(FieldError(FORM, "extra", f"not an email address: {shown}"))
    if len(found) > 20:
        errors.append(FieldError(FORM, "extra", "invite at most 20 extra people"))
    return found, errors


def choose_attendees(
    proposed: Sequence[MeetingAttendee],
    invited: frozenset[str],
    extra: Sequence[str],
    organiser_email: str,
) -> tuple[MeetingAttendee, ...]:
    """The ticked proposals and the extra addresses, once each, never the organiser."""
    chosen: dict[str, MeetingAttendee] = {}
    skip = organiser_email.strip().lower()
    for attendee in proposed:
        if attendee.key in invited and attendee.email.lower() != skip:
            chosen.setdefault(attendee.email.lower(), attendee)
    for email in extra:
        if email.lower() != skip:
            chosen.setdefault(email.lower(), MeetingAttendee(email, email, "other"))
    return tuple(chosen.values())
