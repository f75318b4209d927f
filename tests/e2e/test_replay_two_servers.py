"""Two instances of the bot behind one load balancer, on one database (PostgreSQL, and
SQLite with two apps on one file): an invoke Teams delivers twice — same activity id —
to server A and then to server B, or to both at once, runs once and is answered the
same both times (bot/invoke_replay.py, store/invokes.py)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.demo import load_demo_data
from bot.server import DELIVERY, create_app
from bot.settings import Settings
from bot.wiring import Container, build_container
from store.migrate import upgrade
from store.tables import invoke_answers
from tests.e2e.conftest import EXAMPLES, HARRIET, RACHEL, TODAY, BotEnv
from tests.e2e.test_walkthrough_http import CHAT, PEP_ID, card_of, start_walkthrough
from tests.integration.conftest import (
    create_postgres_database,
    drop_postgres_database,
    postgres_server_url,
)
from tests.support.bot_auth import APP_ID, ISSUER, TokenAuthority
from tests.support.stub_connector import StubConnector
from tests.support.teams import activity, card_text, go_to, submit
from tests.unit.fakes import FixedClock


@dataclass
class TwoServers:
    a: BotEnv
    b: BotEnv

    async def post_to(self, env: BotEnv, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", **env.authority.header(env.service_url)}
        async with env.http.post(env.url, json=body, headers=headers) as response:
            text = await response.text()
            assert response.status == 200, (response.status, text)
        await env.server.app[DELIVERY].idle()
        answer: dict[str, Any] = json.loads(text)
        return answer

    async def audit(self, action: str, section: str | None = None) -> list[Any]:
        async with self.a.container.uow() as uow:
            return [
                e
                for e in await uow.audit.for_pep(PEP_ID)
                if e.action == action and (section is None or e.section == section)
            ]

    async def pep(self) -> Any:
        async with self.b.container.uow() as uow:  # what the other instance reads
            return await uow.peps.get(PEP_ID)

    async def answers_kept(self, activity_id: str) -> int:
        async with self.a.container.engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(invoke_answers)
                        .where(invoke_answers.c.activity_id == activity_id)
                    )
                ).scalar_one()
            )


def _settings(database_url: str, authority_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        app_id=APP_ID,
        openid_metadata_url=authority_url,
        token_issuer=ISSUER,
        allowed_tenants=["aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"],
        forms_dir=tmp_path / "forms",
        outbox_dir=tmp_path / "outbox",
        jobs_enabled=False,
        card_update_coalesce_seconds=0,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, demo_database: Path
) -> AsyncIterator[str]:
    """The sample authority in a database both servers share."""
    if request.param == "sqlite":
        database = tmp_path / "shared.sqlite3"
        shutil.copyfile(demo_database, database)
        yield f"sqlite+aiosqlite:///{database}?timeout=5"
        return
    server = postgres_server_url()
    url = await create_postgres_database(server)
    try:
        await upgrade(url)
        loader = build_container(
            _settings(url, "http://127.0.0.1:9/unused", tmp_path), clock=FixedClock(today=TODAY)
        )
        try:
            await load_demo_data(loader, EXAMPLES)
        finally:
            await loader.close()
        yield url
    finally:
        await drop_postgres_database(server, url)


@pytest.fixture
async def servers(database_url: str, tmp_path: Path) -> AsyncIterator[TwoServers]:
    """Server A and server B: each its own app, engine and pool (as two processes)."""
    async with (
        TokenAuthority() as authority,
        StubConnector() as connector,
        aiohttp.ClientSession() as http,
    ):
        connector.members[RACHEL[0]] = {
            "id": RACHEL[0],
            "email": "rachel.donnelly@northvale.example",
        }
        settings = _settings(database_url, authority.metadata_url, tmp_path)
        envs: list[BotEnv] = []
        containers: list[Container] = []
        try:
            for _ in range(2):
                container = build_container(settings, clock=FixedClock(today=TODAY))
                containers.append(container)
                server = TestServer(create_app(settings, container), host="127.0.0.1")
                await server.start_server()
                envs.append(
                    BotEnv(
                        str(server.make_url("/api/messages")),
                        authority,
                        connector,
                        container,
                        server,
                        http,
                    )
                )
            assert envs[0].url != envs[1].url
            yield TwoServers(*envs)
        finally:
            for env in envs:
                await env.server.close()
            for container in containers:
                await container.close()


def invoke(env: BotEnv, value: dict[str, Any], who: tuple[str, str] = HARRIET) -> dict[str, Any]:
    """One invoke activity (its id fixed from here on) as Teams would deliver it."""
    return activity(
        env.service_url,
        CHAT,
        *who,
        type="invoke",
        name="adaptiveCard/action",
        value=value,
        conversation_type="groupChat",
    )


async def test_a_save_retried_on_the_other_server_runs_once(servers: TwoServers) -> None:
    lead = await start_walkthrough(servers.a)
    voice = card_of(await servers.a.invoke(HARRIET, CHAT, go_to(lead, "voice")))
    version = (await servers.pep()).version
    save = invoke(servers.a, submit(voice, "pep.section.save", {"f.views": "I like the sand pit"}))

    first = await servers.post_to(servers.a, save)
    assert "Saved." in card_text(card_of(first))
    # a newer save lands before Teams' retry of the first reaches server B
    newer = card_of(
        await servers.a.invoke(
            HARRIET,
            CHAT,
            submit(card_of(first), "pep.section.save", {"f.views": "Story time is best"}),
        )
    )
    assert "Saved." in card_text(newer)
    again = await servers.post_to(servers.b, save)

    # a save is idempotent by its data (bot/invoke_replay.idempotent_by_data): the retry
    # runs again, finds its section changed since its card and changes nothing
    assert "Someone else changed this section" in card_text(card_of(again))
    assert len(await servers.audit("section.save", "voice")) == 2
    pep = await servers.pep()
    assert pep.version == version + 2
    assert pep.sections["voice"]["views"] == "Story time is best"  # not overwritten
    assert await servers.answers_kept(save["id"]) == 0  # no record: two commits fewer
    # retried with nothing newer in between, it is simply "Saved." again, once
    assert "Saved." in card_text(
        card_of(
            await servers.post_to(
                servers.b,
                invoke(
                    servers.a, submit(newer, "pep.section.save", {"f.views": "Story time is best"})
                ),
            )
        )
    )
    assert len(await servers.audit("section.save", "voice")) == 2


async def test_an_attendee_added_twice_through_two_servers_is_added_once(
    servers: TwoServers,
) -> None:
    lead = await start_walkthrough(servers.a)
    attendees = card_of(await servers.a.invoke(HARRIET, CHAT, go_to(lead, "attendees")))
    add = invoke(
        servers.a,
        submit(
            attendees,
            "pep.attendee.add",
            {"a.name": "Maureen Ashdown", "a.role": "carer", "a.attended": "in_person"},
        ),
    )

    first = await servers.post_to(servers.a, add)
    again = await servers.post_to(servers.b, add)

    assert "Added Maureen Ashdown." in card_text(card_of(first))
    assert again == first  # run again it would say "already recorded"
    rows = (await servers.pep()).sections["attendees"]["rows"]
    assert [r["name"] for r in rows].count("Maureen Ashdown") == 1


async def test_the_same_invoke_at_both_servers_at_once_runs_once(servers: TwoServers) -> None:
    lead = await start_walkthrough(servers.a)
    attendees = card_of(await servers.a.invoke(HARRIET, CHAT, go_to(lead, "attendees")))
    add = invoke(
        servers.a,
        submit(
            attendees,
            "pep.attendee.add",
            {"a.name": "Rachel Donnelly", "a.role": "social_worker", "a.attended": "phone"},
        ),
    )

    async with asyncio.timeout(30):
        one, other = await asyncio.gather(
            servers.post_to(servers.a, add), servers.post_to(servers.b, add)
        )

    assert one == other and "Added Rachel Donnelly." in card_text(card_of(one))
    rows = (await servers.pep()).sections["attendees"]["rows"]
    assert [r["name"] for r in rows].count("Rachel Donnelly") == 1


async def test_finish_retried_on_the_other_server_offers_the_record_once(
    servers: TwoServers,
) -> None:
    lead = await start_walkthrough(servers.a)
    for key, typed in (  # Harriet is on record as attending since she started it
        ("summary", {"f.summary": "Settled well."}),
        ("next_pep", {"f.date": "2027-02-03", "f.reason": ""}),
    ):
        lead = card_of(await servers.a.invoke(HARRIET, CHAT, go_to(lead, key)))
        lead = card_of(
            await servers.a.invoke(HARRIET, CHAT, submit(lead, "pep.section.save", typed))
        )
        assert "Saved" in card_text(lead), card_text(lead)
    finish = invoke(servers.a, submit(lead, "pep.finish"))
    offers_before = len(
        servers.a.connector.attachments("application/vnd.microsoft.teams.card.file.consent")
    )

    first = await servers.post_to(servers.a, finish)
    again = await servers.post_to(servers.b, finish)

    assert "PEP meeting finished" in card_text(card_of(first))
    assert again == first
    assert len(await servers.audit("meeting.finish")) == 1
    offers = servers.a.connector.attachments("application/vnd.microsoft.teams.card.file.consent")
    assert len(offers) == offers_before + 1  # the record is offered once


# ---- one server, two presses (two activity ids: a double click, not a retry) ----------


async def test_save_double_clicked_is_saved_twice_written_once(bot_env: BotEnv) -> None:
    env = bot_env
    lead = await start_walkthrough(env)
    voice = card_of(await env.invoke(HARRIET, CHAT, go_to(lead, "voice")))
    press = submit(voice, "pep.section.save", {"f.views": "Sand pit"})
    first = card_of(await env.invoke(HARRIET, CHAT, press))
    second = card_of(await env.invoke(HARRIET, CHAT, press))
    assert "Saved." in card_text(first) and "Saved." in card_text(second)
    assert "Someone else" not in card_text(second)
    async with env.container.uow() as uow:
        saves = [
            e
            for e in await uow.audit.for_pep(PEP_ID)
            if e.action == "section.save" and e.section == "voice"
        ]
    assert len(saves) == 1


async def test_a_card_claiming_a_newer_version_is_refused(bot_env: BotEnv) -> None:
    env = bot_env
    lead = await start_walkthrough(env)
    voice = card_of(await env.invoke(HARRIET, CHAT, go_to(lead, "voice")))
    crafted = submit(voice, "pep.section.save", {"f.views": "Crafted", "version": 9999})
    answer = card_text(card_of(await env.invoke(HARRIET, CHAT, crafted)))
    assert "Cannot do that" in answer
    assert "This card is out of step with the PEP; open it again." in answer
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP_ID)
    assert pep is not None and (pep.sections.get("voice") or {}).get("views") != "Crafted"


async def test_finish_double_clicked_finishes_once_in_words(bot_env: BotEnv) -> None:
    env = bot_env
    lead = await start_walkthrough(env)
    for key, typed in (
        ("summary", {"f.summary": "Settled well."}),
        ("next_pep", {"f.date": "2027-02-03", "f.reason": ""}),
    ):
        lead = card_of(await env.invoke(HARRIET, CHAT, go_to(lead, key)))
        lead = card_of(await env.invoke(HARRIET, CHAT, submit(lead, "pep.section.save", typed)))
    press = submit(lead, "pep.finish")
    consent = "application/vnd.microsoft.teams.card.file.consent"
    async with asyncio.timeout(30):  # both presses in flight together
        answers = await asyncio.gather(
            env.invoke(HARRIET, CHAT, press), env.invoke(HARRIET, CHAT, press)
        )
    later = await env.invoke(HARRIET, CHAT, press)  # and once more, afterwards
    # the after-meeting card in her personal chat pressed after the meeting finished
    personal = await env.invoke(HARRIET, "a:harriet-personal", press, conversation_type="personal")
    texts = [card_text(card_of(a)) for a in (*answers, later, personal)]
    assert all("finished" in t.lower() for t in texts), texts
    assert not any(
        "cannot move" in t or "awaiting_return" in t or "Awaiting return" in t for t in texts
    ), texts
    assert "This PEP meeting is already finished." in texts[-1]
    async with env.container.uow() as uow:
        finishes = [e for e in await uow.audit.for_pep(PEP_ID) if e.action == "meeting.finish"]
    assert len(finishes) == 1
    assert len(env.connector.attachments(consent)) == 1  # the record offered once


async def test_add_attendee_twice_says_already_recorded_or_what_changed(bot_env: BotEnv) -> None:
    env = bot_env
    lead = await start_walkthrough(env)
    attendees = card_of(await env.invoke(HARRIET, CHAT, go_to(lead, "attendees")))
    maureen = {"a.name": "Maureen Ashdown", "a.role": "carer", "a.attended": "in_person"}
    added = card_of(await env.invoke(HARRIET, CHAT, submit(attendees, "pep.attendee.add", maureen)))
    assert "Added Maureen Ashdown." in card_text(added)
    again = card_of(await env.invoke(HARRIET, CHAT, submit(added, "pep.attendee.add", maureen)))
    assert "Maureen Ashdown is already recorded as attending in person." in card_text(again)
    by_phone = card_of(
        await env.invoke(
            HARRIET, CHAT, submit(again, "pep.attendee.add", {**maureen, "a.attended": "phone"})
        )
    )
    assert (
        "Maureen Ashdown is now recorded as Carer, attending by phone (was Carer, "
        "attending in person)." in card_text(by_phone)
    )
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP_ID)
    assert pep is not None
    rows = [r for r in pep.sections["attendees"]["rows"] if r["name"] == "Maureen Ashdown"]
    assert [r["attended"] for r in rows] == ["phone"]
