"""A whole PEP meeting over HTTP, as Teams would drive it: signed activities in, cards
and updates out through the local Bot Connector, the record offered as a file."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from typing import Any

import docx
from sqlalchemy.engine import make_url

from pep_model.pep import pep_id_for
from pep_model.workflow import PepStatus
from tests.e2e.conftest import HARRIET, MARCUS, MAUREEN, STRANGER, TODAY, BotEnv
from tests.support.teams import actions, card_text, go_to, submit

CHAT = "19:meeting_pep-demo@thread.v2"
PEP_ID = pep_id_for("LCS100001", "2026-autumn")


def card_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body["statusCode"] == 200, body
    assert body["type"] == "application/vnd.microsoft.card.adaptive", body
    return body["value"]


async def stored(env: BotEnv) -> Any:
    async with env.container.uow() as uow:
        return await uow.peps.get(PEP_ID)


async def audit_count(env: BotEnv) -> int:
    async with env.container.uow() as uow:
        return len(await uow.audit.for_pep(PEP_ID))


async def start_walkthrough(env: BotEnv) -> dict[str, Any]:
    """Harriet (designated teacher) starts the walkthrough; returns her lead card."""
    await env.send(
        HARRIET, CHAT, conversation_type="groupChat", text="<at>PEP Companion</at> start pep"
    )
    choosing = env.connector.cards(CHAT)[-1]  # names nobody; the asker's view has the list
    assert choosing["refresh"]["userIds"] == [HARRIET[0]]
    chooser = card_of(await env.invoke(HARRIET, CHAT, submit(choosing, "pep.start.choose")))
    assert actions(chooser, "pep.start")
    answer = await env.invoke(
        HARRIET, CHAT, submit(chooser, "pep.start", {"child_id": "LCS100001"})
    )
    assert "walkthrough" in card_text(card_of(answer)).lower()
    shared = env.connector.cards(CHAT, "POST")[-1]
    return card_of(await env.invoke(HARRIET, CHAT, submit(shared, "pep.walkthrough.refresh")))


async def test_shared_message_carries_no_child_data(bot_env: BotEnv) -> None:
    await start_walkthrough(bot_env)
    shared = bot_env.connector.cards(CHAT, "POST")[-1]
    text = json.dumps(shared)
    for secret in (r"\bAda\b", "Fenwick", "2022-10-14", "14/10/2022"):
        assert not re.search(secret, text)
    assert HARRIET[0] in shared["refresh"]["userIds"]
    assert not [e for e in shared["body"] if e.get("type", "").startswith("Input.")]


async def test_each_person_gets_their_own_view(bot_env: BotEnv) -> None:
    lead = await start_walkthrough(bot_env)
    assert actions(lead, "pep.section.save"), "the lead's view is editable"
    shared = bot_env.connector.cards(CHAT, "POST")[-1]
    refresh = submit(shared, "pep.walkthrough.refresh")
    carer = card_of(await bot_env.invoke(MAUREEN, CHAT, refresh))
    assert not actions(carer, "pep.section.save"), "the carer's view is read-only"
    assert "SEND" in card_text(carer)
    for outsider in (MARCUS, STRANGER):
        view = card_of(await bot_env.invoke(outsider, CHAT, refresh))
        assert not actions(view, "pep.section.save")
        assert "Fenwick" not in json.dumps(view) and "SEND needs" not in card_text(view)
    pep = await stored(bot_env)
    assert MAUREEN[0] in pep.meeting.audience_ids()
    assert MARCUS[0] not in pep.meeting.audience_ids()


async def test_whole_meeting(bot_env: BotEnv) -> None:
    env = bot_env
    lead = await start_walkthrough(env)
    pep = await stored(env)
    assert pep.status is PepStatus.IN_MEETING and pep.meeting.chat_id == CHAT

    # navigate to the child's voice; everyone's shared card follows
    lead = card_of(await env.invoke(HARRIET, CHAT, go_to(lead, "voice")))
    assert "voice" in card_text(lead).lower()
    updates = env.connector.cards(CHAT, "PUT")
    assert updates and "The child's voice" in card_text(updates[-1])

    # save the section
    lead = card_of(
        await env.invoke(
            HARRIET,
            CHAT,
            submit(
                lead,
                "pep.section.save",
                {"f.views": "I like painting and my new teacher", "f.how_gathered": "Talk with DT"},
            ),
        )
    )
    assert "Saved" in card_text(lead)
    pep = await stored(env)
    assert pep.sections["voice"]["views"] == "I like painting and my new teacher"

    # bad input: the error is beside the field and the typing is kept; nothing saved
    before = await stored(env)
    bad = card_of(await env.invoke(HARRIET, CHAT, go_to(lead, "attendance")))
    bad = card_of(
        await env.invoke(
            HARRIET,
            CHAT,
            submit(
                bad,
                "pep.section.save",
                {
                    "f.possible_sessions": "100",
                    "f.attended_sessions": "120",
                    "f.unauthorised_sessions": "0",
                },
            ),
        )
    )
    assert "cannot be more than the possible sessions" in card_text(bad)
    assert any(i.get("value") in ("120", 120) for i in _inputs(bad))
    assert (await stored(env)).sections.get("attendance") == before.sections.get("attendance")

    # moving on saves what was typed: with the mistake still there, the card stays put
    stay = card_of(await env.invoke(HARRIET, CHAT, go_to(bad, "attendees")))
    assert "cannot be more than the possible sessions" in card_text(stay)
    assert (await stored(env)).current_section == "attendance"

    # corrected, and attendance below 95% explained, Next saves it and moves on
    moved = card_of(
        await env.invoke(
            HARRIET,
            CHAT,
            submit(
                stay,
                "pep.nav",
                {
                    "f.attended_sessions": "90",
                    "f.unauthorised_sessions": "2",
                    "f.explanation": "Two days' illness; one family holiday",
                },
                title="Next ▶",
            ),
        )
    )
    pep = await stored(env)
    assert pep.current_section == "exclusions"
    assert pep.sections["attendance"]["attended_sessions"] == 90
    assert "Exclusions" in card_text(moved)

    # add an attendee in the room by hand
    summary_nav = card_of(await env.invoke(HARRIET, CHAT, go_to(moved, "attendees")))
    added = card_of(
        await env.invoke(
            HARRIET,
            CHAT,
            submit(
                summary_nav,
                "pep.attendee.add",
                {"a.name": "Maureen Ashdown", "a.role": "carer", "a.attended": "in_person"},
            ),
        )
    )
    assert "Maureen Ashdown" in card_text(added)

    # summary and an action
    card = card_of(await env.invoke(HARRIET, CHAT, go_to(added, "summary")))
    card = card_of(
        await env.invoke(
            HARRIET,
            CHAT,
            submit(
                card,
                "pep.section.save",
                {"f.summary": "Settled well; speech and language support continues."},
            ),
        )
    )
    card = card_of(await env.invoke(HARRIET, CHAT, go_to(card, "actions")))
    card = card_of(
        await env.invoke(
            HARRIET,
            CHAT,
            submit(
                card,
                "pep.section.save",
                {
                    "r.0.action": "Refer to SALT",
                    "r.0.owner": "Harriet Pemberton",
                    "r.0.due": "2026-12-11",
                },
            ),
        )
    )
    assert "Saved" in card_text(card)

    # finishing without next term's date is refused
    refused = card_of(await env.invoke(HARRIET, CHAT, submit(card, "pep.finish")))
    assert "Cannot finish" in card_text(refused)
    assert (await stored(env)).status is PepStatus.IN_MEETING

    # a date outside next term is refused too
    wrong = card_of(
        await env.invoke(
            HARRIET, CHAT, submit(refused, "pep.section.save", {"f.date": "2026-12-01"})
        )
    )
    assert "Spring term 2027" in card_text(wrong)
    ok = card_of(
        await env.invoke(
            HARRIET,
            CHAT,
            submit(wrong, "pep.section.save", {"f.date": "2027-02-03", "f.reason": ""}),
        )
    )
    assert "Saved" in card_text(ok)

    finished = card_of(await env.invoke(HARRIET, CHAT, submit(ok, "pep.finish")))
    assert "21/11/2026" in card_text(finished)  # return deadline: meeting day + 5
    pep = await stored(env)
    assert pep.status is PepStatus.AWAITING_RETURN
    assert pep.meeting_held_on == TODAY
    shared_now = env.connector.cards(CHAT, "PUT")[-1]
    assert "PEP meeting finished" in card_text(shared_now)
    # no child shown; like the walkthrough message, its hidden refresh data names the PEP
    assert "LCS100001" not in card_text(shared_now) and "AF" not in card_text(shared_now)
    assert "Fenwick" not in json.dumps(shared_now)

    # the record is offered in Harriet's personal chat, and arrives when she accepts
    offers = env.connector.attachments("application/vnd.microsoft.teams.card.file.consent")
    assert offers, "no file offer was sent"
    personal_chat, offer = offers[-1]
    assert personal_chat != CHAT
    consent = {
        "type": "fileUpload",
        "action": "accept",
        "context": offer["content"]["acceptContext"],
        "uploadInfo": {
            "name": offer["name"],
            "uploadUrl": f"{env.service_url}/upload/{offer['name']}",
            "contentUrl": "https://contoso.invalid/record.docx",
            "uniqueId": "1",
            "fileType": "docx",
        },
    }
    await env.send(HARRIET, personal_chat, type="invoke", name="fileConsent/invoke", value=consent)
    record = env.connector.uploads[offer["name"]]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(record)).paragraphs)
    tables = " ".join(
        c.text for t in docx.Document(io.BytesIO(record)).tables for r in t.rows for c in r.cells
    )
    assert "LCS100001" in text + tables
    assert "Refer to SALT" in text + tables
    assert env.connector.attachments("application/vnd.microsoft.teams.card.file.info")


async def test_conflict_keeps_typing_and_shows_theirs(bot_env: BotEnv) -> None:
    env = bot_env
    lead = await start_walkthrough(env)
    lead = card_of(await env.invoke(HARRIET, CHAT, go_to(lead, "voice")))
    stale = lead  # carries the version both people read
    first = card_of(
        await env.invoke(
            HARRIET, CHAT, submit(lead, "pep.section.save", {"f.views": "First words"})
        )
    )
    assert "Saved" in card_text(first)
    second = card_of(
        await env.invoke(
            HARRIET, CHAT, submit(stale, "pep.section.save", {"f.views": "Second words"})
        )
    )
    assert "Someone else changed this section" in card_text(second)
    assert "Second words" in json.dumps(second)
    assert (await stored(env)).sections["voice"]["views"] == "First words"


async def test_a_save_while_the_records_are_busy_is_refused_and_kept(bot_env: BotEnv) -> None:
    """Another process (an import, the cron job runner) holds SQLite's writer lock past
    the wait: the save is answered with an error Teams shows on the card, which keeps
    what was typed; nothing changes; the same Save works once the lock is free."""
    env = bot_env
    lead = await start_walkthrough(env)
    lead = card_of(await env.invoke(HARRIET, CHAT, go_to(lead, "voice")))
    before, count = await stored(env), await audit_count(env)
    save = submit(lead, "pep.section.save", {"f.views": "Words said while busy"})
    database = make_url(env.container.settings.database_url).database
    other = sqlite3.connect(str(database), isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        answer = await env.invoke(HARRIET, CHAT, save)
    finally:
        other.rollback()
        other.close()
    assert answer["statusCode"] == 503
    assert answer["type"] == "application/vnd.microsoft.error"
    assert "try again in a moment" in answer["value"]["message"]
    assert await stored(env) == before and await audit_count(env) == count
    again = card_of(await env.invoke(HARRIET, CHAT, save))
    assert "Saved." in card_text(again)
    assert (await stored(env)).sections["voice"]["views"] == "Words said while busy"


async def test_bad_card_actions_change_nothing(bot_env: BotEnv) -> None:
    env = bot_env
    lead = await start_walkthrough(env)
    count = await audit_count(env)
    version = (await stored(env)).version

    unknown = await env.invoke(
        HARRIET,
        CHAT,
        {"action": {"type": "Action.Execute", "verb": "pep.delete.everything", "data": {}}},
    )
    assert unknown["statusCode"] == 400 and "Unknown action" in unknown["value"]["message"]

    no_version = submit(lead, "pep.section.save", {"f.status": "none"})
    no_version["action"]["data"].pop("version")
    answer = card_of(await env.invoke(HARRIET, CHAT, no_version))
    assert "version" in card_text(answer)

    extra = submit(lead, "pep.section.save", {"f.hacked": "1"})
    answer = card_of(await env.invoke(HARRIET, CHAT, extra))
    assert "is not a field of this section" in card_text(answer)

    wrong_type = submit(lead, "pep.section.save", {"f.needs": {"nested": "object"}})
    answer = card_of(await env.invoke(HARRIET, CHAT, wrong_type))
    assert "unexpected value" in card_text(answer)

    huge = submit(lead, "pep.section.save", {"f.needs": "x" * 20_000})
    answer = card_of(await env.invoke(HARRIET, CHAT, huge))
    assert "too long" in card_text(answer)

    not_theirs = submit(lead, "pep.section.save", {"f.status": "ehcp"})
    answer = card_of(await env.invoke(MARCUS, CHAT, not_theirs))
    assert "access" in card_text(answer).lower()

    no_value = await env.invoke(HARRIET, CHAT, "just a string")
    assert "no data" in card_text(card_of(no_value))

    assert await audit_count(env) == count
    assert (await stored(env)).version == version


async def test_replayed_invoke_is_applied_once(bot_env: BotEnv) -> None:
    env = bot_env
    lead = await start_walkthrough(env)
    value = submit(
        lead,
        "pep.section.save",
        {"f.status": "sen_support", "f.needs": "SLCN", "f.provision": "Weekly SALT"},
    )
    from tests.support.teams import activity

    replay = activity(
        env.service_url,
        CHAT,
        *HARRIET,
        type="invoke",
        name="adaptiveCard/action",
        value=value,
        conversation_type="groupChat",
    )
    answers = []
    for _ in range(2):
        async with env.http.post(
            env.url,
            json=replay,
            headers={"Content-Type": "application/json", **env.authority.header(env.service_url)},
        ) as response:
            answers.append(await response.json())
    assert answers[0] == answers[1]
    audit = [e for e in await _audit(env) if e.action == "section.save" and e.section == "send"]
    assert len(audit) == 1


async def _audit(env: BotEnv) -> list[Any]:
    async with env.container.uow() as uow:
        return await uow.audit.for_pep(PEP_ID)


def _inputs(card: dict[str, Any]) -> list[dict[str, Any]]:
    from tests.support.teams import walk

    return [e for e in walk(card) if str(e.get("type", "")).startswith("Input.")]
