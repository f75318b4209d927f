"""Teams meeting events: start posts the walkthrough of the linked PEP, participants
joining are recorded as attendees, and a meeting that ends without next term's date
asks the social worker and designated teacher for it."""

from __future__ import annotations

from typing import Any

from bot.meeting_routes import (
    EVENT_MEETING_END,
    EVENT_MEETING_START,
    EVENT_PARTICIPANT_JOIN,
)
from pep_model.pep import pep_id_for
from pep_model.workflow import PepStatus
from tests.e2e.conftest import HARRIET, MAUREEN, RACHEL, STRANGER, BotEnv
from tests.support.teams import card_text

CHAT = "19:meeting_scheduled-pep@thread.v2"
MEETING = "MCMxOTptZWV0aW5nX3NjaGVkdWxlZA=="
PEP_ID = pep_id_for("LCS100001", "2026-autumn")


async def linked(env: BotEnv) -> None:
    """As scheduling does: the PEP knows its meeting chat."""
    await env.container.service.open_pep("LCS100001", "2026-autumn")
    await env.container.service.link_chat(PEP_ID, CHAT, MEETING)


async def event(
    env: BotEnv, name: str, value: dict[str, Any] | None = None, who: tuple[str, str] = HARRIET
) -> None:
    await env.send(
        who,
        CHAT,
        type="event",
        name=name,
        value=value or {},
        conversation_type="groupChat",
        meeting_id=MEETING,
    )


async def stored(env: BotEnv) -> Any:
    async with env.container.uow() as uow:
        return await uow.peps.get(PEP_ID)


async def test_meeting_start_posts_the_linked_walkthrough(bot_env: BotEnv) -> None:
    await linked(bot_env)
    await event(
        bot_env,
        EVENT_MEETING_START,
        {
            "Id": MEETING,
            "Title": "PEP",
            "MeetingType": "Scheduled",
            "StartTime": "2026-11-16T10:00Z",
        },
    )
    pep = await stored(bot_env)
    assert pep.status is PepStatus.IN_MEETING
    shared = bot_env.connector.cards(CHAT, "POST")[-1]
    assert "Show the PEP" in card_text(shared)
    assert pep.meeting.card_message_id
    # a second start (Teams can resend) does not post a second walkthrough
    before = len(bot_env.connector.cards(CHAT, "POST"))
    await event(bot_env, EVENT_MEETING_START, {"Id": MEETING})
    assert len(bot_env.connector.cards(CHAT, "POST")) == before


async def test_unlinked_meeting_start_invites_the_lead_to_start(bot_env: BotEnv) -> None:
    await event(bot_env, EVENT_MEETING_START, {"Id": MEETING})
    assert "start pep" in card_text(bot_env.connector.cards(CHAT)[-1])


async def test_participants_joining_are_recorded(bot_env: BotEnv) -> None:
    await linked(bot_env)
    await event(bot_env, EVENT_MEETING_START, {"Id": MEETING})
    members = [
        {
            "user": {"id": uid, "aadObjectId": aad, "name": "x"},
            "meeting": {"inMeeting": True, "role": "Attendee"},
        }
        for uid, aad in (MAUREEN, RACHEL, STRANGER)
    ]
    await event(bot_env, EVENT_PARTICIPANT_JOIN, {"members": members})
    pep = await stored(bot_env)
    rows = pep.sections["attendees"]["rows"]
    assert {(r["name"], r["role"], r["attended"]) for r in rows} == {
        ("Maureen Ashdown", "carer", "teams"),
        ("Rachel Donnelly", "social_worker", "teams"),
    }
    assert MAUREEN[0] in pep.meeting.audience_ids()
    assert STRANGER[0] not in pep.meeting.audience_ids()
    # joining again does not duplicate
    await event(bot_env, EVENT_PARTICIPANT_JOIN, {"members": members[:1]})
    assert len((await stored(bot_env)).sections["attendees"]["rows"]) == 2


async def test_meeting_end_without_next_date_asks_for_it(bot_env: BotEnv) -> None:
    await linked(bot_env)
    await event(bot_env, EVENT_MEETING_START, {"Id": MEETING})
    # Rachel has been seen once, so her Entra object id is known
    await event(
        bot_env,
        EVENT_PARTICIPANT_JOIN,
        {
            "members": [
                {
                    "user": {"id": RACHEL[0], "aadObjectId": RACHEL[1]},
                    "meeting": {"inMeeting": True},
                }
            ]
        },
    )
    await event(bot_env, EVENT_MEETING_END, {"Id": MEETING, "EndTime": "2026-11-16T11:00Z"})
    asked = {c["members"][0]["id"] for c in bot_env.connector.created}
    assert {HARRIET[1], RACHEL[1]} <= asked
    requests = [
        card_text(c)
        for c in bot_env.connector.cards()
        if "next" in card_text(c).lower() and "PEP" in card_text(c)
    ]
    assert len(requests) >= 2
    assert (await stored(bot_env)).status is PepStatus.IN_MEETING
