"""Cards for Microsoft 365 work: scheduling a PEP meeting (the form, the confirmation
with the join link), the Virtual School's alerts with "I'll attend", the return to
Business Support, and short notices (term packs, reminders, delivery failures).

Cards posted to the Virtual School's channel name the child by LCS id only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from adaptive_cards import card as ac

from cards.elements import (
    COMPACT,
    Action,
    Element,
    british,
    bullets,
    card,
    container,
    error_line,
    execute,
    facts,
    heading,
    sub_card,
    text,
)
from pep_model.child import Child
from pep_model.errors import FieldError
from pep_model.meetings import TZ, ScheduleRequest
from pep_model.overview import OverdueReturn
from pep_model.people import Role
from pep_model.scheduling import SchedulePlan

SCHEDULE_FORM = "pep.schedule.form"
SCHEDULE_SUBMIT = "pep.schedule.submit"
SCHEDULE_CANCEL = "pep.schedule.cancel"
VS_ATTEND = "pep.vs.attend"
RETURN_OPEN = "pep.return.open"
RETURN_SEND = "pep.return.send"

DATE, TIME, DURATION, EXTRA, REASON = "s.date", "s.time", "s.duration", "s.extra", "s.reason"
INVITE = "s.invite."  # + attendee key
CHILD = "child_id"
# an attendee's role (Role.value, or "other" for an address typed in) in words
ROLE_WORDS = {**{r.value: r.label for r in Role}, "other": "Invited by email"}


def when(moment: datetime, minutes: int | None = None) -> str:
    local = moment.astimezone(TZ)
    words = local.strftime("%A %d/%m/%Y at %H:%M")
    return f"{words} ({minutes} minutes)" if minutes else words


# ---- choosing the child --------------------------------------------------------------


def schedule_chooser_card(children: Sequence[Child]) -> dict[str, Any]:
    body: list[Element] = [heading("Schedule a PEP meeting")]
    if not children:
        body.append(text("There are no children on your caseload to schedule for."))
        return card(body)
    body.append(
        ac.InputChoiceSet(
            id=CHILD,
            label="Which child's PEP meeting?",
            style=COMPACT,
            is_required=True,
            error_message="Choose a child",
            placeholder="Choose a child…",
            value=children[0].lcs_id if len(children) == 1 else None,
            choices=[
                ac.InputChoice(
                    title=f"{c.initials} ({c.lcs_id}), {c.year_group.label}", value=c.lcs_id
                )
                for c in children
            ],
        )
    )
    return card(body, [execute("Next", SCHEDULE_FORM, {}, style="positive")])


# ---- the scheduling form -------------------------------------------------------------


def _errors_for(errors: Sequence[FieldError]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for e in errors:
        found.setdefault(e.field, []).append(e.message)
    return found


def _with_errors(element: Element, messages: Sequence[str]) -> list[Element]:
    return [element, *(error_line(m) for m in messages)]


def schedule_form_card(
    plan: SchedulePlan,
    *,
    typed: ScheduleRequest | None = None,
    errors: Sequence[FieldError] = (),
    warnings: Sequence[str] = (),
    notice: str = "",
    minutes_choices: Sequence[int] = (30, 45, 60, 90, 120),
    default_minutes: int = 60,
) -> dict[str, Any]:
    """Date, time, length and who is invited. With errors: each beside its field and the
    typing kept. With warnings: they are shown and "Send anyway" accepts them."""
    child, meeting = plan.child, plan.meeting
    by_field = _errors_for(errors)
    rescheduling = meeting is not None
    local = meeting.starts_at.astimezone(TZ) if meeting else None
    day = typed.day if typed else (local.date().isoformat() if local else "")
    at = typed.at if typed else (local.strftime("%H:%M") if local else "")
    minutes = typed.minutes if typed else str(meeting.minutes if meeting else default_minutes)
    term = plan.term
    body: list[Element] = [
        heading(("Move" if rescheduling else "Schedule") + " the PEP meeting"),
        text(
            f"{child.initials} ({child.lcs_id}), {child.year_group.label}, {plan.school_name}",
            subtle=True,
            spacing="none",
        ),
        text(
            f"{term.label}: {british(term.start)} to {british(term.end)}. You are the "
            "organiser; Microsoft Teams sends the invitations.",
            size="small",
            subtle=True,
        ),
    ]
    if meeting is not None:
        body.append(text(f"Now: {when(meeting.starts_at, meeting.minutes)}", weight="bolder"))
    if notice:
        body.append(container([text(notice)], style="accent"))
    if plan.reasons:
        body.append(
            container(
                [
                    text("The Virtual School will be alerted:", weight="bolder"),
                    *bullets(plan.reasons),
                ],
                style="emphasis",
            )
        )
    body += _with_errors(
        ac.InputDate(id=DATE, label="Date", value=day or None), by_field.get("date", [])
    )
    body += _with_errors(
        ac.InputTime(id=TIME, label="Start time", value=at or None), by_field.get("time", [])
    )
    choices = [ac.InputChoice(title=f"{m} minutes", value=str(m)) for m in minutes_choices]
    body += _with_errors(
        ac.InputChoiceSet(
            id=DURATION, label="Length", style=COMPACT, value=minutes or None, choices=choices
        ),
        by_field.get("duration", []),
    )
    body.append(text("Invite", weight="bolder", spacing="medium"))
    invited = typed.invited if typed else None
    for proposal in plan.proposals:
        a = proposal.attendee
        ticked = (a.key in invited) if invited is not None else proposal.ticked
        role = ROLE_WORDS.get(a.role, a.role)
        note = f", {proposal.note}" if proposal.note else ""
        body.append(
            ac.InputToggle(
                id=INVITE + a.key,
                title=f"{a.name} — {role}{note}",
                value="true" if ticked else "false",
                value_on="true",
                value_off="false",
                wrap=True,
            )
        )
    body += [error_line(m) for m in by_field.get("attendees", [])]
    body += _with_errors(
        ac.InputText(
            id=EXTRA,
            label="Anyone else (email addresses, one per line)",
            is_multiline=True,
            value=(typed.extra if typed else "") or None,
            max_length=2000,
        ),
        by_field.get("extra", []),
    )
    data: dict[str, Any] = {CHILD: child.lcs_id}
    if meeting is not None:
        data["version"] = meeting.version
    actions: list[Action] = []
    if warnings:
        body.append(
            container(
                [text("Please check", weight="bolder", color="warning"), *bullets(warnings)],
                style="warning",
            )
        )
        actions.append(
            execute("Send anyway", SCHEDULE_SUBMIT, {**data, "accept": "true"}, style="positive")
        )
        actions.append(execute("Change it", SCHEDULE_FORM, {CHILD: child.lcs_id}))
    else:
        title = "Move the meeting" if rescheduling else "Send invitations"
        actions.append(execute(title, SCHEDULE_SUBMIT, data, style="positive"))
    if meeting is not None:
        actions.append(
            ac.ActionShowCard(
                title="Cancel the meeting",
                card=sub_card(
                    [
                        ac.InputText(
                            id=REASON,
                            label="Why (goes to everyone invited)",
                            max_length=300,
                            placeholder="For example: the carer is unwell",
                        )
                    ],
                    [
                        execute(
                            "Cancel the meeting",
                            SCHEDULE_CANCEL,
                            {"pep_id": meeting.pep_id, "version": meeting.version},
                            style="destructive",
                        )
                    ],
                ),
            )
        )
    return card(body, actions)


# ---- after scheduling ------------------------------------------------------------------


def meeting_scheduled_card(
    *,
    child_id: str,
    initials: str,
    school: str,
    starts_at: datetime,
    minutes: int,
    attendees: Sequence[str],
    join_url: str,
    sent: bool,
    rescheduled: bool = False,
) -> dict[str, Any]:
    """The confirmation with the join link, or (sent False) "on their way"."""
    what = "moved" if rescheduled else "scheduled"
    if sent:
        title = f"PEP meeting {what}"
        line = (
            "The invitations have been sent."
            if not rescheduled
            else "Everyone invited has been sent the new time."
        )
        style = "good"
    else:
        title = f"PEP meeting {what}: invitations on their way"
        line = (
            "Microsoft 365 has not confirmed yet. I'll message you here with the join "
            "link as soon as the invitations have gone."
        )
        style = "accent"
    body: list[Element] = [
        container([text(title, weight="bolder", size="medium")], style=style),
        facts(
            [
                ("Child", f"{initials} ({child_id})"),
                ("School", school),
                ("When", when(starts_at, minutes)),
                ("Invited", ", ".join(attendees) if attendees else "—"),
            ]
        ),
        text(line),
    ]
    actions: list[Action] = []
    if sent and join_url:
        actions.append(ac.ActionOpenUrl(title="Join the meeting", url=join_url))
    actions.append(execute("Move or cancel", SCHEDULE_FORM, {CHILD: child_id}))
    return card(body, actions)


def meeting_cancelled_card(*, child_id: str, initials: str, starts_at: datetime) -> dict[str, Any]:
    return card(
        [
            container(
                [text("PEP meeting cancelled", weight="bolder", size="medium")], style="attention"
            ),
            text(
                f"The meeting for {initials} ({child_id}) on {when(starts_at)} is "
                "cancelled; everyone invited is told."
            ),
        ],
        [execute("Schedule a new one", SCHEDULE_FORM, {CHILD: child_id})],
    )


# ---- the Virtual School -----------------------------------------------------------------


def virtual_school_alert_card(
    *,
    pep_id: str,
    child_id: str,
    school: str,
    starts_at: datetime,
    minutes: int,
    reasons: Sequence[str],
    join_url: str,
    attending: Sequence[str],
    notice: str = "",
) -> dict[str, Any]:
    body: list[Element] = [
        heading(
            "Transition PEP meeting scheduled"
            if any("complex" not in r for r in reasons)
            else "Complex case PEP meeting scheduled"
        ),
        facts(
            [
                ("Child (LCS id)", child_id),
                ("School", school),
                ("When", when(starts_at, minutes)),
                (
                    "Virtual School",
                    ", ".join(attending) + " attending" if attending else "nobody attending yet",
                ),
            ]
        ),
        text("Why the Virtual School is alerted:", weight="bolder"),
        *bullets(reasons),
    ]
    if notice:
        body.append(container([text(notice)], style="good"))
    actions: list[Action] = [
        execute("I'll attend", VS_ATTEND, {"pep_id": pep_id}, style="positive")
    ]
    if join_url:
        actions.append(ac.ActionOpenUrl(title="Join link", url=join_url))
    return card(body, actions)


def virtual_school_unscheduled_card(
    *, child_id: str, school: str, term_label: str, school_days: int, reasons: Sequence[str]
) -> dict[str, Any]:
    return card(
        [
            heading("No PEP meeting scheduled yet"),
            facts([("Child (LCS id)", child_id), ("School", school), ("Term", term_label)]),
            text(
                f"{school_days} school days into the term, this Virtual School case has no PEP "
                "meeting scheduled. Why it is a Virtual School case:"
            ),
            *bullets(reasons),
        ]
    )


def overdue_returns_card(
    rows: Sequence[OverdueReturn], as_of: date, school_names: Mapping[str, str]
) -> dict[str, Any]:
    body: list[Element] = [heading(f"Overdue PEP returns — {british(as_of)}")]
    if not rows:
        body.append(text("No PEP return is overdue."))
        return card(body)
    body.append(
        text(
            f"{len(rows)} PEP{'s' if len(rows) != 1 else ''} not yet returned to "
            "Business Support after the deadline:",
            subtle=True,
        )
    )
    table = ac.Table(
        columns=[
            ac.TableColumnDefinition(width=2),
            ac.TableColumnDefinition(width=3),
            ac.TableColumnDefinition(width=2),
            ac.TableColumnDefinition(width=1),
        ],
        rows=[
            ac.TableRow(cells=[ac.TableCell(items=[text(v, weight=w)]) for v in cells])
            for w, cells in [("bolder", ("LCS id", "School", "Due", "Days"))]
            + [
                (
                    None,
                    (
                        o.child_id,
                        school_names.get(o.school_urn, o.school_urn),
                        british(o.return_due),
                        str(o.days_overdue),
                    ),
                )
                for o in rows[:60]
            ]
        ],
    )
    body.append(table)
    if len(rows) > 60:
        body.append(text(f"and {len(rows) - 60} more (pep-companion overview --csv).", subtle=True))
    return card(body)


# ---- the return ----------------------------------------------------------------------


def return_card(
    *,
    pep_id: str,
    version: int,
    initials: str,
    child_id: str,
    term_label: str,
    held_on: date | None,
    due: date | None,
    status_label: str,
    returned: bool,
    reminder_day: int | None = None,
    notice: str = "",
    problem: str = "",
) -> dict[str, Any]:
    title = "Return the PEP to Business Support"
    if reminder_day is not None:
        title = f"Reminder: the PEP is due back by {british(due)}" if due else title
    body: list[Element] = [
        heading(title),
        facts(
            [
                ("Child", f"{initials} ({child_id})"),
                ("Term", term_label),
                ("Meeting held", british(held_on) or "—"),
                ("Due back", british(due) or "—"),
                ("Status", status_label),
            ]
        ),
    ]
    if notice:
        body.append(container([text(notice)], style="good"))
    if problem:
        body.append(container([text(problem, color="attention")], style="attention"))
    if returned:
        body.append(text("Returned: Business Support has the final PEP."))
        return card(body)
    body.append(
        text(
            "Sends the final PEP (Word) from the meeting to Business Support, "
            "for quality assurance and Pupil Premium Plus approval.",
            size="small",
            subtle=True,
        )
    )
    return card(
        body,
        [
            execute(
                "Send to Business Support",
                RETURN_SEND,
                {"pep_id": pep_id, "version": version},
                style="positive",
            )
        ],
    )


# ---- short notices -----------------------------------------------------------------------


def term_pack_card(term_label: str, mailbox: str) -> dict[str, Any]:
    return card(
        [
            container(
                [text(f"New-term PEP packs — {term_label}", weight="bolder", size="medium")],
                style="accent",
            ),
            text(
                f"The packs for your looked-after pupils have been emailed to {mailbox}: "
                "for each child the new-term PEP form (Word) and last term's finalised "
                "PEP (PDF). You can also complete the PEP here: type 'my peps'."
            ),
        ]
    )


def delivery_failed_card(what: str, key: str, status: int, error: str) -> dict[str, Any]:
    return card(
        [
            container(
                [
                    text(
                        "Something could not be sent",
                        weight="bolder",
                        size="medium",
                        color="attention",
                    )
                ],
                style="attention",
            ),
            text(f"PEP Companion could not finish {what}."),
            facts([("Microsoft 365 said", f"{status} {error}".strip()), ("Reference", key)]),
            text(
                "Nothing more will be tried for it. If you need it, please do it again "
                "or ask your IT team.",
                size="small",
                subtle=True,
            ),
        ]
    )
