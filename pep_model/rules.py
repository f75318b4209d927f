"""The PEP's rules, each stated once. Cards, forms, the bot and the CLI ask here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from pep_model.child import Child
from pep_model.confirmations import unconfirmed
from pep_model.errors import FieldError
from pep_model.money import format_pence
from pep_model.next_pep import next_pep_date_errors, next_pep_reason_errors
from pep_model.sections import SECTIONS, Content, Stage, section_spec
from pep_model.targets import (
    beyond_next_term,
    smart_target_date_errors,
    smart_target_gaps,
)
from pep_model.targets import number_targets as number_targets
from pep_model.targets import smart_target_errors as smart_target_errors
from pep_model.targets import target_refs as target_refs
from pep_model.terms import Term, TermCalendar, british_date


@dataclass(frozen=True)
class PepRules:
    """An authority's local practice; defaults from domain.md."""

    attendance_threshold: Decimal = Decimal(95)
    pupil_premium_cap_pence: int = 55_000  # per child per term
    pupil_premium_bands_pence: tuple[int, ...] = ()  # e.g. (40_000, 80_000, 150_000)
    return_days: int = 5
    return_in_working_days: bool = False
    transition_window_days: int = 56  # started a new school within this many days
    phase_start_years: tuple[int, ...] = (0, 7, 12)
    transition_alert_school_days: int = 10
    payment_needs_finalised_pep: bool = True
    # Microsoft 365 (docs/m365.md): meetings, term-start packs, the return
    meeting_day_start_hour: int = 8  # earlier starts ask "are you sure?"
    meeting_day_end_hour: int = 18  # later ends ask "are you sure?"
    meeting_minutes: tuple[int, ...] = (30, 45, 60, 90, 120)
    default_meeting_minutes: int = 60
    term_pack_school_days: int = 10  # term-start packs go in the first N school days
    return_reminder_days: tuple[int, ...] = (3, 5)  # days after the meeting
    # quality assurance (quality.QaPolicy.from_rules): the grade scale, best first
    qa_grades: tuple[str, ...] = ("gold", "green", "amber", "red")
    qa_amber_blocks_approval: bool = False  # red always blocks approval; amber if set
    qa_voice_min_words: int = 3  # a shorter child's voice is not substantial
    next_pep_reason_min_words: int = 4  # "Reason no date could be set" says something


@dataclass(frozen=True)
class PepContext:
    """What the rules need to judge one PEP."""

    child: Child
    term: Term
    calendar: TermCalendar
    rules: PepRules
    today: date
    sections: Mapping[str, Content] = field(default_factory=dict)

    def content(self, key: str) -> Content:
        return self.sections.get(key) or {}

    def with_section(self, key: str, content: Content) -> PepContext:
        merged = dict(self.sections)
        merged[key] = content
        return PepContext(self.child, self.term, self.calendar, self.rules, self.today, merged)


# ---- attendance ------------------------------------------------------------------


def attendance_exact(content: Mapping[str, Any]) -> Decimal | None:
    """Sessions attended as a percentage of those possible, unrounded (the threshold is
    judged on this)."""
    possible = content.get("possible_sessions")
    attended = content.get("attended_sessions")
    if not possible or attended is None:
        return None
    return Decimal(attended) * 100 / Decimal(possible)


def attendance_percentage(content: Mapping[str, Any]) -> Decimal | None:
    """The percentage as shown: one decimal place, rounded down, so that a figure below
    the threshold never shows as reaching it (94.95 % shows as 94.9 %)."""
    exact = attendance_exact(content)
    return None if exact is None else exact.quantize(Decimal("0.1"), rounding=ROUND_DOWN)


def attendance_below_threshold(content: Mapping[str, Any], rules: PepRules) -> bool:
    exact = attendance_exact(content)
    return exact is not None and exact < rules.attendance_threshold


def attendance_needs_explanation(content: Mapping[str, Any], rules: PepRules) -> bool:
    return attendance_below_threshold(content, rules) or bool(content.get("unauthorised_sessions"))


# ---- transition ------------------------------------------------------------------


def transition_reasons(child: Child, term: Term, rules: PepRules, today: date) -> list[str]:
    """Why this child is a transition case this term (empty: not one)."""
    reasons = []
    if child.transition_flag:
        reasons.append("flagged as a transition case")
    start = child.school_start_date
    if (
        start is not None
        and -rules.transition_window_days <= (start - today).days <= rules.transition_window_days
    ):
        when = "starts" if start > today else "started"
        reasons.append(f"{when} at a new school or setting on {british_date(start)}")
    if term.season.value == "autumn" and child.year_group.number in rules.phase_start_years:
        reasons.append(f"starting {child.year_group.label}, a new phase")
    return reasons


def is_transition_case(child: Child, term: Term, rules: PepRules, today: date) -> bool:
    return bool(transition_reasons(child, term, rules, today))


# ---- validity: what makes a typed value wrong or inconsistent ----------------------


def check_section(ctx: PepContext, key: str, content: Content) -> list[FieldError]:
    """Values that are wrong or contradict each other; applied on every save (and in
    readiness). What is merely missing is not judged here but by missing_fields, so a
    section can be saved half done. Questions the person confirmed (content
    "confirmed") are not asked again."""
    checker = _CHECKS.get(key)
    return unconfirmed(checker(ctx, content), content) if checker else []


def _check_attendance(ctx: PepContext, c: Content) -> list[FieldError]:
    possible, attended = c.get("possible_sessions"), c.get("attended_sessions")
    unauthorised = c.get("unauthorised_sessions")
    if possible is not None and attended is not None and attended > possible:
        return [
            FieldError(
                "attendance", "attended_sessions", "cannot be more than the possible sessions"
            )
        ]
    if (
        possible is not None
        and attended is not None
        and unauthorised is not None
        and unauthorised > possible - attended
    ):
        return [
            FieldError(
                "attendance", "unauthorised_sessions", "cannot be more than the sessions missed"
            )
        ]
    return []


def _check_exclusions(ctx: PepContext, c: Content) -> list[FieldError]:
    suspensions, days_lost = c.get("suspensions"), c.get("days_lost")
    if suspensions == 0 and days_lost:
        return [
            FieldError(
                "exclusions",
                "days_lost",
                f"is {days_lost}, but 'Suspensions this year' is 0: record the "
                "suspensions, or 0 school days lost",
            )
        ]
    return []


def _check_targets(ctx: PepContext, c: Content) -> list[FieldError]:
    errors = []
    seen: set[str] = set()
    try:
        next_term: Term | None = ctx.calendar.following(ctx.term)
    except ValueError:  # the calendar ends with this term: nothing to compare with
        next_term = None
    for i, row in enumerate(c.get("rows") or []):
        errors.extend(smart_target_date_errors(row, ctx.today, i))
        errors.extend(beyond_next_term(row, next_term, i))
        ref = row.get("ref")
        if ref and ref in seen:
            errors.append(FieldError("targets", "ref", f"{ref} is used twice", i))
        if ref:
            seen.add(ref)
    return errors


def _check_pupil_premium(ctx: PepContext, c: Content) -> list[FieldError]:
    errors = []
    rules = ctx.rules
    refs = {r.upper() for r in target_refs(ctx.content("targets"))}
    total = 0
    for i, row in enumerate(c.get("rows") or []):
        amount = row.get("amount")  # None: missing, which missing_fields reports
        if amount is not None and amount <= 0:
            errors.append(FieldError("pupil_premium", "amount", "must be more than £0", i))
        elif (
            amount is not None
            and rules.pupil_premium_bands_pence
            and amount not in rules.pupil_premium_bands_pence
        ):
            bands = ", ".join(format_pence(b) for b in rules.pupil_premium_bands_pence)
            errors.append(FieldError("pupil_premium", "amount", f"choose a band: {bands}", i))
        elif amount is not None:
            total += amount
        target = str(row.get("target") or "").upper()
        if target and target not in refs:
            known = ", ".join(sorted(refs)) or "none yet"
            errors.append(
                FieldError(
                    "pupil_premium",
                    "target",
                    f"{target} is not a current target (targets: {known})",
                    i,
                )
            )
    if total > rules.pupil_premium_cap_pence:
        errors.append(
            FieldError(
                "pupil_premium",
                "amount",
                f"requests total {format_pence(total)}, over the "
                f"{format_pence(rules.pupil_premium_cap_pence)} a term allowed per child",
            )
        )
    return errors


def next_pep_window(ctx: PepContext) -> Term:
    return ctx.calendar.following(ctx.term)


def _check_next_pep(ctx: PepContext, c: Content) -> list[FieldError]:
    errors = []
    if c.get("date"):
        errors.extend(next_pep_date_errors(date.fromisoformat(c["date"]), ctx.calendar, ctx.term))
    if c.get("reason"):
        errors.extend(next_pep_reason_errors(str(c["reason"]), ctx.rules.next_pep_reason_min_words))
    return errors


_CHECKS = {
    "attendance": _check_attendance,
    "exclusions": _check_exclusions,
    "targets": _check_targets,
    "pupil_premium": _check_pupil_premium,
    "next_pep": _check_next_pep,
}


# ---- completeness: what is still missing -------------------------------------------


def missing_fields(ctx: PepContext, key: str) -> list[FieldError]:
    """What one section still lacks: required fields left empty, too few rows, and the
    gaps that depend on other answers (section_gaps). No format or rule checks."""
    spec = section_spec(key)
    content = ctx.content(key)
    missing = []
    for f in spec.fields:
        if f.required and content.get(f.name) in (None, ""):
            missing.append(FieldError(key, f.name, "not filled in"))
    if spec.is_table and len(content.get("rows") or []) < spec.min_rows:
        missing.append(FieldError(key, "rows", f"add at least {spec.min_rows} {spec.row_noun}"))
    return missing + section_gaps(ctx, key)


def section_gaps(ctx: PepContext, key: str) -> list[FieldError]:
    """Fields a section needs because of its other answers (SEN support needs the needs
    described), and the empty cells of the rows it has."""
    gaps = _GAPS.get(key)
    return gaps(ctx, ctx.content(key)) if gaps else []


def section_problems(ctx: PepContext, key: str) -> list[FieldError]:
    """Everything still wrong with a section as it stands: what is missing, then what
    is wrong."""
    return missing_fields(ctx, key) + check_section(ctx, key, ctx.content(key))


def _send_gaps(ctx: PepContext, c: Content) -> list[FieldError]:
    if c.get("status") not in ("sen_support", "ehcp"):
        return []
    return [
        FieldError("send", name, "describe this for a child with SEN")
        for name in ("needs", "provision")
        if not c.get(name)
    ]


def _attendance_gaps(ctx: PepContext, c: Content) -> list[FieldError]:
    if not attendance_needs_explanation(c, ctx.rules) or c.get("explanation"):
        return []
    why = (
        f"attendance is {attendance_percentage(c)}%, below {ctx.rules.attendance_threshold}%"
        if attendance_below_threshold(c, ctx.rules)
        else "there are unauthorised absences"
    )
    return [FieldError("attendance", "explanation", f"explain this: {why}")]


def _exclusions_gaps(ctx: PepContext, c: Content) -> list[FieldError]:
    if (c.get("suspensions") or c.get("permanent_exclusion")) and not c.get("details"):
        return [
            FieldError(
                "exclusions",
                "details",
                "describe the suspension or exclusion and the support given",
            )
        ]
    return []


def _row_gaps(
    key: str, names: tuple[str, ...], message: str
) -> Callable[[PepContext, Content], list[FieldError]]:
    def gaps(ctx: PepContext, c: Content) -> list[FieldError]:
        return [
            FieldError(key, name, message, i)
            for i, row in enumerate(c.get("rows") or [])
            for name in names
            if not row.get(name)
        ]

    return gaps


def _targets_gaps(ctx: PepContext, c: Content) -> list[FieldError]:
    return [e for i, row in enumerate(c.get("rows") or []) for e in smart_target_gaps(row, i)]


_PUPIL_PREMIUM_PARTS = {
    "amount": "enter the amount",
    "target": "name the current target this serves (e.g. T1)",
    "purpose": "say what it pays for",
    "impact": "say what impact is expected",
}


def _pupil_premium_gaps(ctx: PepContext, c: Content) -> list[FieldError]:
    return [
        FieldError("pupil_premium", name, message, i)
        for i, row in enumerate(c.get("rows") or [])
        for name, message in _PUPIL_PREMIUM_PARTS.items()
        if row.get(name) is None or row.get(name) == ""
    ]


def _transition_gaps(ctx: PepContext, c: Content) -> list[FieldError]:
    if not c.get("plan") and is_transition_case(ctx.child, ctx.term, ctx.rules, ctx.today):
        return [FieldError("transition", "plan", "a transition case needs a transition plan")]
    return []


_GAPS: dict[str, Callable[[PepContext, Content], list[FieldError]]] = {
    "send": _send_gaps,
    "attendance": _attendance_gaps,
    "exclusions": _exclusions_gaps,
    "previous_targets": _row_gaps(
        "previous_targets", ("target", "outcome", "evidence"), "needed to review this target"
    ),
    "targets": _targets_gaps,
    "pupil_premium": _pupil_premium_gaps,
    "transition": _transition_gaps,
    "attendees": _row_gaps("attendees", ("name", "role", "attended"), "needed for each attendee"),
    "actions": _row_gaps("actions", ("action", "owner", "due"), "needed for each action"),
}


def readiness_problems(ctx: PepContext) -> list[FieldError]:
    """Ready for the meeting = complete in full except the meeting record.

    Empty list: ready. Otherwise every missing or wrong field, section by section.
    """
    problems: list[FieldError] = []
    for spec in SECTIONS:
        if spec.stage is not Stage.MEETING:
            problems.extend(section_problems(ctx, spec.key))
    return problems


# Sections before the meeting whose rows are agreed in it: a row begun must be complete
# before the meeting finishes (a save no longer refuses a half-typed one).
ROWS_COMPLETE_TO_FINISH = ("targets", "pupil_premium")


def finish_problems(ctx: PepContext) -> list[FieldError]:
    """The meeting cannot finish without attendees, a summary and next term's date, nor
    with a meeting row, a target or a PP+ request half filled in, nor anything wrong in
    the meeting record."""
    problems: list[FieldError] = []
    if not ctx.content("attendees").get("rows"):
        problems.append(FieldError("attendees", "rows", "record who attended"))
    if not ctx.content("summary").get("summary"):
        problems.append(FieldError("summary", "summary", "write the meeting summary"))
    nxt = ctx.content("next_pep")
    if not nxt.get("date") and not nxt.get("reason"):
        following = next_pep_window(ctx)
        problems.append(
            FieldError(
                "next_pep",
                "date",
                f"set the date of next term's PEP (in the {following.label}) or record why not",
            )
        )
    for key in ("attendees", "actions", "next_pep"):
        problems.extend(section_gaps(ctx, key))
        problems.extend(check_section(ctx, key, ctx.content(key)))
    for key in ROWS_COMPLETE_TO_FINISH:
        problems.extend(section_gaps(ctx, key))
    return problems


def return_deadline(meeting_day: date, calendar: TermCalendar, rules: PepRules) -> date:
    return days_after_meeting(meeting_day, rules.return_days, calendar, rules)


def days_after_meeting(meeting_day: date, n: int, calendar: TermCalendar, rules: PepRules) -> date:
    """The day n days after the meeting, counted as the return deadline is: working days
    or calendar days (PepRules.return_in_working_days)."""
    if rules.return_in_working_days:
        return calendar.add_working_days(meeting_day, n)
    return meeting_day + timedelta(days=n)
