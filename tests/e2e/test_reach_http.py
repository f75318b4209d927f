"""Everyone who must act is told: a PEP coordinator and a link advisor who never wrote to
the bot have no Teams id; without a tenant (the outbox folder) the returned PEP's QA
notice and PP+ request reach them by e-mail — an .eml in the outbox folder — and the
same return again sends nothing twice. Once the coordinator has written to the bot, the
next notice goes to Teams."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

from bot.server import ROUTER
from pep_model.access import Actor
from tests.e2e.conftest import BotEnv
from tests.e2e.m365_app import runtime_of
from tests.e2e.test_qa_http import GWEN, LUCY, PEP_ID, STAFF, deliver, personal, returned
from tests.support.teams import card_text


def mails_to(env: BotEnv, address: str) -> list[EmailMessage]:
    folder = env.container.settings.outbox_dir / "mail"
    found = (
        [
            email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(folder.glob("*.eml"))
        ]
        if folder.is_dir()
        else []
    )
    return [m for m in found if m["To"] == address]  # type: ignore[misc]


async def test_a_coordinator_with_no_teams_id_gets_the_qa_notice_by_email(bot_env: BotEnv) -> None:
    env = bot_env
    routes = env.server.app[ROUTER].qa
    assert routes is not None
    async with env.container.uow() as uow:
        lucy = await uow.people.get(STAFF[LUCY])
        gwen = await uow.people.get(STAFF[GWEN])
    assert lucy is not None and not lucy.entra_object_id  # never wrote to the bot
    assert gwen is not None and not gwen.entra_object_id
    await returned(env)

    messages = await routes.on_pep_returned(PEP_ID, returned_by="harriet")
    await deliver(env, messages)
    await runtime_of(env.server.app).dispatcher.drain()

    assert not env.connector.cards(personal(LUCY))  # nowhere in Teams to post it
    [qa_mail] = mails_to(env, STAFF[LUCY])
    assert qa_mail["Subject"] == "PEP Companion: a PEP is waiting for your quality check"
    body = qa_mail.get_content()
    assert "could not reach you in Microsoft Teams" in body
    assert "AF" in body and "Fenwick" not in body  # the card's words: initials only
    [pp_mail] = mails_to(env, STAFF[GWEN])
    assert "Pupil Premium Plus request is waiting" in pp_mail["Subject"]

    # the same return again: nothing new, and no second e-mail
    await deliver(env, await routes.on_pep_returned(PEP_ID, returned_by="harriet"))
    await runtime_of(env.server.app).dispatcher.drain()
    assert len(mails_to(env, STAFF[LUCY])) == 1


async def test_once_the_coordinator_has_written_to_the_bot_the_notice_goes_to_teams(
    bot_env: BotEnv,
) -> None:
    env = bot_env
    routes = env.server.app[ROUTER].qa
    assert routes is not None
    env.connector.members[LUCY[0]] = {"id": LUCY[0], "email": STAFF[LUCY]}
    await env.send(LUCY, personal(LUCY), text="help", conversation_type="personal")
    await returned(env)

    await deliver(env, await routes.on_pep_returned(PEP_ID, returned_by="harriet"))
    await runtime_of(env.server.app).dispatcher.drain()

    [qa] = env.connector.cards(personal(LUCY))[-1:]
    assert "AF" in card_text(qa)
    assert not mails_to(env, STAFF[LUCY])  # Teams reached her: no e-mail as well


async def test_the_daily_next_date_request_reaches_people_with_no_chat_by_email(
    bot_env: BotEnv,
) -> None:
    """The meeting began yesterday and has no next PEP date: the daily job asks the
    social worker and the designated teacher; neither has a chat with the bot, so each
    gets the request by e-mail (once, however often the notice is tried)."""
    from datetime import timedelta

    from pep_model.returns import next_date_askers, queue_next_date_nags
    from tests.e2e.conftest import HARRIET, TODAY
    from tests.unit.builders import complete_raw

    env = bot_env
    c = env.container
    async with c.uow() as uow:
        harriet = await uow.people.find(entra_object_id=HARRIET[1])
        assert harriet is not None
        lead = Actor(harriet, tuple(await uow.people.assignments(harriet.id)))
    await c.service.open_pep("LCS100001", "2026-autumn")
    for key, values in complete_raw().items():
        pep = (await c.service.get(PEP_ID, lead)).pep
        assert (await c.service.record_section(PEP_ID, key, values, lead, pep.version)).saved
    await c.service.start_meeting(PEP_ID, lead)
    async with c.uow() as uow:
        child = await uow.children.get("LCS100001")
        assert child is not None
        askers = await next_date_askers(uow, child)
    assert askers

    assert await queue_next_date_nags(c.service, TODAY + timedelta(days=1)) == len(askers)
    await runtime_of(env.server.app).dispatcher.drain()
    await runtime_of(env.server.app).dispatcher.drain()

    for person in askers:
        [asked] = mails_to(env, person.email)
        assert asked["Subject"] == "PEP Companion: when is next term's PEP?"
        assert PEP_ID in asked.get_content()
