"""Pupil Premium Plus: requests read from the PEP, the advisor's decision, and the
end-of-term payment schedule. Money is int pence throughout; no floats anywhere."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from pep_model.access import Actor, Capability
from pep_model.child import Child, School
from pep_model.csv_cells import csv_text
from pep_model.errors import FieldError, NotAllowed, ValidationFailed
from pep_model.money import format_pence, pounds
from pep_model.pep import Pep
from pep_model.rules import PepRules
from pep_model.terms import Term, TermCalendar


@dataclass(frozen=True)
class PupilPremiumPolicy:
    """An authority's PP+ rules; defaults from domain.md (Lancashire/Worcestershire)."""

    per_term_cap_pence: int = 55_000  # approved, per child, per PEP term
    bands_pence: tuple[int, ...] = ()  # when set, an approved amount is one of these
    payment_needs_finalised_pep: bool = True

    @classmethod
    def from_rules(cls, rules: PepRules) -> PupilPremiumPolicy:
        return cls(
            rules.pupil_premium_cap_pence,
            rules.pupil_premium_bands_pence,
            rules.payment_needs_finalised_pep,
        )


# ---- requests ----------------------------------------------------------------------


@dataclass(frozen=True)
class PupilPremiumRequest:
    pep_id: str
    child_id: str
    term_id: str  # the PEP's term; the cap counts against it
    school_urn: str
    school_name: str
    index: int  # row of the "pupil_premium" section, from 0
    amount_pence: int
    purpose: str
    target_ref: str
    impact: str
    requested_by: str  # the PEP lead's person id

    @property
    def id(self) -> str:
        return f"{self.pep_id}-pp{self.index + 1}"


def read_requests(pep: Pep, school: School, requested_by: str) -> list[PupilPremiumRequest]:
    """One request per row of the PEP's PP+ section, in row order."""
    return [
        PupilPremiumRequest(
            pep.id,
            pep.child_id,
            pep.term_id,
            school.urn,
            school.name,
            i,
            int(row.get("amount") or 0),
            str(row.get("purpose") or ""),
            str(row.get("target") or "").upper(),
            str(row.get("impact") or ""),
            requested_by,
        )
        for i, row in enumerate(pep.section("pupil_premium").get("rows") or [])
    ]


# ---- decisions ---------------------------------------------------------------------


class DecisionKind(StrEnum):
    APPROVE = "approve"  # the amount requested
    APPROVE_AMOUNT = "approve_amount"  # a different (lower) amount, with a reason
    DECLINE = "decline"  # with a reason


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    amount_pence: int | None = None
    reason: str = ""

    @classmethod
    def approve(cls) -> Decision:
        return cls(DecisionKind.APPROVE)

    @classmethod
    def approve_amount(cls, amount_pence: int, reason: str) -> Decision:
        return cls(DecisionKind.APPROVE_AMOUNT, amount_pence, reason)

    @classmethod
    def decline(cls, reason: str) -> Decision:
        return cls(DecisionKind.DECLINE, None, reason)


@dataclass(frozen=True)
class ApprovalRecord:
    """A decided request. `pays_in_term_id` is the schedule that pays it;
    `held_in_term_ids` the earlier frozen schedules that held it and passed it on."""

    request_id: str
    pep_id: str
    child_id: str
    term_id: str
    school_urn: str
    school_name: str
    requested_pence: int
    approved_pence: int  # 0 when declined
    kind: DecisionKind
    reason: str
    requested_by: str
    decided_by: str
    decided_at: datetime
    pays_in_term_id: str
    held_in_term_ids: tuple[str, ...] = ()


def same_decision(record: ApprovalRecord, decision: Decision) -> bool:
    """Whether `decision` would record what `record` already holds (a double click, or
    the same choice pressed again on an older card): nothing changes, nobody is told
    again."""
    if decision.kind is not record.kind or decision.reason.strip() != record.reason:
        return False
    if decision.kind is DecisionKind.APPROVE_AMOUNT:
        return decision.amount_pence == record.approved_pence
    return True


def can_approve(actor: Actor, child: Child) -> bool:
    return actor.can(Capability.APPROVE_PUPIL_PREMIUM, child)


def decide(
    request: PupilPremiumRequest,
    decision: Decision,
    *,
    decided_by: str,
    decided_at: datetime,
    pays_in_term_id: str,
    policy: PupilPremiumPolicy = PupilPremiumPolicy(),
    others: Iterable[ApprovalRecord] = (),
) -> ApprovalRecord:
    """The advisor's decision on one request, or an error saying what is wrong.

    `others`: decisions already recorded (any child, any term); the cap counts this
    child's approvals for the request's term, not counting an earlier decision on this
    same request (a new decision replaces it). `pays_in_term_id` comes from
    `schedule_term_for`.
    """
    if decided_by == request.requested_by:
        raise NotAllowed("Nobody can decide a Pupil Premium Plus request they made.")
    reason = decision.reason.strip()

    def fail(field: str, message: str) -> ValidationFailed:
        return ValidationFailed([FieldError("pupil_premium", field, message, request.index)])

    if decision.kind is DecisionKind.DECLINE:
        if not reason:
            raise fail("reason", "give a reason for declining")
        amount = 0
    else:
        if decision.kind is DecisionKind.APPROVE:
            amount = request.amount_pence
        else:
            if decision.amount_pence is None:
                raise fail("amount", "enter the amount approved")
            amount = decision.amount_pence
            if amount != request.amount_pence and not reason:
                raise fail("reason", "give a reason for approving a different amount")
        if amount <= 0:
            raise fail("amount", "an approved amount must be more than £0")
        if amount > request.amount_pence:
            raise fail(
                "amount",
                f"cannot approve more than the {format_pence(request.amount_pence)} requested",
            )
        if policy.bands_pence and amount not in policy.bands_pence:
            bands = ", ".join(format_pence(b) for b in policy.bands_pence)
            raise fail("amount", f"approve one of the bands: {bands}")
        already = sum(
            o.approved_pence
            for o in others
            if o.child_id == request.child_id
            and o.term_id == request.term_id
            and o.request_id != request.id
        )
        if already + amount > policy.per_term_cap_pence:
            raise fail(
                "amount",
                f"{format_pence(already)} is already approved for this child "
                f"this term; {format_pence(amount)} more would pass the "
                f"{format_pence(policy.per_term_cap_pence)} cap",
            )
    return ApprovalRecord(
        request.id,
        request.pep_id,
        request.child_id,
        request.term_id,
        request.school_urn,
        request.school_name,
        request.amount_pence,
        amount,
        decision.kind,
        reason,
        request.requested_by,
        decided_by,
        decided_at,
        pays_in_term_id,
    )


# ---- the payment schedule ----------------------------------------------------------


def schedule_term_for(
    decided_at: datetime, term: Term, frozen_at: datetime | None, calendar: TermCalendar
) -> Term:
    """The term whose schedule pays an approval for a PEP of `term`: that term's, unless
    its schedule was frozen before the decision, then the next term's."""
    if frozen_at is not None and decided_at > frozen_at:
        return calendar.following(term)
    return term


@dataclass(frozen=True)
class ScheduleLine:
    school_urn: str
    school_name: str
    child_id: str
    requests: int
    pence: int


@dataclass(frozen=True)
class SchoolTotal:
    school_urn: str
    school_name: str
    requests: int
    pence: int


@dataclass(frozen=True)
class PaymentSchedule:
    term_id: str
    frozen_at: datetime | None
    lines: tuple[ScheduleLine, ...]  # paid, per school then child
    schools: tuple[SchoolTotal, ...]
    total_pence: int
    held: tuple[ScheduleLine, ...]  # approved, not paid: the PEP is not finalised
    held_pence: int
    held_records: tuple[ApprovalRecord, ...]
    late: tuple[ApprovalRecord, ...]  # decided after the freeze: next term's schedule

    def reconciles(self) -> bool:
        return (
            sum(line.pence for line in self.lines)
            == self.total_pence
            == sum(s.pence for s in self.schools)
            and sum(line.pence for line in self.held) == self.held_pence
        )


def _lines(records: list[ApprovalRecord]) -> tuple[ScheduleLine, ...]:
    """Per school and child, ordered by school URN then LCS id; independent of input
    order (each school's name is the one on its first request by id)."""
    records.sort(key=lambda r: (r.school_urn, r.child_id, r.request_id))
    names: dict[str, str] = {}
    sums: dict[tuple[str, str], list[int]] = {}
    for r in records:
        names.setdefault(r.school_urn, r.school_name)
        acc = sums.setdefault((r.school_urn, r.child_id), [0, 0])
        acc[0] += 1
        acc[1] += r.approved_pence
    return tuple(
        ScheduleLine(urn, names[urn], child, n, pence) for (urn, child), (n, pence) in sums.items()
    )


def build_schedule(
    term_id: str,
    approvals: Iterable[ApprovalRecord],
    finalised_pep_ids: set[str],
    frozen_at: datetime | None,
    policy: PupilPremiumPolicy = PupilPremiumPolicy(),
) -> PaymentSchedule:
    """The payments of one term's schedule.

    In: approvals stamped for this term and decided by the freeze. Paid when the PEP is
    finalised (or the policy does not require it), else held; approvals an earlier
    freeze of this term passed on are shown as held. Declines are not listed.
    """
    paid: list[ApprovalRecord] = []
    held: list[ApprovalRecord] = []
    late: list[ApprovalRecord] = []
    for a in approvals:
        if a.approved_pence <= 0:
            continue
        if a.pays_in_term_id == term_id:
            if frozen_at is not None and a.decided_at > frozen_at:
                late.append(a)
            elif policy.payment_needs_finalised_pep and a.pep_id not in finalised_pep_ids:
                held.append(a)
            else:
                paid.append(a)
        elif term_id in a.held_in_term_ids:
            held.append(a)
    lines = _lines(paid)
    schools: dict[str, list[int]] = {}
    school_names: dict[str, str] = {}
    for line in lines:
        school_names.setdefault(line.school_urn, line.school_name)
        acc = schools.setdefault(line.school_urn, [0, 0])
        acc[0] += line.requests
        acc[1] += line.pence
    held_lines = _lines(held)  # sorts `held` too
    late.sort(key=lambda r: r.request_id)
    return PaymentSchedule(
        term_id,
        frozen_at,
        lines,
        tuple(SchoolTotal(urn, school_names[urn], n, p) for urn, (n, p) in schools.items()),
        sum(line.pence for line in lines),
        held_lines,
        sum(line.pence for line in held_lines),
        tuple(held),
        tuple(late),
    )


def carry_forward(schedule: PaymentSchedule, next_term_id: str) -> list[ApprovalRecord]:
    """After the freeze: held and late approvals, re-stamped for the next term's schedule.
    The store saves them in place of the originals; the frozen schedule still shows the
    held ones as held, so exporting it again gives the same bytes."""
    if schedule.frozen_at is None:
        raise ValueError("only a frozen schedule passes approvals on")
    moved = [
        replace(
            a,
            pays_in_term_id=next_term_id,
            held_in_term_ids=(*a.held_in_term_ids, schedule.term_id),
        )
        for a in schedule.held_records
        if a.pays_in_term_id == schedule.term_id
    ]
    moved += [replace(a, pays_in_term_id=next_term_id) for a in schedule.late]
    return moved


SCHEDULE_COLUMNS = (
    "term_id",
    "row_type",
    "school_urn",
    "school_name",
    "lcs_id",
    "requests",
    "amount_gbp",
)


def schedule_csv(schedule: PaymentSchedule) -> str:
    """Rows: each school's payments then its subtotal, the grand total, then held
    approvals and their total. Same schedule, same bytes; every cell escaped by
    csv_text (a school name cannot become a formula)."""
    rows: list[tuple[object, ...]] = [SCHEDULE_COLUMNS]
    t = schedule.term_id
    by_school: dict[str, list[ScheduleLine]] = {}
    for line in schedule.lines:
        by_school.setdefault(line.school_urn, []).append(line)
    for school in schedule.schools:
        for line in by_school[school.school_urn]:
            rows.append(
                (
                    t,
                    "payment",
                    line.school_urn,
                    line.school_name,
                    line.child_id,
                    line.requests,
                    pounds(line.pence),
                )
            )
        rows.append(
            (
                t,
                "school_total",
                school.school_urn,
                school.school_name,
                "",
                school.requests,
                pounds(school.pence),
            )
        )
    rows.append(
        (
            t,
            "total",
            "",
            "",
            "",
            sum(s.requests for s in schedule.schools),
            pounds(schedule.total_pence),
        )
    )
    for line in schedule.held:
        rows.append(
            (
                t,
                "held",
                line.school_urn,
                line.school_name,
                line.child_id,
                line.requests,
                pounds(line.pence),
            )
        )
    rows.append(
        (
            t,
            "held_total",
            "",
            "",
            "",
            sum(h.requests for h in schedule.held),
            pounds(schedule.held_pence),
        )
    )
    return csv_text(rows)
