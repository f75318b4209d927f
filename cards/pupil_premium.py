"""Pupil Premium Plus cards: a request for the link education advisor, the decision, what
the school is told, the advisor's list, and the end-of-term payment schedule for the
Virtual School Head. Rules (cap, bands, finalised PEP) are pep_model's; these cards
show their outcome. Children are named by initials and LCS id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from adaptive_cards import card as ac

from cards.elements import (
    COMPACT,
    Action,
    Element,
    action_set,
    british,
    card,
    container,
    error_line,
    execute,
    facts,
    heading,
    notice_block,
    problems_block,
    sub_card,
    text,
)
from cards.quality import child_line
from pep_model.errors import FieldError, ValidationFailed
from pep_model.m365 import LONDON
from pep_model.money import format_pence, parse_pounds, pounds
from pep_model.pupil_premium import ApprovalRecord, Decision, DecisionKind
from pep_model.pupil_premium_service import PpOutcome, RequestView, ScheduleView

PP_OPEN = "pep.pp.open"
PP_APPROVE = "pep.pp.approve"
PP_APPROVE_AMOUNT = "pep.pp.approve_amount"
PP_DECLINE = "pep.pp.decline"
PP_LIST = "pep.pp.list"
PP_SCHEDULE = "pep.pp.schedule"
PP_EXPORT = "pep.pp.schedule.export"
AMOUNT = "pp.amount"
REASON = "pp.reason"
SECTION = "pupil_premium"
LIST_SHOWN = 25
SCHOOLS_SHOWN = 40


# ---- reading what the card sent ----------------------------------------------------


def decision_from_card_data(verb: str, data: Mapping[str, Any], index: int) -> Decision:
    """The decision the advisor pressed, with the amount and reason typed.
    ValidationFailed (naming the request's row) when the amount cannot be read."""
    reason = data.get(REASON)
    reason = reason.strip() if isinstance(reason, str) else ""
    if verb == PP_APPROVE:
        return Decision(DecisionKind.APPROVE, None, reason)
    if verb == PP_DECLINE:
        return Decision.decline(reason)
    typed = data.get(AMOUNT)
    try:
        amount = parse_pounds(str(typed if typed is not None else ""))
    except ValueError as exc:
        raise ValidationFailed([FieldError(SECTION, "amount", str(exc), index)]) from None
    return Decision.approve_amount(amount, reason)


def version_from_card_data(data: Mapping[str, Any], view: RequestView) -> int:
    """The request version the card was made from. A card from before versions were
    carried is out of date once the request is decided (-1 never matches)."""
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    if isinstance(version, str) and version.isdigit():
        return int(version)
    return view.version if view.decision is None else -1


def _when(at: datetime) -> str:
    local = at.astimezone(ZoneInfo(LONDON))
    return f"{local.strftime('%H:%M')} on {british(local.date())}"


def out_of_date_notice(view: RequestView, actor_id: str) -> str:
    """Why nothing was recorded from an older card, in the advisor's words."""
    decision = view.decision
    if decision is None:
        return (
            "This request changed after your card was made (the school changed it, "
            "or a decision was taken back): nothing was recorded. Here it is as it is "
            "now; decide again below."
        )
    return (
        f"{_already(decision, actor_id)} Your card was older, so nothing was changed "
        "and nobody was told. Change it? Choose again below: these buttons change it "
        "deliberately."
    )


def same_decision_notice(view: RequestView, actor_id: str) -> str:
    """A double click, or the same choice again: nothing changed, nobody told twice."""
    decision = view.decision
    already = _already(decision, actor_id) if decision is not None else ""
    return (
        f"{already} You chose the same again, so nothing changed and nobody was told twice."
    ).strip()


def _already(decision: ApprovalRecord, actor_id: str) -> str:
    who = "you" if decision.decided_by == actor_id else decision.decided_by
    return f"Already decided by {who} at {_when(decision.decided_at)} ({decision_words(decision)})."


def decision_words(record: ApprovalRecord) -> str:
    if record.kind is DecisionKind.DECLINE:
        return "Declined"
    if record.approved_pence != record.requested_pence:
        return (
            f"Approved {format_pence(record.approved_pence)} of the "
            f"{format_pence(record.requested_pence)} requested"
        )
    return f"Approved {format_pence(record.approved_pence)}"


# ---- the advisor's card ------------------------------------------------------------


def _request_facts(view: RequestView) -> list[Element]:
    r = view.request
    target = f"{r.target_ref}: {view.target}" if view.target else (r.target_ref or "—")
    pairs = [
        ("Amount requested", format_pence(r.amount_pence)),
        ("PEP status", view.pep_status.label),
        (
            "Already approved this term",
            f"{format_pence(view.approved_for_child)} of the "
            f"{format_pence(view.policy.per_term_cap_pence)} a term per child",
        ),
    ]
    if view.policy.bands_pence:
        pairs.append(("Bands", ", ".join(format_pence(b) for b in view.policy.bands_pence)))
    return [
        facts(pairs),
        text("What it pays for", weight="bolder", spacing="small"),
        text(r.purpose or "—", spacing="none"),
        text("Target it serves", weight="bolder", spacing="small"),
        text(target, spacing="none"),
        text("Expected impact", weight="bolder", spacing="small"),
        text(r.impact or "—", spacing="none"),
    ]


def _amount_input(view: RequestView, typed: Mapping[str, Any] | None) -> Element:
    requested = view.request.amount_pence
    if typed and AMOUNT in typed:
        value = str(typed.get(AMOUNT) or "")
    elif view.decision is not None and view.decision.approved_pence:
        value = pounds(view.decision.approved_pence)
    else:
        value = pounds(requested)
    bands = view.policy.bands_pence
    if bands and value in {pounds(b) for b in bands}:
        return ac.InputChoiceSet(
            id=AMOUNT,
            label="Amount to approve",
            style=COMPACT,
            value=value,
            choices=[ac.InputChoice(title=format_pence(b), value=pounds(b)) for b in bands],
        )
    return ac.InputText(
        id=AMOUNT,
        label="Amount to approve (£)",
        value=value or None,
        placeholder="In pounds, like 250.00",
        max_length=12,
    )


def pp_request_card(
    view: RequestView,
    *,
    errors: Sequence[FieldError] = (),
    typed: Mapping[str, Any] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """One PP+ request: approve, approve a different amount (with a reason), or decline
    (with a reason). Errors appear beside their input; the typing is kept."""
    r = view.request
    body: list[Element] = [
        heading("Pupil Premium Plus request"),
        text(
            child_line(
                view.child,
                (r.school_name, f"request {r.index + 1} of {max(view.requests_in_pep, 1)}"),
            ),
            subtle=True,
            spacing="none",
        ),
    ]
    body += notice_block(notice)
    body += _request_facts(view)
    if view.waits_for_finalised_pep:
        body.append(
            text(
                "Approved PP+ is paid once the PEP is finalised by quality assurance.",
                size="small",
                color="accent",
            )
        )
    decision = view.decision
    if decision is not None:
        who = (
            f"{decision_words(decision)} by {decision.decided_by} on "
            f"{british(decision.decided_at.date())}"
        )
        body.append(
            container(
                [text(who, weight="bolder"), *([text(decision.reason)] if decision.reason else [])],
                style="good" if decision.approved_pence else "warning",
            )
        )
    if view.paid:
        body.append(
            text("This decision is in an exported payment schedule and is final.", weight="bolder")
        )
        return card(body)
    by_field: dict[str, list[str]] = {}
    for e in errors:
        by_field.setdefault(e.field, []).append(e.message)
    other = [e for e in errors if e.field not in ("amount", "reason")]
    if other:
        body.append(problems_block("Not recorded", other))
    body.append(_amount_input(view, typed))
    body += [error_line(m) for m in by_field.get("amount", [])]
    reason = str((typed or {}).get(REASON) or "")
    body.append(
        ac.InputText(
            id=REASON,
            label="Reason (needed to decline or to approve a different amount)",
            is_multiline=True,
            value=reason or None,
            max_length=1000,
        )
    )
    body += [error_line(m) for m in by_field.get("reason", [])]
    data = {"request_id": r.id, "version": view.version}
    if decision is not None:
        body.append(
            text(
                "You can change this decision until the term's payment schedule is exported.",
                size="small",
                subtle=True,
            )
        )
    actions: list[Action] = [
        execute(f"Approve {format_pence(r.amount_pence)}", PP_APPROVE, data, style="positive"),
        execute("Approve the amount above", PP_APPROVE_AMOUNT, data),
        execute("Decline", PP_DECLINE, data, style="destructive"),
    ]
    return card(body, actions)


def pp_decided_card(outcome: PpOutcome, told: Sequence[str]) -> dict[str, Any]:
    """What the advisor sees once the decision is recorded."""
    record = outcome.record
    body: list[Element] = [
        heading(decision_words(record)),
        text(
            child_line(outcome.view.child, (outcome.view.request.school_name,)),
            subtle=True,
            spacing="none",
        ),
        facts(
            [("Request", record.request_id), ("Paid in the schedule of", record.pays_in_term_id)]
        ),
    ]
    if record.reason:
        body.append(text(record.reason))
    if outcome.view.waits_for_finalised_pep and record.approved_pence:
        body.append(text("It is paid once the PEP is finalised.", size="small", color="accent"))
    body.append(
        text(
            ("The school has been told: " + ", ".join(told))
            if told
            else "Nobody in school could be told in Teams: let them know another way.",
            size="small",
            subtle=True,
        )
    )
    return card(
        body,
        [
            execute("Change this decision", PP_OPEN, {"request_id": record.request_id}),
            execute("My PP+ requests", PP_LIST, {}),
        ],
    )


def pp_outcome_card(outcome: PpOutcome) -> dict[str, Any]:
    """To the school: the advisor's decision on their request."""
    record = outcome.record
    r = outcome.view.request
    body: list[Element] = [
        heading(
            "Pupil Premium Plus: "
            + ("declined" if record.kind is DecisionKind.DECLINE else "approved")
        ),
        text(
            child_line(outcome.view.child, (f"request {r.index + 1}",)), subtle=True, spacing="none"
        ),
        text(
            decision_words(record),
            weight="bolder",
            color="good" if record.approved_pence else "attention",
        ),
        facts([("What it pays for", r.purpose or "—"), ("Target", r.target_ref or "—")]),
    ]
    if record.reason:
        body += [text("Reason", weight="bolder"), text(record.reason, spacing="none")]
    if record.approved_pence:
        when = "once the PEP is finalised, " if outcome.view.waits_for_finalised_pep else ""
        body.append(
            text(
                f"It is paid {when}at the end of term ({record.pays_in_term_id}).",
                size="small",
                subtle=True,
            )
        )
    return card(body)


def pp_pending_card(views: Sequence[RequestView]) -> dict[str, Any]:
    """The requests waiting for this advisor."""
    body: list[Element] = [heading("Pupil Premium Plus: waiting for you")]
    if not views:
        body.append(text("No Pupil Premium Plus request is waiting for your decision."))
        return card(body)
    total = sum(v.request.amount_pence for v in views)
    body.append(
        text(
            f"{len(views)} request{'s' if len(views) != 1 else ''}, {format_pence(total)} in all.",
            subtle=True,
        )
    )
    for v in views[:LIST_SHOWN]:
        body.append(
            ac.ColumnSet(
                separator=True,
                columns=[
                    ac.Column(
                        width="stretch",
                        items=[
                            text(child_line(v.child), weight="bolder"),
                            text(
                                f"{format_pence(v.request.amount_pence)} · {v.request.school_name}",
                                size="small",
                                subtle=True,
                                spacing="none",
                            ),
                        ],
                    ),
                    ac.Column(
                        width="auto",
                        items=[
                            action_set([execute("Open", PP_OPEN, {"request_id": v.request.id})])
                        ],
                    ),
                ],
            )
        )
    if len(views) > LIST_SHOWN:
        body.append(text(f"and {len(views) - LIST_SHOWN} more.", subtle=True))
    return card(body)


# ---- the payment schedule ----------------------------------------------------------------


def schedule_card(view: ScheduleView, *, can_export: bool, notice: str = "") -> dict[str, Any]:
    """The term's PP+ payments per school, the totals, and the export (which freezes)."""
    s = view.schedule
    term_id = view.term.id
    body: list[Element] = [heading(f"PP+ payment schedule — {view.term.label}")]
    body += notice_block(notice)
    if view.frozen is not None:
        body.append(
            text(
                f"Exported and frozen on {british(view.frozen.frozen_at.date())} by "
                f"{view.frozen.frozen_by}. Approvals since then are paid in the "
                "next term's schedule.",
                color="good",
            )
        )
    else:
        body.append(text("Not exported yet: this is how it stands today.", color="warning"))
    children = len({(line.school_urn, line.child_id) for line in s.lines})
    body.append(
        facts(
            [
                ("Schools", str(len(s.schools))),
                ("Children", str(children)),
                ("Requests", str(sum(x.requests for x in s.schools))),
                ("Total to pay", format_pence(s.total_pence)),
                (
                    "Held (PEP not finalised)",
                    f"{format_pence(s.held_pence)}, {len(s.held)} children",
                ),
            ]
        )
    )
    if s.schools:
        body.append(text("By school", weight="bolder", spacing="medium"))
        body.append(
            facts(
                [
                    (f"{x.school_name} ({x.school_urn})", format_pence(x.pence))
                    for x in s.schools[:SCHOOLS_SHOWN]
                ]
            )
        )
        if len(s.schools) > SCHOOLS_SHOWN:
            body.append(
                text(
                    f"and {len(s.schools) - SCHOOLS_SHOWN} more schools: the CSV "
                    "and the document list every school and child.",
                    subtle=True,
                )
            )
    actions: list[Action] = []
    if can_export and view.frozen is None:
        confirm = sub_card(
            [
                text(
                    "Exporting freezes this term's schedule: the files never change after "
                    "this, and approvals made later are paid next term. Approvals whose PEP "
                    "is not finalised pass to next term's schedule.",
                    weight="bolder",
                ),
            ],
            [execute("Export and freeze", PP_EXPORT, {"term_id": term_id}, style="destructive")],
        )
        actions.append(ac.ActionShowCard(title="Export for finance", card=confirm))
    elif can_export:
        actions.append(execute("Send me the files", PP_EXPORT, {"term_id": term_id}))
    actions.append(execute("Refresh", PP_SCHEDULE, {"term_id": term_id}))
    return card(body, actions)
