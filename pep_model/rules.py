"""The PEP's rules, each stated once. Cards, forms, the bot and the CLI ask here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pep_model.child import Child
from pep_model.errors import FieldError
from pep_model.money import format_pence
from pep_model.sections import SECTIONS, Content, Stage, section_spec
from pep_model.terms import Term, TermCalendar, british_date


@dataclass(frozen=True)
class PepRules:
    """An authority's local practice; defaults from domain.md."""

    attendance_threshold: Decimal = Decimal(95)
    pupil_premium_cap_pence: int = 55_000           # per child per term
    pupil_premium_bands_pence: tuple[int, ...] = ()  # e.g. (40_000, 80_000, 150_000)
    return_days: int = 5
    return_in_working_days: bool = False
    transition_window_days: int = 56   # started a new school within this many days
    phase_start_years: tuple[int, ...] = (0, 7, 12)
    transition_alert_school_days: int = 10
    payment_needs_finalised_pep: bool = True
    # Microsoft 365 (docs/m365.md): meetings, term-start packs, the return
    meeting_day_start_hour: int = 8    # earlier starts ask "are you sure?"
    meeting_day_end_hour: int = 18     # later ends ask "are you sure?"
    meeting_minutes: tuple[int, ...] = (30, 45, 60, 90, 120)
    default_meeting_minutes: int = 60
    term_pack_school_days: int = 10    # term-start packs go in the first N school days
    return_reminder_days: tuple[int, ...] = (3, 5)  # days after the meeting
    # quality assurance (quality.QaPolicy.from_rules): the grade scale, best first
    qa_grades: tuple[str, ...] = ("gold", "green", "amber", "red")
    qa_amber_blocks_approval: bool = False  # red always blocks approval; amber if set
    qa_voice_min_words: int = 3             # a shorter child's voice is not substantial


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

def attendance_percentage(content: Mapping[str, Any]) -> Decimal | None:
    possible = content.get("possible_sessions")
    attended = content.get("attended_sessions")
    if not possible or attended is None:
        return None
    pct = Decimal(attended) * 100 / Decimal(possible)
    return pct.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def attendance_needs_explanation(content: Mapping[str, Any], rules: PepRules) -> bool:
    pct = attendance_percentage(content)
    low = pct is not None and pct < rules.attendance_threshold
    return low or bool(content.get("unauthorised_sessions"))


# ---- transition ------------------------------------------------------------------

def transition_reasons(child: Child, term: Term, rules: PepRules, today: date) -> list[str]:
    """Why this child is a transition case this term (empty: not one)."""
    reasons = []
    if child.transition_flag:
        reasons.append("flagged as a transition case")
    start = child.school_start_date
    if start is not None and -rules.transition_window_days <= (start - today).days <= \
            rules.transition_window_days:
        when = "starts" if start > today else "started"
        reasons.append(f"{when} at a new school or setting on {british_date(start)}")
    if term.season.value == "autumn" and child.year_group.number in rules.phase_start_years:
        reasons.append(f"starting {child.year_group.label}, a new phase")
    return reasons


def is_transition_case(child: Child, term: Term, rules: PepRules, today: date) -> bool:
    return bool(transition_reasons(child, term, rules, today))


# ---- per-section checks ----------------------------------------------------------

def check_section(ctx: PepContext, key: str, content: Content) -> list[FieldError]:
    """Rules that tie fields together. Applied on every save and in readiness."""
    checker = _CHECKS.get(key)
    return checker(ctx, content) if checker else []


def _check_send(ctx: PepContext, c: Content) -> list[FieldError]:
    errors = []
    if c.get("status") in ("sen_support", "ehcp"):
        for name in ("needs", "provision"):
            if not c.get(name):
                errors.append(FieldError("send", name, "describe this for a child with SEN"))
    return errors


def _check_attendance(ctx: PepContext, c: Content) -> list[FieldError]:
    errors = []
    possible, attended = c.get("possible_sessions"), c.get("attended_sessions")
    unauthorised = c.get("unauthorised_sessions")
    if possible is not None and attended is not None and attended > possible:
        errors.append(FieldError("attendance", "attended_sessions",
                                 "cannot be more than the possible sessions"))
        return errors
    if possible is not None and attended is not None and unauthorised is not None \
            and unauthorised > possible - attended:
        errors.append(FieldError("attendance", "unauthorised_sessions",
                                 "cannot be more than the sessions missed"))
    if attendance_needs_explanation(c, ctx.rules) and not c.get("explanation"):
        pct = attendance_percentage(c)
        why = (f"attendance is {pct}%, below {ctx.rules.attendance_threshold}%"
               if pct is not None and pct < ctx.rules.attendance_threshold
               else "there are unauthorised absences")
        errors.append(FieldError("attendance", "explanation", f"explain this: {why}"))
    return errors


def _check_exclusions(ctx: PepContext, c: Content) -> list[FieldError]:
    if (c.get("suspensions") or c.get("permanent_exclusion")) and not c.get("details"):
        return [FieldError("exclusions", "details",
                           "describe the suspension or exclusion and the support given")]
    return []


def _check_previous(ctx: PepContext, c: Content) -> list[FieldError]:
    errors = []
    for i, row in enumerate(c.get("rows") or []):
        for name in ("target", "outcome", "evidence"):
            if not row.get(name):
                errors.append(FieldError("previous_targets", name,
                                         "needed to review this target", i))
    return errors


def target_refs(targets: Content) -> list[str]:
    return [str(r.get("ref")) for r in targets.get("rows") or [] if r.get("ref")]


def number_targets(content: Content) -> Content:
    """Targets keep their ref; new ones get the next free T-number."""
    rows = [dict(r) for r in content.get("rows") or []]
    used = {str(r["ref"]).upper() for r in rows if r.get("ref")}
    n = 1
    for row in rows:
        if row.get("ref"):
            row["ref"] = str(row["ref"]).upper()
            continue
        while f"T{n}" in used:
            n += 1
        row["ref"] = f"T{n}"
        used.add(row["ref"])
    return {**content, "rows": rows}


def _check_targets(ctx: PepContext, c: Content) -> list[FieldError]:
    errors = []
    seen: set[str] = set()
    for i, row in enumerate(c.get("rows") or []):
        errors.extend(smart_target_errors(row, ctx.today, i))
        ref = row.get("ref")
        if ref and ref in seen:
            errors.append(FieldError("targets", "ref", f"{ref} is used twice", i))
        if ref:
            seen.add(ref)
    return errors


def smart_target_errors(row: Mapping[str, Any], today: date,
                        index: int | None = None) -> list[FieldError]:
    """A SMART target needs a description, an owner, a date in the future and a measure."""
    errors = []
    messages = {"description": "say what the target is",
                "owner": "a SMART target needs someone responsible",
                "measure": "a SMART target needs a measure of progress"}
    for name, message in messages.items():
        if not row.get(name):
            errors.append(FieldError("targets", name, message, index))
    due = row.get("due")
    if not due:
        errors.append(FieldError("targets", "due", "a SMART target needs a date", index))
    elif date.fromisoformat(due) <= today:
        errors.append(FieldError("targets", "due", "the date must be in the future", index))
    return errors


def _check_pupil_premium(ctx: PepContext, c: Content) -> list[FieldError]:
    errors = []
    rules = ctx.rules
    refs = {r.upper() for r in target_refs(ctx.content("targets"))}
    total = 0
    for i, row in enumerate(c.get("rows") or []):
        amount = row.get("amount")
        if amount is None:
            errors.append(FieldError("pupil_premium", "amount", "enter the amount", i))
        elif amount <= 0:
            errors.append(FieldError("pupil_premium", "amount", "must be more than £0", i))
        elif rules.pupil_premium_bands_pence and amount not in rules.pupil_premium_bands_pence:
            bands = ", ".join(format_pence(b) for b in rules.pupil_premium_bands_pence)
            errors.append(FieldError("pupil_premium", "amount", f"choose a band: {bands}", i))
        else:
            total += amount
        target = str(row.get("target") or "").upper()
        if not target:
            errors.append(FieldError("pupil_premium", "target",
                                     "name the current target this serves (e.g. T1)", i))
        elif target not in refs:
            known = ", ".join(sorted(refs)) or "none yet"
            errors.append(FieldError("pupil_premium", "target",
                                     f"{target} is not a current target (targets: {known})", i))
        for name, message in (("purpose", "say what it pays for"),
                              ("impact", "say what impact is expected")):
            if not row.get(name):
                errors.append(FieldError("pupil_premium", name, message, i))
    if total > rules.pupil_premium_cap_pence:
        errors.append(FieldError(
            "pupil_premium", "amount",
            f"requests total {format_pence(total)}, over the "
            f"{format_pence(rules.pupil_premium_cap_pence)} a term allowed per child"))
    return errors


def _check_attendees(ctx: PepContext, c: Content) -> list[FieldError]:
    errors = []
    for i, row in enumerate(c.get("rows") or []):
        for name in ("name", "role", "attended"):
            if not row.get(name):
                errors.append(FieldError("attendees", name, "needed for each attendee", i))
    return errors


def _check_actions(ctx: PepContext, c: Content) -> list[FieldError]:
    errors = []
    for i, row in enumerate(c.get("rows") or []):
        for name in ("action", "owner", "due"):
            if not row.get(name):
                errors.append(FieldError("actions", name, "needed for each action", i))
    return errors


def next_pep_window(ctx: PepContext) -> Term:
    return ctx.calendar.following(ctx.term)


def _check_next_pep(ctx: PepContext, c: Content) -> list[FieldError]:
    when = c.get("date")
    if not when:
        return []
    following = next_pep_window(ctx)
    if not following.contains(date.fromisoformat(when)):
        return [FieldError(
            "next_pep", "date",
            f"next term's PEP must be in the {following.label} "
            f"({british_date(following.start)} to {british_date(following.end)})")]
    return []


_CHECKS = {
    "send": _check_send,
    "attendance": _check_attendance,
    "exclusions": _check_exclusions,
    "previous_targets": _check_previous,
    "targets": _check_targets,
    "pupil_premium": _check_pupil_premium,
    "attendees": _check_attendees,
    "actions": _check_actions,
    "next_pep": _check_next_pep,
}


# ---- completeness ----------------------------------------------------------------

def missing_fields(ctx: PepContext, key: str) -> list[FieldError]:
    """Required fields left empty in one section (no format or rule checks)."""
    spec = section_spec(key)
    content = ctx.content(key)
    missing = []
    for f in spec.fields:
        if f.required and content.get(f.name) in (None, ""):
            missing.append(FieldError(key, f.name, "not filled in"))
    if spec.is_table and len(content.get("rows") or []) < spec.min_rows:
        missing.append(FieldError(key, "rows", f"add at least {spec.min_rows} {spec.row_noun}"))
    if key == "transition" and not content.get("plan") and \
            is_transition_case(ctx.child, ctx.term, ctx.rules, ctx.today):
        missing.append(FieldError(key, "plan", "a transition case needs a transition plan"))
    return missing


def readiness_problems(ctx: PepContext) -> list[FieldError]:
    """Ready for the meeting = complete in full except the meeting record.

    Empty list: ready. Otherwise every missing or wrong field, section by section.
    """
    problems: list[FieldError] = []
    for spec in SECTIONS:
        if spec.stage is Stage.MEETING:
            continue
        problems.extend(missing_fields(ctx, spec.key))
        problems.extend(check_section(ctx, spec.key, ctx.content(spec.key)))
    return problems


def finish_problems(ctx: PepContext) -> list[FieldError]:
    """The meeting cannot finish without attendees, a summary and next term's date."""
    problems: list[FieldError] = []
    if not ctx.content("attendees").get("rows"):
        problems.append(FieldError("attendees", "rows", "record who attended"))
    if not ctx.content("summary").get("summary"):
        problems.append(FieldError("summary", "summary", "write the meeting summary"))
    nxt = ctx.content("next_pep")
    if not nxt.get("date") and not nxt.get("reason"):
        following = next_pep_window(ctx)
        problems.append(FieldError(
            "next_pep", "date",
            f"set the date of next term's PEP (in the {following.label}) or record why not"))
    for key in ("attendees", "actions", "next_pep"):
        problems.extend(check_section(ctx, key, ctx.content(key)))
    return problems


def return_deadline(meeting_day: date, calendar: TermCalendar, rules: PepRules) -> date:
    return days_after_meeting(meeting_day, rules.return_days, calendar, rules)


def days_after_meeting(meeting_day: date, n: int, calendar: TermCalendar,
                       rules: PepRules) -> date:
    """The day n days after the meeting, counted as the return deadline is: working days
    or calendar days (PepRules.return_in_working_days)."""
    if rules.return_in_working_days:
        return calendar.add_working_days(meeting_day, n)
    return meeting_day + timedelta(days=n)
