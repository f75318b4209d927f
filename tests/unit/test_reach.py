"""Who is told, and how: the route rule (pep_model/reach.py) and the bot's Reach, which
looks people up, installs the app for them, and falls back to e-mail through the
outbox — a notice never reaches nobody without Business Support hearing of it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.reach import Reach, card_words, notice_for
from pep_model.m365 import DeliveryError
from pep_model.outbox import OutboxEntry, OutboxKind, OutboxStatus
from pep_model.people import Person
from pep_model.reach import (
    Notice,
    Route,
    after_lookup,
    mail_key,
    outbox_rows,
    route,
    unposted_rows,
    usable_address,
)
from tests.unit.fakes import FixedClock, InMemoryUnitOfWorkFactory

SENDER = "pep.business-support@northvale.example"
SUPPORT = ("pep.business-support@northvale.example",)
LUCY = Person("lucy.harrowby@northvale.example", "Lucy Harrowby")
KNOWN = Person("gwen.talbot-price@northvale.example", "Gwen Talbot-Price", "aad-gwen")
NO_ADDRESS = Person("not an address", "Pat Nobody")
NOTICE = Notice(
    "QA card:PEP-1:abc",
    "PEP Companion: a PEP is waiting for your quality check",
    "PEP for AF, autumn term 2026, is waiting.",
    "PEP-1",
)
CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "Quality assurance: AF"},
        {"type": "FactSet", "facts": [{"title": "Term", "value": "Autumn 2026"}]},
        {"type": "Input.Text", "id": "feedback", "label": "Feedback"},
        {"type": "Container", "items": [{"type": "TextBlock", "text": "Grade each section."}]},
    ],
    "actions": [{"type": "Action.Execute", "title": "Approve", "verb": "qa.approve"}],
}


# ---- the rule ------------------------------------------------------------------------


def test_a_person_with_a_teams_id_is_told_in_teams_with_or_without_a_tenant() -> None:
    assert route(KNOWN, tenant=True) is Route.TEAMS
    assert route(KNOWN, tenant=False) is Route.TEAMS


def test_without_an_id_a_tenant_looks_them_up_and_no_tenant_means_email() -> None:
    assert route(LUCY, tenant=True) is Route.RESOLVE_THEN_TEAMS
    assert route(LUCY, tenant=False) is Route.EMAIL


def test_without_an_id_or_an_address_nobody_can_be_told() -> None:
    assert route(NO_ADDRESS, tenant=True) is Route.NOBODY
    assert route(NO_ADDRESS, tenant=False) is Route.NOBODY
    assert not usable_address("lucy@localhost") and not usable_address("a b@x.org")
    assert usable_address(" lucy.harrowby@northvale.example ")


def test_after_the_lookup_only_a_found_and_installed_person_is_told_in_teams() -> None:
    assert after_lookup(LUCY, "oid-1", installed=True) is Route.TEAMS
    assert after_lookup(LUCY, "oid-1", installed=False) is Route.EMAIL
    assert after_lookup(LUCY, None, installed=False) is Route.EMAIL
    assert after_lookup(NO_ADDRESS, None, installed=False) is Route.NOBODY


def test_email_route_queues_the_notice_to_the_person() -> None:
    [row] = outbox_rows(LUCY, NOTICE, Route.EMAIL, sender=SENDER, business_support=SUPPORT)
    assert row.kind is OutboxKind.MAIL and row.key == mail_key(NOTICE, LUCY)
    assert row.payload["to"] == [LUCY.email] and row.payload["sender"] == SENDER
    assert row.payload["subject"] == NOTICE.subject
    assert NOTICE.body in row.payload["body_text"]
    assert "could not reach you in Microsoft Teams" in row.payload["body_text"]
    assert row.pep_id == "PEP-1"


def test_nobody_route_tells_business_support_who_was_not_told_and_what() -> None:
    [row] = outbox_rows(NO_ADDRESS, NOTICE, Route.NOBODY, sender=SENDER, business_support=SUPPORT)
    assert row.payload["to"] == list(SUPPORT)
    assert "Pat Nobody" in row.payload["body_text"]
    assert "waiting for your quality check" in row.payload["subject"]
    assert row.key.startswith("unreached:")


def test_teams_routes_write_nothing_to_the_outbox() -> None:
    for way in (Route.TEAMS, Route.RESOLVE_THEN_TEAMS):
        assert outbox_rows(LUCY, NOTICE, way, sender=SENDER, business_support=SUPPORT) == []


def test_the_email_is_the_cards_words_without_its_inputs_or_buttons() -> None:
    assert card_words(CARD) == ["Quality assurance: AF", "Term: Autumn 2026", "Grade each section."]
    notice = notice_for(CARD, "QA card", "PEP-1", "PEP-1")
    assert notice.subject == "PEP Companion: a PEP is waiting for your quality check"
    assert notice_for(CARD, "QA card", "PEP-1", "PEP-1").key == notice.key
    changed = {**CARD, "body": [{"type": "TextBlock", "text": "Round 1"}]}
    assert notice_for(changed, "QA card", "PEP-1", "PEP-1").key != notice.key


# ---- the bot's Reach -----------------------------------------------------------------


class Directory:
    def __init__(self, ids: dict[str, str], fail: DeliveryError | None = None) -> None:
        self.ids = ids
        self.fail = fail
        self.asked: list[str] = []

    async def object_id_for(self, email: str) -> str | None:
        self.asked.append(email)
        if self.fail is not None:
            raise self.fail
        return self.ids.get(email)


class Apps:
    def __init__(self, refuse: DeliveryError | None = None) -> None:
        self.refuse = refuse
        self.installed: list[str] = []

    async def install_for_user(self, user_id: str) -> str | None:
        if self.refuse is not None:
            raise self.refuse
        self.installed.append(user_id)
        return f"19:{user_id}_app@unq.gbl.spaces"


def reach(
    factory: InMemoryUnitOfWorkFactory, directory: Directory | None = None, apps: Apps | None = None
) -> Reach:
    return Reach(factory, FixedClock(), SENDER, SUPPORT, directory=directory, apps=apps)


async def queued(factory: InMemoryUnitOfWorkFactory) -> list[tuple[str, list[str]]]:
    async with factory() as uow:
        return [(e.key, list(e.payload.get("to") or [])) for e in await uow.outbox.find()]


async def test_offline_a_coordinator_without_an_id_gets_the_card_by_email() -> None:
    factory = InMemoryUnitOfWorkFactory().seed(people=[LUCY, KNOWN])
    told = await reach(factory).to_people([LUCY, KNOWN], CARD, "QA card", "PEP-1", "PEP-1")
    assert [m.to_user_id for m in told] == ["aad-gwen"]
    assert told.names == ["Gwen Talbot-Price", "Lucy Harrowby (by e-mail)"]
    [(key, to)] = await queued(factory)
    assert to == [LUCY.email] and key.startswith("reach:QA card:PEP-1:")


async def test_the_same_card_twice_queues_one_email() -> None:
    factory = InMemoryUnitOfWorkFactory().seed(people=[LUCY])
    for _ in range(2):
        await reach(factory).to_people([LUCY], CARD, "QA card", "PEP-1", "PEP-1")
    assert len(await queued(factory)) == 1


async def test_with_a_tenant_a_person_found_is_installed_told_in_teams_and_kept() -> None:
    factory = InMemoryUnitOfWorkFactory().seed(people=[LUCY])
    directory, apps = Directory({LUCY.email: "oid-lucy"}), Apps()
    told = await reach(factory, directory, apps).to_people([LUCY], CARD, "QA card", "PEP-1")
    assert [m.to_user_id for m in told] == ["oid-lucy"] and apps.installed == ["oid-lucy"]
    assert await queued(factory) == []
    async with factory() as uow:
        kept = await uow.people.get(LUCY.id)
    assert kept is not None and kept.entra_object_id == "oid-lucy"
    # next time no lookup is needed
    again = await reach(factory, directory, apps).to_people(
        [replace(LUCY, entra_object_id="oid-lucy")], CARD, "QA card", "PEP-1"
    )
    assert [m.to_user_id for m in again] == ["oid-lucy"] and len(directory.asked) == 1


async def test_with_a_tenant_someone_outside_it_gets_the_email() -> None:
    factory = InMemoryUnitOfWorkFactory().seed(people=[LUCY])
    apps = Apps()
    told = await reach(factory, Directory({}), apps).to_people([LUCY], CARD, "PP+ card", "REQ-1")
    assert list(told) == [] and apps.installed == []
    assert told.by_email == ["Lucy Harrowby"]
    [(_, to)] = await queued(factory)
    assert to == [LUCY.email]


@pytest.mark.parametrize("where", ["directory", "install"])
async def test_a_refused_lookup_or_install_falls_back_to_email(where: str) -> None:
    refused = DeliveryError(
        "Insufficient privileges", status=403, retryable=False, code="Authorization_RequestDenied"
    )
    factory = InMemoryUnitOfWorkFactory().seed(people=[LUCY])
    directory = Directory({LUCY.email: "oid-lucy"}, refused if where == "directory" else None)
    apps = Apps(refused if where == "install" else None)
    told = await reach(factory, directory, apps).to_people([LUCY], CARD, "QA card", "PEP-1")
    assert list(told) == [] and told.by_email == ["Lucy Harrowby"]
    assert [to for _, to in await queued(factory)] == [[LUCY.email]]
    async with factory() as uow:
        kept = await uow.people.get(LUCY.id)
    assert kept is not None and kept.entra_object_id is None


async def test_someone_who_cannot_be_reached_is_reported_to_business_support() -> None:
    factory = InMemoryUnitOfWorkFactory().seed(people=[NO_ADDRESS])
    told = await reach(factory).to_people([NO_ADDRESS], CARD, "next date", "PEP-1")
    assert list(told) == [] and told.nobody == ["Pat Nobody"] and told.names == []
    [(key, to)] = await queued(factory)
    assert key.startswith("unreached:") and to == list(SUPPORT)


# ---- a job's Teams notice that found no chat -------------------------------------------

NAG = {
    "target": "person:rachel.donnelly@northvale.example",
    "template": "next_date_request",
    "data": {"pep_id": "PEP-1"},
}


def test_a_next_date_request_with_no_chat_goes_by_email_once() -> None:
    [row] = unposted_rows(
        "next-date:PEP-1:2026-11-17:rachel",
        NAG,
        {"posted": False, "reason": "no conversation with the bot"},
        sender=SENDER,
        business_support=SUPPORT,
        pep_id="PEP-1",
    )
    assert row.payload["to"] == ["rachel.donnelly@northvale.example"]
    assert row.payload["subject"] == "PEP Companion: when is next term's PEP?"
    assert "PEP-1" in row.payload["body_text"]
    assert row.key == "reach:next-date:PEP-1:2026-11-17:rachel:rachel.donnelly@northvale.example"
    # the command line has no Teams at all: the same
    assert unposted_rows(
        "k",
        NAG,
        {"posted": False, "reason": "Teams is not connected here"},
        sender=SENDER,
        business_support=SUPPORT,
    )


@pytest.mark.parametrize(
    ("payload", "result"),
    [
        (NAG, {"posted": True, "activity_id": "1"}),  # it was posted
        (NAG, {"posted": False, "reason": "nothing to say any more"}),  # the PEP moved on
        (
            {**NAG, "template": "return_reminder"},  # mailed anyway
            {"posted": False, "reason": "no conversation with the bot"},
        ),
        (
            {**NAG, "target": "channel:virtual_school"},
            {"posted": False, "reason": "no conversation with the bot"},
        ),
    ],
)
def test_other_notices_write_no_email(
    payload: dict[str, object], result: dict[str, object]
) -> None:
    assert unposted_rows("k", payload, result, sender=SENDER, business_support=SUPPORT) == []


async def test_the_dispatcher_hook_queues_the_email_in_the_same_unit_of_work() -> None:
    factory = InMemoryUnitOfWorkFactory()
    entry = OutboxEntry(
        1,
        "next-date:PEP-1",
        OutboxKind.TEAMS_NOTICE,
        OutboxStatus.PENDING,
        NAG,
        "system",
        "PEP-1",
        None,
        1,
        FixedClock().now(),
        FixedClock().now(),
    )
    async with factory() as uow:
        await reach(factory).after_notice(
            uow, entry, {"posted": False, "reason": "no conversation with the bot"}
        )
        await uow.commit()
    [(key, to)] = await queued(factory)
    assert to == ["rachel.donnelly@northvale.example"] and key.startswith("reach:")
