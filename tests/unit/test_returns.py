"""The return to Business Support, its deadline, reminders on day 3 and 5, the overdue
list, and the daily nag for next term's PEP date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pep_model.access import Actor
from pep_model.errors import NotAllowed
from pep_model.outbox import VIRTUAL_SCHOOL_CHANNEL, OutboxKind
from pep_model.pep import MeetingLink, pep_id_for
from pep_model.returns import FINAL_RECORD, ReturnService, queue_next_date_nags
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


async def held(service: PepService, factory: InMemoryUnitOfWorkFactory, on: date = HELD,
               status: PepStatus = PepStatus.AWAITING_RETURN) -> None:
    pep = await service.open_pep("LCS100001", "2026-autumn")
    pep.status = status
    pep.meeting_held_on = on
    pep.return_due = on + timedelta(days=5)
    await factory.peps.save(pep, pep.version)


async def test_send_moves_to_returned_and_mails_business_support(
        returns: ReturnService, service: PepService, factory: InMemoryUnitOfWorkFactory,
        dt: Actor) -> None:
    await held(service, factory)
    outcome = await returns.send_to_business_support(PEP, dt, "PEP.docx", b"PK final")
    assert outcome.sent and outcome.pep.status is PepStatus.RETURNED
    message = factory.state.outbox[outcome.key]
    assert message.kind is OutboxKind.MAIL and message.payload["to"] == ["bs@northvale.example"]
    assert message.attachments[0].content == b"PK final" and message.requested_by == DT.id
    assert factory.state.documents[("LCS100001", "2026-autumn", FINAL_RECORD)].content == \
        b"PK final"
    assert factory.audit_entries(PEP)[-1].action == "pep.return"
    again = await returns.send_to_business_support(PEP, dt, "PEP.docx", b"PK final")
    assert not again.sent
    assert len([k for k in factory.state.outbox if k.startswith("return:")]) == 1


async def test_only_the_lead_returns(returns: ReturnService, service: PepService,
                                     factory: InMemoryUnitOfWorkFactory, carer: Actor,
                                     other_dt: Actor) -> None:
    await held(service, factory)
    for actor in (carer, other_dt):
        with pytest.raises(NotAllowed):
            await returns.send_to_business_support(PEP, actor, "PEP.docx", b"x")


async def test_reminders_day_3_and_day_5_once_each(
        returns: ReturnService, service: PepService, factory: InMemoryUnitOfWorkFactory,
        clock: FixedClock) -> None:
    await held(service, factory)
    assert await returns.queue_reminders(HELD + timedelta(days=2)) == 0
    assert await returns.queue_reminders(HELD + timedelta(days=3)) == 1
    assert await returns.queue_reminders(HELD + timedelta(days=4)) == 0
    assert await returns.queue_reminders(HELD + timedelta(days=5)) == 1
    keys = sorted(k for k in factory.state.outbox if k.startswith("return-reminder:"))
    assert keys == [f"return-reminder:{PEP}:d3:{DT.id}:mail",
                    f"return-reminder:{PEP}:d3:{DT.id}:teams",
                    f"return-reminder:{PEP}:d5:{DT.id}:mail",
                    f"return-reminder:{PEP}:d5:{DT.id}:teams"]


async def test_after_a_gap_only_the_latest_reminder(
        returns: ReturnService, service: PepService,
        factory: InMemoryUnitOfWorkFactory) -> None:
    await held(service, factory)
    assert await returns.queue_reminders(HELD + timedelta(days=6)) == 1
    assert [k for k in factory.state.outbox if ":d3:" in k] == []


async def test_working_day_reminders(factory: InMemoryUnitOfWorkFactory, calendar,  # type: ignore[no-untyped-def]
                                     clock: FixedClock) -> None:
    service = PepService(factory, calendar, PepRules(return_in_working_days=True), clock)
    returns = ReturnService(service, sender="bs@northvale.example")
    await held(service, factory)
    assert returns.reminder_day(HELD, 3) == date(2026, 11, 18)  # Fri + 3 working days
    assert await returns.queue_reminders(date(2026, 11, 17)) == 0
    assert await returns.queue_reminders(date(2026, 11, 18)) == 1


async def test_overdue_list_for_the_virtual_school(
        returns: ReturnService, service: PepService,
        factory: InMemoryUnitOfWorkFactory) -> None:
    await held(service, factory)
    assert await returns.overdue(HELD + timedelta(days=5)) == []
    [late] = await returns.overdue(HELD + timedelta(days=8))
    assert (late.child_id, late.days_overdue) == ("LCS100001", 3)
    assert await returns.queue_overdue_list(HELD + timedelta(days=8)) == 1
    entry = factory.state.outbox[f"overdue-returns:{(HELD + timedelta(days=8)).isoformat()}"]
    assert entry.payload["target"] == VIRTUAL_SCHOOL_CHANNEL
    assert entry.payload["data"]["rows"][0]["child_id"] == "LCS100001"


async def test_next_date_nag_for_a_meeting_left_open(
        service: PepService, factory: InMemoryUnitOfWorkFactory, clock: FixedClock) -> None:
    await held(service, factory, status=PepStatus.IN_MEETING)
    pep = factory.stored_pep(PEP)
    pep.meeting = MeetingLink(starts_at="2026-11-16T14:00:00+00:00")
    await factory.peps.save(pep, pep.version)
    assert await queue_next_date_nags(service, date(2026, 11, 16)) == 0  # same day
    assert await queue_next_date_nags(service, date(2026, 11, 17)) == 2  # SW and DT
    assert await queue_next_date_nags(service, date(2026, 11, 17)) == 0  # once a day
    targets = {e.payload["target"] for k, e in factory.state.outbox.items()
               if k.startswith("next-date:")}
    assert targets == {f"person:{SW.id}", f"person:{DT.id}"}
