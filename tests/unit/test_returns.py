"""The return to Business Support, its deadline, reminders on day 3 and 5, the overdue
list, and the daily nag for next term's PEP date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from pep_model.access import Actor
from pep_model.errors import NotAllowed
from pep_model.outbox import VIRTUAL_SCHOOL_CHANNEL, OutboxKind
from pep_model.people import Assignment, Person, Role
from pep_model.pep import MeetingLink, pep_id_for
from pep_model.pupil_premium import DecisionKind
from pep_model.quality import QaDecision
from pep_model.returns import (
    FINAL_RECORD,
    FINALISED_RECORD,
    FinalisedFacts,
    NotReturnableYet,
    ReturnService,
    finalised_facts,
    queue_next_date_nags,
)
from pep_model.rules import PepRules
from pep_model.services import PepService
from pep_model.workflow import PepStatus
from tests.unit.conftest import DT, SW
from tests.unit.fakes import FixedClock, InMemoryUnitOfWorkFactory

PEP = pep_id_for("LCS100001", "2026-autumn")
HELD = date(2026, 11, 13)  # a Friday


@pytest.fixture
def returns(service: PepService) -> ReturnService:
    return ReturnService(service, sender="bs@northvale.example")


async def held(
    service: PepService,
    factory: InMemoryUnitOfWorkFactory,
    on: date = HELD,
    status: PepStatus = PepStatus.AWAITING_RETURN,
) -> None:
    pep = await service.open_pep("LCS100001", "2026-autumn")
    pep.status = status
    pep.meeting_held_on = on
    pep.return_due = on + timedelta(days=5)
    pep.sections["next_pep"] = {"date": "2027-01-20", "reason": None}
    await factory.peps.save(pep, pep.version)


async def test_send_moves_to_returned_and_mails_business_support(
    returns: ReturnService, service: PepService, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    await held(service, factory)
    outcome = await returns.send_to_business_support(PEP, dt, "PEP.docx", b"PK final")
    assert outcome.sent and outcome.pep.status is PepStatus.RETURNED
    message = factory.state.outbox[outcome.key]
    assert message.kind is OutboxKind.MAIL and message.payload["to"] == ["bs@northvale.example"]
    assert message.attachments[0].content == b"PK final" and message.requested_by == DT.id
    assert (
        factory.state.documents[("LCS100001", "2026-autumn", FINAL_RECORD)].content == b"PK final"
    )
    assert factory.audit_entries(PEP)[-1].action == "pep.return"
    again = await returns.send_to_business_support(PEP, dt, "PEP.docx", b"PK final")
    assert not again.sent
    assert len([k for k in factory.state.outbox if k.startswith("return:")]) == 1


async def test_only_the_lead_returns(
    returns: ReturnService,
    service: PepService,
    factory: InMemoryUnitOfWorkFactory,
    carer: Actor,
    other_dt: Actor,
) -> None:
    await held(service, factory)
    for actor in (carer, other_dt):
        with pytest.raises(NotAllowed):
            await returns.send_to_business_support(PEP, actor, "PEP.docx", b"x")


async def test_reminders_day_3_and_day_5_once_each(
    returns: ReturnService,
    service: PepService,
    factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    await held(service, factory)
    assert await returns.queue_reminders(HELD + timedelta(days=2)) == 0
    assert await returns.queue_reminders(HELD + timedelta(days=3)) == 1
    assert await returns.queue_reminders(HELD + timedelta(days=4)) == 0
    assert await returns.queue_reminders(HELD + timedelta(days=5)) == 1
    keys = sorted(k for k in factory.state.outbox if k.startswith("return-reminder:"))
    assert keys == [
        f"return-reminder:{PEP}:d3:{DT.id}:mail",
        f"return-reminder:{PEP}:d3:{DT.id}:teams",
        f"return-reminder:{PEP}:d5:{DT.id}:mail",
        f"return-reminder:{PEP}:d5:{DT.id}:teams",
    ]


async def test_after_a_gap_only_the_latest_reminder(
    returns: ReturnService, service: PepService, factory: InMemoryUnitOfWorkFactory
) -> None:
    await held(service, factory)
    assert await returns.queue_reminders(HELD + timedelta(days=6)) == 1
    assert [k for k in factory.state.outbox if ":d3:" in k] == []


async def test_working_day_reminders(
    factory: InMemoryUnitOfWorkFactory,
    calendar,  # type: ignore[no-untyped-def]
    clock: FixedClock,
) -> None:
    service = PepService(factory, calendar, PepRules(return_in_working_days=True), clock)
    returns = ReturnService(service, sender="bs@northvale.example")
    await held(service, factory)
    assert returns.reminder_day(HELD, 3) == date(2026, 11, 18)  # Fri + 3 working days
    assert await returns.queue_reminders(date(2026, 11, 17)) == 0
    assert await returns.queue_reminders(date(2026, 11, 18)) == 1


async def test_overdue_list_for_the_virtual_school(
    returns: ReturnService, service: PepService, factory: InMemoryUnitOfWorkFactory
) -> None:
    await held(service, factory)
    assert await returns.overdue(HELD + timedelta(days=5)) == []
    [late] = await returns.overdue(HELD + timedelta(days=8))
    assert (late.child_id, late.days_overdue) == ("LCS100001", 3)
    assert await returns.queue_overdue_list(HELD + timedelta(days=8)) == 1
    entry = factory.state.outbox[f"overdue-returns:{(HELD + timedelta(days=8)).isoformat()}"]
    assert entry.payload["target"] == VIRTUAL_SCHOOL_CHANNEL
    assert entry.payload["data"]["rows"][0]["child_id"] == "LCS100001"


async def test_next_date_nag_for_a_meeting_left_open(
    service: PepService, factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    await held(service, factory, status=PepStatus.IN_MEETING)
    pep = factory.stored_pep(PEP)
    pep.meeting = MeetingLink(starts_at="2026-11-16T14:00:00+00:00")
    await factory.peps.save(pep, pep.version)
    assert await queue_next_date_nags(service, date(2026, 11, 16)) == 0  # same day
    assert await queue_next_date_nags(service, date(2026, 11, 17)) == 2  # SW and DT
    assert await queue_next_date_nags(service, date(2026, 11, 17)) == 0  # once a day
    targets = {
        e.payload["target"] for k, e in factory.state.outbox.items() if k.startswith("next-date:")
    }
    assert targets == {f"person:{SW.id}", f"person:{DT.id}"}


# ---- returned means returned; finalised means on the record (issue 11) ---------------


@pytest.mark.parametrize(
    "status", [PepStatus.DRAFT, PepStatus.READY_FOR_MEETING, PepStatus.IN_MEETING]
)
async def test_a_pep_before_or_in_its_meeting_is_not_returned(
    returns: ReturnService,
    service: PepService,
    factory: InMemoryUnitOfWorkFactory,
    dt: Actor,
    status: PepStatus,
) -> None:
    pep = await service.open_pep("LCS100001", "2026-autumn")
    pep.status = status
    await factory.peps.save(pep, pep.version)
    with pytest.raises(NotReturnableYet) as refused:
        await returns.send_to_business_support(PEP, dt, "PEP.docx", b"PK")
    message = str(refused.value)
    assert "not happened yet" in message or "not been finished yet" in message
    assert status.value not in message  # the status in people's words only
    assert factory.stored_pep(PEP).status is status
    assert not [k for k in factory.state.outbox if k.startswith("return:")]


async def business_support_in_staff_file(factory: InMemoryUnitOfWorkFactory) -> Person:
    support = Person("business.support@northvale.example", "Business Support")
    async with factory() as uow:
        await uow.people.upsert(support)
        await uow.people.assign(Assignment(support.id, Role.BUSINESS_SUPPORT))
        await uow.commit()
    return support


async def test_without_a_configured_mailbox_the_staff_files_business_support_gets_it(
    service: PepService, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    support = await business_support_in_staff_file(factory)
    returns = ReturnService(service, sender="placeholder@pep-companion.invalid")
    await held(service, factory)
    outcome = await returns.send_to_business_support(PEP, dt, "PEP.docx", b"PK final")
    assert factory.state.outbox[outcome.key].payload["to"] == [support.email]
    configured = ReturnService(
        service, sender="x@northvale.example", business_support="bs-team@northvale.example"
    )
    async with factory() as uow:
        assert await configured.mailboxes(uow) == ["bs-team@northvale.example"]


def test_finalised_facts_say_the_grade_and_each_pp_decision_in_words() -> None:
    at = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    rounds = [
        SimpleNamespace(number=1, decision=QaDecision.RETURN, overall="amber", at=at),
        SimpleNamespace(number=2, decision=QaDecision.APPROVE, overall="green", at=at),
    ]

    def stored(
        index: int,
        amount: int,
        decided: tuple[DecisionKind, int, str] | None,
        withdrawn: bool = False,
    ) -> SimpleNamespace:
        request = SimpleNamespace(purpose=f"purpose {index}", amount_pence=amount)
        decision = (
            None
            if decided is None
            else SimpleNamespace(
                kind=decided[0],
                approved_pence=decided[1],
                requested_pence=amount,
                reason=decided[2],
            )
        )
        return SimpleNamespace(request=request, decision=decision, withdrawn=withdrawn)

    facts = finalised_facts(
        rounds,
        [  # type: ignore[arg-type]
            stored(1, 30000, (DecisionKind.APPROVE, 30000, "")),
            stored(2, 30000, (DecisionKind.APPROVE_AMOUNT, 25000, "the tutor's rate is lower")),
            stored(3, 20000, (DecisionKind.DECLINE, 0, "the school provides one")),
            stored(4, 10000, None),
            stored(5, 10000, None, withdrawn=True),
        ],
        str.capitalize,
    )
    assert facts is not None
    assert (facts.qa_grade, facts.qa_round, facts.finalised_on) == ("Green", 2, date(2026, 11, 20))
    assert [(p.purpose, p.requested, p.decision) for p in facts.pupil_premium] == [
        ("purpose 1", "£300.00", "Approved"),
        ("purpose 2", "£300.00", "Approved £250.00: the tutor's rate is lower"),
        ("purpose 3", "£200.00", "Declined: the school provides one"),
        ("purpose 4", "£100.00", "Not decided yet"),
    ]
    assert finalised_facts(rounds[:1], [], str) is None  # never approved  # type: ignore[arg-type]


async def test_the_finalised_record_goes_to_bs_sw_and_dt_once_per_finalisation(
    returns: ReturnService, service: PepService, factory: InMemoryUnitOfWorkFactory
) -> None:
    support = await business_support_in_staff_file(factory)
    facts = FinalisedFacts(date(2026, 11, 20), "Green", 2, ())
    await held(service, factory)
    assert await returns.send_finalised_record(PEP, "F.docx", b"PK", facts) is None
    await held(service, factory, status=PepStatus.FINALISED)
    key = await returns.send_finalised_record(PEP, "F.docx", b"PK finalised", facts)
    assert key is not None
    message = factory.state.outbox[key]
    assert set(message.payload["to"]) == {support.email, SW.email, DT.email}
    assert "the version to file" in message.payload["subject"]
    assert "QA grade: Green" in message.payload["body_text"]
    assert message.attachments[0].content == b"PK finalised"
    assert (
        factory.state.documents[("LCS100001", "2026-autumn", FINALISED_RECORD)].content
        == b"PK finalised"
    )
    assert await returns.send_finalised_record(PEP, "F.docx", b"PK finalised", facts) == key
    assert len([k for k in factory.state.outbox if k.startswith("finalised:")]) == 1


async def test_a_pep_without_next_terms_date_is_not_returned(
    returns: ReturnService, service: PepService, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    """The meeting record lost its date after Finish (an edit in Teams): the return says
    why it cannot go yet; nothing is mailed and the status stays."""
    await held(service, factory)
    pep = await service.open_pep("LCS100001", "2026-autumn")
    pep.sections["next_pep"] = {"date": None, "reason": None}
    await factory.peps.save(pep, pep.version)
    with pytest.raises(NotReturnableYet) as refused:
        await returns.send_to_business_support(PEP, dt, "PEP.docx", b"PK final")
    assert "Next term's PEP date is missing" in str(refused.value)
    assert factory.state.outbox == {}
    assert (await service.open_pep("LCS100001", "2026-autumn")).status is PepStatus.AWAITING_RETURN
