"""Pupil Premium Plus: reading requests, deciding them, and the payment schedule."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pep_model.access import Actor
from pep_model.child import School
from pep_model.errors import NotAllowed, ValidationFailed
from pep_model.people import Assignment, Person, Role
from pep_model.pep import Pep
from pep_model.pupil_premium import (
    SCHEDULE_COLUMNS,
    ApprovalRecord,
    Decision,
    DecisionKind,
    PupilPremiumPolicy,
    PupilPremiumRequest,
    build_schedule,
    can_approve,
    carry_forward,
    decide,
    pounds,
    read_requests,
    schedule_csv,
    schedule_term_for,
)
from pep_model.rules import PepRules
from pep_model.terms import default_calendar
from tests.unit.builders import make_child

SCHOOL = School("100001", "Northvale Academy")
LEAD = "h.pemberton@northvale.sch.example"
ADVISOR = "e.advisor@council.example"
DECIDED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FROZEN = datetime(2026, 12, 18, 17, 0, tzinfo=UTC)
DEFAULT_POLICY = PupilPremiumPolicy()


def request(
    amount: int = 30_000, index: int = 0, child: str = "LCS100001", term: str = "2026-autumn"
) -> PupilPremiumRequest:
    return PupilPremiumRequest(
        f"{child}-{term}",
        child,
        term,
        SCHOOL.urn,
        SCHOOL.name,
        index,
        amount,
        "Reading tutor",
        "T1",
        "Reading age +6 months",
        LEAD,
    )


def decided(
    req: PupilPremiumRequest,
    decision: Decision | None = None,
    policy: PupilPremiumPolicy = DEFAULT_POLICY,
    others: list[ApprovalRecord] | None = None,
) -> ApprovalRecord:
    return decide(
        req,
        decision or Decision.approve(),
        decided_by=ADVISOR,
        decided_at=DECIDED,
        pays_in_term_id=req.term_id,
        policy=policy,
        others=others or [],
    )


def fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e.field for e in exc.value.errors]


# ---- requests ----------------------------------------------------------------------


def test_requests_are_read_from_the_peps_rows() -> None:
    pep = Pep(
        "LCS100001",
        "2026-autumn",
        sections={
            "pupil_premium": {
                "rows": [
                    {"amount": 30_000, "purpose": "Tutor", "target": "t1", "impact": "Reading"},
                    {"amount": 12_550, "purpose": "Laptop", "target": "T2", "impact": "Homework"},
                ]
            }
        },
    )
    requests = read_requests(pep, SCHOOL, LEAD)
    assert [(r.id, r.amount_pence, r.target_ref, r.index) for r in requests] == [
        ("LCS100001-2026-autumn-pp1", 30_000, "T1", 0),
        ("LCS100001-2026-autumn-pp2", 12_550, "T2", 1),
    ]
    assert requests[0].requested_by == LEAD and requests[0].school_name == SCHOOL.name
    assert read_requests(Pep("LCS1", "2026-autumn"), SCHOOL, LEAD) == []


def test_policy_comes_from_the_authoritys_rules() -> None:
    rules = PepRules(
        pupil_premium_cap_pence=80_000,
        pupil_premium_bands_pence=(40_000,),
        payment_needs_finalised_pep=False,
    )
    assert PupilPremiumPolicy.from_rules(rules) == PupilPremiumPolicy(80_000, (40_000,), False)
    assert PupilPremiumPolicy.from_rules(PepRules()) == PupilPremiumPolicy()


# ---- decisions -----------------------------------------------------------------------


def test_approve_gives_the_amount_requested() -> None:
    record = decided(request(30_000))
    assert (record.approved_pence, record.kind, record.decided_by) == (
        30_000,
        DecisionKind.APPROVE,
        ADVISOR,
    )
    assert record.pays_in_term_id == "2026-autumn"


def test_an_advisor_may_approve_less_with_a_reason_never_more() -> None:
    assert (
        decided(
            request(30_000), Decision.approve_amount(20_000, "Tutor rate is lower")
        ).approved_pence
        == 20_000
    )
    with pytest.raises(ValidationFailed) as no_reason:
        decided(request(30_000), Decision.approve_amount(20_000, " "))
    assert fields(no_reason) == ["reason"]
    with pytest.raises(ValidationFailed, match=r"more than the £300\.00 requested"):
        decided(request(30_000), Decision.approve_amount(30_001, "Costs rose"))
    with pytest.raises(ValidationFailed, match="more than £0"):
        decided(request(30_000), Decision.approve_amount(0, "Nothing"))


def test_declining_needs_a_reason() -> None:
    with pytest.raises(ValidationFailed) as caught:
        decided(request(), Decision.decline(""))
    assert fields(caught) == ["reason"]
    record = decided(request(), Decision.decline("Funded by the school's own budget"))
    assert (record.approved_pence, record.kind) == (0, DecisionKind.DECLINE)


def test_nobody_decides_their_own_request() -> None:
    for decision in (Decision.approve(), Decision.decline("No")):
        with pytest.raises(NotAllowed):
            decide(
                request(),
                decision,
                decided_by=LEAD,
                decided_at=DECIDED,
                pays_in_term_id="2026-autumn",
            )


def test_approvals_for_a_child_in_a_term_stay_within_the_cap() -> None:
    first = decided(request(40_000, index=0))
    with pytest.raises(ValidationFailed, match=r"£400\.00 is already approved.*£550\.00 cap"):
        decided(request(20_000, index=1), others=[first])
    assert decided(request(15_000, index=1), others=[first]).approved_pence == 15_000
    # other children, other terms, declines and this request's own earlier decision: not counted
    unrelated = [
        decided(request(50_000, child="LCS100002")),
        decided(request(50_000, term="2026-summer")),
        decided(request(50_000, index=2), Decision.decline("No")),
    ]
    assert decided(request(55_000, index=1), others=unrelated).approved_pence == 55_000
    redo = decided(request(55_000, index=0), others=[first])
    assert redo.approved_pence == 55_000


def test_over_the_cap_in_one_request_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        decided(request(60_000))
    assert decided(request(60_000), policy=PupilPremiumPolicy(per_term_cap_pence=60_000))


def test_bands_when_configured() -> None:
    bands = PupilPremiumPolicy(per_term_cap_pence=150_000, bands_pence=(40_000, 80_000, 150_000))
    with pytest.raises(ValidationFailed, match=r"£400\.00, £800\.00, £1,500\.00"):
        decided(request(50_000), policy=bands)
    record = decided(request(50_000), Decision.approve_amount(40_000, "Band A"), policy=bands)
    assert record.approved_pence == 40_000


def test_only_an_education_advisor_for_the_child_may_approve() -> None:
    person = Person(ADVISOR, "Ed Advisor")
    advisor = Actor(person, (Assignment(person.id, Role.EDUCATION_ADVISOR),))
    coordinator = Actor(person, (Assignment(person.id, Role.PEP_COORDINATOR),))
    assert can_approve(advisor, make_child())
    assert not can_approve(coordinator, make_child())


# ---- the schedule ----------------------------------------------------------------------


def random_approvals(seed: int, count: int = 1_000) -> list[ApprovalRecord]:
    rnd = random.Random(seed)
    records = []
    for i in range(count):
        urn = f"1{rnd.randrange(40):05d}"
        child = f"LCS{rnd.randrange(400):06d}"
        pence = rnd.randint(1, 55_000)
        approved = rnd.choice([pence, rnd.randint(1, pence), 0])
        records.append(
            ApprovalRecord(
                f"{child}-2026-autumn-pp{i}",
                f"{child}-2026-autumn",
                child,
                "2026-autumn",
                urn,
                f"School {urn}",
                pence,
                approved,
                DecisionKind.DECLINE if not approved else DecisionKind.APPROVE,
                "",
                LEAD,
                ADVISOR,
                DECIDED + timedelta(minutes=i),
                "2026-autumn",
            )
        )
    return records


def test_schedule_totals_reconcile_to_the_penny() -> None:
    approvals = random_approvals(seed=20261116)
    finalised = {a.pep_id for a in approvals if int(a.child_id[3:]) % 3}  # some held
    schedule = build_schedule("2026-autumn", approvals, finalised, None)
    assert schedule.reconciles()
    paid = sum(a.approved_pence for a in approvals if a.pep_id in finalised)
    held = sum(a.approved_pence for a in approvals if a.pep_id not in finalised)
    assert (schedule.total_pence, schedule.held_pence) == (paid, held)
    assert sum(s.pence for s in schedule.schools) == paid
    assert all(isinstance(line.pence, int) for line in schedule.lines)
    assert len({(line.school_urn, line.child_id) for line in schedule.lines}) == len(schedule.lines)
    rows = schedule_csv(schedule).splitlines()
    total_row = next(r for r in rows if ",total," in r)
    assert total_row.endswith("," + pounds(paid))


def test_schedule_export_does_not_depend_on_input_order() -> None:
    approvals = random_approvals(seed=7, count=300)
    finalised = {a.pep_id for a in approvals}
    shuffled = approvals[:]
    random.Random(1).shuffle(shuffled)
    assert schedule_csv(
        build_schedule("2026-autumn", approvals, finalised, FROZEN)
    ) == schedule_csv(build_schedule("2026-autumn", shuffled, finalised, FROZEN))


def test_schedule_csv_layout() -> None:
    a = decided(request(30_000, index=0))
    b = decided(request(12_345, index=1))
    other = replace(
        decided(request(5, child="LCS000009")), school_urn="099999", school_name="=HYPERLINK(1)"
    )
    held = decided(request(40_000, child="LCS100002"))
    schedule = build_schedule("2026-autumn", [a, b, other, held], {a.pep_id, other.pep_id}, None)
    assert schedule_csv(schedule).splitlines() == [
        ",".join(SCHEDULE_COLUMNS),
        "2026-autumn,payment,099999,'=HYPERLINK(1),LCS000009,1,0.05",
        "2026-autumn,school_total,099999,'=HYPERLINK(1),,1,0.05",
        "2026-autumn,payment,100001,Northvale Academy,LCS100001,2,423.45",
        "2026-autumn,school_total,100001,Northvale Academy,,2,423.45",
        "2026-autumn,total,,,,3,423.50",
        "2026-autumn,held,100001,Northvale Academy,LCS100002,1,400.00",
        "2026-autumn,held_total,,,,1,400.00",
    ]


def test_no_finalised_pep_needed_when_the_policy_says_so() -> None:
    a = decided(request(30_000))
    policy = PupilPremiumPolicy(payment_needs_finalised_pep=False)
    schedule = build_schedule("2026-autumn", [a], set(), None, policy)
    assert (schedule.total_pence, schedule.held_pence) == (30_000, 0)


def test_declines_and_other_terms_are_not_on_the_schedule() -> None:
    declined = decided(request(), Decision.decline("No"))
    spring = decided(request(term="2027-spring"))
    schedule = build_schedule(
        "2026-autumn", [declined, spring], {declined.pep_id, spring.pep_id}, None
    )
    assert schedule.lines == () and schedule.total_pence == 0


def test_late_approval_moves_to_the_next_term() -> None:
    calendar = default_calendar()
    autumn = calendar.get("2026-autumn")
    assert schedule_term_for(FROZEN - timedelta(seconds=1), autumn, FROZEN, calendar) == autumn
    assert schedule_term_for(FROZEN, autumn, FROZEN, calendar) == autumn
    assert (
        schedule_term_for(FROZEN + timedelta(seconds=1), autumn, FROZEN, calendar).id
        == "2027-spring"
    )
    assert schedule_term_for(FROZEN + timedelta(days=9), autumn, None, calendar) == autumn


def test_a_frozen_schedule_exports_the_same_bytes_again() -> None:
    approvals = random_approvals(seed=42, count=200)
    finalised = {a.pep_id for a in approvals[:150]}
    frozen = build_schedule("2026-autumn", approvals, finalised, FROZEN)
    exported = schedule_csv(frozen)
    # after the freeze: a late approval stamped (wrongly) for autumn, one stamped properly
    # for spring, and more PEPs finalised
    late = replace(
        approvals[0],
        request_id="late-1",
        decided_at=FROZEN + timedelta(hours=1),
        approved_pence=999,
    )
    spring = replace(late, request_id="late-2", pays_in_term_id="2027-spring")
    moved = carry_forward(frozen, "2027-spring")
    moved_ids = {m.request_id for m in moved}
    after = [a for a in approvals if a.request_id not in moved_ids] + moved + [late, spring]
    again = build_schedule("2026-autumn", after, finalised | {a.pep_id for a in approvals}, FROZEN)
    assert schedule_csv(again) == exported
    assert [a.request_id for a in again.late] == ["late-1"]


def test_held_and_late_approvals_are_paid_next_term() -> None:
    paid = decided(request(10_000, index=0))
    held = decided(request(20_000, child="LCS100002"))
    late = replace(
        decided(request(30_000, child="LCS100003")), decided_at=FROZEN + timedelta(days=1)
    )
    autumn = build_schedule("2026-autumn", [paid, held, late], {paid.pep_id}, FROZEN)
    assert (autumn.total_pence, autumn.held_pence, len(autumn.late)) == (10_000, 20_000, 1)
    moved = carry_forward(autumn, "2027-spring")
    assert {(m.child_id, m.pays_in_term_id, m.held_in_term_ids) for m in moved} == {
        ("LCS100002", "2027-spring", ("2026-autumn",)),
        ("LCS100003", "2027-spring", ()),
    }
    spring = build_schedule(
        "2027-spring", [paid, *moved], {paid.pep_id, held.pep_id, late.pep_id}, None
    )
    assert spring.total_pence == 50_000 and spring.reconciles()
    with pytest.raises(ValueError):
        carry_forward(spring, "2027-summer")


def test_pounds_from_pence_without_floats() -> None:
    assert [pounds(p) for p in (0, 5, 99, 100, 123_456_789)] == [
        "0.00",
        "0.05",
        "0.99",
        "1.00",
        "1234567.89",
    ]
