"""Scheduling, the Virtual School's alert and the return, over signed HTTP as Teams would
drive them, with the offline outbox folder as Microsoft 365: .ics files read back with
the icalendar package, .eml files with the standard library's email parser."""

from __future__ import annotations

import asyncio
import email
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from email import policy
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from icalendar import Calendar

from bot.demo import load_demo_data
from bot.server import create_app
from bot.settings import Settings
from bot.wiring import build_container
from pep_model.pep import pep_id_for
from pep_model.workflow import PepStatus
from store.migrate import upgrade
from tests.e2e.conftest import EXAMPLES, HARRIET, TODAY, BotEnv
from tests.e2e.m365_app import runtime_of
from tests.support.bot_auth import APP_ID, ISSUER, TokenAuthority
from tests.support.stub_connector import StubConnector
from tests.support.teams import TENANT, actions, card_text, inputs, submit
from tests.unit.fakes import FixedClock

RACHEL = ("29:rachel", "aad-rachel")  # social worker of LCS100001
KWABENA = ("29:kwabena", "aad-kwabena")  # social worker of LCS100028 (transition+complex)
BETHAN = ("29:bethan", "aad-bethan")  # Virtual School officer
IMOGEN = ("29:imogen", "aad-imogen")  # Virtual School Head
CHANNEL = "19:vs-alerts@thread.tacv2"
SENDER = "business.support@northvale.example"
PEP_1 = pep_id_for("LCS100001", "2026-autumn")
PEP_28 = pep_id_for("LCS100028", "2026-autumn")


@pytest.fixture
async def env(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[BotEnv]:
    wait, background = getattr(request, "param", (3.0, False))
    async with TokenAuthority() as authority, StubConnector() as connector:
        connector.members.update(
            {
                RACHEL[0]: {"id": RACHEL[0], "email": "rachel.donnelly@northvale.example"},
                KWABENA[0]: {"id": KWABENA[0], "email": "kwabena.ashcroft@northvale.example"},
                BETHAN[0]: {"id": BETHAN[0], "email": "bethan.carrow@northvale.example"},
                IMOGEN[0]: {"id": IMOGEN[0], "email": "imogen.stallard@northvale.example"},
            }
        )
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp_path}/pep.sqlite3",
            app_id=APP_ID,
            openid_metadata_url=authority.metadata_url,
            token_issuer=ISSUER,
            allowed_tenants=[TENANT],
            forms_dir=tmp_path / "forms",
            outbox_dir=tmp_path / "outbox",
            mail_sender=SENDER,
            virtual_school_channel_id=CHANNEL,
            schedule_wait_seconds=wait,
            card_update_coalesce_seconds=0,
            jobs_enabled=background,
        )
        await upgrade(settings.database_url)
        container = build_container(settings, clock=FixedClock(today=TODAY))
        await load_demo_data(container, EXAMPLES)
        app = create_app(settings, container)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        async with aiohttp.ClientSession() as http:
            yield BotEnv(
                str(server.make_url("/api/messages")), authority, connector, container, server, http
            )
        await server.close()
        await container.close()


def card_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body["statusCode"] == 200, body
    return body["value"]


def calendar_files(env: BotEnv) -> list[Calendar]:
    folder = env.container.settings.outbox_dir / "calendar"
    return [Calendar.from_ical(p.read_bytes()) for p in sorted(folder.glob("*.ics"))]


def mails(env: BotEnv) -> list[email.message.EmailMessage]:
    folder = env.container.settings.outbox_dir / "mail"
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


def event_of(cal: Calendar) -> Any:
    return next(c for c in cal.walk("VEVENT"))


async def personal(env: BotEnv, who: tuple[str, str], text: str) -> dict[str, Any]:
    await env.send(who, f"a:personal-{who[0]}", text=text, conversation_type="personal")
    return env.connector.cards(f"a:personal-{who[0]}")[-1]


async def press(
    env: BotEnv,
    who: tuple[str, str],
    card: dict[str, Any],
    verb: str,
    typed: dict[str, Any] | None = None,
    *,
    conversation: str | None = None,
    conversation_type: str = "personal",
    **kw: Any,
) -> dict[str, Any]:
    return card_of(
        await env.invoke(
            who,
            conversation or f"a:personal-{who[0]}",
            submit(card, verb, typed, **kw),
            conversation_type=conversation_type,
        )
    )


async def schedule_form(env: BotEnv, who: tuple[str, str], child: str) -> dict[str, Any]:
    return await personal(env, who, f"schedule pep {child}")


async def test_social_worker_schedules_and_gets_the_join_link(env: BotEnv) -> None:
    form = await schedule_form(env, RACHEL, "LCS100001")
    shown = inputs(form)
    ticked = {k for k, v in shown.items() if k.startswith("s.invite.") and v == "true"}
    assert len(ticked) == 2, "designated teacher and carer are ticked"

    # a date in the past: the error is beside the date and the typing is kept
    bad = await press(
        env, RACHEL, form, "pep.schedule.submit", {"s.date": "2026-11-02", "s.time": "14:00"}
    )
    assert "the meeting must be in the future" in card_text(bad)
    assert inputs(bad)["s.date"] == "2026-11-02"
    assert not calendar_files(env)

    done = await press(
        env,
        RACHEL,
        bad,
        "pep.schedule.submit",
        {"s.date": "2026-11-24", "s.time": "14:00", "s.extra": "vs.duty@northvale.example"},
    )
    assert "PEP meeting scheduled" in card_text(done)
    [join] = [a for a in done.get("actions", []) if a["type"] == "Action.OpenUrl"]
    [cal] = calendar_files(env)
    event = event_of(cal)
    assert str(event["SUMMARY"]) == "AF PEP" and "Fenwick" not in cal.to_ical().decode()
    assert str(event["ORGANIZER"]).lower() == "mailto:rachel.donnelly@northvale.example"
    attendees = sorted(str(a).lower() for a in event.get("ATTENDEE"))
    assert attendees == [
        "mailto:h.pemberton@littleacorns.sch.example",
        "mailto:maureen.ashdown@carers.example",
        "mailto:vs.duty@northvale.example",
    ]
    assert event.decoded("DTSTART").isoformat() == "2026-11-24T14:00:00+00:00"
    assert str(event["DTSTART"].params["TZID"]) == "Europe/London"
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP_1)
    assert pep is not None and pep.meeting is not None
    assert pep.meeting.join_url == join["url"] and pep.meeting.event_id

    # no second meeting this term
    again = await schedule_form(env, RACHEL, "LCS100001")
    assert "Move the meeting" in card_text(again)
    moved = await press(
        env, RACHEL, again, "pep.schedule.submit", {"s.date": "2026-11-26", "s.time": "10:00"}
    )
    assert "PEP meeting moved" in card_text(moved)
    latest = event_of(calendar_files(env)[-1])
    assert int(latest["SEQUENCE"]) == 1
    assert latest.decoded("DTSTART").isoformat() == "2026-11-26T10:00:00+00:00"

    # cancel: everyone is told (a CANCEL .ics), the PEP forgets the meeting
    form = await schedule_form(env, RACHEL, "LCS100001")
    cancelled = await press(
        env,
        RACHEL,
        form,
        "pep.schedule.cancel",
        {"s.reason": "Carer unwell"},
        title="Cancel the meeting",
    )
    assert "cancelled" in card_text(cancelled)
    await runtime_of(env.server.app).dispatcher.drain()
    cancel = calendar_files(env)[-1]
    assert str(cancel["METHOD"]) == "CANCEL"
    async with env.container.uow() as uow:
        assert (await uow.peps.get(PEP_1)).meeting is None  # type: ignore[union-attr]


@pytest.mark.parametrize("env", [(0.0, False)], indirect=True)
async def test_confirmation_follows_when_microsoft_365_is_slow(env: BotEnv) -> None:
    runtime = runtime_of(env.server.app)
    # Microsoft 365 answers only once the card has been answered: slower than the wait,
    # whatever the machine's speed
    answered = asyncio.Event()
    calendar = runtime.dispatcher.calendar
    create_meeting = calendar.create_meeting

    async def slow_create(invite: Any) -> Any:
        await answered.wait()
        return await create_meeting(invite)

    calendar.create_meeting = slow_create  # type: ignore[method-assign]
    form = await schedule_form(env, RACHEL, "LCS100001")
    done = await press(
        env, RACHEL, form, "pep.schedule.submit", {"s.date": "2026-11-24", "s.time": "09:30"}
    )
    answered.set()
    assert "invitations on their way" in card_text(done)
    assert not [a for a in done.get("actions", []) if a["type"] == "Action.OpenUrl"]
    await runtime.dispatcher.idle()
    before = len(env.connector.cards(f"a:personal-{RACHEL[0]}"))
    env.container.clock.advance(minutes=1)  # type: ignore[attr-defined]
    await runtime.dispatcher.drain()
    confirmations = env.connector.cards(f"a:personal-{RACHEL[0]}")[before:]
    assert len(confirmations) == 1
    assert "PEP meeting scheduled" in card_text(confirmations[0])
    assert [a for a in confirmations[0]["actions"] if a["type"] == "Action.OpenUrl"]


async def test_virtual_school_alert_and_ill_attend(env: BotEnv) -> None:
    # the bot is added to the Virtual School's channel: it keeps the reference
    await env.send(
        BETHAN,
        CHANNEL,
        type="conversationUpdate",
        conversation_type="channel",
        membersAdded=[{"id": "28:pep-companion"}],
    )
    assert "Virtual School alerts" in card_text(env.connector.cards(CHANNEL)[-1])

    form = await schedule_form(env, KWABENA, "LCS100028")
    assert "The Virtual School will be alerted" in card_text(form)
    await press(
        env, KWABENA, form, "pep.schedule.submit", {"s.date": "2026-11-25", "s.time": "13:00"}
    )
    await runtime_of(env.server.app).dispatcher.drain()
    alert = env.connector.cards(CHANNEL)[-1]
    text = card_text(alert)
    assert "LCS100028" in text and "I'll attend" in text
    for secret in ("Connor", "Rourke", "2012-09-14", "14/09/2012"):  # ids only in a channel
        assert secret not in json.dumps(alert)
    answer = await press(
        env,
        BETHAN,
        alert,
        "pep.vs.attend",
        conversation=f"{CHANNEL};messageid=1",
        conversation_type="channel",
    )
    assert "Bethan Carrow will attend" in card_text(answer)
    latest = event_of(calendar_files(env)[-1])
    assert "mailto:bethan.carrow@northvale.example" in [
        str(a).lower() for a in latest.get("ATTENDEE")
    ]
    again = await press(
        env,
        BETHAN,
        alert,
        "pep.vs.attend",
        conversation=f"{CHANNEL};messageid=1",
        conversation_type="channel",
    )
    assert "already invited" in card_text(again)
    async with env.container.uow() as uow:
        meeting = await uow.meetings.get(PEP_28)
    assert meeting is not None and meeting.virtual_school_attending == (
        "bethan.carrow@northvale.example",
    )
    # a social worker cannot use the Virtual School's button
    refused = await env.invoke(
        RACHEL,
        f"{CHANNEL};messageid=1",
        submit(alert, "pep.vs.attend"),
        conversation_type="channel",
    )
    assert "Virtual School" in card_text(card_of(refused))


async def test_lead_returns_the_pep_and_reminders_run(env: BotEnv) -> None:
    runtime = runtime_of(env.server.app)
    async with env.container.uow() as uow:  # the meeting was held three days ago
        pep = await uow.peps.get(PEP_1) or None
    if pep is None:
        await env.container.service.open_pep("LCS100001", "2026-autumn")
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP_1)
        assert pep is not None
        version = pep.version
        pep.status = PepStatus.AWAITING_RETURN
        pep.sections["next_pep"] = {"date": "2027-01-20", "reason": None}  # as Finish needs
        pep.meeting_held_on = TODAY - timedelta(days=3)
        pep.return_due = TODAY + timedelta(days=2)
        await uow.peps.save(pep, version)
        await uow.commit()
    card = await personal(env, HARRIET, "return pep LCS100001")  # Harriet uses the bot
    assert actions(card, "pep.return.send")
    # day 3: the reminder reaches Harriet in Teams and by mail
    assert await runtime.returns.queue_reminders() == 1
    await runtime.dispatcher.drain()
    reminder = env.connector.cards(f"a:personal-{HARRIET[0]}")[-1]
    assert "Reminder" in card_text(reminder) and actions(reminder, "pep.return.send")
    sent = await press(env, HARRIET, reminder, "pep.return.send")
    assert "Sent to Business Support" in card_text(sent)
    returned = [m for m in mails(env) if m["To"] == SENDER]
    assert len(returned) == 1
    [attachment] = list(returned[0].iter_attachments())
    assert attachment.get_filename() == "PEP-LCS100001-2026-autumn.docx"
    async with env.container.uow() as uow:
        # returned, and at once picked up by quality assurance
        assert (await uow.peps.get(PEP_1)).status is PepStatus.IN_QA  # type: ignore[union-attr]
    twice = await press(env, HARRIET, reminder, "pep.return.send")
    assert "Already returned" in card_text(twice)
    assert len([m for m in mails(env) if m["To"] == SENDER]) == 1
    # nothing is overdue now; reminders stop once returned
    assert await runtime.returns.queue_reminders(TODAY + timedelta(days=2)) == 0
    assert await runtime.returns.overdue(date(2026, 12, 1)) == []


@pytest.mark.parametrize("env", [(0.0, True)], indirect=True)
async def test_serve_delivers_in_the_background(env: BotEnv) -> None:
    """As in `serve`: the dispatcher and the job runner run as tasks of the app."""
    runtime = runtime_of(env.server.app)
    assert [t.get_name() for t in runtime._tasks] == ["outbox", "jobs"]
    form = await schedule_form(env, RACHEL, "LCS100001")
    done = await press(
        env, RACHEL, form, "pep.schedule.submit", {"s.date": "2026-11-24", "s.time": "11:00"}
    )
    assert "on their way" in card_text(done)
    for _ in range(100):
        if calendar_files(env):
            break
        await asyncio.sleep(0.05)
    assert len(calendar_files(env)) == 1
    async with env.container.uow() as uow:
        jobs = {row["name"] for row in await uow.jobs.all()}
    assert "term_start" in jobs and "outbox_sweep" in jobs


async def test_weekly_digest_reaches_the_head_once_a_week(env: BotEnv) -> None:
    runtime = runtime_of(env.server.app)
    chat = f"a:personal-{IMOGEN[0]}"
    await personal(env, IMOGEN, "overview")  # she has talked to the bot: her chat is known
    before = len(env.connector.cards(chat))
    for _ in range(2):  # run twice in the same week: one digest
        [(name, outcome)] = await runtime.jobs.run_due(only=["weekly_digest"], force=True)
        assert name == "weekly_digest" and "1 Virtual School Head" in outcome
        await runtime.dispatcher.drain()
    digests = [c for c in env.connector.cards(chat)[before:] if "Weekly digest" in card_text(c)]
    assert len(digests) == 1
    assert "Autumn term 2026" in card_text(digests[0])
