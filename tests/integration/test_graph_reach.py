"""Reaching people who never wrote to the bot, with the real msgraph-sdk against the
local fake Graph and a real store (SQLite and PostgreSQL): their Teams id looked up
from their e-mail (User.Read.All), the app installed for them
(TeamsAppInstallation.ReadWriteForUser.All), and e-mail for people outside the tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from msgraph import GraphServiceClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.reach import Reach
from graph.client import close_graph_client, make_graph_client
from graph.msgraph_adapters import GraphChatApp, GraphDirectory
from pep_model.m365 import DeliveryError
from pep_model.people import Person
from store.unit_of_work import SqlUnitOfWorkFactory
from tests.support.fake_graph import FakeGraph, FixedTokenCredential
from tests.unit.fakes import FixedClock

APP_ID = "5b3c7a2e-6f1d-4c8e-9a0b-1d2e3f405162"
COORDINATOR = Person("lucy.harrowby@northvale.example", "Lucy Harrowby")
OUTSIDER = Person("dana.teacher@oakfield.sch.example", "Dana Teacher")
SUPPORT = "pep.business-support@northvale.example"
CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "A PEP is waiting for quality assurance."}],
}


@dataclass
class Tenant:
    fake: FakeGraph
    client: GraphServiceClient
    coordinator_id: str

    @property
    def directory(self) -> GraphDirectory:
        return GraphDirectory(self.client)

    @property
    def apps(self) -> GraphChatApp:
        return GraphChatApp(self.client, APP_ID)


@pytest.fixture
async def tenant() -> AsyncIterator[Tenant]:
    async with FakeGraph() as fake:
        coordinator = fake.add_user(COORDINATOR.email, COORDINATOR.name)
        fake.add_catalog_app(APP_ID)
        client = make_graph_client(FixedTokenCredential(fake.token), fake.base_url)
        try:
            yield Tenant(fake, client, coordinator)
        finally:
            await close_graph_client(client)


async def test_a_user_is_found_by_email_and_someone_outside_the_tenant_is_not(
    tenant: Tenant,
) -> None:
    assert await tenant.directory.object_id_for(COORDINATOR.email) == tenant.coordinator_id
    assert await tenant.directory.object_id_for(OUTSIDER.email) is None
    [lookup, *_] = tenant.fake.requests_to("GET", r"^/users/")
    assert lookup.query.get("$select") == "id"


async def test_installing_for_a_user_gives_their_personal_chat_and_twice_is_once(
    tenant: Tenant,
) -> None:
    chat = await tenant.apps.install_for_user(tenant.coordinator_id)
    assert chat is not None and chat.startswith("19:") and chat.endswith("@unq.gbl.spaces")
    assert await tenant.apps.install_for_user(tenant.coordinator_id) == chat  # 409 is fine
    assert len(tenant.fake.user_apps[tenant.coordinator_id]) == 1
    posts = tenant.fake.requests_to("POST", r"/teamwork/installedApps$")
    assert [p.status for p in posts] == [201, 409]
    assert posts[0].body["teamsApp@odata.bind"].endswith(f"/appCatalogs/teamsApps/{APP_ID}")
    [listing, *_] = tenant.fake.requests_to("GET", r"/teamwork/installedApps$")
    assert listing.query["$filter"] == f"teamsApp/id eq '{APP_ID}'"
    assert listing.query["$expand"] == "teamsApp"


async def test_installing_for_an_unknown_user_is_refused(tenant: Tenant) -> None:
    with pytest.raises(DeliveryError) as refused:
        await tenant.apps.install_for_user("00000000-0000-0000-0000-000000000000")
    assert refused.value.status == 404 and not refused.value.retryable


@pytest.fixture
def uow(store_engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(store_engine)


async def test_a_coordinator_who_never_wrote_is_told_in_teams_an_outsider_by_email(
    tenant: Tenant, uow: SqlUnitOfWorkFactory
) -> None:
    async with uow() as work:
        for person in (COORDINATOR, OUTSIDER):
            await work.people.upsert(person)
        await work.commit()
    reach = Reach(
        uow, FixedClock(), SUPPORT, (SUPPORT,), directory=tenant.directory, apps=tenant.apps
    )

    told = await reach.to_people([COORDINATOR, OUTSIDER], CARD, "QA card", "PEP-1", "PEP-1")

    assert [m.to_user_id for m in told] == [tenant.coordinator_id]
    assert told.names == ["Lucy Harrowby", "Dana Teacher (by e-mail)"]
    assert tenant.coordinator_id in tenant.fake.user_apps
    async with uow() as work:
        kept = await work.people.get(COORDINATOR.id)
        queued = await work.outbox.find()
    assert kept is not None and kept.entra_object_id == tenant.coordinator_id
    assert [(e.payload["to"], e.payload["subject"]) for e in queued] == [
        ([OUTSIDER.email], "PEP Companion: a PEP is waiting for your quality check")
    ]
    assert "waiting for quality assurance" in queued[0].payload["body_text"]
