"""A shared chat over real HTTP: what everyone in it sees, who may see the choices, what
an old or moved card does, and the commands people actually type. Signed activities in,
cards out through the local Bot Connector."""

from __future__ import annotations

import json
import re
from typing import Any

from pep_model.pep import pep_id_for
from pep_model.workflow import PepStatus
from tests.e2e.conftest import HARRIET, MARCUS, MAUREEN, RACHEL, BotEnv
from tests.support.teams import BOT_MENTION, actions, card_text, go_to, submit

CHAT = "19:meeting_pep-demo@thread.v2"
OTHER_CHAT = "19:meeting_other@thread.v2"
PEP_ID = pep_id_for("LCS100001", "2026-autumn")
BETHAN = ("29:bethan", "aad-bethan")  # Virtual School officer (authority-wide, reads)
# Harriet's school's children (fictional sample data): their names, and the ids shown
NAMES = ("Ada", "Fenwick-Lowe", "Theo", "Marchbank")
SHOWN_IDS = ("LCS100001", "LCS100002", "AF", "TM")


def card_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body["statusCode"] == 200, body
    assert body["type"] == "application/vnd.microsoft.card.adaptive", body
    return body["value"]


def personal(who: tuple[str, str]) -> str:
    return f"a:personal-{who[0]}"


async def say(env: BotEnv, who: tuple[str, str], chat: str, text: str) -> list[dict[str, Any]]:
    """Type in a group chat (with the @mention); the cards the bot posted there since."""
    before = len(env.connector.cards(chat))
    await env.send(who, chat, conversation_type="groupChat", text=f"{BOT_MENTION} {text}")
    return env.connector.cards(chat)[before:]


def shows_no_child(cards: list[dict[str, Any]]) -> None:
    """No name anywhere in the cards; no id or initials in what they display (the
    shared walkthrough message's hidden action data names the PEP it refreshes)."""
    text, shown = json.dumps(cards), " ".join(card_text(c) for c in cards)
    for secret in NAMES:
        assert not re.search(rf"\b{secret}\b", text), secret
    for secret in SHOWN_IDS:
        assert not re.search(rf"\b{secret}\b", shown), secret


async def stored(env: BotEnv) -> Any:
    async with env.container.uow() as uow:
        return await uow.peps.get(PEP_ID)


async def start(env: BotEnv, chat: str = CHAT) -> dict[str, Any]:
    """Harriet starts the walkthrough of LCS100001 in `chat`; returns her lead card."""
    [choosing] = await say(env, HARRIET, chat, "start pep")
    chooser = card_of(await env.invoke(HARRIET, chat, submit(choosing, "pep.start.choose")))
    await env.invoke(HARRIET, chat, submit(chooser, "pep.start", {"child_id": "LCS100001"}))
    shared = env.connector.cards(chat, "POST")[-1]
    return card_of(await env.invoke(HARRIET, chat, submit(shared, "pep.walkthrough.refresh")))


# ---- quiet --------------------------------------------------------------------------


async def test_a_message_that_does_not_mention_the_bot_gets_no_reply(bot_env: BotEnv) -> None:
    for text in ("hello everyone", "my peps", "start pep", "Sorry I'm late"):
        await bot_env.send(MAUREEN, CHAT, conversation_type="groupChat", text=text)
    assert bot_env.connector.posted == []


# ---- privacy in shared chats -----------------------------------------------------------


async def test_commands_showing_children_answer_only_in_a_personal_chat(bot_env: BotEnv) -> None:
    for command in (
        "my peps",
        "open LCS100001",
        "check my pep",
        "schedule pep",
        "return pep LCS100001",
    ):
        posted = await say(bot_env, HARRIET, CHAT, command)
        assert ["personal chat" in card_text(c) for c in posted] == [True], command
        shows_no_child(posted)


async def test_buttons_showing_children_answer_only_in_a_personal_chat(bot_env: BotEnv) -> None:
    await bot_env.send(HARRIET, personal(HARRIET), text="my peps")
    listing = bot_env.connector.cards(personal(HARRIET))[-1]
    pressed = [submit(listing, verb) for verb in ("pep.open", "pep.readiness")]
    pressed += [
        {"action": {"type": "Action.Execute", "verb": verb, "data": data}}
        for verb, data in (
            ("pep.list", {"page": 1}),
            ("pep.section.open", {"pep_id": PEP_ID, "version": 0, "section": "voice"}),
        )
    ]
    for value in pressed:
        answer = card_of(await bot_env.invoke(HARRIET, CHAT, value))
        assert "personal chat" in card_text(answer), value
        shows_no_child([answer])
    assert await stored(bot_env) is None  # nothing opened by pressing them


async def test_the_start_chooser_is_seen_only_by_the_person_who_asked(bot_env: BotEnv) -> None:
    [choosing] = await say(bot_env, HARRIET, CHAT, "start pep")
    shows_no_child([choosing])
    assert choosing["refresh"]["userIds"] == [HARRIET[0]]
    mine = card_of(await bot_env.invoke(HARRIET, CHAT, submit(choosing, "pep.start.choose")))
    assert "LCS100001" in json.dumps(mine) and "LCS100002" in json.dumps(mine)
    # a carer pressing the same button sees no child's initials, only a refusal
    theirs = card_of(await bot_env.invoke(MAUREEN, CHAT, submit(choosing, "pep.start.choose")))
    assert "LCS1000" not in json.dumps(theirs)
    # starting: the choosing message becomes 'started' for everyone, still naming nobody
    await bot_env.invoke(
        HARRIET,
        CHAT,
        submit(mine, "pep.start", {"child_id": "LCS100001"}),
        replyToId="choosing-message",
    )
    updated = [
        p.body
        for p in bot_env.connector.posted
        if p.method == "PUT" and p.activity_id == "choosing-message"
    ]
    assert updated and "started" in card_text(updated[-1]["attachments"][0]["content"])
    shows_no_child([u["attachments"][0]["content"] for u in updated])
    shows_no_child(bot_env.connector.cards(CHAT))


async def test_the_meeting_view_answers_only_while_its_walkthrough_runs(bot_env: BotEnv) -> None:
    refresh = {
        "action": {
            "type": "Action.Execute",
            "verb": "pep.walkthrough.refresh",
            "data": {"pep_id": PEP_ID, "version": 0},
        }
    }
    before = card_of(await bot_env.invoke(MAUREEN, CHAT, refresh))
    assert "No PEP walkthrough is running" in card_text(before)
    shows_no_child([before])
    await start(bot_env)
    during = card_of(await bot_env.invoke(MAUREEN, CHAT, refresh))
    assert "A.F." in card_text(during) or "AF" in card_text(during)  # the carer's view
    elsewhere = card_of(await bot_env.invoke(MAUREEN, OTHER_CHAT, refresh))
    shows_no_child([elsewhere])


# ---- never stuck ------------------------------------------------------------------------


async def test_the_lead_who_starts_is_recorded_as_attending(bot_env: BotEnv) -> None:
    await start(bot_env)
    rows = (await stored(bot_env)).sections["attendees"]["rows"]
    assert [(r["name"], r["attended"]) for r in rows] == [("Harriet Pemberton", "teams")]


async def test_a_walkthrough_running_elsewhere_is_moved_not_doubled(bot_env: BotEnv) -> None:
    await start(bot_env, OTHER_CHAT)
    old_card = bot_env.connector.cards(OTHER_CHAT, "POST")[-1]
    old_lead = card_of(
        await bot_env.invoke(HARRIET, OTHER_CHAT, submit(old_card, "pep.walkthrough.refresh"))
    )
    [choosing] = await say(bot_env, HARRIET, CHAT, "start pep")
    chooser = card_of(await bot_env.invoke(HARRIET, CHAT, submit(choosing, "pep.start.choose")))
    answer = card_of(
        await bot_env.invoke(HARRIET, CHAT, submit(chooser, "pep.start", {"child_id": "LCS100001"}))
    )
    assert "already running" in card_text(answer)
    assert (await stored(bot_env)).meeting.chat_id == OTHER_CHAT  # nothing moved yet
    await bot_env.invoke(HARRIET, CHAT, submit(answer, "pep.walkthrough.move"))
    pep = await stored(bot_env)
    assert pep.meeting.chat_id == CHAT and pep.status is PepStatus.IN_MEETING
    moved = [
        p.body
        for p in bot_env.connector.posted
        if p.method == "PUT" and p.conversation_id == OTHER_CHAT
    ]
    assert "moved" in card_text(moved[-1]["attachments"][0]["content"])
    # the old chat's card can no longer change the PEP
    version = pep.version
    refused = card_of(
        await bot_env.invoke(
            HARRIET,
            OTHER_CHAT,
            submit(old_lead, "pep.section.save", {"f.status": "sen_support", "f.needs": "x"}),
        )
    )
    assert "moved" in card_text(refused)
    assert (await stored(bot_env)).version == version


async def test_view_only_staff_get_a_read_only_pep_and_reading_creates_nothing(
    bot_env: BotEnv,
) -> None:
    bot_env.connector.members[BETHAN[0]] = {
        "id": BETHAN[0],
        "email": "bethan.carrow@northvale.example",
    }
    await bot_env.send(BETHAN, personal(BETHAN), text="my peps")
    await bot_env.send(BETHAN, personal(BETHAN), text="open LCS100001")
    card = bot_env.connector.cards(personal(BETHAN))[-1]
    assert "Read only" in card_text(card)
    assert not actions(card, "pep.section.save")
    assert not [a for a in card["body"] if str(a.get("type")).startswith("Input.")]
    async with bot_env.container.uow() as uow:
        assert await uow.peps.find(term_id="2026-autumn", child_ids=["LCS100001"]) == []


async def test_the_personal_editor_moves_back_and_jumps(bot_env: BotEnv) -> None:
    await bot_env.send(HARRIET, personal(HARRIET), text="open LCS100001")
    card = bot_env.connector.cards(personal(HARRIET))[-1]
    jumped = card_of(
        await bot_env.invoke(
            HARRIET,
            personal(HARRIET),
            submit(card, "pep.section.open", {"nav.section": "voice"}) | _go(card),
            conversation_type="personal",
        )
    )
    assert "The child's voice" in card_text(jumped) or "voice" in json.dumps(jumped)
    back = [a for a in actions(jumped, "pep.section.open") if a["title"] == "◀ Previous"]
    assert back, "the personal editor has a Previous button"


def _go(card: dict[str, Any]) -> dict[str, Any]:
    """Press 'Go' (the jump button) rather than the first pep.section.open action."""
    [go] = [a for a in actions(card, "pep.section.open") if a["title"] == "Go"]
    return {
        "action": {
            "type": "Action.Execute",
            "verb": go["verb"],
            "data": {**go["data"], "nav.section": "voice"},
        }
    }


async def test_the_after_meeting_date_card_saves_and_finishes(bot_env: BotEnv) -> None:
    lead = await start(bot_env)
    for key, typed in (("summary", {"f.summary": "A good meeting."}),):
        await bot_env.invoke(HARRIET, CHAT, submit(lead, "pep.nav", {"section": key}))
        lead = card_of(
            await bot_env.invoke(
                HARRIET, CHAT, submit(_current(bot_env), "pep.walkthrough.refresh")
            )
        )
        await bot_env.invoke(HARRIET, CHAT, submit(lead, "pep.section.save", typed))
    await bot_env.send(
        HARRIET,
        CHAT,
        type="event",
        conversation_type="groupChat",
        name="application/vnd.microsoft.meetingEnd",
        value={},
    )
    ask = bot_env.connector.cards()[-1]
    assert "When is next term's PEP?" in card_text(ask)
    # Save keeps the card's Finish
    saved = card_of(
        await bot_env.invoke(
            RACHEL,
            personal(RACHEL),
            submit(ask, "pep.section.save", {"f.date": "2027-01-20"}),
            conversation_type="personal",
        )
    )
    assert actions(saved, "pep.finish") and "Saved" in card_text(saved)
    # Finish with another date typed (not saved first) saves it and finishes
    await bot_env.invoke(
        RACHEL,
        personal(RACHEL),
        submit(saved, "pep.finish", {"f.date": "2027-01-21"}),
        conversation_type="personal",
    )
    pep = await stored(bot_env)
    assert pep.sections["next_pep"]["date"] == "2027-01-21"
    assert pep.status is PepStatus.AWAITING_RETURN


def _current(env: BotEnv) -> dict[str, Any]:
    return env.connector.cards(CHAT, "POST")[-1]


# ---- commands people actually type ------------------------------------------------------


async def test_helpful_answers_to_near_misses_and_other_peoples_commands(bot_env: BotEnv) -> None:
    chat = personal(HARRIET)
    expected = {
        "open": "Type 'open' and the child's LCS id",
        "my pep": "My PEPs — Autumn term 2026",
        "help me": "What I can do",
        "open foo": "I can't find a child with the LCS id FOO",
        "qa": "'qa' is for PEP coordinators",
        "pp+": "'pp+' is for education advisors",
        "open LCS100099": "I can't find a child with the LCS id LCS100099",
    }
    for typed, answer in expected.items():
        await bot_env.send(HARRIET, chat, text=typed)
        assert answer in card_text(bot_env.connector.cards(chat)[-1]), typed
    await bot_env.send(MARCUS, personal(MARCUS), text="open LCS100001")  # not his school
    refused = card_text(bot_env.connector.cards(personal(MARCUS))[-1])
    assert "I can't find a child with the LCS id LCS100001" in refused
    assert "Ada" not in refused


async def test_a_race_nobody_retried_is_answered_and_keeps_the_card(bot_env: BotEnv) -> None:
    """Any use case that loses a race it does not retry (e.g. two returns at once) gets
    a clear answer that keeps the card, never a 500."""
    from bot.commands import Where, answers
    from bot.server import ROUTER
    from pep_model.errors import ConflictError

    @answers(Where.ANYWHERE)
    async def racing(turn: Any, actor: Any, data: Any) -> Any:
        raise ConflictError(None)

    bot_env.server.app[ROUTER].verbs["pep.test.race"] = racing
    body = await bot_env.invoke(
        HARRIET, CHAT, {"action": {"type": "Action.Execute", "verb": "pep.test.race", "data": {}}}
    )
    assert body["statusCode"] == 409
    assert "nothing was saved" in body["value"]["message"]


async def test_after_finish_the_lead_keeps_the_finished_card_and_a_late_start_is_quiet(
    bot_env: BotEnv,
) -> None:
    lead = await start(bot_env)
    for key, typed in (
        ("summary", {"f.summary": "A good meeting."}),
        ("next_pep", {"f.date": "2027-01-20"}),
    ):
        lead = card_of(await bot_env.invoke(HARRIET, CHAT, go_to(lead, key)))
        lead = card_of(await bot_env.invoke(HARRIET, CHAT, submit(lead, "pep.section.save", typed)))
    finished = card_of(await bot_env.invoke(HARRIET, CHAT, submit(lead, "pep.finish")))
    assert actions(finished, "pep.return.open")
    # the shared message becomes 'finished' for everyone, and refreshes for the lead...
    shared_update = [
        p.body for p in bot_env.connector.posted if p.method == "PUT" and p.conversation_id == CHAT
    ][-1]
    shared = shared_update["attachments"][0]["content"]
    assert "PEP meeting finished" in card_text(shared)
    assert HARRIET[0] in shared["refresh"]["userIds"]
    # ...whose own view keeps 'Send to Business Support'; the carer's names nobody
    mine = card_of(
        await bot_env.invoke(
            HARRIET,
            CHAT,
            submit(shared, "pep.walkthrough.refresh")
            if actions(shared, "pep.walkthrough.refresh")
            else {"action": shared["refresh"]["action"]},
        )
    )
    assert actions(mine, "pep.return.open") and "already finished" in card_text(mine)
    theirs = card_of(await bot_env.invoke(MAUREEN, CHAT, {"action": shared["refresh"]["action"]}))
    shows_no_child([theirs])
    # Finish again from the old lead card: the same finished card, nothing sent twice
    again = card_of(await bot_env.invoke(HARRIET, CHAT, submit(lead, "pep.finish")))
    assert "already finished" in card_text(again)
    # the Teams meeting 'starts' again later: nothing is posted, nothing restarts
    before = len(bot_env.connector.posted)
    await bot_env.send(
        HARRIET,
        CHAT,
        type="event",
        conversation_type="groupChat",
        name="application/vnd.microsoft.meetingStart",
        value={},
    )
    assert len(bot_env.connector.posted) == before
    assert (await stored(bot_env)).status is PepStatus.AWAITING_RETURN
